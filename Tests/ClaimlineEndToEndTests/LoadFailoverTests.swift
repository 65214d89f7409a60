import ClaimlineCore
import ClaimlineLoad
import Foundation
import Testing

/// `claimline-load run` against two real instances, one SIGKILLed midway: the run finishes on
/// its schedule, the dead instance's connections carry on at the survivor, and the report says
/// how many calls each took.
@Suite("Load harness failover", .serialized, .timeLimit(.minutes(2)))
struct LoadFailoverTests {
    @Test("Open loop over two instances, one killed midway: every intended call is accounted for, the survivor takes the rest")
    func openLoopSurvivesAKill() async throws {
        let (a, b, directories) = try await ClientFailoverTests.twoInstances()
        var config = LoadConfiguration(
            token: TestServer.tokens[.admin]!, scenario: .escalate, connections: 4, inFlight: nil,
            plan: .steps([200], stepDuration: 4, warmup: 0), timeoutMs: 1000, seed: 11,
            runTag: "fo-" + UUID().uuidString.prefix(8).lowercased(), live: false)
        config.targets = [LoadTarget(host: "127.0.0.1", port: a.port), LoadTarget(host: "127.0.0.1", port: b.port)]
        config.failover.suspectBase = .milliseconds(500)
        let runner = LoadRunner(configuration: config)
        let run = Task { try await runner.run() }
        try await Task.sleep(for: .milliseconds(1500))
        a.kill()
        let result = try await run.value

        let escalate = try #require(result.total.methods.first { $0.name == "Escalate" })
        // Open loop: the timeline's 800 calls, each answered, failed with A or sent late to B
        // (but for a tick that runs after the end on a busy machine, which drops its calls).
        #expect(escalate.count >= 780 && escalate.count <= 800)
        #expect(Set(escalate.errors.keys).isSubset(of: ["UNAVAILABLE"]), "\(escalate.errors)")
        #expect(escalate.ok >= 760, "\(escalate.errors)")

        let targets = try #require(result.targets)
        #expect(targets.map(\.address) == ["127.0.0.1:\(a.port)", "127.0.0.1:\(b.port)"])
        #expect(result.run.targets == targets.map(\.address))
        #expect(result.run.target == "127.0.0.1:\(a.port),127.0.0.1:\(b.port)")
        // Connections 0 and 2 began on A, 1 and 3 on B; A's two moved to B when it died.
        #expect(targets[0].connections == 2)
        #expect(targets[0].lost == 2)
        #expect(targets[1].connections == 4)
        #expect(targets[1].lost == 0)
        // Before the kill (~1.5 s in) the two shared the load; after it, B took every call. How
        // many came before depends on how fast the run got going on a busy machine: A answered
        // some, and at most half of what came before the end.
        #expect(targets[0].ok >= 20 && targets[0].ok <= 400, "\(targets)")
        #expect(targets[1].ok > targets[0].ok, "\(targets)")
        #expect(targets[0].ok + targets[1].ok == escalate.ok)
        #expect(targets[0].calls + targets[1].calls == escalate.count)
        #expect(result.connectionEvents["reconnected to 127.0.0.1:\(b.port)"] == 2)

        let table = result.table()
        #expect(table.contains("targets (every call, warm-up included):"))
        #expect(table.contains("127.0.0.1:\(b.port): \(targets[1].calls) calls"))
        let back = try JSONDecoder().decode(LoadResult.self, from: result.jsonData())
        #expect(back.targets == targets)
        #expect(result.html().contains("127.0.0.1:\(b.port)"))
        await ClientFailoverTests.stop([a, b], directories)
    }

    @Test("Closed loop over two instances, one killed midway: the window refills on the survivor and the run ends on time")
    func closedLoopSurvivesAKill() async throws {
        let (a, b, directories) = try await ClientFailoverTests.twoInstances()
        var config = LoadConfiguration(
            token: TestServer.tokens[.admin]!, scenario: .contact, connections: 2, inFlight: 8,
            plan: .closedLoop(warmup: 0, duration: 3), timeoutMs: 1000, seed: 12,
            runTag: "fc-" + UUID().uuidString.prefix(8).lowercased(), live: false)
        config.targets = [LoadTarget(host: "127.0.0.1", port: a.port), LoadTarget(host: "127.0.0.1", port: b.port)]
        let started = ContinuousClock.now
        let run = Task { try await LoadRunner(configuration: config).run() }
        try await Task.sleep(for: .milliseconds(1000))
        a.kill()
        let result = try await run.value
        #expect(ContinuousClock.now - started < .seconds(8))
        let targets = try #require(result.targets)
        #expect(targets[0].lost == 1)
        #expect(targets[1].connections == 2)
        // The survivor kept taking calls after the kill: more than its share of the first second.
        #expect(targets[1].ok > targets[0].ok, "\(targets)")
        let contact = try #require(result.total.methods.first { $0.name == "Contact" })
        #expect(contact.ok > 0)
        await ClientFailoverTests.stop([a, b], directories)
    }
}
