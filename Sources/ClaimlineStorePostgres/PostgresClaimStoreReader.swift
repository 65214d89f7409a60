import ClaimlineCore
import ClaimlineStore
import PostgresNIO

/// A PostgreSQL reader: its own connection, used by one reader thread. MVCC gives it committed
/// data only, without blocking any writer. Each call is one statement (one snapshot), except
/// ``stats(fromMs:toMs:)``, which reads claims and audit in one REPEATABLE READ transaction
/// so the numbers agree. A connection that fails is opened again by the next call.
///
/// Not `Sendable`.
public final class PostgresClaimStoreReader: ClaimStoreReader {
    let link: PostgresLink
    private var closed = false

    init(link: PostgresLink) {
        self.link = link
    }

    private func open(_ operation: String) throws(StoreError) -> PostgresLink {
        if self.closed { throw StoreError(operation, "reader is closed") }
        return self.link
    }

    /// One round trip: the database answers, on this reader's own connection.
    public func probe() throws(StoreError) {
        try self.open("probe").query("SELECT 1", operation: "probe")
    }

    /// `SHOW` of each setting of this reader's session (for tests and diagnostics).
    public func sessionSettings(_ names: [String]) throws(StoreError) -> [String] {
        var values: [String] = []
        for name in names {
            guard name.allSatisfy({ $0.isLetter || $0 == "_" }) else { throw StoreError("show", "not a setting name: \(name)") }
            let rows = try self.open("show").query("SHOW \(name)", operation: "show")
            values.append((try? rows.first?.makeRandomAccess()[0].decode(String.self)) ?? "")
        }
        return values
    }

    public func claim(number: String) throws(StoreError) -> Claim? {
        try PostgresClaimStore.fetchClaim(try self.open("claim"), number)
    }

    public func contactSession(callID: String) throws(StoreError) -> ContactSession? {
        try PostgresClaimStore.fetchSession(try self.open("contactSession"), callID)
    }

    public func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident] {
        try PostgresClaimStore.fetchIncidents(try self.open("incidents"), includeWithdrawn: includeWithdrawn)
    }

    public func secondLineMode() throws(StoreError) -> SecondLineModeRecord? {
        try PostgresClaimStore.fetchSecondLineMode(try self.open("secondLineMode"))
    }

    /// Keyset pagination as in SQLite: newest first by (created_at_ms, claim_number), strictly
    /// after the cursor, one row more than the limit to know whether to set `next`.
    public func listClaims(_ query: ClaimQuery) throws(StoreError) -> ClaimPage {
        let link = try self.open("listClaims")
        let range = query.createdRange
        guard !range.isEmpty else { return ClaimPage(claims: [], next: nil) }
        let limit = query.effectiveLimit
        var sql = "SELECT \(PostgresRecords.claimColumns) FROM claims WHERE created_at_ms BETWEEN $1 AND $2"
        var binds = PostgresBindings()
        binds.append(range.lowerMs)
        binds.append(query.after.map { min(range.upperMs, $0.createdAtMs) } ?? range.upperMs)
        func filter(_ column: String, _ append: (inout PostgresBindings) -> Void) {
            append(&binds)
            sql += " AND \(column) = $\(binds.count)"
        }
        if !query.msisdn.isEmpty { filter("msisdn") { $0.append(query.msisdn) } }
        if query.status != .unspecified { filter("status") { $0.append(query.status.rawValue) } }
        if query.group != .unspecified { filter("category_group") { $0.append(query.group.rawValue) } }
        if query.category != .unspecified { filter("category") { $0.append(query.category.rawValue) } }
        if !query.department.isEmpty { filter("department") { $0.append(query.department) } }
        if let after = query.after {
            binds.append(after.createdAtMs)
            binds.append(after.claimNumber)
            sql += " AND (created_at_ms, claim_number) < ($\(binds.count - 1), $\(binds.count))"
        }
        binds.append(Int64(limit + 1))
        sql += " ORDER BY created_at_ms DESC, claim_number DESC LIMIT $\(binds.count)"
        let rows = try link.query(sql, binds, operation: "listClaims")
        var claims: [Claim] = []
        claims.reserveCapacity(min(limit, rows.count))
        for row in rows.prefix(limit) { claims.append(try PostgresRecords.claim(row)) }
        let next =
            rows.count > limit ? claims.last.map { ClaimCursor(createdAtMs: $0.createdAtMs, claimNumber: $0.claimNumber) } : nil
        return ClaimPage(claims: claims, next: next)
    }

    /// See ``ClaimStoreReader/stats(fromMs:toMs:)``: every instance's work, since it is all in
    /// the one database.
    public func stats(fromMs: Int64, toMs: Int64) throws(StoreError) -> ClaimStats {
        let link = try self.open("stats")
        let range = StoreTimeRange(fromMs: fromMs, toMs: toMs)
        guard !range.isEmpty else { return ClaimStats() }
        var tally = StatsTally()
        var binds = PostgresBindings()
        binds.append(range.lowerMs)
        binds.append(range.upperMs)
        try link.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", operation: "stats")
        do throws(StoreError) {
            let claims = try link.query(
                """
                SELECT category_group, category, count(*) FROM claims
                WHERE created_at_ms BETWEEN $1 AND $2 GROUP BY category_group, category
                """, binds, operation: "stats claims")
            for row in claims {
                let r = RowReader(row, "stats claims")
                tally.addClaims(
                    group: r.isNull(0) ? 0 : try r.int32(0), category: r.isNull(1) ? 0 : try r.int32(1),
                    count: UInt64(max(0, try r.int64(2))))
            }
            let audit = try link.query(
                """
                SELECT method, outcome, reason, rule, count(*) FROM audit
                WHERE method IN ('\(StatsTally.escalateMethod)', '\(StatsTally.retainMethod)')
                  AND at_ms BETWEEN $1 AND $2
                GROUP BY method, outcome, reason, rule
                """, binds, operation: "stats audit")
            for row in audit {
                let r = RowReader(row, "stats audit")
                tally.addAudit(
                    method: try r.text(0), outcome: try r.text(1), reason: try r.text(2), rule: try r.text(3),
                    count: UInt64(max(0, try r.int64(4))))
            }
            try link.query("COMMIT", operation: "stats")
        } catch {
            _ = try? link.query("ROLLBACK", operation: "stats")
            throw error
        }
        return tally.stats
    }

    public func close() {
        guard !self.closed else { return }
        self.closed = true
        self.link.close()
    }
}

@available(*, unavailable)
extension PostgresClaimStoreReader: Sendable {}
