import Histogram

/// The outcome of a run (or of several merged): what `--json` writes and `merge` reads.
///
/// It carries the histograms themselves (HdrHistogram, µs), not just percentiles, so that
/// results of several harness processes add up exactly; every other number is either a count
/// that sums or a figure recomputed from the histograms.
public struct LoadResult: Codable, Sendable {
    public var formatVersion = 1
    /// How many harness processes this result adds up.
    public var processes = 1
    public var run: RunDescription
    /// One per measured segment (rate step, ramp piece, or the closed loop's single run).
    public var steps: [StepResult]
    /// All steps together.
    public var total: StepResult
    /// One point per second from the start (warm-up included, marked).
    public var timeline: [TimelinePoint]
    public var harness: HarnessStats
    public var server: ServerStats?
    /// GOAWAYs and lost connections, by kind.
    public var connectionEvents: [String: UInt64]
    public var warnings: [String]
    /// Per instance driven, in `--server` order: where the calls went and how they ended, and
    /// how its connections fared. Nil in results written before runs could have several.
    public var targets: [TargetStats]?

    public init(
        run: RunDescription, steps: [StepResult], timeline: [TimelinePoint], harness: HarnessStats,
        server: ServerStats?, connectionEvents: [String: UInt64], warnings: [String]
    ) {
        self.run = run
        self.steps = steps
        self.total = StepResult.total(of: steps)
        self.timeline = timeline
        self.harness = harness
        self.server = server
        self.connectionEvents = connectionEvents
        self.warnings = warnings
    }
}

/// The settings a result came from, for the reader of a report months later.
public struct RunDescription: Codable, Sendable, Equatable {
    public var scenario: String
    /// `closed` or `open`.
    public var mode: String
    /// The instances, comma-separated, as `--server` gave them.
    public var target: String
    /// The same, one per entry; nil in results written before runs could have several.
    public var targets: [String]?
    public var connections: Int
    public var inFlight: Int?
    public var threads: Int
    public var seed: UInt64
    public var timeoutMs: UInt32
    public var warmupSeconds: Double
    public var startedAtUnixMs: Int64
    public var plan: RatePlan

    public init(
        scenario: String, mode: String, target: String, connections: Int, inFlight: Int?, threads: Int,
        seed: UInt64, timeoutMs: UInt32, warmupSeconds: Double, startedAtUnixMs: Int64, plan: RatePlan
    ) {
        self.scenario = scenario
        self.mode = mode
        self.target = target
        self.connections = connections
        self.inFlight = inFlight
        self.threads = threads
        self.seed = seed
        self.timeoutMs = timeoutMs
        self.warmupSeconds = warmupSeconds
        self.startedAtUnixMs = startedAtUnixMs
        self.plan = plan
    }
}

public struct StepResult: Codable, Sendable {
    public var label: String
    /// The step's mean target rate (open loop), calls/s.
    public var targetRate: Double?
    /// Seconds measured.
    public var duration: Double
    public var methods: [MethodStats]

    public init(label: String, targetRate: Double?, duration: Double, methods: [MethodStats]) {
        self.label = label
        self.targetRate = targetRate
        self.duration = duration
        self.methods = methods
    }

    /// Calls per second of one method (or of all calls, contacts excepted, when nil).
    public func rate(_ method: MethodStats) -> Double { self.duration > 0 ? Double(method.count) / self.duration : 0 }

    /// Every call of every method (not the Contact series, which counts contacts, not calls).
    public var allCalls: MethodStats? {
        var all: MethodStats?
        for method in self.methods where method.name != MetricKey.contact.name {
            if all == nil { all = MethodStats(name: "all") }
            all!.add(method)
        }
        return all
    }

    /// Adds the same step of another process: histograms and counts add; processes ran side by
    /// side, so the duration is the longer one (rates then add up).
    public mutating func add(_ other: StepResult) {
        self.duration = max(self.duration, other.duration)
        if let a = self.targetRate, let b = other.targetRate { self.targetRate = a + b }
        for method in other.methods {
            if let index = self.methods.firstIndex(where: { $0.name == method.name }) {
                self.methods[index].add(method)
            } else {
                self.methods.append(method)
            }
        }
        self.methods.sort { Self.order($0.name) < Self.order($1.name) }
    }

    /// Steps one after another: histograms and counts add, durations add.
    public static func total(of steps: [StepResult]) -> StepResult {
        var total = StepResult(label: "total", targetRate: nil, duration: 0, methods: [])
        for step in steps {
            let duration = total.duration + step.duration
            total.add(step)
            total.duration = duration
        }
        if steps.count == 1 { total.targetRate = steps[0].targetRate }
        return total
    }

