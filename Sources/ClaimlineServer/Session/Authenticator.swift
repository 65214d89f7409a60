import ClaimlineCore

/// Maps tokens to identities. Compares in time independent of where tokens differ, so a
/// stranger cannot find a token byte by byte from response times.
struct Authenticator: Sendable {
    private let clients: [(token: [UInt8], identity: Identity)]

    init(_ clients: [ServerConfiguration.Client]) {
        self.clients = clients.map { (Array($0.token.utf8), Identity(clientName: $0.name, role: $0.role)) }
    }

    func authenticate(token: String) -> Identity? {
        let presented = Array(token.utf8)
        var found: Identity?
        for client in self.clients where Self.constantTimeEqual(client.token, presented) {
            found = client.identity
        }
        return found
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
