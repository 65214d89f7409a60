import ClaimlineCore

/// Maps what a connection presents (HELLO's token, a verified TLS client certificate) to an
/// identity. Tokens compare in time independent of where they differ, so a stranger cannot
/// find one byte by byte from response times.
struct Authenticator: Sendable {
    private let tokens: [(token: [UInt8], identity: Identity)]
    private let certificates: [(pattern: CertificateSubject.Pattern, identity: Identity)]

    init(_ clients: [ServerConfiguration.Client]) {
        self.tokens = clients.compactMap { client in
            client.token.map { (Array($0.utf8), Identity(clientName: client.name, role: client.role)) }
        }
        self.certificates = clients.compactMap { client in
            client.certificateSubject.flatMap(CertificateSubject.Pattern.init).map {
                ($0, Identity(clientName: client.name, role: client.role))
            }
        }
    }

    /// The identity a certificate stands for, if a configured client's subject pattern
    /// matches it (the first such client).
    func identity(for certificate: CertificateSubject) -> Identity? {
        self.certificates.first { $0.pattern.matches(certificate) }?.identity
    }

    /// With a certificate that stands for a client, that client, the role from the
    /// certificate: HELLO's token may then be empty, and a token of another client is refused
    /// (one connection, one identity). Otherwise the token decides.
    func authenticate(token: String, certificate: CertificateSubject? = nil) -> Identity? {
        if let certificate, let identity = self.identity(for: certificate) {
            if token.isEmpty { return identity }
            return self.authenticate(token: token) == identity ? identity : nil
        }
        return self.authenticate(token: token)
    }

    private func authenticate(token: String) -> Identity? {
        let presented = Array(token.utf8)
        var found: Identity?
        for client in self.tokens where Self.constantTimeEqual(client.token, presented) {
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
