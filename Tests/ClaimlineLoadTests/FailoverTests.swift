import ClaimlineCore
import ClaimlineLoad
import ClaimlineWire
import NIOCore
import NIOPosix
import Testing

/// The harness against several instances: where connections go, how a paused driver keeps its
/// open-loop timeline across a reconnect, and what the report records per address.
@Suite(.timeLimit(.minutes(1))) struct FailoverTests {
    @Test func targetListsParse() throws {
        #expect(try LoadTarget.list("a:1,b:2").map(\.description) == ["a:1", "b:2"])
        #expect(try LoadTarget.list(" a:1 , [::1]:7400").map(\.description) == ["a:1", "[::1]:7400"])
        for bad in ["", "a", "a:1,", "a:0", "a:99999"] {
            #expect(throws: LoadTarget.ParseError.self) { try LoadTarget.list(bad) }
        }
        var config = LoadConfiguration(host: "h", port: 7401)
        #expect(config.targets == [LoadTarget(host: "h", port: 7401)])
        config.port = 7402
        #expect(config.targetText == "h:7402")
    }

    /// The harness chooses addresses with PROTOCOL.md 8.1's address book (suspicion that
    /// grows, a pause when every address is suspect), spreading its connections itself.
    @Test func targetsGoRoundRobinAndSkipSuspectOnes() {
        let targets = LoadTargets(
            addresses: [LoadTarget(host: "a", port: 1), LoadTarget(host: "b", port: 2), LoadTarget(host: "c", port: 3)])
        let ms: UInt64 = 1_000_000
        let now: UInt64 = 10_000 * ms
        #expect((0..<6).map { targets.first(for: $0, now: now) } == [0, 1, 2, 0, 1, 2])
        targets.record(.connectFailed, at: 1, now: now)
        #expect(targets.first(for: 1, now: now) == 2)
        var waits = 0
        #expect(Self.pair(targets.next(after: 0, waits: &waits, now: now)) == [2, 0])
        #expect(waits == 0)
        // Past its suspicion (suspect_base, 500 ms), b is eligible again.
        #expect(targets.next(after: 0, waits: &waits, now: now + 500 * ms).index == 1)
        // A second failure in a row keeps it out twice as long.
        targets.record(.lost, at: 1, now: now + 500 * ms)
        #expect(targets.isSuspect(1, now: now + 1_499 * ms))
        #expect(!targets.isSuspect(1, now: now + 1_500 * ms))
        // All suspect: the next round robin, after a pause that doubles with each wait.
        targets.record(.connectFailed, at: 2, now: now + 600 * ms)
        targets.record(.connectFailed, at: 0, now: now + 600 * ms)
        #expect(Self.pair(targets.next(after: 0, waits: &waits, now: now + 700 * ms)) == [1, 50 * ms])
        #expect(Self.pair(targets.next(after: 1, waits: &waits, now: now + 750 * ms)) == [2, 100 * ms])
        #expect(waits == 2)
        // A completed handshake clears an address.
        targets.record(.answer, at: 2, now: now + 800 * ms)
        #expect(Self.pair(targets.next(after: 0, waits: &waits, now: now + 800 * ms)) == [2, 0])
    }

    /// A driver on no socket: frames out are counted from its buffer, the clock is passed in.
    @Test func pausedDriverKeepsItsTimelineAndResumes() throws {
        let plan = RatePlan.steps([1000], stepDuration: 1, warmup: 0)
        let recorder = LoopRecorder(plan: plan)
        let t0: UInt64 = 1_000_000_000
        recorder.t0 = t0
        let driver = ConnectionDriver(
            scenario: .escalate, mode: .open(OpenLoopSchedule(plan: plan, offset: 0, stride: 1)),
            data: DataGenerator(profile: SyntheticProfile(), seed: 1, stream: 0, runTag: "pause"), recorder: recorder, timeoutMs: 1000)
        driver.failover = true
        driver.target = 0
        var out = ByteBuffer()
        driver.start(t0: t0, now: t0, into: &out)
        _ = driver.sendDue(now: t0 + 9_500_000, into: &out)  // calls 0...9
        #expect(Self.requests(in: &out).map(\.streamID) == Array(1...10))
        #expect(driver.inFlight == 10)

        // The instance dies: the ten calls out end UNAVAILABLE, counted against it; nothing more goes.
        driver.connectionLost(now: t0 + 10_000_000)
        #expect(driver.paused && !driver.stopped)
        #expect(driver.inFlight == 0)
        #expect(driver.sendDue(now: t0 + 30_000_000, into: &out) == nil)
        #expect(out.readableBytes == 0)

        // A new connection (to target 1): the calls due meanwhile go out now, stream ids from 1.
        driver.target = 1
        driver.attach()
        driver.resume(now: t0 + 40_500_000, into: &out)
        let next = driver.sendDue(now: t0 + 40_500_000, into: &out)
        #expect(next == t0 + 41_000_000)
        #expect(Self.requests(in: &out).map(\.streamID) == Array(1...31))  // calls 10...40, due at 10..40 ms
        #expect(driver.inFlight == 31)

        // It dies too, and the run ends before any other answers: the calls due in between were
        // never sent and count as UNAVAILABLE, so the outage is not a gap in the report.
        driver.connectionLost(now: t0 + 45_000_000)
        driver.stop()
        driver.abandonDue(now: t0 + 60_000_000)  // calls 41...60
        let escalate = try #require(recorder.finalSteps().first?.first { $0.name == "Escalate" })
        #expect(escalate.count == 10 + 31 + 20)
        #expect(escalate.errors == ["UNAVAILABLE": 61])
        #expect(recorder.targets.map(\.calls) == [10, 31])
        // A call due at 41 ms and given up at 60 ms waited 19 ms from its intended start.
        #expect(escalate.histogram.max >= 19_000)
    }

    @Test func connectionsSpreadOverTargetsAndADeadOneIsSkipped() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let first = FakeServer(behaviour: .init())
        let second = FakeServer(behaviour: .init())
        try await first.start(group: group)
        try await second.start(group: group)
        let dead = try await Self.closedPort(group: group)

        var config = LoadConfiguration(
            scenario: .escalate, connections: 4, inFlight: nil, plan: .steps([400], stepDuration: 1, warmup: 0), timeoutMs: 2000, seed: 5,
            runTag: "spread", live: false)
        config.targets = [LoadTarget(host: "127.0.0.1", port: first.port), LoadTarget(host: "127.0.0.1", port: second.port)]
        let spread = try await LoadRunner(configuration: config).run()
        // 400 calls due; a tick that runs after the end (a busy machine) may drop the last few.
        let sent = [first.counters.withLock { $0.requests }, second.counters.withLock { $0.requests }]
        #expect(spread.total.methods.first?.count == UInt64(sent[0] + sent[1]))
        #expect(sent.allSatisfy { $0 >= 190 && $0 <= 200 }, "\(sent)")
        #expect(spread.targets?.map(\.connections) == [2, 2])
        #expect(spread.targets?.map(\.ok) == sent.map(UInt64.init))

        config.targets = [LoadTarget(host: "127.0.0.1", port: dead), LoadTarget(host: "127.0.0.1", port: second.port)]
        config.runTag = "skip"
        let before = second.counters.withLock { $0.requests }
        let skipped = try await LoadRunner(configuration: config).run()
        #expect(skipped.total.methods.first?.ok == UInt64(second.counters.withLock { $0.requests } - before))
        #expect(skipped.total.methods.first?.ok ?? 0 >= 380)
        #expect(skipped.targets?[0].calls == 0)
        #expect(skipped.targets?[0].connectFailures ?? 0 >= 1)
        #expect(skipped.targets?[1].connections == 4)
        #expect(skipped.table().contains("127.0.0.1:\(dead): 0 calls, 0 ok; 0 connection(s), "))

        config.targets = [LoadTarget(host: "127.0.0.1", port: dead), LoadTarget(host: "127.0.0.1", port: dead)]
        await #expect(throws: LoadConfigurationError.self) { _ = try await LoadRunner(configuration: config).run() }

        await first.stop()
        await second.stop()
        try? await group.shutdownGracefully()
    }

    @Test func mergeAddsTargetsByAddress() throws {
        var a = TargetStats(address: "a:1")
        a.calls = 3
        a.ok = 2
        a.errors = ["UNAVAILABLE": 1]
        a.connections = 1
        var b = TargetStats(address: "b:2")
        b.calls = 5
        b.ok = 5
        var a2 = a
        a2.lost = 1
        let merged = TargetStats.merge([[a, b], [a2]])
        #expect(merged.map(\.address) == ["a:1", "b:2"])
        #expect(merged[0].calls == 6)
        #expect(merged[0].errors == ["UNAVAILABLE": 2])
        #expect(merged[0].lost == 1)
    }

    static func pair(_ next: (index: Int, waitNanos: UInt64)) -> [UInt64] { [UInt64(next.index), next.waitNanos] }

    static func requests(in buffer: inout ByteBuffer) -> [Frame] {
        var frames: [Frame] = []
        while buffer.readableBytes >= 12, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            buffer.readableBytes >= 12 + Int(length)
        {
            let type = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self)!
            let method = buffer.getInteger(at: buffer.readerIndex + 6, as: UInt16.self)!
            let stream = buffer.getInteger(at: buffer.readerIndex + 8, as: UInt32.self)!
            let payload = buffer.getSlice(at: buffer.readerIndex + 12, length: Int(length))!
            buffer.moveReaderIndex(forwardBy: 12 + Int(length))
            frames.append(Frame(type: FrameType(rawValue: type)!, method: method, streamID: stream, payload: payload))
        }
        return frames.filter { $0.type == .request }
    }

    static func closedPort(group: any EventLoopGroup) async throws -> Int {
        let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }
}
