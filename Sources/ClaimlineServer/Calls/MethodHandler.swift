import ClaimlineCodec
import ClaimlineCore
import ClaimlineStore
import NIOCore

/// How large a method's answer may be, reserved from its connection's buffer budget while the
/// call is in flight (backpressure, PROTOCOL.md section 6).
enum AnswerSize: Sendable {
    /// About 1 KiB: a decision, a status, a mode.
    case small
    /// Up to this many bytes (a claim with its description: 20 KiB).
    case bytes(Int)
    /// A whole frame: lists.
    case frame
    /// The request's size plus this many bytes: an answer that echoes what the request carried
    /// (FileComplaint's claim repeats its description), so a small request reserves little and
    /// a connection can keep many in flight.
    case request(plus: Int)

    /// The fixed part of the reservation (all of it unless ``echoesRequest``).
    func bytes(maxFrameSize: Int) -> Int {
        switch self {
        case .small: 1024
        case .bytes(let count): min(count, maxFrameSize)
        case .frame: maxFrameSize
        case .request(let plus): min(plus, maxFrameSize)
        }
    }

    /// The request's size is added to ``bytes(maxFrameSize:)``.
    var echoesRequest: Bool {
        if case .request = self { return true }
        return false
    }
}

/// A method that changes state. The router decodes its request, runs ``validate(_:)`` (no
/// store, every violation at once) and queues it; the writer runs ``apply(_:_:)`` inside a
/// batch. A method `X` of the `service` block is served by the type `XHandler`: the generated
/// route table (`CallRouter.routes`) names it, so adding a method needs no switch anywhere.
protocol WriteMethodHandler: Sendable {
    associatedtype Request: ProtobufCMessage & IdempotentRequest
    associatedtype Response: ProtobufCMessage
    static func validate(_ request: Request) -> [FieldViolation]
    static func apply(_ request: Request, _ ctx: WriteContext) throws -> WriteOutcome<Response>
    static var answerSize: AnswerSize { get }
    /// What ``apply(_:_:)`` will read and then change, known from the request alone: the
    /// contact (call id) and other keys (`claim:<number>`, `incidents`, `mode`). A store that
    /// several instances share locks them for the batch, so two instances never both act on
    /// one contact or claim from the same stale read.
    static func footprint(_ request: Request) -> WriteFootprint
    /// What the idempotency record keeps of an answer when not all of it: nil keeps it whole.
    /// The record lives a day and is written with every call, so an answer that repeats rows
    /// the store keeps anyway is kept without them and ``replayAnswer(kept:store:arena:)`` puts
    /// them back.
    static func kept(_ response: Response) -> Response?
    /// The answer a replay gets from what ``kept(_:)`` kept: byte for byte the first answer.
    static func replayAnswer(kept: [UInt8], store: any ClaimStore, arena: ProtoArena) throws -> [UInt8]
}

extension WriteMethodHandler {
    static var answerSize: AnswerSize { .small }
    static func footprint(_ request: Request) -> WriteFootprint { WriteFootprint() }
    static func kept(_ response: Response) -> Response? { nil }
    static func replayAnswer(kept: [UInt8], store: any ClaimStore, arena: ProtoArena) throws -> [UInt8] { kept }
}

/// One write's share of a batch's ``BatchFootprint`` (its idempotency key is added by the writer).
struct WriteFootprint: Sendable {
    var callID: String = ""
    var locks: [String] = []
    /// The subscriber's number as sent, for the failed-call log line, which masks it: never
    /// stored or logged whole from here.
    var msisdn: String = ""
}

/// A method that only reads committed state, on a reader thread.
protocol ReadMethodHandler: Sendable {
    associatedtype Request: ProtobufCMessage
    associatedtype Response: ProtobufCMessage
    static func validate(_ request: Request) -> [FieldViolation]
    static func read(_ request: Request, _ ctx: ReadContext) throws -> Response
    static func answer(_ request: Request, _ ctx: ReadContext) throws -> [UInt8]
    static var answerSize: AnswerSize { get }
}

extension ReadMethodHandler {
    /// Most reads have nothing to check beyond what decoding checks.
    static func validate(_ request: Request) -> [FieldViolation] { [] }
    static var answerSize: AnswerSize { .small }

    /// The encoded answer. A handler that encodes while it reads (ListClaims measures its page)
    /// returns those bytes instead of encoding twice.
    static func answer(_ request: Request, _ ctx: ReadContext) throws -> [UInt8] {
        var buffer = ByteBuffer()
        try self.read(request, ctx).encode(into: &buffer, arena: ctx.arena)
        return Array(buffer.readableBytesView)
    }
}
