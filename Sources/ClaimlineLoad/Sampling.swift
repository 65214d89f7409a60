import ClaimlineCore
import Foundation

/// The runner's once-a-second bookkeeping: the timeline, the live line, and the CPU and
/// memory of the harness and (with `--server-pid`) of the server over the measured window.
struct Sampling {
    let configuration: LoadConfiguration
    let t0: UInt64
    private(set) var timeline: [TimelinePoint] = []
    private(set) var windowStarted = false
    private var windowStartNanos: UInt64 = 0
    private var windowEndNanos: UInt64?
    private var selfAtStart: ProcSampler.Sample?
    private var selfAtEnd: ProcSampler.Sample?
    private var serverAtStart: ProcSampler.Sample?
    private var serverAtEnd: ProcSampler.Sample?
    private var lastSelf: ProcSampler.Sample?
    private var lastServer: ProcSampler.Sample?
    private var maxCpuPercent = 0.0
    private var lagNanos: UInt64 = 0
    private var sends: UInt64 = 0
    private var maxInFlight = 0
    private var serverRssMax: UInt64 = 0

    init(configuration: LoadConfiguration, t0: UInt64) {
        self.configuration = configuration
        self.t0 = t0
        self.lastSelf = ProcSampler.sample()
        self.lastServer = configuration.serverPID.flatMap { ProcSampler.sample(pid: $0) }
        if configuration.plan.warmup <= 0 { self.startWindow(at: t0) }
    }

    mutating func startWindow(at nanos: UInt64) {
        self.windowStarted = true
        self.windowStartNanos = nanos
        self.selfAtStart = ProcSampler.sample()
        self.serverAtStart = self.configuration.serverPID.flatMap { ProcSampler.sample(pid: $0) }
        self.serverRssMax = self.serverAtStart?.rssKB ?? 0
    }

    mutating func endWindow(at nanos: UInt64) {
        if !self.windowStarted { self.startWindow(at: nanos) }
        self.windowEndNanos = nanos
        self.selfAtEnd = ProcSampler.sample()
        self.serverAtEnd = self.configuration.serverPID.flatMap { ProcSampler.sample(pid: $0) }
        if let rss = self.serverAtEnd?.rssKB { self.serverRssMax = max(self.serverRssMax, rss) }
    }

    /// Records second `second` and returns its live line.
    mutating func addSecond(_ second: Int, _ snapshot: IntervalSnapshot) -> String {
        let me = ProcSampler.sample()
        let cpu = Self.percent(self.lastSelf, me)
        self.lastSelf = me
        var serverCpu: Double?
        var serverRss: UInt64?
        if let pid = self.configuration.serverPID, let server = ProcSampler.sample(pid: pid) {
            serverCpu = Self.percent(self.lastServer, server)
            serverRss = server.rssKB
            self.lastServer = server
            if self.windowStarted { self.serverRssMax = max(self.serverRssMax, server.rssKB) }
        }
        let offset = Double(second) - 0.5
        let phase = self.configuration.plan.segmentIndex(atOffset: offset).map { self.configuration.plan.segments[$0].label } ?? "drain"
        let lag = snapshot.sent > 0 ? Double(snapshot.lagNanos) / Double(snapshot.sent) / 1000 : 0
        if self.windowStarted {
            self.maxCpuPercent = max(self.maxCpuPercent, cpu)
            self.lagNanos += snapshot.lagNanos
            self.sends += snapshot.sent
        }
        self.maxInFlight = max(self.maxInFlight, snapshot.maxInFlight)
        let point = TimelinePoint(
            second: second, phase: phase, sent: snapshot.sent, completed: snapshot.completed, errors: snapshot.errors,
            p50Us: snapshot.completed > 0 ? snapshot.histogram.valueAtPercentile(50) : 0,
            p99Us: snapshot.completed > 0 ? snapshot.histogram.valueAtPercentile(99) : 0,
            maxUs: snapshot.completed > 0 ? snapshot.histogram.max : 0,
            inFlight: snapshot.inFlight, scheduleLagUs: lag, harnessCpuPercent: cpu,
            serverCpuPercent: serverCpu, serverRssKB: serverRss
        )
        var detailed = point
        if self.configuration.isOpenLoop { detailed.targetRate = self.configuration.plan.rate(atOffset: offset) }
        if self.configuration.scenario == .contact { detailed.contacts = snapshot.contacts }
        detailed.methods = MetricKey.allCases.compactMap { key in
            snapshot.methods[key.rawValue].map {
                TimelinePoint.MethodSecond(
                    name: key.name, completed: $0.totalCount, p50Us: $0.valueAtPercentile(50), p99Us: $0.valueAtPercentile(99)
                )
            }
        }
        detailed.errorsByCode = Dictionary(uniqueKeysWithValues: snapshot.errorsByCode.map { (StatusCode(rawValue: $0.key).name, $0.value) })
        self.timeline.append(detailed)
        return LiveLine.format(point, openLoop: self.configuration.isOpenLoop)
    }

