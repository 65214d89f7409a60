import CSQLite
import Foundation

/// The one way the SQLite store runs work beside its writer: a named thread, a condition, and
/// a stop that waits for the thread to finish. The WAL syncer and the checkpointer are two of
/// these (each on its own thread: a checkpoint takes tens of milliseconds and must never sit
/// in front of a sync that callers wait for).
///
/// `take` runs with the lock held: it returns the work to do now (run outside the lock), or
/// nil to wait — for a ``wake()``, a ``stop()`` or, with an `interval`, that long. When stopping,
/// the loop still runs what `take` returns, then ends once `take` returns nil; `finish` runs
/// last, on the thread.
final class SQLiteBackgroundLoop: @unchecked Sendable {
    /// Guards the state of the loop's owner too (its `take` runs under it).
    let condition = NSCondition()
    private let name: String
    private let interval: TimeInterval?
    private let take: (_ stopping: Bool) -> (() -> Void)?
    private let finish: () -> Void
    private var stopping = false
    private var stopped = false

    init(
        name: String, interval: TimeInterval? = nil, take: @escaping (_ stopping: Bool) -> (() -> Void)?,
        finish: @escaping () -> Void = {}
    ) {
        self.name = name
        self.interval = interval
        self.take = take
        self.finish = finish
    }

    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = self.name
        thread.start()
    }

    /// Call with `condition` held, after giving the loop work.
    func wake() {
        self.condition.signal()
    }

    /// Lets the loop finish what `take` still returns, then waits for its thread to end.
    func stop() {
        self.condition.lock()
        self.stopping = true
        self.condition.broadcast()
        while !self.stopped { self.condition.wait() }
        self.condition.unlock()
    }

    private func run() {
        // Foundation's `Thread.name` does not reach the kernel here: name the thread for `top -H`,
        // `perf` and /proc (at most 15 bytes).
        clm_set_thread_name(String(self.name.prefix(15)))
        self.condition.lock()
        while true {
            if let work = self.take(self.stopping) {
                self.condition.unlock()
                work()
                self.condition.lock()
                continue
            }
            if self.stopping { break }
            if let interval = self.interval {
                _ = self.condition.wait(until: Date(timeIntervalSinceNow: interval))
            } else {
                self.condition.wait()
            }
        }
        self.condition.unlock()
        self.finish()
        self.condition.lock()
        self.stopped = true
        self.condition.broadcast()
        self.condition.unlock()
    }
}
