import ClaimlineCore
import ClaimlineStore

extension SQLiteClaimStore {
    public func idempotencyRecord(key: String) throws(StoreError) -> IdempotencyRecord? {
        let statement = try self.statements("idempotencyRecord").selectIdempotency
        defer { statement.reset() }
        statement.bind(1, key)
        return try statement.step() ? statement.readIdempotencyRecord() : nil
    }

    /// Fails with SQLITE_CONSTRAINT_PRIMARYKEY (1555) when the key exists: a retry must be
    /// answered from the stored record, never stored twice.
    public func insertIdempotencyRecord(_ record: IdempotencyRecord) throws(StoreError) {
        let statement = try self.statements("insertIdempotencyRecord").insertIdempotency
        defer { statement.reset() }
        statement.bindIdempotencyRecord(record)
        try statement.run()
    }

    public func contactSession(callID: String) throws(StoreError) -> ContactSession? {
        let statement = try self.statements("contactSession").selectContactSession
        defer { statement.reset() }
        statement.bind(1, callID)
        return try statement.step() ? statement.readContactSession() : nil
    }

    public func upsertContactSession(_ session: ContactSession) throws(StoreError) {
        let statement = try self.statements("upsertContactSession").upsertContactSession
        defer { statement.reset() }
        statement.bindContactSession(session)
        try statement.run()
    }

    /// Two indexed range deletes (`expires_at_ms`, `created_at_ms`).
    public func purge(nowMs: Int64, idempotencyBeforeMs: Int64) throws(StoreError) -> Int {
        let statements = try self.statements("purge")
        var removed = 0
        for (statement, bound) in [
            (statements.purgeContactSessions, nowMs), (statements.purgeIdempotency, idempotencyBeforeMs),
        ] {
            defer { statement.reset() }
            statement.bind(1, bound)
            try statement.run()
            removed += statement.changes
        }
        return removed
    }
}
