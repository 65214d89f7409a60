import NIOSSL

/// The service port's TLS, built once at start from ``ServerConfiguration/TLS``: one
/// `NIOSSLContext` shared by every connection (BoringSSL's context is thread-safe).
public struct ServerTLS: Sendable {
    let context: NIOSSLContext
    /// Whether client certificates are asked for (a client CA is configured).
    let verifiesClients: Bool

    /// Loads the files; a missing or unreadable file is an error naming it.
    public init(_ settings: ServerConfiguration.TLS) throws(TLSSetupError) {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(settings.certificateFile)
        } catch {
            throw TLSSetupError("tls.certificateFile \(settings.certificateFile): \(error)")
        }
        guard !chain.isEmpty else { throw TLSSetupError("tls.certificateFile \(settings.certificateFile): no certificate in it") }
        do {
            key = try NIOSSLPrivateKey(file: settings.privateKeyFile, format: .pem)
        } catch {
            throw TLSSetupError("tls.privateKeyFile \(settings.privateKeyFile): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)
        )
        configuration.minimumTLSVersion = .tlsv12
        // How long a close waits for the peer's close_notify. NIOSSL's 5 s default kept every
        // connection the server refused (GOAWAY, close) open 5 s when the peer just dropped the
        // socket (a ragged EOF does not end the wait on a half-closable channel): a flood of bad
        // HELLOs would hold sockets. A round trip on a LAN is far below this.
        configuration.shutdownTimeout = .milliseconds(500)
        if let caFile = settings.clientCAFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else { throw TLSSetupError("tls.clientCAFile \(caFile): no certificate in it") }
                configuration.trustRoots = .certificates(roots)
            } catch let error as TLSSetupError {
                throw error
            } catch {
                throw TLSSetupError("tls.clientCAFile \(caFile): \(error)")
            }
            // Required: the handshake fails without a valid certificate. Optional: a presented
            // certificate must still be valid; a client without one authenticates by token.
            configuration.certificateVerification = settings.requireClientCertificate ? .noHostnameVerification : .optionalVerification
            configuration.sendCANameList = true
        }
        do {
            self.context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError("tls: \(error)")
        }
        self.verifiesClients = settings.clientCAFile != nil
    }
}

/// TLS could not be set up from the configuration: which file, and why.
public struct TLSSetupError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
