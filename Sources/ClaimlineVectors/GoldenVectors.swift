import ClaimlineCore
import ClaimlineWire
import NIOCore

/// The catalogue of golden vectors: every frame type, and a request and a response for every
/// method. Values are fixed (no clocks, no randomness) so the bytes never drift; a change here
/// is a protocol change and shows up in `proto/vectors/` and PROTOCOL.md.
public enum GoldenVectors {
    static let subscriber = Subscriber(msisdn: "+79161234567", accountId: "ACC-0042", valueTier: .tier2, region: "77")
    static let callID = "UCID-00001-1764000000"
    static let createdAt: Int64 = 1_764_000_000_000  // 2025-11-24T16:00:00Z
    static let dueAt: Int64 = 1_764_604_800_000  // seven days later

    // The contact of these vectors: escalated as billing/charged_while_blocked, transferred,
    // retention impossible (long review), then filed — the claim is the contact's.
    static let claim = Claim(
        claimNumber: "2026-000123",
        callId: callID,
        category: CategoryRef(group: .billing, category: .chargedWhileBlocked),
        subscriber: subscriber,
        description: "Списание при заблокированном номере, нужна долгая проверка.",
        failureReason: .longReview,
        agentId: "agent-1024",
        department: "Отдел биллинга (АСР)",
        status: .acknowledged,
        createdAtMs: createdAt,
        dueAtMs: dueAt,
        updatedAtMs: createdAt
    )

    static let incident = Incident(
        incidentId: "INC-2026-0007",
        title: "Сбой АСР: рассинхронизация баланса",
        regions: ["77", "50"],
        categories: [CategoryRef(group: .billing, category: .balanceDesync)],
        playbookUrl: "https://portal.example/incidents/7",
        playbookText: "Сообщите о сбое; срок устранения 4 часа.",
        active: true,
        declaredAtMs: createdAt,
        declaredBy: "supervisor-3"
    )

    static let fileComplaint = FileComplaintRequest(
        idempotencyKey: "6f1c2a3b-0000-4000-8000-000000000003",
        callId: callID,
        category: CategoryRef(group: .billing, category: .chargedWhileBlocked),
        subscriber: subscriber,
        description: "Списание при заблокированном номере, нужна долгая проверка.",
        failureReason: .longReview,
        agentId: "agent-1024"
    )

    static let contact = Contact(
        callId: callID,
        state: .claimRequired,
        subscriber: subscriber,
        category: CategoryRef(group: .billing, category: .chargedWhileBlocked),
        decision: .transferToSecondLine,
        rule: "second_line_normal",
        failureReason: .longReview,
        firstLineAgentId: "ivr-7",
        secondLineAgentId: "agent-1024",
        createdAtMs: createdAt,
        updatedAtMs: createdAt + 120_000,
        expiresAtMs: createdAt + 120_000 + 4 * 3_600_000
    )

    /// All vectors, in the order PROTOCOL.md shows them.
    public static let all: [GoldenVector] = connection + calls

    static let connection: [GoldenVector] = [
        GoldenVector.preface(),
        .frame(
            "hello", "HELLO: the first frame after the preface.", type: .hello,
            message: Hello(clientName: "ivr-node-3", token: "dev-ivr-token")
        ),
        .frame(
            "hello_ack", "HELLO_ACK: the session and the server's limits.", type: .helloAck,
            message: HelloAck(
                sessionId: "s-0000000000000001", serverName: "claimlined/0.1", maxFrameSize: 65536,
                maxConcurrentStreams: 1024, keepaliveIntervalMs: 30000, idleTimeoutMs: 300_000, role: "ivr",
                maxDeadlineMs: 30000
            )
        ),
        .rawFrame("ping", "PING with 8 opaque bytes.", .ping(0x0102_0304_0506_0708)),
        .rawFrame("pong", "PONG echoing that PING.", .pong(answering: .ping(0x0102_0304_0506_0708))),
        .rawFrame("cancel", "CANCEL of stream 5.", .cancel(streamID: 5)),
        .frame(
            "error.invalid_argument", "ERROR on stream 3 (FileComplaint): a field is invalid.", type: .error,
            method: .fileComplaint, streamID: 3,
            message: RpcStatus(
                code: StatusCode.invalidArgument.rawValue,
                message: "subscriber.msisdn: not an E.164 number",
                fieldViolations: [FieldViolation(field: "subscriber.msisdn", description: "not an E.164 number")],
                reason: "INVALID_FIELD"
            )
        ),
        .frame(
            "error.failed_precondition", "ERROR on stream 9 (Retain): the contact is not with the second line.",
            type: .error, method: .retain, streamID: 9,
            message: RpcStatus(
                code: StatusCode.failedPrecondition.rawValue,
                message: "retain needs the contact with the second line; it is FIRST_LINE_CONSULTATION",
                currentState: "CONTACT_STATE_FIRST_LINE_CONSULTATION",
                reason: "CONTACT_STATE"
            )
        ),
        .frame(
            "goaway.shutdown", "GOAWAY on graceful shutdown: streams up to 7 are answered.", type: .goAway,
            message: GoAway(lastStreamId: 7, code: 0, reason: "SHUTDOWN", message: "server is shutting down")
        ),
        .frame(
            "goaway.protocol_error", "GOAWAY after a protocol error: nothing after stream 3 was processed.",
            type: .goAway,
            message: GoAway(
                lastStreamId: 3, code: StatusCode.internal.rawValue, reason: "PROTOCOL_ERROR",
                message: "unknown frame type 0x2a"
            )
        ),
    ]

