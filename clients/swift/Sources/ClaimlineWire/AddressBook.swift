/// Which of a client's addresses is current and which are suspect, until when (PROTOCOL.md 8.1,
/// steps 1 and 6): shared by every call of one client, and by every connection of the load
/// harness. No I/O and no clock of its own: times are nanoseconds on a monotonic clock the owner
/// passes in. A value type; an owner that shares it between threads keeps it under a lock.
///
/// One current address for all calls, so that a client does not flap between instances: it
/// changes only when the current one becomes suspect, and then to the next one after it that is
/// not, which stays current (sticky) even once the first is healthy again.
public struct AddressBook: Sendable {
    public let count: Int
    public let settings: FailoverSettings
    /// Where calls go while it is not suspect.
    public private(set) var current = 0
    /// How many times `current` moved because an address became suspect (never with one address).
    public private(set) var failovers = 0
    /// Per address: until when it is skipped; nil when it is not suspect.
    private var suspectUntil: [UInt64?]
    /// Per address: failures since its last answer (k of step 6).
    private var failures: [Int]

    public init(count: Int, settings: FailoverSettings = FailoverSettings()) {
        precondition(count >= 1, "an address book needs at least one address")
        self.count = count
        self.settings = settings
        self.suspectUntil = Array(repeating: nil, count: count)
        self.failures = Array(repeating: 0, count: count)
    }

    public func isSuspect(_ index: Int, now: UInt64) -> Bool {
        guard let until = self.suspectUntil[index] else { return false }
        return until > now
    }

    /// Until when `index` is skipped, if it is suspect at `now`.
    public func suspicionEnds(_ index: Int, now: UInt64) -> UInt64? {
        self.isSuspect(index, now: now) ? self.suspectUntil[index] : nil
    }

    /// Step 1: the current address; else the next one after it that is not suspect, which
    /// becomes current; else, every address being suspect, the next after `lastTried` (or after
    /// the current one), round robin, which the caller reaches after a pause (step 4).
    public mutating func choose(now: UInt64, lastTried: Int?) -> Int {
        if !self.isSuspect(self.current, now: now) { return self.current }
        if let healthy = self.nextHealthy(after: self.current, now: now) {
            self.move(to: healthy)
            return healthy
        }
        return ((lastTried ?? self.current) + 1) % self.count
    }

    /// The first address after `index`, round robin, that is not suspect (not `index` itself).
    public func nextHealthy(after index: Int, now: UInt64) -> Int? {
        for step in 1..<max(self.count, 1) {
            let candidate = (index + step) % self.count
            if !self.isSuspect(candidate, now: now) { return candidate }
        }
        return nil
    }

    /// Step 6: an attempt on `index` ended with `outcome` at `now`. An answer clears the address;
    /// a suspect outcome skips it until `now + max(suspectBase × 2^(k-1) capped at suspectMax,
    /// retry_after_ms)`, and if it was current, the next address that is not suspect becomes
    /// current.
    public mutating func record(_ outcome: FailoverOutcome, at index: Int, now: UInt64, retryAfterMs: UInt32 = 0) {
        if outcome == .answer {
            self.failures[index] = 0
            self.suspectUntil[index] = nil
            return
        }
        guard outcome.makesSuspect else { return }
        self.failures[index] += 1
        let span = max(self.suspicion(failures: self.failures[index]), UInt64(retryAfterMs) * 1_000_000)
        self.suspectUntil[index] = now &+ span
        if index == self.current, self.count > 1, let healthy = self.nextHealthy(after: index, now: now) {
            self.move(to: healthy)
        }
    }

    /// How long an address is skipped after its k-th failure in a row (before the server's hint).
    public func suspicion(failures k: Int) -> UInt64 {
        Self.doubling(self.settings.suspectBase.failoverNanoseconds, times: k - 1, cap: self.settings.suspectMax.failoverNanoseconds)
    }

    /// Step 4's pause for a call's (or a harness connection's) w-th wait: the backoff times the
    /// random factor `jitter`, at least the failed attempt's `retry_after_ms`.
    public func pause(wait w: Int, retryAfterMs: UInt32, jitter: Double = 1) -> UInt64 {
        let base = Self.doubling(
            self.settings.backoffInitial.failoverNanoseconds, times: w - 1, cap: self.settings.backoffMax.failoverNanoseconds)
        // The factor spreads the backoff only: the server's hint is a floor (PROTOCOL.md 8.1, step 4).
        return max(UInt64((Double(base) * jitter).rounded()), UInt64(retryAfterMs) * 1_000_000)
    }

    private mutating func move(to index: Int) {
        guard index != self.current else { return }
        self.current = index
        self.failovers += 1
    }

    /// `base × 2^times`, at most `cap`, without overflowing however many failures.
    static func doubling(_ base: UInt64, times: Int, cap: UInt64) -> UInt64 {
        var value = min(base, cap)
        for _ in 0..<max(0, times) {
            guard value > 0, value < cap else { break }
            value = min(cap, value.multipliedReportingOverflow(by: 2).overflow ? cap : value * 2)
        }
        return value
    }
}
