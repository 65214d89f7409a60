import ClaimlineCore
import ClaimlineLoad
import Testing

@Suite struct DataGeneratorTests {
    let profile = SyntheticProfile()

    @Test func contactsAreValidRequests() {
        var data = DataGenerator(profile: profile, seed: 7, stream: 0, runTag: "t")
        var keys = Set<String>()
        var callIds = Set<String>()
        var groups = Set<ClaimGroup>()
        for n in 0..<3000 {
            let plan = data.contact(direct: n % 5 == 0)
            #expect(Taxonomy.isValid(plan.category))
            #expect(Validation.isE164(plan.subscriber.msisdn))
            #expect(plan.placeId.isEmpty != Taxonomy.requiresPlace(plan.category.group))
            if plan.direct { #expect(Taxonomy.requiresPlace(plan.category.group)) }
            groups.insert(plan.category.group)
            let escalate = data.escalateRequest(plan)
            #expect(Validation.escalate(escalate).isEmpty)
            let file = data.fileComplaintRequest(plan)
            #expect(Validation.fileComplaint(file).isEmpty, "\(Validation.fileComplaint(file))")
            #expect(file.description.unicodeScalars.contains { (0x0400...0x04FF).contains($0.value) })
            let retain = data.retainRequest(plan)
            #expect(Validation.retain(retain).isEmpty)
            for key in [escalate.idempotencyKey, file.idempotencyKey, retain.idempotencyKey] {
                #expect(keys.insert(key).inserted)
            }
            #expect(callIds.insert(plan.callId).inserted)
        }
        #expect(groups.count == 5)
    }

    @Test func sameSeedSameData() {
        var a = DataGenerator(profile: profile, seed: 42, stream: 3, runTag: "x")
        var b = DataGenerator(profile: profile, seed: 42, stream: 3, runTag: "x")
        var c = DataGenerator(profile: profile, seed: 43, stream: 3, runTag: "x")
        var differs = false
        for _ in 0..<200 {
            let pa = a.contact(for: .contact)
            #expect(pa == b.contact(for: .contact))
            #expect(a.fileComplaintRequest(pa) == b.fileComplaintRequest(pa))
            if pa != c.contact(for: .contact) { differs = true }
        }
        #expect(differs)
    }

    @Test func distributionsFollowTheFlags() throws {
        var profile = SyntheticProfile()
        profile.tiers = try SyntheticProfile.parseTiers("1:1,2:0,3:0,4:3")
        profile.regions = try SyntheticProfile.parseRegions("77:1")
        profile.categories = try SyntheticProfile.parseCategories("billing/balance_desync:0.5,dealer:0.5")
        profile.directCategories = SyntheticProfile.qualityOfService(from: profile.categories)
        var data = DataGenerator(profile: profile, seed: 1, stream: 0, runTag: "t")
        var tier4 = 0
        for _ in 0..<4000 {
            let plan = data.contact(direct: false)
            #expect([ValueTier.tier1, .tier4].contains(plan.subscriber.valueTier))
            if plan.subscriber.valueTier == .tier4 { tier4 += 1 }
            #expect(plan.subscriber.region == "77")
            #expect(plan.category == CategoryRef(group: .billing, category: .balanceDesync) || plan.category.group == .dealer)
            let direct = data.contact(direct: true)
            #expect(direct.category.group == .dealer)
        }
        #expect(tier4 > 2700 && tier4 < 3300)  // 3/4 of 4000, far outside a fair coin's spread
        #expect(throws: LoadConfigurationError.self) { try SyntheticProfile.parseCategories("billing/rudeness:1") }
        #expect(throws: LoadConfigurationError.self) { try SyntheticProfile.parseCategories("billing/improper_service:1") }
        #expect(throws: LoadConfigurationError.self) { try SyntheticProfile.parseTiers("5:1") }
    }

    @Test func scenarioFileSetsTheKnobs() throws {
        var file = ScenarioFile()
        file.tiers = ["2": 1]
        file.categories = ["other": 1]
        file.retainImpossible = 1
        file.retainDeclined = 0
        let profile = try file.apply(to: SyntheticProfile())
        var data = DataGenerator(profile: profile, seed: 9, stream: 0, runTag: "t")
        let plan = data.contact(direct: false)
        #expect(plan.subscriber.valueTier == .tier2)
        #expect(plan.category.group == .other)
        #expect(plan.retainOutcome == .impossible && plan.failureReason != .unspecified)
        file.retainDeclined = 0.5
        #expect(throws: LoadConfigurationError.self) { try file.apply(to: SyntheticProfile()) }
    }

    @Test func contactFlowFollowsThePolicy() {
        var data = DataGenerator(profile: profile, seed: 2, stream: 0, runTag: "t")
        var plan = data.contact(direct: false)
        #expect(ContactFlow.first(plan) == .escalate)
        #expect(ContactFlow.next(after: .escalate, decision: .transferToSecondLine, plan: plan) == .retain)
        #expect(ContactFlow.next(after: .escalate, decision: .fileClaim, plan: plan) == .fileComplaint)
        #expect(ContactFlow.next(after: .escalate, decision: .firstLineConsultation, plan: plan) == nil)
        plan.retainOutcome = .impossible
        #expect(ContactFlow.next(after: .retain, decision: .unspecified, plan: plan) == .fileComplaint)
        plan.retainOutcome = .declined
        #expect(ContactFlow.next(after: .retain, decision: .unspecified, plan: plan) == nil)
        #expect(ContactFlow.next(after: .fileComplaint, decision: .unspecified, plan: plan) == nil)
        #expect(ContactFlow.first(data.contact(direct: true)) == .fileComplaint)
    }

    /// Escalate decided FILE_CLAIM: no retention happened, so the claim must not carry the
    /// plan's failure reason (the server refuses it: INVALID_ARGUMENT on failure_reason).
    @Test func aClaimFiledStraightAfterEscalateCarriesNoFailureReason() {
        var data = DataGenerator(profile: profile, seed: 2, stream: 0, runTag: "t")
        var plan = data.contact(direct: false)
        plan.retainOutcome = .impossible
        plan.failureReason = .longReview
        let straight = ContactFlow.plan(after: .escalate, decision: .fileClaim, plan: plan)
        #expect(data.fileComplaintRequest(straight).failureReason == .unspecified)
        let afterRetain = ContactFlow.plan(after: .retain, decision: .unspecified, plan: plan)
        #expect(data.fileComplaintRequest(afterRetain).failureReason == .longReview)
        #expect(ContactFlow.plan(after: .escalate, decision: .transferToSecondLine, plan: plan) == plan)
    }
}
