import ClaimlineClient
import ClaimlineCore
import Foundation
import Testing

/// PROTOCOL.md 8.1's ways of finding out about a silent instance, on scripted instances
/// (``ScriptedServer``): the attempt's timeout (and the REQUEST's), the reset of a connection
/// on which nothing arrived, CANCEL on one that is alive, the keepalive of a busy and of an
/// idle connection. Bounds are seconds wide, never tens of milliseconds: the timers are 1 s.
@Suite("Swift client failover: attempt timeout, reset, keepalive", .serialized, .timeLimit(.minutes(1)))
struct ClientFailoverKeepaliveTests {
    @Test("A silent instance: the attempt ends after attempt_timeout, its connection is reset (RST), B answers the same write")
    func silentInstanceIsResetAndTheCallMovesOn() async throws {
        let servers = try await ClientFailoverRulesTests.started(
            ScriptedServer(answersPing: false) { _ in .ignore }, ScriptedServer())
        let client = ClientFailoverRulesTests.client(servers)
        let started = ContinuousClock.now
        let answer = try await client.escalate(ClientFailoverRulesTests.escalate(key: "key-silent"), timeout: .seconds(5))
        let took = ContinuousClock.now - started
        #expect(answer.decision == .fileClaim)
        #expect(took >= .milliseconds(900) && took < .seconds(2), "took \(took)")
        #expect(servers[0].requests.map(\.idempotencyKey) == ["key-silent"])
        #expect(servers[1].requests.map(\.idempotencyKey) == ["key-silent"])
        // The REQUEST's timeout is the attempt's: at most attempt_timeout_ms with two addresses.
        let timeout = try #require(servers[0].requests.first?.timeoutMs)
        #expect(timeout > 500 && timeout <= 1000, "\(timeout)")
        #expect(await servers[0].wait { $0.resets == 1 }, "A's connection was closed, not reset: \(servers[0].counters)")
        #expect(servers[0].counters.cancels.isEmpty)
        // Later calls stay on B.
        for _ in 0..<5 { _ = try await client.getStats() }
        #expect(servers[0].requests.count == 1)
        #expect(client.diagnostics.currentAddress.port == servers[1].port)
        #expect(client.failovers == 1)
        await client.close()
        for server in servers { await server.stop() }
    }

    @Test("Alive but slow for this call (its PING answered): CANCEL at the attempt's end, the connection stays")
    func aliveInstanceGetsCancel() async throws {
        let servers = try await ClientFailoverRulesTests.started(ScriptedServer { $0 == 0 ? .ignore : .respond })
        let client = ClientFailoverRulesTests.client(servers)
        let error = await rpcError { _ = try await client.getStats(timeout: .seconds(3)) }
        // One address: the attempt had the whole budget, and its REQUEST said so.
        #expect(error?.code == .deadlineExceeded)
        #expect(error?.reason == ClientReason.clientDeadline)
        let timeout = try #require(servers[0].requests.first?.timeoutMs)
        #expect(timeout > 2000 && timeout <= 3000, "\(timeout)")
        // The call out and nothing received for keepalive_interval: a PING, answered.
        #expect(servers[0].counters.pings >= 1)
        #expect(await servers[0].wait { $0.cancels == [servers[0].requests[0].streamID] }, "\(servers[0].counters)")
        _ = try await client.getStats()
        #expect(servers[0].acceptedConnections == 1)
        #expect(servers[0].counters.resets == 0)
        await client.close()
        for server in servers { await server.stop() }
    }

    @Test("Busy but silent: PING after keepalive_interval, no frame within keepalive_timeout: reset, the read is lost and sent again")
    func deadKeepaliveResets() async throws {
        let servers = try await ClientFailoverRulesTests.started(ScriptedServer(answersPing: false) { $0 == 0 ? .ignore : .respond })
        let client = ClientFailoverRulesTests.client(servers)
        let started = ContinuousClock.now
        _ = try await client.getStats(timeout: .seconds(10))
        let took = ContinuousClock.now - started
        // The PING at 1 s, dead at 2 s; then a new connection answers: not the whole 10 s.
        #expect(took >= .milliseconds(1800) && took < .seconds(6), "took \(took)")
        #expect(servers[0].counters.pings >= 1)
        #expect(await servers[0].wait { $0.resets == 1 }, "\(servers[0].counters)")
        #expect(servers[0].requests.count == 2)
        #expect(servers[0].acceptedConnections == 2)
        await client.close()
        for server in servers { await server.stop() }
    }

    @Test("An idle connection is pinged every idle_keepalive, and reset when a PING goes unanswered")
    func idleKeepalive() async throws {
        let server = ScriptedServer()
        let servers = try await ClientFailoverRulesTests.started(server)
        let client = ClientFailoverRulesTests.client(servers) {
            $0.failover.idleKeepalive = .milliseconds(200)
            $0.failover.keepaliveTimeout = .milliseconds(500)
        }
        _ = try await client.getStats()
        #expect(await server.wait { $0.pings >= 3 }, "\(server.counters)")
        #expect(server.counters.resets == 0)
        server.answersPing = false
        #expect(await server.wait { $0.resets == 1 }, "\(server.counters)")
        // The next call finds the connection gone and makes another.
        _ = try await client.getStats()
        #expect(server.acceptedConnections == 2)
        await client.close()
        await server.stop()
    }

    @Test("A keyless write on a silent instance is not sent again: OUTCOME_UNKNOWN")
    func keylessWriteOnSilentInstance() async throws {
        let servers = try await ClientFailoverRulesTests.started(ScriptedServer(answersPing: false) { _ in .ignore }, ScriptedServer())
        let client = ClientFailoverRulesTests.client(servers)
        let error = await rpcError {
            _ = try await client.call(.escalate, ClientFailoverRulesTests.escalate(key: ""), as: EscalateResponse.self, timeout: .seconds(5))
        }
        #expect(error?.code == .unavailable)
        #expect(error?.reason == Reason.outcomeUnknown)
        #expect(servers[1].requests.isEmpty)
        await client.close()
        for server in servers { await server.stop() }
    }
}
