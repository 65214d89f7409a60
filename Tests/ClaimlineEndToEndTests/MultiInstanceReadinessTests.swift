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
            let adminPort = try Daemon.freePort()
            let daemon = try Daemon(directory: directory, store: cluster.url, arguments: ["--admin-listen", "127.0.0.1:\(adminPort)"])
            try await daemon.start()
            defer { daemon.kill() }
            try await PartialFailureTests.waitUntil { (try? HTTP.get(port: adminPort, path: "/readyz").status) == 200 }

            try TestPostgres.control("freeze", cluster)
            let frozen = ContinuousClock.now
            var thawed = false
            defer { if !thawed { try? TestPostgres.control("thaw", cluster) } }
            var status = 200
            while status == 200 && ContinuousClock.now - frozen < .seconds(10) {
                status = try HTTP.get(port: adminPort, path: "/readyz").status
                if status == 200 { try await Task.sleep(for: .milliseconds(20)) }
            }
            let noticed = ContinuousClock.now - frozen
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
}
