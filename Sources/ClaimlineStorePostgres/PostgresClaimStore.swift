import ClaimlineCore
import ClaimlineStore
import NIOCore
import PostgresNIO

/// The PostgreSQL writer of one claimlined instance; other instances have their own on the
/// same database.
///
/// A batch costs a fixed number of round trips whatever its size: `BEGIN`; one statement
/// taking the batch's advisory locks (sorted, so instances never deadlock); one fetching its
/// idempotency records and one its contact sessions (after the locks, so they see what another
/// instance committed while this one waited); one statement writing every buffered row
/// (``PostgresBatch``) through `unnest` of arrays; `COMMIT`, which returns once PostgreSQL has
/// flushed the WAL (`synchronous_commit = on`, set when each connection starts). Nothing is
/// answered before that. The first four go as one chain on the event loop and the last two as
/// another (``PostgresLink/run(_:)``), so the writer thread waits twice per batch; the second
/// chain is not waited for (``commit(durable:)``): the next batch begins on the other writer
/// connection meanwhile.
///
/// Outside a batch each write commits on its own (as SQLite's autocommit does).
///
/// Not `Sendable`: one instance belongs to the writer thread.
public final class PostgresClaimStore: ClaimStore {
    /// Two connections, used in turn batch by batch: while one batch's COMMIT is in flight on
    /// one, the next batch begins on the other (``commit(durable:)``).
    private let links: [PostgresLink]
    private var current = 0
    /// Per link, the COMMIT in flight there, if any.
    private var inFlight: [EventLoopFuture<Void>?] = [nil, nil]

    var link: PostgresLink { self.links[self.current] }
    /// A second connection for number leases: they commit on their own, outside the batch's
    /// transaction, so a number is never handed out twice even if the batch rolls back.
    private let leases: PostgresLink
    private let watcher: PostgresSharedStateWatcher?
    private var batch: PostgresBatch?
    private var closed = false
    private var lastRefreshNanos: UInt64 = 0

    init(links: [PostgresLink], leases: PostgresLink, watcher: PostgresSharedStateWatcher?) {
        precondition(links.count == 2)
        self.links = links
        self.leases = leases
        self.watcher = watcher
    }

    private func open(_ operation: String) throws(StoreError) {
        if self.closed { throw StoreError(operation, "store is closed") }
    }

    // MARK: Batches

    public func begin() throws(StoreError) {
        try self.begin(footprint: BatchFootprint())
    }

    /// `BEGIN`, the advisory locks, then the idempotency records and contact sessions the batch
    /// names: one chain on the event loop (``PostgresLink/run(_:)``), one wait.
    ///
    /// The locks are bounded (`claimline_lock_keys`, schema version 2): a key another instance
    /// holds is waited for at most ``PostgresStoreSettings/lockWaitMs`` in all, then given up;
    /// what stays locked elsewhere is returned, and the writer refuses just the writes touching
    /// it. So an instance frozen in the middle of a batch costs the others' batches one short
    /// wait, not their callers' errors (docs/SCALING.md, "Faults").
    @discardableResult
    public func begin(footprint: BatchFootprint) throws(StoreError) -> BusyKeys {
        try self.open("begin")
        guard self.batch == nil else { throw StoreError("begin", "cannot start a transaction within a transaction") }
        var statements = [PostgresLink.Statement(sql: "BEGIN", operation: "begin")]
        let named = LockKey.named(footprint)
        if !named.keys.isEmpty {
            var binds = PostgresBindings()
            binds.append(named.keys)
            binds.append(Int32(clamping: self.link.settings.lockWaitMs))
            statements.append(.init(sql: "SELECT claimline_lock_keys($1::int8[], $2::int4)", binds: binds, operation: "lock batch"))
        }
        var batch = PostgresBatch()
        let fetchKeys = !footprint.idempotencyKeys.isEmpty
        if fetchKeys {
            for key in footprint.idempotencyKeys { batch.idempotency[key] = .some(nil) }
            var binds = PostgresBindings()
            binds.append(footprint.idempotencyKeys)
            statements.append(
                .init(
                    sql: "SELECT \(PostgresRecords.idempotencyColumns) FROM idempotency WHERE key = ANY($1::text[])", binds: binds,
                    operation: "fetch idempotency records"))
        }
        let fetchSessions = !footprint.callIDs.isEmpty
        if fetchSessions {
            for callID in footprint.callIDs { batch.sessions[callID] = .some(nil) }
            var binds = PostgresBindings()
            binds.append(footprint.callIDs)
            statements.append(
                .init(
                    sql: "SELECT \(PostgresRecords.contactSessionColumns) FROM contact_sessions WHERE call_id = ANY($1::text[])",
                    binds: binds, operation: "fetch contact sessions"))
        }
        var busy = BusyKeys()
        do throws(StoreError) {
            let results: [[PostgresRow]]
            do {
                results = try self.link.run(statements)
            } catch {
                throw error.error
            }
            if !named.keys.isEmpty {
                busy = try named.busy(Self.decodeKeys(results[1].first, operation: "lock batch"))
            }
            // The fetches come after the locks, so they see what another instance committed
            // while this one waited.
            var next = statements.count - (fetchKeys ? 1 : 0) - (fetchSessions ? 1 : 0)
            if fetchKeys {
                for row in results[next] {
                    let record = try PostgresRecords.idempotencyRecord(row)
                    batch.idempotency[record.key] = .some(record)
                }
                next += 1
            }
            if fetchSessions {
                for row in results[next] {
                    let session = try PostgresRecords.contactSession(row)
                    batch.sessions[session.callID] = .some(session)
                }
            }
        } catch {
            self.abort()
            throw error
        }
        self.link.transactionOpen = true
        self.batch = batch
        return busy
    }

