import ClaimlineClient
import ClaimlineCore
import ClaimlineTestSupport
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Two real claimlined processes on one real PostgreSQL database: what must hold across
/// instances (docs/SCALING.md). Each test has a database of its own.
@Suite("Several instances on PostgreSQL", .serialized)
struct MultiInstanceTests {
    /// Two daemons on a new database; stopped and the database dropped after `body`.
    static func withPair(
        url: String? = nil, limits: String = "", _ body: (Daemon, Daemon, String) async throws -> Void
    ) async throws {
        let database = try url ?? TestPostgres.createDatabase()
        defer { if url == nil { TestPostgres.dropDatabase(database) } }
        let directoryA = try TemporaryDirectory()
        let directoryB = try TemporaryDirectory()
        defer {
            directoryA.remove()
            directoryB.remove()
        }
        let a = try Daemon(directory: directoryA, limits: limits, logFile: directoryA.path + "/claimlined.log", logLevel: "info", store: database)
        let b = try Daemon(directory: directoryB, limits: limits, logFile: directoryB.path + "/claimlined.log", logLevel: "info", store: database)
        try await a.start()
        try await b.start()
        do {
            try await body(a, b, database)
        } catch {
            a.kill()
            b.kill()
            // What the instances said, for the failure report.
            for (name, directory) in [("A", directoryA), ("B", directoryB)] {
                let log = (try? String(contentsOfFile: directory.path + "/claimlined.log", encoding: .utf8)) ?? ""
                print("claimlined \(name), last lines:\n" + log.split(separator: "\n").suffix(25).joined(separator: "\n"))
            }
            throw error
        }
        _ = try await a.terminate()
        _ = try await b.terminate()
    }

    @Test("A contact escalated on A, retained on B and filed on A")
    func contactAcrossInstances() async throws {
        try await Self.withPair { a, b, _ in
            let onA = try await a.connect()
            let onB = try await b.connect()
            let call = Requests.callID()
            let escalated = try await onA.escalate(Requests.escalate(callID: call, group: .billing, category: .chargedWhileBlocked))
            #expect(escalated.decision == .transferToSecondLine)
            let retained = try await onB.retain(Requests.retain(callID: call, .impossible, reason: .longReview))
            #expect(retained.claimRequired)
            var file = try #require(retained.draft)
            file.idempotencyKey = Requests.key()
            file.description = "Списание при блокировке."
            let filed = try await onA.file(file)
            #expect(filed.claim?.failureReason == .longReview)
            // Both instances read the one database.
            #expect(try await onB.getClaim(filed.claimNumber) == filed.claim)
            let contact = try await onB.call(.getContact, GetContactRequest(callId: call), as: GetContactResponse.self)
            #expect(contact.contact?.state == .claimFiled)
            // And the contact is over on both.
            let again = await rpcError { _ = try await onB.retain(Requests.retain(callID: call, .retained)) }
            #expect(again?.code == .failedPrecondition)
            await onA.close()
            await onB.close()
        }
    }

    /// FileComplaint as a client following PROTOCOL.md does it: `CONTACT_BUSY` (the other
    /// instance held the contact longer than `lock_wait_ms`: not applied) is retried after its
    /// `retry_after_ms`, with the same request; any other answer is the call's.
    static func file(_ request: FileComplaintRequest, on connection: ClaimlineConnection) async throws -> FileComplaintResponse {
        var tries = 0
        while true {
            do {
                return try await connection.file(request)
            } catch let error as RPCError where error.reason == Reason.contactBusy && tries < 100 {
                tries += 1
                try await Task.sleep(for: .milliseconds(Int64(max(error.retryAfterMs, 10))))
            }
        }
    }

    @Test("One idempotency key sent to A and B at once: one claim, the same answer on both")
    func oneKeyOnBothInstances() async throws {
        try await Self.withPair { a, b, database in
            let onA = try await a.connect()
            let onB = try await b.connect()
            for _ in 0..<20 {
                let request = Requests.file()
                async let first = Self.file(request, on: onA)
                async let second = Self.file(request, on: onB)
                let (x, y) = try await (first, second)
                #expect(x.claimNumber == y.claimNumber)
                #expect(x.claim == y.claim)
            }
            let claims = try TestPostgres.psql(database, "SELECT count(*), count(DISTINCT call_id) FROM claims")
            #expect(claims.trimmingCharacters(in: .whitespacesAndNewlines) == "20|20")
            await onA.close()
            await onB.close()
        }
    }

