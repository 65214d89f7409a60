import ClaimlineCodec
import ClaimlineCore
import NIOCore
import Synchronization

/// A write waiting for the writer: who sent it, its idempotency key and fingerprint, its
/// deadline, and the handler that applies it (filled in by the router from the method table),
/// so the writer only schedules: it never needs to know which method it runs.
final class WriteCommand: Sendable {
    /// Applies the write inside the open batch and encodes its answer.
    typealias Apply = @Sendable (WriteContext, ProtoArena) throws -> EncodedWrite

    let apply: Apply
    /// The method's handler: what a replay answers from the kept bytes
    /// (``WriteMethodHandler/replayAnswer(kept:store:arena:)``); nil answers them as kept.
    let handler: (any WriteMethodHandler.Type)?
    let method: Method
    let idempotencyKey: String
    /// The key as stored: scoped to the client that sent it and the method (PROTOCOL.md 9.4),
    /// so another client's or another method's use of the same string is another key.
    let scopedKey: String
    /// ``RequestFingerprint`` of the request message bytes.
    let requestHash: UInt64
    let context: CallContext
    /// What the write reads and changes (``WriteMethodHandler/footprint(_:)``).
    let footprint: WriteFootprint
    /// Monotonic nanoseconds (`NIODeadline.uptimeNanoseconds`).
    let deadlineNanos: Int64
    /// Who has the write: still queued, taken by the writer, or withdrawn by its connection
    /// (CANCEL, deadline, connection closed). Exactly one of the writer and the connection
    /// wins, which is what makes DEADLINE_EXCEEDED on a write mean "not applied".
    private let stage = Atomic<UInt8>(Stage.queued)
    /// Where `completion` runs: the connection's event loop.
    let eventLoop: any EventLoop
    let completion: @Sendable (CallResult) -> Void

    private enum Stage {
        static let queued: UInt8 = 0
        static let taken: UInt8 = 1
        static let withdrawn: UInt8 = 2
    }

    init(
        method: Method, idempotencyKey: String, requestHash: UInt64, context: CallContext, deadlineNanos: Int64,
        eventLoop: any EventLoop, completion: @escaping @Sendable (CallResult) -> Void, footprint: WriteFootprint = WriteFootprint(),
        apply: @escaping Apply, handler: (any WriteMethodHandler.Type)? = nil
    ) {
        self.apply = apply
        self.handler = handler
        self.footprint = footprint
        self.method = method
        self.idempotencyKey = idempotencyKey
        self.scopedKey = Self.scope(key: idempotencyKey, client: context.identity.clientName, method: method)
        self.requestHash = requestHash
        self.context = context
        self.deadlineNanos = deadlineNanos
        self.eventLoop = eventLoop
        self.completion = completion
    }

    /// The key, the method number and `client`, separated by U+001F (which no identifier may
    /// contain, so no two scopes can produce the same string). The client's key comes first:
    /// it is random, so the store's B-tree compares stop at the first bytes instead of walking
    /// a prefix every key of one client shares.
    static func scope(key: String, client: String, method: Method) -> String {
        // One allocation, no interpolation machinery: this runs for every write.
        let number = Self.methodNumbers[Int(method.rawValue) % Self.methodNumbers.count]
        var scoped = ""
        scoped.reserveCapacity(client.utf8.count + number.utf8.count + key.utf8.count + 2)
        scoped += key
        scoped += "\u{1F}"
        scoped += number
        scoped += "\u{1F}"
        scoped += client
        return scoped
    }

    private static let methodNumbers: [String] = (0...Int(Method.allCases.map(\.rawValue).max() ?? 0)).map(String.init)

    /// The connection gives up on the write. True: it will not be applied, and the caller
    /// may be told so. False: the writer has it already; its answer will come.
    @discardableResult
    func withdraw() -> Bool {
        self.stage.compareExchange(expected: Stage.queued, desired: Stage.withdrawn, ordering: .acquiringAndReleasing).exchanged
    }

    /// The writer takes the write. False: it was withdrawn; skip it, nobody waits for it.
    func take() -> Bool {
        self.stage.compareExchange(expected: Stage.queued, desired: Stage.taken, ordering: .acquiringAndReleasing).exchanged
    }
}
