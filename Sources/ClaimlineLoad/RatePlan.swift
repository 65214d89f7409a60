import Foundation

/// The timeline of a run: warm-up, then the measured segments (one per rate step or ramp piece).
///
/// Both loops use it to classify a call by *when it was meant to start* (so a call that was due
/// in step 2 but sent late still counts in step 2); the open loop also derives every call's
/// intended send time from it. Pure arithmetic, no clocks, so the tests pin it exactly.
public struct RatePlan: Hashable, Sendable, Codable {
    /// One stretch of the timeline whose arrival rate goes linearly from `fromRate` to `toRate`
    /// (equal for a step). Rates are calls per second; 0 in closed loop, where they mean nothing.
    public struct Segment: Hashable, Sendable, Codable {
        public var label: String
        /// Seconds from the start of the run (t0).
        public var start: Double
        public var duration: Double
        public var fromRate: Double
        public var toRate: Double
        /// False for the warm-up: its calls are sent but never reported.
        public var measured: Bool

        public init(label: String, start: Double, duration: Double, fromRate: Double, toRate: Double, measured: Bool) {
            self.label = label
            self.start = start
            self.duration = duration
            self.fromRate = fromRate
            self.toRate = toRate
            self.measured = measured
        }

        public var end: Double { self.start + self.duration }
        /// Calls this segment schedules (fractional: segments join without rounding drift).
        public var expectedCalls: Double { (self.fromRate + self.toRate) / 2 * self.duration }
        /// The mean target rate, what a report calls this step's rate.
        public var meanRate: Double { (self.fromRate + self.toRate) / 2 }
    }

    public private(set) var segments: [Segment]
    /// Calls scheduled before each segment (`cumulative[k]`), and the total at the end.
    public private(set) var cumulative: [Double]

    public init(segments: [Segment]) {
        self.segments = segments
        var sum = 0.0
        var cumulative: [Double] = []
        for segment in segments {
            cumulative.append(sum)
            sum += segment.expectedCalls
        }
        cumulative.append(sum)
        self.cumulative = cumulative
    }

    /// Seconds from t0 to the end of the last segment.
    public var totalDuration: Double { self.segments.last?.end ?? 0 }
    /// Seconds of warm-up at the start (the unmeasured prefix).
    public var warmup: Double { self.segments.first(where: { $0.measured })?.start ?? self.totalDuration }
    /// Calls the whole timeline schedules (open loop).
    public var totalCalls: Int { Int(self.cumulative.last!.rounded(.down)) }
    public var measuredSegments: [Segment] { self.segments.filter(\.measured) }

    /// Closed loop: warm-up, then one measured segment of `duration` seconds.
    public static func closedLoop(warmup: Double, duration: Double) -> RatePlan {
        var segments: [Segment] = []
        if warmup > 0 { segments.append(Segment(label: "warmup", start: 0, duration: warmup, fromRate: 0, toRate: 0, measured: false)) }
        segments.append(Segment(label: "run", start: warmup, duration: duration, fromRate: 0, toRate: 0, measured: true))
        return RatePlan(segments: segments)
    }

    /// Open loop at fixed rates: warm-up at the first rate, then one segment per rate.
    public static func steps(_ rates: [Double], stepDuration: Double, warmup: Double) -> RatePlan {
        precondition(!rates.isEmpty, "at least one rate")
        var segments: [Segment] = []
        var start = 0.0
        if warmup > 0 {
            segments.append(Segment(label: "warmup", start: 0, duration: warmup, fromRate: rates[0], toRate: rates[0], measured: false))
            start = warmup
        }
        for rate in rates {
            segments.append(
                Segment(label: "\(Self.format(rate))/s", start: start, duration: stepDuration, fromRate: rate, toRate: rate, measured: true))
            start += stepDuration
        }
        return RatePlan(segments: segments)
    }

    /// Open loop whose rate climbs linearly from `from` to `to` over `duration`, reported in
    /// pieces of `pieceDuration` (each its own linear piece of the same ramp) to find the knee.
    public static func ramp(from: Double, to: Double, duration: Double, pieceDuration: Double, warmup: Double) -> RatePlan {
        var segments: [Segment] = []
        if warmup > 0 {
            segments.append(Segment(label: "warmup", start: 0, duration: warmup, fromRate: from, toRate: from, measured: false))
        }
        let pieces = max(1, Int((duration / pieceDuration).rounded(.up)))
        for k in 0..<pieces {
            let a = Double(k) * pieceDuration
            let b = min(duration, Double(k + 1) * pieceDuration)
            let ra = from + (to - from) * a / duration
            let rb = from + (to - from) * b / duration
            segments.append(
                Segment(
                    label: "\(Self.format(ra))→\(Self.format(rb))/s", start: warmup + a, duration: b - a,
                    fromRate: ra, toRate: rb, measured: true))
        }
        return RatePlan(segments: segments)
    }

    /// The segment a moment (seconds from t0) falls in; nil after the end.
    /// The target rate at `seconds` from t0 (a ramp interpolated); nil past the plan's end.
    public func rate(atOffset seconds: Double) -> Double? {
        guard let index = self.segmentIndex(atOffset: seconds) else { return nil }
        let segment = self.segments[index]
        guard segment.duration > 0 else { return segment.toRate }
        let fraction = min(max((seconds - segment.start) / segment.duration, 0), 1)
        return segment.fromRate + (segment.toRate - segment.fromRate) * fraction
    }

    public func segmentIndex(atOffset seconds: Double) -> Int? {
        guard seconds >= 0 else { return self.segments.isEmpty ? nil : 0 }
        for (index, segment) in self.segments.enumerated() where seconds < segment.end { return index }
        return nil
    }

    /// The intended send time, in seconds from t0, of the `index`-th call of the whole timeline
    /// (0-based); nil when the timeline has no such call. Inside a constant segment that is
    /// `start + (index - before) / rate`, so a single step gives exactly `index / R`.
    public func intendedOffset(ofCall index: Int, hint: inout Int) -> Double? {
        let i = Double(index)
        guard i < self.cumulative.last! else { return nil }
        var k = min(max(hint, 0), self.segments.count - 1)
        if i < self.cumulative[k] { k = 0 }
        while k < self.segments.count && i >= self.cumulative[k + 1] { k += 1 }
        guard k < self.segments.count else { return nil }
        hint = k
        let segment = self.segments[k]
        return segment.start + Self.timeForCount(i - self.cumulative[k], from: segment.fromRate, to: segment.toRate, duration: segment.duration)
    }

    /// Solves `n = a·t + (b − a)·t² / 2T` for t: when the n-th call of a linear-rate segment is due.
    static func timeForCount(_ n: Double, from a: Double, to b: Double, duration: Double) -> Double {
        let slope = (b - a) / duration
        if abs(slope) < 1e-12 { return n / a }
        return (-a + (a * a + 2 * slope * n).squareRoot()) / slope
    }

    static func format(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int(rate)) : String(format: "%.1f", rate)
    }
}
