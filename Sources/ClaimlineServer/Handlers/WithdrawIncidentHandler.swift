import ClaimlineCore

/// WithdrawIncident: the incident's playbook stops applying from the next batch on.
enum WithdrawIncidentHandler: WriteMethodHandler {
    static func validate(_ request: WithdrawIncidentRequest) -> [FieldViolation] { Validation.withdrawIncident(request) }

    static func footprint(_ request: WithdrawIncidentRequest) -> WriteFootprint { WriteFootprint(locks: ["incidents"]) }

    static func apply(_ request: WithdrawIncidentRequest, _ ctx: WriteContext) throws -> WriteOutcome<WithdrawIncidentResponse> {
        guard var incident = try ctx.store.incident(id: request.incidentId) else {
            throw RPCError(.notFound, "no incident \(request.incidentId)", reason: Reason.incidentNotFound)
        }
        guard incident.active else {
            throw RPCError(
                .failedPrecondition, "incident \(request.incidentId) was already withdrawn",
                currentState: "WITHDRAWN", reason: Reason.incidentWithdrawn
            )
        }
        incident.active = false
        incident.withdrawnAtMs = ctx.nowMs
        try ctx.store.upsertIncident(incident)
        ctx.state.activeIncidents.removeValue(forKey: incident.incidentId)
        return WriteOutcome(
            response: WithdrawIncidentResponse(incident: incident),
            audit: ctx.audit(.withdrawIncident, incidentID: incident.incidentId, outcome: "WITHDRAWN", detail: request.note)
        )
    }
}
