import ClaimlineStore
import PostgresNIO

/// Brings a database to ``PostgresSchema``'s newest version. The version lives in
/// `claimline_schema` (one row per applied step); each step is one transaction that also
/// records it, so a crash leaves the database at a step boundary. Several instances starting
/// at once serialize on an advisory lock (the first migrates, the others find it done). A
/// database from a newer build is refused.
enum PostgresMigrations {
    /// The advisory lock key of migrations (any constant other locks never use).
    static let lockKey: Int64 = 0x436C_6D4D_6967_7221

    @discardableResult
    static func migrate(_ link: PostgresLink, steps: [PostgresSchema.Step] = PostgresSchema.steps) throws(StoreError) -> Int {
        let latest = steps.last?.version ?? 0
        let operation = "migrate schema"
        var applied = 0
        try link.query("BEGIN", operation: operation)
        do throws(StoreError) {
            // The lock first, so two instances never race on creating the version table.
            var binds = PostgresBindings()
            binds.append(Self.lockKey)
            try link.query("SELECT pg_advisory_xact_lock($1)", binds, operation: operation)
            try link.query(
                "CREATE TABLE IF NOT EXISTS claimline_schema (version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                operation: operation)
            let found = try self.version(link)
            guard found <= latest else {
                throw StoreError(
                    "open",
                    "database schema version \(found) is newer than this build's \(latest): refusing to use it (upgrade Claimline or restore a matching backup)"
                )
            }
            for step in steps where step.version > found {
                for sql in step.statements {
                    try link.query(sql, operation: "migrate to schema version \(step.version) (\(step.name))")
                }
                var record = PostgresBindings()
                record.append(step.version)
                record.append(step.name)
                try link.query("INSERT INTO claimline_schema (version, name) VALUES ($1, $2)", record, operation: operation)
                applied += 1
            }
            try link.query("COMMIT", operation: operation)
        } catch {
            _ = try? link.query("ROLLBACK", operation: operation)
            throw error
        }
        return applied
    }

    static func version(_ link: PostgresLink) throws(StoreError) -> Int64 {
        try link.queryInt("SELECT max(version) FROM claimline_schema", operation: "read schema version")
    }
}
