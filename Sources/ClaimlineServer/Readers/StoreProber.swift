import ClaimlineStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Asks the store, every ``Settings/interval``, whether it still answers, on a thread and a
/// store connection of its own, so that `/readyz` tells the truth even when no call comes:
/// the writer learns of a frozen database only when a batch waits on it, and a reader only
/// when a read does.
///
/// Readiness never waits for a probe: it compares the time of the last answer with now. A
/// probe that hangs (a frozen database holds it until the link's query timeout) therefore
/// makes the store "not answering" ``Settings/staleAfter`` after its last answer, whatever
/// the probe is doing; the first answer after that makes it ready again.
final class StoreProber: Sendable {
    struct Settings: Sendable {
        /// Between the end of one probe and the start of the next.
        var interval: Duration = .milliseconds(100)
        /// How old the last answer may be for the store to count as answering.
        var staleAfter: Duration = .milliseconds(600)
    }

    private let backend: any ClaimStoreBackend
    private let settings: Settings
    private let logger: Logger
    private let thread = NIOThreadPool(numberOfThreads: 1)
    /// Uptime of the last answer, in nanoseconds; 0 before the first.
    private let lastAnswerNanos = Atomic<Int64>(0)
    private let lastFailure = Mutex<String?>(nil)
    private let stopping = Mutex(false)
    private let wakeUp = NSCondition()

    init(backend: any ClaimStoreBackend, settings: Settings = Settings(), logger: Logger) {
        self.backend = backend
        self.settings = settings
        self.logger = logger
    }

    func start() {
        self.thread.start()
        self.thread.submit { [self] _ in self.run() }
    }

    /// Stops the loop; a probe under way finishes first (bounded by the store's own timeout).
    func stop() async throws {
        self.requestStop()
        try await self.thread.shutdownGracefully()
    }

    private func requestStop() {
        self.wakeUp.lock()
        self.stopping.withLock { $0 = true }
        self.wakeUp.signal()
        self.wakeUp.unlock()
    }

    /// Nil while the store answered within ``Settings/staleAfter``; else what readiness says.
    func notAnswering(nowNanos: Int64 = Int64(NIODeadline.now().uptimeNanoseconds)) -> String? {
        let last = self.lastAnswerNanos.load(ordering: .relaxed)
        let age = nowNanos - last
        guard last == 0 || age > self.settings.staleAfter.nanoseconds else { return nil }
        let why = self.lastFailure.withLock { $0 }
        let since = last == 0 ? "no answer yet" : "no answer for \(age / 1_000_000) ms"
        return "store not answering a probe (\(since)\(why.map { "; last error: \($0)" } ?? ""))"
    }

    private func run() {
        var reader: (any ClaimStoreReader)?
        var failing = false
        while !self.stopping.withLock({ $0 }) {
            do {
                if reader == nil { reader = try self.backend.openReader() }
                try reader?.probe()
                self.lastAnswerNanos.store(Int64(NIODeadline.now().uptimeNanoseconds), ordering: .relaxed)
                if failing {
                    failing = false
                    self.lastFailure.withLock { $0 = nil }
                    self.logger.notice("store answers its probe again")
                }
            } catch {
                reader?.close()
                reader = nil
                self.lastFailure.withLock { $0 = error.description }
                if !failing {
                    failing = true
                    self.logger.warning("store probe failed", metadata: ["store.error": "\(error)"])
                }
            }
            self.wakeUp.lock()
            if !self.stopping.withLock({ $0 }) {
                _ = self.wakeUp.wait(until: Date(timeIntervalSinceNow: Double(self.settings.interval.nanoseconds) / 1e9))
            }
            self.wakeUp.unlock()
        }
        reader?.close()
    }
}

extension Duration {
    /// The whole nanoseconds of this duration (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue + attoseconds / 1_000_000_000
    }
}
