import ClaimlineCodec
import ClaimlineCore
import ClaimlineStore
import ClaimlineStoreSQLite
import ClaimlineWire
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import ClaimlineClient

@Suite("Swift client", .serialized)
struct ClaimlineClientTests {
    static func client(_ server: TestServer, role: Role = .admin, connections: Int = 2) -> ClaimlineClient {
        var configuration = ClaimlineClientConfiguration(port: server.port, token: TestServer.tokens[role]!, clientName: "swift-client-test")
        configuration.connections = connections
        return ClaimlineClient(configuration: configuration)
    }

    @Test("A whole contact through the typed API: escalate, retain impossible, file, get; a retried file returns the same claim")
    func wholeContact() async throws {
        let server = try await TestServer.start()
        let client = Self.client(server)
        let call = Requests.callID()
        let escalated = try await client.escalate(Requests.escalate(callID: call, group: .billing, category: .chargedWhileBlocked))
        #expect(escalated.decision == .transferToSecondLine)
        let retained = try await client.retain(Requests.retain(callID: call, .impossible, reason: .longReview))
        var draft = try #require(retained.draft)
        draft.description = "Требуется длительная проверка."
        let filed = try await client.fileComplaint(draft)  // no key given: the client makes one
        #expect(try await client.getClaim(GetClaimRequest(claimNumber: filed.claimNumber)).claim == filed.claim)
        draft.idempotencyKey = "fixed-key-1"
        let other = try await client.fileComplaint(Requests.file())
        #expect(other.claimNumber != filed.claimNumber)
        await client.close()
        try await server.stop()
    }

    @Test("Idempotency keys are generated once per logical call: well-formed and distinct")
    func keys() {
        let keys = (0..<1000).map { _ in ClaimlineClient.newIdempotencyKey() }
        #expect(Set(keys).count == 1000)
        #expect(
            keys.allSatisfy {
                $0.range(of: #"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"#, options: .regularExpression) != nil
            })
    }

    @Test("Many concurrent callers share the pool; every call is answered")
    func concurrency() async throws {
        let server = try await TestServer.start()
        let client = Self.client(server, connections: 3)
        let numbers = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<200 { group.addTask { try await client.fileComplaint(Requests.file()).claimNumber } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(numbers).count == 200)
        await client.close()
        try await server.stop()
    }

    @Test("Refusals are not retried and come back typed with their details")
    func typedErrors() async throws {
        let server = try await TestServer.start()
        let client = Self.client(server)
        let error = await rpcError { _ = try await client.fileComplaint(Requests.file(group: .billing, category: .improperService)) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.fieldViolations.first?.field == "category.category")
        let denied = Self.client(server, role: .ivr)
        #expect(await rpcError { _ = try await denied.fileComplaint(Requests.file()) }?.code == .permissionDenied)
        await client.close()
        await denied.close()
        try await server.stop()
    }

