import ClaimlineCore
import ClaimlineWire

/// The `reason`s this client puts in the ``RPCError``s it makes itself (the server's own are
/// ``Reason``), named once: the retry and failover rules and the CLI decide on them.
public enum ClientReason {
    /// No connection could be made: refused, unreachable, timed out, or no HELLO_ACK in time.
    /// Nothing was sent.
    public static let connectFailed = FailoverReason.connectFailed
    /// The connection closed while the call was out: it may or may not have been applied.
    public static let connectionClosed = FailoverReason.connectionClosed
    /// The connection failed (bad bytes, a socket error) while the call was out: outcome unknown.
    public static let connectionError = "CONNECTION_ERROR"
    /// Above the server's GOAWAY last stream id: never processed, safe to send again.
    public static let goAwayUnprocessed = FailoverReason.goAwayUnprocessed
    /// The connection was closing when the call came: never written, safe to send again.
    public static let notSent = "NOT_SENT"
    /// No answer within the attempt's timeout (the call's budget, or with several addresses
    /// `failover.attemptTimeout`), or not even one attempt fitted the budget.
    public static let clientDeadline = FailoverReason.clientDeadline
    /// The client was closed.
    public static let clientClosed = "CLIENT_CLOSED"

    /// The reasons of a ``ClaimlineConnection`` call that may or may not have been applied
    /// (PROTOCOL.md 9.5). ``ClaimlineClient`` sums them up: a write of it that may have been
    /// applied ends with reason OUTCOME_UNKNOWN (PROTOCOL.md 8.1, the final error).
    public static let outcomeUnknown: Set<String> = [Reason.outcomeUnknown, connectionClosed, connectionError, clientDeadline]
}
