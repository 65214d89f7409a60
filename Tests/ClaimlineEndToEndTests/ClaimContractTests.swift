import ClaimlineClient
import ClaimlineCodec
import ClaimlineCore
import ClaimlineLoad
import ClaimlineStore
import ClaimlineStoreSQLite
import Foundation
import Testing

/// What a caller is told is exactly what happened (issue 10): a claim says what its contact
/// recorded, and a write's answer says whether it was applied.
@Suite("Claims agree with their contact; write outcomes are exact")
struct ClaimContractTests {
    @Test("The claim carries the retention reason the contact recorded; a conflicting reason is refused")
    func retentionReason() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        let call = Requests.callID()
        _ = try await admin.escalate(Requests.escalate(callID: call, group: .billing, category: .balanceDesync))
        _ = try await admin.retain(Requests.retain(callID: call, .impossible, reason: .causeUnknown))

        let conflicting = await rpcError {
            _ = try await admin.file(Requests.file(callID: call, group: .billing, category: .balanceDesync, place: "", reason: .longReview))
        }
        #expect(conflicting?.code == .invalidArgument)
        #expect(conflicting?.fieldViolations.map(\.field) == ["failure_reason"])
        #expect(conflicting?.fieldViolations.first?.description.contains("CAUSE_UNKNOWN") == true)

