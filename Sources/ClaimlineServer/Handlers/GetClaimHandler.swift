import ClaimlineCore

/// GetClaim: one claim by the number an agent reads aloud.
enum GetClaimHandler: ReadMethodHandler {
    static let answerSize = AnswerSize.bytes(20 * 1024)

    static func validate(_ request: GetClaimRequest) -> [FieldViolation] {
        request.claimNumber.isEmpty ? [FieldViolation(field: "claim_number", description: "required")] : []
    }

    static func read(_ request: GetClaimRequest, _ ctx: ReadContext) throws -> GetClaimResponse {
        guard let claim = try ctx.reader.claim(number: request.claimNumber) else {
            throw RPCError(.notFound, "no claim \(request.claimNumber)", reason: Reason.claimNotFound)
        }
        return GetClaimResponse(claim: claim)
    }
}
