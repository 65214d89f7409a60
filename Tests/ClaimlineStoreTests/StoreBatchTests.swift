import ClaimlineCore
import ClaimlineStore
import Foundation
import Synchronization
import Testing

/// Batches, isolation and purge: the group-commit contract every backend keeps.
@Suite("Store conformance: batches")
struct StoreBatchTests {
    @Test(arguments: StoreKind.allCases)
    func rollbackDiscardsTheWholeBatch(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            try writer.insertClaim(Fixtures.claim(1))
            try writer.begin()
            var updated = Fixtures.claim(1)
            updated.status = .closed
            try writer.updateClaim(updated)
            try writer.insertClaim(Fixtures.claim(2))
            try writer.insertIdempotencyRecord(Fixtures.idempotency("k"))
            try writer.upsertContactSession(Fixtures.session("c"))
            try writer.upsertIncident(Fixtures.incident(1))
            try writer.setSecondLineMode(SecondLineModeRecord(mode: .closed))
            try writer.appendAudit(Fixtures.audit(.escalate, atMs: 5))
            // The batch reads its own writes.
            #expect(try writer.claim(number: "2026-000002") != nil)
            #expect(try writer.claim(number: "2026-000001")?.status == .closed)
            writer.rollback()

            #expect(try writer.claim(number: "2026-000001") == Fixtures.claim(1))
            #expect(try writer.claim(number: "2026-000002") == nil)
            #expect(try writer.idempotencyRecord(key: "k") == nil)
            #expect(try writer.contactSession(callID: "c") == nil)
            #expect(try writer.incident(id: "INC-000001") == nil)
            #expect(try writer.secondLineMode() == nil)
            #expect(try writer.lastClaimSequence(year: 2026) == 1)
            let reader = try backend.openReader()
            defer { reader.close() }
            #expect(try reader.stats(fromMs: 0, toMs: 0).escalations == 0)
            // The writer is usable again after a rollback.
            try writer.begin()
            try writer.insertClaim(Fixtures.claim(3))
            try writer.commit()
            #expect(try reader.claim(number: "2026-000003") != nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func readersSeeOnlyCommittedData(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            let reader = try backend.openReader()
            defer { reader.close() }
            try writer.begin()
            try writer.insertClaim(Fixtures.claim(1))
            try writer.setSecondLineMode(SecondLineModeRecord(mode: .degraded))
            try writer.upsertIncident(Fixtures.incident(1))
            #expect(try reader.claim(number: "2026-000001") == nil)
            #expect(try reader.listClaims(ClaimQuery()).claims.isEmpty)
            #expect(try reader.secondLineMode() == nil)
            #expect(try reader.incidents(includeWithdrawn: true).isEmpty)
            #expect(try reader.stats(fromMs: 0, toMs: 0).claimsTotal == 0)
            try writer.commit()
            #expect(try reader.claim(number: "2026-000001") == Fixtures.claim(1))
            #expect(try reader.listClaims(ClaimQuery()).claims.count == 1)
            #expect(try reader.secondLineMode()?.mode == .degraded)
            #expect(try reader.incidents(includeWithdrawn: true).count == 1)
            #expect(try reader.stats(fromMs: 0, toMs: 0).claimsTotal == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func transactionMisuseFails(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            #expect(throws: StoreError.self) { try writer.commit() }
            writer.rollback()  // outside a batch: nothing to do, no crash
            try writer.begin()
            #expect(throws: StoreError.self) { try writer.begin() }
            writer.rollback()
        }
    }

    /// A reader on another thread, while the writer commits batches of ten claims, must only
    /// ever count a multiple of ten.
    @Test(arguments: StoreKind.allCases)
    func concurrentReaderSeesWholeBatches(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            let shared = ReaderProgress()
            let started = DispatchSemaphore(value: 0)
            let finished = DispatchSemaphore(value: 0)
            let thread = Thread {
                defer { finished.signal() }
                guard let reader = try? backend.openReader() else {
                    started.signal()
                    return
                }
                defer { reader.close() }
                var first = true
                while true {
                    // Read once more after the writer is done, so the last count is the total.
                    let stop = shared.done.load(ordering: .acquiring)
                    if let total = try? reader.stats(fromMs: 0, toMs: 0).claimsTotal {
                        shared.observed.withLock { $0.append(total) }
                    }
                    if first {
                        first = false
                        started.signal()
                    }
                    if stop { return }
                }
            }
            thread.start()
            started.wait()
            for batch in 0..<30 {
                try writer.begin()
                for index in 0..<10 {
                    try writer.insertClaim(Fixtures.claim(batch * 10 + index + 1))
                }
                try writer.commit()
            }
            shared.done.store(true, ordering: .releasing)
            finished.wait()
            let counts = shared.observed.withLock { $0 }
            #expect(counts.first == 0)
            #expect(counts.last == 300)
            #expect(counts.allSatisfy { $0 % 10 == 0 })
            #expect(counts == counts.sorted())
        }
    }

    @Test(arguments: StoreKind.allCases)
    func purgeRemovesExpiredSessionsAndOldRecords(kind: StoreKind) throws {
        try withStore(kind) { backend in
            let writer = try backend.openWriter()
            defer { writer.close() }
            try writer.upsertContactSession(Fixtures.session("expired", expiresAtMs: 999))
            try writer.upsertContactSession(Fixtures.session("boundary", expiresAtMs: 1_000))
            try writer.upsertContactSession(Fixtures.session("live", expiresAtMs: 5_000))
            try writer.insertIdempotencyRecord(Fixtures.idempotency("old", createdAtMs: 100))
            try writer.insertIdempotencyRecord(Fixtures.idempotency("older", createdAtMs: 50))
            try writer.insertIdempotencyRecord(Fixtures.idempotency("fresh", createdAtMs: 200))
            #expect(try writer.purge(nowMs: 1_000, idempotencyBeforeMs: 200) == 3)
            #expect(try writer.contactSession(callID: "expired") == nil)
            #expect(try writer.contactSession(callID: "boundary") != nil)
            #expect(try writer.contactSession(callID: "live") != nil)
            #expect(try writer.idempotencyRecord(key: "old") == nil)
            #expect(try writer.idempotencyRecord(key: "older") == nil)
            #expect(try writer.idempotencyRecord(key: "fresh") != nil)
            #expect(try writer.purge(nowMs: 1_000, idempotencyBeforeMs: 200) == 0)
        }
    }
}

/// What the reading thread shares with the test: a stop flag and the totals it saw.
private final class ReaderProgress: Sendable {
    let done = Atomic<Bool>(false)
    let observed = Mutex<[UInt64]>([])
}
