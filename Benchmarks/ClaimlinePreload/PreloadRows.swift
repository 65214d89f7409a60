import ClaimlineCore
import ClaimlineLoad
import ClaimlineStore

/// The rows of a preload, shaped like what FileComplaint and Escalate write (see
/// FileComplaintHandler and EscalateHandler): numbered claims routed to the default policy's
/// departments, contact sessions in the states the decisions leave, subscribers drawn from a
/// fixed pool so one subscriber has several claims (ListClaims by MSISDN finds pages).
///
/// Claims come in creation order and their numbers follow it, year by year, as the server
/// numbers them; the claim of index i is created at `claimsFromMs + i * span / count` plus a
/// jitter inside its step, so the created-time indexes are built by appends too.
public struct PreloadRows: Sendable {
    public let claims: Int
    public let sessions: Int
    public let subscribers: Int
    public let claimsFromMs: Int64
    public let claimsToMs: Int64
    public let sessionsFromMs: Int64
    public let sessionsToMs: Int64
    public let sessionTTLMs: Int64
    private let seed: UInt64
    private var random: SeededRandom
    private var callIDs: SortedCallIDs
    /// The year being numbered, its last sequence and where the next year starts.
    private var year = 0
    private var sequence = 0
    private var nextYearMs: Int64 = .min
    /// The highest sequence used in each year so far.
    public private(set) var lastSequences: [Int: Int] = [:]

    public init(
        claims: Int, sessions: Int, subscribers: Int, seed: UInt64, claimsFromMs: Int64, claimsToMs: Int64,
        sessionsFromMs: Int64, sessionsToMs: Int64, sessionTTLMs: Int64
    ) {
        self.claims = claims
        self.sessions = sessions
        self.subscribers = max(1, subscribers)
        self.seed = seed
        self.claimsFromMs = claimsFromMs
        self.claimsToMs = max(claimsFromMs, claimsToMs)
        self.sessionsFromMs = sessionsFromMs
        self.sessionsToMs = max(sessionsFromMs, sessionsToMs)
        self.sessionTTLMs = sessionTTLMs
        self.random = SeededRandom(seed: SeededRandom.mix(seed ^ 0x636C_6169_6D73))
        self.callIDs = SortedCallIDs(count: sessions, seed: SeededRandom.mix(seed ^ 0x6361_6C6C_73))
    }

    /// The sorted call ids a preload with `sessions` and `seed` writes, for checks.
    public static func callIDs(sessions: Int, seed: UInt64) -> [String] {
        var ids = SortedCallIDs(count: sessions, seed: SeededRandom.mix(seed ^ 0x6361_6C6C_73))
        return (0..<sessions).map { ids.next($0) }
    }

    // MARK: Claims

    public mutating func claim(_ i: Int) -> Claim {
        let createdAtMs = Self.spread(i, of: self.claims, from: self.claimsFromMs, to: self.claimsToMs, jitter: &self.random)
        let number = self.number(createdAtMs: createdAtMs)
        let category = Taxonomy.allPairs[self.random.below(Taxonomy.allPairs.count)]
        let subscriber = self.subscriber(self.random.below(self.subscribers))
        let routing = Self.routing(category)
        // A fifth follow an impossible retention (billing and other), the rest are direct or QoS.
        let failureReason: RetentionFailureReason =
            !Taxonomy.requiresPlace(category.group) && self.random.below(5) == 0
            ? Self.failureReasons[self.random.below(Self.failureReasons.count)] : .unspecified
        let status = Self.statuses.pick(self.random.unit())
        let updatedAtMs = status == .acknowledged ? createdAtMs : min(self.claimsToMs, createdAtMs + Int64(self.random.below(72 * 3_600_000)))
        return Claim(
            claimNumber: number,
            callId: SortedCallIDs.format(high: self.random.next(), low: self.random.next()),
            category: category,
            subscriber: subscriber,
            placeId: Self.placeID(category.group, region: subscriber.region, &self.random),
            description: self.description(),
            failureReason: failureReason,
            incidentId: "",
            agentId: "agent-\(100 + self.random.below(900))",
            department: routing.department,
            status: status,
            createdAtMs: createdAtMs,
            dueAtMs: createdAtMs + routing.dueHours * 3_600_000,
            updatedAtMs: max(createdAtMs, updatedAtMs)
        )
    }

    /// `2026-000123`: the sequence restarts each UTC year, as WriterState.nextClaimNumber does.
    private mutating func number(createdAtMs: Int64) -> String {
        if self.year == 0 || createdAtMs >= self.nextYearMs {
            self.year = UTCDate.year(ofMs: createdAtMs)
            self.sequence = 0
            self.nextYearMs = UTCDate.startOfYearMs(self.year + 1)
        }
        self.sequence += 1
        self.lastSequences[self.year] = self.sequence
        return Self.claimNumber(year: self.year, sequence: self.sequence)
    }

