import ClaimlineWire
import Synchronization

/// The run's instances and which of them are suspect: PROTOCOL.md 8.1's ``AddressBook``, the
/// same the clients use, shared by every connection on every event loop, so that when one
/// connection finds an instance dead the others do not each have to find out by trying it.
/// Touched only on connects and losses, never per call.
///
/// The harness keeps its own per-connection semantics otherwise: connection i starts on
/// address i mod n (the load is spread, not sent to one current address), and a connection
/// whose instance dies moves on by itself, with the book deciding where and after what pause.
public final class LoadTargets: Sendable {
    public let addresses: [LoadTarget]
    private let book: Mutex<AddressBook>

    public init(addresses: [LoadTarget], settings: FailoverSettings = FailoverSettings()) {
        precondition(!addresses.isEmpty)
        self.addresses = addresses
        self.book = Mutex(AddressBook(count: addresses.count, settings: settings))
    }

    public var count: Int { self.addresses.count }

    /// Connection `number`'s first address: `number mod n`, or the next one that is not
    /// suspect when that one is.
    public func first(for number: Int, now: UInt64) -> Int {
        let preferred = number % self.count
        return self.book.withLock { book in
            book.isSuspect(preferred, now: now) ? (book.nextHealthy(after: preferred, now: now) ?? preferred) : preferred
        }
    }

    /// A connection to `index` failed (`connect_failed`) or was lost (`lost`): the address is
    /// suspect for a while, longer with each failure in a row (step 6). A completed handshake is
    /// recorded as `answer`: the harness does not report each call to the book, and an instance
    /// that took a connection is healthy again.
    public func record(_ outcome: FailoverOutcome, at index: Int, now: UInt64) {
        self.book.withLock { $0.record(outcome, at: index, now: now) }
    }

    /// Whether `index` is suspect at `now`.
    public func isSuspect(_ index: Int, now: UInt64) -> Bool {
        self.book.withLock { $0.isSuspect(index, now: now) }
    }

    /// Where a connection goes after `index` failed: the next address that is not suspect, at
    /// once; or, every address being suspect, the next one round robin after step 4's pause
    /// for the connection's `waits`-th wait in a row (counted by the caller; it adds one),
    /// multiplied by `jitter`.
    public func next(after index: Int, waits: inout Int, now: UInt64, jitter: Double = 1) -> (index: Int, waitNanos: UInt64) {
        self.book.withLock { book in
            if let healthy = book.nextHealthy(after: index, now: now) { return (healthy, 0) }
            waits += 1
            let pause = book.pause(wait: waits, retryAfterMs: 0, jitter: jitter)
            return ((index + 1) % book.count, pause)
        }
    }
}
