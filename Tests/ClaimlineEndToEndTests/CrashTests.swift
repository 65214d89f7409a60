import ClaimlineClient
import ClaimlineCore
import ClaimlineLoad
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// The promise that matters most: every acknowledged claim survives a SIGKILL, exactly once.
/// Runs the real `claimlined` binary (built beside the tests) as a child process.
@Suite("Crash", .serialized)
struct CrashTests {
    struct Acknowledged: Sendable {
        var request: FileComplaintRequest
        var claimNumber: String
    }

    @Test("SIGKILL mid-load: every acknowledged claim is there exactly once after restart")
    func sigkillMidLoad() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try Daemon(directory: directory)

        try await daemon.start()
        let acknowledged = NIOLockedValueBox<[Acknowledged]>([])
        let attempts = NIOLockedValueBox(0)
        let clients = 8
        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<clients {
                    group.addTask {
                        guard let connection = try? await daemon.connect() else { return }
                        var sequence = 0
                        while !Task.isCancelled {
                            sequence += 1
                            var request = Requests.file()
                            request.callId = "CRASH-\(worker)-\(sequence)-\(UUID().uuidString.prefix(8))"
                            attempts.withLockedValue { $0 += 1 }
                            do {
                                let answer = try await connection.file(request)
                                acknowledged.withLockedValue { $0.append(Acknowledged(request: request, claimNumber: answer.claimNumber)) }
                            } catch {
                                return  // the server is gone
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        // Kill it while the clients are busy: after a few hundred acknowledgements.
        let deadline = ContinuousClock.now + .seconds(20)
        while acknowledged.withLockedValue({ $0.count }) < 400 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        daemon.kill()
        try await load.value
        let acked = acknowledged.withLockedValue { $0 }
        let tried = attempts.withLockedValue { $0 }
        #expect(acked.count >= 400, "the load did not get going")

        try await daemon.start()
        let admin = try await daemon.connect()
        var lost = 0
        var changed = 0
        for ack in acked {
            let claim = try await admin.getClaim(ack.claimNumber)
            if claim == nil { lost += 1 } else if claim?.callId != ack.request.callId { changed += 1 }
        }
        // Every claim, listed: no call id twice.
        var all: [Claim] = []
        var token = ""
        repeat {
            let page = try await admin.call(.listClaims, ListClaimsRequest(pageSize: 1000, pageToken: token), as: ListClaimsResponse.self)
            all += page.claims
            token = page.nextPageToken
        } while !token.isEmpty
        let duplicated = all.count - Set(all.map(\.callId)).count
        // A retry of acknowledged writes after the restart answers the same claim, not a new one.
        var retriedDifferently = 0
        for ack in acked.prefix(50) where try await admin.file(ack.request).claimNumber != ack.claimNumber {
            retriedDifferently += 1
        }
        print(
            "crash test: \(tried) claims sent by \(clients) clients, \(acked.count) acknowledged before SIGKILL; after restart "
                + "\(acked.count - lost) of them found, \(lost) lost, \(duplicated) duplicated, \(changed) changed; "
                + "\(all.count) claims stored (\(all.count - acked.count) committed but not acknowledged before the kill)"
        )
        #expect(lost == 0)
        #expect(duplicated == 0)
        #expect(changed == 0)
        #expect(retriedDifferently == 0)
        #expect(all.count >= acked.count)
        await admin.close()
        #expect(try await daemon.terminate() == 0, "claimlined did not exit cleanly on SIGTERM")
    }
}

/// The claimlined binary in a child process, with its own config, data and port.
final class Daemon: Sendable {
    let directory: TemporaryDirectory
    /// The service port: the one given, else the one the first start bound (port 0, learned
    /// from `--ready-file`: no race with other processes for a port picked in advance); later
    /// starts bind it again.
    var port: Int { self.ports.withLockedValue { $0.service } }
    /// The admin port, when `arguments` ask for an admin listener (`--admin-listen 127.0.0.1:0`).
    var adminPort: Int? { self.ports.withLockedValue { $0.admin } }
    private let ports: NIOLockedValueBox<(service: Int, admin: Int?)>
    private let process = NIOLockedValueBox<Process?>(nil)
    /// Where the daemon's standard error goes (nil: nowhere).
    let logFile: String?
    let logLevel: String
    /// `--store`: a PostgreSQL URL; nil for SQLite in the directory.
    let store: String?
    /// More command-line options.
    let arguments: [String]
    /// A command the daemon runs under (e.g. `prlimit --nofile=256:256 --`); empty for none.
    let launcher: [String]

    /// - Parameters:
    ///   - policyFile: the policy the daemon reads (default: the repository's).
    ///   - limits: JSON members added to the configuration's `limits`.
    ///   - store: a `postgres://` URL (several daemons may share it); nil for SQLite.
    init(
        directory: TemporaryDirectory, policyFile: String = GoldenPaths.repositoryRoot + "/config/policy.json",
        limits: String = "", logFile: String? = nil, logLevel: String = "warning", store: String? = nil,
        arguments: [String] = [], launcher: [String] = [], port: Int? = nil
    ) throws {
        self.arguments = arguments
        self.launcher = launcher
        self.directory = directory
        self.ports = NIOLockedValueBox((port ?? 0, nil))
        // Always kept: when a daemon fails to start, its own words are in the test's failure.
        self.logFile = logFile ?? directory.path + "/claimlined.log"
        self.logLevel = logLevel
        self.store = store
        let config = """
            {"clients": [{"name": "crash-admin", "token": "\(TestServer.tokens[.admin]!)", "role": "admin"}],
             "policyFile": "\(policyFile)",
             "limits": {"shutdownGracePeriodMs": 2000\(limits.isEmpty ? "" : ", " + limits)}}
            """
        try config.write(toFile: directory.path + "/claimline.json", atomically: true, encoding: .utf8)
    }

    /// The claimlined built beside the tests; `CLAIMLINED_BINARY` points at another (e.g. an
    /// older build, to show a test fails without a fix).
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["CLAIMLINED_BINARY"], !path.isEmpty { return path }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("claimlined").path
    }

    func start() async throws {
        let process = Process()
        let readyFile = self.directory.path + "/ready.json"
        try? FileManager.default.removeItem(atPath: readyFile)
        // A restart binds the admin port of the first start again, as it does the service port.
        let arguments = self.arguments.map { argument in
            self.adminPort.map { argument == "127.0.0.1:0" ? "127.0.0.1:\($0)" : argument } ?? argument
        }
        process.executableURL = URL(fileURLWithPath: self.launcher.first ?? Self.binary)
        process.arguments =
            (self.launcher.isEmpty ? [] : Array(self.launcher.dropFirst()) + [Self.binary]) + [
                "--listen", "127.0.0.1:\(self.port)", "--ready-file", readyFile, "--data-dir", self.directory.path + "/data",
                "--config", self.directory.path + "/claimline.json", "--log-level", self.logLevel,
            ] + (self.store.map { ["--store", $0] } ?? []) + arguments
        process.standardOutput = FileHandle.nullDevice
        if let logFile = self.logFile {
            if !FileManager.default.fileExists(atPath: logFile) { _ = FileManager.default.createFile(atPath: logFile, contents: nil) }
            let handle = FileHandle(forWritingAtPath: logFile)
            handle?.seekToEndOfFile()
            process.standardError = handle
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        self.process.withLockedValue { $0 = process }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let data = FileManager.default.contents(atPath: readyFile),
                let ready = try? JSONSerialization.jsonObject(with: data) as? [String: Int], let service = ready["service"]
            {
                self.ports.withLockedValue { $0 = (service, ready["admin"]) }
                let connection = try await self.connect()
                await connection.close()
                return
            }
            guard process.isRunning else {
                let why = process.terminationReason == .uncaughtSignal ? "signal" : "status"
                throw RPCError(
                    .unavailable, "claimlined exited with \(why) \(process.terminationStatus) before listening; its log ends:\n\(self.logTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RPCError(.unavailable, "claimlined did not start listening; its log ends:\n\(self.logTail())")
    }

    /// The last lines of the daemon's log.
    func logTail(lines: Int = 40) -> String {
        guard let logFile, let text = try? String(contentsOfFile: logFile, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    func connect() async throws -> ClaimlineConnection {
        try await ClaimlineConnection.connect(host: "127.0.0.1", port: self.port, token: TestServer.tokens[.admin]!, clientName: "crash")
    }

    var pid: Int32? { self.process.withLockedValue { $0 }?.processIdentifier }

    /// The daemon's resident set size in bytes, from /proc.
    func residentBytes() -> Int {
        guard let pid, let sample = ProcSampler.sample(pid: pid) else { return 0 }
        return Int(sample.rssKB) * 1024
    }

    func kill() {
        self.signal(SIGKILL)
        self.process.withLockedValue { $0 }?.waitUntilExit()
    }

    func signal(_ signal: Int32) {
        guard let process = self.process.withLockedValue({ $0 }) else { return }
        Foundation.kill(process.processIdentifier, signal)
    }

    /// SIGTERM, then the exit status.
    func terminate() async throws -> Int32 {
        guard let process = self.process.withLockedValue({ $0 }) else { return -1 }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(15)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { self.kill() }
        return process.terminationStatus
    }

    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress!.port!
    }
}

enum GoldenPaths {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}
