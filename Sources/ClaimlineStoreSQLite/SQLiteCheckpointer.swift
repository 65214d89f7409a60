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
    private let condition = NSCondition()
    private var stopping = false
    private var stopped = false

    init(connection: SQLiteConnection, intervalMs: Int) {
        self.connection = connection
        self.interval = Double(intervalMs) / 1000
    }

    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "claimline-checkpoint"
        thread.start()
    }

    /// Stops the thread and closes its connection; returns once both are done.
    func stop() {
        self.condition.lock()
        self.stopping = true
        self.condition.broadcast()
        while !self.stopped { self.condition.wait() }
        self.condition.unlock()
    }

    private func run() {
        self.condition.lock()
        while !self.stopping {
            _ = self.condition.wait(until: Date(timeIntervalSinceNow: self.interval))
            if self.stopping { break }
            self.condition.unlock()
            if let db = self.connection.db {
                var logFrames: Int32 = 0
                var checkpointed: Int32 = 0
                // Busy results are normal (a reader holds old frames): the next round retries.
                _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &checkpointed)
            }
            self.condition.lock()
        }
        self.connection.close()
        self.stopped = true
        self.condition.broadcast()
        self.condition.unlock()
    }
}
