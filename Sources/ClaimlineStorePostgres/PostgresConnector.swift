import ClaimlineStore
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

#if canImport(Glibc)
    import Glibc
#endif

/// Opens every PostgreSQL connection of the store (writer, leases, readers, the listener) the
/// same way, so that no fault of the network or of another instance can hold one for long:
///
/// - **Our side:** TCP keepalives (idle 5 s, every 2 s, 3 probes) and `TCP_USER_TIMEOUT`
///   (10 s) on the socket, so a database host that vanished without a reset is noticed even
///   on a connection that only listens; queries are bounded by the link's own timeout too.
/// - **The database's side**, as session settings sent at startup (so a reconnected session has
///   them too): `synchronous_commit = on` (acknowledged means durable there, whatever its
///   default), `idle_in_transaction_session_timeout` (a frozen or partitioned instance's
///   transaction and its advisory locks end within ``PostgresStoreSettings/idleInTransactionTimeoutMs``),
///   `statement_timeout` (a statement outliving the link's own timeout is cancelled by the
///   server as well), and `tcp_keepalives_*` / `tcp_user_timeout` (the database drops the
///   session of a claimlined host that is gone).
enum PostgresConnector {
    /// Connects on `eventLoop`; the future fails with an error that names the host, the port
    /// and the cause.
    static func connect(
        settings: PostgresStoreSettings, eventLoop: any EventLoop, logger: Logger, role: String, id: Int
    ) -> EventLoopFuture<PostgresConnection> {
        let where_ = "\(settings.host):\(settings.port)"
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(settings.connectTimeoutMs)))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(Self.tcp(TCP_KEEPIDLE), value: 5)
            .channelOption(Self.tcp(TCP_KEEPINTVL), value: 2)
            .channelOption(Self.tcp(TCP_KEEPCNT), value: 3)
            .channelOption(Self.tcp(TCP_USER_TIMEOUT), value: 10_000)
            .connect(host: settings.host, port: settings.port)
            .flatMapError { error in
                eventLoop.makeFailedFuture(ConnectFailure(where: where_, cause: "\(error)"))
            }
            .flatMap { channel in
                var configuration = PostgresConnection.Configuration(
                    establishedChannel: channel, username: settings.user, password: settings.password, database: settings.database
                )
                configuration.options.additionalStartupParameters = Self.startupParameters(settings, role: role)
                return PostgresConnection.connect(on: eventLoop, configuration: configuration, id: id, logger: logger)
                    .flatMapError { error in
                        channel.close(promise: nil)
                        return eventLoop.makeFailedFuture(ConnectFailure(where: where_, cause: Self.describe(error)))
                    }
            }
    }

    /// The session settings every connection starts with (see the type's comment).
    static func startupParameters(_ settings: PostgresStoreSettings, role: String) -> [(String, String)] {
        [
            ("application_name", "claimlined-\(role)"),
            ("synchronous_commit", "on"),
            ("idle_in_transaction_session_timeout", "\(settings.idleInTransactionTimeoutMs)"),
            ("statement_timeout", "\(settings.queryTimeoutMs)"),
            ("tcp_keepalives_idle", "5"),
            ("tcp_keepalives_interval", "2"),
            ("tcp_keepalives_count", "3"),
            ("tcp_user_timeout", "10000"),
        ]
    }

    /// A connection that could not be made: where to and why, for the operator.
    struct ConnectFailure: Error, CustomStringConvertible {
        var `where`: String
        var cause: String
        var description: String { "cannot connect to PostgreSQL at \(self.where): \(self.cause)" }
    }

    /// PostgreSQL's refusal (a bad password, no such database) in its own words; anything else
    /// as the error says.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let info = error.serverInfo {
                return "PostgreSQL \(info[.sqlState] ?? "?????"): \(info[.message] ?? "error")"
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    private static func tcp(_ name: Int32) -> ChannelOptions.Types.SocketOption {
        ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: name))
    }
}
