import Synchronization

/// Which of the configured instances the client works with now, and which failed recently.
///
/// One current address for the whole pool: the client sticks to an instance while it works
/// (no flapping back to one that just failed), and when it fails every connection and retry
/// moves to the next address, round robin, skipping those that failed within
/// ``ClaimlineClientConfiguration/failedAddressBackoff``. Shared by the pool's slots and the
/// calls; the current and last-served indexes are atomic so that no call takes a lock here
/// unless it failed.
final class AddressBook: Sendable {
    struct State {
        /// Until when each address is skipped; nil when it has not failed recently.
        var failedUntil: [ContinuousClock.Instant?]
        var failovers = 0
    }

    let addresses: [ClaimlineAddress]
    private let backoff: Duration
    private let currentIndex = Atomic<Int>(0)
    /// The address of the last successful answer; -1 before the first.
    private let lastServedIndex = Atomic<Int>(-1)
    private let state: Mutex<State>

    init(addresses: [ClaimlineAddress], backoff: Duration) {
        precondition(!addresses.isEmpty)
        self.addresses = addresses
        self.backoff = backoff
        self.state = Mutex(State(failedUntil: Array(repeating: nil, count: addresses.count)))
    }

    var count: Int { self.addresses.count }
    var current: Int { self.currentIndex.load(ordering: .relaxed) }

    /// Where to connect now: the current address, unless it is in its backoff and another is
    /// not (then that one becomes current). `inBackoff`: every address failed recently, so the
    /// caller should pace its attempts.
    func choose(now: ContinuousClock.Instant = .now) -> (index: Int, inBackoff: Bool) {
        self.state.withLock { state in
            let current = self.current
            if !Self.isFailed(state, current, now) { return (current, false) }
            guard let healthy = Self.nextHealthy(state, after: current, now: now) else { return (current, true) }
            self.move(&state, to: healthy)
            return (healthy, false)
        }
    }

    /// `index` refused a connection, dropped one, said GOAWAY or answered UNAVAILABLE: skip it
    /// for the backoff, and if it was current, move on to the next address (round robin; to a
    /// healthy one when there is one).
    func failed(_ index: Int, now: ContinuousClock.Instant = .now) {
        self.state.withLock { state in
            state.failedUntil[index] = now + self.backoff
            guard self.current == index, self.count > 1 else { return }
            let next = Self.nextHealthy(state, after: index, now: now) ?? (index + 1) % self.count
            self.move(&state, to: next)
        }
    }

    /// A connection to `index` completed its handshake: it is healthy again.
    func connected(_ index: Int) {
        self.state.withLock { $0.failedUntil[index] = nil }
    }

    /// `index` answered a call. Written only when it changes: every call passes here.
    func served(_ index: Int) {
        if self.lastServedIndex.load(ordering: .relaxed) != index { self.lastServedIndex.store(index, ordering: .relaxed) }
    }

    /// Whether the current address is usable without waiting (it has not failed recently).
    func currentIsHealthy(now: ContinuousClock.Instant = .now) -> Bool {
        self.state.withLock { !Self.isFailed($0, self.current, now) }
    }

    var diagnostics: ClaimlineClientDiagnostics {
        self.state.withLock { state in
            ClaimlineClientDiagnostics(
                addresses: self.addresses,
                currentAddress: self.addresses[self.current],
                lastServedAddress: self.lastServed.map { self.addresses[$0] },
                failovers: state.failovers
            )
        }
    }

    private var lastServed: Int? {
        let index = self.lastServedIndex.load(ordering: .relaxed)
        return index >= 0 ? index : nil
    }

    private func move(_ state: inout State, to index: Int) {
        guard index != self.current else { return }
        self.currentIndex.store(index, ordering: .relaxed)
        state.failovers += 1
    }

    private static func isFailed(_ state: State, _ index: Int, _ now: ContinuousClock.Instant) -> Bool {
        guard let until = state.failedUntil[index] else { return false }
        return until > now
    }

    private static func nextHealthy(_ state: State, after index: Int, now: ContinuousClock.Instant) -> Int? {
        let count = state.failedUntil.count
        for step in 1..<max(count, 1) {
            let candidate = (index + step) % count
            if !isFailed(state, candidate, now) { return candidate }
        }
        return nil
    }
}
