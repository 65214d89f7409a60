import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real PostgreSQL for tests (never a mock): the cluster `make test` started
/// (`tools/pg/with-cluster.sh` exports `CLAIMLINE_PG_URL`, `CLAIMLINE_PG_DIR` and
/// `CLAIMLINE_PG_CLUSTER`), or, when a test runs outside `make test`, a throwaway cluster this
/// process starts with `tools/pg/cluster.sh` and removes when it exits.
///
/// Every test gets a database of its own (``createDatabase()``), so tests neither see each
/// other's rows nor depend on their order.
public enum TestPostgres {
    public struct Cluster: Sendable {
        /// `postgres://claimline@127.0.0.1:PORT/claimline`.
        public let url: String
        /// The cluster's folder (for `stop`, `start`, `kill`).
        public let directory: String
        /// tools/pg/cluster.sh.
        public let script: String
    }

    private static let started = Mutex<Cluster?>(nil)

    /// The repository's root, found from this file's path.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The cluster of this test run, started on first use when the environment has none.
    public static func cluster() throws -> Cluster {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["CLAIMLINE_PG_URL"], let directory = environment["CLAIMLINE_PG_DIR"], !url.isEmpty {
            return Cluster(
                url: url, directory: directory,
                script: environment["CLAIMLINE_PG_CLUSTER"] ?? repositoryRoot + "/tools/pg/cluster.sh")
        }
        return try self.started.withLock { started in
            if let started { return started }
            let directory = NSTemporaryDirectory() + "claimline-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
            let script = repositoryRoot + "/tools/pg/cluster.sh"
            let url = try run(script, ["init", directory]).trimmingCharacters(in: .whitespacesAndNewlines)
            let cluster = Cluster(url: url, directory: directory, script: script)
            started = cluster
            atexit {
                if let cluster = TestPostgres.started.withLock({ $0 }) {
                    _ = try? TestPostgres.run(cluster.script, ["destroy", cluster.directory])
                }
            }
            return cluster
        }
    }

    /// A cluster of `body`'s own, for tests that stop or kill PostgreSQL (the shared one serves
    /// other tests running at the same time); removed afterwards, whatever happens.
    public static func withPrivateCluster<T>(_ body: (Cluster) async throws -> T) async throws -> T {
        let script = repositoryRoot + "/tools/pg/cluster.sh"
        let directory = NSTemporaryDirectory() + "claimline-pg-private-\(getpid())-\(UUID().uuidString.prefix(8))"
        let url = try run(script, ["init", directory]).trimmingCharacters(in: .whitespacesAndNewlines)
        let cluster = Cluster(url: url, directory: directory, script: script)
        do {
            let result = try await body(cluster)
            _ = try? run(script, ["destroy", directory])
            return result
        } catch {
            _ = try? run(script, ["destroy", directory])
            throw error
        }
    }

    /// A TLS-only cluster of `body`'s own with a throwaway CA (`tools/tls/make-certs.sh`): its
    /// URL names `localhost`; `certificates` holds `ca.pem` and, from another CA, `rogue-ca.pem`.
    public static func withTLSCluster<T>(_ body: (_ cluster: Cluster, _ certificates: String) async throws -> T) async throws -> T {
        let root = NSTemporaryDirectory() + "claimline-pg-tls-\(getpid())-\(UUID().uuidString.prefix(8))"
        let certificates = root + "/certs"
        let directory = root + "/pg"
        let script = repositoryRoot + "/tools/pg/cluster.sh"
        defer {
            _ = try? run(script, ["destroy", directory])
            try? FileManager.default.removeItem(atPath: root)
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try run(repositoryRoot + "/tools/tls/make-certs.sh", [certificates])
        let url = try run(script, ["init", directory, "--tls", certificates, "--tls-only"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let cluster = Cluster(url: url.replacingOccurrences(of: "@127.0.0.1:", with: "@localhost:"), directory: directory, script: script)
        return try await body(cluster, certificates)
    }

    /// `stop`, `start` or `kill` `cluster`.
    public static func control(_ command: String, _ cluster: Cluster) throws {
        try self.run(cluster.script, [command, cluster.directory])
    }

    /// A new, empty database on the cluster; its URL. Dropped by ``dropDatabase(_:)``.
    public static func createDatabase() throws -> String {
        let cluster = try self.cluster()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try self.psql(cluster.url, "CREATE DATABASE \(name)")
        return self.url(cluster.url, database: name)
    }

    public static func dropDatabase(_ url: String) {
        guard let cluster = try? self.cluster(), let name = url.split(separator: "/").last.map(String.init) else { return }
        _ = try? self.psql(cluster.url, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// `url` with its database replaced by `database`.
    public static func url(_ url: String, database: String) -> String {
        guard let slash = url.lastIndex(of: "/") else { return url }
        return String(url[...slash]) + database
    }

    /// Runs SQL through psql; its output.
    @discardableResult
    public static func psql(_ url: String, _ sql: String) throws -> String {
        try run("/usr/bin/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
    }

    /// `stop`, `start` or `kill` (immediate shutdown) the test run's cluster.
    public static func control(_ command: String) throws {
        let cluster = try self.cluster()
        try self.run(cluster.script, [command, cluster.directory])
    }

    /// Runs a program, waits, returns its standard output; throws with its standard error when
    /// it fails. Spawned and reaped with posix_spawn and waitpid, output through files: a
    /// PostgreSQL server the program starts inherits its descriptors (a pipe would never reach
    /// end of file), and Foundation's `Process.waitUntilExit` was seen never to return for a
    /// script that left such a daemon behind.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String]) throws -> String {
        let scratch = NSTemporaryDirectory() + "claimline-run-\(UUID().uuidString)"
        defer {
            unlink(scratch + ".out")
            unlink(scratch + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, scratch + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, scratch + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw TestPostgresError(message: "cannot run \(program): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let out = (try? String(contentsOfFile: scratch + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: scratch + ".err", encoding: .utf8)) ?? ""
        // Exited normally with 0 (the status word's low 7 bits 0, exit code in the next 8).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw TestPostgresError(message: "\(program) \(arguments.joined(separator: " ")): status \(status): " + err)
        }
        return out
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
}