        let filed = try await admin.file(Requests.file(callID: call, group: .billing, category: .balanceDesync, place: ""))
        #expect(filed.claim?.failureReason == .causeUnknown)
        await admin.close()
        try await server.stop()
    }

    @Test("A claim with no retention attempted refuses a retention reason")
    func reasonWithoutRetention() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        // Straight to a claim: quality of service, no escalate.
        let direct = await rpcError { _ = try await admin.file(Requests.file(reason: .longReview)) }
        #expect(direct?.fieldViolations.map(\.field) == ["failure_reason"])
        // Escalated to FILE_CLAIM by a rule (tier 4 contact-centre complaint): no retention either.
        let call = Requests.callID()
        let escalated = try await admin.escalate(
            Requests.escalate(callID: call, group: .contactCentre, category: .improperService, tier: .tier4, place: "MRKC-1")
        )
        #expect(escalated.decision == .fileClaim)
        do {
            var request = Requests.file(callID: call, reason: .exceedsAuthority)
            request.subscriber?.valueTier = .unspecified
            let refused = await rpcError { _ = try await admin.file(request) }
            #expect(refused?.fieldViolations.map(\.field) == ["failure_reason"])
        }
        let stored = try await admin.call(.listClaims, ListClaimsRequest(pageSize: 10), as: ListClaimsResponse.self)
        #expect(stored.claims.isEmpty)
        await admin.close()
        try await server.stop()
    }

    @Test("Tier, region and account come from the contact; conflicting values and another group are refused")
    func subscriberFromContact() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        let call = Requests.callID()
        let escalated = try await admin.escalate(
            Requests.escalate(callID: call, group: .billing, category: .balanceDesync, tier: .tier2, region: "77"))
        #expect(escalated.decision == .transferToSecondLine)
        _ = try await admin.retain(Requests.retain(callID: call, .impossible, reason: .longReview))

        var conflicting = Requests.file(callID: call, group: .billing, category: .balanceDesync, place: "")
        conflicting.subscriber = Subscriber(msisdn: "+79161234567", valueTier: .tier3, region: "50")
        let refused = await rpcError { _ = try await admin.file(conflicting) }
        #expect(Set(refused?.fieldViolations.map(\.field) ?? []) == ["subscriber.value_tier", "subscriber.region"])

        let otherGroup = await rpcError {
            _ = try await admin.file(Requests.file(callID: call, group: .contactCentre, category: .improperService, place: "MRKC-1"))
        }
        #expect(otherGroup?.fieldViolations.map(\.field) == ["category.group"])

        // Only the number given: everything else from the contact; the category refined in its group.
        var bare = Requests.file(callID: call, group: .billing, category: .chargedWhileBlocked, place: "")
        bare.subscriber = Subscriber(msisdn: "+79161234567")
        let filed = try await admin.file(bare)
        #expect(filed.claim?.subscriber?.valueTier == .tier2)
        #expect(filed.claim?.subscriber?.region == "77")
        #expect(filed.claim?.subscriber?.accountId == "ACC-1")
        #expect(filed.claim?.category == CategoryRef(group: .billing, category: .chargedWhileBlocked))
        await admin.close()
        try await server.stop()
    }

    @Test("1,000 writes with deadlines around the batch time: none stored was answered 'not applied'")
    func exactWriteOutcomes() async throws {
        // Each batch takes about 4 ms to commit; deadlines spread from 1 to 12 ms.
        let server = try await TestServer.start(backend: SlowStoreBackend(InMemoryStoreBackend(), commitDelayMs: 4))
        let peer = try await HostilePeer.connect(host: "127.0.0.1", port: server.port, keepAnswers: true)
        #expect(try await peer.handshake(token: TestServer.tokens[.admin]!))
        var callByStream: [UInt32: String] = [:]
        for round in 0..<50 {
            for index in 0..<20 {
                let request = Requests.file()
                let timeout = UInt32(1 + (round * 20 + index) % 12)
                let ids = peer.request(.fileComplaint, [request], timeoutMs: timeout)
                callByStream[ids[0]] = request.callId
            }
            try await Task.sleep(for: .milliseconds(3))
        }
        #expect(await peer.wait(timeout: .seconds(30)) { $0.answers.count == 1000 })
        var ok = Set<String>()
        var notApplied = Set<String>()
        var unknown = Set<String>()
        for (stream, frame) in peer.seen.answers {
            let call = callByStream[stream]!
            if frame.type == .response {
                ok.insert(call)
            } else {
                let status = try RpcStatus.decode(from: frame.payload, arena: ProtoArena())
                if status.reason == "OUTCOME_UNKNOWN" {
                    unknown.insert(call)
                } else {
                    #expect(status.code == StatusCode.deadlineExceeded.rawValue)
                    #expect(status.message.contains("not applied"))
                    notApplied.insert(call)
                }
            }
        }
        await peer.close()
        let admin = try await server.connect(.admin)
        var stored = Set<String>()
        var token = ""
        repeat {
            let page = try await admin.call(.listClaims, ListClaimsRequest(pageSize: 1000, pageToken: token), as: ListClaimsResponse.self)
            stored.formUnion(page.claims.map(\.callId))
            token = page.nextPageToken
        } while !token.isEmpty
        print("exact outcomes: \(ok.count) OK, \(notApplied.count) not applied, \(unknown.count) unknown, \(stored.count) stored")
        #expect(!notApplied.isEmpty && !ok.isEmpty, "the deadlines must straddle the batch time")
        #expect(stored.isDisjoint(with: notApplied), "\(stored.intersection(notApplied).count) claims stored although answered 'not applied'")
        #expect(ok.isSubset(of: stored))
        #expect(stored.isSubset(of: ok.union(unknown)))
        await admin.close()
        try await server.stop()
    }
}

/// The calls operators asked for (issue 10, item 9): a contact by call id, escalations by
/// decision and rule, claims by category and department.
@Suite("Operator queries")
struct OperatorQueryTests {
    @Test("GetContact: state, decision, rule and the draft of a required claim; NOT_FOUND for none")
    func getContact() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        let call = Requests.callID()
        _ = try await admin.escalate(Requests.escalate(callID: call, group: .billing, category: .balanceDesync))
        let transferred = try await admin.call(.getContact, GetContactRequest(callId: call), as: GetContactResponse.self)
        #expect(transferred.contact?.state == .withSecondLine)
        #expect(transferred.contact?.decision == .transferToSecondLine)
        #expect(transferred.contact?.rule == "second_line_normal")
        #expect(transferred.draft == nil)

