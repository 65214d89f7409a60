import ClaimlineCore

/// DeclareIncident and WithdrawIncident: a declared incident's playbook overrides escalate
/// decisions for the contacts it matches, from the next batch on, until it is withdrawn.
enum IncidentHandler {
    static func declare(_ request: DeclareIncidentRequest, _ ctx: WriteContext) throws -> WriteOutcome<DeclareIncidentResponse> {
        let incident = Incident(
            incidentId: ctx.state.nextIncidentID(),
            title: request.title,
            regions: request.regions,
            categories: request.categories,
            playbookUrl: request.playbookUrl,
            playbookText: request.playbookText,
            active: true,
            declaredAtMs: ctx.nowMs,
            declaredBy: ctx.call.identity.clientName
        )
        try ctx.store.upsertIncident(incident)
        ctx.state.activeIncidents[incident.incidentId] = incident
        let scope = incident.regions.joined(separator: ",") + " " + incident.categories.map(Taxonomy.key).joined(separator: ",")
        return WriteOutcome(
            response: DeclareIncidentResponse(incident: incident),
            audit: ctx.audit(.declareIncident, incidentID: incident.incidentId, outcome: "DECLARED", detail: "scope=\(scope)")
        )
    }

    static func withdraw(_ request: WithdrawIncidentRequest, _ ctx: WriteContext) throws -> WriteOutcome<WithdrawIncidentResponse> {
        guard var incident = try ctx.store.incident(id: request.incidentId) else {
            throw RPCError(.notFound, "no incident \(request.incidentId)", reason: "INCIDENT_NOT_FOUND")
        }
        guard incident.active else {
            throw RPCError(
                .failedPrecondition, "incident \(request.incidentId) was already withdrawn",
                currentState: "WITHDRAWN", reason: "INCIDENT_WITHDRAWN"
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
