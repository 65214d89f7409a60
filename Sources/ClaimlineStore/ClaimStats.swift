import ClaimlineCore

/// What the store counts for GetStats (the rules are on ``ClaimStoreReader/stats(fromMs:toMs:)``):
/// store records, ordered, for the handler to map to the protocol's answer.
public struct ClaimStats: Hashable, Sendable {
    public struct CategoryClaims: Hashable, Sendable {
        public var category: CategoryRef
        public var claims: UInt64

        public init(category: CategoryRef, claims: UInt64) {
            self.category = category
            self.claims = claims
        }
    }

    public struct ReasonCount: Hashable, Sendable {
        public var reason: RetentionFailureReason
        public var count: UInt64

        public init(reason: RetentionFailureReason, count: UInt64) {
            self.reason = reason
            self.count = count
        }
    }

    public struct DecisionEscalations: Hashable, Sendable {
        public var decision: EscalateDecision
        public var rule: String
        public var escalations: UInt64

        public init(decision: EscalateDecision, rule: String, escalations: UInt64) {
            self.decision = decision
            self.rule = rule
            self.escalations = escalations
        }
    }

    /// By group, then category number; categories with no claims are left out.
    public var claimsByCategory: [CategoryClaims] = []
    public var retained: UInt64 = 0
    public var declined: UInt64 = 0
    /// By reason number.
    public var impossibleByReason: [ReasonCount] = []
    public var escalations: UInt64 = 0
    /// By decision number, then rule.
    public var escalationsByDecision: [DecisionEscalations] = []

    public init() {}

    public var claimsTotal: UInt64 { self.claimsByCategory.reduce(0) { $0 + $1.claims } }

    /// Claims by group, in group order.
    public var claimsByGroup: [(group: ClaimGroup, claims: UInt64)] {
        var groups: [(group: ClaimGroup, claims: UInt64)] = []
        for entry in self.claimsByCategory {
            if let last = groups.last, last.group == entry.category.group {
                groups[groups.count - 1].claims += entry.claims
            } else {
                groups.append((entry.category.group, entry.claims))
            }
        }
        return groups
    }
}
