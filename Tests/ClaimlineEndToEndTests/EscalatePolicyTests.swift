import ClaimlineClient
import ClaimlineCore
import Testing

/// Every rule of the default policy, end to end: the decision, the rule name, the state.
@Suite("Escalate: the default policy over TCP", .serialized)
struct EscalatePolicyTests {
    @Test("Quality-of-service categories file a claim, for any value tier")
    func qualityOfService() async throws {
        let server = try await TestServer.start()
        let ivr = try await server.connect(.ivr)
        for group in [ClaimGroup.shop, .contactCentre, .dealer] {
            for tier in [ValueTier.tier1, .tier2, .tier3, .tier4] {
                let answer = try await ivr.escalate(Requests.escalate(group: group, category: .incompetence, tier: tier))
                #expect(answer.decision == .fileClaim)
                #expect(answer.rule == "quality_of_service")
                #expect(answer.state == .claimRequired)
            }
        }
        await ivr.close()
        try await server.stop()
    }

    @Test("Value tiers 3 and 4 get a first-line consultation; 1 and 2 go to the second line")
    func valueTiers() async throws {
        let server = try await TestServer.start()
        let ivr = try await server.connect(.ivr)
        for tier in [ValueTier.tier3, .tier4] {
            let answer = try await ivr.escalate(Requests.escalate(tier: tier))
            #expect(answer.decision == .firstLineConsultation)
            #expect(answer.rule == "value_tier_consultation")
            #expect(answer.state == .firstLineConsultation)
        }
        for tier in [ValueTier.tier1, .tier2] {
            let answer = try await ivr.escalate(Requests.escalate(tier: tier))
            #expect(answer.decision == .transferToSecondLine)
            #expect(answer.rule == "second_line_normal")
            #expect(answer.state == .withSecondLine)
        }
        await ivr.close()
        try await server.stop()
    }

    @Test("With the second line degraded or closed, a claim is filed instead")
    func secondLineModes() async throws {
        let server = try await TestServer.start()
        let ivr = try await server.connect(.ivr)
        let supervisor = try await server.connect(.supervisor)
        for mode in [SecondLineMode.degraded, .closed] {
            let set = try await supervisor.call(
                .setSecondLineMode, SetSecondLineModeRequest(idempotencyKey: Requests.key(), mode: mode, reason: "обучение"),
                as: SecondLineModeResponse.self
            )
            #expect(set.mode == mode)
            #expect(set.changedBy == "test-supervisor")
            let answer = try await ivr.escalate(Requests.escalate(tier: .tier1))
            #expect(answer.decision == .fileClaim)
            #expect(answer.rule == "second_line_unavailable")
        }
        _ = try await supervisor.call(
            .setSecondLineMode, SetSecondLineModeRequest(idempotencyKey: Requests.key(), mode: .normal), as: SecondLineModeResponse.self
        )
        #expect(try await ivr.escalate(Requests.escalate(tier: .tier1)).decision == .transferToSecondLine)
        let mode = try await ivr.call(.getSecondLineMode, GetSecondLineModeRequest(), as: SecondLineModeResponse.self)
        #expect(mode.mode == .normal)
        await ivr.close()
        await supervisor.close()
        try await server.stop()
    }

    @Test("An active mass incident overrides every other rule for what it matches, until withdrawn")
    func massIncident() async throws {
        let server = try await TestServer.start()
        let ivr = try await server.connect(.ivr)
        let supervisor = try await server.connect(.supervisor)
        let declared = try await supervisor.call(
            .declareIncident,
            DeclareIncidentRequest(
                idempotencyKey: Requests.key(), title: "Сбой АСР", regions: ["77"],
                categories: [CategoryRef(group: .billing, category: .unspecified), CategoryRef(group: .shop, category: .incompetence)],
                playbookUrl: "https://portal.example/7"
            ),
            as: DeclareIncidentResponse.self
        ).incident
        let incident = try #require(declared)
        #expect(incident.active)
        #expect(incident.incidentId.hasPrefix("INC-"))

        let matched = try await ivr.escalate(Requests.escalate(group: .billing, category: .migration, tier: .tier4, region: "77"))
        #expect(matched.decision == .followIncidentPlaybook)
        #expect(matched.rule == "mass_incident")
        #expect(matched.incident?.incidentId == incident.incidentId)
        #expect(matched.state == .followingPlaybook)
        // Overrides quality of service too, for a category the incident names.
        let shop = try await ivr.escalate(Requests.escalate(group: .shop, category: .incompetence, region: "77", place: "SM-1"))
        #expect(shop.decision == .followIncidentPlaybook)
        // Another region, or a category it does not name: the usual rules.
        #expect(try await ivr.escalate(Requests.escalate(group: .billing, category: .migration, region: "50")).decision == .transferToSecondLine)
        #expect(
            try await ivr.escalate(Requests.escalate(group: .other, category: .selfServiceMalfunction, region: "77")).decision
                == .transferToSecondLine)

        let listed = try await ivr.call(.listIncidents, ListIncidentsRequest(), as: ListIncidentsResponse.self).incidents
        #expect(listed.map(\.incidentId) == [incident.incidentId])

        let withdrawn = try await supervisor.call(
            .withdrawIncident, WithdrawIncidentRequest(idempotencyKey: Requests.key(), incidentId: incident.incidentId),
            as: WithdrawIncidentResponse.self
        ).incident
        #expect(withdrawn?.active == false)
        #expect((withdrawn?.withdrawnAtMs ?? 0) > 0)
        #expect(try await ivr.escalate(Requests.escalate(group: .billing, category: .migration, region: "77")).decision == .transferToSecondLine)
        #expect(try await ivr.call(.listIncidents, ListIncidentsRequest(), as: ListIncidentsResponse.self).incidents.isEmpty)
        #expect(try await ivr.call(.listIncidents, ListIncidentsRequest(includeWithdrawn: true), as: ListIncidentsResponse.self).incidents.count == 1)

        let again = await rpcError {
            _ = try await supervisor.call(
                .withdrawIncident, WithdrawIncidentRequest(idempotencyKey: Requests.key(), incidentId: incident.incidentId),
                as: WithdrawIncidentResponse.self
            )
        }
        #expect(again?.code == .failedPrecondition)
        let unknown = await rpcError {
            _ = try await supervisor.call(
                .withdrawIncident, WithdrawIncidentRequest(idempotencyKey: Requests.key(), incidentId: "INC-999999"),
                as: WithdrawIncidentResponse.self
            )
        }
        #expect(unknown?.code == .notFound)
        await ivr.close()
        await supervisor.close()
        try await server.stop()
    }
}
