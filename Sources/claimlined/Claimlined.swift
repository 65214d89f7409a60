import ArgumentParser
import ClaimlinePolicy
import ClaimlineServer
import ClaimlineStore
import ClaimlineStorePostgres
import ClaimlineStoreSQLite
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `claimlined`: the Claimline service. Only the executable bootstraps logging and the
/// service group; the libraries take a `Logger`.
@main
struct Claimlined: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claimlined",
        abstract: "The Claimline service: escalate, retain and file complaints over Claimline protocol v1."
    )

    @Option(help: "Address to listen on, host:port.")
    var listen: String = "127.0.0.1:7400"

    @Option(help: "Folder for the SQLite store (created if missing).")
    var dataDir: String = "./.claimline"

    @Option(
        help: """
            The store: postgres://user[:password]@host:port/database (several claimlined may share one \
            database; options as ?query_timeout_ms=5000&connect_timeout_ms=2000&claim_number_block=100&\
            shared_state_refresh_ms=1000). Absent: the configuration file's "store", else SQLite in --data-dir.
            """)
    var store: String?

    @Option(help: "TLS on the service port: the server's certificate chain (PEM). With --tls-key.")
    var tlsCert: String?

    @Option(help: "TLS: the server's private key (PEM).")
    var tlsKey: String?

    @Option(help: "TLS: ask clients for a certificate and verify it against this CA file (PEM); mTLS.")
    var tlsClientCa: String?

    @Flag(help: "TLS: refuse a client without a valid certificate (needs --tls-client-ca).")
    var tlsRequireClientCert = false

    @Option(help: "Configuration file (JSON): clients and tokens, limits, the policy file.")
    var config: String = "config/claimline.json"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Log format: text (one line per event) or json (one JSON object per line, for log shippers).")
    var logFormat: String = "text"

    @Option(
        help: """
            The admin listener, host:port (HTTP/1.1): GET /metrics (Prometheus), /healthz, /readyz.             Absent: the configuration's "adminListen", else none. Keep it off the public network.
            """)
    var adminListen: String?

    @Option(
        help: """
            Once listening, write {"service": PORT, "admin": PORT} to this file (written whole, then renamed \
            into place): for scripts and tests that listen on port 0.
            """)
    var readyFile: String?

    @Flag(
        help: """
            Exit at start when the database (--store) does not answer, instead of listening not ready, \
            refusing writes with UNAVAILABLE and connecting as soon as it answers.
            """)
    var exitIfStoreUnavailable = false

    @Flag(help: "Record no metrics (the admin listener's /metrics then has only the process's): for measuring their cost.")
    var noMetrics = false

    func run() async throws {
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        switch self.logFormat {
        case "text":
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case "json":
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        default:
            throw ValidationError("--log-format: text or json, got \(self.logFormat)")
        }
        let logger = Logger(label: "claimlined")
        // A service manager's soft limit is often far below what the hard limit allows.
        let openFiles = ClaimlineServer.raiseOpenFileLimit()
        let registry = PrometheusCollectorRegistry()
        if !self.noMetrics {
            MetricsSystem.bootstrap(Self.metricsFactory(registry))
        }

        let (host, port) = try Self.parseListen(self.listen)
        let configURL = URL(fileURLWithPath: self.config)
        var configuration = try JSONDecoder().decode(ServerConfiguration.self, from: Data(contentsOf: configURL))
        switch (self.tlsCert, self.tlsKey) {
        case (let certificate?, let key?):
            configuration.tls = .init(
                certificateFile: certificate, privateKeyFile: key, clientCAFile: self.tlsClientCa ?? configuration.tls?.clientCAFile,
                requireClientCertificate: self.tlsRequireClientCert || (configuration.tls?.requireClientCertificate ?? false)
            )
        case (nil, nil):
            if self.tlsClientCa != nil || self.tlsRequireClientCert {
                guard var tls = configuration.tls else {
                    throw ValidationError("--tls-client-ca and --tls-require-client-cert need --tls-cert and --tls-key")
                }
                tls.clientCAFile = self.tlsClientCa ?? tls.clientCAFile
                tls.requireClientCertificate = self.tlsRequireClientCert || tls.requireClientCertificate
                configuration.tls = tls
            }
        default:
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if let tls = configuration.tls {
            do {
                _ = try ServerTLS(tls)  // a bad file stops the start here, naming it
            } catch {
                throw ValidationError(error.description)
            }
        }
        let problems = configuration.problems()
        guard problems.isEmpty else {
            throw ValidationError("\(self.config):\n  " + problems.joined(separator: "\n  "))
        }
        let policyURL = URL(fileURLWithPath: configuration.policyFile, relativeTo: configURL.deletingLastPathComponent())
        let policy = try Self.loadPolicy(policyURL)

        let backend: any ClaimStoreBackend
        // Held until the process ends (the kernel releases it however it ends).
        var folderLock: DataFolderLock?
        defer { withExtendedLifetime(folderLock) {} }
        if let url = self.store ?? configuration.store {
            do {
                backend = PostgresStoreBackend(settings: try PostgresStoreSettings(url: url), logger: logger)
            } catch {
                throw ValidationError("--store: \(error.message)")
            }
        } else {
            try FileManager.default.createDirectory(atPath: self.dataDir, withIntermediateDirectories: true)
            do {
                folderLock = try DataFolderLock(folder: self.dataDir)
            } catch let busy as DataFolderLock.Busy {
                logger.critical("cannot start: \(busy)")
                FileHandle.standardError.write(Data("claimlined: \(busy)\n".utf8))
                throw ExitCode(Self.exitDataFolderInUse)
            }
            backend = SQLiteStoreBackend(path: URL(fileURLWithPath: self.dataDir).appendingPathComponent("claimline.db").path)
        }
        var admin: AdminEndpoint?
        if let listen = self.adminListen ?? configuration.adminListen {
            let (adminHost, adminPort) = try Self.parseListen(listen, option: "--admin-listen")
            admin = AdminEndpoint(host: adminHost, port: adminPort) {
                var bytes: [UInt8] = []
                registry.emit(into: &bytes)
                return bytes
            }
        }
        let server = ClaimlineServer(
            configuration: configuration, backend: backend, policy: policy, host: host, port: port,
            readerThreads: configuration.readers, logger: logger, admin: admin,
            policyLoader: { try Claimlined.loadPolicy(policyURL) }, waitForStore: !self.exitIfStoreUnavailable
        )
        logger.info(
            "starting",
            metadata: [
                "store.name": "\(backend.name)", "policy.name": "\(policy.name)", "policy.version": "\(policy.version)",
                "clients": "\(configuration.clients.count)", "open_files.limit": "\(openFiles)",
            ]
        )
        let reloader = PolicyReloader(holder: server.policy, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: server),
                    .init(service: reloader, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        if let readyFile = self.readyFile {
            Task {
                guard let service = try? await server.listeningAddress().port else { return }
                let admin = (try? await server.adminAddress())??.port
                let text = "{\"service\": \(service)\(admin.map { ", \"admin\": \($0)" } ?? "")}\n"
                let partial = readyFile + ".partial"
                do {
                    try text.write(toFile: partial, atomically: false, encoding: .utf8)
                    _ = rename(partial, readyFile)
                } catch {
                    logger.error("cannot write --ready-file", metadata: ["file": "\(readyFile)", "error": "\(error)"])
                }
            }
        }
        try await group.run()
    }

    /// The exit status of a claimlined started on a data folder another one holds
    /// (docs/OPERATIONS.md, "Exit status"); sysexits' EX_CANTCREAT.
    static let exitDataFolderInUse: Int32 = 73

    static func parseListen(_ value: String, option: String = "--listen") throws -> (String, Int) {
        guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("\(option): expected host:port, got \(value)")
        }
        return (String(value[..<colon]), port)
    }

    /// Prometheus through swift-metrics, with buckets for what claimlined measures: call
    /// latencies from 100 µs to 10 s, batch commits from 100 µs to 5 s, batch sizes 1 to 4096.
    static func metricsFactory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        let latency: [Duration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        factory.defaultDurationHistogramBuckets = latency
        factory.durationHistogramBuckets["claimline_writer_commit_seconds"] = Array(latency.prefix(15))
        factory.valueHistogramBuckets["claimline_writer_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
        return factory
    }

    static func loadPolicy(_ url: URL) throws -> Policy {
        do {
            return try Policy.parse(Array(try Data(contentsOf: url)))
        } catch let error as PolicyError {
            throw ValidationError("\(url.path): \(error)")
        }
    }
}

/// Reloads the policy file on SIGHUP without dropping a connection; a bad file is logged and
/// the policy in force stays. (The ReloadPolicy call does the same, with an answer and an audit
/// record.)
struct PolicyReloader: Service {
    let holder: PolicyHolder
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                guard let load = self.holder.load else { continue }
                let policy = try load()
                self.holder.replace(with: policy)
                self.logger.info("policy reloaded", metadata: ["policy.name": "\(policy.name)", "policy.version": "\(policy.version)"])
            } catch {
                self.logger.warning("policy reload failed; keeping the current policy", metadata: ["error": "\(error)"])
            }
        }
    }
}
