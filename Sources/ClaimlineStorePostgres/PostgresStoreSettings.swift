import ClaimlineStore
import Synchronization

/// Where the PostgreSQL store connects and how long it waits: from a URL
/// (`postgres://user[:password]@host[:port]/database?connect_timeout_ms=2000&...`) or the
/// configuration file. Defaults suit a database on the same network.
public struct PostgresStoreSettings: Hashable, Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// How long opening a connection may take before the store reports it unavailable.
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
    public var idleInTransactionTimeoutMs: Int = 2_000

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `postgres://` or `postgresql://` URLs; options as query parameters
    /// (`connect_timeout_ms`, `query_timeout_ms`, `claim_number_block`, `shared_state_refresh_ms`,
    /// `lock_wait_ms`, `idle_in_transaction_timeout_ms`).
    public init(url: String) throws(StoreError) {
        let invalid = { (why: String) in StoreError("parse store URL", "\(why) (expected postgres://user@host:port/database)") }
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
        let database = String(rest[rest.index(after: slash)...])
        var authority = rest[..<slash]
        var user = "postgres"
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon])
                password = String(credentials[credentials.index(after: colon)...])
            } else {
                user = String(credentials)
            }
        }
        var host = String(authority)
        var port = 5432
        if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let parsed = Int(authority[authority.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw invalid("bad port")
            }
            port = parsed
        }
        guard !host.isEmpty, !database.isEmpty, !user.isEmpty else { throw invalid("host, user and database are required") }
        self.init(host: host, port: port, user: user, password: password, database: database)
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Int(parts[1]), value > 0 else { throw invalid("bad option \(pair)") }
            switch parts[0] {
            case "connect_timeout_ms": self.connectTimeoutMs = value
            case "query_timeout_ms": self.queryTimeoutMs = value
            case "claim_number_block": self.claimNumberBlock = value
            case "shared_state_refresh_ms": self.sharedStateRefreshMs = value
            case "lock_wait_ms": self.lockWaitMs = value
            case "idle_in_transaction_timeout_ms": self.idleInTransactionTimeoutMs = value
            default: throw invalid("unknown option \(parts[0])")
            }
        }
    }

    /// The URL without the password, for logs.
    public var redacted: String { "postgres://\(self.user)@\(self.host):\(self.port)/\(self.database)" }
}

/// Connection ids for postgres-nio's logs.
final class ManagedAtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    func next() -> Int { self.value.add(1, ordering: .relaxed).newValue }
}
