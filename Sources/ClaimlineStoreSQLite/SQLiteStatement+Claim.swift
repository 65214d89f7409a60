import ClaimlineCore

/// The claim columns in the one order every claim statement uses: SELECTs list
/// ``claimColumns`` first (result columns 0...17) and writes bind them as ?1...?18.
let claimColumns = """
    claim_number, call_id, category_group, category, msisdn, account_id, value_tier, region, \
    place_id, description, failure_reason, incident_id, agent_id, department, status, \
    created_at_ms, due_at_ms, updated_at_ms
    """

extension SQLiteStatement {
    /// Binds ?1...?18 in ``claimColumns`` order.
    func bindClaim(_ claim: Claim) {
        self.bind(1, claim.claimNumber)
        self.bind(2, claim.callId)
        self.bind(3, claim.category?.group.rawValue)
        self.bind(4, claim.category?.category.rawValue)
        self.bind(5, claim.subscriber?.msisdn)
        self.bind(6, claim.subscriber?.accountId)
        self.bind(7, claim.subscriber?.valueTier.rawValue)
        self.bind(8, claim.subscriber?.region)
        self.bind(9, claim.placeId)
        self.bind(10, claim.description)
        self.bind(11, claim.failureReason.rawValue)
        self.bind(12, claim.incidentId)
        self.bind(13, claim.agentId)
        self.bind(14, claim.department)
        self.bind(15, claim.status.rawValue)
        self.bind(16, claim.createdAtMs)
        self.bind(17, claim.dueAtMs)
        self.bind(18, claim.updatedAtMs)
    }

    /// Reads result columns 0...17 in ``claimColumns`` order.
    func readClaim() -> Claim {
        Claim(
            claimNumber: self.text(0),
            callId: self.text(1),
            category: self.isNull(2)
                ? nil
                : CategoryRef(group: ClaimGroup(rawValue: self.int32(2)), category: Category(rawValue: self.int32(3))),
            subscriber: self.isNull(4)
                ? nil
                : Subscriber(
                    msisdn: self.text(4), accountId: self.text(5), valueTier: ValueTier(rawValue: self.int32(6)),
                    region: self.text(7)),
            placeId: self.text(8),
            description: self.text(9),
            failureReason: RetentionFailureReason(rawValue: self.int32(10)),
            incidentId: self.text(11),
            agentId: self.text(12),
            department: self.text(13),
            status: ClaimStatus(rawValue: self.int32(14)),
            createdAtMs: self.int64(15),
            dueAtMs: self.int64(16),
            updatedAtMs: self.int64(17)
        )
    }
}
