/// Where a ``ClaimlineClient`` is talking, for logs, health pages and tests: which instance
/// answers, and how often the client had to move.
public struct ClaimlineClientDiagnostics: Sendable, Equatable {
    /// The configured instances, in order.
    public var addresses: [ClaimlineAddress]
    /// Where calls go now (PROTOCOL.md 8.1's current address).
    public var currentAddress: ClaimlineAddress
    /// The instance that answered the last successful call; nil before the first.
    public var lastServedAddress: ClaimlineAddress?
    /// How many times the client moved to another address because the current one became
    /// suspect (refused, dropped or silent connections, GOAWAY, UNAVAILABLE, OUTCOME_UNKNOWN).
    /// Always 0 with one address.
    public var failovers: Int

    public init(addresses: [ClaimlineAddress], currentAddress: ClaimlineAddress, lastServedAddress: ClaimlineAddress?, failovers: Int) {
        self.addresses = addresses
        self.currentAddress = currentAddress
        self.lastServedAddress = lastServedAddress
        self.failovers = failovers
    }
}
