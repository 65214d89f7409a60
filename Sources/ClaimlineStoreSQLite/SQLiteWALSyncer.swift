import ClaimlineStore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Makes committed batches durable off the writer thread: the writer commits with
/// `synchronous=NORMAL` (the WAL frames are written, not synced) and goes on to the next
/// batch, while this thread `fdatasync`s the WAL and then calls the batch's `durable`. One
/// `fdatasync` covers every batch committed before it started, so under load the syncs
/// coalesce. Nobody is answered before their batch's sync returned: the durability is the
/// same as `synchronous=FULL`, the writer just does not wait for it.
///
/// SQLite itself still syncs what it must in NORMAL mode: the WAL before every checkpoint, the
/// database after, and the WAL header when the WAL starts over.
final class SQLiteWALSyncer: @unchecked Sendable {
    /// The operation of a failed sync's error: the writer never reopens the store after one.
    static let syncOperation = "sync WAL"

    private let walPath: String
    // Guarded by the loop's lock.
    private var waiting: [@Sendable (StoreError?) -> Void] = []
    private var failure: StoreError?
    /// Used by the loop's thread only.
    private var descriptor: Int32 = -1
    private var loop: SQLiteBackgroundLoop!

    init(databasePath: String) {
        self.walPath = databasePath + "-wal"
        self.loop = SQLiteBackgroundLoop(
            name: "claimline-sync",
            take: { [unowned self] _ in
                // Pending batches are synced even when stopping: nobody is left unanswered.
                guard !self.waiting.isEmpty else { return nil }
                let batch = self.waiting
                self.waiting.removeAll(keepingCapacity: true)
                return { self.syncAndAnswer(batch) }
            },
            finish: { [unowned self] in
                if self.descriptor >= 0 { close(self.descriptor) }
            }
        )
    }

    func start() { self.loop.start() }

    /// Called by the writer right after a commit returned.
    func enqueue(_ durable: @escaping @Sendable (StoreError?) -> Void) {
        self.loop.condition.lock()
        if let failure = self.failure {
            self.loop.condition.unlock()
            durable(failure)
            return
        }
        self.waiting.append(durable)
        self.loop.wake()
        self.loop.condition.unlock()
    }

    /// Syncs what is pending, then stops the thread.
    func stop() { self.loop.stop() }

    /// One fdatasync for every batch committed before it; then their answers.
    private func syncAndAnswer(_ batch: [@Sendable (StoreError?) -> Void]) {
        let error = self.sync()
        for durable in batch { durable(error) }
        if let error {
            self.loop.condition.lock()
            if self.failure == nil { self.failure = error }
            self.loop.condition.unlock()
        }
    }

    /// fdatasync of the WAL through a descriptor of our own: it syncs the file, whoever wrote it.
    private func sync() -> StoreError? {
        if self.descriptor < 0 {
            self.descriptor = open(self.walPath, O_RDWR | O_CLOEXEC)
            if self.descriptor < 0 {
                return StoreError(Self.syncOperation, "cannot open \(self.walPath): \(String(cString: strerror(errno)))", code: errno)
            }
        }
        while fdatasync(self.descriptor) != 0 {
            if errno == EINTR { continue }
            // After a failed fsync the kernel may have dropped the dirty pages: nothing written
            // since can be trusted as durable, so this failure is final (fail-stop).
            return StoreError(Self.syncOperation, String(cString: strerror(errno)), code: errno)
        }
        return nil
    }
}
