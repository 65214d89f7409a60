import ClaimlineCore

/// DeclareIncident: a declared incident's playbook overrides escalate decisions for the
/// contacts it matches, from the next batch on, until it is withdrawn.
enum DeclareIncidentHandler: WriteMethodHandler {
    static func validate(_ request: DeclareIncidentRequest) -> [FieldViolation] { Validation.declareIncident(request) }

    static func footprint(_ request: DeclareIncidentRequest) -> WriteFootprint { WriteFootprint(locks: ["incidents"]) }

    static func apply(_ request: DeclareIncidentRequest, _ ctx: WriteContext) throws -> WriteOutcome<DeclareIncidentResponse> {
        let incident = Incident(
            incidentId: try ctx.state.nextIncidentID(store: ctx.store),
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
}
