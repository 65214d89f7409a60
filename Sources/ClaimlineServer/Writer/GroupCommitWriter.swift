import ClaimlineCodec
import ClaimlineCore
import ClaimlinePolicy
import ClaimlineStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The one thread that changes state: every write of every connection queues here, and the
/// writer applies all that is waiting in one transaction with one fsync (group commit), then
/// answers them. One thread makes the writes' order total and their logic lock-free; the
/// batch makes durability cost one fsync per batch instead of one per call.
///
/// Fail-stop: if the store fails, the writer rolls back, answers UNAVAILABLE, and refuses
/// further writes until restarted. Nothing was acknowledged that is not on disk.
final class GroupCommitWriter: @unchecked Sendable {
    struct Settings {
        var maxBatch: Int
        var retention: ServerConfiguration.Retention
        var purgeIntervalMs: Int64 = 60_000
    }

    private let backend: any ClaimStoreBackend
    private let policy: PolicyHolder
    private let settings: Settings
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let thread = NIOThreadPool(numberOfThreads: 1)

    // Guarded by `lock`: 1 when there is work or a stop request, 0 when idle.
    private let lock = ConditionLock(value: 0)
    private var pending: [WriteCommand] = []
    private var stopRequested = false
    private var failed = false

    init(
        backend: any ClaimStoreBackend,
        policy: PolicyHolder,
        settings: Settings,
        clock: @escaping @Sendable () -> Int64,
        logger: Logger
    ) {
        self.backend = backend
        self.policy = policy
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// Opens the store (migrating it), loads the in-memory state and starts the thread.
    func start() throws {
        let store = try self.backend.openWriter()
        let state: WriterState
        do {
            state = try WriterState(store: store)
        } catch {
            store.close()
            throw error
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
        self.lock.lock()
        if self.stopRequested || self.failed {
            let failed = self.failed
            self.lock.unlock()
            let error = RPCError(
                .unavailable,
                failed ? "the store failed; the server refuses writes until restarted" : "the server is shutting down",
                retryAfterMs: 1000,
                reason: failed ? Reason.storeFailed : Reason.shutdown
            )
            command.eventLoop.execute { command.completion(.failure(error)) }
            return
        }
        self.pending.append(command)
        self.lock.unlock(withValue: 1)
    }

    /// Applies what is queued, closes the store and stops the thread.
    func stop() async throws {
        self.lock.lock()
        self.stopRequested = true
        self.lock.unlock(withValue: 1)
        // The pool's shutdown waits for the running loop, which drains the queue and returns.
        try await self.thread.shutdownGracefully()
    }

    private func run(store: any ClaimStore, state: WriterState) {
        let arena = ProtoArena()
        var lastPurgeMs = self.clock()
        while true {
            let woke = self.lock.lock(whenValue: 1, timeoutSeconds: 1)
            if !woke { self.lock.lock() }
            // Usually the whole queue fits: take it by swapping, without copying or shifting.
            var batch: [WriteCommand] = []
            if self.pending.count <= self.settings.maxBatch {
                swap(&batch, &self.pending)
            } else {
                batch = Array(self.pending.prefix(self.settings.maxBatch))
                self.pending.removeFirst(self.settings.maxBatch)
            }
            let stopping = self.stopRequested
            self.lock.unlock(withValue: self.pending.isEmpty && !stopping ? 0 : 1)

            if !batch.isEmpty {
                self.process(batch, store: store, state: state, arena: arena)
            }
            let now = self.clock()
            if now - lastPurgeMs >= self.settings.purgeIntervalMs, !self.isFailed {
                lastPurgeMs = now
                self.purge(store: store, nowMs: now)
            }
            if batch.isEmpty && stopping { break }
        }
        store.close()
        self.logger.info("writer stopped", metadata: ["store.name": "\(self.backend.name)"])
    }

    private func process(_ batch: [WriteCommand], store: any ClaimStore, state: WriterState, arena: ProtoArena) {
        guard !self.isFailed else {
            Self.deliver(batch, batch.map { _ in .failure(Self.storeFailed) })
            return
        }
        let policy = self.policy.policy
        let nowMs = self.clock()
        let nowNanos = Int64(NIODeadline.now().uptimeNanoseconds)
        var results: [CallResult] = []
        results.reserveCapacity(batch.count)
        do {
            try store.begin()
            for command in batch {
                results.append(try self.execute(command, store: store, state: state, policy: policy, nowMs: nowMs, nowNanos: nowNanos, arena: arena))
            }
            let applied = Int64(NIODeadline.now().uptimeNanoseconds)
            // Answers go out only once the batch is durable; the store may sync it on another
            // thread while this one applies the next batch.
            let answers = results
            try store.commit { [self] error in
                guard let error else {
                    Self.deliver(batch, answers)
                    return
                }
                // The commit went to the store but its sync failed: the batch may or may not
                // be durable. Only a retry with the same key can tell the caller which.
                self.fail(error, batchSize: batch.count)
                Self.deliver(batch, batch.map { _ in .failure(Self.outcomeUnknown) })
            }
            let committed = Int64(NIODeadline.now().uptimeNanoseconds)
            if committed - nowNanos > Self.slowBatchNanos {
                self.logger.info(
                    "slow batch",
                    metadata: [
                        "batch.size": "\(batch.count)", "batch.apply_ms": "\((applied - nowNanos) / 1_000_000)",
                        "batch.commit_ms": "\((committed - applied) / 1_000_000)",
                    ]
                )
            }
        } catch {
            store.rollback()
            self.fail(error, batchSize: batch.count)
            Self.deliver(batch, batch.map { _ in .failure(Self.storeFailed) })
        }
    }

    /// Set from the writer thread or the store's sync thread, hence the lock.
    private var isFailed: Bool {
        self.lock.lock()
        defer { self.lock.unlock() }
        return self.failed
    }

    /// Fail-stop: from now on every write is refused until the process restarts.
    private func fail(_ error: any Error, batchSize: Int) {
        self.lock.lock()
        self.failed = true
        self.lock.unlock()
        self.logger.error(
            "store failed; refusing writes until restarted",
            metadata: ["store.error": "\(error)", "batch.size": "\(batchSize)"]
        )
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
    ) throws -> CallResult {
        guard command.take() else {
            // Withdrawn (CANCEL, deadline, closed): its connection has answered it already.
            return .failure(RPCError(.cancelled, "withdrawn before the server acted; not applied", reason: Reason.notApplied))
        }
        if command.deadlineNanos <= nowNanos {
            return .failure(Self.deadlineNotApplied)
        }
        if let record = try store.idempotencyRecord(key: command.scopedKey) {
            guard record.method == command.method.rawValue, record.requestHash == command.requestHash else {
                return .failure(
                    RPCError(
                        .alreadyExists,
                        "idempotency key \(command.idempotencyKey) was used for a different request",
                        reason: Reason.idempotencyKeyReused
                    )
                )
            }
            return .response(record.response)
        }
        let ctx = WriteContext(
            store: store, state: state, policy: policy, nowMs: nowMs, call: command.context,
            idempotencyKey: command.idempotencyKey, retention: self.settings.retention
        )
        do {
            let outcome = try command.apply(ctx, arena)
            try ctx.store.insertIdempotencyRecord(
                IdempotencyRecord(
                    key: command.scopedKey, method: command.method.rawValue, requestHash: command.requestHash,
                    response: outcome.response, createdAtMs: ctx.nowMs
                )
            )
            try ctx.store.appendAudit(outcome.audit)
            return .response(outcome.response)
        } catch let error as RPCError {
            return .failure(error)
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

    /// A batch taking longer than this is logged: every call in it waited that long.
    private static let slowBatchNanos: Int64 = 50_000_000

    /// Nothing of the write was applied (rolled back, or refused after a failure).
    private static let storeFailed = RPCError(
        .unavailable, "the store failed; not applied; the server refuses writes until restarted", retryAfterMs: 1000,
        reason: Reason.storeFailed
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
    let store: any ClaimStore
    let state: WriterState
}