    /// A run that ended early measured less than its plan: shorten the steps to what ran.
    func trimDurations(_ steps: inout [StepResult]) {
        guard let end = self.windowEndNanos else { return }
        let ranFor = Double(end - self.t0) / 1e9
        let measured = self.configuration.plan.measuredSegments
        for index in steps.indices where index < measured.count {
            let segment = measured[index]
            steps[index].duration = max(0, min(segment.duration, ranFor - segment.start))
        }
    }

    func finish(calls: UInt64) -> (HarnessStats, ServerStats?, [String]) {
        let wall = Double((self.windowEndNanos ?? self.windowStartNanos) - self.windowStartNanos) / 1e9
        let cpu = (self.selfAtEnd?.cpuSeconds ?? 0) - (self.selfAtStart?.cpuSeconds ?? 0)
        let percent = wall > 0 ? cpu / wall * 100 : 0
        let lagUs = self.sends > 0 ? Double(self.lagNanos) / Double(self.sends) / 1000 : 0
        let threads = self.configuration.threads
        var warnings: [String] = []
        let limit = 90.0 * Double(threads)
        if percent > limit || self.maxCpuPercent > limit {
            warnings.append(
                String(
                    format:
                        "harness saturated: %.0f%% CPU (peak %.0f%%) with %d event-loop thread(s); the numbers may describe the harness, not the server: add --threads or a second process",
                    percent, self.maxCpuPercent, threads))
        }
        if self.configuration.isOpenLoop && lagUs > 1000 {
            warnings.append(
                String(format: "open-loop scheduler behind its timeline by %.2f ms on average: the harness cannot keep this rate", lagUs / 1000))
        }
        let harness = HarnessStats(
            threads: threads, cpuSeconds: cpu, cpuPercent: percent, maxCpuPercent: self.maxCpuPercent,
            meanScheduleLagUs: lagUs, maxInFlight: self.maxInFlight, saturated: !warnings.isEmpty)
        var server: ServerStats?
        if let pid = self.configuration.serverPID, let start = self.serverAtStart, let end = self.serverAtEnd {
            let serverCpu = end.cpuSeconds - start.cpuSeconds
            server = ServerStats(
                pid: pid, cpuSeconds: serverCpu, calls: calls,
                cpuMicrosPerCall: calls > 0 ? serverCpu * 1e6 / Double(calls) : 0,
                cpuPercent: wall > 0 ? serverCpu / wall * 100 : 0,
                rssStartKB: start.rssKB, rssEndKB: end.rssKB, rssMaxKB: max(self.serverRssMax, end.rssKB))
        } else if let pid = self.configuration.serverPID {
            warnings.append("cannot read /proc/\(pid): no server figures")
        }
        return (harness, server, warnings)
    }

    static func percent(_ a: ProcSampler.Sample?, _ b: ProcSampler.Sample?) -> Double {
        guard let a, let b, b.at > a.at else { return 0 }
        return (b.cpuSeconds - a.cpuSeconds) / (b.at - a.at) * 100
    }
}
