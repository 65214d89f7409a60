import ClaimlineCore
import ClaimlinePolicy

/// Escalate: the first line could not satisfy the subscriber. The policy decides; the
/// contact session records the decision so Retain and FileComplaint can be checked against it.
enum EscalateHandler: WriteMethodHandler {
    static func validate(_ request: EscalateRequest) -> [FieldViolation] { Validation.escalate(request) }

    static func footprint(_ request: EscalateRequest) -> WriteFootprint {
        WriteFootprint(callID: request.callId, msisdn: request.subscriber?.msisdn ?? "")
    }

    static func apply(_ request: EscalateRequest, _ ctx: WriteContext) throws -> WriteOutcome<EscalateResponse> {
        try ContactSession.checkEscalate(existing: try ctx.liveSession(request.callId))
        // Validation guarantees both are present.
        let subscriber = request.subscriber ?? Subscriber()
        let category = request.category ?? CategoryRef()
        let outcome = ctx.policy.escalate(
            EscalationFacts(
                subscriber: subscriber,
                category: category,
                activeIncidents: Array(ctx.state.activeIncidents.values),
                secondLineMode: ctx.state.secondLineMode.mode
            )
        )
        let state = ContactSession.state(after: outcome.decision)
        let incidentID = outcome.incident?.incidentId ?? ""
        try ctx.store.upsertContactSession(
            ContactSession(
                callID: request.callId,
                state: state,
                subscriber: subscriber,
                category: category,
                placeID: request.placeId,
                decision: outcome.decision,
                rule: outcome.rule,
                incidentID: incidentID,
                firstLineAgent: request.agentId,
                createdAtMs: ctx.nowMs,
                updatedAtMs: ctx.nowMs,
                expiresAtMs: ctx.sessionExpiry
            )
        )
        return WriteOutcome(
            response: EscalateResponse(decision: outcome.decision, rule: outcome.rule, incident: outcome.incident, state: state),
            audit: ctx.audit(
                .escalate,
                callID: request.callId,
                incidentID: incidentID,
                rule: outcome.rule,
                outcome: outcome.decision.protoName,
                detail: "msisdn=\(Validation.redactedMSISDN(subscriber.msisdn)) category=\(Taxonomy.key(category))"
            ),
            event: .escalated(decision: outcome.decision, rule: outcome.rule)
        )
    }
}
