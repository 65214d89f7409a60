import ClaimlineCore
import ClaimlineWire

/// What `claimlined` reads from `config/claimline.json`: who may connect, the limits, where
/// the policy file is. Durations are in milliseconds, like everything on the wire.
public struct ServerConfiguration: Sendable, Codable, Hashable {
    /// One client system: its name (in logs and the audit), its role, and how it proves who it
    /// is: a secret token in HELLO, a TLS client certificate whose subject matches
    /// `certificateSubject` (mTLS; then HELLO's token may be empty), or both.
    public struct Client: Sendable, Codable, Hashable {
        public var name: String
        public var token: String?
        public var role: Role
        /// `CN=...[,O=...][,OU=...]`: every attribute named must equal the certificate's.
        public var certificateSubject: String?

        public init(name: String, token: String?, role: Role, certificateSubject: String? = nil) {
            self.name = name
            self.token = token
            self.role = role
            self.certificateSubject = certificateSubject
        }
    }

    /// TLS on the service port. Absent: plain TCP (loopback development). Paths are relative
    /// to the working folder.
    public struct TLS: Sendable, Codable, Hashable {
        /// PEM: the server's certificate chain, its own first.
        public var certificateFile: String
        /// PEM: the server's private key.
        public var privateKeyFile: String
        /// PEM: the CA(s) client certificates must chain to. Absent: no client certificates asked.
        public var clientCAFile: String?
        /// With `clientCAFile`: a client without a valid certificate fails the TLS handshake.
        /// Otherwise a certificate is optional (verified when presented) and a token will do.
        public var requireClientCertificate: Bool = false

        public init(certificateFile: String, privateKeyFile: String, clientCAFile: String? = nil, requireClientCertificate: Bool = false) {
            self.certificateFile = certificateFile
            self.privateKeyFile = privateKeyFile
            self.clientCAFile = clientCAFile
            self.requireClientCertificate = requireClientCertificate
        }
    }

    public struct Limits: Sendable, Codable, Hashable {
        /// Largest frame payload accepted after HELLO, advertised in HELLO_ACK.
        public var maxFrameSize: Int = ProtocolLimits.defaultMaxPayload
        /// Requests in flight per connection, advertised in HELLO_ACK.
        public var maxConcurrentStreams: Int = ProtocolLimits.defaultMaxConcurrentStreams
        /// Authenticated connections open at once; one more gets GOAWAY TOO_MANY_CONNECTIONS
        /// instead of HELLO_ACK. Sockets still in the handshake do not count here.
        public var maxConnections: Int = 1024
        /// Sockets that have not finished the HELLO exchange, from all addresses. When full,
        /// the oldest is closed (GOAWAY HANDSHAKE_EVICTED) to make room: a client that sends
        /// HELLO promptly always gets through, however many silent sockets are open.
        public var maxPendingHandshakes: Int = 256
        /// The same, from one IP address: a flood from one address evicts only its own sockets.
        public var maxPendingHandshakesPerAddress: Int = 64
        /// Authenticated connections from one IP address; 0 for no limit.
        public var maxConnectionsPerAddress: Int = 0
        /// Authenticated connections of one client (token); 0 for no limit.
        public var maxConnectionsPerClient: Int = 0
        /// Bytes of answers the server holds for one connection: reserved for calls in flight,
        /// queued, and written but not yet taken by the peer. Past half of it the server stops
        /// reading from the connection until it drains to a quarter.
        public var connectionBufferBytes: Int = 1 << 20
        /// Reads of one connection running or queued in the reader pool at once; the rest wait
        /// in the connection's own queue, so one connection cannot fill the pool.
        public var maxReadsInProgressPerConnection: Int = 2
        /// A client must send HELLO this soon after connecting.
        public var handshakeTimeoutMs: Int64 = 5000
        /// The server pings a connection silent for this long...
        public var keepaliveIntervalMs: Int64 = 30000
        /// ...and closes one with no REQUEST for this long.
        public var idleTimeoutMs: Int64 = 300_000
        /// The deadline of a request whose timeout is 0, and the ceiling of any other.
        public var maxDeadlineMs: Int64 = 30000
        /// On shutdown, how long in-flight calls may take to finish.
        public var shutdownGracePeriodMs: Int64 = 10000
        /// Admin listener connections open at once; one more is answered 503 and closed.
        public var maxAdminConnections: Int = 16
        /// An admin connection that sends nothing for this long (a request, or reading
        /// nothing so that its answers wait) is closed.
        public var adminIdleTimeoutMs: Int64 = 30000
        /// File descriptors kept free for the store (reader connections opened on first use, a
        /// reconnecting database, SQLite's files) and the process: both listeners stop accepting
        /// before the open-file limit comes this close.
        public var fileDescriptorReserve: Int = 128

