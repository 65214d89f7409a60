import ClaimlineCore

/// How one attempt of a call ended (PROTOCOL.md 8.1, "Outcomes"): what decides whether the
/// request may have been applied, whether its instance becomes suspect, and whether the call
/// may send it again. The raw values are the table's and `scenarios.json`'s spelling.
public enum FailoverOutcome: String, Sendable, CaseIterable {
    /// A RESPONSE, or an ERROR not listed below: the call ends with it.
    case answer
    /// Refused, unreachable, no connection or HELLO_ACK within the connect timeout, GOAWAY
    /// instead of HELLO_ACK: nothing was sent.
    case connectFailed = "connect_failed"
    /// GOAWAY with the stream above its last stream id, or the connection was closing before
    /// the request was written: never processed.
    case goAwayUnprocessed = "goaway_unprocessed"
    /// ERROR 14 with any reason but OUTCOME_UNKNOWN: not applied.
    case unavailable
    /// ERROR 8 MAX_CONCURRENT_STREAMS: not processed, and says nothing bad of the instance.
    case exhausted
    /// ERROR 4 DEADLINE: the attempt's timeout passed before the server acted: not applied.
    case serverDeadline = "server_deadline"
    /// ERROR 14 OUTCOME_UNKNOWN: the store failed while committing.
    case outcomeUnknown = "outcome_unknown"
    /// The connection closed or failed after the request was written, or its keepalive expired.
    case lost
    /// No answer within the attempt's timeout.
    case attemptTimeout = "attempt_timeout"

    /// The outcome of a server's ERROR with this code and reason.
    public init(errorCode code: StatusCode, reason: String) {
        switch (code, reason) {
        case (.unavailable, Reason.outcomeUnknown): self = .outcomeUnknown
        case (.unavailable, _): self = .unavailable
        case (.resourceExhausted, Reason.maxConcurrentStreams): self = .exhausted
        case (.deadlineExceeded, _): self = .serverDeadline
        default: self = .answer
        }
    }

    /// The request may have been applied: a write is then reported OUTCOME_UNKNOWN unless a
    /// later attempt answers, and a write without an idempotency key is not sent again.
    public var mayHaveApplied: Bool {
        switch self {
        case .outcomeUnknown, .lost, .attemptTimeout: return true
        case .answer, .connectFailed, .goAwayUnprocessed, .unavailable, .exhausted, .serverDeadline: return false
        }
    }

    /// The instance is skipped for a while (step 6).
    public var makesSuspect: Bool {
        switch self {
        case .connectFailed, .goAwayUnprocessed, .unavailable, .outcomeUnknown, .lost, .attemptTimeout: return true
        case .answer, .exhausted, .serverDeadline: return false
        }
    }

    /// The server said so in an ERROR, whose code and reason are then the call's if it ends
    /// here; the other outcomes are the client's own findings, with its own status.
    public var isServerStatus: Bool {
        switch self {
        case .answer, .unavailable, .exhausted, .serverDeadline, .outcomeUnknown: return true
        case .connectFailed, .goAwayUnprocessed, .lost, .attemptTimeout: return false
        }
    }

    /// The status a call ends with when this was its last attempt and no server status says
    /// otherwise: the client's own for the outcomes that carry none (final error, rule 3), the
    /// server's usual one for the others.
    public var status: (code: StatusCode, reason: String) {
        switch self {
        case .connectFailed: return (.unavailable, FailoverReason.connectFailed)
        case .goAwayUnprocessed: return (.unavailable, FailoverReason.goAwayUnprocessed)
        case .lost: return (.unavailable, FailoverReason.connectionClosed)
        case .attemptTimeout: return (.deadlineExceeded, FailoverReason.clientDeadline)
        case .unavailable: return (.unavailable, Reason.storeUnavailable)
        case .exhausted: return (.resourceExhausted, Reason.maxConcurrentStreams)
        case .serverDeadline: return (.deadlineExceeded, Reason.deadline)
        case .outcomeUnknown: return (.unavailable, Reason.outcomeUnknown)
        case .answer: return (.ok, "")
        }
    }
}
