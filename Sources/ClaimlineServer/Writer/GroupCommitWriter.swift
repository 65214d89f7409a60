import ClaimlineCodec
import ClaimlineCore
import ClaimlinePolicy
import ClaimlineStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The one thread that changes state: every write of every connection queues here, and the
/// writer applies all that is waiting in one transaction with one fsync (group commit), then
/// answers them. One thread makes the writes' order total and their logic lock-free; the
/// batch makes durability cost one fsync per batch instead of one per call.
///
/// Hand-offs are per batch, not per call. The writer applies a batch while the previous one
/// is being synced, but holds its COMMIT until that sync is back (``ClaimStore/commitsInFlight``
/// at most): committing more often would not answer anyone sooner (a commit made during a sync
/// waits for the next sync anyway), it would only cut batches small, and at moderate load a
/// small batch costs nearly what a large one does (the same B-tree pages written to the WAL,
/// the same wake-ups). A call arriving while the writer works or waits for a sync does not
/// wake it; only one arriving at an idle writer does.
///
/// When the store fails, the writer rolls back and answers the batch UNAVAILABLE (not applied,
/// or outcome unknown if the failure hid a COMMIT's result). If the backend says the failure is
/// passing (``ClaimStoreBackend/recovers(from:)``: a database server away, a full disk), the
/// writer reopens the store with a backoff (50 ms to 500 ms) while writes are refused with
/// `STORE_UNAVAILABLE`; once it is back, writes flow again without a restart. Otherwise (a
/// failed fsync, corruption) it fail-stops: writes are refused until a restart. Nothing was
/// acknowledged that is not durable.
final class GroupCommitWriter: @unchecked Sendable {
    struct Settings {
        var maxBatch: Int
        var retention: ServerConfiguration.Retention
        var purgeIntervalMs: Int64 = 60_000
        /// A database server not reachable at start: listen, refuse writes (`STORE_UNAVAILABLE`),
        /// stay not ready, and open it as soon as it answers (true); or fail the start (false).
        var waitForStore = true
    }

    private let backend: any ClaimStoreBackend
    private let policy: PolicyHolder
    private let settings: Settings
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let metrics: ServerMetrics
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let slowCommitLog = LogRateLimiter(linesPerWindow: 5, what: "slow commits")
    private let reconnectLog = LogRateLimiter(linesPerWindow: 1, what: "failed attempts to reopen the store")
    /// Uptime when the batch under way was taken, in nanoseconds; 0 between batches. Readiness
    /// reads it: a batch that takes long is a store that does not answer.
    private let batchStartedNanos = Atomic<Int64>(0)

    /// Guards the fields below; the writer waits on it for work or for a sync.
    private let condition = NSCondition()
    private var pending: [WriteCommand] = []
    private var stopRequested = false
    private var health = Health.up
    /// Batches committed whose `durable` has not come back yet.
    private var commitsInFlight = 0
    /// What the writer sleeps for, so a submit or a sync wakes it only when it waits for that.
    private var waitingFor = Wait.nothing

    private enum Wait {
        case nothing
        case work
        case sync
    }

    /// Whether writes can be taken.
    enum Health {
        case up
        /// The store failed and is being reopened (recoverable backends).
        case reconnecting
        /// The store failed for good (local backends): until a restart.
        case failed
    }

