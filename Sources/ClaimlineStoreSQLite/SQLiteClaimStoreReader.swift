import ClaimlineCore
import ClaimlineStore

/// A SQLite reader: its own connection, used by one thread at a time.
///
/// In WAL mode a reader never blocks the writer nor waits for it, and sees only committed
/// batches. Each call is one statement (one implicit snapshot), except ``stats(fromMs:toMs:)``,
/// which reads claims and audit in one explicit read transaction so the numbers agree. Every
/// statement is reset before the call returns, so no snapshot stays pinned (it would keep the
/// WAL from being checkpointed).
///
/// Not `Sendable`.
public final class SQLiteClaimStoreReader: ClaimStoreReader {
    let connection: SQLiteConnection
    private var prepared: SQLiteQueryStatements?

    init(connection: SQLiteConnection) throws(StoreError) {
        self.connection = connection
        self.prepared = try SQLiteQueryStatements(connection)
    }

    func statements(_ operation: String) throws(StoreError) -> SQLiteQueryStatements {
        guard let prepared = self.prepared else { throw StoreError(operation, "reader is closed") }
        return prepared
    }

    public func claim(number: String) throws(StoreError) -> Claim? {
        try self.statements("claim").reads.claim(number: number)
    }

    public func contactSession(callID: String) throws(StoreError) -> ContactSession? {
        let statement = try self.statements("contactSession").selectContactSession
        defer { statement.reset() }
        statement.bind(1, callID)
        return try statement.step() ? statement.readContactSession() : nil
    }

    public func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident] {
        try self.statements("incidents").reads.incidents(includeWithdrawn: includeWithdrawn)
    }

    public func secondLineMode() throws(StoreError) -> SecondLineModeRecord? {
        try self.statements("secondLineMode").reads.secondLineMode()
    }

    /// Keyset pagination: newest first by (created_at_ms, claim_number), resuming strictly
    /// after `query.after`; one row more than the limit is fetched to know whether to set `next`.
    public func listClaims(_ query: ClaimQuery) throws(StoreError) -> ClaimPage {
        let statements = try self.statements("listClaims")
        let range = query.createdRange
        guard !range.isEmpty else { return ClaimPage(claims: [], next: nil) }
        let limit = query.effectiveLimit
        let variant = SQLiteQueryStatements.listVariant(
            msisdn: !query.msisdn.isEmpty, status: query.status != .unspecified, cursor: query.after != nil,
            group: query.group != .unspecified, category: query.category != .unspecified, department: !query.department.isEmpty)
        let statement = try statements.listClaims(variant: variant)
        defer { statement.reset() }
        statement.bind(1, query.msisdn)
        statement.bind(2, query.status.rawValue)
        // Only the parameters the variant's text has: binding another is an error.
        if query.group != .unspecified { statement.bind(8, query.group.rawValue) }
        if query.category != .unspecified { statement.bind(9, query.category.rawValue) }
        if !query.department.isEmpty { statement.bind(10, query.department) }
        statement.bind(3, range.lowerMs)
        if let after = query.after {
            // The cursor's time also caps the index range, so a deep page starts its backwards
            // scan at the cursor instead of walking every earlier page's rows again; the row
            // value comparison then only skips the cursor's own ties.
            statement.bind(4, min(range.upperMs, after.createdAtMs))
            statement.bind(5, after.createdAtMs)
            statement.bind(6, after.claimNumber)
        } else {
            statement.bind(4, range.upperMs)
        }
        statement.bind(7, limit + 1)
        var claims: [Claim] = []
        claims.reserveCapacity(min(limit, 256))
        var more = false
        while try statement.step() {
            if claims.count == limit {
                more = true
                break
            }
            claims.append(statement.readClaim())
        }
        let next = more ? claims.last.map { ClaimCursor(createdAtMs: $0.createdAtMs, claimNumber: $0.claimNumber) } : nil
        return ClaimPage(claims: claims, next: next)
    }

    /// See ``ClaimStoreReader/stats(fromMs:toMs:)``: claims by category from `claims`, the
    /// Escalate and Retain outcomes from `audit`, both in one read transaction.
    public func stats(fromMs: Int64, toMs: Int64) throws(StoreError) -> ClaimStats {
        let statements = try self.statements("stats")
        let range = StoreTimeRange(fromMs: fromMs, toMs: toMs)
        guard !range.isEmpty else { return ClaimStats() }
        var tally = StatsTally()
        try self.run(statements.beginSnapshot)
        do throws(StoreError) {
            try Self.tallyClaims(statements.claimsByCategory, range, into: &tally)
            try Self.tallyAudit(statements.auditOutcomes, range, into: &tally)
            try self.run(statements.endSnapshot)
        } catch {
            if self.connection.inTransaction { try? self.connection.execute("ROLLBACK", operation: "stats") }
            throw error
        }
        return tally.stats
    }

    private static func tallyClaims(
        _ statement: SQLiteStatement, _ range: StoreTimeRange, into tally: inout StatsTally
    ) throws(StoreError) {
        defer { statement.reset() }
        statement.bind(1, range.lowerMs)
        statement.bind(2, range.upperMs)
        while try statement.step() {
            tally.addClaims(
                group: statement.int32(0), category: statement.int32(1), count: UInt64(max(0, statement.int64(2))))
        }
    }

    private static func tallyAudit(
        _ statement: SQLiteStatement, _ range: StoreTimeRange, into tally: inout StatsTally
    ) throws(StoreError) {
        defer { statement.reset() }
        statement.bind(1, range.lowerMs)
        statement.bind(2, range.upperMs)
        while try statement.step() {
            tally.addAudit(
                method: statement.text(0), outcome: statement.text(1), reason: statement.text(2), rule: statement.text(3),
                count: UInt64(max(0, statement.int64(4))))
        }
    }

    private func run(_ statement: SQLiteStatement) throws(StoreError) {
        defer { statement.reset() }
        try statement.run()
    }

    /// A read transaction on the database file (the schema's first row).
    public func probe() throws(StoreError) {
        _ = try self.connection.queryInt("SELECT count(*) FROM (SELECT 1 FROM sqlite_schema LIMIT 1)", operation: "probe")
    }

    public func close() {
        self.prepared = nil
        self.connection.close()
    }

    deinit {
        self.close()
    }
}

@available(*, unavailable)
extension SQLiteClaimStoreReader: Sendable {}
