import ClaimlineStore
import ClaimlineStorePostgres
import ClaimlineStoreSQLite
import ClaimlineTestSupport
import Foundation
import Logging
import Testing

/// The backends the conformance suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    /// A real PostgreSQL (``TestPostgres``), a database of its own per test.
    case postgres

    var testDescription: String { self.rawValue }
}

/// A fresh, empty store of `kind` for the duration of `body`: SQLite ones in a new temporary
/// directory, PostgreSQL ones in a new database, deleted afterwards.
@discardableResult
func withStore<T>(_ kind: StoreKind, _ body: (any ClaimStoreBackend) throws -> T) throws -> T {
    switch kind {
    case .memory:
        return try body(InMemoryStoreBackend())
    case .sqlite:
        return try withTemporaryDirectory { directory in
            try body(SQLiteStoreBackend(path: directory + "/claims.db"))
        }
    case .postgres:
        let url = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(url) }
        return try body(try postgresBackend(url))
    }
}

/// The PostgreSQL store on `url`, quiet.
func postgresBackend(_ url: String) throws -> PostgresStoreBackend {
    var logger = Logger(label: "store-tests")
    logger.logLevel = .error
    return PostgresStoreBackend(settings: try PostgresStoreSettings(url: url), logger: logger)
}

/// A new temporary directory for `body`, removed afterwards.
@discardableResult
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("claimline-store-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory.path)
}
