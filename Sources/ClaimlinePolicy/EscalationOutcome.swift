import ClaimlineCore

/// The answer to "the subscriber is not satisfied, what now?", with the reason kept for the audit trail.
public struct EscalationOutcome: Sendable, Hashable {
    public var decision: EscalateDecision
    /// The deciding rule's name from the policy file, e.g. `quality_of_service`.
    public var rule: String
    /// The incident whose playbook applies, when the deciding rule required one (`"incident": true`).
    public var incident: Incident?

    public init(decision: EscalateDecision, rule: String, incident: Incident? = nil) {
        self.decision = decision
        self.rule = rule
        self.incident = incident
    }
}
