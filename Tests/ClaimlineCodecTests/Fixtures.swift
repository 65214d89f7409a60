import ClaimlineCore

/// Representative messages shared by the codec tests.
enum Fixtures {
    static let subscriber = Subscriber(
        msisdn: "+79161234567",
        accountId: "ACC-0042",
        valueTier: .tier2,
        region: "77"
    )

    static let fileComplaint = FileComplaintRequest(
        idempotencyKey: "5f0c8a7e-1d2b-4c3d-9e8f-0a1b2c3d4e5f",
        callId: "UCID-00001-1732550400",
        category: CategoryRef(group: .contactCentre, category: .improperService),
        subscriber: subscriber,
        placeId: "MRKC-NSK",
        description: "Оператор прервал разговор и не перезвонил; абонент недоволен обслуживанием.",
        failureReason: .exceedsAuthority,
        incidentId: "",
        agentId: "agent-1024"
    )

    static let escalate = EscalateRequest(
        idempotencyKey: "0b7e2d6c-58a1-4f0e-8d4b-3c2a1f0e9d8c",
        callId: "UCID-00001-1732550400",
        subscriber: subscriber,
        category: CategoryRef(group: .billing, category: .balanceDesync),
        agentId: "ivr-7"
    )

    static let incident = Incident(
        incidentId: "INC-7",
        title: "Сбой АСР в регионе 77",
        regions: ["77", "50"],
        categories: [
            CategoryRef(group: .billing, category: .unspecified),
            CategoryRef(group: .other, category: .selfServiceMalfunction),
        ],
        playbookUrl: "https://portal.example/incidents/7",
        playbookText: "Сообщите абоненту о сбое; претензию не регистрируйте.",
        active: true,
        declaredAtMs: 1_764_000_000_000,
        withdrawnAtMs: 0,
        declaredBy: "supervisor-3"
    )
}
