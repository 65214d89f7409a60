import Histogram

/// How a call's latency is measured, with and without coordinated-omission correction.
///
/// A load generator that measures from the moment it *actually* sent a call hides every stall
/// that delayed the sending itself: while the server (or the harness's own thread) is stuck,
/// no calls go out, so none of them records the wait. Like wrk2, the open loop measures from
/// the moment the call was *intended* to go out on the fixed-rate timeline, so the users who
/// would have arrived during a stall are counted as waiting for it. The closed loop has no
/// timeline: there the intended time is the send time and both measures agree.
public enum Latency {
    /// Microseconds from the intended send time to the answer (what the report shows).
    @inline(__always)
    public static func corrected(intended: UInt64, completed: UInt64) -> UInt64 {
        Self.micros(from: intended, to: completed)
    }

    /// Microseconds from the actual send to the answer: the naive measure, kept for contrast.
    @inline(__always)
    public static func uncorrected(sent: UInt64, completed: UInt64) -> UInt64 {
        Self.micros(from: sent, to: completed)
    }

    /// At least 1 µs (a histogram cannot tell 0 from "nothing"), at most the histograms' ceiling.
    @inline(__always)
    static func micros(from start: UInt64, to end: UInt64) -> UInt64 {
        let nanos = end > start ? end - start : 0
        return min(max(nanos / 1000, 1), LatencyHistogram.highestTrackable)
    }
}

/// The harness's histogram: microseconds, 1 µs to 60 s, three significant digits.
///
/// One layout everywhere, so histograms of any connection, step or process add up exactly.
public enum LatencyHistogram {
    public static let highestTrackable: UInt64 = 60_000_000

    public static func make() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: highestTrackable, numberOfSignificantValueDigits: .three)
    }
}
