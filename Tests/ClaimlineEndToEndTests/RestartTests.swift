import ClaimlineClient
import ClaimlineCore
import ClaimlineStoreSQLite
import Testing

@Suite("Restart", .serialized)
struct RestartTests {
    @Test("A restart keeps claims, contact sessions, incidents, the second line's mode and idempotency keys")
    func restart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let backend = SQLiteStoreBackend(path: directory.database)

        let first = try await TestServer.start(backend: backend)
        var admin = try await first.connect(.admin)
        let filedRequest = Requests.file()
        let filed = try await admin.file(filedRequest)
        let openCall = Requests.callID()
        _ = try await admin.escalate(Requests.escalate(callID: openCall))
        let incident = try await admin.call(
            .declareIncident,
            DeclareIncidentRequest(idempotencyKey: Requests.key(), title: "Сбой", regions: ["54"], playbookText: "Ждать."),
            as: DeclareIncidentResponse.self
        ).incident!
        _ = try await admin.call(
            .setSecondLineMode, SetSecondLineModeRequest(idempotencyKey: Requests.key(), mode: .degraded, reason: "ночь"),
            as: SecondLineModeResponse.self
        )
        await admin.close()
        try await first.stop()

        let second = try await TestServer.start(backend: backend)
        admin = try await second.connect(.admin)
        #expect(try await admin.getClaim(filed.claimNumber) == filed.claim)
        #expect(try await admin.file(filedRequest) == filed, "the idempotency key did not survive")
        // The open contact continues where it was.
        #expect(try await admin.retain(Requests.retain(callID: openCall, .retained)).state == .retained)
        // The incident is still active and still decides.
        #expect(try await admin.call(.listIncidents, ListIncidentsRequest(), as: ListIncidentsResponse.self).incidents == [incident])
        #expect(try await admin.escalate(Requests.escalate(region: "54")).decision == .followIncidentPlaybook)
        // The mode is still degraded, and still decides.
        #expect(try await admin.call(.getSecondLineMode, GetSecondLineModeRequest(), as: SecondLineModeResponse.self).mode == .degraded)
        #expect(try await admin.escalate(Requests.escalate(region: "50")).decision == .fileClaim)
        // Numbering continues.
        let next = try await admin.file(Requests.file()).claimNumber
        #expect(Int(next.split(separator: "-")[1]) == Int(filed.claimNumber.split(separator: "-")[1])! + 1)
        await admin.close()
        try await second.stop()
    }
}
