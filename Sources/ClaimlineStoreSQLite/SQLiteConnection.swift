import CSQLite
import ClaimlineStore

/// Process-wide SQLite settings, applied once before the first connection opens.
private let sqliteConfigured: Int32 = clm_sqlite_configure()

/// One libsqlite3 connection and the statements prepared on it.
///
/// Opened with `SQLITE_OPEN_NOMUTEX`: each connection is used by one thread at a time (the
/// writer thread, or the thread that currently holds a reader), so SQLite's per-connection
/// mutex would only cost. Closing finalizes every statement it prepared, then the handle.
///
/// Not `Sendable`.
final class SQLiteConnection {
    private(set) var db: OpaquePointer?
    let path: String
    private var statements: [SQLiteStatement] = []

    init(path: String, busyTimeoutMs: Int32) throws(StoreError) {
        _ = sqliteConfigured
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let error = SQLiteError.make(handle, "open \(path)", rc)
            sqlite3_close_v2(handle)
            throw error
        }
        self.db = handle
        self.path = path
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMs)
    }

    private func handle(_ operation: String) throws(StoreError) -> OpaquePointer {
        guard let db = self.db else { throw StoreError(operation, "connection is closed") }
        return db
    }

    /// Prepares a statement that lives as long as the connection.
    func prepare(_ sql: String, name: String) throws(StoreError) -> SQLiteStatement {
        let statement = try SQLiteStatement(db: self.handle("prepare \(name)"), sql: sql, name: name)
        self.statements.append(statement)
        return statement
    }

    /// Runs SQL text once (schema, pragmas, migrations): never on the hot path.
    func execute(_ sql: String, operation: String) throws(StoreError) {
        let db = try self.handle(operation)
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw SQLiteError.make(db, operation, rc) }
    }

    /// The first column of the first row of `sql` as text ("" when there is none).
    func queryText(_ sql: String, operation: String) throws(StoreError) -> String {
        let statement = try SQLiteStatement(db: self.handle(operation), sql: sql, name: operation)
        defer { statement.finalize() }
        return try statement.step() ? statement.text(0) : ""
    }

    /// The first column of the first row of `sql` as an integer (0 when there is none).
    func queryInt(_ sql: String, operation: String) throws(StoreError) -> Int64 {
        let statement = try SQLiteStatement(db: self.handle(operation), sql: sql, name: operation)
        defer { statement.finalize() }
        return try statement.step() ? statement.int64(0) : 0
    }

    /// Whether a transaction is open (false in autocommit mode).
    var inTransaction: Bool {
        guard let db = self.db else { return false }
        return sqlite3_get_autocommit(db) == 0
    }

    func close() {
        guard let db = self.db else { return }
        for statement in self.statements { statement.finalize() }
        self.statements = []
        sqlite3_close_v2(db)
        self.db = nil
    }

    deinit {
        self.close()
    }
}

@available(*, unavailable)
extension SQLiteConnection: Sendable {}
