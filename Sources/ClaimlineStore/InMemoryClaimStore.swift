import ClaimlineCore

/// The writer of ``InMemoryStoreBackend``.
///
/// `begin()` takes the batch lock and copies the committed state; writes go to the copy and
/// reads see it (as a SQLite transaction reads its own writes); `commit()` publishes the copy
/// and `rollback()` drops it. Outside a batch every write commits on its own (SQLite's
/// autocommit). Refusals mirror SQLite's constraints: a duplicate claim number or idempotency
/// key, an update of a claim that does not exist, `begin` inside a batch, `commit` outside one.
public final class InMemoryClaimStore: ClaimStore {
    private var backend: InMemoryStoreBackend?
    /// The open batch: the committed state plus this batch's writes.
    private var batch: InMemoryStoreState?

    init(backend: InMemoryStoreBackend) {
        self.backend = backend
    }

    private func open(_ operation: String) throws(StoreError) -> InMemoryStoreBackend {
        guard let backend = self.backend else { throw StoreError(operation, "store is closed") }
        return backend
    }

    public func begin() throws(StoreError) {
        let backend = try self.open("begin")
        guard self.batch == nil else { throw StoreError("begin", "cannot start a transaction within a transaction") }
        let state: InMemoryStoreState? = backend.shared.withLock { shared in
            guard !shared.batchOpen else { return nil }
            shared.batchOpen = true
            return shared.state
        }
        guard let state else { throw StoreError("begin", "database is locked") }
        self.batch = state
    }

    public func commit() throws(StoreError) {
        let backend = try self.open("commit")
        guard let batch = self.batch else { throw StoreError("commit", "cannot commit - no transaction is active") }
        backend.shared.withLock { shared in
            shared.state = batch
            shared.batchOpen = false
        }
        self.batch = nil
    }

    public func rollback() {
        guard self.batch != nil, let backend = self.backend else { return }
        self.batch = nil
        backend.shared.withLock { $0.batchOpen = false }
    }

    /// Reads the batch when one is open, else the committed state.
    private func read<T>(_ operation: String, _ body: (InMemoryStoreState) -> T) throws(StoreError) -> T {
        let backend = try self.open(operation)
        if let batch = self.batch { return body(batch) }
        return body(backend.committed())
    }

    /// Writes into the batch when one is open, else straight into the committed state.
    private func write<T>(
        _ operation: String, _ body: (inout InMemoryStoreState) throws(StoreError) -> T
    ) throws(StoreError) -> T {
        let backend = try self.open(operation)
        if self.batch != nil {
            return try body(&self.batch!)
        }
        return try backend.shared.withLock { (shared: inout InMemoryStoreBackend.Shared) throws(StoreError) -> T in
            // As in SQLite, a write outside a batch waits for no one: it fails while another
            // writer holds the batch lock.
            guard !shared.batchOpen else { throw StoreError(operation, "database is locked") }
            return try body(&shared.state)
        }
    }

    public func idempotencyRecord(key: String) throws(StoreError) -> IdempotencyRecord? {
        try self.read("idempotencyRecord") { $0.idempotency[key] }
    }

    public func insertIdempotencyRecord(_ record: IdempotencyRecord) throws(StoreError) {
        try self.write("insertIdempotencyRecord") { (state: inout InMemoryStoreState) throws(StoreError) in
            guard state.idempotency[record.key] == nil else {
                throw StoreError("insertIdempotencyRecord", "UNIQUE constraint failed: idempotency.key")
            }
            state.idempotency[record.key] = record
        }
    }

    public func contactSession(callID: String) throws(StoreError) -> ContactSession? {
        try self.read("contactSession") { $0.contactSessions[callID] }
    }

    public func upsertContactSession(_ session: ContactSession) throws(StoreError) {
        try self.write("upsertContactSession") { $0.contactSessions[session.callID] = session }
    }

    public func insertClaim(_ claim: Claim) throws(StoreError) {
        try self.write("insertClaim") { (state: inout InMemoryStoreState) throws(StoreError) in
            guard state.claims[claim.claimNumber] == nil else {
                throw StoreError("insertClaim", "UNIQUE constraint failed: claims.claim_number")
            }
            state.claims[claim.claimNumber] = claim
        }
    }

    public func updateClaim(_ claim: Claim) throws(StoreError) {
        try self.write("updateClaim") { (state: inout InMemoryStoreState) throws(StoreError) in
            guard state.claims[claim.claimNumber] != nil else {
                throw StoreError("updateClaim", "no claim \(claim.claimNumber)")
            }
            state.claims[claim.claimNumber] = claim
        }
    }

    public func claim(number: String) throws(StoreError) -> Claim? {
        try self.read("claim") { $0.claims[number] }
    }

    public func lastClaimSequence(year: Int) throws(StoreError) -> Int {
        try self.read("lastClaimSequence") { $0.lastClaimSequence(year: year) }
    }

    public func upsertIncident(_ incident: Incident) throws(StoreError) {
        try self.write("upsertIncident") { $0.incidents[incident.incidentId] = incident }
    }

    public func incident(id: String) throws(StoreError) -> Incident? {
        try self.read("incident") { $0.incidents[id] }
    }

    public func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident] {
        try self.read("incidents") { $0.incidents(includeWithdrawn: includeWithdrawn) }
    }

    public func lastIncidentSequence() throws(StoreError) -> Int {
        try self.read("lastIncidentSequence") { $0.lastIncidentSequence() }
    }

    public func secondLineMode() throws(StoreError) -> SecondLineModeRecord? {
        try self.read("secondLineMode") { $0.secondLineMode }
    }

    public func setSecondLineMode(_ mode: SecondLineModeRecord) throws(StoreError) {
        try self.write("setSecondLineMode") { $0.secondLineMode = mode }
    }

    public func appendAudit(_ record: AuditRecord) throws(StoreError) {
        try self.write("appendAudit") { $0.audit.append(record) }
    }

    public func purge(nowMs: Int64, idempotencyBeforeMs: Int64) throws(StoreError) -> Int {
        try self.write("purge") { $0.purge(nowMs: nowMs, idempotencyBeforeMs: idempotencyBeforeMs) }
    }

    public func close() {
        self.rollback()
        self.backend = nil
    }

    deinit {
        self.rollback()
    }
}

@available(*, unavailable)
extension InMemoryClaimStore: Sendable {}
