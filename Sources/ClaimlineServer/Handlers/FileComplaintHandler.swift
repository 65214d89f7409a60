import ClaimlineCodec
import ClaimlineCore
import ClaimlinePolicy
import ClaimlineStore
import NIOCore

/// FileComplaint: registers the claim, numbered for reading aloud, routed by the policy to
/// a department with a due time. Exactly once: the idempotency key is checked before this runs
/// and recorded in the same transaction as the claim.
enum FileComplaintHandler: WriteMethodHandler {
    /// The answer's claim repeats the request (its description above all) plus what the server
    /// adds: number, department, times, and fields taken from the contact (identifiers, each
    /// short): 2 KiB beyond the request covers it.
    static let answerSize = AnswerSize.request(plus: 2 * 1024)

    static func validate(_ request: FileComplaintRequest) -> [FieldViolation] { Validation.fileComplaint(request) }

    /// The idempotency record keeps the answer without its claim (a third of a claim's bytes
    /// on disk, for a day): the claims table has the claim, and a replay reads it back.
    static func kept(_ response: FileComplaintResponse) -> FileComplaintResponse? {
        var kept = response
        kept.claim = nil
        return kept
    }

    /// The kept answer with the claim as it was filed: its row, with the status and update time
    /// it was filed with (UpdateClaimStatus changes only those), so a replay after an update
    /// gets the first answer.
    static func replayAnswer(kept: [UInt8], store: any ClaimStore, arena: ProtoArena) throws -> [UInt8] {
        var answer = try FileComplaintResponse.decode(from: ByteBuffer(bytes: kept), arena: arena)
        guard var claim = try store.claim(number: answer.claimNumber) else {
            throw StoreError("replay FileComplaint", "claim \(answer.claimNumber) of a kept answer is missing")
        }
        claim.status = Self.filedStatus
        claim.updatedAtMs = claim.createdAtMs
        answer.claim = claim
        return try answer.encodedBytes(arena)
    }

    /// Every claim is filed acknowledged.
    static let filedStatus = ClaimStatus.acknowledged

    static func footprint(_ request: FileComplaintRequest) -> WriteFootprint {
        WriteFootprint(callID: request.callId, msisdn: request.subscriber?.msisdn ?? "")
    }

    static func apply(_ request: FileComplaintRequest, _ ctx: WriteContext) throws -> WriteOutcome<FileComplaintResponse> {
        let existing = try ctx.liveSession(request.callId)
        try ContactSession.checkFile(existing: existing, category: request.category ?? CategoryRef())
        let fields = try ContactSession.claimFields(for: request, existing: existing)
        let category = fields.category
        let subscriber = fields.subscriber
        let failureReason = fields.failureReason
        let incidentID = request.incidentId.isEmpty ? existing?.incidentID ?? "" : request.incidentId
        if !incidentID.isEmpty, try ctx.store.incident(id: incidentID) == nil {
            throw RPCError.invalidArgument(field: "incident_id", "no incident \(incidentID)")
        }

        let routing = ctx.policy.routing(for: category)
        let number = try ctx.state.nextClaimNumber(year: UTCDate.year(ofMs: ctx.nowMs), store: ctx.store)
        let claim = Claim(
            claimNumber: number,
            callId: request.callId,
            category: category,
            subscriber: subscriber,
            placeId: fields.placeID,
            description: request.description,
            failureReason: failureReason,
            incidentId: incidentID,
            agentId: request.agentId,
            department: routing.department,
            status: Self.filedStatus,
            createdAtMs: ctx.nowMs,
            dueAtMs: ctx.nowMs + routing.dueAfterMs,
            updatedAtMs: ctx.nowMs
        )
        try ctx.store.insertClaim(claim)

        var session =
            existing
            ?? ContactSession(
                callID: request.callId, state: .claimFiled, subscriber: subscriber, category: category,
                placeID: fields.placeID, createdAtMs: ctx.nowMs, updatedAtMs: ctx.nowMs, expiresAtMs: ctx.sessionExpiry
            )
        session.state = .claimFiled
        session.claimNumber = number
        session.incidentID = incidentID
        session.updatedAtMs = ctx.nowMs
        session.expiresAtMs = ctx.sessionExpiry
        try ctx.store.upsertContactSession(session)

        return WriteOutcome(
            response: FileComplaintResponse(
                claimNumber: number, department: routing.department, dueAtMs: claim.dueAtMs, claim: claim
            ),
            audit: ctx.audit(
                .fileComplaint,
                callID: request.callId,
                claimNumber: number,
                incidentID: incidentID,
                outcome: ClaimStatus.acknowledged.protoName,
                reason: failureReason == .unspecified ? "" : failureReason.protoName,
                detail: "category=\(Taxonomy.key(category)) msisdn=\(Validation.redactedMSISDN(subscriber.msisdn))"
            ),
            event: .filed(group: category.group)
        )
    }
}