    static func order(_ name: String) -> Int {
        MetricKey.allCases.first(where: { $0.name == name })?.rawValue ?? 99
    }
}

/// One second of the run.
public struct TimelinePoint: Codable, Sendable, Equatable {
    /// Seconds since the start (the point covers the second ending there).
    public var second: Int
    public var phase: String
    public var sent: UInt64
    public var completed: UInt64
    public var errors: UInt64
    /// Of the calls answered in this second, corrected latency, µs.
    public var p50Us: UInt64
    public var p99Us: UInt64
    public var maxUs: UInt64
    public var inFlight: Int
    /// Mean lateness of this second's sends against their intended time, µs (open loop).
    public var scheduleLagUs: Double
    /// Harness CPU this second, % of one core.
    public var harnessCpuPercent: Double
    public var serverCpuPercent: Double?
    public var serverRssKB: UInt64?
    /// Open loop: the plan's rate at this second, calls (contacts) per second.
    public var targetRate: Double?
    /// Contact scenario: contacts that ended this second.
    public var contacts: UInt64?
    /// Per method, this second's answered calls and corrected latency.
    public var methods: [MethodSecond]?
    /// This second's failed calls by status code name.
    public var errorsByCode: [String: UInt64]?

    /// One method's second.
    public struct MethodSecond: Codable, Sendable, Equatable {
        public var name: String
        public var completed: UInt64
        public var p50Us: UInt64
        public var p99Us: UInt64

        public init(name: String, completed: UInt64, p50Us: UInt64, p99Us: UInt64) {
            self.name = name
            self.completed = completed
            self.p50Us = p50Us
            self.p99Us = p99Us
        }
    }

    public init(
        second: Int, phase: String, sent: UInt64, completed: UInt64, errors: UInt64, p50Us: UInt64, p99Us: UInt64, maxUs: UInt64, inFlight: Int,
        scheduleLagUs: Double, harnessCpuPercent: Double, serverCpuPercent: Double?, serverRssKB: UInt64?
    ) {
        self.second = second
        self.phase = phase
        self.sent = sent
        self.completed = completed
        self.errors = errors
        self.p50Us = p50Us
        self.p99Us = p99Us
        self.maxUs = maxUs
        self.inFlight = inFlight
        self.scheduleLagUs = scheduleLagUs
        self.harnessCpuPercent = harnessCpuPercent
        self.serverCpuPercent = serverCpuPercent
        self.serverRssKB = serverRssKB
    }
}

/// What the harness itself cost: a load test is only as good as its generator's headroom.
public struct HarnessStats: Codable, Sendable {
    public var threads: Int
    /// CPU seconds (user + system) over the measured window.
    public var cpuSeconds: Double
    /// Over the measured window, % of one core.
    public var cpuPercent: Double
    /// Highest one-second value, % of one core.
    public var maxCpuPercent: Double
    /// Mean lateness of sends against the open-loop timeline, µs.
    public var meanScheduleLagUs: Double
    public var maxInFlight: Int
    public var saturated: Bool

    public init(
        threads: Int, cpuSeconds: Double, cpuPercent: Double, maxCpuPercent: Double, meanScheduleLagUs: Double, maxInFlight: Int, saturated: Bool
    ) {
        self.threads = threads
        self.cpuSeconds = cpuSeconds
        self.cpuPercent = cpuPercent
        self.maxCpuPercent = maxCpuPercent
        self.meanScheduleLagUs = meanScheduleLagUs
        self.maxInFlight = maxInFlight
        self.saturated = saturated
    }
}

/// The server as seen from /proc over the measured window (`--server-pid`).
public struct ServerStats: Codable, Sendable {
    public var pid: Int32
    public var cpuSeconds: Double
    /// Calls answered in the window (all harness processes, once merged).
    public var calls: UInt64
    public var cpuMicrosPerCall: Double
    public var cpuPercent: Double
    public var rssStartKB: UInt64
    public var rssEndKB: UInt64
    public var rssMaxKB: UInt64

    public init(
        pid: Int32, cpuSeconds: Double, calls: UInt64, cpuMicrosPerCall: Double, cpuPercent: Double, rssStartKB: UInt64, rssEndKB: UInt64,
        rssMaxKB: UInt64
    ) {
        self.pid = pid
        self.cpuSeconds = cpuSeconds
        self.calls = calls
        self.cpuMicrosPerCall = cpuMicrosPerCall
        self.cpuPercent = cpuPercent
        self.rssStartKB = rssStartKB
        self.rssEndKB = rssEndKB
        self.rssMaxKB = rssMaxKB
    }
}
