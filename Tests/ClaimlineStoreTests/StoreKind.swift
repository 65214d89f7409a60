import ClaimlineStore
import ClaimlineStoreSQLite
import Foundation
import Testing

/// The backends the conformance suite runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite

    var testDescription: String { self.rawValue }
}

/// A fresh, empty store of `kind` for the duration of `body`: SQLite ones in a new temporary
/// directory, deleted afterwards.
@discardableResult
func withStore<T>(_ kind: StoreKind, _ body: (any ClaimStoreBackend) throws -> T) throws -> T {
    switch kind {
    case .memory:
        return try body(InMemoryStoreBackend())
    case .sqlite:
        return try withTemporaryDirectory { directory in
            try body(SQLiteStoreBackend(path: directory + "/claims.db"))
        }
    }
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
