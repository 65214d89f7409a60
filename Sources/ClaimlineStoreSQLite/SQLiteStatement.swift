import CSQLite
import ClaimlineStore

/// One prepared statement, prepared once per connection and reused for every call: the hot path
/// binds, steps and resets, never parses SQL.
///
/// Binding failures (out of memory, too big) are remembered and reported by the next `step`,
/// so the many `bind` calls of an insert need no `try` each and no failure goes unseen. Text is
/// bound with its exact UTF-8 byte length and copied by SQLite (`SQLITE_TRANSIENT`); text is
/// read back with `sqlite3_column_bytes`, so an embedded NUL never truncates a value.
///
/// Not `Sendable`: it belongs to its connection's thread.
final class SQLiteStatement {
    let handle: OpaquePointer
    private let db: OpaquePointer
    /// A short name for errors, e.g. `insertClaim`.
    let name: String
    private var bindFailure: Int32 = SQLITE_OK

    init(db: OpaquePointer, sql: String, name: String) throws(StoreError) {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw SQLiteError.make(db, "prepare \(name)", rc)
        }
        self.handle = statement
        self.db = db
        self.name = name
    }

    /// Called by the connection before it closes; the statement is unusable afterwards.
    func finalize() {
        sqlite3_finalize(self.handle)
    }

    // MARK: Binding (1-based parameter indexes)

    func bind(_ index: Int32, _ value: Int64) {
        self.check(sqlite3_bind_int64(self.handle, index, value))
    }

    func bind(_ index: Int32, _ value: Int32) {
        self.check(sqlite3_bind_int64(self.handle, index, Int64(value)))
    }

    func bind(_ index: Int32, _ value: Int) {
        self.check(sqlite3_bind_int64(self.handle, index, Int64(value)))
    }

    func bind(_ index: Int32, _ value: Bool) {
        self.check(sqlite3_bind_int64(self.handle, index, value ? 1 : 0))
    }

    func bind(_ index: Int32, _ value: String) {
        var value = value
        let rc = value.withUTF8 { bytes -> Int32 in
            // A nil base address would bind NULL, not the empty string.
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite3_bind_text(self.handle, index, "", 0, SQLiteError.transient)
            }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text64(
                    self.handle, index, $0, sqlite3_uint64(bytes.count), SQLiteError.transient, UInt8(SQLITE_UTF8))
            }
        }
        self.check(rc)
    }

    /// nil binds NULL.
    func bind(_ index: Int32, _ value: String?) {
        if let value { self.bind(index, value) } else { self.bindNull(index) }
    }

    /// nil binds NULL.
    func bind(_ index: Int32, _ value: Int32?) {
        if let value { self.bind(index, value) } else { self.bindNull(index) }
    }

    func bind(_ index: Int32, _ value: [UInt8]) {
        // A zero-length blob, not NULL, for an empty array.
        guard !value.isEmpty else {
            self.check(sqlite3_bind_zeroblob(self.handle, index, 0))
            return
        }
        let rc = value.withUnsafeBytes {
            sqlite3_bind_blob64(self.handle, index, $0.baseAddress, sqlite3_uint64($0.count), SQLiteError.transient)
        }
        self.check(rc)
    }

    func bindNull(_ index: Int32) {
        self.check(sqlite3_bind_null(self.handle, index))
    }

    private func check(_ rc: Int32) {
        if rc != SQLITE_OK, self.bindFailure == SQLITE_OK { self.bindFailure = rc }
    }

    // MARK: Stepping

    /// True when a row is ready, false when the statement is done.
    func step() throws(StoreError) -> Bool {
        if self.bindFailure != SQLITE_OK {
            throw StoreError("bind \(self.name)", String(cString: sqlite3_errstr(self.bindFailure)), code: self.bindFailure)
        }
        switch sqlite3_step(self.handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw SQLiteError.make(self.db, self.name, rc)
        }
    }

    /// Steps a statement that returns no rows (or whose rows do not matter).
    func run() throws(StoreError) {
        while try self.step() {}
    }

    /// Rows changed by the last `run` on this connection.
    var changes: Int { Int(sqlite3_changes64(self.db)) }

    /// Makes the statement ready for the next call and drops the bound values. Must follow
    /// every use: a statement left mid-result keeps a reader's snapshot (and the WAL) pinned.
    func reset() {
        sqlite3_reset(self.handle)
        sqlite3_clear_bindings(self.handle)
        self.bindFailure = SQLITE_OK
    }

    // MARK: Columns (0-based)

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(self.handle, column) == SQLITE_NULL
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(self.handle, column)
    }

    /// Out-of-range values are truncated, never trapped on (bad data must not crash the server).
    func int32(_ column: Int32) -> Int32 {
        Int32(truncatingIfNeeded: sqlite3_column_int64(self.handle, column))
    }

    func int(_ column: Int32) -> Int {
        Int(truncatingIfNeeded: sqlite3_column_int64(self.handle, column))
    }

    func bool(_ column: Int32) -> Bool {
        sqlite3_column_int64(self.handle, column) != 0
    }

    /// The exact bytes as UTF-8; invalid sequences become U+FFFD; NULL reads as "".
    func text(_ column: Int32) -> String {
        // Text first, then its length: the order SQLite documents as safe.
        guard let text = sqlite3_column_text(self.handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(self.handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// nil for NULL.
    func optionalText(_ column: Int32) -> String? {
        self.isNull(column) ? nil : self.text(column)
    }

    func blob(_ column: Int32) -> [UInt8] {
        guard let blob = sqlite3_column_blob(self.handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(self.handle, column))
        return Array(UnsafeRawBufferPointer(start: blob, count: count))
    }
}
