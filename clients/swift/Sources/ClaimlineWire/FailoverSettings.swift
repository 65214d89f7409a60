/// The settings of PROTOCOL.md 8.1's failover algorithm, with its defaults: every client in the
/// repository (Swift, C, Python, the CLI) starts from the same values, and
/// `proto/failover/scenarios.json` is written against them. Each may be changed by the
/// application; the Swift client takes them in `ClaimlineClientConfiguration.failover`.
public struct FailoverSettings: Sendable, Equatable {
    /// One attempt on one instance when the client has two or more addresses; with one address
    /// an attempt may use the whole remaining budget. It is the REQUEST's timeout too.
    public var attemptTimeout: Duration = .milliseconds(1000)
    /// TCP connect plus HELLO_ACK: an instance that accepts but never answers HELLO counts as
    /// down after this long. Never more than the attempt's own timeout.
    public var connectTimeout: Duration = .milliseconds(1000)
    /// A connection with a call out and no frame received for this long gets a PING.
    public var keepaliveInterval: Duration = .milliseconds(1000)
    /// No frame of any kind within this after that PING: the connection is dead (reset).
    public var keepaliveTimeout: Duration = .milliseconds(1000)
    /// An open connection with no call out and nothing received for this long gets a PING.
    public var idleKeepalive: Duration = .milliseconds(10000)
    /// How long an instance that failed is skipped: `suspectBase × 2^(k-1)` after its k-th
    /// failure in a row, at most `suspectMax`, at least the server's `retry_after_ms`.
    public var suspectBase: Duration = .milliseconds(500)
    public var suspectMax: Duration = .milliseconds(5000)
    /// The pause before an attempt that goes to an instance that is suspect or that just
    /// failed: `backoffInitial × 2^(w-1)` for the call's w-th such wait, at most `backoffMax`.
    public var backoffInitial: Duration = .milliseconds(50)
    public var backoffMax: Duration = .milliseconds(1000)

    public init() {}
}

extension Duration {
    /// Whole nanoseconds, for the planner's arithmetic on a monotonic clock (0 for a negative
    /// duration, `UInt64.max` past it).
    public var failoverNanoseconds: UInt64 {
        let (seconds, attoseconds) = self.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        let (sum, carry) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return carry ? .max : sum
    }
}
