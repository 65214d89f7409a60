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
    private let walPath: String
    private let condition = NSCondition()
    private var waiting: [@Sendable (StoreError?) -> Void] = []
    private var failure: StoreError?
    private var stopping = false
    private var stopped = false
    private var descriptor: Int32 = -1

    init(databasePath: String) {
        self.walPath = databasePath + "-wal"
    }

    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "claimline-walsync"
        thread.start()
    }

    /// Called by the writer right after a commit returned.
    func enqueue(_ durable: @escaping @Sendable (StoreError?) -> Void) {
        self.condition.lock()
        if let failure = self.failure {
            self.condition.unlock()
            durable(failure)
            return
        }
        self.waiting.append(durable)
        self.condition.signal()
        self.condition.unlock()
    }

    /// Syncs what is pending, then stops the thread.
    func stop() {
        self.condition.lock()
        self.stopping = true
        self.condition.broadcast()
        while !self.stopped { self.condition.wait() }
        self.condition.unlock()
    }

    private func run() {
        self.condition.lock()
        while true {
            while self.waiting.isEmpty && !self.stopping { self.condition.wait() }
            if self.waiting.isEmpty && self.stopping { break }
            let batch = self.waiting
            self.waiting.removeAll(keepingCapacity: true)
            self.condition.unlock()
            let error = self.sync()
            for durable in batch { durable(error) }
            self.condition.lock()
            if let error, self.failure == nil { self.failure = error }
        }
        if self.descriptor >= 0 { close(self.descriptor) }
        self.stopped = true
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// fdatasync of the WAL through a descriptor of our own: it syncs the file, whoever wrote it.
    private func sync() -> StoreError? {
        if self.descriptor < 0 {
            self.descriptor = open(self.walPath, O_RDWR | O_CLOEXEC)
            if self.descriptor < 0 {
                return StoreError("sync WAL", "cannot open \(self.walPath): \(String(cString: strerror(errno)))", code: errno)
            }
        }
        while fdatasync(self.descriptor) != 0 {
            if errno == EINTR { continue }
            // After a failed fsync the kernel may have dropped the dirty pages: nothing written
            // since can be trusted as durable, so this failure is final (fail-stop).
            return StoreError("sync WAL", String(cString: strerror(errno)), code: errno)
        }
        return nil
    }
}
