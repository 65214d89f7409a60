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
        var channel: any Channel
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

        let (connections, warnings) = try await self.connect(loops: loops, recorders: recorders)
        var notes = warnings
        defer { for connection in connections { connection.channel.close(promise: nil) } }

        let startedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let t0 = NIODeadline.now().uptimeNanoseconds + 20_000_000
        for recorder in recorders { try await recorder.eventLoop.submit { recorder.value.t0 = t0 }.get() }
        for connection in connections {
            connection.channel.pipeline.fireUserInboundEventTriggered(LoadConnectionHandler.Event.start(t0: t0))
        }

        var sampling = Sampling(configuration: config, t0: t0)
        try await self.sample(&sampling, recorders: recorders)
        for connection in connections {
            connection.channel.pipeline.fireUserInboundEventTriggered(LoadConnectionHandler.Event.stop)
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
        for recorder in recorders {
            let loopEvents = try await recorder.eventLoop.submit { recorder.value.connectionEvents }.get()
            for (key, value) in loopEvents { events[key, default: 0] += value }
        }
        let measured = config.plan.measuredSegments
        var stepResults = zip(measured, steps ?? []).map { segment, methods in
            StepResult(label: segment.label, targetRate: config.isOpenLoop ? segment.meanRate : nil, duration: segment.duration, methods: methods)
        }
        sampling.trimDurations(&stepResults)
        let total = StepResult.total(of: stepResults)
        let (harness, server, saturation) = sampling.finish(calls: total.allCalls?.count ?? 0)
        notes += saturation
        let run = RunDescription(
            scenario: config.scenario.rawValue, mode: config.isOpenLoop ? "open" : "closed", target: "\(config.host):\(config.port)",
            connections: config.connections, inFlight: config.inFlight, threads: config.threads, seed: config.seed,
            timeoutMs: config.timeoutMs, warmupSeconds: config.plan.warmup, startedAtUnixMs: startedAt, plan: config.plan
        )
        return LoadResult(
            run: run, steps: stepResults, timeline: sampling.timeline, harness: harness, server: server,
            connectionEvents: events, warnings: notes)
    }

    // MARK: Connecting

    private func connect(loops: [any EventLoop], recorders: [NIOLoopBound<LoopRecorder>]) async throws -> ([Connection], [String]) {
        let config = self.configuration
        var connections: [Connection] = []
        var warnings: [String] = []
        let hello = Hello(clientName: config.clientName, token: config.token)
        for index in 0..<config.connections {
            let loop = loops[index % loops.count]
            let recorder = recorders[index % loops.count]
            let ready = loop.makePromise(of: HelloAck.self)
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
            let channel: any Channel
            do {
                channel = try await ClientBootstrap(group: loop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let driver = ConnectionDriver(scenario: scenario, mode: mode, data: data, recorder: recorder.value, timeoutMs: timeoutMs)
                            try channel.pipeline.syncOperations.addHandlers(
                                ByteToMessageHandler(FrameDecoder(role: .client, maxPayload: ProtocolLimits.absoluteMaxPayload)),
                                LoadConnectionHandler(driver: driver, hello: hello, ready: ready)
                            )
                        }
                    }
                    .connect(host: config.host, port: config.port)
                    .get()
            } catch {
                ready.fail(error)
                for connection in connections { connection.channel.close(promise: nil) }
                throw LoadConfigurationError("cannot connect to \(config.host):\(config.port): \(error)")
            }
            connections.append(Connection(channel: channel, recorder: recorder))
            let ack: HelloAck
            do {
                ack = try await ready.futureResult.get()
            } catch {
                for connection in connections { connection.channel.close(promise: nil) }
                throw error
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
        let arena = ProtoArena()
        for connection in connections where connection.channel.isActive {
            var buffer = ByteBuffer()
            try? buffer.writeFrame(type: .goAway, streamID: 0) { (out: inout ByteBuffer) throws(CodecError) -> Int in
                try GoAway(lastStreamId: 0, code: 0, reason: "SHUTDOWN", message: "load test over").encode(into: &out, arena: arena)
            }
            try? await connection.channel.writeAndFlush(buffer)
            try? await connection.channel.close()
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
