import ClaimlineStore
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// The store for several claimlined instances on one PostgreSQL database.
///
/// Nothing that must be unique or consistent lives only in one process: a contact's
/// transitions and an idempotency key are serialized by transaction-scoped advisory locks taken
/// at the start of each batch (sorted, so two instances never deadlock), claim and incident
/// numbers come from blocks leased in `number_leases`, incidents and the second line's mode
/// travel by LISTEN/NOTIFY with a periodic re-read behind it, and statistics are read from the
/// shared tables. Every session runs with `synchronous_commit = on`, so a COMMIT that returned
/// is durable on the database server. Failures are usually passing (a restart, a network
/// blip), so the server's writer reopens this store by itself (``recoversFromFailures``).
public struct PostgresStoreBackend: ClaimStoreBackend {
    public let settings: PostgresStoreSettings
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    public init(settings: PostgresStoreSettings, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.settings = settings
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    public var name: String { self.settings.redacted }

    public var recoversFromFailures: Bool { true }

    /// The newest schema version this build writes.
    public static var schemaVersion: Int64 { PostgresSchema.latestVersion }

    public func openWriter() throws(StoreError) -> any ClaimStore {
        try self.openPostgresWriter()
    }

    public func openReader() throws(StoreError) -> any ClaimStoreReader {
        let link = try self.openLink(role: "reader")
        return PostgresClaimStoreReader(link: link)
    }

    /// The writer with its concrete type (for tests and tools).
    public func openPostgresWriter() throws(StoreError) -> PostgresClaimStore {
        let link = try self.openLink(role: "writer")
        let second: PostgresLink
        do {
            second = try self.openLink(role: "writer")
        } catch {
            link.close()
            throw error
        }
        let leases = PostgresLink(settings: self.settings, eventLoopGroup: self.eventLoopGroup, logger: self.logger, role: "leases")
        let watcher = PostgresSharedStateWatcher(settings: self.settings, eventLoop: self.eventLoopGroup.any(), logger: self.logger)
        watcher.start()
        return PostgresClaimStore(links: [link, second], leases: leases, watcher: watcher)
    }

    /// A connected link (`synchronous_commit = on`, see ``PostgresLink``), the schema migrated.
    private func openLink(role: String) throws(StoreError) -> PostgresLink {
        let link = PostgresLink(settings: self.settings, eventLoopGroup: self.eventLoopGroup, logger: self.logger, role: role)
        do throws(StoreError) {
            try PostgresMigrations.migrate(link)
        } catch {
            link.close()
            throw error
        }
        return link
    }
}
