import ClaimlineCore
import ClaimlineStore

/// Test data: every field set, so a column that does not round-trip shows.
enum Fixtures {
    static let cyrillic = "Абонент недоволен: списание средств при блокировке, «ёжик» — 100 ₽ 🙁"

    static func claim(
        _ sequence: Int, year: Int = 2026, createdAtMs: Int64 = 1_000, msisdn: String = "+79161234567",
        status: ClaimStatus = .acknowledged, category: CategoryRef? = CategoryRef(group: .billing, category: .balanceDesync),
        description: String = cyrillic
    ) -> Claim {
        let digits = String(sequence)
        let number = "\(year)-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        return Claim(
            claimNumber: number,
            callId: "call-\(sequence)",
            category: category,
            subscriber: Subscriber(msisdn: msisdn, accountId: "acc-\(sequence)", valueTier: .tier3, region: "77"),
            placeId: "shop-12",
            description: description,
            failureReason: .causeUnknown,
            incidentId: "INC-000007",
            agentId: "agent-5",
            department: "Billing support",
            status: status,
            createdAtMs: createdAtMs,
            dueAtMs: createdAtMs + 86_400_000,
            updatedAtMs: createdAtMs
        )
    }

    static func session(_ callID: String, expiresAtMs: Int64 = 10_000) -> ContactSession {
        ContactSession(
            callID: callID,
            state: .withSecondLine,
            subscriber: Subscriber(msisdn: "+79031112233", accountId: "acc-9", valueTier: .tier2, region: "50"),
            category: CategoryRef(group: .contactCentre, category: .improperService),
            placeID: "mrkc-spb",
            decision: .transferToSecondLine,
            rule: "second_line_normal",
            incidentID: "INC-000003",
            failureReason: .longReview,
            claimNumber: "2026-000017",
            firstLineAgent: "ivanova",
            secondLineAgent: "petrov",
            createdAtMs: 1_000,
            updatedAtMs: 2_000,
            expiresAtMs: expiresAtMs
        )
    }

    static func incident(_ sequence: Int, active: Bool = true, declaredAtMs: Int64 = 1_000) -> Incident {
        let digits = String(sequence)
        return Incident(
            incidentId: "INC-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits,
            title: "Сбой АСР в регионе \(sequence)",
            regions: ["77", "50", "a,b%c"],
            categories: [CategoryRef(group: .billing, category: .balanceDesync), CategoryRef(group: .other)],
            playbookUrl: "https://portal.example/incidents/\(sequence)",
            playbookText: "Сообщите абоненту о сроках восстановления.",
            active: active,
            declaredAtMs: declaredAtMs,
            withdrawnAtMs: active ? 0 : declaredAtMs + 500,
            declaredBy: "supervisor-1"
        )
    }

    static func idempotency(_ key: String, createdAtMs: Int64 = 1_000) -> IdempotencyRecord {
        IdempotencyRecord(
            key: key, method: Method.fileComplaint.rawValue, requestHash: 0xFEDC_BA98_7654_3210,
            response: [0x0A, 0x0B, 0x00, 0xFF, 0x80], createdAtMs: createdAtMs)
    }

    static func audit(_ method: Method, atMs: Int64, outcome: String = "", reason: String = "") -> AuditRecord {
        AuditRecord(
            atMs: atMs, sessionID: "s-1", clientName: "cti", role: "second_line", method: method.name,
            idempotencyKey: "k-\(atMs)", callID: "call-\(atMs)", outcome: outcome, reason: reason, detail: "детали")
    }
}
