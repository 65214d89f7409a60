import ClaimlineCore

/// How a ``ClaimlineClient`` connects, and how hard it tries.
public struct ClaimlineClientConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var token: String
    /// Shown in the server's logs and audit records.
    public var clientName: String
    /// Connections in the pool; calls are spread over them and multiplexed on each.
    public var connections: Int = 2
    public var connectTimeout: Duration = .seconds(5)
    /// The whole logical call's time, retries included, unless a call gives its own.
    public var defaultTimeout: Duration = .seconds(5)
    public var retry = RetryPolicy()

    public init(host: String = "127.0.0.1", port: Int = 7400, token: String, clientName: String = "claimline-swift") {
        self.host = host
        self.port = port
        self.token = token
        self.clientName = clientName
    }
}

/// Which failures are retried, and how long to wait between attempts.
///
/// Every call is safe to retry here: reads change nothing, and every write carries an
/// idempotency key that the client generates once per logical call and reuses on each attempt,
/// so a retried write returns the first answer instead of acting twice. What is retried is
/// what a retry can fix: UNAVAILABLE (connection lost, server restarting, GOAWAY) and
/// RESOURCE_EXHAUSTED (too many streams); never a refusal such as INVALID_ARGUMENT.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int = 5
    public var initialBackoff: Duration = .milliseconds(50)
    public var maxBackoff: Duration = .seconds(2)
    public var multiplier: Double = 2

    public init() {}

    public func isRetryable(_ error: RPCError) -> Bool {
        error.code == .unavailable || error.code == .resourceExhausted
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
