// TEMPORARY stand-in with the agreed API until the policy branch lands; replaced on merge.
import ClaimlineCore

public struct Policy: Sendable, Hashable {
    public var name: String = "default"
    public var version: String = "stub"
    public static func parse(_ json: [UInt8]) throws(PolicyError) -> Policy { Policy() }
    public static let `default` = Policy()
    public func escalate(_ facts: EscalationFacts) -> EscalationOutcome {
        if let incident = facts.activeIncidents.first(where: { $0.active }) {
            return EscalationOutcome(decision: .followIncidentPlaybook, rule: "mass_incident", incident: incident)
        }
        if Taxonomy.requiresPlace(facts.category.group) { return EscalationOutcome(decision: .fileClaim, rule: "quality_of_service", incident: nil) }
        if facts.subscriber.valueTier == .tier3 || facts.subscriber.valueTier == .tier4 {
            return EscalationOutcome(decision: .firstLineConsultation, rule: "value_tier_consultation", incident: nil)
        }
        if facts.secondLineMode == .normal { return EscalationOutcome(decision: .transferToSecondLine, rule: "second_line_normal", incident: nil) }
        return EscalationOutcome(decision: .fileClaim, rule: "second_line_unavailable", incident: nil)
    }
    public func routing(for category: CategoryRef) -> ClaimRouting { ClaimRouting(department: "Отдел качества", dueAfterMs: 72 * 3_600_000) }
}
public struct EscalationFacts: Sendable, Hashable {
    public var subscriber: Subscriber
    public var category: CategoryRef
    public var activeIncidents: [Incident]
    public var secondLineMode: SecondLineMode
    public init(subscriber: Subscriber, category: CategoryRef, activeIncidents: [Incident], secondLineMode: SecondLineMode) {
        self.subscriber = subscriber; self.category = category; self.activeIncidents = activeIncidents; self.secondLineMode = secondLineMode
    }
}
public struct EscalationOutcome: Sendable, Hashable {
    public var decision: EscalateDecision
    public var rule: String
    public var incident: Incident?
}
public struct ClaimRouting: Sendable, Hashable {
    public var department: String
    public var dueAfterMs: Int64
}
public struct PolicyError: Error, Hashable, Sendable {}
