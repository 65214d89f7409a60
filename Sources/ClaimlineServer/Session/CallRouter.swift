import ClaimlineCodec
import ClaimlineCore
import NIOCore

/// From a REQUEST's bytes to the writer or a reader: decode, check the fields, queue.
/// Stateless and per-call cheap; the connection owns the arena it decodes with.
struct CallRouter: Sendable {
    let writer: GroupCommitWriter
    let readers: ReaderPool
    /// The largest answer payload a peer takes (the advertised max_frame_size): list answers
    /// are cut to fit.
    let maxAnswerBytes: Int

    /// Where a call went: a write queued at the writer (CANCEL can still stop it), or a read
    /// for the connection to schedule (it keeps reads fair across connections).
    enum Routed {
        case write(WriteCommand)
        case read(@Sendable (ReaderPool.Slot) throws -> CallResult)
    }

    struct Call {
        var method: Method
        var message: ByteBuffer
        var context: CallContext
        var deadlineNanos: Int64
        var eventLoop: any EventLoop
        var completion: @Sendable (CallResult) -> Void
    }

    /// Routes one call. Bad input throws, for the caller to answer.
    func route(_ call: Call, arena: ProtoArena) throws(RPCError) -> Routed {
        switch call.method {
        case .escalate:
            let request = try Self.decode(EscalateRequest.self, call.message, arena)
            try Self.check(Validation.escalate(request))
            return self.write(.escalate(request), key: request.idempotencyKey, call)
        case .retain:
            let request = try Self.decode(RetainRequest.self, call.message, arena)
            try Self.check(Validation.retain(request))
            return self.write(.retain(request), key: request.idempotencyKey, call)
        case .fileComplaint:
            let request = try Self.decode(FileComplaintRequest.self, call.message, arena)
            try Self.check(Validation.fileComplaint(request))
            return self.write(.fileComplaint(request), key: request.idempotencyKey, call)
        case .updateClaimStatus:
            let request = try Self.decode(UpdateClaimStatusRequest.self, call.message, arena)
            try Self.check(Validation.updateClaimStatus(request))
            return self.write(.updateClaimStatus(request), key: request.idempotencyKey, call)
        case .declareIncident:
            let request = try Self.decode(DeclareIncidentRequest.self, call.message, arena)
            try Self.check(Validation.declareIncident(request))
            return self.write(.declareIncident(request), key: request.idempotencyKey, call)
        case .withdrawIncident:
            let request = try Self.decode(WithdrawIncidentRequest.self, call.message, arena)
            try Self.check(Validation.withdrawIncident(request))
            return self.write(.withdrawIncident(request), key: request.idempotencyKey, call)
        case .setSecondLineMode:
            let request = try Self.decode(SetSecondLineModeRequest.self, call.message, arena)
            try Self.check(Validation.setSecondLineMode(request))
            return self.write(.setSecondLineMode(request), key: request.idempotencyKey, call)
        case .getClaim:
            let request = try Self.decode(GetClaimRequest.self, call.message, arena)
            return .read { try ReadHandlers.getClaim(request, $0) }
        case .listClaims:
            let request = try Self.decode(ListClaimsRequest.self, call.message, arena)
            let maxBytes = self.maxAnswerBytes
            return .read { try ReadHandlers.listClaims(request, $0, maxBytes: maxBytes) }
        case .listIncidents:
            let request = try Self.decode(ListIncidentsRequest.self, call.message, arena)
            return .read { try ReadHandlers.listIncidents(request, $0) }
        case .getSecondLineMode:
            _ = try Self.decode(GetSecondLineModeRequest.self, call.message, arena)
            return .read { try ReadHandlers.getSecondLineMode($0) }
        case .getStats:
            let request = try Self.decode(GetStatsRequest.self, call.message, arena)
            return .read { try ReadHandlers.getStats(request, $0) }
        case .getContact:
            let request = try Self.decode(GetContactRequest.self, call.message, arena)
            try Self.check(Validation.getContact(request))
            return .read { try ReadHandlers.getContact(request, $0) }
        }
    }

    private func write(_ operation: WriteCommand.Operation, key: String, _ call: Call) -> Routed {
        let command = WriteCommand(
            operation: operation,
            method: call.method,
            idempotencyKey: key,
            requestHash: RequestFingerprint.of(call.message),
            context: call.context,
            deadlineNanos: call.deadlineNanos,
            eventLoop: call.eventLoop,
            completion: call.completion
        )
        self.writer.submit(command)
        return .write(command)
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
                throw RPCError(.invalidArgument, "\(M.protoName): \(what)", reason: "MALFORMED_MESSAGE")
            }
            throw RPCError.invalidArgument(field: error.field, what)
        }
    }

    private static func check(_ violations: [FieldViolation]) throws(RPCError) {
        if !violations.isEmpty { throw RPCError.invalidArgument(violations) }
    }
}
