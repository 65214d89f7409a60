import ClaimlineCore

/// What a write did in the domain, for the metrics operators chart (escalate decisions by
/// rule, retention outcomes, claims filed by group). Counted once its batch is durable, and
/// not again for an idempotent replay: the figures count what happened, not what was asked.
enum DomainEvent: Sendable {
    case escalated(decision: EscalateDecision, rule: String)
    case retained(outcome: RetentionOutcome, reason: RetentionFailureReason)
    case filed(group: ClaimGroup)
}
