import ClaimlineCore
import ClaimlineWire

/// How a ``ClaimlineClient`` connects, and how hard it tries.
public struct ClaimlineClientConfiguration: Sendable {
    /// The claimlined instances, in the order they are tried. The client works with one at a
    /// time (every call goes to it) and moves to the next one that is not suspect when that one
    /// fails (PROTOCOL.md 8.1). The instances share one database, so any of them can answer any
    /// call, and a write retried on another instance with the same idempotency key gets the
    /// first answer.
    public var addresses: [ClaimlineAddress]
    public var token: String
    /// Shown in the server's logs and audit records.
    public var clientName: String
    /// Connections per address in the pool; calls are spread over them and multiplexed on each.
    public var connections: Int = 2
    /// The whole logical call's time (its budget, PROTOCOL.md 8.1), retries included, unless a
    /// call gives its own. Only the budget ends a call: attempts are not counted.
    public var defaultTimeout: Duration = .seconds(5)
    /// PROTOCOL.md 8.1's settings: the attempt's timeout with two or more addresses, the
    /// connect timeout, the keepalive, how long a failed instance is skipped and the pause
    /// between attempts. The defaults are every client's (`FailoverSettings()`).
    public var failover = FailoverSettings()
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

    /// For the TCP connect and HELLO_ACK together: an instance that accepts but never answers
    /// counts as down after this long (`failover.connectTimeout`, 1 s by default; never more
    /// than the attempt's own timeout).
    public var connectTimeout: Duration {
        get { self.failover.connectTimeout }
        set { self.failover.connectTimeout = newValue }
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
