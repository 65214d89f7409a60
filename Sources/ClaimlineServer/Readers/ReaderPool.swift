import ClaimlineCodec
import ClaimlineCore
import ClaimlineStore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Runs reads (GetClaim, ListClaims, ListIncidents, GetSecondLineMode, GetStats) on their own
/// threads with their own store connections, so they neither block an event loop nor wait
/// behind the writer's batches.
final class ReaderPool: Sendable {
    /// A reader and the arena its answers are encoded with; used by one thread at a time
    /// (checked out of the pool), hence the unchecked conformance.
    final class Slot: @unchecked Sendable {
        let reader: any ClaimStoreReader
        let arena = ProtoArena()

        init(reader: any ClaimStoreReader) { self.reader = reader }
    }

    private let backend: any ClaimStoreBackend
    private let threads: NIOThreadPool
    private let idle = NIOLockedValueBox<[Slot]>([])

    /// The advertised max_frame_size, lent to read handlers with each reader.
    private let maxAnswerBytes: Int

    init(backend: any ClaimStoreBackend, threads: Int, maxAnswerBytes: Int = 65536) {
        self.backend = backend
        self.maxAnswerBytes = maxAnswerBytes
        self.threads = NIOThreadPool(numberOfThreads: threads)
    }

    func start() { self.threads.start() }

    /// Runs `read` on a pool thread and completes on `eventLoop`. A read whose deadline has
    /// passed by the time a thread takes it is answered DEADLINE_EXCEEDED without running:
    /// its caller has stopped waiting, and running it would delay everyone behind it.
    func run(
        on eventLoop: any EventLoop,
        _ read: @escaping @Sendable (ReadContext) throws -> CallResult,
        deadlineNanos: Int64 = .max,
        completion: @escaping @Sendable (CallResult) -> Void
    ) {
        self.threads.submit { [self] state in
            let result: CallResult
            if case .cancelled = state {
                result = .failure(RPCError(.unavailable, "the server is shutting down", reason: Reason.shutdown))
            } else if Int64(NIODeadline.now().uptimeNanoseconds) >= deadlineNanos {
                result = .failure(RPCError(.deadlineExceeded, "the deadline passed before the read started", reason: Reason.deadline))
            } else {
                result = self.withSlot(read)
            }
            eventLoop.execute { completion(result) }
        }
    }

    private func withSlot(_ read: (ReadContext) throws -> CallResult) -> CallResult {
        let slot: Slot
        do {
            if let reused = self.idle.withLockedValue({ $0.popLast() }) {
                slot = reused
            } else {
                slot = Slot(reader: try self.backend.openReader())
            }
        } catch {
            return .failure(RPCError(.unavailable, "cannot open the store for reading: \(error)", retryAfterMs: 1000))
        }
        let result: CallResult
        do {
            result = try read(ReadContext(reader: slot.reader, arena: slot.arena, maxAnswerBytes: self.maxAnswerBytes))
        } catch let error as RPCError {
            result = .failure(error)
        } catch {
            result = .failure(RPCError(.unavailable, "store read failed: \(error)", retryAfterMs: 1000, reason: Reason.storeRead))
        }
        self.idle.withLockedValue { $0.append(slot) }
        return result
    }

    func stop() async throws {
        try await self.threads.shutdownGracefully()
        for slot in self.idle.withLockedValue({ $0 }) { slot.reader.close() }
    }
}
