import ClaimlineStore

/// Every statement a reader runs, prepared once when it opens.
///
/// ListClaims has one statement per combination of filters (msisdn, status, cursor): eight
/// texts built once at startup, so each is planned for its own index (msisdn, status or
/// created time, each ending in `created_at_ms, claim_number`) and no SQL is assembled per call.
final class SQLiteReaderStatements {
    let reads: SQLiteReadStatements
    /// Indexed by ``listVariant(msisdn:status:cursor:)``.
    let listClaims: [SQLiteStatement]
    let beginSnapshot: SQLiteStatement
    let endSnapshot: SQLiteStatement
    let claimsByCategory: SQLiteStatement
    let auditOutcomes: SQLiteStatement

    init(_ connection: SQLiteConnection) throws(StoreError) {
        self.reads = try SQLiteReadStatements(connection)
        var list: [SQLiteStatement] = []
        for (variant, sql) in Self.listSQL.enumerated() {
            list.append(try connection.prepare(sql, name: "listClaims[\(variant)]"))
        }
        self.listClaims = list
        self.beginSnapshot = try connection.prepare("BEGIN", name: "stats snapshot")
        self.endSnapshot = try connection.prepare("COMMIT", name: "stats snapshot end")
        self.claimsByCategory = try connection.prepare(
            """
            SELECT category_group, category, count(*) FROM claims
            WHERE created_at_ms BETWEEN ?1 AND ?2
            GROUP BY category_group, category
            """,
            name: "stats claims")
        // Escalate and Retain only: two ranges of the (method, at_ms) index.
        self.auditOutcomes = try connection.prepare(
            """
            SELECT method, outcome, reason, count(*) FROM audit
            WHERE method IN ('\(StatsTally.escalateMethod)', '\(StatsTally.retainMethod)')
              AND at_ms BETWEEN ?1 AND ?2
            GROUP BY method, outcome, reason
            """,
            name: "stats audit")
    }

    /// Parameters: ?1 msisdn, ?2 status, ?3...?4 created range (inclusive), ?5/?6 the cursor's
    /// created time and claim number, ?7 the row limit.
    static func listVariant(msisdn: Bool, status: Bool, cursor: Bool) -> Int {
        (msisdn ? 1 : 0) | (status ? 2 : 0) | (cursor ? 4 : 0)
    }

    static let listSQL: [String] = (0..<8).map { variant in
        let msisdn = variant & 1 != 0
        let status = variant & 2 != 0
        let cursor = variant & 4 != 0
        var sql = "SELECT \(claimColumns) FROM claims WHERE created_at_ms BETWEEN ?3 AND ?4"
        if msisdn { sql += " AND msisdn = ?1" }
        // With an msisdn too, `+status` keeps the planner on the (more selective) msisdn index.
        if status { sql += msisdn ? " AND +status = ?2" : " AND status = ?2" }
        if cursor { sql += " AND (created_at_ms, claim_number) < (?5, ?6)" }
        sql += " ORDER BY created_at_ms DESC, claim_number DESC LIMIT ?7"
        return sql
    }
}

@available(*, unavailable)
extension SQLiteReaderStatements: Sendable {}
