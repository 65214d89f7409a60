import ClaimlineClient
import ClaimlineCore
import ClaimlineTestSupport
import Foundation
import Testing

/// `/readyz` tells the truth about the database (issue 21): it asks the store itself, so it is
/// not ready within a second of PostgreSQL no longer answering, even when no call comes, and
/// ready again when it answers. A cluster of the test's own, frozen as a VM freezes (SIGSTOP:
/// sockets stay open, nothing answers).
@Suite("MultiInstance: readiness follows the database", .serialized)
struct MultiInstanceReadinessTests {
    @Test("/readyz is not ready within 1 s of PostgreSQL freezing, with no call in flight, and ready again once it answers")
    func frozenDatabase() async throws {
        try await TestPostgres.withPrivateCluster { cluster in
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let daemon = try Daemon(directory: directory, store: cluster.url, arguments: ["--admin-listen", "127.0.0.1:0"])
            try await daemon.start()
            let adminPort = try #require(daemon.adminPort)
            defer { daemon.kill() }
            try await PartialFailureTests.waitUntil { (try? HTTP.get(port: adminPort, path: "/readyz").status) == 200 }

            try TestPostgres.control("freeze", cluster)
            let frozen = ContinuousClock.now
            var thawed = false
            defer { if !thawed { try? TestPostgres.control("thaw", cluster) } }
            // Polled from a thread of its own, so the time measured is the server's, not how
            // long this test waited for a turn among the other suites' tasks.
            let (status, noticed) = try await PartialFailureTests.onThread { () throws -> (Int, Duration) in
                var status = 200
                while status == 200 && ContinuousClock.now - frozen < .seconds(10) {
                    status = try HTTP.get(port: adminPort, path: "/readyz").status
                    if status == 200 { Thread.sleep(forTimeInterval: 0.02) }
                }
                return (status, ContinuousClock.now - frozen)
            }.value
            print("readiness: not ready \(noticed) after PostgreSQL froze")
            #expect(status == 503)
            #expect(noticed < .seconds(1), "took \(noticed)")
            let body = try HTTP.get(port: adminPort, path: "/readyz").body
            #expect(body.contains("store not answering"), "\(body)")

            try TestPostgres.control("thaw", cluster)
            thawed = true
            try await PartialFailureTests.waitUntil { (try? HTTP.get(port: adminPort, path: "/readyz").status) == 200 }
            let client = try await daemon.connect()
            _ = try await client.escalate(Requests.escalate())
            await client.close()
        }
    }

    @Test("Writes flow again within 1 s of PostgreSQL accepting connections after an outage, without a restart")
    func reconnectsPromptly() async throws {
        try await TestPostgres.withPrivateCluster { cluster in
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let daemon = try Daemon(directory: directory, store: cluster.url, arguments: ["--admin-listen", "127.0.0.1:0"])
            try await daemon.start()
            let adminPort = try #require(daemon.adminPort)
            defer { daemon.kill() }
            let client = try await daemon.connect()
            _ = try await client.escalate(Requests.escalate())

            try TestPostgres.control("stop", cluster)
            var stopped = true
            defer { if stopped { try? TestPostgres.control("start", cluster) } }
            // Writes are refused as not applied meanwhile; the writer's backoff reaches its cap.
            let refused = await rpcError {
                _ = try await client.call(.escalate, Requests.escalate(), as: EscalateResponse.self, timeout: .seconds(2))
            }
            #expect(refused?.reason == Reason.storeUnavailable, "\(String(describing: refused))")
            try await Task.sleep(for: .seconds(3))
            try TestPostgres.control("start", cluster)  // returns once it accepts connections
            stopped = false
            let started = ContinuousClock.now
            var flowing: Duration?
            while flowing == nil && ContinuousClock.now - started < .seconds(10) {
                if (try? await client.call(.escalate, Requests.escalate(), as: EscalateResponse.self, timeout: .seconds(1))) != nil {
                    flowing = ContinuousClock.now - started
                } else {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            print("reconnect: writes flow again \(flowing.map { "\($0)" } ?? "never") after PostgreSQL accepted connections")
            let after = try #require(flowing)
            #expect(after < .seconds(1), "took \(after)")
            #expect(try await daemon.terminate() == 0)
            await client.close()
        }
    }

    @Test("Started while PostgreSQL is down: it listens, refuses writes, is not ready, and becomes ready by itself")
    func startsBeforeTheDatabase() async throws {
        try await TestPostgres.withPrivateCluster { cluster in
            try TestPostgres.control("stop", cluster)
            var stopped = true
            defer { if stopped { try? TestPostgres.control("start", cluster) } }
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let daemon = try Daemon(directory: directory, store: cluster.url, arguments: ["--admin-listen", "127.0.0.1:0"])
            try await daemon.start()
            let adminPort = try #require(daemon.adminPort)
            defer { daemon.kill() }
            let client = try await daemon.connect()
            let refused = await rpcError { _ = try await client.escalate(Requests.escalate()) }
            #expect(refused?.code == .unavailable)
            #expect(refused?.reason == Reason.storeUnavailable)
            #expect((try? HTTP.get(port: adminPort, path: "/readyz").status) == 503)

            try TestPostgres.control("start", cluster)
            stopped = false
            try await PartialFailureTests.waitUntil { (try? HTTP.get(port: adminPort, path: "/readyz").status) == 200 }
            _ = try await client.escalate(Requests.escalate())
            await client.close()
        }
    }

    @Test("--exit-if-store-unavailable: started while PostgreSQL is down, it exits with a message naming the host")
    func exitsWhenAsked() async throws {
        let port = try TestPorts.closedLoopbackPort()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Daemon.binary)
        process.arguments = [
            "--listen", "127.0.0.1:0", "--data-dir", directory.path + "/data", "--config",
            GoldenPaths.repositoryRoot + "/config/claimline.json", "--store", "postgres://claimline@127.0.0.1:\(port)/claimline",
            "--exit-if-store-unavailable",
        ]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(message.contains("127.0.0.1:\(port)"), "\(message)")
    }
}