        public init() {}
    }

    public struct Retention: Sendable, Codable, Hashable {
        /// A contact session is forgotten this long after its last change.
        public var contactSessionTTLMs: Int64 = 4 * 3_600_000
        /// Idempotency keys are kept at least this long (at least 24 hours).
        public var idempotencyTTLMs: Int64 = 24 * 3_600_000

        public init() {}
    }

    public var serverName: String = "claimlined"
    public var clients: [Client] = []
    public var limits = Limits()
    public var retention = Retention()
    /// The policy file, relative to the configuration file's folder unless absolute.
    public var policyFile: String = "policy.json"
    /// Writes per transaction at most (group commit).
    public var maxBatch: Int = 2048
    /// Where claims are kept: a `postgres://user@host:port/database` URL (several instances may
    /// share it; options in docs/SCALING.md), or nil for SQLite in the data folder. The
    /// command line's `--store` wins over it.
    public var store: String?
    /// Reader threads, each with its own store connection (the PostgreSQL store's read pool).
    public var readers: Int = 2
    /// TLS on the service port; the command line's `--tls-*` options win over it.
    public var tls: TLS?
    /// The admin listener (`GET /metrics`, `/healthz`, `/readyz`), `host:port`; nil for none.
    /// The command line's `--admin-listen` wins over it.
    public var adminListen: String?

    public init(clients: [Client] = []) {
        self.clients = clients
    }

    /// Problems that would make the server misbehave, each as a line.
    public func problems() -> [String] {
        var out: [String] = []
        if self.clients.isEmpty { out.append("clients: at least one client is needed") }
        if !(1...64).contains(self.readers) { out.append("readers: 1 to 64 reader threads") }
        var tokens = Set<String>()
        for (index, client) in self.clients.enumerated() {
            if let token = client.token {
                if token.utf8.count < 8 { out.append("clients[\(index)].token: at least 8 bytes") }
                if !tokens.insert(token).inserted { out.append("clients[\(index)].token: used twice") }
            }
            if let subject = client.certificateSubject {
                if CertificateSubject.Pattern(subject) == nil {
                    out.append("clients[\(index)].certificateSubject: CN=...[,O=...][,OU=...], got \(subject)")
                }
                if self.tls?.clientCAFile == nil { out.append("clients[\(index)].certificateSubject: needs tls.clientCAFile") }
            }
            if client.token == nil && client.certificateSubject == nil {
                out.append("clients[\(index)]: a token or a certificateSubject")
            }
            if client.name.isEmpty { out.append("clients[\(index)].name: required") }
            if !client.name.isEmpty, !Validation.isPrintableIdentifier(client.name) || client.name.utf8.count > Validation.maxIdentifier {
                out.append("clients[\(index)].name: at most \(Validation.maxIdentifier) bytes of printable characters")
            }
        }
        if self.limits.maxFrameSize < 1024 || self.limits.maxFrameSize > ProtocolLimits.absoluteMaxPayload {
            out.append("limits.maxFrameSize: between 1024 and \(ProtocolLimits.absoluteMaxPayload)")
        }
        if self.limits.maxConcurrentStreams < 1 { out.append("limits.maxConcurrentStreams: at least 1") }
        if self.limits.maxConnections < 1 { out.append("limits.maxConnections: at least 1") }
        if self.limits.maxPendingHandshakes < 1 { out.append("limits.maxPendingHandshakes: at least 1") }
        if self.limits.maxPendingHandshakesPerAddress < 1 { out.append("limits.maxPendingHandshakesPerAddress: at least 1") }
        if self.limits.maxConnectionsPerAddress < 0 { out.append("limits.maxConnectionsPerAddress: 0 (no limit) or more") }
        if self.limits.maxConnectionsPerClient < 0 { out.append("limits.maxConnectionsPerClient: 0 (no limit) or more") }
        if self.limits.connectionBufferBytes < 4 * self.limits.maxFrameSize {
            out.append("limits.connectionBufferBytes: at least 4 × limits.maxFrameSize (\(4 * self.limits.maxFrameSize))")
        }
        if self.limits.maxReadsInProgressPerConnection < 1 { out.append("limits.maxReadsInProgressPerConnection: at least 1") }
        if self.limits.maxAdminConnections < 1 { out.append("limits.maxAdminConnections: at least 1") }
        if self.limits.adminIdleTimeoutMs < 1000 { out.append("limits.adminIdleTimeoutMs: at least 1000") }
        if self.limits.fileDescriptorReserve < 32 { out.append("limits.fileDescriptorReserve: at least 32") }
        if self.retention.idempotencyTTLMs < 24 * 3_600_000 {
            out.append("retention.idempotencyTTLMs: at least 24 hours (86400000)")
        }
        if self.maxBatch < 1 { out.append("maxBatch: at least 1") }
        if let tls = self.tls, tls.requireClientCertificate, tls.clientCAFile == nil {
            out.append("tls.requireClientCertificate: needs tls.clientCAFile")
        }
        return out
    }
}

