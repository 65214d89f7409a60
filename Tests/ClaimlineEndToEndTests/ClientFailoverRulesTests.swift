import ClaimlineClient
import ClaimlineCore
import Foundation
import NIOCore
import NIOPosix
import Testing

/// The Swift client's failover rules against scripted instances (``ScriptedServer``): which
/// failure moves a call to the next address, that a write keeps its idempotency key there,
/// that a write without a key is not sent twice when it may have been applied, and that a
/// refusal is never retried anywhere.
@Suite("Swift client failover rules", .serialized, .timeLimit(.minutes(1)))
struct ClientFailoverRulesTests {
    static func client(
        _ servers: [ScriptedServer], connections: Int = 1, adjust: (inout ClaimlineClientConfiguration) -> Void = { _ in }
    )
        -> ClaimlineClient
    {
        let addresses = servers.map { ClaimlineAddress(host: "127.0.0.1", port: $0.port) }
        var configuration = ClaimlineClientConfiguration(addresses: addresses, token: "any-token", clientName: "failover-rules")
        configuration.connections = connections
        adjust(&configuration)
        return ClaimlineClient(configuration: configuration)
    }

    static func started(_ servers: ScriptedServer...) async throws -> [ScriptedServer] {
        for server in servers { try await server.start() }
        return servers
    }

    /// An Escalate with exactly this key (empty: none).
    static func escalate(key: String) -> EscalateRequest {
        var request = Requests.escalate()
        request.idempotencyKey = key
        return request
    }

    @Test("UNAVAILABLE OUTCOME_UNKNOWN on A: the write is retried on B with the same key")
    func outcomeUnknownRetriedWithTheSameKey() async throws {
        let servers = try await Self.started(
            ScriptedServer { _ in .error(RPCError(.unavailable, "commit failed", reason: Reason.outcomeUnknown)) },
            ScriptedServer()
        )
        let client = Self.client(servers)
        let answer = try await client.escalate(Self.escalate(key: "key-outcome-unknown"))
        #expect(answer.decision == .fileClaim)
        #expect(servers[0].requests.map(\.idempotencyKey) == ["key-outcome-unknown"])
        #expect(servers[1].requests.map(\.idempotencyKey) == ["key-outcome-unknown"])
        #expect(client.lastServedAddress?.port == servers[1].port)
        #expect(client.failovers == 1)
        await client.close()
        for server in servers { await server.stop() }
    }

    @Test("The connection drops with a write out: it is retried on B with the key the client made for it")
    func lostConnectionRetriedWithTheClientsKey() async throws {
        let servers = try await Self.started(ScriptedServer { _ in .close }, ScriptedServer())
        let client = Self.client(servers)
        _ = try await client.escalate(Self.escalate(key: ""))  // no key given: the client makes one
        let first = try #require(servers[0].requests.first?.idempotencyKey)
        #expect(!first.isEmpty)
        #expect(servers[1].requests.map(\.idempotencyKey) == [first])
        #expect(client.diagnostics.currentAddress.port == servers[1].port)
        await client.close()
        for server in servers { await server.stop() }
    }

    /// Changed on purpose by PROTOCOL.md 8.1: the reason is OUTCOME_UNKNOWN (the final error's
    /// rule 1), no longer the lost connection's CONNECTION_CLOSED.
    @Test("A write sent without a key whose outcome is unknown is not retried: OUTCOME_UNKNOWN, and the error says so")
    func keylessWriteWithUnknownOutcomeIsNotRetried() async throws {
        let servers = try await Self.started(ScriptedServer { _ in .close }, ScriptedServer())
        let client = Self.client(servers)
        let error = await rpcError {
            _ = try await client.call(.escalate, Self.escalate(key: ""), as: EscalateResponse.self, timeout: .seconds(3))
        }
        #expect(error?.code == .unavailable)
        #expect(error?.reason == Reason.outcomeUnknown)
        #expect(error?.message.contains("not retried") == true)
        #expect(servers[0].requests.count == 1)
        #expect(servers[1].requests.isEmpty, "the keyless write was sent a second time")
        await client.close()
        for server in servers { await server.stop() }
    }

    @Test("A write without a key that was certainly not applied (UNAVAILABLE, GOAWAY above the last stream) moves on")
    func keylessWriteNotAppliedMovesOn() async throws {
        let refusing = try await Self.started(
            ScriptedServer { _ in .error(RPCError(.unavailable, "shutting down", reason: Reason.shutdown)) }, ScriptedServer())
        let client = Self.client(refusing)
        _ = try await client.call(.escalate, Self.escalate(key: ""), as: EscalateResponse.self, timeout: .seconds(3))
        #expect(refusing[1].requests.count == 1)
        await client.close()
        for server in refusing { await server.stop() }

        let goingAway = try await Self.started(ScriptedServer { _ in .goAway(lastStreamID: 0) }, ScriptedServer())
        let second = Self.client(goingAway)
        _ = try await second.call(.escalate, Self.escalate(key: ""), as: EscalateResponse.self, timeout: .seconds(3))
        #expect(goingAway[0].requests.count == 1)
        #expect(goingAway[1].requests.count == 1)
        #expect(second.failovers == 1)
        await second.close()
        for server in goingAway { await server.stop() }
    }

