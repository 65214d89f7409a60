import ClaimlineStore

/// The schema's history: an ordered list of steps, each applied in its own transaction that
/// also sets `PRAGMA user_version` to the step's version, so a crash leaves the database at a
/// step boundary. A database at the newest version gets no step; one from a newer build is
/// refused rather than written with a schema this build does not know.
///
/// Never edit a released step: add one.
enum SQLiteMigrations {
    struct Step: Sendable {
        let version: Int64
        let name: String
        let statements: [String]
    }

    static let steps: [Step] = [SQLiteSchemaV1.step]

    static var latestVersion: Int64 { steps.last?.version ?? 0 }

    /// Brings the database to the newest version; returns how many steps were applied.
    @discardableResult
    static func migrate(_ connection: SQLiteConnection, steps: [Step] = steps) throws(StoreError) -> Int {
        let latest = steps.last?.version ?? 0
        let found = try self.version(connection)
        try self.refuseNewer(found, latest: latest)
        guard found < latest else { return 0 }
        var applied = 0
        for step in steps where step.version > found {
            let operation = "migrate to schema version \(step.version) (\(step.name))"
            // IMMEDIATE: takes the write lock first, so two processes opening at once cannot
            // both apply a step; the version is read again under the lock.
            try connection.execute("BEGIN IMMEDIATE", operation: operation)
            do throws(StoreError) {
                let current = try self.version(connection)
                try self.refuseNewer(current, latest: latest)
                if current < step.version {
                    for sql in step.statements {
                        try connection.execute(sql, operation: operation)
                    }
                    try connection.execute("PRAGMA user_version = \(step.version)", operation: operation)
                    applied += 1
                }
                try connection.execute("COMMIT", operation: operation)
            } catch {
                if connection.inTransaction { try? connection.execute("ROLLBACK", operation: operation) }
                throw error
            }
        }
        return applied
    }

    static func version(_ connection: SQLiteConnection) throws(StoreError) -> Int64 {
        try connection.queryInt("PRAGMA user_version", operation: "read schema version")
    }

    private static func refuseNewer(_ found: Int64, latest: Int64) throws(StoreError) {
        guard found <= latest else {
            throw StoreError(
                "open",
                "database schema version \(found) is newer than this build's \(latest): refusing to use it (upgrade Claimline or restore a matching backup)"
            )
        }
    }
}
