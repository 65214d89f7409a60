/// A call's failure as the protocol carries it (an ERROR frame's `RpcStatus`), thrown by
/// handlers and by the client alike.
///
/// Handlers never send a bare string: the code decides what the caller may retry, the field
/// violations let an integrator point at the field, `currentState` tells an agent's desktop
/// where the contact stands.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var fieldViolations: [FieldViolation]
    public var currentState: String
    public var retryAfterMs: UInt32
    /// Machine-readable, UPPER_SNAKE (e.g. `IDEMPOTENCY_KEY_REUSED`); empty if none.
    public var reason: String

    public init(
        _ code: StatusCode,
        _ message: String,
        fieldViolations: [FieldViolation] = [],
        currentState: String = "",
        retryAfterMs: UInt32 = 0,
        reason: String = ""
    ) {
        self.code = code
        self.message = message
        self.fieldViolations = fieldViolations
        self.currentState = currentState
        self.retryAfterMs = retryAfterMs
        self.reason = reason
    }

    /// INVALID_ARGUMENT naming every bad field, the message listing them.
    public static func invalidArgument(_ violations: [FieldViolation]) -> RPCError {
        let message = violations.map { "\($0.field): \($0.description)" }.joined(separator: "; ")
        return RPCError(.invalidArgument, message, fieldViolations: violations, reason: Reason.invalidField)
    }

    public static func invalidArgument(field: String, _ description: String) -> RPCError {
        .invalidArgument([FieldViolation(field: field, description: description)])
    }

    public init(status: RpcStatus) {
        self.init(
            StatusCode(rawValue: status.code),
            status.message,
            fieldViolations: status.fieldViolations,
            currentState: status.currentState,
            retryAfterMs: status.retryAfterMs,
            reason: status.reason
        )
    }

    public var status: RpcStatus {
        RpcStatus(
            code: self.code.rawValue,
            message: self.message,
            fieldViolations: self.fieldViolations,
            currentState: self.currentState,
            retryAfterMs: self.retryAfterMs,
            reason: self.reason
        )
    }

    public var description: String {
        "\(self.code.name): \(self.message)"
    }
}
