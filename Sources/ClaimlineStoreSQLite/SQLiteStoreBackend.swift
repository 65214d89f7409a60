import CSQLite
import ClaimlineStore

/// The embedded default store: one SQLite file in WAL mode, one writer connection and any
/// number of reader connections.
///
/// Every connection is configured the same way: `journal_mode=WAL` (readers and the writer do
/// not block each other), `synchronous=FULL`, a busy timeout, and the schema migrated to the
/// newest version (a database written by a newer build is refused). The writer then either
/// keeps FULL (each commit fsyncs the WAL before it returns) or, by default, commits with
/// NORMAL and leaves the fsync to ``SQLiteWALSyncer``, which calls each batch's `durable`
/// after it: the same durability for what is acknowledged, without the writer waiting.
/// WAL checkpoints run on a thread of their own (``SQLiteCheckpointer``). A value type holding
/// only settings: `Sendable`.
public struct SQLiteStoreBackend: ClaimStoreBackend {
    public let path: String
    /// How long the writer waits for a lock held by another process (e.g. a backup or a
    /// second server started by mistake) before failing, in milliseconds.
    public var writerBusyTimeoutMs: Int32
    /// How long a reader waits (WAL readers only wait during recovery or a checkpoint reset).
    public var readerBusyTimeoutMs: Int32
    /// WAL pages before the writer checkpoints on commit (SQLite's default is 1000); 0 turns
    /// automatic checkpoints off. Used only when `checkpointIntervalMs` is 0.
    public var walAutocheckpointPages: Int32
    /// How often a background thread checkpoints the WAL (``SQLiteCheckpointer``), so commits
    /// never do; 0 leaves checkpoints to the writer's commits (`walAutocheckpointPages`).
    public var checkpointIntervalMs: Int
    /// Sync the WAL on a thread of its own (``SQLiteWALSyncer``) so the writer applies the next
    /// batch meanwhile; false makes every commit fsync before it returns (`synchronous=FULL`).
    public var pipelinedSync: Bool

    public init(
        path: String, writerBusyTimeoutMs: Int32 = 5_000, readerBusyTimeoutMs: Int32 = 5_000,
        walAutocheckpointPages: Int32 = 1_000, checkpointIntervalMs: Int = 10, pipelinedSync: Bool = true
    ) {
        self.path = path
        self.writerBusyTimeoutMs = writerBusyTimeoutMs
        self.readerBusyTimeoutMs = readerBusyTimeoutMs
        self.walAutocheckpointPages = walAutocheckpointPages
        self.checkpointIntervalMs = checkpointIntervalMs
        self.pipelinedSync = pipelinedSync
    }

    public var name: String { "sqlite:\(self.path)" }

    /// A statement that failed (a full disk: `SQLITE_FULL`; an I/O error writing the WAL; the
    /// file briefly unopenable) left nothing applied: SQLite rolls the transaction back, and a
    /// new connection finds the last durable state. So the writer reopens the store and goes on
    /// once space is back. Never after a failed fsync of the WAL (the kernel may have dropped
    /// pages it reported written: the file can no longer be trusted until a restart's recovery)
    /// nor after corruption.
    public func recovers(from error: StoreError) -> Bool {
        if error.operation == SQLiteWALSyncer.syncOperation { return false }
        let primary = error.code & 0xFF
        return primary != SQLITE_CORRUPT && primary != SQLITE_NOTADB
    }

    /// What the WAL file is cut back to when it starts over: twice the frames the writer lets
    /// it hold before resetting it (``SQLiteClaimStore/walFramesBeforeReset``).
    public static let walSizeLimitBytes = 32 << 20

    /// The writer connection's page cache: 64 MiB (the readers keep SQLite's 2 MiB each).
    public static let writerCacheKiB = 64 * 1024

    /// The newest schema version this build writes (`PRAGMA user_version`).
    public static var schemaVersion: Int64 { SQLiteMigrations.latestVersion }

    public func openWriter() throws(StoreError) -> any ClaimStore {
        try self.openSQLiteWriter()
    }

    public func openReader() throws(StoreError) -> any ClaimStoreReader {
        try self.openSQLiteReader()
    }

    /// The writer with its concrete type (diagnostics such as ``SQLiteClaimStore/journalMode``).
    public func openSQLiteWriter() throws(StoreError) -> SQLiteClaimStore {
        let connection = try self.openConnection(busyTimeoutMs: self.writerBusyTimeoutMs)
        let background = self.checkpointIntervalMs > 0
        try connection.execute(
            "PRAGMA wal_autocheckpoint = \(background ? 0 : max(0, self.walAutocheckpointPages))", operation: "configure writer")
        // After the WAL starts over, its first commit truncates the file to this (it grows
        // past it only while a reader holds the start of the WAL).
        try connection.execute("PRAGMA journal_size_limit = \(Self.walSizeLimitBytes)", operation: "configure writer")
        // The writer's page cache holds the B-trees' upper levels of a store of tens of millions
        // of rows, so a random-key insert reads one leaf, not a path (SQLite's default is 2 MiB).
        try connection.execute("PRAGMA cache_size = -\(Self.writerCacheKiB)", operation: "configure writer")
        var checkpointer: SQLiteCheckpointer? = nil
        if background {
            let checkpointConnection: SQLiteConnection
            do {
                checkpointConnection = try self.openConnection(busyTimeoutMs: self.readerBusyTimeoutMs)
            } catch {
                connection.close()
                throw error
            }
            checkpointer = SQLiteCheckpointer(connection: checkpointConnection, intervalMs: self.checkpointIntervalMs)
            checkpointer?.start()
        }
        var syncer: SQLiteWALSyncer? = nil
        do {
            if self.pipelinedSync {
                try connection.execute("PRAGMA synchronous = NORMAL", operation: "configure writer")
                syncer = SQLiteWALSyncer(databasePath: self.path)
                syncer?.start()
            }
            return try SQLiteClaimStore(connection: connection, checkpointer: checkpointer, syncer: syncer)
        } catch {
            syncer?.stop()
            checkpointer?.stop()
            throw error
        }
    }

    /// A reader with its concrete type. It also migrates a fresh database, so a reader opened
    /// before the writer finds the schema rather than failing to prepare its statements.
    public func openSQLiteReader() throws(StoreError) -> SQLiteClaimStoreReader {
        let connection = try self.openConnection(busyTimeoutMs: self.readerBusyTimeoutMs)
        // A reader never writes: make a bug that tries fail loudly.
        try connection.execute("PRAGMA query_only = 1", operation: "configure reader")
        return try SQLiteClaimStoreReader(connection: connection)
    }

    private func openConnection(busyTimeoutMs: Int32) throws(StoreError) -> SQLiteConnection {
        let connection = try SQLiteConnection(path: self.path, busyTimeoutMs: busyTimeoutMs)
        do throws(StoreError) {
            let mode = try connection.queryText("PRAGMA journal_mode = WAL", operation: "set journal_mode")
            guard mode.lowercased() == "wal" else {
                throw StoreError("set journal_mode", "\(self.path) cannot use WAL (journal_mode is \(mode))")
            }
            try connection.execute("PRAGMA synchronous = FULL", operation: "set synchronous")
            try SQLiteMigrations.migrate(connection)
        } catch {
            connection.close()
            throw error
        }
        return connection
    }
}
