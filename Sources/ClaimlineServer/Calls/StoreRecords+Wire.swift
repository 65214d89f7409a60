import ClaimlineCore
import ClaimlineStore

/// The store's records as the protocol shows them: the handlers map, the store never sees a
/// wire message.
extension SecondLineModeRecord {
    var response: SecondLineModeResponse {
        SecondLineModeResponse(mode: self.mode, changedAtMs: self.changedAtMs, changedBy: self.changedBy, reason: self.reason)
    }
}

extension ClaimStats {
    var response: GetStatsResponse {
        GetStatsResponse(
            claimsByGroup: self.claimsByGroup.map { GroupCount(group: $0.group, claims: $0.claims) },
            claimsByCategory: self.claimsByCategory.map { CategoryCount(category: $0.category, claims: $0.claims) },
            retained: self.retained,
            declined: self.declined,
            impossibleByReason: self.impossibleByReason.map { FailureReasonCount(reason: $0.reason, count: $0.count) },
            escalations: self.escalations,
            claimsTotal: self.claimsTotal,
            escalationsByDecision: self.escalationsByDecision.map {
                DecisionCount(decision: $0.decision, rule: $0.rule, escalations: $0.escalations)
            }
        )
    }
}
