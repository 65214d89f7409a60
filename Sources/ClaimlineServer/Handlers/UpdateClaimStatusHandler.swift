import ClaimlineCore

/// UpdateClaimStatus: moves a claim along TMF621's lifecycle; illegal moves are refused.
enum UpdateClaimStatusHandler: WriteMethodHandler {
    static let answerSize = AnswerSize.bytes(20 * 1024)

    static func validate(_ request: UpdateClaimStatusRequest) -> [FieldViolation] { Validation.updateClaimStatus(request) }

    static func footprint(_ request: UpdateClaimStatusRequest) -> WriteFootprint {
        WriteFootprint(locks: ["claim:" + request.claimNumber])
    }

    static func apply(_ request: UpdateClaimStatusRequest, _ ctx: WriteContext) throws -> WriteOutcome<UpdateClaimStatusResponse> {
        guard var claim = try ctx.store.claim(number: request.claimNumber) else {
            throw RPCError(.notFound, "no claim \(request.claimNumber)", reason: Reason.claimNotFound)
        }
        let previous = claim.status
        try previous.checkTransition(to: request.status)
        claim.status = request.status
        claim.updatedAtMs = ctx.nowMs
        try ctx.store.updateClaim(claim)
        return WriteOutcome(
            response: UpdateClaimStatusResponse(claim: claim),
            audit: ctx.audit(
                .updateClaimStatus,
                callID: claim.callId,
                claimNumber: claim.claimNumber,
                outcome: request.status.protoName,
                detail: "from=\(previous.protoName)" + (request.note.isEmpty ? "" : " note=\(request.note)")
            )
        )
    }
}
