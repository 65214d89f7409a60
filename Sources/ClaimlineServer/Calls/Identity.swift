import ClaimlineCore

/// Who a HELLO's token says the client is.
public struct Identity: Sendable, Hashable {
    public var clientName: String
    public var role: Role
}
