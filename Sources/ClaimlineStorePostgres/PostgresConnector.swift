import ClaimlineStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
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
///
/// With several hosts (a primary and its standbys) each is tried in order, and with
/// `target_session_attrs=read-write` one in recovery (a standby) is passed over, as libpq does.
/// With `sslmode` the session is TLS from its first byte (`require`: encrypted; `verify-full`:
/// the certificate must chain to `sslrootcert` and name the host).
enum PostgresConnector {
    /// Connects on `eventLoop`; the future fails with an error that names every host tried, its
    /// port, and why it was not taken.
    static func connect(
        settings: PostgresStoreSettings, eventLoop: any EventLoop, logger: Logger, role: String, id: Int
    ) -> EventLoopFuture<PostgresConnection> {
        func attempt(_ index: Int, _ failures: [String]) -> EventLoopFuture<PostgresConnection> {
            guard index < settings.endpoints.count else {
                return eventLoop.makeFailedFuture(ConnectFailure(failures: failures))
            }
            let endpoint = settings.endpoints[index]
            return Self.connect(endpoint, settings: settings, eventLoop: eventLoop, logger: logger, role: role, id: id)
                .flatMap { connection in
                    Self.accept(connection, settings: settings).flatMap { refusal in
                        guard let refusal else { return eventLoop.makeSucceededFuture(connection) }
                        PostgresLink.closeSoon(connection)
                        return attempt(index + 1, failures + ["\(endpoint): \(refusal)"])
                    }
                }
                .flatMapError { error in
                    guard let failure = error as? HostFailure else { return eventLoop.makeFailedFuture(error) }
                    return attempt(index + 1, failures + ["\(endpoint): \(failure.cause)"])
                }
        }
        return attempt(0, [])
    }

    /// One host: TCP with keepalives, then PostgreSQL's startup (TLS first when asked).
    private static func connect(
        _ endpoint: PostgresStoreSettings.Endpoint, settings: PostgresStoreSettings, eventLoop: any EventLoop, logger: Logger,
        role: String, id: Int
    ) -> EventLoopFuture<PostgresConnection> {
        let tls: PostgresConnection.Configuration.TLS
        do {
            tls = try Self.tls(settings)
        } catch {
            return eventLoop.makeFailedFuture(HostFailure(cause: "TLS: \(error)"))
        }
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(settings.connectTimeoutMs)))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(Self.tcp(TCP_KEEPIDLE), value: 5)
            .channelOption(Self.tcp(TCP_KEEPINTVL), value: 2)
            .channelOption(Self.tcp(TCP_KEEPCNT), value: 3)
            .channelOption(Self.tcp(TCP_USER_TIMEOUT), value: 10_000)
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMapError { error in
                eventLoop.makeFailedFuture(HostFailure(cause: Self.describe(error)))
            }
            .flatMap { channel in
                var configuration = PostgresConnection.Configuration(
                    establishedChannel: channel, tls: tls, username: settings.user, password: settings.password,
                    database: settings.database
                )
                configuration.options.additionalStartupParameters = Self.startupParameters(settings, role: role)
                if settings.sslMode == .verifyFull { configuration.options.tlsServerName = endpoint.host }
                // The startup exchange (TLS included) is bounded like the TCP connect.
                let timeout = eventLoop.scheduleTask(in: .milliseconds(Int64(settings.connectTimeoutMs))) {
                    channel.close(promise: nil)
                }
                return PostgresConnection.connect(on: eventLoop, configuration: configuration, id: id, logger: logger)
                    .always { _ in timeout.cancel() }
                    .flatMapError { error in
                        channel.close(promise: nil)
                        return eventLoop.makeFailedFuture(HostFailure(cause: Self.describe(error)))
                    }
            }
    }

    /// Nil when `connection` may be used; else why not (a standby when writes are wanted).
    private static func accept(_ connection: PostgresConnection, settings: PostgresStoreSettings) -> EventLoopFuture<String?> {
        guard settings.targetSessionAttributes == .readWrite else { return connection.eventLoop.makeSucceededFuture(nil) }
        return connection.query("SELECT pg_is_in_recovery()", logger: Logger(label: "claimline.postgres.connect"))
            .flatMapThrowing { result -> String? in
                let inRecovery = try result.rows.first?.makeRandomAccess()[0].decode(Bool.self) ?? false
                return inRecovery ? "a standby (in recovery), not the primary (target_session_attrs=read-write)" : nil
            }
            .flatMapError { error in
                PostgresLink.closeSoon(connection)
                return connection.eventLoop.makeFailedFuture(HostFailure(cause: "checking for the primary: \(Self.describe(error))"))
            }
    }

    /// The TLS of every connection, from `sslmode` and `sslrootcert`.
    static func tls(_ settings: PostgresStoreSettings) throws -> PostgresConnection.Configuration.TLS {
        switch settings.sslMode {
        case .disable:
            return .disable
        case .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return .require(try NIOSSLContext(configuration: configuration))
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .fullVerification
            if let file = settings.sslRootCert {
                guard FileManager.default.isReadableFile(atPath: file) else {
                    throw TLSFileError(description: "sslrootcert \(file) cannot be read")
                }
                configuration.trustRoots = .file(file)
            }
            return .require(try NIOSSLContext(configuration: configuration))
        }
    }

    private struct TLSFileError: Error, CustomStringConvertible {
        var description: String
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

    /// No host could be used: each, and why, for the operator.
    struct ConnectFailure: Error, CustomStringConvertible {
        var failures: [String]
        var description: String { "cannot connect to PostgreSQL: " + self.failures.joined(separator: "; ") }
    }

    /// Why one host could not be used.
    struct HostFailure: Error {
        var cause: String
    }

    /// PostgreSQL's refusal (a bad password, no such database) in its own words; anything else
    /// as the error says.
    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError, let last = error.connectionErrors.last?.error {
            return Self.describe(last)
        }
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        if let channelError = error as? ChannelError, case .connectTimeout(let timeout) = channelError {
            return "no connection within \(timeout.nanoseconds / 1_000_000) ms"
        }
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