    @Test("8 clients racing on 100 contacts across A and B: one claim per contact, the rest refused")
    func racingClients() async throws {
        try await Self.withPair { a, b, database in
            let contacts = (0..<100).map { _ in Requests.callID() }
            let filed = NIOLockedValueBox(0)
            let refused = NIOLockedValueBox(0)
            let other = NIOLockedValueBox<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        let connection = try await (client % 2 == 0 ? a : b).connect()
                        for call in contacts {
                            do {
                                _ = try await Self.file(Requests.file(callID: call), on: connection)
                                filed.withLockedValue { $0 += 1 }
                            } catch let error as RPCError where error.code == .failedPrecondition {
                                refused.withLockedValue { $0 += 1 }
                            } catch {
                                other.withLockedValue { $0.append("\(error)") }
                            }
                        }
                        await connection.close()
                    }
                }
                try await group.waitForAll()
            }
            #expect(other.withLockedValue { $0 }.isEmpty, "\(other.withLockedValue { $0.prefix(3) })")
            #expect(filed.withLockedValue { $0 } == 100)
            #expect(refused.withLockedValue { $0 } == 700)
            let rows = try TestPostgres.psql(
                database, "SELECT count(*), count(DISTINCT call_id), count(DISTINCT claim_number) FROM claims")
            #expect(rows.trimmingCharacters(in: .whitespacesAndNewlines) == "100|100|100")
        }
    }

    @Test("An incident declared on A governs B's escalate within the documented bound")
    func incidentPropagates() async throws {
        try await Self.withPair { a, b, _ in
            let onA = try await a.connect()
            let onB = try await b.connect()
            // Before: the ordinary decision on B.
            let before = try await onB.escalate(Requests.escalate(group: .billing, category: .migration, region: "54"))
            #expect(before.decision != .followIncidentPlaybook)
            let declared = try await onA.call(
                .declareIncident,
                DeclareIncidentRequest(
                    idempotencyKey: Requests.key(), title: "Сбой АСР Новосибирск", regions: ["54"],
                    categories: [CategoryRef(group: .billing, category: .unspecified)],
                    playbookUrl: "https://kb/incidents/54", playbookText: "Сообщить о сроках восстановления."),
                as: DeclareIncidentResponse.self)
            let incident = try #require(declared.incident?.incidentId)
            let start = ContinuousClock.now
            var seen: Duration?
            while ContinuousClock.now - start < .seconds(5) {
                let answer = try await onB.escalate(Requests.escalate(group: .billing, category: .migration, region: "54"))
                if answer.decision == .followIncidentPlaybook {
                    #expect(answer.incident?.incidentId == incident)
                    seen = ContinuousClock.now - start
                    break
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            let delay = try #require(seen, "B never followed the incident declared on A")
            print("incident declared on A governed B's escalate after \(delay)")
            // The bound (docs/SCALING.md): the re-read interval (1 s) plus a batch.
            #expect(delay < .milliseconds(1_500))
            // Withdrawn on B: A stops following it.
            _ = try await onB.call(
                .withdrawIncident, WithdrawIncidentRequest(idempotencyKey: Requests.key(), incidentId: incident, note: "восстановлено"),
                as: WithdrawIncidentResponse.self)
            let withdrawnStart = ContinuousClock.now
            var cleared = false
            while ContinuousClock.now - withdrawnStart < .seconds(5) {
                let answer = try await onA.escalate(Requests.escalate(group: .billing, category: .migration, region: "54"))
                if answer.decision != .followIncidentPlaybook {
                    cleared = true
                    break
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(cleared)
            #expect(ContinuousClock.now - withdrawnStart < .milliseconds(1_500))
            await onA.close()
            await onB.close()
        }
    }

    @Test("Stats count every instance's work")
    func statsCountBoth() async throws {
        try await Self.withPair { a, b, _ in
            let onA = try await a.connect()
            let onB = try await b.connect()
            for _ in 0..<3 { _ = try await onA.escalate(Requests.escalate()) }
            for _ in 0..<4 { _ = try await onB.escalate(Requests.escalate()) }
            _ = try await onA.file(Requests.file())
            _ = try await onB.file(Requests.file())
            for connection in [onA, onB] {
                let stats = try await connection.call(.getStats, GetStatsRequest(), as: GetStatsResponse.self)
                #expect(stats.escalations == 7)
                #expect(stats.claimsTotal == 2)
            }
            await onA.close()
            await onB.close()
        }
    }
}
