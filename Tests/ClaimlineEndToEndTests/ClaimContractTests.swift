import ClaimlineClient
import ClaimlineCodec
import ClaimlineCore
import ClaimlineLoad
import ClaimlineStore
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
        let escalated = try await admin.escalate(Requests.escalate(callID: call, group: .billing, category: .balanceDesync, tier: .tier2, region: "77"))
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
