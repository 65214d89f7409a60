import ClaimlineCore
import ClaimlineStore
import Testing

/// ListClaims and GetStats: the same answers from every backend.
@Suite("Store conformance: queries")
struct StoreQueryTests {
    static let alice = "+79160000001"
    static let bob = "+79160000002"

    /// 25 claims; created times come in threes (ties), msisdns and statuses alternate.
    static func dataSet() -> [Claim] {
        (1...25).map { index in
            Fixtures.claim(
                index,
                createdAtMs: 1_000 + Int64(index / 3) * 10,
                msisdn: index % 2 == 0 ? alice : bob,
                status: index % 3 == 0 ? .pending : .acknowledged)
        }
    }

    static func newestFirst(_ claims: [Claim]) -> [Claim] {
        claims.sorted { ($0.createdAtMs, $0.claimNumber) > ($1.createdAtMs, $1.claimNumber) }
    }

    /// Follows `next` until it is nil; checks no page exceeds the limit.
    static func allPages(_ reader: any ClaimStoreReader, _ query: ClaimQuery) throws -> [Claim] {
        var query = query
        var claims: [Claim] = []
        for _ in 0..<100 {
            let page = try reader.listClaims(query)
            #expect(page.claims.count <= query.limit)
            claims += page.claims
            guard let next = page.next else { return claims }
            #expect(next == ClaimCursor(createdAtMs: page.claims.last!.createdAtMs, claimNumber: page.claims.last!.claimNumber))
            query.after = next
        }
        Issue.record("pagination did not end")
        return claims
    }

