import ClaimlineClient
import ClaimlineCodec
import ClaimlineCore
import ClaimlineStore
import ClaimlineStoreSQLite
import Testing

@testable import ClaimlineServer

@Suite("Idempotency", .serialized)
struct IdempotencyTests {
    @Test("The same key with the same request returns the first answer: one claim, the same number")
    func retry() async throws {
        let server = try await TestServer.start()
        let agent = try await server.connect(.agent)
        let request = Requests.file()
        let first = try await agent.file(request)
        let second = try await agent.file(request)
        #expect(second == first)
        let other = try await server.connect(.agent)
        #expect(try await other.file(request) == first)
        let claims = try await agent.call(.listClaims, ListClaimsRequest(), as: ListClaimsResponse.self).claims
        #expect(claims.count == 1)
        await agent.close()
        await other.close()
        try await server.stop()
    }

    @Test(
        "A FileComplaint retry after its claim moved on still gets the first answer, byte for byte, from a record that keeps no claim",
        arguments: ["memory", "sqlite"]
    )
    func retryAfterUpdate(store: String) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let backend: any ClaimStoreBackend = store == "memory" ? InMemoryStoreBackend() : SQLiteStoreBackend(path: folder.database)
        let server = try await TestServer.start(backend: backend)
        let admin = try await server.connect(.admin)
        let request = Requests.file()
        let first = try await admin.file(request)
        #expect(first.claim?.status == .acknowledged)
        let moved = try await admin.call(
            .updateClaimStatus,
            UpdateClaimStatusRequest(idempotencyKey: Requests.key(), claimNumber: first.claimNumber, status: .inProgress),
            as: UpdateClaimStatusResponse.self
        )
        #expect(moved.claim?.status == .inProgress)
        let again = try await admin.file(request)
        #expect(again == first)
        #expect(try again.encodedBytes() == first.encodedBytes())
        try await server.stop()
        // What the record kept: the answer without the claim (the claims table has it).
        let writer = try backend.openWriter()
        defer { writer.close() }
        let scoped = WriteCommand.scope(key: request.idempotencyKey, client: "test-admin", method: .fileComplaint)
        let record = try #require(try writer.idempotencyRecord(key: scoped))
        let kept = try FileComplaintResponse.decode(from: record.response)
        #expect(kept.claim == nil)
        #expect(kept.claimNumber == first.claimNumber)
        #expect(record.response.count * 2 < (try first.encodedBytes()).count)
    }

    @Test("The same key with a different request is ALREADY_EXISTS, reason IDEMPOTENCY_KEY_REUSED")
    func conflict() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        let request = Requests.file()
        _ = try await admin.file(request)
        var changed = request
        changed.description = "другое описание"
        let error = await rpcError { _ = try await admin.file(changed) }
        #expect(error?.code == .alreadyExists)
        #expect(error?.reason == "IDEMPOTENCY_KEY_REUSED")
        await admin.close()
        try await server.stop()
    }

    @Test("A key is scoped to its client and method: another client's or another method's use is another key")
    func scope() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        let agent = try await server.connect(.agent)
        let request = Requests.file()
        let filed = try await agent.file(request)
        // The admin sending the agent's key does not get the agent's claim: its own request is
        // judged on its own (here: the contact already has its claim).
        let replayed = await rpcError { _ = try await admin.file(request) }
        #expect(replayed?.code == .failedPrecondition)
        #expect(replayed?.currentState == "CONTACT_STATE_CLAIM_FILED")
        // The agent's retry still gets its claim.
        #expect(try await agent.file(request).claimNumber == filed.claimNumber)
        // The same key on another method is another key.
        var escalate = Requests.escalate()
        escalate.idempotencyKey = request.idempotencyKey
        #expect(try await admin.escalate(escalate).decision == .transferToSecondLine)
        await admin.close()
        await agent.close()
        try await server.stop()
    }

    @Test("Retries of escalate and retain replay their answers instead of failing on the contact state")
    func contactRetries() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        let call = Requests.callID()
        let escalate = Requests.escalate(callID: call)
        let first = try await admin.escalate(escalate)
        #expect(try await admin.escalate(escalate) == first)
        let retain = Requests.retain(callID: call, .impossible, reason: .causeUnknown)
        let retained = try await admin.retain(retain)
        #expect(try await admin.retain(retain) == retained)
        await admin.close()
        try await server.stop()
    }

    @Test("A failed write leaves its key unused: correcting the request with the same key works")
    func failedWriteKeepsKeyFree() async throws {
        let server = try await TestServer.start()
        let agent = try await server.connect(.agent)
        var request = Requests.file(group: .billing, category: .migration, place: "")
        #expect(await rpcError { _ = try await agent.file(request) }?.code == .failedPrecondition)
        request.category = CategoryRef(group: .shop, category: .dissatisfaction)
        request.placeId = "SM-1"
        #expect(try await agent.file(request).claim?.category?.group == .shop)
        await agent.close()
        try await server.stop()
    }
}
