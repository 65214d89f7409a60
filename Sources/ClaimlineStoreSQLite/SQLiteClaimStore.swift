import CSQLite
import ClaimlineCore
import ClaimlineStore
import Foundation

/// The SQLite writer: one connection, owned by the service's one writer thread.
///
/// A batch is `BEGIN IMMEDIATE` ... `COMMIT`: the commit appends the batch to the WAL, and the
/// batch is durable (fsynced once) when ``commit()`` returns, or, with the pipelined syncer,
/// when ``commit(durable:)`` calls back; readers (their own connections) see it from the
/// commit on. Outside a batch each write commits on its own.
///
/// Not `Sendable`: one instance belongs to one thread.
public final class SQLiteClaimStore: ClaimStore {
    let connection: SQLiteConnection
    private var prepared: SQLiteWriteStatements?
    private let checkpointer: SQLiteCheckpointer?
    private let syncer: SQLiteWALSyncer?

    init(connection: SQLiteConnection, checkpointer: SQLiteCheckpointer? = nil, syncer: SQLiteWALSyncer? = nil) throws(StoreError) {
        self.connection = connection
        self.checkpointer = checkpointer
        self.syncer = syncer
        self.prepared = try SQLiteWriteStatements(connection)
        // Only with the background checkpointer: the hook replaces SQLite's own, which runs
        // the automatic checkpoints used without it.
        if checkpointer != nil, let db = connection.db { clm_sqlite_track_wal_frames(db, self.walFrames) }
    }

    /// The statements, or an error once the store is closed (their handles are gone then).
    func statements(_ operation: String) throws(StoreError) -> SQLiteWriteStatements {
        guard let prepared = self.prepared else { throw StoreError(operation, "store is closed") }
        return prepared
    }

    public func begin() throws(StoreError) {
        let statement = try self.statements("begin").begin
        defer { statement.reset() }
        try statement.run()
    }

    /// Durable when it returns. If it fails the batch is rolled back: none of it was
    /// acknowledged, none of it stays.
    public func commit() throws(StoreError) {
        guard let syncer = self.syncer else { return try self.commitOnly() }
        // Synchronous for callers that need it (purge, tests): wait for the sync.
        let done = NSCondition()
        nonisolated(unsafe) var result: StoreError?? = .none
        try self.commitOnly()
        syncer.enqueue { error in
            done.lock()
            result = .some(error)
            done.signal()
            done.unlock()
        }
        done.lock()
        while case .none = result { done.wait() }
        done.unlock()
        if case .some(.some(let error)) = result { throw error }
    }

    /// With the WAL syncer, returns once the batch is written; `durable` follows its sync.
    public func commit(durable: @escaping @Sendable (StoreError?) -> Void) throws(StoreError) {
        guard let syncer = self.syncer else {
            try self.commitOnly()
            durable(nil)
            return
        }
        try self.commitOnly()
        syncer.enqueue(durable)
    }

    private func commitOnly() throws(StoreError) {
        let statement = try self.statements("commit").commit
        defer { statement.reset() }
        do {
            try statement.run()
        } catch {
            statement.reset()
            self.rollback()
            throw error
        }
        self.closeWALGap()
    }

    /// The background checkpointer copies the WAL into the database in small steps while the
    /// writer works, but only a checkpoint that reaches the WAL's end lets the next
    /// transaction start the WAL over, and under continuous load the background one never
    /// gets there: the WAL (and its shared-memory index, which counts as RSS) would grow
    /// without bound. So once the WAL holds `walFramesBeforeReset` frames, the writer
    /// checkpoints what is left between two batches, right after a background step finished:
    /// only the frames committed during that step, a few hundred pages at most, and one small
    /// fsync of each file. The next transaction then starts the WAL over, and its commit
    /// truncates the file to `journal_size_limit`.
    private func closeWALGap() {
        guard let checkpointer = self.checkpointer, let db = self.connection.db else { return }
        guard self.walFrames.pointee >= Self.walFramesBeforeReset else { return }
        // Only a step asked for now counts: one that finished earlier may have left much behind.
        guard checkpointer.takeFinishedStep() && self.stepRequested else {
            if !self.stepRequested {
                self.stepRequested = true
                checkpointer.requestStep()
            }
            return
        }
        self.stepRequested = false
        var logFrames: Int32 = 0
        var checkpointed: Int32 = 0
        _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &checkpointed)
    }

    /// A background step was asked for; the gap is closed right after it.
    private var stepRequested = false

    /// Frames in the WAL after the last commit, written by SQLite's WAL hook.
    private let walFrames: UnsafeMutablePointer<Int32> = {
        let frames = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        frames.initialize(to: 0)
        return frames
    }()

    /// 4,096 pages of 4 KiB: 16 MiB of WAL before it starts over.
    static let walFramesBeforeReset: Int32 = 4_096

    public func rollback() {
        guard let prepared = self.prepared, self.connection.inTransaction else { return }
        let statement = prepared.rollback
        defer { statement.reset() }
        // A failed ROLLBACK leaves nothing better to do: SQLite rolls back on close anyway.
        _ = try? statement.run()
    }

    public func close() {
        self.rollback()
        self.prepared = nil
        self.syncer?.stop()
        self.checkpointer?.stop()
        self.connection.close()
    }

    deinit {
        self.close()
        self.walFrames.deallocate()
    }

    // MARK: Diagnostics

    /// `PRAGMA journal_mode` on this connection: `wal` when opened by this store.
    public var journalMode: String {
        get throws(StoreError) { try self.connection.queryText("PRAGMA journal_mode", operation: "journal_mode") }
    }

    /// `PRAGMA synchronous`: 2 (FULL), so every commit is fsynced.
    public var synchronous: Int64 {
        get throws(StoreError) { try self.connection.queryInt("PRAGMA synchronous", operation: "synchronous") }
    }

    /// `PRAGMA user_version`: the schema version (``SQLiteStoreBackend/schemaVersion`` after opening).
    public var schemaVersion: Int64 {
        get throws(StoreError) { try SQLiteMigrations.version(self.connection) }
    }
}

@available(*, unavailable)
extension SQLiteClaimStore: Sendable {}
