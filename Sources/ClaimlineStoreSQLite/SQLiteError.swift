import CSQLite
import ClaimlineStore

/// Turns SQLite failures into ``StoreError``s that name the operation, carry `sqlite3_errmsg`
/// and the extended result code (e.g. 1555 for a duplicate primary key).
enum SQLiteError {
    static func make(_ db: OpaquePointer?, _ operation: String, _ rc: Int32? = nil) -> StoreError {
        guard let db else {
            let code = rc ?? SQLITE_ERROR
            return StoreError(operation, String(cString: sqlite3_errstr(code)), code: code)
        }
        let code = sqlite3_extended_errcode(db)
        let message = String(cString: sqlite3_errmsg(db))
        // errmsg describes the most recent failure; an rc of another kind (e.g. from a call
        // that does not set it) is reported by its own text.
        if let rc, rc & 0xff != code & 0xff {
            return StoreError(operation, String(cString: sqlite3_errstr(rc)), code: rc)
        }
        return StoreError(operation, message, code: code)
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the bind call returns, so
    /// Swift's temporary buffers are safe to pass. (The C macro does not import.)
    static var transient: sqlite3_destructor_type {
        unsafeBitCast(-1 as Int, to: sqlite3_destructor_type.self)
    }
}