extension ServerConfiguration {
    /// Decoding fills what the file leaves out with the defaults above.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        self.serverName = try c.decodeIfPresent(String.self, forKey: .serverName) ?? self.serverName
        self.clients = try c.decodeIfPresent([Client].self, forKey: .clients) ?? []
        self.limits = try c.decodeIfPresent(Limits.self, forKey: .limits) ?? Limits()
        self.retention = try c.decodeIfPresent(Retention.self, forKey: .retention) ?? Retention()
        self.policyFile = try c.decodeIfPresent(String.self, forKey: .policyFile) ?? self.policyFile
        self.maxBatch = try c.decodeIfPresent(Int.self, forKey: .maxBatch) ?? self.maxBatch
        self.store = try c.decodeIfPresent(String.self, forKey: .store)
        self.readers = try c.decodeIfPresent(Int.self, forKey: .readers) ?? self.readers
        self.tls = try c.decodeIfPresent(TLS.self, forKey: .tls)
        self.adminListen = try c.decodeIfPresent(String.self, forKey: .adminListen)
    }
}

extension ServerConfiguration.Limits {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        self.maxFrameSize = try c.decodeIfPresent(Int.self, forKey: .maxFrameSize) ?? self.maxFrameSize
        self.maxConcurrentStreams = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentStreams) ?? self.maxConcurrentStreams
        self.maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? self.maxConnections
        self.maxPendingHandshakes = try c.decodeIfPresent(Int.self, forKey: .maxPendingHandshakes) ?? self.maxPendingHandshakes
        self.maxPendingHandshakesPerAddress =
            try c.decodeIfPresent(Int.self, forKey: .maxPendingHandshakesPerAddress) ?? self.maxPendingHandshakesPerAddress
        self.maxConnectionsPerAddress = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerAddress) ?? self.maxConnectionsPerAddress
        self.maxConnectionsPerClient = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerClient) ?? self.maxConnectionsPerClient
        self.connectionBufferBytes = try c.decodeIfPresent(Int.self, forKey: .connectionBufferBytes) ?? self.connectionBufferBytes
        self.maxReadsInProgressPerConnection =
            try c.decodeIfPresent(Int.self, forKey: .maxReadsInProgressPerConnection) ?? self.maxReadsInProgressPerConnection
        self.handshakeTimeoutMs = try c.decodeIfPresent(Int64.self, forKey: .handshakeTimeoutMs) ?? self.handshakeTimeoutMs
        self.keepaliveIntervalMs = try c.decodeIfPresent(Int64.self, forKey: .keepaliveIntervalMs) ?? self.keepaliveIntervalMs
        self.idleTimeoutMs = try c.decodeIfPresent(Int64.self, forKey: .idleTimeoutMs) ?? self.idleTimeoutMs
        self.maxDeadlineMs = try c.decodeIfPresent(Int64.self, forKey: .maxDeadlineMs) ?? self.maxDeadlineMs
        self.shutdownGracePeriodMs = try c.decodeIfPresent(Int64.self, forKey: .shutdownGracePeriodMs) ?? self.shutdownGracePeriodMs
        self.maxAdminConnections = try c.decodeIfPresent(Int.self, forKey: .maxAdminConnections) ?? self.maxAdminConnections
        self.adminIdleTimeoutMs = try c.decodeIfPresent(Int64.self, forKey: .adminIdleTimeoutMs) ?? self.adminIdleTimeoutMs
        self.fileDescriptorReserve = try c.decodeIfPresent(Int.self, forKey: .fileDescriptorReserve) ?? self.fileDescriptorReserve
    }
}

extension ServerConfiguration.TLS {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.certificateFile = try c.decode(String.self, forKey: .certificateFile)
        self.privateKeyFile = try c.decode(String.self, forKey: .privateKeyFile)
        self.clientCAFile = try c.decodeIfPresent(String.self, forKey: .clientCAFile)
        self.requireClientCertificate = try c.decodeIfPresent(Bool.self, forKey: .requireClientCertificate) ?? false
    }
}

extension ServerConfiguration.Retention {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        self.contactSessionTTLMs = try c.decodeIfPresent(Int64.self, forKey: .contactSessionTTLMs) ?? self.contactSessionTTLMs
        self.idempotencyTTLMs = try c.decodeIfPresent(Int64.self, forKey: .idempotencyTTLMs) ?? self.idempotencyTTLMs
    }
}
