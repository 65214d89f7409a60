import ClaimlineCore
import ClaimlinePolicy
import Testing

@Suite("Rules and routing of operator-written policies")
struct CustomPolicyTests {
    @Test func firstMatchingRuleWins() throws {
        let policy = try parse(
            document(
                rules: """
                    {"rule": "moscow_first", "when": {"regions": ["77"]}, "decision": "TRANSFER_TO_SECOND_LINE"},
                    {"rule": "billing_consult", "when": {"groups": ["billing"]}, "decision": "FIRST_LINE_CONSULTATION"},
                    {"rule": "billing_again", "when": {"groups": ["billing"]}, "decision": "FILE_CLAIM"}
                    """))
        #expect(policy.escalate(facts(.billing, .migration, region: "77")).rule == "moscow_first")
        #expect(
            policy.escalate(facts(.billing, .migration, region: "78"))
                == EscalationOutcome(decision: .firstLineConsultation, rule: "billing_consult"))
        #expect(
            policy.escalate(facts(.shop, .incompetence, region: "78"))
                == EscalationOutcome(decision: .fileClaim, rule: "fallback"))
    }

    @Test func allTestsOfOneRuleMustHold() throws {
        let policy = try parse(
            document(
                rules: """
                    {"rule": "narrow", "when": {"categories": ["billing/migration"], "value_tiers": [1], "second_line_modes": ["DEGRADED", "CLOSED"], "regions": ["77"]}, "decision": "TRANSFER_TO_SECOND_LINE"}
                    """))
        #expect(policy.escalate(facts(.billing, .migration, tier: .tier1, mode: .closed, region: "77")).rule == "narrow")
        #expect(policy.escalate(facts(.billing, .migration, tier: .tier1, mode: .degraded, region: "77")).rule == "narrow")
        #expect(policy.escalate(facts(.billing, .balanceDesync, tier: .tier1, mode: .closed, region: "77")).rule == "fallback")
        #expect(policy.escalate(facts(.billing, .migration, tier: .tier2, mode: .closed, region: "77")).rule == "fallback")
        #expect(policy.escalate(facts(.billing, .migration, tier: .tier1, mode: .normal, region: "77")).rule == "fallback")
        #expect(policy.escalate(facts(.billing, .migration, tier: .tier1, mode: .closed, region: "78")).rule == "fallback")
    }

    @Test func bareGroupInCategoriesCoversTheGroup() throws {
        let policy = try parse(
            document(
                rules: """
                    {"rule": "other_any", "when": {"categories": ["other", "shop/dissatisfaction"]}, "decision": "FIRST_LINE_CONSULTATION"}
                    """))
        #expect(policy.escalate(facts(.other, .tariffChangeDissatisfaction)).rule == "other_any")
        #expect(policy.escalate(facts(.other, .selfServiceMalfunction)).rule == "other_any")
        #expect(policy.escalate(facts(.shop, .dissatisfaction)).rule == "other_any")
        #expect(policy.escalate(facts(.shop, .incompetence)).rule == "fallback")
    }

    @Test func incidentConditionAttachesTheIncidentOnlyWhenRequired() throws {
        let policy = try parse(
            document(
                rules: """
                    {"rule": "claim_during_outage", "when": {"incident": true, "groups": ["billing"]}, "decision": "FILE_CLAIM"},
                    {"rule": "calm", "when": {"incident": false}, "decision": "TRANSFER_TO_SECOND_LINE"}
                    """))
        let outage = incident("INC-1")
        #expect(
            policy.escalate(facts(.billing, .migration, incidents: [outage]))
                == EscalationOutcome(decision: .fileClaim, rule: "claim_during_outage", incident: outage))
        #expect(
            policy.escalate(facts(.shop, .incompetence, incidents: [outage]))
                == EscalationOutcome(decision: .fileClaim, rule: "fallback", incident: nil))
        #expect(
            policy.escalate(facts(.shop, .incompetence))
                == EscalationOutcome(decision: .transferToSecondLine, rule: "calm", incident: nil))
    }

    @Test func routingPrefersCategoryThenGroupThenDefault() throws {
        let policy = try parse(
            document(
                routing: """
                    {
                      "default": {"department": "Общий отдел", "due_hours": 168},
                      "groups": {"billing": {"department": "Отдел биллинга (АСР)", "due_hours": 72}},
                      "categories": {"billing/balance_desync": {"department": "Группа сверки баланса", "due_minutes": 90}}
                    }
                    """))
        #expect(
            policy.routing(for: CategoryRef(group: .billing, category: .balanceDesync))
                == ClaimRouting(department: "Группа сверки баланса", dueAfterMs: 90 * 60_000))
        #expect(
            policy.routing(for: CategoryRef(group: .billing, category: .migration))
                == ClaimRouting(department: "Отдел биллинга (АСР)", dueAfterMs: 72 * 3_600_000))
        #expect(
            policy.routing(for: CategoryRef(group: .shop, category: .incompetence))
                == ClaimRouting(department: "Общий отдел", dueAfterMs: 168 * 3_600_000))
        #expect(
            policy.routing(for: CategoryRef(group: .unrecognized(42), category: .unrecognized(7)))
                == ClaimRouting(department: "Общий отдел", dueAfterMs: 168 * 3_600_000))
    }

    @Test func readsEscapesByteOrderMarkAndUTF8() throws {
        let json = document(routing: #"{"default": {"department": "\u041e\u0442\u0434\u0435\u043b \ud83d\udcde \"А\"\/Б", "due_hours": 1}}"#)
        let policy = try Policy.parse([0xEF, 0xBB, 0xBF] + Array(json.utf8))
        #expect(policy.routingTable.fallback.department == "Отдел 📞 \"А\"/Б")
    }

    @Test func parsingIsDeterministicAndPolicyIsAValue() throws {
        let a = try parse(document(rules: #"{"rule": "r", "when": {"groups": ["dealer", "shop"]}, "decision": "FILE_CLAIM"}"#))
        let b = try parse(document(rules: #"{"rule": "r", "when": {"groups": ["dealer", "shop"]}, "decision": "FILE_CLAIM"}"#))
        let c = try parse(document(rules: #"{"rule": "r", "when": {"groups": ["dealer"]}, "decision": "FILE_CLAIM"}"#))
        #expect(a == b)
        #expect(a != c)
        #expect(a.rules.map(\.name) == ["r", "fallback"])
        #expect(a.rules.last?.condition.isCatchAll == true)
    }
}
