import ClaimlineCore

/// Which failures are retried, and how long to wait between attempts.
///
/// Reads change nothing, and every write the typed API sends carries an idempotency key that
/// the client generates once per logical call and reuses on each attempt (on whichever
/// instance), so a retried write returns the first answer instead of acting twice. What is
/// retried is what a retry can fix: UNAVAILABLE (connection lost or refused, server restarting,
/// GOAWAY, store failure) and RESOURCE_EXHAUSTED (too many streams); never a refusal such as
/// INVALID_ARGUMENT. A write sent without a key is retried only when it was certainly not
/// applied (``outcomeIsUnknown(_:)``).
public struct RetryPolicy: Sendable {
    /// Attempts of one logical call, the first included, over every address (with several
    /// addresses at least one per address and one more).
    public var maxAttempts: Int = 5
    public var initialBackoff: Duration = .milliseconds(50)
    public var maxBackoff: Duration = .seconds(2)
    public var multiplier: Double = 2

    public init() {}

    public func isRetryable(_ error: RPCError) -> Bool {
        guard error.reason != ClientReason.clientClosed else { return false }  // nothing left to retry on
        return error.code == .unavailable || error.code == .resourceExhausted
    }

    /// Whether the call may have been applied although it failed: the connection went while it
    /// was out, the store failed while committing it (OUTCOME_UNKNOWN), or this client stopped
    /// waiting. Only a write with its idempotency key may be sent again after one of these
    /// (PROTOCOL.md 9.5); every other retryable failure says the call was not applied.
    public static func outcomeIsUnknown(_ error: RPCError) -> Bool {
        ClientReason.outcomeUnknown.contains(error.reason)
    }

    /// The wait before attempt `attempt` (2, 3, ...): exponential, with full jitter so that
    /// many clients reconnecting after a restart do not arrive in lockstep.
    public func backoff(beforeAttempt attempt: Int, hint: UInt32 = 0) -> Duration {
        let exponent = Double(max(0, attempt - 2))
        let base = min(self.initialBackoff * pow2(self.multiplier, exponent), self.maxBackoff)
        let jittered = base * Double.random(in: 0.5...1.0)
        return max(jittered, .milliseconds(Int64(hint)))
    }

    private func pow2(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= base }
        return result
    }
}