        _ = try await admin.retain(Requests.retain(callID: call, .impossible, reason: .exceedsAuthority))
        let required = try await admin.call(.getContact, GetContactRequest(callId: call), as: GetContactResponse.self)
        #expect(required.contact?.state == .claimRequired)
        #expect(required.contact?.failureReason == .exceedsAuthority)
        let draft = try #require(required.draft)
        #expect(draft.callId == call)
        #expect(draft.failureReason == .exceedsAuthority)
        #expect(draft.category == CategoryRef(group: .billing, category: .balanceDesync))

        // The recovered draft files as is, with a description and a key.
        var file = draft
        file.idempotencyKey = Requests.key()
        file.description = "Восстановленный черновик."
        let filed = try await admin.file(file)
        let done = try await admin.call(.getContact, GetContactRequest(callId: call), as: GetContactResponse.self)
        #expect(done.contact?.state == .claimFiled)
        #expect(done.contact?.claimNumber == filed.claimNumber)

        let missing = await rpcError { _ = try await admin.call(.getContact, GetContactRequest(callId: "UCID-none"), as: GetContactResponse.self) }
        #expect(missing?.code == .notFound)
        #expect(missing?.reason == "CONTACT_NOT_FOUND")
        let bad = await rpcError { _ = try await admin.call(.getContact, GetContactRequest(callId: ""), as: GetContactResponse.self) }
        #expect(bad?.fieldViolations.map(\.field) == ["call_id"])
        await admin.close()
        try await server.stop()
    }

    @Test("GetStats counts escalations by decision and rule")
    func statsByDecision() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        for _ in 0..<3 { _ = try await admin.escalate(Requests.escalate(group: .billing, category: .balanceDesync)) }
        for _ in 0..<2 { _ = try await admin.escalate(Requests.escalate(group: .shop, category: .improperService, place: "SHOP-1")) }
        _ = try await admin.escalate(Requests.escalate(group: .billing, category: .migration, tier: .tier3))
        let stats = try await admin.call(.getStats, GetStatsRequest(), as: GetStatsResponse.self)
        #expect(stats.escalations == 6)
        #expect(
            stats.escalationsByDecision == [
                DecisionCount(decision: .fileClaim, rule: "quality_of_service", escalations: 2),
                DecisionCount(decision: .firstLineConsultation, rule: "value_tier_consultation", escalations: 1),
                DecisionCount(decision: .transferToSecondLine, rule: "second_line_normal", escalations: 3),
            ]
        )
        await admin.close()
        try await server.stop()
    }

    @Test("ListClaims by group, by category and by department, on SQLite and in memory")
    func listByCategoryAndDepartment() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for backend in [InMemoryStoreBackend() as any ClaimStoreBackend, SQLiteStoreBackend(path: directory.database)] {
            let server = try await TestServer.start(backend: backend)
            let admin = try await server.connect(.admin)
            let shop = try await admin.file(Requests.file(group: .shop, category: .improperService, place: "SHOP-1"))
            let centre = try await admin.file(Requests.file(group: .contactCentre, category: .improperService, place: "MRKC-1"))
            let centre2 = try await admin.file(Requests.file(group: .contactCentre, category: .incompetence, place: "MRKC-1"))
            func list(_ request: ListClaimsRequest) async throws -> Set<String> {
                Set(try await admin.call(.listClaims, request, as: ListClaimsResponse.self).claims.map(\.claimNumber))
            }
            #expect(try await list(ListClaimsRequest(category: CategoryRef(group: .contactCentre))) == [centre.claimNumber, centre2.claimNumber])
            #expect(
                try await list(ListClaimsRequest(category: CategoryRef(group: .contactCentre, category: .incompetence))) == [centre2.claimNumber]
            )
            #expect(try await list(ListClaimsRequest(department: shop.department)) == [shop.claimNumber])
            #expect(shop.department != centre.department)
            #expect(try await list(ListClaimsRequest(department: "no such department")).isEmpty)
            let bad = await rpcError {
                _ = try await admin.call(
                    .listClaims, ListClaimsRequest(category: CategoryRef(group: .shop, category: .balanceDesync)), as: ListClaimsResponse.self)
            }
            #expect(bad?.fieldViolations.map(\.field) == ["category.category"])
            await admin.close()
            try await server.stop()
        }
    }
}
