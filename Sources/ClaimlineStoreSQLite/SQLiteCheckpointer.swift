import CSQLite
import ClaimlineStore
import Foundation

/// Copies the WAL into the database file from a thread of its own, so the writer never does.
///
/// With SQLite's automatic checkpoints the commit that crosses the threshold copies every
/// WAL page and fsyncs the database file before it returns: a latency spike of tens of
/// milliseconds on the one writer every acknowledged call waits for. A PASSIVE checkpoint on
/// another connection runs beside the writer and the readers without blocking either; once it
/// has copied everything, the writer's next transaction starts the WAL over, so the file stays
/// bounded.
final class SQLiteCheckpointer: @unchecked Sendable {
    private let connection: SQLiteConnection
    private let interval: TimeInterval
    /// Guarded by the loop's lock.
    private var lastRun = Date()
    private var loop: SQLiteBackgroundLoop!

    init(connection: SQLiteConnection, intervalMs: Int) {
        self.connection = connection
        self.interval = Double(intervalMs) / 1000
        self.loop = SQLiteBackgroundLoop(
            name: "claimline-checkpoint", interval: self.interval,
            take: { [unowned self] stopping in
                guard !stopping, Date().timeIntervalSince(self.lastRun) >= self.interval else { return nil }
                self.lastRun = Date()
                return { self.checkpoint() }
            },
            finish: { [unowned self] in self.connection.close() }
        )
    }

    func start() { self.loop.start() }

    /// Stops the thread and closes its connection; returns once both are done.
    func stop() { self.loop.stop() }

    private func checkpoint() {
        guard let db = self.connection.db else { return }
        var logFrames: Int32 = 0
        var checkpointed: Int32 = 0
        // Busy results are normal (a reader holds old frames): the next round retries.
        _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &checkpointed)
    }
}
