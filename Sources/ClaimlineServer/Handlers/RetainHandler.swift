import ClaimlineCore

/// Retain: the second line reports its online-retention attempt. An impossible retention
/// makes a claim required, and the answer carries it pre-filled from the contact.
enum RetainHandler: WriteMethodHandler {
    static func validate(_ request: RetainRequest) -> [FieldViolation] { Validation.retain(request) }

    static func footprint(_ request: RetainRequest) -> WriteFootprint { WriteFootprint(callID: request.callId) }

    static func apply(_ request: RetainRequest, _ ctx: WriteContext) throws -> WriteOutcome<RetainResponse> {
        guard var session = try ctx.liveSession(request.callId) else {
            throw RPCError(
                .failedPrecondition,
                "retain: no contact with call id \(request.callId); escalate first",
                currentState: ContactState.unspecified.protoName,
                reason: Reason.contactState
            )
        }
        let next = try session.afterRetain(request.outcome, reason: request.failureReason)
        session.state = next
        session.secondLineAgent = request.agentId
        if request.outcome == .impossible { session.failureReason = request.failureReason }
        session.updatedAtMs = ctx.nowMs
        session.expiresAtMs = ctx.sessionExpiry
        try ctx.store.upsertContactSession(session)

        let required = next == .claimRequired
        let draft = required ? session.claimDraft(agentID: request.agentId) : nil
        return WriteOutcome(
            response: RetainResponse(claimRequired: required, state: next, draft: draft),
            audit: ctx.audit(
                .retain,
                callID: request.callId,
                incidentID: session.incidentID,
                outcome: request.outcome.protoName,
                reason: request.outcome == .impossible ? request.failureReason.protoName : ""
            ),
            event: .retained(outcome: request.outcome, reason: request.failureReason)
        )
    }
}
