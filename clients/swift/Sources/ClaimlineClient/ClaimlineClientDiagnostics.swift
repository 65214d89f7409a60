/// Where a ``ClaimlineClient`` is talking, for logs, health pages and tests: which instance
/// answers, and how often the client had to move.
public struct ClaimlineClientDiagnostics: Sendable, Equatable {
    /// The configured instances, in order.
    public var addresses: [ClaimlineAddress]
    /// Where new connections go now.
    public var currentAddress: ClaimlineAddress
    /// The instance that answered the last successful call; nil before the first.
    public var lastServedAddress: ClaimlineAddress?
    /// How many times the client moved to another address because the current one failed
    /// (refused or dropped connections, GOAWAY, UNAVAILABLE). Always 0 with one address.
    public var failovers: Int

    public init(addresses: [ClaimlineAddress], currentAddress: ClaimlineAddress, lastServedAddress: ClaimlineAddress?, failovers: Int) {
        self.addresses = addresses
        self.currentAddress = currentAddress
        self.lastServedAddress = lastServedAddress
        self.failovers = failovers
    }
}
