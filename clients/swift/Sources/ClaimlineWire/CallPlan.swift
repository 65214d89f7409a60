import ClaimlineCore

/// One logical call under PROTOCOL.md 8.1 (steps 1 to 5 and the final error), without I/O:
/// it says where and when the next attempt goes and with what timeout, or how the call ends,
/// from the outcomes its owner reports. The Swift client and the CLI carry out what it says;
/// `Tests/ClaimlineWireTests` replays `proto/failover/scenarios.json` against it, as the C and
/// Python clients replay the same table against theirs.
///
/// Times are nanoseconds on the monotonic clock the owner passes in (the same as its
/// ``AddressBook``'s). Attempts are not counted: only the budget ends a call.
public struct CallPlan: Sendable {
    /// Where and when the next attempt goes.
    public struct Attempt: Sendable, Equatable {
        public var address: Int
        /// When it starts: `now`, or later after step 4's pause.
        public var at: UInt64
        /// The attempt's timeout, also the REQUEST frame's: at least 1 ms.
        public var timeout: UInt64

        public init(address: Int, at: UInt64, timeout: UInt64) {
            self.address = address
            self.at = at
            self.timeout = timeout
        }

        /// When the attempt is given up.
        public var end: UInt64 { self.at &+ self.timeout }
    }

    /// What the owner does next.
    public enum Step: Sendable, Equatable {
        case attempt(Attempt)
        /// The last attempt's answer is the call's.
        case answered
        /// The call ends without an answer, with this status (the final error's rules).
        case failed(code: StatusCode, reason: String)
    }

    public let kind: FailoverCallKind
    /// When the budget ends.
    public let deadline: UInt64
    /// A factor in [0.5, 1] for each pause, so that many clients do not come back in step.
    private let jitter: @Sendable () -> Double
    public private(set) var attempts = 0
    private var lastAddress: Int?
    private var lastOutcome: FailoverOutcome?
    private var lastStatus: (code: StatusCode, reason: String)?
    private var lastRetryAfterMs: UInt32 = 0
    /// Pauses so far (w of step 4).
    private var waits = 0
    /// An attempt ended outcome_unknown, lost or attempt_timeout.
    private var unknown = false
    /// Every attempt so far failed to connect (final error, rule 2).
    public private(set) var onlyConnectFailures = true
    private var ended = false

    /// - Parameters:
    ///   - start: when the caller asked (its clock reading).
    ///   - budget: the caller's deadline, relative to `start`.
    ///   - jitter: the pause's random factor; the scenario table uses 1.
    public init(
        kind: FailoverCallKind, start: UInt64, budget: UInt64, jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.5...1) }
    ) {
        self.kind = kind
        self.deadline = start &+ budget
        self.jitter = jitter
    }

    /// The next step at `now`: an attempt (at `now`, or later after the pause), or the end.
    public mutating func next(now: UInt64, book: inout AddressBook) -> Step {
        precondition(!self.ended, "the call has ended")
        if self.lastOutcome == .answer { return self.finish(.answered) }
        if let outcome = self.lastOutcome, !self.kind.retries(after: outcome) { return self.finish(self.finalError) }
        let address = book.choose(now: now, lastTried: self.lastAddress)
        var pause: UInt64 = 0
        if self.lastOutcome != nil {
            let movedOn = address != self.lastAddress && !book.isSuspect(address, now: now)
            if !movedOn {
                self.waits += 1
                pause = book.pause(wait: self.waits, retryAfterMs: self.lastRetryAfterMs, jitter: self.jitter())
            }
        }
        let start = now &+ pause
        guard start < self.deadline, self.deadline - start >= Self.millisecond else { return self.finish(self.finalError) }
        let remaining = self.deadline - start
        let timeout = book.count > 1 ? min(book.settings.attemptTimeout.failoverNanoseconds, remaining) : remaining
        return .attempt(Attempt(address: address, at: start, timeout: max(timeout, Self.millisecond)))
    }

    /// `attempt` ended at `now` with `outcome`; `status` is the server's code and reason when
    /// it answered an ERROR, `retryAfterMs` its hint. Also tells `book` (step 6).
    public mutating func record(
        _ attempt: Attempt, outcome: FailoverOutcome, now: UInt64, retryAfterMs: UInt32 = 0,
        status: (code: StatusCode, reason: String)? = nil, book: inout AddressBook
    ) {
        self.attempts += 1
        self.lastAddress = attempt.address
        self.lastOutcome = outcome
        self.lastRetryAfterMs = retryAfterMs
        self.lastStatus = status ?? outcome.status
        if outcome.mayHaveApplied { self.unknown = true }
        if outcome != .connectFailed { self.onlyConnectFailures = false }
        book.record(outcome, at: attempt.address, now: now, retryAfterMs: retryAfterMs)
    }

    /// Whether an attempt of this call may have been applied (a read never counts: it applies
    /// nothing).
    public var mayHaveApplied: Bool { self.kind != .read && self.unknown }

    /// The final error's rules: OUTCOME_UNKNOWN for a write any of whose attempts may have been
    /// applied, whatever later attempts said; CONNECT_FAILED when every attempt failed to
    /// connect; else the last attempt's status (CLIENT_DEADLINE when there was none).
    public var finalError: Step {
        if self.mayHaveApplied { return .failed(code: .unavailable, reason: Reason.outcomeUnknown) }
        guard self.attempts > 0 else { return .failed(code: .deadlineExceeded, reason: FailoverReason.clientDeadline) }
        if self.onlyConnectFailures { return .failed(code: .unavailable, reason: FailoverReason.connectFailed) }
        let status = self.lastStatus ?? (.unavailable, "")
        return .failed(code: status.code, reason: status.reason)
    }

    private static let millisecond: UInt64 = 1_000_000

    private mutating func finish(_ step: Step) -> Step {
        self.ended = true
        return step
    }
}
