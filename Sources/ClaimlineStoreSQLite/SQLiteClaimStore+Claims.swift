import ClaimlineCore
import ClaimlineStore

extension SQLiteClaimStore {
    /// Fails with SQLITE_CONSTRAINT_PRIMARYKEY (1555) when the number exists.
    public func insertClaim(_ claim: Claim) throws(StoreError) {
        let statement = try self.statements("insertClaim").insertClaim
        defer { statement.reset() }
        statement.bindClaim(claim)
        // The numbers inside the claim number, for lastClaimSequence; NULL when malformed.
        if let parsed = StoreNumbering.claimNumber(claim.claimNumber) {
            statement.bind(19, parsed.year)
            statement.bind(20, parsed.sequence)
        } else {
            statement.bindNull(19)
            statement.bindNull(20)
        }
        try statement.run()
    }

    /// Replaces every field of the claim with the same number; fails when there is none (the
    /// service reads a claim before it updates it, so a miss is a bug, not a retry).
    public func updateClaim(_ claim: Claim) throws(StoreError) {
        let statement = try self.statements("updateClaim").updateClaim
        defer { statement.reset() }
        statement.bindClaim(claim)
        try statement.run()
        guard statement.changes > 0 else { throw StoreError("updateClaim", "no claim \(claim.claimNumber)") }
    }

    public func claim(number: String) throws(StoreError) -> Claim? {
        try self.statements("claim").reads.claim(number: number)
    }

    /// One probe of `claims_by_sequence`.
    public func lastClaimSequence(year: Int) throws(StoreError) -> Int {
        let statement = try self.statements("lastClaimSequence").lastClaimSequence
        defer { statement.reset() }
        statement.bind(1, year)
        return try statement.step() ? statement.int(0) : 0
    }
}
