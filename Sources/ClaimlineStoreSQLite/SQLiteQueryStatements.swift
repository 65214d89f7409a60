import ClaimlineStore

/// Every statement a reader runs, prepared once when it opens.
///
/// ListClaims has one statement per combination of filters (msisdn, status, cursor, group,
/// category, department), each prepared the first time it is used, so each is planned for its
/// own index (msisdn, status or created time, each ending in `created_at_ms, claim_number`)
/// and no SQL is assembled per call.
final class SQLiteQueryStatements {
    let reads: SQLiteLookupStatements
    private let connection: SQLiteConnection
    /// By ``listVariant(msisdn:status:cursor:group:category:department:)``.
    private var listClaims: [Int: SQLiteStatement] = [:]
    let selectContactSession: SQLiteStatement
    let beginSnapshot: SQLiteStatement
    let endSnapshot: SQLiteStatement
    let claimsByCategory: SQLiteStatement
    let auditOutcomes: SQLiteStatement

    init(_ connection: SQLiteConnection) throws(StoreError) {
        self.reads = try SQLiteLookupStatements(connection)
        self.connection = connection
        self.selectContactSession = try connection.prepare(
            "SELECT \(contactSessionColumns) FROM contact_sessions WHERE call_id = ?1", name: "contactSession")
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
            SELECT method, outcome, reason, rule, count(*) FROM audit
            WHERE method IN ('\(StatsTally.escalateMethod)', '\(StatsTally.retainMethod)')
              AND at_ms BETWEEN ?1 AND ?2
            GROUP BY method, outcome, reason, rule
            """,
            name: "stats audit")
    }

    /// The statement of one combination of filters, prepared on first use.
    func listClaims(variant: Int) throws(StoreError) -> SQLiteStatement {
        if let statement = self.listClaims[variant] { return statement }
        let statement = try self.connection.prepare(Self.listSQL(variant), name: "listClaims[\(variant)]")
        self.listClaims[variant] = statement
        return statement
    }

    /// Parameters: ?1 msisdn, ?2 status, ?3...?4 created range (inclusive), ?5/?6 the cursor's
    /// created time and claim number, ?7 the row limit, ?8 group, ?9 category, ?10 department.
    static func listVariant(msisdn: Bool, status: Bool, cursor: Bool, group: Bool = false, category: Bool = false, department: Bool = false) -> Int {
        (msisdn ? 1 : 0) | (status ? 2 : 0) | (cursor ? 4 : 0) | (group ? 8 : 0) | (category ? 16 : 0) | (department ? 32 : 0)
    }

    static func listSQL(_ variant: Int) -> String {
        let msisdn = variant & 1 != 0
        let status = variant & 2 != 0
        let cursor = variant & 4 != 0
        var sql = "SELECT \(claimColumns) FROM claims WHERE created_at_ms BETWEEN ?3 AND ?4"
        if msisdn { sql += " AND msisdn = ?1" }
        // With an msisdn too, `+status` keeps the planner on the (more selective) msisdn index.
        if status { sql += msisdn ? " AND +status = ?2" : " AND status = ?2" }
        // Group, category and department filter rows of the time-ordered scan (no index of
        // their own: they narrow operators' reports, not the hot path).
        if variant & 8 != 0 { sql += " AND +category_group = ?8" }
        if variant & 16 != 0 { sql += " AND +category = ?9" }
        if variant & 32 != 0 { sql += " AND +department = ?10" }
        if cursor { sql += " AND (created_at_ms, claim_number) < (?5, ?6)" }
        sql += " ORDER BY created_at_ms DESC, claim_number DESC LIMIT ?7"
        return sql
    }
}

@available(*, unavailable)
extension SQLiteQueryStatements: Sendable {}
