import ClaimlineCore

/// One line of the policy's `escalate` list: when its condition holds, its decision stands.
public struct EscalationRule: Sendable, Hashable {
    /// Unique within a policy; recorded with every outcome so an audit can say why.
    public let name: String
    public let condition: RuleCondition
    public let decision: EscalateDecision

    init(name: String, condition: RuleCondition, decision: EscalateDecision) {
        self.name = name
        self.condition = condition
        self.decision = decision
    }
}