    /// The lock function's answer: the keys still held elsewhere.
    private static func decodeKeys(_ row: PostgresRow?, operation: String) throws(StoreError) -> [Int64] {
        guard let row else { return [] }
        do {
            return try row.makeRandomAccess()[0].decode([Int64]?.self) ?? []
        } catch {
            throw StoreError(operation, "unexpected answer: \(error)")
        }
    }

    /// Writes the buffered rows, NOTIFY if the batch changed shared state, and COMMIT: one
    /// chain. If PostgreSQL refuses any of it, nothing of the batch stays; if the connection
    /// fails while COMMIT is under way, the error says the outcome is unknown.
    public func commit() throws(StoreError) {
        try self.open("commit")
        guard let batch = self.batch else { throw StoreError("commit", "cannot commit - no transaction is active") }
        self.batch = nil
        let statements = Self.commitStatements(batch)
        do {
            defer { self.link.transactionOpen = false }
            try self.link.run(statements)
        } catch {
            guard error.failedAt == statements.count - 1 else {
                self.abort()
                throw error.error
            }
            // COMMIT itself: PostgreSQL answered, so it refused and nothing stays; or no answer
            // came, and it may have committed.
            let lost = error.error.code == PostgresLink.connectionLostCode
            self.link.drop()
            throw StoreError(error.error.operation, error.error.message, code: error.error.code, commitOutcomeUnknown: lost)
        }
    }

    /// Sends the batch's writes and COMMIT without waiting, then turns to the other connection
    /// for the next batch: PostgreSQL flushes one batch's WAL while the writer applies the
    /// next. `durable` runs (on an event loop) once COMMIT returned, or with the error, marked
    /// outcome-unknown when the COMMIT's answer was lost. Two batches touching one key still
    /// run one after the other: the second's advisory lock waits for the first's COMMIT. A batch
    /// that changed incidents or the mode commits synchronously, so the writer's memory never
    /// runs ahead of the database on what escalations decide by.
    public func commit(durable: @escaping @Sendable (StoreError?) -> Void) throws(StoreError) {
        try self.open("commit")
        guard let batch = self.batch else { throw StoreError("commit", "cannot commit - no transaction is active") }
        if batch.notify {
            try self.commit()
            durable(nil)
            return
        }
        self.batch = nil
        let statements = Self.commitStatements(batch)
        let last = statements.count - 1
        let link = self.link
        let done = link.eventLoopPromise()
        self.inFlight[self.current] = done?.futureResult
        defer { link.transactionOpen = false }
        link.start(statements) { result in
            switch result {
            case .success:
                durable(nil)
            case .failure(let chain):
                let lost = chain.failedAt == last && chain.error.code == PostgresLink.connectionLostCode
                // Any failure: the transaction is gone (rolled back by PostgreSQL, or the
                // connection closed); the link reconnects on its next use.
                var error = chain.error
                error.commitOutcomeUnknown = lost
                durable(error)
            }
            done?.succeed()
        }
        self.current = (self.current + 1) % self.links.count
    }

    /// One batch per connection may be committing while the writer applies the next.
    public var commitsInFlight: Int { self.links.count }