    /// Changed on purpose by PROTOCOL.md 8.1 (the final error tells the truth): the server took
    /// the write before its deadline and is still committing it, so it will be applied; the
    /// client, out of budget, says OUTCOME_UNKNOWN (retry with the same key), no longer
    /// DEADLINE_EXCEEDED, which would say "not applied".
    @Test("A per-call deadline: a write still being committed when it passes ends OUTCOME_UNKNOWN, in time")
    func deadline() async throws {
        let server = try await TestServer.start(backend: SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 500))
        let client = Self.client(server, connections: 1)
        // The connection is made first: the 100 ms are the write's alone, not the handshake's.
        _ = try await client.getStats()
        let started = ContinuousClock.now
        let error = await rpcError { _ = try await client.fileComplaint(Requests.file(), timeout: .milliseconds(100)) }
        #expect(error?.code == .unavailable)
        #expect(error?.reason == Reason.outcomeUnknown)
        #expect(ContinuousClock.now - started < .seconds(2))
        await client.close()
        try await server.stop()
    }

    @Test("No server: UNAVAILABLE CONNECT_FAILED when the budget ends, not a hang")
    func unreachable() async throws {
        let server = try await TestServer.start()
        let port = server.port
        try await server.stop()
        let client = ClaimlineClient(configuration: ClaimlineClientConfiguration(port: port, token: "whatever-token"))
        let started = ContinuousClock.now
        let error = await rpcError { _ = try await client.getSecondLineMode(timeout: .seconds(3)) }
        #expect(error?.code == .unavailable)
        #expect(error?.reason == ClientReason.connectFailed)
        #expect(ContinuousClock.now - started < .seconds(4))
        await client.close()
    }

    @Test("A server restart mid-run: calls resume on new connections, and no claim is duplicated")
    func restartMidRun() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = SQLiteStoreBackend(path: directory.database)
        let first = try await TestServer.start(backend: backend)
        let port = first.port
        var configuration = ClaimlineClientConfiguration(port: port, token: TestServer.tokens[.agent]!)
        configuration.defaultTimeout = .seconds(20)
        configuration.failover.backoffMax = .milliseconds(200)
        let client = ClaimlineClient(configuration: configuration)

        let answers = NIOLockedValueBox<[(FileComplaintRequest, String)]>([])
        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<60 {
                            var request = Requests.file()
                            request.idempotencyKey = ClaimlineClient.newIdempotencyKey()
                            let answer = try await client.fileComplaint(request)
                            answers.withLockedValue { $0.append((request, answer.claimNumber)) }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        while answers.withLockedValue({ $0.count }) < 40 { try await Task.sleep(for: .milliseconds(5)) }
        try await first.stop()
        let second = try await TestServer.start(backend: backend, port: port)
        try await load.value

        let all = answers.withLockedValue { $0 }
        #expect(all.count == 240, "every call eventually succeeded")
        let admin = try await second.connect(.admin)
        let stored = try await admin.call(.listClaims, ListClaimsRequest(pageSize: 1000), as: ListClaimsResponse.self).claims
        #expect(stored.count == 240, "a retried write made a second claim")
        #expect(Set(stored.map(\.claimNumber)) == Set(all.map(\.1)))
        await admin.close()
        await client.close()
        try await second.stop()
    }

    @Test("The bytes the client writes are the golden vectors: preface, HELLO, a REQUEST")
    func goldenBytes() throws {
        let vectors = try JSONDecoder().decode(
            VectorFile.self, from: Data(contentsOf: URL(fileURLWithPath: GoldenPaths.repositoryRoot + "/proto/vectors/v1.json")))
        func hex(_ name: String) -> String { vectors.vectors.first { $0.name == name }!.hex }
        let channel = EmbeddedChannel()
        let hello = channel.eventLoop.makePromise(of: HelloAck.self)
        let handler = ClientConnectionHandler(
            hello: Hello(clientName: "ivr-node-3", token: "dev-ivr-token"), helloPromise: hello, health: ConnectionHealth()
        )
        try channel.pipeline.syncOperations.addHandler(handler)
        channel.pipeline.fireChannelActive()
        let opening = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Self.hex(opening) == hex("preface") + hex("hello"))
        let escalate = EscalateRequest(
            idempotencyKey: "6f1c2a3b-0000-4000-8000-000000000001", callId: "UCID-00001-1764000000",
            subscriber: Subscriber(msisdn: "+79161234567", accountId: "ACC-0042", valueTier: .tier2, region: "77"),
            category: CategoryRef(group: .billing, category: .chargedWhileBlocked), agentId: "ivr-7"
        )
        let waiter = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let arena = ProtoArena()
        let stream = handler.send(
            method: Method.escalate.rawValue, timeoutMs: 2000,
            body: { buffer throws(CodecError) in try escalate.encode(into: &buffer, arena: arena) }, waiter: waiter)
        #expect(stream == 1)
        let request = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Self.hex(request) == hex("escalate.request"))
        // The golden RESPONSE completes the call with its payload.
        try channel.writeInbound(Frame(type: .response, method: 1, streamID: 1, payload: ByteBuffer(bytes: [0x08, 0x04])))
        #expect(try waiter.futureResult.wait() == ByteBuffer(bytes: [0x08, 0x04]))
        hello.fail(RPCError(.cancelled, "test over"))
        _ = try? channel.finish()
    }

    static func hex(_ buffer: ByteBuffer) -> String {
        buffer.readableBytesView.map { String(format: "%02x", $0) }.joined()
    }

    struct VectorFile: Decodable {
        struct Vector: Decodable {
            var name: String
            var hex: String
        }
        var vectors: [Vector]
    }
}
