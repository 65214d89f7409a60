import ClaimlineCore

/// Builds ``ClaimStats`` from raw counts, so every backend orders, groups and names
/// them the same way (the rules are on ``ClaimStoreReader/stats(fromMs:toMs:)``).
///
/// Backends feed it aggregated rows (SQL `GROUP BY`) or single records (in memory); adding the
/// same key twice sums.
public struct StatsTally: Sendable {
    private var byCategory: [CategoryKey: UInt64] = [:]
    private var byReason: [Int32: UInt64] = [:]
    private var escalations: UInt64 = 0
    private var byDecision: [DecisionKey: UInt64] = [:]
    private var retained: UInt64 = 0
    private var declined: UInt64 = 0

    private struct CategoryKey: Hashable, Sendable {
        var group: Int32
        var category: Int32
    }

    private struct DecisionKey: Hashable, Sendable {
        var decision: Int32
        var rule: String
    }

    /// The audit method names that count.
    public static let escalateMethod = Method.escalate.name
    public static let retainMethod = Method.retain.name

    public init() {}

    /// `count` claims filed under `category` (nil counts as unspecified/unspecified).
    public mutating func addClaims(group: Int32, category: Int32, count: UInt64 = 1) {
        self.byCategory[CategoryKey(group: group, category: category), default: 0] += count
    }

    public mutating func addClaims(_ ref: CategoryRef?, count: UInt64 = 1) {
        self.addClaims(group: ref?.group.rawValue ?? 0, category: ref?.category.rawValue ?? 0, count: count)
    }

    /// `count` audit records with `method`, `outcome` and `reason`; methods other than
    /// Escalate and Retain are ignored.
    /// For Escalate, `outcome` is the decision's proto name and `rule` the deciding rule.
    public mutating func addAudit(method: String, outcome: String, reason: String, rule: String = "", count: UInt64 = 1) {
        if method == Self.escalateMethod {
            self.escalations += count
            let decision = EscalateDecision.allCases.first { $0.protoName == outcome } ?? .unspecified
            self.byDecision[DecisionKey(decision: decision.rawValue, rule: rule), default: 0] += count
        } else if method == Self.retainMethod {
            self.addRetain(outcome: outcome, reason: reason, count: count)
        }
    }

    /// `count` Retain audit records with `outcome` and `reason` (proto names).
    public mutating func addRetain(outcome: String, reason: String, count: UInt64 = 1) {
        switch outcome {
        case RetentionOutcome.retained.protoName: self.retained += count
        case RetentionOutcome.declined.protoName: self.declined += count
        case RetentionOutcome.impossible.protoName:
            self.byReason[Self.reason(named: reason).rawValue, default: 0] += count
        default: break
        }
    }

    public mutating func addEscalations(_ count: UInt64) {
        self.escalations += count
    }

    public var stats: ClaimStats {
        var stats = ClaimStats()
        stats.claimsByCategory = self.byCategory.keys.sorted { ($0.group, $0.category) < ($1.group, $1.category) }.map { key in
            ClaimStats.CategoryClaims(
                category: CategoryRef(group: ClaimGroup(rawValue: key.group), category: Category(rawValue: key.category)),
                claims: self.byCategory[key] ?? 0
            )
        }
        stats.retained = self.retained
        stats.declined = self.declined
        stats.impossibleByReason = self.byReason.keys.sorted().map {
            ClaimStats.ReasonCount(reason: RetentionFailureReason(rawValue: $0), count: self.byReason[$0] ?? 0)
        }
        stats.escalations = self.escalations
        stats.escalationsByDecision = self.byDecision.keys.sorted { ($0.decision, $0.rule) < ($1.decision, $1.rule) }.map {
            ClaimStats.DecisionEscalations(decision: EscalateDecision(rawValue: $0.decision), rule: $0.rule, escalations: self.byDecision[$0] ?? 0)
        }
        return stats
    }

    /// The reason a proto name stands for; a number (how an unrecognized reason prints) is
    /// kept as that number, anything else counts as unspecified.
    public static func reason(named name: String) -> RetentionFailureReason {
        if let known = RetentionFailureReason.allCases.first(where: { $0.protoName == name }) { return known }
        if let number = Int32(name) { return RetentionFailureReason(rawValue: number) }
        return .unspecified
    }
}
