import ClaimlineClient
import ClaimlineCore
import Testing

@Suite("Claims: queries and lifecycle", .serialized)
struct ClaimLifecycleTests {
    @Test("TMF621 transitions: legal ones apply, illegal ones are FAILED_PRECONDITION, final states stay final")
    func transitions() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        let number = try await admin.file(Requests.file()).claimNumber
        func move(_ status: ClaimStatus) async throws -> Claim? {
            try await admin.call(
                .updateClaimStatus, UpdateClaimStatusRequest(idempotencyKey: Requests.key(), claimNumber: number, status: status),
                as: UpdateClaimStatusResponse.self
            ).claim
        }
        #expect(try await move(.inProgress)?.status == .inProgress)
        #expect(try await move(.held)?.status == .held)
        #expect(try await move(.inProgress)?.status == .inProgress)
        let illegal = await rpcError { _ = try await move(.acknowledged) }
        #expect(illegal?.code == .failedPrecondition)
        #expect(illegal?.currentState == "CLAIM_STATUS_IN_PROGRESS")
        #expect(try await move(.resolved)?.status == .resolved)
        #expect(try await move(.closed)?.status == .closed)
        let final = await rpcError { _ = try await move(.inProgress) }
        #expect(final?.code == .failedPrecondition)
        #expect(final?.message.contains("final") == true)
        let missing = await rpcError {
            _ = try await admin.call(
                .updateClaimStatus, UpdateClaimStatusRequest(idempotencyKey: Requests.key(), claimNumber: "2026-999999", status: .closed),
                as: UpdateClaimStatusResponse.self
            )
        }
        #expect(missing?.code == .notFound)
        #expect(try await admin.getClaim(number)?.status == .closed)
        await admin.close()
        try await server.stop()
    }

    @Test("ListClaims by MSISDN and status, newest first, in pages")
    func listing() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        var mine: [String] = []
        for index in 0..<7 {
            var request = Requests.file()
            if index % 2 == 1 { request.subscriber?.msisdn = "+79990000000" } else { mine.append("") }
            let number = try await admin.file(request).claimNumber
            if index % 2 == 0 { mine[mine.count - 1] = number }
        }
        var seen: [String] = []
        var token = ""
        repeat {
            let page = try await admin.call(
                .listClaims, ListClaimsRequest(msisdn: "+79161234567", pageSize: 3, pageToken: token), as: ListClaimsResponse.self
            )
            #expect(page.claims.count <= 3)
            seen += page.claims.map(\.claimNumber)
            token = page.nextPageToken
        } while !token.isEmpty
        #expect(seen == mine.reversed())

        _ = try await admin.call(
            .updateClaimStatus, UpdateClaimStatusRequest(idempotencyKey: Requests.key(), claimNumber: mine[0], status: .rejected),
            as: UpdateClaimStatusResponse.self
        )
        let rejected = try await admin.call(.listClaims, ListClaimsRequest(status: .rejected), as: ListClaimsResponse.self)
        #expect(rejected.claims.map(\.claimNumber) == [mine[0]])
        let bad = await rpcError { _ = try await admin.call(.listClaims, ListClaimsRequest(pageToken: "garbage"), as: ListClaimsResponse.self) }
        #expect(bad?.fieldViolations.first?.field == "page_token")
        let missing = await rpcError { _ = try await admin.getClaim("2026-424242") }
        #expect(missing?.code == .notFound)
        await admin.close()
        try await server.stop()
    }

    @Test("Stats count claims by group and category, and retention outcomes by reason")
    func stats() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        for (outcome, reason) in [
            (RetentionOutcome.retained, RetentionFailureReason.unspecified), (.retained, .unspecified), (.declined, .unspecified),
            (.impossible, .exceedsAuthority),
        ] {
            let call = Requests.callID()
            _ = try await admin.escalate(Requests.escalate(callID: call))
            _ = try await admin.retain(Requests.retain(callID: call, outcome, reason: reason))
        }
        _ = try await admin.file(Requests.file())
        let stats = try await admin.call(.getStats, GetStatsRequest(), as: GetStatsResponse.self)
        #expect(stats.escalations == 4)
        #expect(stats.retained == 2)
        #expect(stats.declined == 1)
        #expect(stats.impossibleByReason == [FailureReasonCount(reason: .exceedsAuthority, count: 1)])
        #expect(stats.claimsTotal == 1)
        #expect(stats.claimsByGroup == [GroupCount(group: .contactCentre, claims: 1)])
        await admin.close()
        try await server.stop()
    }
}
