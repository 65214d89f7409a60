import ClaimlineCore

/// GetContact: where a call stands, what was decided for it and, when a claim is required,
/// its draft — how a desktop recovers a lost draft.
enum GetContactHandler: ReadMethodHandler {
    static let answerSize = AnswerSize.bytes(4 * 1024)

    static func validate(_ request: GetContactRequest) -> [FieldViolation] { Validation.getContact(request) }

    /// A contact as committed; one past its expiry counts as gone, as it does for the writer.
    static func read(_ request: GetContactRequest, _ ctx: ReadContext) throws -> GetContactResponse {
        guard let session = try ctx.reader.contactSession(callID: request.callId), session.expiresAtMs > WallClock.nowMs else {
            throw RPCError(.notFound, "no contact with call id \(request.callId)", reason: Reason.contactNotFound)
        }
        return GetContactResponse(contact: session.wire, draft: session.claimDraft(agentID: session.secondLineAgent))
    }
}