    @Test(arguments: StoreKind.allCases)
    func listClaimsOrdersFiltersAndPaginates(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            let all = Self.dataSet()
            try writer.begin()
            for claim in all.shuffled() { try writer.insertClaim(claim) }
            try writer.commit()
            let reader = try backend.openReader()
            defer { reader.close() }

            // Everything, newest first, ties broken by claim number descending.
            let expected = Self.newestFirst(all)
            #expect(try reader.listClaims(ClaimQuery(limit: 100)) == ClaimPage(claims: expected, next: nil))
            for limit in [1, 2, 3, 4, 7, 25] {
                #expect(try Self.allPages(reader, ClaimQuery(limit: limit)) == expected, "limit \(limit)")
            }
            // An exact fit: the first page of 25 with limit 25 says nothing more follows.
            #expect(try reader.listClaims(ClaimQuery(limit: 25)).next == nil)
            #expect(try reader.listClaims(ClaimQuery(limit: 24)).next != nil)

            let cases: [(ClaimQuery, (Claim) -> Bool)] = [
                (ClaimQuery(msisdn: Self.alice, limit: 4), { $0.subscriber?.msisdn == Self.alice }),
                (ClaimQuery(status: .pending, limit: 2), { $0.status == .pending }),
                (
                    ClaimQuery(msisdn: Self.bob, status: .pending, limit: 1),
                    {
                        $0.subscriber?.msisdn == Self.bob && $0.status == .pending
                    }
                ),
                (
                    ClaimQuery(createdFromMs: 1_020, createdToMs: 1_050, limit: 3),
                    {
                        $0.createdAtMs >= 1_020 && $0.createdAtMs < 1_050
                    }
                ),
                (
                    ClaimQuery(msisdn: Self.alice, status: .acknowledged, createdFromMs: 1_010, createdToMs: 1_070, limit: 2),
                    {
                        $0.subscriber?.msisdn == Self.alice && $0.status == .acknowledged && $0.createdAtMs >= 1_010
                            && $0.createdAtMs < 1_070
                    }
                ),
                (ClaimQuery(msisdn: "+70000000000", limit: 5), { _ in false }),
                (ClaimQuery(status: .closed, limit: 5), { _ in false }),
            ]
            for (query, matches) in cases {
                let want = expected.filter(matches)
                #expect(try Self.allPages(reader, query) == want, "\(query)")
            }
            // A cursor in the middle of a tie resumes right after it.
            let cursorClaim = expected[4]
            let rest = try reader.listClaims(
                ClaimQuery(limit: 100, after: ClaimCursor(createdAtMs: cursorClaim.createdAtMs, claimNumber: cursorClaim.claimNumber)))
            #expect(rest.claims == Array(expected.dropFirst(5)))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func statsCountsEverything(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            let shopIncompetence = CategoryRef(group: .shop, category: .incompetence)
            let shopRude = CategoryRef(group: .shop, category: .improperService)
            let balance = CategoryRef(group: .billing, category: .balanceDesync)
            let tariff = CategoryRef(group: .other, category: .tariffChangeDissatisfaction)
            try writer.begin()
            try writer.insertClaim(Fixtures.claim(1, createdAtMs: 1_000, category: balance))
            try writer.insertClaim(Fixtures.claim(2, createdAtMs: 1_500, category: shopIncompetence))
            try writer.insertClaim(Fixtures.claim(3, createdAtMs: 2_000, category: shopIncompetence))
            try writer.insertClaim(Fixtures.claim(4, createdAtMs: 2_500, category: shopRude))
            try writer.insertClaim(Fixtures.claim(5, createdAtMs: 4_999, category: tariff))
            try writer.insertClaim(Fixtures.claim(6, createdAtMs: 5_000, category: balance))  // at toMs: out
            try writer.insertClaim(Fixtures.claim(7, createdAtMs: 999, category: tariff))  // before fromMs: out

            let retained = RetentionOutcome.retained.protoName
            let declined = RetentionOutcome.declined.protoName
            let impossible = RetentionOutcome.impossible.protoName
            let laborious = RetentionFailureReason.laboriousRecalculation.protoName
            let unknownCause = RetentionFailureReason.causeUnknown.protoName
            let records: [AuditRecord] = [
                Fixtures.audit(.escalate, atMs: 1_000, outcome: "ESCALATE_DECISION_FILE_CLAIM"),
                Fixtures.audit(.escalate, atMs: 2_000),
                Fixtures.audit(.escalate, atMs: 4_999),
                Fixtures.audit(.escalate, atMs: 5_000),  // out
                Fixtures.audit(.retain, atMs: 1_100, outcome: retained),
                Fixtures.audit(.retain, atMs: 1_200, outcome: retained),
                Fixtures.audit(.retain, atMs: 999, outcome: retained),  // out
                Fixtures.audit(.retain, atMs: 1_300, outcome: declined),
                Fixtures.audit(.retain, atMs: 1_400, outcome: impossible, reason: unknownCause),
                Fixtures.audit(.retain, atMs: 1_500, outcome: impossible, reason: laborious),
                Fixtures.audit(.retain, atMs: 1_600, outcome: impossible, reason: laborious),
                Fixtures.audit(.fileComplaint, atMs: 1_700, outcome: retained),  // another method
                Fixtures.audit(.setSecondLineMode, atMs: 1_800, outcome: "SECOND_LINE_MODE_DEGRADED"),
            ]
            for record in records { try writer.appendAudit(record) }
            try writer.commit()

            let reader = try backend.openReader()
            defer { reader.close() }
            let stats = try reader.stats(fromMs: 1_000, toMs: 5_000)
            #expect(stats.claimsTotal == 5)
            #expect(stats.claimsByGroup.map(\.group) == [.shop, .billing, .other])
            #expect(stats.claimsByGroup.map(\.claims) == [3, 1, 1])
            #expect(
                stats.claimsByCategory == [
                    .init(category: shopIncompetence, claims: 2), .init(category: shopRude, claims: 1),
                    .init(category: balance, claims: 1), .init(category: tariff, claims: 1),
                ])
            #expect(stats.escalations == 3)
            #expect(stats.retained == 2)
            #expect(stats.declined == 1)
            #expect(
                stats.impossibleByReason == [
                    .init(reason: .laboriousRecalculation, count: 2),
                    .init(reason: .causeUnknown, count: 1),
                ])

            let everything = try reader.stats(fromMs: 0, toMs: 0)
            #expect(everything.claimsTotal == 7)
            #expect(everything.escalations == 4)
            #expect(everything.retained == 3)
            #expect(everything.claimsByGroup.map(\.claims) == [3, 2, 2])

            let empty = try reader.stats(fromMs: 10_000, toMs: 20_000)
            #expect(empty == ClaimStats())
        }
    }
}