    /// What ends a batch: its rows' one write, NOTIFY if it changed shared state, COMMIT (last).
    static func commitStatements(_ batch: PostgresBatch) -> [PostgresLink.Statement] {
        var statements: [PostgresLink.Statement] = []
        if let write = Self.flushStatement(batch) { statements.append(write) }
        if batch.notify {
            statements.append(.init(sql: "SELECT pg_notify('\(PostgresSharedStateWatcher.channel)', '')", operation: "notify"))
        }
        statements.append(.init(sql: "COMMIT", operation: "commit"))
        return statements
    }

    public func rollback() {
        guard self.batch != nil else { return }
        self.batch = nil
        self.abort()
    }

    /// Ends an aborted or unwanted transaction; if even that fails the connection goes (and
    /// PostgreSQL rolls back what it had).
    private func abort() {
        self.batch = nil
        self.link.transactionOpen = false
        guard self.link.isOpen else { return }
        do {
            try self.link.query("ROLLBACK", operation: "rollback")
        } catch {
            self.link.drop()
        }
    }

    /// Runs `body` inside the open batch, or in a batch of its own that commits at once.
    private func write<T>(_ operation: String, _ body: (inout PostgresBatch) throws(StoreError) -> T) throws(StoreError) -> T {
        try self.open(operation)
        if self.batch != nil {
            return try body(&self.batch!)
        }
        try self.begin()
        do throws(StoreError) {
            let result = try body(&self.batch!)
            try self.commit()
            return result
        } catch {
            self.rollback()
            throw error
        }
    }

    // MARK: Idempotency records

    public func idempotencyRecord(key: String) throws(StoreError) -> IdempotencyRecord? {
        try self.open("idempotencyRecord")
        if let known = self.batch?.idempotency[key] { return known }
        var binds = PostgresBindings()
        binds.append(key)
        let rows = try self.link.query(
            "SELECT \(PostgresRecords.idempotencyColumns) FROM idempotency WHERE key = $1", binds, operation: "idempotencyRecord")
        let record = try rows.first.map { row throws(StoreError) in try PostgresRecords.idempotencyRecord(row) }
        if self.batch != nil { self.batch?.idempotency[key] = .some(record) }
        return record
    }

    public func insertIdempotencyRecord(_ record: IdempotencyRecord) throws(StoreError) {
        let known = try self.idempotencyRecord(key: record.key)
        guard known == nil else { throw StoreError("insertIdempotencyRecord", "duplicate key value violates unique constraint idempotency_pkey") }
        try self.write("insertIdempotencyRecord") { batch in
            batch.idempotency[record.key] = .some(record)
            batch.newIdempotency.append(record)
        }
    }

    // MARK: Contact sessions

    public func contactSession(callID: String) throws(StoreError) -> ContactSession? {
        try self.open("contactSession")
        if let known = self.batch?.sessions[callID] { return known }
        let session = try Self.fetchSession(self.link, callID)
        if self.batch != nil { self.batch?.sessions[callID] = .some(session) }
        return session
    }

    static func fetchSession(_ link: PostgresLink, _ callID: String) throws(StoreError) -> ContactSession? {
        var binds = PostgresBindings()
        binds.append(callID)
        let rows = try link.query(
            "SELECT \(PostgresRecords.contactSessionColumns) FROM contact_sessions WHERE call_id = $1", binds,
            operation: "contactSession")
        return try rows.first.map { row throws(StoreError) in try PostgresRecords.contactSession(row) }
    }

    public func upsertContactSession(_ session: ContactSession) throws(StoreError) {
        try self.write("upsertContactSession") { $0.writeSession(session) }
    }

    // MARK: Claims

    public func insertClaim(_ claim: Claim) throws(StoreError) {
        try self.write("insertClaim") { (batch: inout PostgresBatch) throws(StoreError) in
            guard batch.claims[claim.claimNumber] == nil else {
                throw StoreError("insertClaim", "duplicate key value violates unique constraint claims_pkey")
            }
            batch.claims[claim.claimNumber] = claim
            batch.newClaims.append(claim.claimNumber)
        }
    }

