import CSQLite
import ClaimlineStore
import Foundation
import Synchronization

/// Copies the WAL into the database file from a thread of its own, so the writer never does.
///
/// With SQLite's automatic checkpoints the commit that crosses the threshold copies every
/// WAL page and fsyncs the database file before it returns: a latency spike of tens of
/// milliseconds on the one writer every acknowledged call waits for. A PASSIVE checkpoint on
/// another connection runs beside the writer and the readers without blocking either; once it
/// has copied everything, the writer's next transaction starts the WAL over, so the file stays
/// bounded.
///
/// It runs often (every 10 ms by default), so each step copies little and its fsync of the
/// database is short; a step that finds nothing new costs a few microseconds.
final class SQLiteCheckpointer: @unchecked Sendable {
    private let connection: SQLiteConnection
    private let interval: TimeInterval
    /// Guarded by the loop's lock.
    private var lastRun = Date()
    private var loop: SQLiteBackgroundLoop!
    /// Set after each step that copied frames; the writer takes it to close the gap right after.
    private let finishedStep = Atomic<Bool>(false)

    init(connection: SQLiteConnection, intervalMs: Int) {
        self.connection = connection
        self.interval = Double(intervalMs) / 1000
        self.loop = SQLiteBackgroundLoop(
            name: "claimline-ckpt", interval: self.interval,
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
        let rc = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &checkpointed)
        if rc == SQLITE_OK && checkpointed > 0 { self.finishedStep.store(true, ordering: .releasing) }
    }

    /// Runs a step now rather than at the next interval: the writer wants the WAL's uncopied
    /// tail short before it closes the gap.
    func requestStep() {
        self.loop.condition.lock()
        self.lastRun = .distantPast
        self.loop.wake()
        self.loop.condition.unlock()
    }

    /// Whether a step finished since the last call (and clears it): the moment the WAL's
    /// uncopied tail is shortest.
    func takeFinishedStep() -> Bool {
        self.finishedStep.exchange(false, ordering: .acquiringAndReleasing)
    }
}
