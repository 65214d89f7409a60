import ClaimlineCore
import ClaimlinePolicy
import Testing

@Suite("Which active incident applies to a contact")
struct IncidentMatchingTests {
    @Test func byRegion() {
        let moscow = incident("INC-1", regions: ["77", "50"])
        #expect(facts(.billing, .migration, region: "50", incidents: [moscow]).matchingIncident == moscow)
        #expect(facts(.billing, .migration, region: "78", incidents: [moscow]).matchingIncident == nil)
        #expect(facts(.billing, .migration, region: "", incidents: [moscow]).matchingIncident == nil)
    }

    @Test func byCategory() {
        let desync = incident("INC-2", categories: [CategoryRef(group: .billing, category: .balanceDesync)])
        #expect(facts(.billing, .balanceDesync, incidents: [desync]).matchingIncident == desync)
        #expect(facts(.billing, .migration, incidents: [desync]).matchingIncident == nil)
        #expect(facts(.shop, .incompetence, incidents: [desync]).matchingIncident == nil)
    }

    @Test func byWholeGroup() {
        let billing = incident("INC-3", categories: [CategoryRef(group: .billing)])
        for ref in Taxonomy.allPairs {
            let matched = facts(ref, incidents: [billing]).matchingIncident
            #expect((matched == billing) == (ref.group == .billing), "\(Taxonomy.key(ref))")
        }
    }

    @Test func byRegionAndCategoryTogether() {
        let both = incident("INC-4", regions: ["77"], categories: [CategoryRef(group: .other, category: .selfServiceMalfunction)])
        #expect(facts(.other, .selfServiceMalfunction, region: "77", incidents: [both]).matchingIncident == both)
        #expect(facts(.other, .selfServiceMalfunction, region: "78", incidents: [both]).matchingIncident == nil)
        #expect(facts(.other, .tariffChangeDissatisfaction, region: "77", incidents: [both]).matchingIncident == nil)
        #expect(facts(.other, .tariffChangeDissatisfaction, region: "78", incidents: [both]).matchingIncident == nil)
    }

    @Test func nationwideAllTopicsIncidentMatchesEverything() {
        let everything = incident("INC-5")
        for ref in Taxonomy.allPairs {
            #expect(facts(ref, region: "01", incidents: [everything]).matchingIncident == everything)
        }
    }

    @Test func withdrawnIncidentIsIgnoredEvenWhenNewer() {
        let withdrawn = incident("INC-NEW", declaredAtMs: 9_000, active: false)
        let active = incident("INC-OLD", declaredAtMs: 1_000)
        #expect(facts(.billing, .migration, incidents: [withdrawn]).matchingIncident == nil)
        #expect(facts(.billing, .migration, incidents: [withdrawn, active]).matchingIncident == active)
        let outcome = Policy.default.escalate(facts(.billing, .migration, incidents: [withdrawn]))
        #expect(outcome.decision == .transferToSecondLine)
    }

    @Test func severalMatchingPicksMostRecentThenLowestId() {
        let older = incident("INC-A", declaredAtMs: 1_000)
        let newerB = incident("INC-B", declaredAtMs: 5_000)
        let newerC = incident("INC-C", declaredAtMs: 5_000)
        let nonMatchingNewest = incident("INC-Z", regions: ["99"], declaredAtMs: 9_000)
        let all = [older, newerC, nonMatchingNewest, newerB]
        for order in [all, all.reversed(), [newerB, older, newerC, nonMatchingNewest]] {
            #expect(facts(.billing, .migration, incidents: order).matchingIncident == newerB)
            #expect(Policy.default.escalate(facts(.billing, .migration, incidents: order)).incident == newerB)
        }
    }
}
