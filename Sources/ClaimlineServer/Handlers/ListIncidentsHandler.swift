import ClaimlineCore

/// ListIncidents: the active incidents, or all of them.
enum ListIncidentsHandler: ReadMethodHandler {
    static let answerSize = AnswerSize.frame

    static func read(_ request: ListIncidentsRequest, _ ctx: ReadContext) throws -> ListIncidentsResponse {
        ListIncidentsResponse(incidents: try ctx.reader.incidents(includeWithdrawn: request.includeWithdrawn))
    }
}