    /// Six digits at least, as WriterState pads them.
    public static func claimNumber(year: Int, sequence: Int) -> String {
        let digits = String(sequence)
        return "\(year)-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    // MARK: Contact sessions

    public mutating func session(_ i: Int) -> ContactSession {
        let callID = self.callIDs.next(i)
        let createdAtMs = Self.spread(i, of: self.sessions, from: self.sessionsFromMs, to: self.sessionsToMs, jitter: &self.random)
        let category = Taxonomy.allPairs[self.random.below(Taxonomy.allPairs.count)]
        let subscriber = self.subscriber(self.random.below(self.subscribers))
        // The default policy: QoS groups must file, tiers 3-4 get a consultation, the rest go to
        // the second line, where a share ends retained, declined or with a claim.
        let decision: EscalateDecision
        let rule: String
        var state: ContactState
        if Taxonomy.requiresPlace(category.group) {
            (decision, rule, state) = (.fileClaim, "quality_of_service", .claimRequired)
        } else if subscriber.valueTier == .tier3 || subscriber.valueTier == .tier4 {
            (decision, rule, state) = (.firstLineConsultation, "value_tier_consultation", .firstLineConsultation)
        } else {
            (decision, rule, state) = (.transferToSecondLine, "second_line_normal", .withSecondLine)
            let u = self.random.unit()
            state = u < 0.3 ? .claimFiled : u < 0.5 ? .declined : u < 0.9 ? .retained : .withSecondLine
        }
        if state == .claimRequired, self.random.below(2) == 0 { state = .claimFiled }
        let claimNumber =
            state == .claimFiled && self.claims > 0
            ? Self.claimNumber(year: self.year, sequence: 1 + self.random.below(max(1, self.sequence))) : ""
        let updatedAtMs = state == .claimRequired || state == .firstLineConsultation ? createdAtMs : createdAtMs + Int64(self.random.below(600_000))
        return ContactSession(
            callID: callID,
            state: state,
            subscriber: subscriber,
            category: category,
            placeID: Self.placeID(category.group, region: subscriber.region, &self.random),
            decision: decision,
            rule: rule,
            failureReason: state == .claimFiled && !Taxonomy.requiresPlace(category.group) ? .causeUnknown : .unspecified,
            claimNumber: claimNumber,
            firstLineAgent: "agent-\(100 + self.random.below(900))",
            secondLineAgent: decision == .transferToSecondLine && state != .withSecondLine ? "l2-agent-\(10 + self.random.below(90))" : "",
            createdAtMs: createdAtMs,
            updatedAtMs: updatedAtMs,
            expiresAtMs: updatedAtMs + self.sessionTTLMs
        )
    }

    // MARK: Pieces

    /// Subscriber `k` of the pool, always the same: MSISDNs scattered over +79xxxxxxxxx.
    public func subscriber(_ k: Int) -> Subscriber {
        let hash = SeededRandom.mix(self.seed ^ UInt64(k) &* 0x9E37_79B9_7F4A_7C15)
        let national = 900_000_000 + hash % 100_000_000
        let tierRoll = Int(hash >> 40 & 0xFF) % 10
        let tier: ValueTier = tierRoll < 1 ? .tier1 : tierRoll < 5 ? .tier2 : tierRoll < 8 ? .tier3 : .tier4
        let regionRoll = Int(hash >> 48 & 0xFF) % 10
        return Subscriber(
            msisdn: "+79\(String(national).suffix(9))",
            accountId: "ACC-\(1_000_000 + Int((hash >> 20) % 9_000_000))",
            valueTier: tier,
            region: regionRoll < 5 ? "77" : regionRoll < 8 ? "50" : "54"
        )
    }

    /// One to three sentences, as the load harness writes (DataGenerator's phrases).
    private mutating func description() -> String {
        var text = DataGenerator.phrases[self.random.below(DataGenerator.phrases.count)]
        for _ in 0..<self.random.below(3) { text += " " + DataGenerator.phrases[self.random.below(DataGenerator.phrases.count)] }
        return text
    }

    private static func placeID(_ group: ClaimGroup, region: String, _ random: inout SeededRandom) -> String {
        let n = 1 + random.below(50)
        switch group {
        case .shop: return "SHOP-\(region)-\(n)"
        case .contactCentre: return "MRKC-\(n)"
        case .dealer: return "DLR-\(region)-\(n)"
        default: return ""
        }
    }

    /// Index i of `count` spread evenly over [from, to), jittered within its step: ascending.
    private static func spread(_ i: Int, of count: Int, from: Int64, to: Int64, jitter: inout SeededRandom) -> Int64 {
        let step = Double(to - from) / Double(max(1, count))
        return from + Int64(Double(i) * step) + (step >= 1 ? Int64(jitter.below(Int(step))) : 0)
    }

    /// config/policy.json's routing: per category where it names one, else per group.
    static func routing(_ ref: CategoryRef) -> (department: String, dueHours: Int64) {
        switch (ref.group, ref.category) {
        case (_, .confidentialityBreach): return ("Служба информационной безопасности", 72)
        case (.billing, .balanceDesync), (.billing, .chargedWhileBlocked): return ("Отдел биллинга (АСР)", 48)
        case (.billing, .blockedWithPositiveBalance): return ("Отдел биллинга (АСР)", 24)
        case (.other, .selfServiceMalfunction):
            return ("Отдел развития каналов самообслуживания (МП, ИП, USSD, МТС-info)", 72)
        case (.other, .tariffChangeDissatisfaction): return ("Отдел тарифной политики", 168)
        case (.shop, _): return ("Отдел управления розничной сетью (СМ)", 120)
        case (.contactCentre, _): return ("Отдел качества обслуживания (МРКЦ)", 120)
        case (.dealer, _): return ("Отдел по работе с дилерами", 120)
        case (.billing, _): return ("Отдел биллинга (АСР)", 72)
        default: return ("Отдел по работе с претензиями", 168)
        }
    }

    /// Mostly open: acknowledged, pending or in progress; a quarter finished one way or another.
    static let statuses = StatusTable([
        (.acknowledged, 0.45), (.pending, 0.12), (.inProgress, 0.13), (.held, 0.05), (.resolved, 0.12), (.closed, 0.08),
        (.rejected, 0.03), (.cancelled, 0.02),
    ])

    static let failureReasons: [RetentionFailureReason] = [.laboriousRecalculation, .longReview, .causeUnknown, .exceedsAuthority]
}
