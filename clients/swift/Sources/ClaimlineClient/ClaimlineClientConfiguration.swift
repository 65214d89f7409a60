import ClaimlineCore

/// How a ``ClaimlineClient`` connects, and how hard it tries.
public struct ClaimlineClientConfiguration: Sendable {
    /// The claimlined instances, in the order they are tried. The client works with one at a
    /// time (every pooled connection goes to it) and moves to the next, round robin, when that
    /// one refuses connections, drops them, says GOAWAY or answers UNAVAILABLE. The instances
    /// share one database, so any of them can answer any call, and a write retried on another
    /// instance with the same idempotency key gets the first answer.
    public var addresses: [ClaimlineAddress]
    public var token: String
    /// Shown in the server's logs and audit records.
    public var clientName: String
    /// Connections in the pool; calls are spread over them and multiplexed on each.
    public var connections: Int = 2
    /// For the TCP connect and then for HELLO_ACK: an instance that accepts but never answers
    /// counts as down after this long.
    public var connectTimeout: Duration = .seconds(5)
    /// The whole logical call's time, retries included, unless a call gives its own.
    public var defaultTimeout: Duration = .seconds(5)
    public var retry = RetryPolicy()
    /// How long an address that just failed is skipped when choosing where to go next, so that
    /// a dead instance costs one failed attempt per backoff, not one per call. When every
    /// address failed recently the client tries them anyway, round robin, with the retry
    /// policy's backoff between attempts.
    public var failedAddressBackoff: Duration = .seconds(2)
    /// TLS for every connection (every address); nil for plain TCP.
    public var tls: ClaimlineTLS?

    /// One instance: what a single-server deployment (and every existing caller) uses.
    public init(host: String = "127.0.0.1", port: Int = 7400, token: String, clientName: String = "claimline-swift") {
        self.init(addresses: [ClaimlineAddress(host: host, port: port)], token: token, clientName: clientName)
    }

    /// Several instances of one deployment. An empty list means the default `127.0.0.1:7400`.
    public init(addresses: [ClaimlineAddress], token: String, clientName: String = "claimline-swift") {
        self.addresses = addresses.isEmpty ? [ClaimlineAddress(host: "127.0.0.1", port: 7400)] : addresses
        self.token = token
        self.clientName = clientName
    }

    /// The first address's host; setting it changes the first address (single-server callers).
    public var host: String {
        get { self.addresses.first?.host ?? "127.0.0.1" }
        set { self.setFirst(host: newValue, port: self.port) }
    }

    /// The first address's port; setting it changes the first address (single-server callers).
    public var port: Int {
        get { self.addresses.first?.port ?? 7400 }
        set { self.setFirst(host: self.host, port: newValue) }
    }

    private mutating func setFirst(host: String, port: Int) {
        let first = ClaimlineAddress(host: host, port: port)
        if self.addresses.isEmpty { self.addresses = [first] } else { self.addresses[0] = first }
    }
}
