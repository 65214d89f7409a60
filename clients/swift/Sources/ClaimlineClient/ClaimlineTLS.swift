import NIOCore
import NIOSSL

/// TLS for a client's connections: whom to trust, and the client certificate for mTLS.
///
/// Built once (it loads the files and makes one BoringSSL context) and shared by every
/// connection of a client. The server's certificate is verified against `caFile` (or the
/// system's roots) and, unless `verifyHostname` is false, against the address dialled or
/// `serverName`.
public struct ClaimlineTLS: Sendable {
    let context: NIOSSLContext
    /// The name to verify and to send in SNI, instead of the address's host.
    public let serverName: String?

    /// - Parameters:
    ///   - caFile: PEM file of the CA(s) the server's certificate must chain to; nil: the system's.
    ///   - certificateFile: PEM client certificate (chain), for servers that ask for one (mTLS).
    ///   - privateKeyFile: PEM key of `certificateFile`.
    ///   - serverName: verify the server as this name (and send it in SNI) instead of the host dialled.
    ///   - verifyHostname: false to check only the chain (a certificate for another name).
    public init(
        caFile: String? = nil, certificateFile: String? = nil, privateKeyFile: String? = nil, serverName: String? = nil,
        verifyHostname: Bool = true
    ) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = verifyHostname ? .fullVerification : .noHostnameVerification
        if let caFile {
            configuration.trustRoots = .certificates(try Self.certificates(caFile, what: "CA file"))
        }
        switch (certificateFile, privateKeyFile) {
        case (let certificateFile?, let privateKeyFile?):
            configuration.certificateChain = try Self.certificates(certificateFile, what: "certificate").map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKeyFile, format: .pem))
            } catch {
                throw ClaimlineTLSError("key \(privateKeyFile): \(error)")
            }
        case (nil, nil):
            break
        default:
            throw ClaimlineTLSError("a client certificate needs its key, and a key its certificate")
        }
        self.context = try NIOSSLContext(configuration: configuration)
        self.serverName = serverName
    }

    /// The handler for one connection to `host`: SNI only for names, not IP addresses. Public
    /// for clients that build their own pipelines (the load harness).
    public func makeHandler(host: String) throws -> NIOSSLClientHandler {
        let name = self.serverName ?? host
        let isAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
        return try NIOSSLClientHandler(context: self.context, serverHostname: isAddress ? nil : name)
    }

    private static func certificates(_ path: String, what: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ClaimlineTLSError("\(what) \(path): \(error)")
        }
        guard !certificates.isEmpty else { throw ClaimlineTLSError("\(what) \(path): no certificate in it") }
        return certificates
    }
}

/// A TLS file that could not be used: which, and why.
public struct ClaimlineTLSError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
