import ClaimlineCodec
import ClaimlineCore
import ClaimlinePolicy
import ClaimlineStore
import NIOCore

/// Everything a write handler may touch, for one request inside the writer's open batch.
struct WriteContext {
    let store: any ClaimStore
    let state: WriterState
    let policy: Policy
    let nowMs: Int64
    let call: CallContext
    let idempotencyKey: String
    let retention: ServerConfiguration.Retention
    /// The policy in force and how to load it again (ReloadPolicy).
    let policies: PolicyHolder

    /// An audit record of this call with the common fields filled in.
    func audit(
        _ method: Method,
        callID: String = "",
        claimNumber: String = "",
        incidentID: String = "",
        rule: String = "",
        outcome: String = "",
        reason: String = "",
        detail: String = ""
    ) -> AuditRecord {
        AuditRecord(
            atMs: self.nowMs,
            sessionID: self.call.sessionID,
            clientName: self.call.identity.clientName,
            role: self.call.identity.role.rawValue,
            method: method.name,
            idempotencyKey: self.idempotencyKey,
            callID: callID,
            claimNumber: claimNumber,
            incidentID: incidentID,
            rule: rule,
            outcome: outcome,
            reason: reason,
            detail: detail
        )
    }

    /// The contact session of `callID` unless it has expired.
    func liveSession(_ callID: String) throws -> ContactSession? {
        guard let session = try self.store.contactSession(callID: callID), session.expiresAtMs > self.nowMs else {
            return nil
        }
        return session
    }

    var sessionExpiry: Int64 { self.nowMs + self.retention.contactSessionTTLMs }
}

/// A write's answer and its audit record, committed together.
struct WriteOutcome<Response: Sendable>: Sendable {
    var response: Response
    var audit: AuditRecord
    var event: DomainEvent? = nil
    /// Runs once the batch is durable, before its answers go out: for effects outside the
    /// store (a new policy), so that a write whose batch fails changes nothing.
    var afterCommit: (@Sendable () -> Void)? = nil
}

/// A write's answer encoded once: the same bytes go to the caller now and to any retry later.
struct EncodedWrite: Sendable {
    var response: [UInt8]
    /// What the idempotency record keeps, when not the whole answer (``WriteMethodHandler/kept(_:)``).
    var kept: [UInt8]? = nil
    var audit: AuditRecord
    var event: DomainEvent? = nil
    var afterCommit: (@Sendable () -> Void)? = nil
}

extension WriteOutcome where Response: ProtobufCMessage {
    func encoded(_ arena: ProtoArena) throws -> EncodedWrite {
        EncodedWrite(response: try self.response.encodedBytes(arena), audit: self.audit, event: self.event, afterCommit: self.afterCommit)
    }
}

extension ProtobufCMessage {
    /// The message's bytes, encoded through `arena`.
    func encodedBytes(_ arena: ProtoArena) throws -> [UInt8] {
        var buffer = ByteBuffer()
        try self.encode(into: &buffer, arena: arena)
        return Array(buffer.readableBytesView)
    }
}
