import ClaimlineCore
import ClaimlinePolicy
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

@Suite("The default policy (DOMAIN.md)")
struct DefaultPolicyTests {
    let policy = Policy.default

    @Test func builtInDefaultEqualsConfigFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let bytes = try Data(contentsOf: root.appendingPathComponent("config/policy.json"))
        let fromFile = try Policy.parse(Array(bytes))
        // Compared piece by piece first so that a drift names the rule or category that differs.
        #expect(fromFile.rules == Policy.default.rules)
        for ref in Taxonomy.allPairs {
            #expect(fromFile.routing(for: ref) == Policy.default.routing(for: ref), "\(Taxonomy.key(ref))")
        }
        #expect(fromFile == Policy.default)
        #expect(fromFile.name == "default")
        #expect(
            fromFile.rules.map(\.name) == [
                "mass_incident", "quality_of_service", "value_tier_consultation", "second_line_normal", "second_line_unavailable",
            ])
    }

    @Test func massIncidentOverridesQualityOfServiceAndTier() {
        let outage = incident("INC-1")
        for ref in Taxonomy.allPairs {
            for tier in allTiers {
                for mode in allModes {
                    let outcome = policy.escalate(facts(ref, tier: tier, mode: mode, incidents: [outage]))
                    #expect(outcome == EscalationOutcome(decision: .followIncidentPlaybook, rule: "mass_incident", incident: outage))
                }
            }
        }
    }

    @Test(arguments: qualityGroups)
    func qualityOfServiceFilesClaimForEveryTier(group: ClaimGroup) {
        for category in Taxonomy.categories[group]! {
            for tier in allTiers {
                for mode in allModes {
                    let outcome = policy.escalate(facts(group, category, tier: tier, mode: mode))
                    #expect(outcome == EscalationOutcome(decision: .fileClaim, rule: "quality_of_service"))
                }
            }
        }
    }

    @Test(arguments: [ValueTier.tier3, .tier4])
    func highTiersGetFirstLineConsultationForBillingAndOther(tier: ValueTier) {
        for ref in Taxonomy.allPairs where ref.group == .billing || ref.group == .other {
            for mode in allModes {
                let outcome = policy.escalate(facts(ref, tier: tier, mode: mode))
                #expect(outcome == EscalationOutcome(decision: .firstLineConsultation, rule: "value_tier_consultation"))
            }
        }
    }

    @Test(arguments: [ValueTier.unspecified, .tier1, .tier2])
    func otherTiersTransferWhenSecondLineIsNormal(tier: ValueTier) {
        for ref in Taxonomy.allPairs where ref.group == .billing || ref.group == .other {
            let outcome = policy.escalate(facts(ref, tier: tier, mode: .normal))
            #expect(outcome == EscalationOutcome(decision: .transferToSecondLine, rule: "second_line_normal"))
        }
    }

    @Test(arguments: [SecondLineMode.degraded, .closed, .unspecified, .unrecognized(9)])
    func secondLineUnavailableFilesClaim(mode: SecondLineMode) {
        for ref in Taxonomy.allPairs where ref.group == .billing || ref.group == .other {
            for tier in [ValueTier.unspecified, .tier1, .tier2] {
                let outcome = policy.escalate(facts(ref, tier: tier, mode: mode))
                #expect(outcome == EscalationOutcome(decision: .fileClaim, rule: "second_line_unavailable"))
            }
        }
    }

    @Test func incidentsThatDoNotApplyLeaveTheNormalPath() {
        let elsewhere = incident("INC-SPB", regions: ["78"])
        let withdrawn = incident("INC-OLD", active: false)
        let otherTopic = incident("INC-SHOP", categories: [CategoryRef(group: .shop)])
        let outcome = policy.escalate(
            facts(.billing, .balanceDesync, tier: .tier1, mode: .normal, region: "77", incidents: [elsewhere, withdrawn, otherTopic])
        )
        #expect(outcome == EscalationOutcome(decision: .transferToSecondLine, rule: "second_line_normal", incident: nil))
    }

    @Test func routesAllEighteenPairsWithPositiveDueTime() {
        #expect(Taxonomy.allPairs.count == 18)
        for ref in Taxonomy.allPairs {
            let routing = policy.routing(for: ref)
            #expect(routing.dueAfterMs > 0, "\(Taxonomy.key(ref))")
            #expect(!routing.department.isEmpty, "\(Taxonomy.key(ref))")
            #expect(routing != policy.routingTable.fallback, "\(Taxonomy.key(ref)) should have a group or category entry")
        }
    }

    @Test func routesByCategoryThenGroup() {
        let hour: Int64 = 3_600_000
        #expect(
            policy.routing(for: CategoryRef(group: .billing, category: .balanceDesync))
                == ClaimRouting(department: "Отдел биллинга (АСР)", dueAfterMs: 48 * hour))
        #expect(
            policy.routing(for: CategoryRef(group: .billing, category: .migration))
                == ClaimRouting(department: "Отдел биллинга (АСР)", dueAfterMs: 72 * hour))
        #expect(
            policy.routing(for: CategoryRef(group: .contactCentre, category: .improperService)).department
                == "Отдел качества обслуживания (МРКЦ)")
        #expect(policy.routing(for: CategoryRef(group: .unspecified)) == policy.routingTable.fallback)
    }
}
