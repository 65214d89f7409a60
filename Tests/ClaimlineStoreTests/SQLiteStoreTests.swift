import ClaimlineCore
import ClaimlineStore
import Synchronization
import Testing

@testable import ClaimlineStoreSQLite

/// What only the SQLite store promises: durability, configuration, migrations, large batches,
/// and surviving bad rows.
@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test
    func committedDataSurvivesReopen() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/claims.db"
            do {
                let writer = try SQLiteStoreBackend(path: path).openWriter()
                try writer.begin()
                try writer.insertClaim(Fixtures.claim(1))
                try writer.insertIdempotencyRecord(Fixtures.idempotency("k"))
                try writer.upsertIncident(Fixtures.incident(3))
                try writer.commit()
                try writer.begin()
                try writer.insertClaim(Fixtures.claim(2))
                writer.close()  // with the batch open: it must not survive
            }
            let backend = SQLiteStoreBackend(path: path)
            let writer = try backend.openWriter()
            defer { writer.close() }
            #expect(try writer.claim(number: "2026-000001") == Fixtures.claim(1))
            #expect(try writer.claim(number: "2026-000002") == nil)
            #expect(try writer.idempotencyRecord(key: "k") == Fixtures.idempotency("k"))
            #expect(try writer.incident(id: "INC-000003") == Fixtures.incident(3))
            let reader = try backend.openReader()
            defer { reader.close() }
            #expect(try reader.listClaims(ClaimQuery()).claims == [Fixtures.claim(1)])
        }
    }

    @Test
    func writerIsConfiguredForDurability() throws {
        try withTemporaryDirectory { directory in
            let backend = SQLiteStoreBackend(path: directory + "/claims.db")
            #expect(backend.name == "sqlite:\(directory)/claims.db")
            let writer = try backend.openSQLiteWriter()
            #expect(try writer.journalMode == "wal")
            // Pipelined: commits write the WAL (NORMAL) and a syncer thread fdatasyncs it
            // before anyone is answered.
            #expect(backend.pipelinedSync)
            #expect(try writer.synchronous == 1)
            #expect(try writer.schemaVersion == SQLiteStoreBackend.schemaVersion)
            writer.close()
            var fsyncPerCommit = backend
            fsyncPerCommit.pipelinedSync = false
            let plain = try fsyncPerCommit.openSQLiteWriter()
            defer { plain.close() }
            #expect(try plain.synchronous == 2)
        }
    }

    @Test
    func durableCallbackFollowsEachCommit() throws {
        try withTemporaryDirectory { directory in
            let backend = SQLiteStoreBackend(path: directory + "/claims.db")
            let writer = try backend.openSQLiteWriter()
            let calls = Mutex<[StoreError?]>([])
            for n in 1...20 {
                try writer.begin()
                try writer.insertClaim(Fixtures.claim(n))
                try writer.commit { error in calls.withLock { $0.append(error) } }
            }
            writer.close()  // syncs what is pending before it returns
            let seen = calls.withLock { $0 }
            #expect(seen.count == 20)
            #expect(seen.allSatisfy { $0 == nil })
            let reopened = try backend.openSQLiteReader()
            defer { reopened.close() }
            #expect(try reopened.listClaims(ClaimQuery(limit: 100)).claims.count == 20)
        }
    }

    @Test
    func emptyDatabaseIsMigrated() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/claims.db"
            let raw = try SQLiteConnection(path: path, busyTimeoutMs: 1_000)
            #expect(try SQLiteMigrations.version(raw) == 0)
            raw.close()
            let writer = try SQLiteStoreBackend(path: path).openSQLiteWriter()
            #expect(try writer.schemaVersion == SQLiteMigrations.latestVersion)
            writer.close()

            let check = try SQLiteConnection(path: path, busyTimeoutMs: 1_000)
            defer { check.close() }
            let tables = try check.queryInt(
                """
                SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN
                ('claims', 'contact_sessions', 'idempotency', 'incidents', 'second_line_mode', 'audit')
                """,
                operation: "count tables")
            #expect(tables == 6)
            // Up to date: nothing more to apply.
            #expect(try SQLiteMigrations.migrate(check) == 0)
        }
    }

    @Test
    func databaseFromANewerBuildIsRefused() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/claims.db"
            let raw = try SQLiteConnection(path: path, busyTimeoutMs: 1_000)
            try raw.execute("PRAGMA user_version = 99", operation: "test setup")
            raw.close()
            let backend = SQLiteStoreBackend(path: path)
            let error = #expect(throws: StoreError.self) { try backend.openWriter() }
            #expect(error?.message.contains("newer") == true)
            #expect(error?.message.contains("99") == true)
            #expect(throws: StoreError.self) { try backend.openReader() }
        }
    }

    @Test
    func migrationStepsApplyInOrderAndFailAtomically() throws {
        try withTemporaryDirectory { directory in
            let connection = try SQLiteConnection(path: directory + "/m.db", busyTimeoutMs: 1_000)
            defer { connection.close() }
            let one = SQLiteMigrations.Step(version: 1, name: "one", statements: ["CREATE TABLE t (a INTEGER)"])
            let two = SQLiteMigrations.Step(version: 2, name: "two", statements: ["ALTER TABLE t ADD COLUMN b TEXT"])
            let broken = SQLiteMigrations.Step(
                version: 3, name: "broken", statements: ["CREATE TABLE u (x)", "THIS IS NOT SQL"])
            #expect(try SQLiteMigrations.migrate(connection, steps: [one]) == 1)
            #expect(try SQLiteMigrations.migrate(connection, steps: [one, two]) == 1)
            #expect(try SQLiteMigrations.version(connection) == 2)
            let error = #expect(throws: StoreError.self) {
                try SQLiteMigrations.migrate(connection, steps: [one, two, broken])
            }
            #expect(error?.operation.contains("version 3") == true)
            #expect(error?.code == 1)  // SQLITE_ERROR
            #expect(try SQLiteMigrations.version(connection) == 2)
            #expect(try connection.queryInt("SELECT count(*) FROM sqlite_master WHERE name = 'u'", operation: "t") == 0)
            #expect(!connection.inTransaction)
        }
    }

    @Test
    func tenThousandClaimsInOneBatch() throws {
        try withTemporaryDirectory { directory in
            let backend = SQLiteStoreBackend(path: directory + "/claims.db")
            let writer = try backend.openWriter()
            defer { writer.close() }
            let reader = try backend.openReader()
            defer { reader.close() }

            try writer.begin()
            for sequence in 1...10_000 { try writer.insertClaim(Fixtures.claim(sequence, createdAtMs: Int64(sequence))) }
            writer.rollback()
            #expect(try writer.lastClaimSequence(year: 2026) == 0)
            #expect(try reader.stats(fromMs: 0, toMs: 0).claimsTotal == 0)

            try writer.begin()
            for sequence in 1...10_000 { try writer.insertClaim(Fixtures.claim(sequence, createdAtMs: Int64(sequence))) }
            #expect(try reader.stats(fromMs: 0, toMs: 0).claimsTotal == 0)
            try writer.commit()
            #expect(try reader.stats(fromMs: 0, toMs: 0).claimsTotal == 10_000)
            #expect(try writer.lastClaimSequence(year: 2026) == 10_000)
            let page = try reader.listClaims(ClaimQuery(limit: 3))
            #expect(page.claims.map(\.claimNumber) == ["2026-010000", "2026-009999", "2026-009998"])
        }
    }

    @Test
    func errorsCarryTheExtendedCode() throws {
        try withTemporaryDirectory { directory in
            let writer = try SQLiteStoreBackend(path: directory + "/claims.db").openWriter()
            defer { writer.close() }
            try writer.insertIdempotencyRecord(Fixtures.idempotency("k"))
            let error = #expect(throws: StoreError.self) { try writer.insertIdempotencyRecord(Fixtures.idempotency("k")) }
            #expect(error?.code == 1555)  // SQLITE_CONSTRAINT_PRIMARYKEY
            #expect(error?.operation == "insertIdempotencyRecord")
            #expect(error?.message.contains("UNIQUE") == true)
        }
    }

    @Test
    func unopenablePathFails() throws {
        try withTemporaryDirectory { directory in
            #expect(throws: StoreError.self) {
                try SQLiteStoreBackend(path: directory + "/missing/dir/claims.db").openWriter()
            }
        }
    }

    /// Rows written by something else (a bad migration, a hand edit) read back without a trap.
    @Test
    func badRowsDoNotCrash() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/claims.db"
            let backend = SQLiteStoreBackend(path: path)
            let writer = try backend.openWriter()
            defer { writer.close() }
            try writer.insertClaim(Fixtures.claim(1))
            try writer.upsertIncident(Fixtures.incident(1))
            let raw = try SQLiteConnection(path: path, busyTimeoutMs: 1_000)
            defer { raw.close() }
            try raw.execute(
                """
                UPDATE claims SET description = CAST(X'41FF42' AS TEXT), status = 99999999999,
                    category_group = 'nonsense', created_at_ms = 'soon', region = NULL;
                UPDATE incidents SET regions = ',,', categories = 'x/y,4/7,,9', active = 'yes';
                INSERT INTO incidents (incident_id, seq, title, playbook_url, playbook_text, active,
                    declared_at_ms, withdrawn_at_ms, declared_by) VALUES ('INC-x', NULL, '', '', '', 1, 0, 0, '');
                """,
                operation: "corrupt")
            let claim = try #require(try writer.claim(number: "2026-000001"))
            #expect(claim.description == "A\u{FFFD}B")
            #expect(claim.subscriber?.region == "")
            #expect(claim.status == ClaimStatus(rawValue: Int32(truncatingIfNeeded: Int64(99_999_999_999))))
            let incident = try #require(try writer.incident(id: "INC-000001"))
            #expect(incident.regions == ["", "", ""])
            #expect(incident.categories == [CategoryRef(group: .billing, category: .balanceDesync)])
            #expect(try writer.lastIncidentSequence() == 1)
            let reader = try backend.openReader()
            defer { reader.close() }
            _ = try reader.listClaims(ClaimQuery())
            _ = try reader.stats(fromMs: 0, toMs: 0)
        }
    }

    @Test
    func readerIsReadOnly() throws {
        try withTemporaryDirectory { directory in
            let reader = try SQLiteStoreBackend(path: directory + "/claims.db").openSQLiteReader()
            defer { reader.close() }
            #expect(throws: StoreError.self) {
                try reader.connection.execute("DELETE FROM claims", operation: "write from reader")
            }
        }
    }
}
