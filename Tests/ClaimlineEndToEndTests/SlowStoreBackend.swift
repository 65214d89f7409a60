import ClaimlineCore
import ClaimlineStore
import Foundation
import Synchronization

/// A store whose commits take `commitDelayMs`: makes calls slow enough to test deadlines,
/// CANCEL, stream limits and graceful shutdown without timing luck.
final class SlowStoreBackend: ClaimStoreBackend {
    let base: any ClaimStoreBackend
    let commitDelayMs: Int
    /// Set: every commit from now on fails (a disk gone bad): the writer fail-stops.
    let failCommits = Atomic<Bool>(false)
    /// Commits begun: a test waits for the writer to hold a batch instead of sleeping and
    /// hoping it does.
    let commitsStarted = Atomic<Int>(0)

    /// Returns once `count` commits have begun (at most 10 s).
    func waitForCommits(_ count: Int = 1) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while self.commitsStarted.load(ordering: .relaxed) < count {
            guard ContinuousClock.now < deadline else { throw StoreError("test", "no commit began within 10 s") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    init(_ base: any ClaimStoreBackend, commitDelayMs: Int) {
        self.base = base
        self.commitDelayMs = commitDelayMs
    }

    var name: String { "slow(\(self.base.name))" }

    func openWriter() throws(StoreError) -> any ClaimStore {
        SlowStore(base: try self.base.openWriter(), delayMs: self.commitDelayMs, backend: self)
    }

    func openReader() throws(StoreError) -> any ClaimStoreReader { try self.base.openReader() }
}

private final class SlowStore: ClaimStore {
    let base: any ClaimStore
    let delayMs: Int
    unowned let backend: SlowStoreBackend

    init(base: any ClaimStore, delayMs: Int, backend: SlowStoreBackend) {
        self.base = base
        self.delayMs = delayMs
        self.backend = backend
    }

    func begin() throws(StoreError) { try self.base.begin() }
    func commit() throws(StoreError) {
        self.backend.commitsStarted.add(1, ordering: .relaxed)
        usleep(useconds_t(self.delayMs * 1000))
        if self.backend.failCommits.load(ordering: .relaxed) { throw StoreError("commit", "injected failure") }
        try self.base.commit()
    }
    func rollback() { self.base.rollback() }
    func idempotencyRecord(key: String) throws(StoreError) -> IdempotencyRecord? { try self.base.idempotencyRecord(key: key) }
    func insertIdempotencyRecord(_ record: IdempotencyRecord) throws(StoreError) { try self.base.insertIdempotencyRecord(record) }
    func contactSession(callID: String) throws(StoreError) -> ContactSession? { try self.base.contactSession(callID: callID) }
    func upsertContactSession(_ session: ContactSession) throws(StoreError) { try self.base.upsertContactSession(session) }
    func insertClaim(_ claim: Claim) throws(StoreError) { try self.base.insertClaim(claim) }
    func updateClaim(_ claim: Claim) throws(StoreError) { try self.base.updateClaim(claim) }
    func claim(number: String) throws(StoreError) -> Claim? { try self.base.claim(number: number) }
    func lastClaimSequence(year: Int) throws(StoreError) -> Int { try self.base.lastClaimSequence(year: year) }
    func upsertIncident(_ incident: Incident) throws(StoreError) { try self.base.upsertIncident(incident) }
    func incident(id: String) throws(StoreError) -> Incident? { try self.base.incident(id: id) }
    func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident] { try self.base.incidents(includeWithdrawn: includeWithdrawn) }
    func lastIncidentSequence() throws(StoreError) -> Int { try self.base.lastIncidentSequence() }
    func secondLineMode() throws(StoreError) -> SecondLineModeRecord? { try self.base.secondLineMode() }
    func setSecondLineMode(_ mode: SecondLineModeRecord) throws(StoreError) { try self.base.setSecondLineMode(mode) }
    func appendAudit(_ record: AuditRecord) throws(StoreError) { try self.base.appendAudit(record) }
    func purge(nowMs: Int64, idempotencyBeforeMs: Int64) throws(StoreError) -> Int {
        try self.base.purge(nowMs: nowMs, idempotencyBeforeMs: idempotencyBeforeMs)
    }
    func close() { self.base.close() }
}
