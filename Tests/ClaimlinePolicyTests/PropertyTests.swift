import ClaimlineCore
import ClaimlinePolicy
import Testing

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, and the same on every platform,
/// so a failing seed can be replayed.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    mutating func pick<T>(_ choices: [T]) -> T {
        choices[below(choices.count)]
    }

    mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }
}

/// Random facts, including the odd values a wire client can send (unspecified, unrecognized).
private func randomFacts(_ rng: inout SplitMix64) -> EscalationFacts {
    let regions = ["77", "78", "50", ""]
    let oddRefs = [CategoryRef(), CategoryRef(group: .billing), CategoryRef(group: .unrecognized(9), category: .unrecognized(40))]
    let patterns = Taxonomy.allPairs + [ClaimGroup.shop, .contactCentre, .dealer, .billing, .other].map { CategoryRef(group: $0) }
    var incidents: [Incident] = []
    for index in 0..<rng.below(4) {
        incidents.append(
            Incident(
                incidentId: "INC-\(rng.below(5))-\(index)",
                regions: rng.chance(50) ? [] : [rng.pick(regions)],
                categories: rng.chance(40) ? [] : [rng.pick(patterns)],
                active: rng.chance(70),
                declaredAtMs: Int64(rng.below(4))
            )
        )
    }
    return EscalationFacts(
        subscriber: Subscriber(
            msisdn: "+7916\(rng.below(10_000_000))", valueTier: rng.pick(allTiers + [.unrecognized(7)]), region: rng.pick(regions)),
        category: rng.chance(90) ? rng.pick(Taxonomy.allPairs) : rng.pick(oddRefs),
        activeIncidents: incidents,
        secondLineMode: rng.pick(allModes + [.unrecognized(5)])
    )
}

/// DOMAIN.md's "default policy" written out directly, as an independent oracle for the file.
private func domainDefault(_ facts: EscalationFacts) -> (EscalateDecision, String) {
    let incidentApplies = facts.activeIncidents.contains { incident in
        incident.active && (incident.regions.isEmpty || incident.regions.contains(facts.subscriber.region))
            && (incident.categories.isEmpty
                || incident.categories.contains { ref in
                    ref.group == facts.category.group && (ref.category == .unspecified || ref.category == facts.category.category)
                })
    }
    if incidentApplies { return (.followIncidentPlaybook, "mass_incident") }
    if qualityGroups.contains(facts.category.group) { return (.fileClaim, "quality_of_service") }
    if facts.subscriber.valueTier == .tier3 || facts.subscriber.valueTier == .tier4 {
        return (.firstLineConsultation, "value_tier_consultation")
    }
    if facts.secondLineMode == .normal { return (.transferToSecondLine, "second_line_normal") }
    return (.fileClaim, "second_line_unavailable")
}

@Suite("Properties over random facts")
struct PropertyTests {
    @Test(arguments: [UInt64(1), 0x5EED, 0xC1A1_4711_2026])
    func escalateIsTotalDeterministicAndFollowsDomain(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let policy = Policy.default
        let ruleNames = Set(policy.rules.map(\.name))
        for _ in 0..<2_000 {
            let facts = randomFacts(&rng)
            let outcome = policy.escalate(facts)
            #expect(outcome.decision != .unspecified, "\(facts)")
            #expect(EscalateDecision.allCases.contains(outcome.decision), "\(facts)")
            #expect(ruleNames.contains(outcome.rule), "\(facts)")
            let expected = domainDefault(facts)
            #expect(outcome.decision == expected.0 && outcome.rule == expected.1, "\(facts)")
            if outcome.decision == .followIncidentPlaybook {
                #expect(outcome.incident?.active == true, "\(facts)")
                #expect(outcome.incident.map { facts.activeIncidents.contains($0) } == true, "\(facts)")
            } else {
                #expect(outcome.incident == nil, "\(facts)")
            }
            var shuffled = facts
            shuffled.activeIncidents.reverse()
            #expect(policy.escalate(shuffled) == outcome, "the listing order of incidents must not matter: \(facts)")
        }
    }

    @Test func routingIsTotalWithPositiveDueTime() {
        var rng = SplitMix64(seed: 0xD0E)
        for _ in 0..<500 {
            let ref = CategoryRef(group: ClaimGroup(rawValue: Int32(rng.below(8))), category: Category(rawValue: Int32(rng.below(15))))
            let routing = Policy.default.routing(for: ref)
            #expect(routing.dueAfterMs > 0 && !routing.department.isEmpty, "\(ref)")
        }
    }
}
