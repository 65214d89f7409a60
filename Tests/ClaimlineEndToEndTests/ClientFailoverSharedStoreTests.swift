import ClaimlineClient
import ClaimlineCore
import ClaimlineTestSupport
import Foundation
import NIOConcurrencyHelpers
import Testing

/// The point of failover: two real instances on one real PostgreSQL database, one SIGKILLed
/// under load, and the library alone (no failover code in the test) gets every call answered
/// by the survivor, each write exactly once — a write that was out on the dead instance is
/// retried on the other with the same idempotency key, which answers the first result.
@Suite("Swift client failover on a shared database", .serialized, .timeLimit(.minutes(3)))
struct ClientFailoverSharedStoreTests {
    @Test("SIGKILL A under load: every call succeeds on B; every acknowledged claim is stored once")
    func sigkillOnASharedDatabase() async throws {
        let database = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(database) }
        let directories = [try TemporaryDirectory(), try TemporaryDirectory()]
        defer { for directory in directories { directory.remove() } }
        let a = try Daemon(directory: directories[0], store: database)
        let b = try Daemon(directory: directories[1], store: database)
        try await a.start()
        try await b.start()

        let client = ClientFailoverTests.client([a.port, b.port], connections: 2, timeout: .seconds(20))
        let acknowledged = NIOLockedValueBox<[(callID: String, claimNumber: String)]>([])
        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        for sequence in 0..<60 {
                            let request = Requests.file(callID: "SHARED-\(worker)-\(sequence)-\(UUID().uuidString.prefix(8))")
                            let answer = try await client.fileComplaint(request)
                            acknowledged.withLockedValue { $0.append((request.callId, answer.claimNumber)) }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        while acknowledged.withLockedValue({ $0.count }) < 60 { try await Task.sleep(for: .milliseconds(5)) }
        a.kill()
        try await load.value

        let acked = acknowledged.withLockedValue { $0 }
        #expect(acked.count == 360, "every call eventually succeeded")
        #expect(client.lastServedAddress?.port == b.port)
        #expect(client.failovers >= 1)
        let rows = try TestPostgres.psql(database, "SELECT claim_number || ' ' || call_id FROM claims")
        var stored: [String: String] = [:]
        var claimsPerCall: [String: Int] = [:]
        for line in rows.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            stored[String(parts[0])] = String(parts[1])
            claimsPerCall[String(parts[1]), default: 0] += 1
        }
        #expect(acked.filter { stored[$0.claimNumber] != $0.callID }.isEmpty, "an acknowledged claim is missing or changed")
        #expect(claimsPerCall.values.allSatisfy { $0 == 1 }, "a retried write made a second claim")
        await client.close()
        _ = try? await b.terminate()
    }
}
