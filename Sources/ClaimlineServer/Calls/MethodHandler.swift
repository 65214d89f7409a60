import ClaimlineCodec
import ClaimlineCore

/// A method that changes state. The router decodes its request, runs ``validate(_:)`` (no
/// store, every violation at once) and queues it; the writer runs ``apply(_:_:)`` inside a
/// batch. A method `X` of the `service` block is served by the type `XHandler`: the generated
/// route table (`CallRouter.routes`) names it, so adding a method needs no switch anywhere.
protocol WriteMethodHandler: Sendable {
    associatedtype Request: ProtobufCMessage & IdempotentRequest
    associatedtype Response: ProtobufCMessage
    static func validate(_ request: Request) -> [FieldViolation]
    static func apply(_ request: Request, _ ctx: WriteContext) throws -> WriteOutcome<Response>
}

/// A method that only reads committed state, on a reader thread.
protocol ReadMethodHandler: Sendable {
    associatedtype Request: ProtobufCMessage
    associatedtype Response: ProtobufCMessage
    static func validate(_ request: Request) -> [FieldViolation]
    static func read(_ request: Request, _ ctx: ReadContext) throws -> Response
}

extension ReadMethodHandler {
    /// Most reads have nothing to check beyond what decoding checks.
    static func validate(_ request: Request) -> [FieldViolation] { [] }
}
