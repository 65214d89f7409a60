import ClaimlineClient
import ClaimlineCore
import Testing

@Suite("FileComplaint", .serialized)
struct FileComplaintTests {
    @Test("Each of the 18 categories is filed once, routed by the policy, numbered in sequence")
    func allCategories() async throws {
        let server = try await TestServer.start()
        let agent = try await server.connect(.agent)
        let admin = try await server.connect(.admin)
        var numbers: [String] = []
        for ref in Taxonomy.allPairs {
            let call = Requests.callID()
            let place = Taxonomy.requiresPlace(ref.group) ? "PLACE-1" : ""
            if !Taxonomy.requiresPlace(ref.group) {
                // Only quality-of-service claims may be filed directly; the rest follow the path.
                _ = try await admin.call(
                    .setSecondLineMode, SetSecondLineModeRequest(idempotencyKey: Requests.key(), mode: .closed), as: SecondLineModeResponse.self
                )
                #expect(try await admin.escalate(Requests.escalate(callID: call, group: ref.group, category: ref.category)).decision == .fileClaim)
            }
            let filed = try await agent.file(Requests.file(callID: call, group: ref.group, category: ref.category, place: place))
            #expect(filed.claim?.category == ref)
            #expect(!filed.department.isEmpty)
            #expect(filed.dueAtMs > filed.claim!.createdAtMs)
            numbers.append(filed.claimNumber)
        }
        #expect(numbers.count == 18)
        #expect(Set(numbers).count == 18)
        let sequences = numbers.map { Int($0.split(separator: "-")[1])! }
        #expect(sequences == Array(1...18))
        let stats = try await admin.call(.getStats, GetStatsRequest(), as: GetStatsResponse.self)
        #expect(stats.claimsTotal == 18)
        #expect(stats.claimsByCategory.count == 18)
        #expect(stats.claimsByGroup.map(\.claims).reduce(0, +) == 18)
        await agent.close()
        await admin.close()
        try await server.stop()
    }

    @Test("A category filed under the wrong group is INVALID_ARGUMENT naming category.category")
    func wrongGroup() async throws {
        let server = try await TestServer.start()
        let agent = try await server.connect(.agent)
        // "Rudeness" (improper service) is not a billing category.
        let error = await rpcError { _ = try await agent.file(Requests.file(group: .billing, category: .improperService)) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.fieldViolations.map(\.field) == ["category.category"])
        #expect(error?.message.contains("improper_service is not a billing category") == true)
        await agent.close()
        try await server.stop()
    }

    @Test("Each invalid field is INVALID_ARGUMENT naming it, all at once")
    func validation() async throws {
        let server = try await TestServer.start()
        let agent = try await server.connect(.agent)
        var request = Requests.file()
        request.subscriber?.msisdn = "89161234567"
        request.placeId = ""
        request.description = String(repeating: "ж", count: 4001)
        request.idempotencyKey = ""
        let error = await rpcError { _ = try await agent.file(request) }
        #expect(error?.code == .invalidArgument)
        #expect(Set(error?.fieldViolations.map(\.field) ?? []) == ["subscriber.msisdn", "place_id", "description", "idempotency_key"])

        var empty = Requests.file()
        empty.description = ""
        #expect(await rpcError { _ = try await agent.file(empty) }?.fieldViolations.map(\.field) == ["description"])

        var maxLength = Requests.file()
        maxLength.description = String(repeating: "ж", count: 4000)
        #expect(try await agent.file(maxLength).claim?.description.count == 4000)

        var unknownEnum = Requests.file()
        unknownEnum.failureReason = .unrecognized(42)
        #expect(await rpcError { _ = try await agent.file(unknownEnum) }?.fieldViolations.map(\.field) == ["failure_reason"])

        var noSubscriber = Requests.file()
        noSubscriber.subscriber = nil
        #expect(await rpcError { _ = try await agent.file(noSubscriber) }?.fieldViolations.map(\.field) == ["subscriber"])

        var unknownIncident = Requests.file()
        unknownIncident.incidentId = "INC-424242"
        #expect(await rpcError { _ = try await agent.file(unknownIncident) }?.fieldViolations.map(\.field) == ["incident_id"])
        await agent.close()
        try await server.stop()
    }

    @Test("Cyrillic text survives the round trip byte for byte")
    func cyrillic() async throws {
        let server = try await TestServer.start()
        let agent = try await server.connect(.agent)
        let text = "Абонент недоволен: «грубость» оператора, звонок прерван дважды. Ёжик — тест 🙂"
        let filed = try await agent.file(Requests.file(description: text))
        #expect(try await agent.getClaim(filed.claimNumber)?.description == text)
        await agent.close()
        try await server.stop()
    }
}
