import ClaimlineClient
import ClaimlineCore
import Foundation
import Testing

/// Every contact-session transition, legal and illegal (DOMAIN.md's path).
@Suite("Contact sessions", .serialized)
struct ContactFlowTests {
    @Test("Escalate, retain impossible, file: the whole path, with a pre-filled draft")
    func wholeContact() async throws {
        let server = try await TestServer.start()
        let ivr = try await server.connect(.ivr)
        let agent = try await server.connect(.agent)
        let call = Requests.callID()
        let escalated = try await ivr.escalate(Requests.escalate(callID: call, group: .billing, category: .chargedWhileBlocked))
        #expect(escalated.decision == .transferToSecondLine)

        let retained = try await agent.retain(Requests.retain(callID: call, .impossible, reason: .longReview))
        #expect(retained.claimRequired)
        #expect(retained.state == .claimRequired)
        let draft = try #require(retained.draft)
        #expect(draft.callId == call)
        #expect(draft.category == CategoryRef(group: .billing, category: .chargedWhileBlocked))
        #expect(draft.failureReason == .longReview)
        #expect(draft.subscriber?.msisdn == "+79161234567")

        var file = draft
        file.idempotencyKey = Requests.key()
        file.description = "Списание при блокировке, нужна долгая проверка."
        let filed = try await agent.file(file)
        #expect(filed.claimNumber.range(of: #"^\d{4}-\d{6}$"#, options: .regularExpression) != nil)
        #expect(filed.department == "Отдел биллинга (АСР)")
        #expect(filed.claim?.status == .acknowledged)
        #expect(filed.claim?.failureReason == .longReview)
        #expect(filed.dueAtMs == (filed.claim?.createdAtMs ?? 0) + 48 * 3_600_000)
        let fetched = try await agent.getClaim(filed.claimNumber)
        #expect(fetched == filed.claim)

        // The contact is over: neither a second claim nor another retain.
        let second = await rpcError {
            _ = try await agent.file(Requests.file(callID: call, group: .billing, category: .chargedWhileBlocked, place: ""))
        }
        #expect(second?.code == .failedPrecondition)
        #expect(second?.currentState == "CONTACT_STATE_CLAIM_FILED")
        let retainAgain = await rpcError { _ = try await agent.retain(Requests.retain(callID: call, .retained)) }
        #expect(retainAgain?.currentState == "CONTACT_STATE_CLAIM_FILED")
        await ivr.close()
        await agent.close()
        try await server.stop()
    }

    @Test("Retained and declined end the contact without a claim")
    func retainedAndDeclined() async throws {
        let server = try await TestServer.start()
        let ivr = try await server.connect(.ivr)
        let agent = try await server.connect(.agent)
        for (outcome, state) in [(RetentionOutcome.retained, ContactState.retained), (.declined, .declined)] {
            let call = Requests.callID()
            _ = try await ivr.escalate(Requests.escalate(callID: call))
            let answer = try await agent.retain(Requests.retain(callID: call, outcome))
            #expect(!answer.claimRequired)
            #expect(answer.state == state)
            #expect(answer.draft == nil)
            let file = await rpcError { _ = try await agent.file(Requests.file(callID: call, group: .billing, category: .balanceDesync, place: "")) }
            #expect(file?.code == .failedPrecondition)
            #expect(file?.currentState == state.protoName)
        }
        await ivr.close()
        await agent.close()
        try await server.stop()
    }

