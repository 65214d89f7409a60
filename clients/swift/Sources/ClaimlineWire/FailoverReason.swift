/// The `reason`s a client gives a call that ended without a server's answer (PROTOCOL.md 8.1,
/// "The final error tells the truth"; 9.7 lists them with the server's). Named once here, for
/// the planner and the Swift client's `ClientReason`.
public enum FailoverReason {
    /// Every attempt failed to connect (refused, unreachable, no HELLO_ACK in time): nothing
    /// was sent. The message names every address.
    public static let connectFailed = "CONNECT_FAILED"
    /// The connection closed, failed or was reset after the request was written.
    public static let connectionClosed = "CONNECTION_CLOSED"
    /// Above the server's GOAWAY last stream id, or never written: never processed.
    public static let goAwayUnprocessed = "GOAWAY_UNPROCESSED"
    /// The last attempt got no answer within its timeout, or not even one attempt fitted the
    /// call's budget.
    public static let clientDeadline = "CLIENT_DEADLINE"
}
