import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Runs one load test: connects, starts every connection on a common t0, samples each second,
/// stops at the end of the timeline (or on ``requestStop()``), drains, and builds the result.
///
/// The event loops do the sending and measuring; this type only orchestrates from outside
/// them, once a second, so it never competes with the hot path.
public final class LoadRunner: Sendable {
    public let configuration: LoadConfiguration
    private let providedGroup: (any EventLoopGroup)?
    private let stopFlag = Atomic<Bool>(false)
    /// Receives the live line each second (stderr in the CLI).
    private let liveOutput: @Sendable (String) -> Void

    public init(configuration: LoadConfiguration, group: (any EventLoopGroup)? = nil, liveOutput: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.providedGroup = group
        self.liveOutput = liveOutput
    }

    /// Ends the run early (Ctrl-C): no new calls, the report covers what was measured.
    public func requestStop() { self.stopFlag.store(true, ordering: .relaxed) }

    struct Connection {
        var link: NIOLoopBound<LoadLink>
        var recorder: NIOLoopBound<LoopRecorder>
    }

    public func run() async throws -> LoadResult {
        let config = self.configuration
        try config.validate()
        if let group = self.providedGroup { return try await self.run(on: group) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: config.threads)
        do {
            let result = try await self.run(on: group)
            try? await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func run(on group: any EventLoopGroup) async throws -> LoadResult {
        let config = self.configuration
        var loops: [any EventLoop] = []
        for loop in group.makeIterator() where loops.count < config.threads { loops.append(loop) }
        var recorders: [NIOLoopBound<LoopRecorder>] = []
        for loop in loops {
            let plan = config.plan
            recorders.append(try await loop.submit { NIOLoopBound(LoopRecorder(plan: plan), eventLoop: loop) }.get())
        }

        let targets = LoadTargets(addresses: config.targets, settings: config.failover)
        let (connections, warnings) = try await self.connect(loops: loops, recorders: recorders, targets: targets)
        var notes = warnings
        defer { for connection in connections { connection.link.eventLoop.execute { connection.link.value.close() } } }

        let startedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let t0 = NIODeadline.now().uptimeNanoseconds + 20_000_000
        for recorder in recorders { try await recorder.eventLoop.submit { recorder.value.t0 = t0 }.get() }
        for connection in connections {
            connection.link.eventLoop.execute { connection.link.value.start(t0: t0) }
        }

        var sampling = Sampling(configuration: config, t0: t0)
        try await self.sample(&sampling, recorders: recorders)
        for connection in connections {
            try await connection.link.eventLoop.submit { connection.link.value.stop() }.get()
        }
        try await self.drain(recorders: recorders, timeoutMs: config.timeoutMs)
        await Self.sayGoodbye(connections)

        var steps: [[MethodStats]]? = nil
        for recorder in recorders {
            let loopSteps = try await recorder.eventLoop.submit { recorder.value.finalSteps() }.get()
            if steps == nil {
                steps = loopSteps
            } else {
                for index in loopSteps.indices { steps![index] = Self.add(steps![index], loopSteps[index]) }
            }
        }
        var events: [String: UInt64] = [:]
        var perTarget: [[TargetStats]] = []
        for recorder in recorders {
            let loopEvents = try await recorder.eventLoop.submit { recorder.value.connectionEvents }.get()
            for (key, value) in loopEvents { events[key, default: 0] += value }
            perTarget.append(try await recorder.eventLoop.submit { recorder.value.targets }.get())
        }
        var targetStats = config.targets.map { TargetStats(address: $0.description) }
        for list in perTarget {
            for (index, stats) in list.enumerated() where index < targetStats.count { targetStats[index].add(stats) }
        }
        let measured = config.plan.measuredSegments
        var stepResults = zip(measured, steps ?? []).map { segment, methods in
            StepResult(label: segment.label, targetRate: config.isOpenLoop ? segment.meanRate : nil, duration: segment.duration, methods: methods)
        }
        sampling.trimDurations(&stepResults)
        let total = StepResult.total(of: stepResults)
        let (harness, server, saturation) = sampling.finish(calls: total.allCalls?.count ?? 0)
        notes += saturation
        var run = RunDescription(
            scenario: config.scenario.rawValue, mode: config.isOpenLoop ? "open" : "closed", target: config.targetText,
            connections: config.connections, inFlight: config.inFlight, threads: config.threads, seed: config.seed,
            timeoutMs: config.timeoutMs, warmupSeconds: config.plan.warmup, startedAtUnixMs: startedAt, plan: config.plan
        )
        run.targets = config.targets.map(\.description)
        var result = LoadResult(
            run: run, steps: stepResults, timeline: sampling.timeline, harness: harness, server: server,
            connectionEvents: events, warnings: notes)
        result.targets = targetStats
        return result
    }

    // MARK: Connecting

    /// Opens every connection before t0: connection i to target i mod n, or, when that one
    /// refuses, to the next (round robin). Only when no target takes it does the run fail.
    private func connect(
        loops: [any EventLoop], recorders: [NIOLoopBound<LoopRecorder>], targets: LoadTargets
    ) async throws -> ([Connection], [String]) {
        let config = self.configuration
        var connections: [Connection] = []
        var warnings: [String] = []
        let hello = Hello(clientName: config.clientName, token: config.token)
        for index in 0..<config.connections {
            let loop = loops[index % loops.count]
            let recorder = recorders[index % loops.count]
            let data = DataGenerator(profile: config.profile, seed: config.seed, stream: index, runTag: config.runTag)
            let mode: ConnectionDriver.Mode
            if let inFlight = config.inFlight {
                let quota = config.requests.map { $0 / config.connections + (index < $0 % config.connections ? 1 : 0) }
                mode = .closed(inFlight: inFlight, quota: quota)
            } else {
                mode = .open(OpenLoopSchedule(plan: config.plan, offset: index, stride: config.connections))
            }
            let scenario = config.scenario
            let timeoutMs = config.timeoutMs
            let link = try await loop.submit {
                let driver = ConnectionDriver(scenario: scenario, mode: mode, data: data, recorder: recorder.value, timeoutMs: timeoutMs)
                let link = LoadLink(
                    number: index, driver: driver, loop: loop, targets: targets, hello: hello, connectTimeout: .seconds(5),
                    tls: config.tls)
                return NIOLoopBound(link, eventLoop: loop)
            }.get()
            connections.append(Connection(link: link, recorder: recorder))
            var target = targets.first(for: index, now: NIODeadline.now().uptimeNanoseconds)
            var failures: [String] = []
            var acknowledged: HelloAck?
            var lastError: (any Error)?
            for _ in 0..<targets.count {
                do {
                    let chosen = target
                    acknowledged = try await loop.flatSubmit { link.value.open(target: chosen) }.get()
                    break
                } catch {
                    lastError = error
                    failures.append("\(targets.addresses[target]): \(error)")
                    let failed = target
                    try await loop.submit { link.value.driver.recorder.targetConnectFailed(failed) }.get()
                    targets.record(.connectFailed, at: target, now: NIODeadline.now().uptimeNanoseconds)
                    // Before the run every address is tried once, at once: no pause.
                    var waits = 0
                    target = targets.next(after: target, waits: &waits, now: NIODeadline.now().uptimeNanoseconds).index
                }
            }
            guard let ack = acknowledged else {
                for connection in connections { connection.link.eventLoop.execute { connection.link.value.close() } }
                if targets.count == 1, let lastError { throw lastError }
                throw LoadConfigurationError("no target took connection \(index): " + failures.joined(separator: "; "))
            }
            if let inFlight = config.inFlight, ack.maxConcurrentStreams > 0, inFlight > Int(ack.maxConcurrentStreams), index == 0 {
                warnings.append(
                    "--in-flight \(inFlight) exceeds the server's max_concurrent_streams \(ack.maxConcurrentStreams): expect RESOURCE_EXHAUSTED")
            }
        }
        return (connections, warnings)
    }

    // MARK: Sampling, once a second

    private func sample(_ sampling: inout Sampling, recorders: [NIOLoopBound<LoopRecorder>]) async throws {
        let config = self.configuration
        let endNanos = sampling.t0 + OpenLoopSchedule.nanos(config.plan.totalDuration)
        let warmupNanos = sampling.t0 + OpenLoopSchedule.nanos(config.plan.warmup)
        var second = 1
        while true {
            let tick = sampling.t0 + UInt64(second) * 1_000_000_000
            var wake = min(tick, endNanos)
            if !sampling.windowStarted { wake = min(wake, warmupNanos) }
            let now = NIODeadline.now().uptimeNanoseconds
            if wake > now { try await Task.sleep(nanoseconds: min(wake - now, 100_000_000)) }
            let current = NIODeadline.now().uptimeNanoseconds
            if self.stopFlag.load(ordering: .relaxed) {
                sampling.endWindow(at: current)
                return
            }
            if current < wake { continue }
            if !sampling.windowStarted && current >= warmupNanos { sampling.startWindow(at: current) }
            if current >= tick {
                var total = IntervalSnapshot()
                for recorder in recorders {
                    total.add(try await recorder.eventLoop.submit { recorder.value.takeInterval() }.get())
                }
                let line = sampling.addSecond(second, total)
                if config.live { self.liveOutput(line) }
                second += 1
                if total.connections > 0 && total.finishedConnections >= config.connections && total.inFlight == 0 {
                    sampling.endWindow(at: current)  // every connection stopped: quota reached or all lost
                    return
                }
            }
            if current >= endNanos {
                sampling.endWindow(at: current)
                return
            }
        }
    }

    /// Waits for the calls still out (at most their timeout and a second).
    private func drain(recorders: [NIOLoopBound<LoopRecorder>], timeoutMs: UInt32) async throws {
        let deadline = NIODeadline.now() + .milliseconds(Int64(timeoutMs) + 1000)
        while NIODeadline.now() < deadline {
            var inFlight = 0
            for recorder in recorders { inFlight += try await recorder.eventLoop.submit { recorder.value.inFlight }.get() }
            if inFlight == 0 { return }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// A clean end for the server's logs: GOAWAY (last stream 0, SHUTDOWN), then close.
    private static func sayGoodbye(_ connections: [Connection]) async {
        for connection in connections {
            try? await connection.link.eventLoop.flatSubmit { connection.link.value.goodbye() }.get()
        }
    }

    static func add(_ a: [MethodStats], _ b: [MethodStats]) -> [MethodStats] {
        var out = a
        for stats in b {
            if let index = out.firstIndex(where: { $0.name == stats.name }) { out[index].add(stats) } else { out.append(stats) }
        }
        return out.sorted { StepResult.order($0.name) < StepResult.order($1.name) }
    }
}
