import ClaimlineStore
import ClaimlineStorePostgres
import ClaimlineTestSupport
import Foundation
import Testing

/// What keeps one instance's fault from stalling another's writer on PostgreSQL: the batch's
/// locks are bounded and tell back what stays busy, and an instance whose transaction sits
/// idle (frozen, partitioned) loses it, and its locks, within `idle_in_transaction_timeout_ms`.
/// Two writers on one database stand for two instances.
@Suite("PostgreSQL: bounded locks and sessions")
struct PostgresBoundsTests {
    @Test func aBusyContactIsReportedAndTheRestOfTheBatchCommits() throws {
        try withDatabase(options: "lock_wait_ms=50") { backend in
            let first = try backend.openWriter()
            defer { first.close() }
            let second = try backend.openWriter()
            defer { second.close() }
            // The first instance holds contact A (its batch is open: frozen mid-batch).
            let held = try first.begin(footprint: BatchFootprint(idempotencyKeys: ["k-a"], callIDs: ["A"]))
            #expect(held.isEmpty)

            let started = ContinuousClock.now
            let busy = try second.begin(
                footprint: BatchFootprint(idempotencyKeys: ["k-a2", "k-b"], callIDs: ["A", "B"], locks: ["mode"]))
            let waited = ContinuousClock.now - started
            #expect(busy == BusyKeys(callIDs: ["A"]))
            #expect(busy.touches(idempotencyKey: "k-a2", callID: "A", locks: []))
            #expect(!busy.touches(idempotencyKey: "k-b", callID: "B", locks: ["mode"]))
            // The bound, not the other transaction's length: far under its 2 s default.
            #expect(waited < .seconds(2))
            try second.upsertContactSession(Fixtures.session("B"))
            try second.commit()

            first.rollback()
            // Released: the next batch takes A at once.
            #expect(try second.begin(footprint: BatchFootprint(callIDs: ["A"])).isEmpty)
            second.rollback()
            let reader = try backend.openReader()
            defer { reader.close() }
            #expect(try reader.contactSession(callID: "B") != nil)
        }
    }

    @Test func aKeyReleasedWithinTheWaitIsTaken() throws {
        try withDatabase(options: "lock_wait_ms=5000") { backend in
            let first = try backend.openWriter()
            defer { first.close() }
            let second = try backend.openWriter()
            defer { second.close() }
            try first.begin(footprint: BatchFootprint(callIDs: ["A"]))
            // The first commits while the second waits for A: the second gets it, nothing busy.
            // The other thread is its only user from here until `release` ends.
            nonisolated(unsafe) let holder = first
            let release = Thread {
                Thread.sleep(forTimeInterval: 0.2)
                holder.rollback()
            }
            release.start()
            let busy = try second.begin(footprint: BatchFootprint(callIDs: ["A"]))
            #expect(busy.isEmpty)
            second.rollback()
            while !release.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        }
    }

    @Test func anIdleTransactionLosesItsLocks() throws {
        try withDatabase(options: "lock_wait_ms=10&idle_in_transaction_timeout_ms=300") { backend in
            let frozen = try backend.openWriter()
            defer { frozen.close() }
            let other = try backend.openWriter()
            defer { other.close() }
            try frozen.begin(footprint: BatchFootprint(callIDs: ["A"]))
            #expect(try other.begin(footprint: BatchFootprint(callIDs: ["A"])) == BusyKeys(callIDs: ["A"]))
            other.rollback()
            // PostgreSQL ends the idle transaction; the lock goes with it. Polled, bounded: the
            // server checks the timeout on its own schedule.
            let deadline = ContinuousClock.now + .seconds(20)
            var free = false
            while !free && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.1)
                free = try other.begin(footprint: BatchFootprint(callIDs: ["A"])).isEmpty
                other.rollback()
            }
            #expect(free)
            // The frozen instance's batch is gone: its COMMIT fails (not on a new connection
            // outside any transaction), nothing of it stays, and the next batch works.
            try? frozen.upsertContactSession(Fixtures.session("A"))
            #expect(throws: StoreError.self) { try frozen.commit() }
            let reader = try backend.openReader()
            defer { reader.close() }
            #expect(try reader.contactSession(callID: "A") == nil)
            #expect(try frozen.begin(footprint: BatchFootprint(callIDs: ["A"])).isEmpty)
            frozen.rollback()
        }
    }

    @Test func sessionsStartWithTheirBounds() throws {
        try withDatabase(options: "query_timeout_ms=4000&idle_in_transaction_timeout_ms=1500") { backend in
            let reader = try backend.openReader()
            defer { reader.close() }
            try reader.probe()
            let settings = try #require(reader as? PostgresClaimStoreReader).sessionSettings([
                "idle_in_transaction_session_timeout", "statement_timeout", "synchronous_commit", "tcp_keepalives_idle",
            ])
            #expect(settings == ["1500ms", "4s", "on", "5"])
        }
    }

    @Test func aConnectFailureNamesHostPortAndCause() throws {
        // A port nobody listens on (bound, then closed: refused at once).
        let port = try TestPorts.closedLoopbackPort()
        let backend = try postgresBackend("postgres://claimline@127.0.0.1:\(port)/claimline?connect_timeout_ms=1000")
        let error = #expect(throws: StoreError.self) { _ = try backend.openWriter() }
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
        #expect(error?.message.lowercased().contains("refused") == true)
    }

    private func withDatabase(options: String, _ body: (PostgresStoreBackend) throws -> Void) throws {
        let url = try TestPostgres.createDatabase()
        defer { TestPostgres.dropDatabase(url) }
        try body(try postgresBackend(url + "?" + options))
    }
}