    public func updateClaim(_ claim: Claim) throws(StoreError) {
        try self.write("updateClaim") { (batch: inout PostgresBatch) throws(StoreError) in
            if batch.claims[claim.claimNumber] != nil {
                batch.claims[claim.claimNumber] = claim
                return
            }
            var binds = PostgresBindings()
            PostgresRecords.bindClaim(claim, into: &binds, numbering: false)
            let rows = try self.link.query(
                """
                UPDATE claims SET call_id = $2, category_group = $3, category = $4, msisdn = $5, account_id = $6,
                    value_tier = $7, region = $8, place_id = $9, description = $10, failure_reason = $11,
                    incident_id = $12, agent_id = $13, department = $14, status = $15, created_at_ms = $16,
                    due_at_ms = $17, updated_at_ms = $18
                WHERE claim_number = $1
                RETURNING 1
                """, binds, operation: "updateClaim")
            guard !rows.isEmpty else { throw StoreError("updateClaim", "no claim \(claim.claimNumber)") }
        }
    }

    public func claim(number: String) throws(StoreError) -> Claim? {
        try self.open("claim")
        if let pending = self.batch?.claims[number] { return pending }
        return try Self.fetchClaim(self.link, number)
    }

    static func fetchClaim(_ link: PostgresLink, _ number: String) throws(StoreError) -> Claim? {
        var binds = PostgresBindings()
        binds.append(number)
        let rows = try link.query(
            "SELECT \(PostgresRecords.claimColumns) FROM claims WHERE claim_number = $1", binds, operation: "claim")
        return try rows.first.map { row throws(StoreError) in try PostgresRecords.claim(row) }
    }

    public func lastClaimSequence(year: Int) throws(StoreError) -> Int {
        try self.open("lastClaimSequence")
        var binds = PostgresBindings()
        binds.append(Int32(clamping: year))
        var last = Int(try self.link.queryInt("SELECT max(claim_seq) FROM claims WHERE claim_year = $1", binds, operation: "lastClaimSequence"))
        for number in self.batch?.newClaims ?? [] {
            if let parsed = StoreNumbering.claimNumber(number), parsed.year == year { last = max(last, parsed.sequence) }
        }
        return last
    }

    // MARK: Incidents and the second line's mode

    public func upsertIncident(_ incident: Incident) throws(StoreError) {
        try self.write("upsertIncident") { (batch: inout PostgresBatch) throws(StoreError) in
            var binds = PostgresBindings()
            PostgresRecords.bindIncident(incident, into: &binds)
            try self.link.query(
                """
                INSERT INTO incidents (\(PostgresRecords.incidentColumns), seq)
                VALUES ($1, $2, $3::text[], $4::integer[], $5::integer[], $6, $7, $8, $9, $10, $11, $12)
                ON CONFLICT (incident_id) DO UPDATE SET
                    title = EXCLUDED.title, regions = EXCLUDED.regions, category_groups = EXCLUDED.category_groups,
                    categories = EXCLUDED.categories, playbook_url = EXCLUDED.playbook_url,
                    playbook_text = EXCLUDED.playbook_text, active = EXCLUDED.active,
                    declared_at_ms = EXCLUDED.declared_at_ms, withdrawn_at_ms = EXCLUDED.withdrawn_at_ms,
                    declared_by = EXCLUDED.declared_by, seq = EXCLUDED.seq
                """, binds, operation: "upsertIncident")
            batch.notify = true
        }
    }

    public func incident(id: String) throws(StoreError) -> Incident? {
        try self.open("incident")
        var binds = PostgresBindings()
        binds.append(id)
        let rows = try self.link.query(
            "SELECT \(PostgresRecords.incidentColumns) FROM incidents WHERE incident_id = $1", binds, operation: "incident")
        return try rows.first.map { row throws(StoreError) in try PostgresRecords.incident(row) }
    }

