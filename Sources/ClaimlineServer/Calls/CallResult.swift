import ClaimlineCore

/// What the server answers a call with: the encoded response message, or an error.
/// Encoded because writes store exactly these bytes for idempotent replay.
enum CallResult: Sendable {
    case response([UInt8])
    case failure(RPCError)
}

/// Who is calling, for authorisation and the audit.
struct CallContext: Sendable {
    var sessionID: String
    var identity: Identity
}
