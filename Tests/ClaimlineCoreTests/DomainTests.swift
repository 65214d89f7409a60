import ClaimlineCore
import Testing

@Suite("Domain rules")
struct DomainTests {
    @Test("The taxonomy has 18 categories in 5 groups, and only those pairs are valid")
    func taxonomy() {
        #expect(Taxonomy.allPairs.count == 18)
        #expect(Set(Taxonomy.allPairs.map(\.group)).count == 5)
        var valid = 0
        for group in ClaimGroup.allCases {
            for category in Category.allCases where Taxonomy.isValid(CategoryRef(group: group, category: category)) {
                valid += 1
            }
        }
        #expect(valid == 18)
        #expect(!Taxonomy.isValid(CategoryRef(group: .billing, category: .improperService)))
        #expect(Taxonomy.ref(key: "billing/balance_desync") == CategoryRef(group: .billing, category: .balanceDesync))
        #expect(Taxonomy.ref(key: "shop") == CategoryRef(group: .shop, category: .unspecified))
        #expect(Taxonomy.ref(key: "billing/nope") == nil)
        for pair in Taxonomy.allPairs { #expect(Taxonomy.ref(key: Taxonomy.key(pair)) == pair) }
    }

    @Test(
        "E.164 numbers",
        arguments: [
            ("+79161234567", true), ("+12025550123", true), ("+4930123456", true), ("79161234567", false), ("+0916123456", false),
            ("+7916", false), ("+7916123456789012", false), ("+7916-123-45", false), ("", false), ("+７９１６１２３４５６７", false),
        ])
    func e164(msisdn: String, valid: Bool) {
        #expect(Validation.isE164(msisdn) == valid)
    }

    @Test("Redaction keeps the country code and the last two digits only")
    func redaction() {
        #expect(Validation.redactedMSISDN("+79161234567") == "+7********67")
        #expect(!Validation.redactedMSISDN("+79161234567").contains("916123"))
        #expect(Validation.redactedMSISDN("+79") == "***")
    }

    @Test("TMF621: every status's moves, and final states")
    func claimStatus() throws {
        try ClaimStatus.acknowledged.checkTransition(to: .inProgress)
        try ClaimStatus.resolved.checkTransition(to: .inProgress)
        #expect(throws: RPCError.self) { try ClaimStatus.acknowledged.checkTransition(to: .closed) }
        #expect(throws: RPCError.self) { try ClaimStatus.inProgress.checkTransition(to: .unspecified) }
        for final in [ClaimStatus.closed, .rejected, .cancelled] {
            #expect(final.isFinal)
            for next in ClaimStatus.allCases { #expect(throws: RPCError.self) { try final.checkTransition(to: next) } }
        }
        // Every non-final status can eventually reach closed or cancelled.
        for status in ClaimStatus.allCases where status != .unspecified && !status.isFinal {
            #expect(status.allowedNext.contains(.cancelled) || status.allowedNext.contains(.closed))
        }
    }

    @Test("Contact transitions: retain only with the second line; file only when a claim is required")
    func contactTransitions() throws {
        let session = { (state: ContactState) in ContactSession(callID: "c", state: state, createdAtMs: 0, updatedAtMs: 0, expiresAtMs: 1) }
        #expect(try session(.withSecondLine).afterRetain(.retained, reason: .unspecified) == .retained)
        #expect(try session(.withSecondLine).afterRetain(.declined, reason: .unspecified) == .declined)
        for reason in [RetentionFailureReason.laboriousRecalculation, .longReview, .causeUnknown, .exceedsAuthority] {
            #expect(try session(.withSecondLine).afterRetain(.impossible, reason: reason) == .claimRequired)
        }
        for state in [ContactState.firstLineConsultation, .claimRequired, .retained, .claimFiled, .followingPlaybook] {
            #expect(throws: RPCError.self) { try session(state).afterRetain(.retained, reason: .unspecified) }
        }
        try ContactSession.checkFile(existing: session(.claimRequired), category: CategoryRef(group: .billing, category: .migration))
        try ContactSession.checkFile(existing: nil, category: CategoryRef(group: .dealer, category: .incompetence))
        #expect(throws: RPCError.self) { try ContactSession.checkFile(existing: nil, category: CategoryRef(group: .billing, category: .migration)) }
        #expect(throws: RPCError.self) { try ContactSession.checkEscalate(existing: session(.retained)) }
        try ContactSession.checkEscalate(existing: nil)
    }

    @Test("Validation reports every bad field of a request at once, with paths")
    func validation() {
        let request = EscalateRequest(
            idempotencyKey: "", callId: String(repeating: "x", count: 200),
            subscriber: Subscriber(msisdn: "123", valueTier: .unrecognized(9)),
            category: CategoryRef(group: .other, category: .migration)
        )
        #expect(
            Validation.escalate(request).map(\.field) == [
                "idempotency_key", "call_id", "subscriber.msisdn", "subscriber.value_tier", "category.category",
            ])
        let incident = DeclareIncidentRequest(idempotencyKey: "k", title: "t")
        #expect(Set(Validation.declareIncident(incident).map(\.field)) == ["regions", "playbook_text"])
        var control = FileComplaintRequest(idempotencyKey: "k", callId: "c", category: CategoryRef(group: .other, category: .migration))
        control.description = "a\u{7}b"
        #expect(Validation.fileComplaint(control).contains { $0.field == "description" && $0.description.contains("control") })
    }
}
