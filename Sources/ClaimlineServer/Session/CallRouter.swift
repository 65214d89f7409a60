import ClaimlineCodec
import ClaimlineCore
import NIOCore

/// From a REQUEST's bytes to the writer or a reader: a lookup in the method table (generated
/// from the `service` block, ``routes``), then decode, validate and queue. Stateless and
/// per-call cheap; the connection owns the arena it decodes with.
struct CallRouter: Sendable {
    let writer: GroupCommitWriter
    let readers: ReaderPool

    /// How a method is served: a write handler (through the writer) or a read handler (through
    /// the reader pool).
    enum Route: Sendable {
        case write(any WriteMethodHandler.Type)
        case read(any ReadMethodHandler.Type)
    }

    struct Call {
        var method: Method
        var message: ByteBuffer
        var context: CallContext
        var deadlineNanos: Int64
        var eventLoop: any EventLoop
        var completion: @Sendable (CallResult) -> Void
    }

    /// Where a call went: a write queued at the writer (CANCEL can still stop it), or a read
    /// for the connection to schedule (it keeps reads fair across connections).
    enum Routed {
        case write(WriteCommand)
        case read(@Sendable (ReadContext) throws -> CallResult)
    }

    /// How much of the connection's budget a call of `method` reserves for its answer.
    static func answerSize(_ method: Method) -> AnswerSize {
        let index = Int(method.rawValue)
        guard index < Self.routes.count, let route = Self.routes[index] else { return .small }
        switch route {
        case .write(let handler): return handler.answerSize
        case .read(let handler): return handler.answerSize
        }
    }

    /// Bytes a call of `method` whose request message has `requestBytes` reserves.
    static func answerReservation(_ method: Method, requestBytes: Int = 0, maxFrameSize: Int) -> Int {
        let size = Self.answerSize(method)
        return min(maxFrameSize, size.bytes(maxFrameSize: maxFrameSize) + (size.echoesRequest ? requestBytes : 0))
    }

    /// ``answerSize(_:)`` of every method, by method number, in the form the connection uses
    /// per request: the fixed bytes, and whether the request's size is added.
    static func reservations(maxFrameSize: Int) -> [(bytes: Int, echoesRequest: Bool)] {
        (0..<Self.routes.count).map { index in
            guard let method = Method(rawValue: UInt16(index)) else { return (1024, false) }
            let size = Self.answerSize(method)
            return (size.bytes(maxFrameSize: maxFrameSize), size.echoesRequest)
        }
    }

    /// Routes one call. Bad input throws, for the caller to answer; `subject` gets the call id
    /// and number of a write as soon as its request decodes, for the log line of a refusal.
    func route(_ call: Call, arena: ProtoArena, subject: inout CallSubject) throws(RPCError) -> Routed {
        let index = Int(call.method.rawValue)
        guard index < Self.routes.count, let route = Self.routes[index] else {
            throw RPCError(.unimplemented, "\(call.method.name) has no handler", reason: Reason.unknownMethod)
        }
        switch route {
        case .write(let handler): return try self.write(handler, call, arena, &subject)
        case .read(let handler): return try Self.read(handler, call, arena)
        }
    }

    private func write<H: WriteMethodHandler>(
        _: H.Type, _ call: Call, _ arena: ProtoArena, _ subject: inout CallSubject
    ) throws(RPCError) -> Routed {
        let request = try Self.decode(H.Request.self, call.message, arena)
        let footprint = H.footprint(request)
        subject = CallSubject(callID: footprint.callID, msisdn: footprint.msisdn)
        try Self.check(H.validate(request))
        let command = WriteCommand(
            method: call.method,
            idempotencyKey: request.idempotencyKey,
            requestHash: RequestFingerprint.of(call.message),
            context: call.context,
            deadlineNanos: call.deadlineNanos,
            eventLoop: call.eventLoop,
            completion: call.completion,
            footprint: footprint,
            apply: { ctx, arena in
                let outcome = try H.apply(request, ctx)
                var written = try outcome.encoded(arena)
                if let kept = H.kept(outcome.response) { written.kept = try kept.encodedBytes(arena) }
                return written
            },
            handler: H.self
        )
        return .write(command)
    }

    /// Hands writes to the writer, in the order they were read, with one lock.
    func submit(_ commands: [WriteCommand]) {
        self.writer.submit(contentsOf: commands)
    }

    private static func read<H: ReadMethodHandler>(_: H.Type, _ call: Call, _ arena: ProtoArena) throws(RPCError) -> Routed {
        let request = try Self.decode(H.Request.self, call.message, arena)
        try Self.check(H.validate(request))
        return .read { ctx in .response(try H.answer(request, ctx)) }
    }

    /// A request that libprotobuf-c or the UTF-8 checks refuse is the caller's fault:
    /// INVALID_ARGUMENT naming the field where there is one.
    private static func decode<M: ProtobufCMessage>(_: M.Type, _ bytes: ByteBuffer, _ arena: ProtoArena) throws(RPCError) -> M {
        do {
            return try M.decode(from: bytes, arena: arena)
        } catch {
            let what =
                switch error.kind {
                case .malformed: "malformed protobuf"
                case .invalidUTF8: "not valid UTF-8"
                case .embeddedNUL: "contains a NUL character"
                case .outOfMemory: "too large to decode"
                }
            guard !error.field.isEmpty else {
                throw RPCError(.invalidArgument, "\(M.protoName): \(what)", reason: Reason.malformedMessage)
            }
            throw RPCError.invalidArgument(field: error.field, what)
        }
    }

    private static func check(_ violations: [FieldViolation]) throws(RPCError) {
        if !violations.isEmpty { throw RPCError.invalidArgument(violations) }
    }
}
