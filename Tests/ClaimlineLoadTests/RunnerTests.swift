import ClaimlineLoad
import NIOCore
import NIOPosix
import Testing

/// The harness against an in-process fake server: what it measures, not how fast it is.
@Suite(.timeLimit(.minutes(1))) struct RunnerTests {
    /// A 300 ms stall in the middle of an open-loop run at 500/s. Server and harness share one
    /// event-loop thread, so the stall also stops the harness from sending — exactly the
    /// situation in which a send-time measurement omits the waiting users: the calls due
    /// during the stall go out late, in a burst, and are answered at once.
    @Test func openLoopShowsAStallThatSendTimesHide() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = FakeServer(behaviour: .init(stallAtRequest: 500, stall: .milliseconds(300)))
        try await server.start(group: group)
        let config = LoadConfiguration(
            port: server.port, scenario: .escalate, connections: 1, inFlight: nil,
            plan: .steps([500], stepDuration: 2, warmup: 0), timeoutMs: 5000, seed: 3, runTag: "co", live: false
        )
        let result = try await LoadRunner(configuration: config, group: group).run()
        await server.stop()
        try? await group.shutdownGracefully()

        let escalate = try #require(result.total.methods.first { $0.name == "Escalate" })
        #expect(escalate.count == 1000)
        #expect(escalate.ok == 1000)
        // Corrected: the calls due during the stall waited for it, from their intended time.
        #expect(escalate.histogram.max >= 300_000)
        #expect(escalate.histogram.valueAtPercentile(99) >= 200_000)
        // Naive: only the call or two in flight at the stall saw it. Counted, not timed: a
        // busy machine may slow every call, but per call the corrected latency is never less
        // than the naive one, and the ~100 calls due in the stall's first 200 ms waited 100 ms
        // or more in the corrected count only (they were sent after it, in a burst, and
        // answered at once).
        let slow: ClosedRange<UInt64> = 100_000...UInt64.max
        let corrected = escalate.histogram.count(within: slow)
        let naive = escalate.uncorrected.count(within: slow)
        #expect(corrected >= 75, "\(corrected) calls waited 100 ms or more")
        #expect(corrected >= naive + 50, "the naive measure shows \(naive) of the \(corrected) slow calls")
    }

    @Test func closedLoopKeepsExactlyCTimesNInFlight() async throws {
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = FakeServer(behaviour: .init(answerDelay: .milliseconds(50)))
        try await server.start(group: serverGroup)
        let config = LoadConfiguration(
            port: server.port, scenario: .escalate, connections: 3, inFlight: 8,
            plan: .closedLoop(warmup: 0, duration: 1), timeoutMs: 5000, seed: 4, runTag: "cl", live: false
        )
        let result = try await LoadRunner(configuration: config).run()
        await server.stop()
        try? await serverGroup.shutdownGracefully()

        let counters = server.counters.withLock { $0 }
        #expect(counters.maxOutstanding == 24)
        #expect(result.harness.maxInFlight == 24)
        let escalate = try #require(result.total.methods.first)
        // 24 calls every ~50 ms for 1 s: some hundreds, all answered.
        #expect(escalate.count >= 48)
        #expect(escalate.errorCount == 0)
        #expect(escalate.histogram.valueAtPercentile(50) >= 50_000)
    }

    @Test func closedLoopStopsAtTheRequestQuota() async throws {
        let serverGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = FakeServer(behaviour: .init())
        try await server.start(group: serverGroup)
        let config = LoadConfiguration(
            port: server.port, scenario: .file, connections: 2, inFlight: 4,
            plan: .closedLoop(warmup: 0, duration: 30), requests: 301, timeoutMs: 5000, seed: 5, runTag: "q", live: false
        )
        let result = try await LoadRunner(configuration: config).run()
        await server.stop()
        try? await serverGroup.shutdownGracefully()
        let file = try #require(result.total.methods.first { $0.name == "FileComplaint" })
        #expect(file.count == 301)
        #expect(server.counters.withLock { $0.requests } == 301)
    }
}
