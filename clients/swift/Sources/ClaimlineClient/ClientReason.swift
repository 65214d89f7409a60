import ClaimlineCore

/// The `reason`s this client puts in the ``RPCError``s it makes itself (the server's own are
/// ``Reason``), named once: the retry and failover rules and the CLI decide on them.
public enum ClientReason {
    /// No connection could be made: refused, unreachable, timed out, or no HELLO_ACK in time.
    /// Nothing was sent.
    public static let connectFailed = "CONNECT_FAILED"
    /// The connection closed while the call was out: it may or may not have been applied.
    public static let connectionClosed = "CONNECTION_CLOSED"
    /// The connection failed (bad bytes, a socket error) while the call was out: outcome unknown.
    public static let connectionError = "CONNECTION_ERROR"
    /// Above the server's GOAWAY last stream id: never processed, safe to send again.
    public static let goAwayUnprocessed = "GOAWAY_UNPROCESSED"
    /// The connection was closing when the call came: never written, safe to send again.
    public static let notSent = "NOT_SENT"
    /// The connection was being given up by this client (it moved to another address) when the
    /// call came: never written, and says nothing about the server.
    public static let connectionRetired = "CONNECTION_RETIRED"
    /// The call's whole budget ran out on this side.
    public static let clientDeadline = "CLIENT_DEADLINE"
    /// The client was closed.
    public static let clientClosed = "CLIENT_CLOSED"

    /// The failures after which a write may or may not have been applied (PROTOCOL.md 9.5).
    public static let outcomeUnknown: Set<String> = [Reason.outcomeUnknown, connectionClosed, connectionError, clientDeadline]
}
