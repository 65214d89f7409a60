import ClaimlineCore
import ClaimlineStore
import Testing

/// What every backend must do the same way: records round-trip, keys are unique.
@Suite("Store conformance: records")
struct StoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func claimRoundTripsExactly(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            let claim = Fixtures.claim(123)
            // PostgreSQL's text cannot hold U+0000: it refuses the write (the protocol refuses a
            // NUL in any string before it reaches a store: PROTOCOL.md, status codes). The others
            // keep it whole.
            var bare = Fixtures.claim(124, category: nil, description: kind == .postgres ? "нуль внутри" : "нул\u{0}ь внутри")
            bare.subscriber = nil
            try writer.insertClaim(claim)
            try writer.insertClaim(bare)
            if kind == .postgres {
                #expect(throws: StoreError.self) { try writer.insertClaim(Fixtures.claim(125, description: "нул\u{0}ь")) }
                #expect(try writer.claim(number: "2026-000125") == nil)
            }
            let read = try #require(try writer.claim(number: "2026-000123"))
            #expect(read == claim)
            #expect(read.description == Fixtures.cyrillic)
            #expect(read.description.utf8.count == Fixtures.cyrillic.utf8.count)
            // nil category/subscriber stay nil, and an embedded NUL does not truncate.
            #expect(try writer.claim(number: "2026-000124") == bare)
            #expect(try writer.claim(number: "2026-999999") == nil)
            let reader = try backend.openReader()
            defer { reader.close() }
            #expect(try reader.claim(number: "2026-000123") == claim)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func duplicateClaimNumberFails(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            try writer.insertClaim(Fixtures.claim(1))
            #expect(throws: StoreError.self) { try writer.insertClaim(Fixtures.claim(1, description: "other")) }
            #expect(try writer.claim(number: "2026-000001")?.description == Fixtures.cyrillic)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func updateReplacesTheClaim(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            var claim = Fixtures.claim(5)
            try writer.insertClaim(claim)
            claim.status = .inProgress
            claim.updatedAtMs = 9_999
            claim.department = "Отдел претензий"
            try writer.updateClaim(claim)
            #expect(try writer.claim(number: claim.claimNumber) == claim)
            #expect(throws: StoreError.self) { try writer.updateClaim(Fixtures.claim(6)) }
            #expect(try writer.claim(number: Fixtures.claim(6).claimNumber) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func claimSequencesPerYear(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            #expect(try writer.lastClaimSequence(year: 2026) == 0)
            for sequence in [3, 999_999, 1_000_000, 42] {
                try writer.insertClaim(Fixtures.claim(sequence))
            }
            try writer.insertClaim(Fixtures.claim(77, year: 2025))
            var malformed = Fixtures.claim(1)
            malformed.claimNumber = "2026-12x"
            try writer.insertClaim(malformed)
            // Past six digits the text no longer sorts by value: 1000000 still wins.
            #expect(try writer.lastClaimSequence(year: 2026) == 1_000_000)
            #expect(try writer.lastClaimSequence(year: 2025) == 77)
            #expect(try writer.lastClaimSequence(year: 2027) == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyRecords(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            let record = Fixtures.idempotency("key-1")
            #expect(try writer.idempotencyRecord(key: "key-1") == nil)
            try writer.insertIdempotencyRecord(record)
            #expect(try writer.idempotencyRecord(key: "key-1") == record)
            var empty = Fixtures.idempotency("key-2")
            empty.response = []
            empty.requestHash = .max
            try writer.insertIdempotencyRecord(empty)
            #expect(try writer.idempotencyRecord(key: "key-2") == empty)
            var again = record
            again.response = [1]
            #expect(throws: StoreError.self) { try writer.insertIdempotencyRecord(again) }
            #expect(try writer.idempotencyRecord(key: "key-1") == record)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func contactSessionUpsert(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            var session = Fixtures.session("call-A")
            #expect(try writer.contactSession(callID: "call-A") == nil)
            try writer.upsertContactSession(session)
            #expect(try writer.contactSession(callID: "call-A") == session)
            session.state = .claimFiled
            session.claimNumber = "2026-000018"
            session.updatedAtMs = 3_000
            try writer.upsertContactSession(session)
            #expect(try writer.contactSession(callID: "call-A") == session)
            #expect(try writer.contactSession(callID: "call-B") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func incidentsAndSequence(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            #expect(try writer.lastIncidentSequence() == 0)
            #expect(try writer.incidents(includeWithdrawn: true).isEmpty)
            let first = Fixtures.incident(1, declaredAtMs: 1_000)
            var second = Fixtures.incident(42, declaredAtMs: 2_000)
            var bare = Fixtures.incident(7, declaredAtMs: 3_000)
            bare.regions = [""]
            bare.categories = []
            try writer.upsertIncident(second)
            try writer.upsertIncident(first)
            try writer.upsertIncident(bare)
            #expect(try writer.lastIncidentSequence() == 42)
            #expect(try writer.incident(id: first.incidentId) == first)
            #expect(try writer.incident(id: bare.incidentId) == bare)
            #expect(try writer.incident(id: "INC-999999") == nil)
            #expect(try writer.incidents(includeWithdrawn: false) == [first, second, bare])

            second.active = false
            second.withdrawnAtMs = 5_000
            try writer.upsertIncident(second)
            #expect(try writer.incidents(includeWithdrawn: false) == [first, bare])
            #expect(try writer.incidents(includeWithdrawn: true) == [first, second, bare])
            let reader = try backend.openReader()
            defer { reader.close() }
            #expect(try reader.incidents(includeWithdrawn: false) == [first, bare])
            #expect(try reader.incidents(includeWithdrawn: true) == [first, second, bare])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func secondLineMode(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            let reader = try backend.openReader()
            defer { reader.close() }
            #expect(try writer.secondLineMode() == nil)
            #expect(try reader.secondLineMode() == nil)
            let degraded = SecondLineModeRecord(mode: .degraded, changedAtMs: 10, changedBy: "sup", reason: "перегрузка")
            try writer.setSecondLineMode(degraded)
            #expect(try writer.secondLineMode() == degraded)
            let normal = SecondLineModeRecord(mode: .normal, changedAtMs: 20, changedBy: "sup2", reason: "")
            try writer.setSecondLineMode(normal)
            #expect(try writer.secondLineMode() == normal)
            #expect(try reader.secondLineMode() == normal)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func closedStoresRefuseWork(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            let reader = try backend.openReader()
            writer.close()
            reader.close()
            writer.close()
            #expect(throws: StoreError.self) { try writer.insertClaim(Fixtures.claim(1)) }
            #expect(throws: StoreError.self) { try writer.begin() }
            #expect(throws: StoreError.self) { try reader.listClaims(ClaimQuery()) }
        }
    }
}
