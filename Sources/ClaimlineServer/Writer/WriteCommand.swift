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

/// Set by CANCEL (or a passed deadline) while a write waits in the queue: the writer skips a
/// cancelled write it has not started, as PROTOCOL.md 3.5 promises.
final class CallCancellation: Sendable {
    private let flag = Atomic<Bool>(false)

    func cancel() { self.flag.store(true, ordering: .relaxed) }
    var isCancelled: Bool { self.flag.load(ordering: .relaxed) }
}

/// One write waiting for the group-commit writer.
struct WriteCommand: Sendable {
    enum Operation: Sendable {
        case escalate(EscalateRequest)
        case retain(RetainRequest)
        case fileComplaint(FileComplaintRequest)
        case updateClaimStatus(UpdateClaimStatusRequest)
        case declareIncident(DeclareIncidentRequest)
        case withdrawIncident(WithdrawIncidentRequest)
        case setSecondLineMode(SetSecondLineModeRequest)
    }

    var operation: Operation
    var method: Method
    var idempotencyKey: String
    /// ``RequestFingerprint`` of the request message bytes.
    var requestHash: UInt64
    var context: CallContext
    /// Monotonic nanoseconds (`NIODeadline.uptimeNanoseconds`).
    var deadlineNanos: Int64
    var cancellation: CallCancellation
    /// Where `completion` runs: the connection's event loop.
    var eventLoop: any EventLoop
    var completion: @Sendable (CallResult) -> Void
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
