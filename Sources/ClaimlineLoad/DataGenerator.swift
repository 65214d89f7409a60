import ClaimlineCore

/// Seeded synthetic data: subscribers, contacts and the request messages of each call.
///
/// One per connection (its own sub-stream of the seed): the same seed gives the same sequence
/// of subscribers, categories and outcomes. Call ids and idempotency keys also carry a run tag,
/// so that a rerun against the same server data (or a second harness process) never reuses a
/// call id (FAILED_PRECONDITION) or a key (ALREADY_EXISTS).
public struct DataGenerator: Sendable {
    public let profile: SyntheticProfile
    public let runTag: String
    public let stream: Int
    private var random: SeededRandom
    private var callCounter: UInt64 = 0
    private var keyCounter: UInt64 = 0
    private let tagHash: UInt32

    public init(profile: SyntheticProfile, seed: UInt64, stream: Int, runTag: String) {
        self.profile = profile
        self.runTag = runTag
        self.stream = stream
        self.random = SeededRandom(seed: SeededRandom.derive(seed, stream))
        var hash: UInt32 = 2_166_136_261  // FNV-1a
        for byte in runTag.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        self.tagHash = hash
    }

    // MARK: Contacts

    /// The next contact; `direct` contacts are QoS claims filed without an escalation.
    public mutating func contact(direct: Bool) -> ContactPlan {
        let category = direct ? self.profile.directCategories.pick(self.random.unit()) : self.profile.categories.pick(self.random.unit())
        let subscriber = self.subscriber()
        let placeId = Taxonomy.requiresPlace(category.group) ? self.placeId(category.group, region: subscriber.region) : ""
        let u = self.random.unit()
        let outcome: RetentionOutcome =
            u < self.profile.retainImpossible
            ? .impossible
            : u < self.profile.retainImpossible + self.profile.retainDeclined ? .declined : .retained
        let reasons: [RetentionFailureReason] = [.laboriousRecalculation, .longReview, .causeUnknown, .exceedsAuthority]
        let reason = outcome == .impossible ? reasons[self.random.below(reasons.count)] : .unspecified
        self.callCounter += 1
        return ContactPlan(
            callId: "LT-\(self.runTag)-\(self.stream)-\(self.callCounter)",
            subscriber: subscriber, category: category, placeId: placeId,
            agentId: "agent-\(100 + self.random.below(900))", direct: direct,
            retainOutcome: outcome, failureReason: reason
        )
    }

    /// A contact for the given scenario: the contact scenario makes `directFile` of them direct.
    public mutating func contact(for scenario: Scenario) -> ContactPlan {
        switch scenario {
        case .escalate: self.contact(direct: false)
        case .file: self.contact(direct: true)
        case .contact: self.contact(direct: self.random.unit() < self.profile.directFile)
        }
    }

    public mutating func subscriber() -> Subscriber {
        var digits = ""
        let nationalLength = 10  // +7 9xx xxx xx xx: 11 digits with the country code
        digits.reserveCapacity(nationalLength)
        digits.append("9")
        for _ in 1..<nationalLength { digits.append(Character(Unicode.Scalar(UInt8(48 + self.random.below(10))))) }
        return Subscriber(
            msisdn: "+\(self.profile.countryCode)\(digits)",
            accountId: "ACC-\(1_000_000 + self.random.below(9_000_000))",
            valueTier: self.profile.tiers.pick(self.random.unit()),
            region: self.profile.regions.pick(self.random.unit())
        )
    }

    public mutating func placeId(_ group: ClaimGroup, region: String) -> String {
        let n = 1 + self.random.below(self.profile.placesPerGroup)
        switch group {
        case .shop: return "SHOP-\(region)-\(n)"
        case .contactCentre: return "MRKC-\(n)"
        case .dealer: return "DLR-\(region)-\(n)"
        default: return ""
        }
    }

    /// A fresh key per write, UUID-shaped: run tag hash, stream, counter.
    public mutating func idempotencyKey() -> String {
        self.keyCounter += 1
        return Self.hex(UInt64(self.tagHash), 8) + "-" + Self.hex(UInt64(self.stream & 0xFFFF), 4) + "-4"
            + Self.hex(self.keyCounter >> 48 & 0xFFF, 3) + "-8" + Self.hex(self.keyCounter >> 36 & 0xFFF, 3) + "-"
            + Self.hex(self.keyCounter & 0xFFFF_FFFF_FFFF, 12)
    }

    /// One to three sentences of Russian complaint text (well under the 4000-character cap).
    public mutating func description(for plan: ContactPlan) -> String {
        let count = 1 + self.random.below(3)
        var sentences: [String] = []
        for _ in 0..<count { sentences.append(Self.phrases[self.random.below(Self.phrases.count)]) }
        return sentences.joined(separator: " ")
    }

    static func hex(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Complaint sentences (also what the store benchmark's preload writes as descriptions).
    public static let phrases = [
        "Абонент недоволен обслуживанием и просит разобраться.",
        "Сотрудник дал неверную информацию о тарифе.",
        "Баланс в личном кабинете не совпадает с детализацией.",
        "Номер заблокирован при положительном балансе.",
        "Списаны средства во время добровольной блокировки.",
        "Оператор прервал разговор и не перезвонил.",
        "После смены тарифа услуги подключаются с задержкой.",
        "USSD-меню показывает неверный остаток пакета.",
        "Абонент требует перерасчёт за прошлый месяц.",
        "Персональные данные озвучены третьему лицу.",
    ]
}

/// Which calls the harness makes.
public enum Scenario: String, Sendable, Codable, CaseIterable {
    /// Escalate alone, a new call id each time: the IVR path.
    case escalate
    /// Whole contacts: escalate, retain after a transfer, file when required, plus direct QoS claims.
    case contact
    /// FileComplaint alone: direct quality-of-service claims.
    case file
}
