import ClaimlineCore
import NIOCore
import Synchronization

/// What the server answers a call with: the encoded response message, or an error.
/// Encoded because writes store exactly these bytes for idempotent replay.
enum CallResult: Sendable {
    case response([UInt8])
    case failure(RPCError)
}

/// Who is calling, for authorisation and the audit.
struct CallContext: Sendable {
    var sessionID: String
    var identity: Identity
}

final class WriteCommand: Sendable {
    enum Operation: Sendable {
        case escalate(EscalateRequest)
        case retain(RetainRequest)
        case fileComplaint(FileComplaintRequest)
        case updateClaimStatus(UpdateClaimStatusRequest)
        case declareIncident(DeclareIncidentRequest)
        case withdrawIncident(WithdrawIncidentRequest)
        case setSecondLineMode(SetSecondLineModeRequest)
    }

    let operation: Operation
    let method: Method
    let idempotencyKey: String
    /// The key as stored: scoped to the client that sent it and the method (PROTOCOL.md 9.4),
    /// so another client's or another method's use of the same string is another key.
    let scopedKey: String
    /// ``RequestFingerprint`` of the request message bytes.
    let requestHash: UInt64
    let context: CallContext
    /// Monotonic nanoseconds (`NIODeadline.uptimeNanoseconds`).
    let deadlineNanos: Int64
    /// Who has the write: still queued, taken by the writer, or withdrawn by its connection
    /// (CANCEL, deadline, connection closed). Exactly one of the writer and the connection
    /// wins, which is what makes DEADLINE_EXCEEDED on a write mean "not applied".
    private let stage = Atomic<UInt8>(Stage.queued)

    private enum Stage {
        static let queued: UInt8 = 0
        static let taken: UInt8 = 1
        static let withdrawn: UInt8 = 2
    }
    /// Where `completion` runs: the connection's event loop.
    let eventLoop: any EventLoop
    let completion: @Sendable (CallResult) -> Void

    init(
        operation: Operation, method: Method, idempotencyKey: String, requestHash: UInt64, context: CallContext,
        deadlineNanos: Int64, eventLoop: any EventLoop, completion: @escaping @Sendable (CallResult) -> Void
    ) {
        self.operation = operation
        self.method = method
        self.idempotencyKey = idempotencyKey
        self.scopedKey = Self.scope(key: idempotencyKey, client: context.identity.clientName, method: method)
        self.requestHash = requestHash
        self.context = context
        self.deadlineNanos = deadlineNanos
        self.eventLoop = eventLoop
        self.completion = completion
    }

    /// The connection gives up on the write. True: it will not be applied, and the caller
    /// may be told so. False: the writer has it already; its answer will come.
    @discardableResult
    /// `client`, the method number and the key, separated by U+001F (which no identifier may
    /// contain, so no two scopes can produce the same string).
    static func scope(key: String, client: String, method: Method) -> String {
        "\(client)\u{1F}\(method.rawValue)\u{1F}\(key)"
    }

    func withdraw() -> Bool {
        self.stage.compareExchange(expected: Stage.queued, desired: Stage.withdrawn, ordering: .acquiringAndReleasing).exchanged
    }

    /// The writer takes the write. False: it was withdrawn; skip it, nobody waits for it.
    func take() -> Bool {
        self.stage.compareExchange(expected: Stage.queued, desired: Stage.taken, ordering: .acquiringAndReleasing).exchanged
    }
}

/// A stable 64-bit fingerprint (FNV-1a) of a request's bytes: "the same request" for
/// idempotency. Stable across processes and restarts, unlike `Hasher`.
enum RequestFingerprint {
    static func of(_ bytes: ByteBuffer) -> UInt64 {
        bytes.withUnsafeReadableBytes { raw in
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in raw {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01B3
            }
            return hash
        }
    }
}
