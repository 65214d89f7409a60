import ClaimlineStore
import Synchronization

/// Where the PostgreSQL store connects and how long it waits: from a URL in libpq's form
/// (`postgres://user[:password]@host[:port][,host[:port]...]/database?option=value&...`) or the
/// configuration file. Defaults suit a database on the same network.
///
/// Several hosts name a primary and its standbys (libpq's meaning): every connection tries them
/// in order, and with `target_session_attrs=read-write` takes the first that accepts writes (not
/// in recovery), so after a standby is promoted the writer finds the new primary by itself.
public struct PostgresStoreSettings: Hashable, Sendable {
    /// One `host:port` of the URL.
    public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int = 5432) {
            self.host = host
            self.port = port
        }

        public var description: String { self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)" }
    }

    /// Which server a connection may settle on (libpq's `target_session_attrs`).
    public enum TargetSessionAttributes: String, Hashable, Sendable {
        /// The first that answers.
        case any
        /// The first that takes writes (`pg_is_in_recovery()` false): the primary.
        case readWrite = "read-write"
    }

    /// TLS to the database (libpq's `sslmode`, the modes that make sense for a service).
    public enum SSLMode: String, Hashable, Sendable {
        case disable
        /// Encrypted; the server's certificate is not checked.
        case require
        /// Encrypted; the certificate must chain to `sslrootcert` and name the host.
        case verifyFull = "verify-full"
    }

    public var endpoints: [Endpoint]
    public var user: String
    public var password: String?
    public var database: String
    public var targetSessionAttributes: TargetSessionAttributes = .any
    public var sslMode: SSLMode = .disable
    /// The CA file (PEM) `verify-full` checks the server's certificate against; nil: the
    /// system's roots.
    public var sslRootCert: String?
    /// How long opening a connection to one host may take before the next is tried (and, when
    /// none answers, the store reports it unavailable).
    public var connectTimeoutMs: Int = 2_000
    /// How long one statement may take; past it the connection is closed (PostgreSQL rolls the
    /// transaction back) and the batch is answered UNAVAILABLE (or outcome unknown for COMMIT).
    public var queryTimeoutMs: Int = 5_000
    /// Claim numbers leased per round trip to `number_leases`: each instance hands out its block,
    /// so numbers stay unique across instances; a restart leaves the rest of a block unused.
    public var claimNumberBlock: Int = 1_000
    /// The backstop behind LISTEN/NOTIFY: incidents and the second line's mode are re-read at
    /// least this often, so a lost notification delays a change by at most this much.
    public var sharedStateRefreshMs: Int = 1_000
    /// How long a batch waits, in all, for the locks of contacts and keys another instance
    /// holds; the writes on those still held are answered UNAVAILABLE `CONTACT_BUSY` (not
    /// applied, retry) and the rest of the batch commits (`claimline_lock_keys`).
    public var lockWaitMs: Int = 50
    /// PostgreSQL ends a session of this instance that sits in an open transaction this long
    /// (`idle_in_transaction_session_timeout`): a frozen or partitioned instance's locks are gone
    /// within this bound (plus the database's reaction time), so it cannot hold others' writes.
    public var idleInTransactionTimeoutMs: Int = 1_000

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String) {
        self.init(endpoints: [Endpoint(host: host, port: port)], user: user, password: password, database: database)
    }

    public init(endpoints: [Endpoint], user: String, password: String? = nil, database: String) {
        precondition(!endpoints.isEmpty, "at least one host")
        self.endpoints = endpoints
        self.user = user
        self.password = password
        self.database = database
    }

    /// The first host (a single-host URL's only one).
    public var host: String { self.endpoints[0].host }
    public var port: Int { self.endpoints[0].port }

    /// Parses `postgres://` or `postgresql://` URLs. User, password, database and option values
    /// are percent-decoded (`%2F` for `/`, `%40` for `@`, ...). Options: `connect_timeout_ms`,
    /// `query_timeout_ms`, `claim_number_block`, `shared_state_refresh_ms`, `lock_wait_ms`,
    /// `idle_in_transaction_timeout_ms` (positive integers), `target_session_attrs` (`any`,
    /// `read-write`), `sslmode` (`disable`, `require`, `verify-full`), `sslrootcert` (a path).
    public init(url: String) throws(StoreError) {
        let invalid = { (why: String) in
            StoreError("parse store URL", "\(why) (expected postgres://user[:password]@host[:port][,host[:port]...]/database[?options])")
        }
        var rest = Substring(url)
        if rest.hasPrefix("postgres://") {
            rest = rest.dropFirst("postgres://".count)
        } else if rest.hasPrefix("postgresql://") {
            rest = rest.dropFirst("postgresql://".count)
        } else {
            throw invalid("not a postgres:// URL")
        }
        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw invalid("no database") }
        guard let database = Self.percentDecoded(rest[rest.index(after: slash)...]) else { throw invalid("bad %-escape in the database") }
        var authority = rest[..<slash]
        var user = "postgres"
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let (name, secret) =
                credentials.firstIndex(of: ":").map { (credentials[..<$0], Optional(credentials[credentials.index(after: $0)...])) }
                ?? (credentials, nil)
            guard let decodedUser = Self.percentDecoded(name) else { throw invalid("bad %-escape in the user") }
            user = decodedUser
            if let secret {
                guard let decoded = Self.percentDecoded(secret) else { throw invalid("bad %-escape in the password") }
                password = decoded
            }
        }
        var endpoints: [Endpoint] = []
        for part in authority.split(separator: ",", omittingEmptySubsequences: false) {
            guard let endpoint = Self.endpoint(part) else { throw invalid("bad host:port \(part)") }
            endpoints.append(endpoint)
        }
        guard !endpoints.isEmpty, !database.isEmpty, !user.isEmpty else { throw invalid("host, user and database are required") }
        self.init(endpoints: endpoints, user: user, password: password, database: database)
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Self.percentDecoded(parts[1]) else { throw invalid("bad option \(pair)") }
            let number = Int(value).flatMap { $0 > 0 ? $0 : nil }
            switch parts[0] {
            case "connect_timeout_ms", "query_timeout_ms", "claim_number_block", "shared_state_refresh_ms", "lock_wait_ms",
                "idle_in_transaction_timeout_ms":
                guard let number else { throw invalid("option \(parts[0]) takes a positive whole number, got \(value)") }
                switch parts[0] {
                case "connect_timeout_ms": self.connectTimeoutMs = number
                case "query_timeout_ms": self.queryTimeoutMs = number
                case "claim_number_block": self.claimNumberBlock = number
                case "shared_state_refresh_ms": self.sharedStateRefreshMs = number
                case "lock_wait_ms": self.lockWaitMs = number
                default: self.idleInTransactionTimeoutMs = number
                }
            case "target_session_attrs":
                guard let attributes = TargetSessionAttributes(rawValue: value) else {
                    throw invalid("target_session_attrs: any or read-write, got \(value)")
                }
                self.targetSessionAttributes = attributes
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else { throw invalid("sslmode: disable, require or verify-full, got \(value)") }
                self.sslMode = mode
            case "sslrootcert":
                self.sslRootCert = value
            default: throw invalid("unknown option \(parts[0])")
            }
        }
        if self.sslRootCert != nil && self.sslMode != .verifyFull {
            throw invalid("sslrootcert goes with sslmode=verify-full")
        }
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    private static func endpoint(_ text: Substring) -> Endpoint? {
        var host = text
        var port = 5432
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let parsed = Int(after.dropFirst()) else { return nil }
                port = parsed
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            guard let parsed = Int(text[text.index(after: colon)...]) else { return nil }
            port = parsed
        }
        guard !host.isEmpty, (1...65535).contains(port), let decoded = percentDecoded(host) else { return nil }
        return Endpoint(host: decoded, port: port)
    }

    /// `%XX` escapes decoded as UTF-8; nil when an escape is malformed or the bytes are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first < utf8.endIndex else { return nil }
                let second = utf8.index(after: first)
                guard second < utf8.endIndex, let high = hexValue(utf8[first]), let low = hexValue(utf8[second]) else { return nil }
                bytes.append(high << 4 | low)
                index = utf8.index(after: second)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The URL without the password, for logs.
    public var redacted: String {
        "postgres://\(self.user)@\(self.endpoints.map(\.description).joined(separator: ","))/\(self.database)"
            + (self.targetSessionAttributes == .any ? "" : "?target_session_attrs=\(self.targetSessionAttributes.rawValue)")
    }
}

/// Connection ids for postgres-nio's logs.
final class ManagedAtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    func next() -> Int { self.value.add(1, ordering: .relaxed).newValue }
}
