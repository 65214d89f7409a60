import ClaimlineClient
import ClaimlineCore
import Foundation
import NIOConcurrencyHelpers
import Testing

/// The failure PROTOCOL.md 8.1 was written for: an instance that is not dead but frozen
/// (SIGSTOP: its kernel still accepts connections and bytes, the process answers nothing), with
/// two real `claimlined` processes (``Daemon``). The client and the CLI must leave it within a
/// couple of seconds, not at the end of the caller's deadline. The frozen instance is
/// continued and every instance stopped in every path, a failed expectation or error included.
@Suite("Swift client failover: a frozen instance", .serialized, .timeLimit(.minutes(2)))
struct ClientFailoverFrozenTests {
    /// Two instances for `body`; afterwards, however `body` ends, SIGCONT (a stopped process
    /// cannot act on SIGTERM) and SIGTERM to both, and their folders removed.
    static func withTwoInstances(_ body: (Daemon, Daemon) async throws -> Void) async throws {
        let directories = [try TemporaryDirectory(), try TemporaryDirectory()]
        var daemons: [Daemon] = []
        func cleanUp() async {
            for daemon in daemons { daemon.signal(SIGCONT) }
            await ClientFailoverTests.stop(daemons, directories)
        }
        do {
            for directory in directories {
                let daemon = try Daemon(directory: directory)
                daemons.append(daemon)
                try await daemon.start()
            }
            try await body(daemons[0], daemons[1])
        } catch {
            await cleanUp()
            throw error
        }
        await cleanUp()
    }

    /// One call's fate, timed from the freeze.
    struct Outcome: Sendable {
        var succeeded: Bool
        var endedAfter: Duration
        var error: String
    }

    @Test("SIGSTOP A under load: ≥ 99 % of calls with a 5 s deadline succeed, the first within 2 s, none past its deadline")
    func frozenInstanceUnderLoad() async throws {
        try await Self.withTwoInstances { a, b in
            let client = ClientFailoverTests.client([a.port, b.port], connections: 2, timeout: .seconds(5))
            // Every connection to A is open and in use when it freezes.
            for _ in 0..<4 { _ = try await client.getStats() }
            _ = try await client.fileComplaint(Requests.file())
            #expect(client.lastServedAddress?.port == a.port)

            a.signal(SIGSTOP)
            let frozenAt = ContinuousClock.now
            let outcomes = NIOLockedValueBox<[Outcome]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for call in 0..<25 {
                            let started = ContinuousClock.now
                            var outcome = Outcome(succeeded: true, endedAfter: .zero, error: "")
                            do {
                                if (worker + call) % 2 == 0 {
                                    _ = try await client.getStats()
                                } else {
                                    _ = try await client.fileComplaint(Requests.file())
                                }
                            } catch {
                                outcome.succeeded = false
                                outcome.error = "\(error)"
                            }
                            outcome.endedAfter = ContinuousClock.now - frozenAt
                            // The deadline bounds every call, failed or not (a second for a busy machine).
                            #expect(ContinuousClock.now - started < .seconds(6), "a call took \(ContinuousClock.now - started)")
                            outcomes.withLockedValue { $0.append(outcome) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let all = outcomes.withLockedValue { $0 }
            let succeeded = all.filter(\.succeeded)
            #expect(all.count == 200)
            let failures = all.filter { !$0.succeeded }.map(\.error)
            #expect(succeeded.count * 100 >= all.count * 99, "\(failures.count) failed: \(failures.prefix(3))")
            let first = try #require(succeeded.map(\.endedAfter).min())
            #expect(first < .seconds(2), "the first success came \(first) after the freeze")
            #expect(client.diagnostics.currentAddress.port == b.port)
            #expect(client.failovers == 1)
            #expect(client.lastServedAddress?.port == b.port)
            await client.close()
        }
    }

    @Test("The CLI with --server A,B --timeout 5 and A frozen: the call succeeds on B, well within the timeout")
    func cliLeavesAFrozenInstance() async throws {
        try await Self.withTwoInstances { a, b in
            a.signal(SIGSTOP)
            let servers = "127.0.0.1:\(a.port),127.0.0.1:\(b.port)"
            let stats = try CLIFailoverTests.run(["stats", "--server", servers, "--timeout", "5", "--json"])
            #expect(stats.status == 0, "\(stats.stderr)")
            #expect(stats.json != nil)
            #expect(stats.seconds < 4, "took \(stats.seconds) s")
            let escalate = try CLIFailoverTests.run(
                [
                    "escalate", "--server", servers, "--timeout", "5", "--call-id", "UCID-CLI-FROZEN", "--msisdn", CLITests.msisdn,
                    "--tier", "2", "--region", "77", "--category", "billing/balance_desync",
                ])
            #expect(escalate.status == 0, "\(escalate.stderr)")
            #expect(escalate.seconds < 4, "took \(escalate.seconds) s")
        }
    }
}