    @Test("Refusals are never retried, on this address or another: B never sees the call")
    func refusalsAreNotRetried() async throws {
        let refusals: [RPCError] = [
            RPCError(.failedPrecondition, "not with the second line", currentState: "CONTACT_STATE_RETAINED", reason: Reason.contactState),
            RPCError.invalidArgument(field: "subscriber.msisdn", "not E.164"),
            RPCError(.permissionDenied, "role", reason: Reason.role),
            RPCError(.alreadyExists, "key reused", reason: Reason.idempotencyKeyReused),
        ]
        for refusal in refusals {
            let servers = try await Self.started(ScriptedServer { _ in .error(refusal) }, ScriptedServer())
            let client = Self.client(servers)
            let error = await rpcError { _ = try await client.escalate(Self.escalate(key: "key-refused")) }
            #expect(error?.code == refusal.code)
            #expect(servers[0].requests.count == 1, "\(refusal.code.name) retried on the same address")
            #expect(servers[1].requests.isEmpty, "\(refusal.code.name) retried on another address")
            #expect(client.failovers == 0)
            await client.close()
            for server in servers { await server.stop() }
        }
    }

    @Test("An instance that accepts but never answers HELLO counts as down after the connect timeout")
    func silentInstanceTimesOut() async throws {
        let servers = try await Self.started(ScriptedServer(answersHello: false), ScriptedServer())
        let client = Self.client(servers) { $0.connectTimeout = .seconds(1) }
        let started = ContinuousClock.now
        _ = try await client.getStats(timeout: .seconds(5))
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(900) && took < .seconds(3), "took \(took)")
        #expect(client.lastServedAddress?.port == servers[1].port)

        // Alone, the silent instance ends the call at its deadline, not later: the connect
        // timeout is never more than the attempt's. Changed on purpose by PROTOCOL.md 8.1: every
        // attempt failed to connect, so the error is UNAVAILABLE CONNECT_FAILED (rule 2), no
        // longer DEADLINE_EXCEEDED.
        let alone = Self.client([servers[0]]) { $0.connectTimeout = .seconds(10) }
        let before = ContinuousClock.now
        let error = await rpcError { _ = try await alone.getStats(timeout: .milliseconds(800)) }
        #expect(error?.code == .unavailable)
        #expect(error?.reason == ClientReason.connectFailed)
        #expect(ContinuousClock.now - before < .seconds(2))
        // Nor does closing the client wait for the attempt still hanging there.
        let closing = ContinuousClock.now
        await alone.close()
        #expect(ContinuousClock.now - closing < .seconds(1))
        await client.close()
        for server in servers { await server.stop() }
    }

    @Test("The client sticks to the instance that works: later calls do not go back to the failed one")
    func sticksToTheSurvivor() async throws {
        let servers = try await Self.started(ScriptedServer { _ in .close }, ScriptedServer())
        let client = Self.client(servers, connections: 2) { $0.failover.suspectBase = .milliseconds(50) }
        for _ in 0..<20 { _ = try await client.getStats() }
        try await Task.sleep(for: .milliseconds(100))  // A's suspicion is long over
        for _ in 0..<20 { _ = try await client.getStats() }
        #expect(servers[0].requests.count == 1)
        #expect(servers[1].requests.count == 40)
        #expect(client.failovers == 1)
        await client.close()
        for server in servers { await server.stop() }
    }

    @Test("Addresses parse as host:port lists; the single-address configuration still works")
    func addressesParse() throws {
        #expect(try ClaimlineAddress.list("a:1, b:2").map(\.description) == ["a:1", "b:2"])
        #expect(try ClaimlineAddress.list("[::1]:7400").first == ClaimlineAddress(host: "::1", port: 7400))
        #expect(try ClaimlineAddress.list("[::1]:7400").first?.description == "[::1]:7400")
        for bad in ["", "a", "a:0", "a:70000", "a:1,", ":7400"] {
            #expect(throws: ClaimlineAddress.ParseError.self) { try ClaimlineAddress.list(bad) }
        }
        var single = ClaimlineClientConfiguration(host: "db1", port: 7401, token: "t")
        #expect(single.addresses == [ClaimlineAddress(host: "db1", port: 7401)])
        single.port = 7402
        #expect(single.addresses == [ClaimlineAddress(host: "db1", port: 7402)])
        #expect(single.host == "db1")
    }
}