    public func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident] {
        try self.open("incidents")
        return try Self.fetchIncidents(self.link, includeWithdrawn: includeWithdrawn)
    }

    static func fetchIncidents(_ link: PostgresLink, includeWithdrawn: Bool) throws(StoreError) -> [Incident] {
        let filter = includeWithdrawn ? "" : " WHERE active"
        let rows = try link.query(
            "SELECT \(PostgresRecords.incidentColumns) FROM incidents\(filter) ORDER BY declared_at_ms, incident_id",
            operation: "incidents")
        var incidents: [Incident] = []
        for row in rows { incidents.append(try PostgresRecords.incident(row)) }
        return incidents
    }

    public func lastIncidentSequence() throws(StoreError) -> Int {
        try self.open("lastIncidentSequence")
        return Int(try self.link.queryInt("SELECT max(seq) FROM incidents", operation: "lastIncidentSequence"))
    }

    public func secondLineMode() throws(StoreError) -> SecondLineModeRecord? {
        try self.open("secondLineMode")
        return try Self.fetchSecondLineMode(self.link)
    }

    static func fetchSecondLineMode(_ link: PostgresLink) throws(StoreError) -> SecondLineModeRecord? {
        let rows = try link.query(
            "SELECT \(PostgresRecords.secondLineModeColumns) FROM second_line_mode WHERE id = 1", operation: "secondLineMode")
        return try rows.first.map { row throws(StoreError) in try PostgresRecords.secondLineMode(row) }
    }

    public func setSecondLineMode(_ mode: SecondLineModeRecord) throws(StoreError) {
        try self.write("setSecondLineMode") { (batch: inout PostgresBatch) throws(StoreError) in
            var binds = PostgresBindings()
            binds.append(mode.mode.rawValue)
            binds.append(mode.changedAtMs)
            binds.append(mode.changedBy)
            binds.append(mode.reason)
            try self.link.query(
                """
                INSERT INTO second_line_mode (id, \(PostgresRecords.secondLineModeColumns)) VALUES (1, $1, $2, $3, $4)
                ON CONFLICT (id) DO UPDATE SET mode = EXCLUDED.mode, changed_at_ms = EXCLUDED.changed_at_ms,
                    changed_by = EXCLUDED.changed_by, reason = EXCLUDED.reason
                """, binds, operation: "setSecondLineMode")
            batch.notify = true
        }
    }

    // MARK: Audit, purge

    public func appendAudit(_ record: AuditRecord) throws(StoreError) {
        try self.write("appendAudit") { $0.audit.append(record) }
    }

    public func purge(nowMs: Int64, idempotencyBeforeMs: Int64) throws(StoreError) -> Int {
        try self.write("purge") { (_: inout PostgresBatch) throws(StoreError) -> Int in
            var binds = PostgresBindings()
            binds.append(nowMs)
            binds.append(idempotencyBeforeMs)
            let rows = try self.link.query(
                """
                WITH s AS (DELETE FROM contact_sessions WHERE expires_at_ms < $1 RETURNING 1),
                     i AS (DELETE FROM idempotency WHERE created_at_ms < $2 RETURNING 1)
                SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM i)
                """, binds, operation: "purge")
            guard let row = rows.first else { return 0 }
            return Int(try RowReader(row, "purge").int64(0))
        }
    }

    // MARK: Numbers shared by the instances

    /// Leases `claimNumberBlock` numbers on the lease connection (its own transaction). The
    /// first lease of a year starts after the highest number already in `claims`.
    public func leaseClaimSequences(year: Int) throws(StoreError) -> ClosedRange<Int>? {
        try self.open("leaseClaimSequences")
        let block = max(1, self.link.settings.claimNumberBlock)
        let last = try self.lease(
            name: "claim-\(year)", count: block,
            floorSQL: "SELECT coalesce(max(claim_seq), 0) FROM claims WHERE claim_year = \(Int32(clamping: year))")
        return (last - block + 1)...last
    }

    public func leaseIncidentSequence() throws(StoreError) -> Int? {
        try self.open("leaseIncidentSequence")
        return try self.lease(name: "incident", count: 1, floorSQL: "SELECT coalesce(max(seq), 0) FROM incidents")
    }

    private func lease(name: String, count: Int, floorSQL: String) throws(StoreError) -> Int {
        var binds = PostgresBindings()
        binds.append(name)
        binds.append(Int64(count))
        let last = try self.leases.queryInt(
            """
            INSERT INTO number_leases AS l (name, last) VALUES ($1, (\(floorSQL)) + $2)
            ON CONFLICT (name) DO UPDATE SET last = greatest(l.last, EXCLUDED.last - $2) + $2
            RETURNING last
            """, binds, operation: "lease numbers")
        return Int(last)
    }

    public func sharedStateMayHaveChanged() -> Bool {
        let now = NIODeadline.now().uptimeNanoseconds
        let notified = self.watcher?.takeNotification() ?? false
        let due = now &- self.lastRefreshNanos >= UInt64(self.link.settings.sharedStateRefreshMs) * 1_000_000
        guard notified || due else { return false }
        self.lastRefreshNanos = now
        return true
    }

    public func close() {
        guard !self.closed else { return }
        self.rollback()
        self.closed = true
        self.watcher?.stop()
        // Commits in flight finish first (their callers are waiting for them).
        for future in self.inFlight.compactMap({ $0 }) { _ = try? future.wait() }
        for link in self.links { link.close() }
        self.leases.close()
    }

    deinit {
        self.watcher?.stop()
    }
}

@available(*, unavailable)
extension PostgresClaimStore: Sendable {}