    static let calls: [GoldenVector] = [
        .frame(
            "escalate.request", "Escalate: the first line could not satisfy the subscriber.", type: .request,
            method: .escalate, streamID: 1, timeoutMs: 2000,
            message: EscalateRequest(
                idempotencyKey: "6f1c2a3b-0000-4000-8000-000000000001", callId: callID, subscriber: subscriber,
                category: CategoryRef(group: .billing, category: .chargedWhileBlocked), agentId: "ivr-7"
            )
        ),
        .frame(
            "escalate.response", "Escalate's answer: transfer to the second line.", type: .response,
            method: .escalate, streamID: 1,
            message: EscalateResponse(decision: .transferToSecondLine, rule: "second_line_normal", state: .withSecondLine)
        ),
        .frame(
            "retain.request", "Retain: online retention impossible, it needs a long review.", type: .request,
            method: .retain, streamID: 3, timeoutMs: 2000,
            message: RetainRequest(
                idempotencyKey: "6f1c2a3b-0000-4000-8000-000000000002", callId: callID, outcome: .impossible,
                failureReason: .longReview, agentId: "agent-1024", note: "Нужна проверка начислений за март."
            )
        ),
        .frame(
            "retain.response", "Retain's answer: a claim is required, with a pre-filled draft.", type: .response,
            method: .retain, streamID: 3,
            message: RetainResponse(
                claimRequired: true, state: .claimRequired,
                draft: FileComplaintRequest(
                    callId: callID, category: CategoryRef(group: .billing, category: .chargedWhileBlocked),
                    subscriber: subscriber, failureReason: .longReview, agentId: "agent-1024"
                )
            )
        ),
        .frame(
            "file_complaint.request", "FileComplaint: register the claim.", type: .request,
            method: .fileComplaint, streamID: 5, timeoutMs: 5000, message: fileComplaint
        ),
        .frame(
            "file_complaint.response", "FileComplaint's answer: the number to read aloud, department, due date.",
            type: .response, method: .fileComplaint, streamID: 5,
            message: FileComplaintResponse(
                claimNumber: claim.claimNumber, department: claim.department, dueAtMs: dueAt, claim: claim
            )
        ),
        .frame(
            "get_claim.request", "GetClaim by number.", type: .request, method: .getClaim, streamID: 7,
            timeoutMs: 1000, message: GetClaimRequest(claimNumber: "2026-000123")
        ),
        .frame(
            "get_claim.response", "GetClaim's answer.", type: .response, method: .getClaim, streamID: 7,
            message: GetClaimResponse(claim: claim)
        ),
        .frame(
            "list_claims.request", "ListClaims of one subscriber, acknowledged billing ones, 20 a page.", type: .request,
            method: .listClaims, streamID: 9, timeoutMs: 1000,
            message: ListClaimsRequest(
                msisdn: "+79161234567", status: .acknowledged, pageSize: 20, category: CategoryRef(group: .billing)
            )
        ),
        .frame(
            "list_claims.response", "ListClaims' answer: one page, and a token for the next.", type: .response,
            method: .listClaims, streamID: 9,
            message: ListClaimsResponse(claims: [claim], nextPageToken: "c:2026-000123")
        ),
        .frame(
            "update_claim_status.request", "UpdateClaimStatus: acknowledged to inProgress.", type: .request,
            method: .updateClaimStatus, streamID: 11, timeoutMs: 1000,
            message: UpdateClaimStatusRequest(
                idempotencyKey: "6f1c2a3b-0000-4000-8000-000000000006", claimNumber: "2026-000123",
                status: .inProgress, note: "Передано в отдел качества."
            )
        ),
        .frame(
            "update_claim_status.response", "UpdateClaimStatus' answer.", type: .response,
            method: .updateClaimStatus, streamID: 11,
            message: UpdateClaimStatusResponse(
                claim: {
                    var updated = claim
                    updated.status = .inProgress
                    updated.updatedAtMs = createdAt + 3_600_000
                    return updated
                }()
            )
        ),
        .frame(
            "declare_incident.request", "DeclareIncident: a billing fault in two regions.", type: .request,
            method: .declareIncident, streamID: 13, timeoutMs: 1000,
            message: DeclareIncidentRequest(
                idempotencyKey: "6f1c2a3b-0000-4000-8000-000000000007", title: incident.title,
                regions: incident.regions, categories: incident.categories, playbookUrl: incident.playbookUrl,
                playbookText: incident.playbookText
            )
        ),
        .frame(
            "declare_incident.response", "DeclareIncident's answer.", type: .response, method: .declareIncident,
            streamID: 13, message: DeclareIncidentResponse(incident: incident)
        ),
        .frame(
            "withdraw_incident.request", "WithdrawIncident.", type: .request, method: .withdrawIncident,
            streamID: 15, timeoutMs: 1000,
            message: WithdrawIncidentRequest(
                idempotencyKey: "6f1c2a3b-0000-4000-8000-000000000008", incidentId: incident.incidentId,
                note: "Сбой устранён."
            )
        ),
        .frame(
            "withdraw_incident.response", "WithdrawIncident's answer.", type: .response,
            method: .withdrawIncident, streamID: 15,
            message: WithdrawIncidentResponse(
                incident: {
                    var withdrawn = incident
                    withdrawn.active = false
                    withdrawn.withdrawnAtMs = createdAt + 14_400_000
                    return withdrawn
                }()
            )
        ),
        .frame(
            "list_incidents.request", "ListIncidents, active ones only.", type: .request, method: .listIncidents,
            streamID: 17, timeoutMs: 1000, message: ListIncidentsRequest(includeWithdrawn: false)
        ),
        .frame(
            "list_incidents.response", "ListIncidents' answer.", type: .response, method: .listIncidents,
            streamID: 17, message: ListIncidentsResponse(incidents: [incident])
        ),
        .frame(
            "get_second_line_mode.request", "GetSecondLineMode (an empty message).", type: .request,
            method: .getSecondLineMode, streamID: 19, timeoutMs: 1000, message: GetSecondLineModeRequest()
        ),
        .frame(
            "get_second_line_mode.response", "GetSecondLineMode's answer.", type: .response,
            method: .getSecondLineMode, streamID: 19,
            message: SecondLineModeResponse(mode: .normal, changedAtMs: createdAt, changedBy: "supervisor-3")
        ),
        .frame(
            "set_second_line_mode.request", "SetSecondLineMode: degraded.", type: .request,
            method: .setSecondLineMode, streamID: 21, timeoutMs: 1000,
            message: SetSecondLineModeRequest(
                idempotencyKey: "6f1c2a3b-0000-4000-8000-000000000011", mode: .degraded,
                reason: "Половина смены на обучении."
            )
        ),
        .frame(
            "set_second_line_mode.response", "SetSecondLineMode's answer.", type: .response,
            method: .setSecondLineMode, streamID: 21,
            message: SecondLineModeResponse(
                mode: .degraded, changedAtMs: createdAt + 60000, changedBy: "supervisor-3",
                reason: "Половина смены на обучении."
            )
        ),
        .frame(
            "get_stats.request", "GetStats since the beginning.", type: .request, method: .getStats,
            streamID: 23, timeoutMs: 1000, message: GetStatsRequest()
        ),
        .frame(
            "get_stats.response", "GetStats' answer.", type: .response, method: .getStats, streamID: 23,
            message: GetStatsResponse(
                claimsByGroup: [GroupCount(group: .contactCentre, claims: 1), GroupCount(group: .billing, claims: 2)],
                claimsByCategory: [
                    CategoryCount(category: CategoryRef(group: .contactCentre, category: .improperService), claims: 1),
                    CategoryCount(category: CategoryRef(group: .billing, category: .chargedWhileBlocked), claims: 2),
                ],
                retained: 5, declined: 1,
                impossibleByReason: [FailureReasonCount(reason: .longReview, count: 3)],
                escalations: 12, claimsTotal: 3,
                escalationsByDecision: [
                    DecisionCount(decision: .fileClaim, rule: "quality_of_service", escalations: 1),
                    DecisionCount(decision: .transferToSecondLine, rule: "second_line_normal", escalations: 11),
                ]
            )
        ),
        .frame(
            "get_contact.request", "GetContact: where the call stands (a desktop recovering a lost draft).",
            type: .request, method: .getContact, streamID: 25, timeoutMs: 1000,
            message: GetContactRequest(callId: callID)
        ),
        .frame(
            "get_contact.response", "GetContact's answer: a claim is required, and here is its draft.", type: .response,
            method: .getContact, streamID: 25,
            message: GetContactResponse(
                contact: contact,
                draft: FileComplaintRequest(
                    callId: callID, category: contact.category, subscriber: subscriber, failureReason: .longReview,
                    agentId: "agent-1024"
                )
            )
        ),
        .frame(
            "reload_policy.request", "ReloadPolicy: an admin loads the policy file again.", type: .request,
            method: .reloadPolicy, streamID: 27, timeoutMs: 1000,
            message: ReloadPolicyRequest(idempotencyKey: "6f1c2a3b-0000-4000-8000-000000000014")
        ),
        .frame(
            "reload_policy.response", "ReloadPolicy's answer: the policy now in force and the one before.", type: .response,
            method: .reloadPolicy, streamID: 27,
            message: ReloadPolicyResponse(
                policyName: "default", policyVersion: "2026-12-01", rules: 9, previousPolicyName: "default",
                previousPolicyVersion: "2026-11-25"
            )
        ),
    ]
}
