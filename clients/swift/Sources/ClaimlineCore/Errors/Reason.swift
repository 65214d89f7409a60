/// Every machine-readable `reason` the server sends in an ERROR or a GOAWAY, named once.
/// PROTOCOL.md section 9.7 lists the same table; a test keeps the two equal.
public enum Reason {
    /// One or more fields are invalid; `field_violations` names them.
    public static let invalidField = "INVALID_FIELD"
    /// The request is not a valid message of the method's type, and no one field is to blame.
    public static let malformedMessage = "MALFORMED_MESSAGE"
    /// No such method number.
    public static let unknownMethod = "UNKNOWN_METHOD"
    /// The client's role may not call the method.
    public static let role = "ROLE"
    /// More requests in flight than `max_concurrent_streams`.
    public static let maxConcurrentStreams = "MAX_CONCURRENT_STREAMS"
    /// The answer would not fit `max_frame_size`.
    public static let responseTooLarge = "RESPONSE_TOO_LARGE"
    /// The deadline passed before the server acted; for a write: not applied.
    public static let deadline = "DEADLINE"
    /// The call does not fit the contact's state (`current_state`).
    public static let contactState = "CONTACT_STATE"
    /// The claim's status may not move that way.
    public static let claimStatusTransition = "CLAIM_STATUS_TRANSITION"
    /// No claim with that number.
    public static let claimNotFound = "CLAIM_NOT_FOUND"
    /// No live contact with that call id.
    public static let contactNotFound = "CONTACT_NOT_FOUND"
    /// No incident with that id.
    public static let incidentNotFound = "INCIDENT_NOT_FOUND"
    /// The incident was already withdrawn.
    public static let incidentWithdrawn = "INCIDENT_WITHDRAWN"
    /// The key was used for a different request.
    public static let idempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
    /// The store failed: not applied; writes are refused until a restart.
    public static let storeFailed = "STORE_FAILED"
    /// The store failed while committing: retry with the same key.
    public static let outcomeUnknown = "OUTCOME_UNKNOWN"
    /// The database is unreachable for now (restarting, network): not applied; retry, here
    /// after `retry_after_ms` or on another instance. The server reconnects by itself.
    public static let storeUnavailable = "STORE_UNAVAILABLE"
    /// Another instance holds the contact's (or the key's) lock past the store's bound (it is
    /// busy with it, or frozen with its transaction open): not applied; retry after
    /// `retry_after_ms`, here or on another instance.
    public static let contactBusy = "CONTACT_BUSY"
    /// A read failed in the store.
    public static let storeRead = "STORE_READ"
    /// Withdrawn before the writer took it (never sent: nobody waits for it).
    public static let notApplied = "NOT_APPLIED"
    /// The server is shutting down.
    public static let shutdown = "SHUTDOWN"
    /// No REQUEST for the idle timeout.
    public static let idleTimeout = "IDLE_TIMEOUT"
    /// No PONG to the server's PING.
    public static let keepaliveTimeout = "KEEPALIVE_TIMEOUT"
    /// No HELLO within the handshake timeout.
    public static let handshakeTimeout = "HANDSHAKE_TIMEOUT"
    /// Too many sockets waiting for HELLO; this one waited longest.
    public static let handshakeEvicted = "HANDSHAKE_EVICTED"
    /// Unknown token.
    public static let unauthenticated = "UNAUTHENTICATED"
    /// HELLO's client name too long or not printable.
    public static let invalidClientName = "INVALID_CLIENT_NAME"
    /// The server's authenticated connections are at their limit.
    public static let tooManyConnections = "TOO_MANY_CONNECTIONS"
    /// This address's connections are at their limit.
    public static let tooManyConnectionsFromAddress = "TOO_MANY_CONNECTIONS_FROM_ADDRESS"
    /// This client's connections are at their limit.
    public static let tooManyConnectionsForClient = "TOO_MANY_CONNECTIONS_FOR_CLIENT"
    /// The first bytes are not CLML.
    public static let badPreface = "BAD_PREFACE"
    /// A major version the server does not speak.
    public static let unsupportedVersion = "UNSUPPORTED_VERSION"
    /// A frame's length is over the limit.
    public static let frameTooLarge = "FRAME_TOO_LARGE"
    /// Any other framing or ordering fault.
    public static let protocolError = "PROTOCOL_ERROR"
    /// A plain-TCP client on a port that speaks TLS.
    public static let tlsRequired = "TLS_REQUIRED"
    /// The policy file could not be loaded; the policy in force stays.
    public static let policyInvalid = "POLICY_INVALID"

    /// All of them, for the documentation check.
    public static let all: [String] = [
        invalidField,
        malformedMessage,
        unknownMethod,
        role,
        maxConcurrentStreams,
        responseTooLarge,
        deadline,
        contactState,
        claimStatusTransition,
        claimNotFound,
        contactNotFound,
        incidentNotFound,
        incidentWithdrawn,
        idempotencyKeyReused,
        storeFailed,
        outcomeUnknown,
        storeUnavailable,
        contactBusy,
        storeRead,
        notApplied,
        shutdown,
        idleTimeout,
        keepaliveTimeout,
        handshakeTimeout,
        handshakeEvicted,
        unauthenticated,
        invalidClientName,
        tooManyConnections,
        tooManyConnectionsFromAddress,
        tooManyConnectionsForClient,
        badPreface,
        unsupportedVersion,
        frameTooLarge,
        protocolError,
        tlsRequired,
        policyInvalid,
    ]
}
