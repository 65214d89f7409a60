import ClaimlineCore

/// Where Claimline keeps what it acknowledged. SQLite is the embedded default, PostgreSQL
/// comes next, an in-memory one serves unit tests; nothing backend-specific shows above this.
///
/// Writes happen in batches on one writer thread (group commit): the service calls
/// ``begin()``, applies the writes of every request waiting, then ``commit()``, which returns
/// only once the batch is durable (fsynced, not just handed to the OS). No reply to a write
/// goes out before its batch's commit returned. The methods are synchronous because the writer
/// is a dedicated thread, never an event loop and never the concurrency pool.
///
/// Not `Sendable`: one instance belongs to the one writer thread.
public protocol ClaimStore: AnyObject {
    func begin() throws(StoreError)
    /// Begins a batch that will read and change what `footprint` names. A store shared by
    /// several writers (PostgreSQL with several instances) locks those keys for the batch, in
    /// one order, and fetches their rows in one round trip; a store with one writer just begins.
    /// Returns what could not be locked within the store's bound: the writes touching it must
    /// not be applied in this batch (empty for a store with one writer).
    @discardableResult
    func begin(footprint: BatchFootprint) throws(StoreError) -> BusyKeys
    /// Durable when it returns.
    func commit() throws(StoreError)
    /// Commits the batch and may return before it is durable; `durable` runs (on any thread)
    /// once it is on stable storage, with nil, or with the error that kept it from getting
    /// there. Lets the writer apply the next batch while this one's fsync is under way. The
    /// batch is visible to readers from the return on, so a reader may see a write whose
    /// caller has not been answered yet; nobody is answered before `durable`.
    func commit(durable: @escaping @Sendable (StoreError?) -> Void) throws(StoreError)
    /// How many ``commit(durable:)`` may be awaiting `durable` at once before the writer holds
    /// the next COMMIT: one for a store whose sync covers everything written before it (SQLite:
    /// a second commit would only wait for the next sync), more for one that overlaps commits
    /// on separate connections (PostgreSQL).
    var commitsInFlight: Int { get }
    func rollback()

    func idempotencyRecord(key: String) throws(StoreError) -> IdempotencyRecord?
    func insertIdempotencyRecord(_ record: IdempotencyRecord) throws(StoreError)

    func contactSession(callID: String) throws(StoreError) -> ContactSession?
    func upsertContactSession(_ session: ContactSession) throws(StoreError)

    func insertClaim(_ claim: Claim) throws(StoreError)
    /// Replaces the claim with the same number (status, updated time).
    func updateClaim(_ claim: Claim) throws(StoreError)
    func claim(number: String) throws(StoreError) -> Claim?
    /// The highest sequence used in `year`'s claim numbers (`2026-000123` is 123), 0 if none.
    func lastClaimSequence(year: Int) throws(StoreError) -> Int

    func upsertIncident(_ incident: Incident) throws(StoreError)
    func incident(id: String) throws(StoreError) -> Incident?
    func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident]
    /// The highest sequence used in incident ids (`INC-000042` is 42), 0 if none.
    func lastIncidentSequence() throws(StoreError) -> Int

    func secondLineMode() throws(StoreError) -> SecondLineModeRecord?
    func setSecondLineMode(_ mode: SecondLineModeRecord) throws(StoreError)

    func appendAudit(_ record: AuditRecord) throws(StoreError)

    /// A block of claim sequence numbers of `year` reserved for this writer alone, for stores
    /// that several writers share: unique across all of them, never handed out twice even if
    /// the batch that used some rolls back (a gap is the price). nil: this writer is the store's
    /// only one, so it counts on from ``lastClaimSequence(year:)``.
    func leaseClaimSequences(year: Int) throws(StoreError) -> ClosedRange<Int>?
    /// The next incident sequence, reserved as ``leaseClaimSequences(year:)`` reserves claims'.
    func leaseIncidentSequence() throws(StoreError) -> Int?
    /// True when another writer may have changed the incidents or the second line's mode since
    /// the last call (a notification came, or the periodic re-read is due): the caller reloads
    /// them. A store with one writer never needs to say so.
    func sharedStateMayHaveChanged() -> Bool

    /// Deletes contact sessions that expired before `nowMs` and idempotency records created
    /// before `idempotencyBeforeMs`; returns how many rows went.
    func purge(nowMs: Int64, idempotencyBeforeMs: Int64) throws(StoreError) -> Int

    func close()
}

/// The read side: claims, incidents, mode and statistics, from any number of reading threads
/// (each with its own reader), never blocking the writer (SQLite's WAL, PostgreSQL's MVCC).
/// Sees only committed data.
public protocol ClaimStoreReader: AnyObject {
    func claim(number: String) throws(StoreError) -> Claim?
    func listClaims(_ query: ClaimQuery) throws(StoreError) -> ClaimPage
    /// The contact session of `callID` as committed, expired or not (the caller checks).
    func contactSession(callID: String) throws(StoreError) -> ContactSession?
    func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident]
    func secondLineMode() throws(StoreError) -> SecondLineModeRecord?
    /// Claims by group and category (created in the range), and the audited escalations and
    /// retention outcomes in the range; `toMs` 0 means no upper bound. From the audit:
    /// `escalations` counts records with method `Escalate`; `retained` and `declined` those
    /// with method `Retain` and outcome `RETENTION_OUTCOME_RETAINED` / `..._DECLINED`;
    /// `impossible_by_reason` those with outcome `RETENTION_OUTCOME_IMPOSSIBLE`, by `reason`
    /// (a `RetentionFailureReason` proto name). Groups and categories with no claims are left
    /// out; lists are ordered by group then category number.
    func stats(fromMs: Int64, toMs: Int64) throws(StoreError) -> ClaimStats
    /// The cheapest statement that still needs the store to answer (a read transaction on the
    /// file; a round trip to the database): readiness asks it every few hundred milliseconds.
    func probe() throws(StoreError)
    func close()
}

/// Opens the writer and readers of one store.
public protocol ClaimStoreBackend: Sendable {
    /// A short name for logs, e.g. `sqlite:/var/lib/claimline/claims.db`.
    var name: String { get }
    /// True when a failure of the store is usually passing (a database server restarting, a
    /// network blip): the writer answers UNAVAILABLE and reopens the store by itself. False
    /// (a local file): the writer fail-stops until the process restarts.
    var recoversFromFailures: Bool { get }
    /// Whether the writer may reopen the store after this failure and go on (back to the
    /// last durable state) rather than fail-stop. Defaults to ``recoversFromFailures``.
    func recovers(from error: StoreError) -> Bool
    /// Creates the schema or migrates it to the newest version.
    func openWriter() throws(StoreError) -> any ClaimStore
    func openReader() throws(StoreError) -> any ClaimStoreReader
}

extension ClaimStoreBackend {
    public var recoversFromFailures: Bool { false }
    public func recovers(from error: StoreError) -> Bool { self.recoversFromFailures }
}

extension ClaimStore {
    @discardableResult
    public func begin(footprint: BatchFootprint) throws(StoreError) -> BusyKeys {
        try self.begin()
        return BusyKeys()
    }
    public func leaseClaimSequences(year: Int) throws(StoreError) -> ClosedRange<Int>? { nil }
    public func leaseIncidentSequence() throws(StoreError) -> Int? { nil }
    public func sharedStateMayHaveChanged() -> Bool { false }
    public var commitsInFlight: Int { 1 }

    /// Stores that cannot split committing from syncing commit durably, then call back.
    public func commit(durable: @escaping @Sendable (StoreError?) -> Void) throws(StoreError) {
        try self.commit()
        durable(nil)
    }
}