    @Test("Out-of-order calls are FAILED_PRECONDITION naming the current state")
    func outOfOrder() async throws {
        let server = try await TestServer.start()
        let ivr = try await server.connect(.ivr)
        let agent = try await server.connect(.agent)

        // Retain before any escalate.
        let early = await rpcError { _ = try await agent.retain(Requests.retain(callID: Requests.callID(), .retained)) }
        #expect(early?.code == .failedPrecondition)
        #expect(early?.currentState == "CONTACT_STATE_UNSPECIFIED")

        // Escalate twice.
        let call = Requests.callID()
        _ = try await ivr.escalate(Requests.escalate(callID: call, tier: .tier3))
        let twice = await rpcError { _ = try await ivr.escalate(Requests.escalate(callID: call)) }
        #expect(twice?.code == .failedPrecondition)
        #expect(twice?.currentState == "CONTACT_STATE_FIRST_LINE_CONSULTATION")

        // Retain after a first-line consultation: the second line never had the contact.
        let retain = await rpcError { _ = try await agent.retain(Requests.retain(callID: call, .retained)) }
        #expect(retain?.currentState == "CONTACT_STATE_FIRST_LINE_CONSULTATION")

        // Filing a billing claim without escalating.
        let direct = await rpcError { _ = try await agent.file(Requests.file(group: .billing, category: .migration, place: "")) }
        #expect(direct?.code == .failedPrecondition)

        // Filing while the contact is with the second line (retention not reported yet).
        let withSecond = Requests.callID()
        _ = try await ivr.escalate(Requests.escalate(callID: withSecond))
        let tooSoon = await rpcError {
            _ = try await agent.file(Requests.file(callID: withSecond, group: .billing, category: .balanceDesync, place: ""))
        }
        #expect(tooSoon?.currentState == "CONTACT_STATE_WITH_SECOND_LINE")

        // Retain impossible without a reason is INVALID_ARGUMENT, and the state is unchanged.
        let noReason = await rpcError { _ = try await agent.retain(Requests.retain(callID: withSecond, .impossible)) }
        #expect(noReason?.code == .invalidArgument)
        #expect(noReason?.fieldViolations.first?.field == "failure_reason")
        #expect(try await agent.retain(Requests.retain(callID: withSecond, .retained)).state == .retained)
        await ivr.close()
        await agent.close()
        try await server.stop()
    }

    @Test("Shortcuts the policy allows: a quality-of-service claim filed directly, and after an escalate decision to file")
    func shortcuts() async throws {
        let server = try await TestServer.start()
        let ivr = try await server.connect(.ivr)
        let agent = try await server.connect(.agent)
        let direct = try await agent.file(Requests.file(group: .dealer, category: .improperService, place: "DLR-42"))
        #expect(direct.claim?.placeId == "DLR-42")

        let call = Requests.callID()
        let escalated = try await ivr.escalate(Requests.escalate(callID: call, group: .shop, category: .dissatisfaction, place: "SM-9"))
        #expect(escalated.state == .claimRequired)
        let filed = try await agent.file(Requests.file(callID: call, group: .shop, category: .dissatisfaction, place: "SM-9"))
        #expect(filed.claim?.callId == call)
        await ivr.close()
        await agent.close()
        try await server.stop()
    }

    @Test("Following an incident's playbook, a claim may be filed and carries the incident")
    func playbookClaim() async throws {
        let server = try await TestServer.start()
        let admin = try await server.connect(.admin)
        let incident = try await admin.call(
            .declareIncident,
            DeclareIncidentRequest(idempotencyKey: Requests.key(), title: "USSD", regions: ["77"], playbookText: "Сообщить о сбое."),
            as: DeclareIncidentResponse.self
        ).incident!
        let call = Requests.callID()
        #expect(
            try await admin.escalate(Requests.escalate(callID: call, group: .other, category: .selfServiceMalfunction)).state == .followingPlaybook)
        let filed = try await admin.file(Requests.file(callID: call, group: .other, category: .selfServiceMalfunction, place: ""))
        #expect(filed.claim?.incidentId == incident.incidentId)
        await admin.close()
        try await server.stop()
    }

    @Test("A contact session expires after its configured time")
    func expiry() async throws {
        let server = try await TestServer.start(configuration: TestServer.configuration { $0.retention.contactSessionTTLMs = 200 })
        let ivr = try await server.connect(.ivr)
        let agent = try await server.connect(.agent)
        let call = Requests.callID()
        _ = try await ivr.escalate(Requests.escalate(callID: call))
        try await Task.sleep(for: .milliseconds(400))
        let expired = await rpcError { _ = try await agent.retain(Requests.retain(callID: call, .retained)) }
        #expect(expired?.code == .failedPrecondition)
        #expect(expired?.currentState == "CONTACT_STATE_UNSPECIFIED")
        // The call id may start a new contact.
        #expect(try await ivr.escalate(Requests.escalate(callID: call)).state == .withSecondLine)
        await ivr.close()
        await agent.close()
        try await server.stop()
    }
}
