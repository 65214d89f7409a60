import Synchronization

/// The run's instances and which of them failed recently, shared by every connection on every
/// event loop: when one connection finds an instance dead, the others do not each have to
/// find out by trying it. Touched only on connects and losses, never per call.
public final class LoadTargets: Sendable {
    public let addresses: [LoadTarget]
    private let backoffNanos: UInt64
    /// Per address, uptime ns until which it is skipped (0: not failed).
    private let failedUntil: Mutex<[UInt64]>

    public init(addresses: [LoadTarget], backoffMs: UInt32) {
        precondition(!addresses.isEmpty)
        self.addresses = addresses
        self.backoffNanos = UInt64(backoffMs) * 1_000_000
        self.failedUntil = Mutex(Array(repeating: 0, count: addresses.count))
    }

    public var count: Int { self.addresses.count }

    /// Connection `number`'s first address: `number mod n`, or the next healthy one if that
    /// one failed recently.
    public func first(for number: Int, now: UInt64) -> Int {
        let preferred = number % self.count
        return self.failedUntil.withLock { until in
            until[preferred] <= now ? preferred : Self.next(until, after: preferred, now: now).index
        }
    }

    /// `index` refused, dropped or GOAWAYed a connection: skip it for the backoff.
    public func failed(_ index: Int, now: UInt64) {
        self.failedUntil.withLock { $0[index] = now + self.backoffNanos }
    }

    /// A handshake with `index` completed: it is healthy again.
    public func connected(_ index: Int) {
        self.failedUntil.withLock { $0[index] = 0 }
    }

    /// Where to go after `index`: the next address round robin that has not failed recently
    /// (at once), or, when all have, the one whose backoff ends first (after `waitNanos`).
    public func next(after index: Int, now: UInt64) -> (index: Int, waitNanos: UInt64) {
        self.failedUntil.withLock { Self.next($0, after: index, now: now) }
    }

    private static func next(_ until: [UInt64], after index: Int, now: UInt64) -> (index: Int, waitNanos: UInt64) {
        let count = until.count
        var soonest = (index: (index + 1) % count, at: UInt64.max)
        for step in 1...count {
            let candidate = (index + step) % count
            if until[candidate] <= now { return (candidate, 0) }
            if until[candidate] < soonest.at { soonest = (candidate, until[candidate]) }
        }
        // Never a busy loop, even with a zero backoff.
        return (soonest.index, max(soonest.at - now, 10_000_000))
    }
}