    init(
        backend: any ClaimStoreBackend,
        policy: PolicyHolder,
        settings: Settings,
        clock: @escaping @Sendable () -> Int64,
        logger: Logger,
        metrics: ServerMetrics = ServerMetrics()
    ) {
        self.metrics = metrics
        self.backend = backend
        self.policy = policy
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// Opens the store (migrating it), loads the in-memory state and starts the thread. A
    /// database server that does not answer yet (``Settings/waitForStore``) does not stop the
    /// start: the writer begins reconnecting, as after a failure.
    func start() throws {
        var store: (any ClaimStore)?
        var state = WriterState()
        do {
            let opened = try self.backend.openWriter()
            do {
                state = try WriterState(store: opened)
            } catch {
                opened.close()
                throw error
            }
            store = opened
        } catch let error as StoreError
            where self.settings.waitForStore && self.backend.recoversFromFailures && self.backend.recovers(from: error)
        {
            self.condition.lock()
            self.health = .reconnecting
            self.condition.unlock()
            self.logger.warning(
                "store unavailable at start; listening, refusing writes until it answers",
                metadata: ["store.name": "\(self.backend.name)", "store.error": "\(error)"])
        }
        self.thread.start()
        let owned = WriterThreadState(store: store, state: state)
        self.thread.submit { [self] _ in
            self.run(store: owned.store, state: owned.state)
        }
    }

    /// Queues a write; `command.completion` runs on `command.eventLoop` once it is durable
    /// (or refused).
    func submit(_ command: WriteCommand) {
        self.submit(contentsOf: CollectionOfOne(command))
    }

    /// Queues writes in order, taking the lock once.
    func submit<Commands: Collection<WriteCommand>>(contentsOf commands: Commands) {
        guard !commands.isEmpty else { return }
        self.condition.lock()
        if self.stopRequested || self.health != .up {
            let error =
                switch (self.stopRequested, self.health) {
                case (true, _): RPCError(.unavailable, "the server is shutting down", retryAfterMs: 1000, reason: Reason.shutdown)
                case (_, .reconnecting): Self.storeUnavailable
                default: Self.storeFailed
                }
            self.condition.unlock()
            for command in commands { command.eventLoop.execute { command.completion(.failure(error)) } }
            return
        }
        self.pending.append(contentsOf: commands)
        if self.waitingFor == .work { self.condition.signal() }
        self.condition.unlock()
    }

    /// Applies what is queued, closes the store and stops the thread.
    func stop() async throws {
        self.requestStop()
        // The pool's shutdown waits for the running loop, which drains the queue and returns.
        try await self.thread.shutdownGracefully()
    }

    private func run(store initial: (any ClaimStore)?, state: WriterState) {
        let arena = ProtoArena()
        var store: (any ClaimStore)? = initial
        var lastPurgeMs = self.clock()
        var reconnectBackoffMs = Self.reconnectMinimumMs
        var nextReconnectNanos: UInt64 = 0
        while true {
            self.condition.lock()
            if self.pending.isEmpty && !self.stopRequested {
                // While the store is away, wake often enough to retry it on time; otherwise
                // wake now and then for the purge.
                self.waitingFor = .work
                _ = self.condition.wait(until: Date(timeIntervalSinceNow: store == nil ? 0.05 : 1))
                self.waitingFor = .nothing
            }
            let batch = self.takePending()
            let stopping = self.stopRequested
            let left = self.pending.count
            self.condition.unlock()
            if !batch.isEmpty {
                self.metrics.batchSize.record(batch.count)
                self.metrics.queueDepth.set(left)
            }

            if let open = store {
                if !batch.isEmpty {
                    self.batchStartedNanos.store(Int64(NIODeadline.now().uptimeNanoseconds), ordering: .relaxed)
                    self.process(batch, store: open, state: state, arena: arena)
                    self.batchStartedNanos.store(0, ordering: .relaxed)
                }
                // A failure here or in a commit completing meanwhile: reopen (recoverable stores).
                if self.currentHealth == .reconnecting {
                    open.close()
                    store = nil
                    nextReconnectNanos = NIODeadline.now().uptimeNanoseconds
                }
            } else {
                Self.deliver(batch, batch.map { _ in .failure(Self.storeUnavailable) })
                let now = NIODeadline.now().uptimeNanoseconds
                if now >= nextReconnectNanos, !stopping {
                    store = self.reopen(state: state)
                    if store == nil {
                        nextReconnectNanos = now + UInt64(reconnectBackoffMs) * 1_000_000
                        reconnectBackoffMs = min(reconnectBackoffMs * 2, Self.reconnectMaximumMs)
                    } else {
                        reconnectBackoffMs = Self.reconnectMinimumMs
                    }
                }
            }
            let now = self.clock()
            if let open = store, now - lastPurgeMs >= self.settings.purgeIntervalMs, self.currentHealth == .up {
                lastPurgeMs = now
                self.purge(store: open, nowMs: now)
            }
            if batch.isEmpty && stopping { break }
        }
        store?.close()
        self.logger.info("writer stopped", metadata: ["store.name": "\(self.backend.name)"])
    }

    private func requestStop() {
        self.condition.lock()
        self.stopRequested = true
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// Up to `maxBatch` of the queue, oldest first. Call with `condition` held. Usually the
    /// whole queue fits: taken by swapping, without copying or shifting.
    private func takePending() -> [WriteCommand] {
        var batch: [WriteCommand] = []
        if self.pending.count <= self.settings.maxBatch {
            swap(&batch, &self.pending)
        } else {
            batch = Array(self.pending.prefix(self.settings.maxBatch))
            self.pending.removeFirst(self.settings.maxBatch)
        }
        return batch
    }

    /// Holds the open batch's COMMIT while the store has as many commits in flight as it
    /// takes (their syncs still running), so batches follow the syncs' pace instead of
    /// the arrivals'. Calls arriving meanwhile wait in the queue for the next batch.
    private func waitForCommitSlot(limit: Int) {
        self.condition.lock()
        while self.commitsInFlight >= limit {
            self.waitingFor = .sync
            self.condition.wait()
        }
        self.waitingFor = .nothing
        self.commitsInFlight += 1
        self.condition.unlock()
    }

    /// A commit came back (durable or failed): the next batch may commit.
    private func commitReturned() {
        self.condition.lock()
        self.commitsInFlight -= 1
        if self.waitingFor == .sync { self.condition.signal() }
        self.condition.unlock()
    }

    /// Opens the store again after a failure and reloads what the writer keeps in memory
    /// (another instance may have changed it meanwhile; a rolled-back batch may have changed
    /// it here). Nil while the store stays away.
    private func reopen(state: WriterState) -> (any ClaimStore)? {
        var opened: (any ClaimStore)?
        do {
            let store = try self.backend.openWriter()
            opened = store
            try state.reload(store)
            // Numbers leased before the failure may not have reached a promoted standby (with
            // asynchronous replication): lease afresh rather than hand out one twice. A gap is
            // allowed (DOMAIN.md 6.5).
            state.forgetNumbers()
        } catch {
            opened?.close()
            self.metrics.storeFailed(.reopen)
            self.reconnectLog.log(self.logger, .warning, "store still unavailable", metadata: ["store.error": "\(error)"])
            return nil
        }
        guard let store = opened else { return nil }
        self.condition.lock()
        if self.health == .reconnecting { self.health = .up }
        self.condition.unlock()
        self.logger.notice("store available again; accepting writes", metadata: ["store.name": "\(self.backend.name)"])
        return store
    }

    /// The reopening backoff starts short and stays under a second, so that writes flow again
    /// within a second of the database taking connections again.
    private static let reconnectMinimumMs = 50
    private static let reconnectMaximumMs = 500

    /// Applies one batch and answers it (a failure of the store shows in ``currentHealth``).
    private func process(_ batch: [WriteCommand], store: any ClaimStore, state: WriterState, arena: ProtoArena) {
        switch self.currentHealth {
        case .up: break
        case .reconnecting:
            Self.deliver(batch, batch.map { _ in .failure(Self.storeUnavailable) })
            return
        case .failed:
            Self.deliver(batch, batch.map { _ in .failure(Self.storeFailed) })
            return
        }
        let policy = self.policy.policy
        let nowMs = self.clock()
        let nowNanos = Int64(NIODeadline.now().uptimeNanoseconds)
        // Take every write first: what the batch will touch is known before it begins, so a
        // shared store can lock and fetch it all at once. A withdrawn one is skipped.
        var taken: [Bool] = []
        taken.reserveCapacity(batch.count)
        var footprint = BatchFootprint()
        footprint.idempotencyKeys.reserveCapacity(batch.count)
        footprint.callIDs.reserveCapacity(batch.count)
        for command in batch {
            let took = command.take()
            taken.append(took)
            guard took, command.deadlineNanos > nowNanos else { continue }
            footprint.idempotencyKeys.append(command.scopedKey)
            if !command.footprint.callID.isEmpty { footprint.callIDs.append(command.footprint.callID) }
            footprint.locks.append(contentsOf: command.footprint.locks)
        }
        var results: [CallResult] = []
        results.reserveCapacity(batch.count)
        var events: [DomainEvent] = []
        var effects: [@Sendable () -> Void] = []
        do {
            if store.sharedStateMayHaveChanged() { try state.reload(store) }
            let busy = try store.begin(footprint: footprint)
            for (command, took) in zip(batch, taken) {
                guard took else {
                    // Withdrawn (CANCEL, deadline, closed): its connection has answered it already.
                    results.append(.failure(RPCError(.cancelled, "withdrawn before the server acted; not applied", reason: Reason.notApplied)))
                    continue
                }
                if !busy.isEmpty,
                    busy.touches(idempotencyKey: command.scopedKey, callID: command.footprint.callID, locks: command.footprint.locks)
                {
                    // Another instance holds this contact past the store's bound: this write
                    // waits for a retry, the rest of the batch does not wait for it.
                    results.append(.failure(Self.contactBusy))
                    continue
                }
                let (result, written) = try self.execute(
                    command, store: store, state: state, policy: policy, nowMs: nowMs, nowNanos: nowNanos, arena: arena
                )
                results.append(result)
                if let event = written?.event { events.append(event) }
                if let effect = written?.afterCommit { effects.append(effect) }
            }
            let applied = Int64(NIODeadline.now().uptimeNanoseconds)
            // Answers go out only once the batch is durable; the store may sync it on another
            // thread while this one applies the next batch.
            let answers = results
            let happened = events
            let effectsAfterCommit = effects
            let metrics = self.metrics
            self.waitForCommitSlot(limit: store.commitsInFlight)
            let committing = Int64(NIODeadline.now().uptimeNanoseconds)
            do {
                try store.commit { [self] error in
                    defer { self.commitReturned() }
                    guard let error else {
                        for effect in effectsAfterCommit { effect() }
                        Self.deliver(batch, answers)
                        metrics.commitDuration.recordNanoseconds(Int64(NIODeadline.now().uptimeNanoseconds) - applied)
                        metrics.record(happened)
                        return
                    }
                    // The commit went to the store but did not come back durable. A local store's
                    // sync failing, or a lost COMMIT answer: applied or not, only a retry with the
                    // same key can tell the caller which. A database that refused: not applied.
                    self.fail(error, batchSize: batch.count)
                    let answer = error.commitOutcomeUnknown || !self.recovers(from: error) ? Self.outcomeUnknown : Self.storeUnavailable
                    Self.deliver(batch, batch.map { _ in .failure(answer) })
                }
            } catch {
                // The commit failed before it reached the store's sync: no `durable` will come.
                self.commitReturned()
                throw error
            }
            let committed = Int64(NIODeadline.now().uptimeNanoseconds)
            // Applying takes as long as the batch is big; the COMMIT (and any WAL maintenance
            // the store does with it) is what every call of the batch waits for whatever its
            // size, so a slow one is a stall: logged, at most a few times a second.
            if committed - committing > Self.slowCommitNanos {
                self.slowCommitLog.log(
                    self.logger, .warning, "slow commit",
                    metadata: [
                        "batch.size": "\(batch.count)", "batch.apply_ms": "\((applied - nowNanos) / 1_000_000)",
                        "batch.wait_ms": "\((committing - applied) / 1_000_000)",
                        "batch.commit_ms": "\((committed - committing) / 1_000_000)",
                    ]
                )
            }
        } catch {
            store.rollback()
            self.fail(error, batchSize: batch.count)
            let unknown = (error as? StoreError)?.commitOutcomeUnknown ?? false
            let answer =
                unknown ? Self.outcomeUnknown : self.recovers(from: error) ? Self.storeUnavailable : Self.storeFailed
            Self.deliver(batch, batch.map { _ in .failure(answer) })
        }
    }

    /// How long the batch under way has been going, in milliseconds; nil between batches.
    func stalledMs(nowNanos: Int64 = Int64(NIODeadline.now().uptimeNanoseconds)) -> Int64? {
        let started = self.batchStartedNanos.load(ordering: .relaxed)
        return started == 0 ? nil : (nowNanos - started) / 1_000_000
    }

    /// Set from the writer thread or the store's sync thread, hence the lock.
    var currentHealth: Health {
        self.condition.lock()
        defer { self.condition.unlock() }
        return self.health
    }

    /// From now on every write is refused: until the store is back (recoverable backends) or
    /// until the process restarts (fail-stop).
    private func fail(_ error: any Error, batchSize: Int) {
        let recovers = self.recovers(from: error)
        self.metrics.storeFailed((error as? StoreError)?.commitOutcomeUnknown == true ? .commitOutcomeUnknown : .batch)
        self.condition.lock()
        if self.health == .up { self.health = recovers ? .reconnecting : .failed }
        self.condition.unlock()
        self.logger.error(
            recovers ? "store failed; refusing writes until it is back" : "store failed; refusing writes until restarted",
            metadata: ["store.error": "\(error)", "batch.size": "\(batchSize)"]
        )
    }

    /// Whether the writer may reopen the store after `error` (the backend says: a database
    /// that went away, a full disk) or must fail-stop (a failed fsync, corruption).
    private func recovers(from error: any Error) -> Bool {
        guard let error = error as? StoreError else { return self.backend.recoversFromFailures }
        return self.backend.recovers(from: error)
    }

    /// One write inside the open batch. Throws only store errors: a refusal is a result.
    private func execute(
        _ command: WriteCommand,
        store: any ClaimStore,
        state: WriterState,
        policy: Policy,
        nowMs: Int64,
        nowNanos: Int64,
        arena: ProtoArena
    ) throws -> (CallResult, EncodedWrite?) {
        if command.deadlineNanos <= nowNanos {
            return (.failure(Self.deadlineNotApplied), nil)
        }
        if let record = try store.idempotencyRecord(key: command.scopedKey) {
            guard record.method == command.method.rawValue, record.requestHash == command.requestHash else {
                return (
                    .failure(
                        RPCError(
                            .alreadyExists,
                            "idempotency key \(command.idempotencyKey) was used for a different request",
                            reason: Reason.idempotencyKeyReused
                        )
                    ), nil
                )
            }
            return (.response(try Self.replayAnswer(command, record, store: store, arena: arena)), nil)
        }
        let ctx = WriteContext(
            store: store, state: state, policy: policy, nowMs: nowMs, call: command.context,
            idempotencyKey: command.idempotencyKey, retention: self.settings.retention, policies: self.policy
        )
        do {
            let outcome = try command.apply(ctx, arena)
            try ctx.store.insertIdempotencyRecord(
                IdempotencyRecord(
                    key: command.scopedKey, method: command.method.rawValue, requestHash: command.requestHash,
                    response: outcome.kept ?? outcome.response, createdAtMs: ctx.nowMs
                )
            )
            try ctx.store.appendAudit(outcome.audit)
            return (.response(outcome.response), outcome)
        } catch let error as RPCError {
            return (.failure(error), nil)
        }
    }

    /// A replay's answer: the kept bytes, or what the method rebuilds from them. A record the
    /// method cannot rebuild from (a row it needs is gone) is a store fault, not the caller's.
    private static func replayAnswer(
        _ command: WriteCommand, _ record: IdempotencyRecord, store: any ClaimStore, arena: ProtoArena
    ) throws -> [UInt8] {
        do {
            return try command.handler?.replayAnswer(kept: record.response, store: store, arena: arena) ?? record.response
        } catch let error as StoreError {
            throw error
        } catch let error as RPCError {
            throw StoreError("replay", "cannot rebuild the answer kept for \(command.method.name): \(error.message)")
        } catch {
            throw StoreError("replay", "cannot rebuild the answer kept for \(command.method.name): \(error)")
        }
    }

    private func purge(store: any ClaimStore, nowMs: Int64) {
        do {
            try store.begin()
            let removed = try store.purge(nowMs: nowMs, idempotencyBeforeMs: nowMs - self.settings.retention.idempotencyTTLMs)
            try store.commit()
            if removed > 0 { self.logger.info("purged expired records", metadata: ["purge.rows": "\(removed)"]) }
        } catch {
            store.rollback()
            self.logger.warning("purge failed", metadata: ["store.error": "\(error)"])
        }
    }

    /// One hop per event loop per batch: the connection writes all its answers, then flushes once.
    private static func deliver(_ batch: [WriteCommand], _ results: [CallResult]) {
        var byLoop: [ObjectIdentifier: (any EventLoop, [(WriteCommand, CallResult)])] = [:]
        for (command, result) in zip(batch, results) {
            byLoop[ObjectIdentifier(command.eventLoop), default: (command.eventLoop, [])].1.append((command, result))
        }
        for (_, (loop, items)) in byLoop {
            loop.execute {
                for (command, result) in items { command.completion(result) }
            }
        }
    }

    /// A commit taking longer than this is logged: every call in its batch waited that long.
    private static let slowCommitNanos: Int64 = 10_000_000

    /// Nothing of the write was applied (rolled back, or refused after a failure).
    private static let storeFailed = RPCError(
        .unavailable, "the store failed; not applied; the server refuses writes until restarted", retryAfterMs: 1000,
        reason: Reason.storeFailed
    )

    /// The database is away for now; the writer is reconnecting.
    private static let storeUnavailable = RPCError(
        .unavailable, "the store is unavailable; not applied; retry (the server reconnects by itself)", retryAfterMs: 250,
        reason: Reason.storeUnavailable
    )

    /// The contact's lock is held by another instance past the store's bound.
    private static let contactBusy = RPCError(
        .unavailable, "another instance holds this contact; not applied; retry", retryAfterMs: 100, reason: Reason.contactBusy
    )

    /// The store failed while making a batch durable: applied or not, the server cannot know.
    private static let outcomeUnknown = RPCError(
        .unavailable, "outcome unknown: the store failed while committing; retry with the same idempotency key",
        retryAfterMs: 1000, reason: Reason.outcomeUnknown
    )

    /// The write's deadline passed before the writer reached it: it was not applied.
    static let deadlineNotApplied = RPCError(
        .deadlineExceeded, "the deadline passed before the server acted; not applied", reason: Reason.deadline
    )
}

/// Hands the store and the in-memory state to the writer thread, which is from then on their
/// only user: the reason the unchecked conformance is sound.
private struct WriterThreadState: @unchecked Sendable {
    let store: (any ClaimStore)?
    let state: WriterState
}
