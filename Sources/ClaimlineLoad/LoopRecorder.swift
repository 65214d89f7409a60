import Histogram

/// Everything the connections of one event loop measure, kept on that loop (no locks on the
/// hot path); the runner collects it with a task on the loop each second and at the end.
///
/// Calls are filed by the step their *intended* start falls in, so the warm-up is dropped and
/// each rate step is reported apart even when answers arrive after the step has ended.
public final class LoopRecorder {
    public let plan: RatePlan
    /// Uptime nanoseconds of the run's start (all loops share it).
    public var t0: UInt64 = 0
    /// `steps[segment][MetricKey]`, nil until something was recorded there.
    private var steps: [[MethodStats?]]
    private var interval = IntervalSnapshot()
    public private(set) var inFlight = 0
    public private(set) var maxInFlight = 0
    public var connectionEvents: [String: UInt64] = [:]
    public var finishedConnections = 0
    public var connections = 0
    /// Per target index, what the connections of this loop saw there (address filled in by
    /// the runner).
    public private(set) var targets: [TargetStats] = []

    public init(plan: RatePlan) {
        self.plan = plan
        self.steps = Array(repeating: Array(repeating: nil, count: MetricKey.allCases.count), count: plan.segments.count)
    }

    /// A call went out `lag` ns after it was due (0 in closed loop).
    @inline(__always)
    public func sent(lag: UInt64) {
        self.inFlight += 1
        if self.inFlight > self.maxInFlight { self.maxInFlight = self.inFlight }
        self.interval.sent += 1
        self.interval.lagNanos += lag
    }

    /// A call ended (answer, error, local timeout or lost connection). `code` 0 is success.
    @inline(__always)
    public func completed(_ key: MetricKey, intended: UInt64, sent: UInt64, now: UInt64, code: UInt32) {
        self.inFlight -= 1
        let corrected = Latency.corrected(intended: intended, completed: now)
        self.interval.record(key, corrected: corrected, code: code)
        self.store(key, intended: intended, corrected: corrected, uncorrected: Latency.uncorrected(sent: sent, completed: now), code: code)
    }

    /// A call ended on a connection to target `index` (answered there or lost with it).
    @inline(__always)
    public func served(target index: Int, code: UInt32) {
        self.withTarget(index) { $0.record(code: code) }
    }

    /// A call the open-loop timeline had due was never sent: its connection was down until the
    /// run ended. It counts with `code`, its latency from its intended start to `now`, so the
    /// outage shows in the report instead of vanishing from it.
    public func unsent(_ key: MetricKey, intended: UInt64, now: UInt64, code: UInt32) {
        let corrected = Latency.corrected(intended: intended, completed: now)
        self.interval.record(key, corrected: corrected, code: max(code, 1))
        self.store(key, intended: intended, corrected: corrected, uncorrected: corrected, code: code)
    }

    /// A handshake with target `index` completed.
    public func targetConnected(_ index: Int) { self.withTarget(index) { $0.connections += 1 } }

    /// A connection to target `index` closed under the run.
    public func targetLost(_ index: Int) { self.withTarget(index) { $0.lost += 1 } }

    /// An attempt to connect to target `index` failed.
    public func targetConnectFailed(_ index: Int) { self.withTarget(index) { $0.connectFailures += 1 } }

    @inline(__always)
    private func withTarget(_ index: Int, _ body: (inout TargetStats) -> Void) {
        guard index >= 0 else { return }
        while self.targets.count <= index { self.targets.append(TargetStats(address: "")) }
        body(&self.targets[index])
    }

    /// A whole contact ended: from its first call's intended start to its last answer.
    public func contactEnded(intended: UInt64, sent: UInt64, now: UInt64, code: UInt32) {
        self.interval.contacts += 1
        self.store(
            .contact, intended: intended, corrected: Latency.corrected(intended: intended, completed: now),
            uncorrected: Latency.uncorrected(sent: sent, completed: now), code: code)
    }

    private func store(_ key: MetricKey, intended: UInt64, corrected: UInt64, uncorrected: UInt64, code: UInt32) {
        let offset = Double(Int64(intended) - Int64(self.t0)) / 1e9
        let segment = self.plan.segmentIndex(atOffset: offset) ?? self.plan.segments.count - 1
        guard self.plan.segments[segment].measured else { return }
        if self.steps[segment][key.rawValue] == nil { self.steps[segment][key.rawValue] = MethodStats(name: key.name) }
        self.steps[segment][key.rawValue]!.record(corrected: corrected, uncorrected: uncorrected, code: code)
    }

    /// This second's numbers; starts the next second.
    public func takeInterval() -> IntervalSnapshot {
        var snapshot = self.interval
        snapshot.inFlight = self.inFlight
        snapshot.maxInFlight = self.maxInFlight
        snapshot.connections = self.connections
        snapshot.finishedConnections = self.finishedConnections
        self.interval = IntervalSnapshot()
        return snapshot
    }

    /// Per measured segment (in plan order), the stats of each metric that saw calls.
    public func finalSteps() -> [[MethodStats]] {
        zip(self.plan.segments, self.steps).filter { $0.0.measured }.map { $0.1.compactMap { $0 } }
    }
}

/// One second of one loop (or, added up, of the whole harness).
public struct IntervalSnapshot: Sendable {
    public var histogram = LatencyHistogram.make()
    public var sent: UInt64 = 0
    public var completed: UInt64 = 0
    public var errors: UInt64 = 0
    /// Sum over the calls sent of how late each went out against its intended time.
    public var lagNanos: UInt64 = 0
    public var inFlight = 0
    public var maxInFlight = 0
    public var connections = 0
    public var finishedConnections = 0
    /// Per method (by ``MetricKey`` raw value), this second's corrected latencies; nil until
    /// the method answered in it.
    public var methods: [Histogram<UInt64>?] = Array(repeating: nil, count: MetricKey.allCases.count)
    /// This second's failed calls by status code (client-side codes included).
    public var errorsByCode: [UInt32: UInt64] = [:]
    /// Whole contacts that ended this second (contact scenario).
    public var contacts: UInt64 = 0

    public init() {}

    /// One call ended this second.
    @inline(__always)
    mutating func record(_ key: MetricKey, corrected: UInt64, code: UInt32) {
        self.histogram.record(corrected)
        self.completed += 1
        if self.methods[key.rawValue] == nil { self.methods[key.rawValue] = LatencyHistogram.make() }
        self.methods[key.rawValue]!.record(corrected)
        if code != 0 {
            self.errors += 1
            self.errorsByCode[code, default: 0] += 1
        }
    }

    public mutating func add(_ other: IntervalSnapshot) {
        self.histogram.add(other.histogram)
        self.sent += other.sent
        self.completed += other.completed
        self.errors += other.errors
        self.contacts += other.contacts
        for (index, histogram) in other.methods.enumerated() {
            guard let histogram else { continue }
            if self.methods[index] == nil {
                self.methods[index] = histogram
            } else {
                self.methods[index]!.add(histogram)
            }
        }
        self.errorsByCode.merge(other.errorsByCode, uniquingKeysWith: +)
        self.lagNanos += other.lagNanos
        self.inFlight += other.inFlight
        self.maxInFlight += other.maxInFlight
        self.connections += other.connections
        self.finishedConnections += other.finishedConnections
    }
}
