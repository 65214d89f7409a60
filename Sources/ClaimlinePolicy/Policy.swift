import ClaimlineCore

/// The operator's rules for negative contacts, kept as data so that DOMAIN.md's
/// interpretations can be changed by editing a file rather than by a release.
///
/// A policy is pure: it never reads files or clocks, and the same facts always give the same
/// outcome. It is built only by ``parse(_:)`` (or is ``default``), so every value of this type
/// has passed validation; in particular its last rule is a catch-all and ``escalate(_:)`` is total.
///
/// ## Policy file format (JSON, UTF-8)
/// ```json
/// {
///   "name": "default",
///   "version": "2026-11-25",
///   "escalate": [
///     {"rule": "mass_incident", "when": {"incident": true}, "decision": "FOLLOW_INCIDENT_PLAYBOOK"},
///     {"rule": "quality_of_service", "when": {"groups": ["shop", "contact_centre", "dealer"]}, "decision": "FILE_CLAIM"},
///     {"rule": "second_line_unavailable", "when": {}, "decision": "FILE_CLAIM"}
///   ],
///   "routing": {
///     "default": {"department": "Отдел по работе с претензиями", "due_hours": 168},
///     "groups": {"billing": {"department": "Отдел биллинга (АСР)", "due_hours": 72}},
///     "categories": {"billing/balance_desync": {"department": "Отдел биллинга (АСР)", "due_hours": 48}}
///   }
/// }
/// ```
/// - `name`, `version`: non-empty strings, recorded so an audit can say which policy decided.
/// - `escalate`: non-empty list of rules, tried in order; the first whose `when` holds decides.
///   Each rule has exactly `rule` (a unique non-empty name), `when` and `decision`
///   (`FOLLOW_INCIDENT_PLAYBOOK`, `FILE_CLAIM`, `FIRST_LINE_CONSULTATION`, `TRANSFER_TO_SECOND_LINE`).
///   The last rule's `when` must be `{}` and no earlier one may be, so every contact gets exactly
///   one reachable answer. A `FOLLOW_INCIDENT_PLAYBOOK` rule must require `"incident": true`,
///   since there is no playbook to follow otherwise.
/// - `when` tests, all optional, all given must hold (lists are alternatives and must not be empty):
///   `incident` (bool: whether an active incident applies to the contact),
///   `groups` (group keys such as `"billing"`),
///   `categories` (`"group/category"` keys, or a bare group key for the whole group),
///   `value_tiers` (integers 1…4), `second_line_modes` (`"NORMAL"`, `"DEGRADED"`, `"CLOSED"`),
///   `regions` (the subscriber's region, compared exactly).
/// - `routing`: `default` is required; `groups` (by group key) and `categories` (by full
///   `"group/category"` key) are optional. Each entry has exactly `department` (non-empty) and one
///   of `due_hours` / `due_minutes` (a positive whole number).
///
/// Unknown keys, duplicate keys and trailing commas are errors everywhere: in a policy a typo
/// must stop the load, not silently fall back to some other behaviour.
public struct Policy: Sendable, Hashable {
    public var name: String
    public var version: String
    /// Every rule but the last; kept apart from ``catchAll`` so "there is always an outcome"
    /// holds by construction rather than by a runtime check.
    let guarded: [EscalationRule]
    let catchAll: EscalationRule
    public let routingTable: RoutingTable

    init(name: String, version: String, guarded: [EscalationRule], catchAll: EscalationRule, routingTable: RoutingTable) {
        self.name = name
        self.version = version
        self.guarded = guarded
        self.catchAll = catchAll
        self.routingTable = routingTable
    }

    /// The rules in file order; the last one is the catch-all.
    public var rules: [EscalationRule] { guarded + [catchAll] }

    /// Parses a policy file (JSON, UTF-8). Pure: the caller reads the file.
    public static func parse(_ json: [UInt8]) throws(PolicyError) -> Policy {
        try PolicyParser.policy(from: JSONReader.parse(json))
    }

    /// First matching rule wins; the last rule is a catch-all, so there is always an outcome.
    public func escalate(_ facts: EscalationFacts) -> EscalationOutcome {
        let incident = facts.matchingIncident
        let rule = guarded.first { $0.condition.holds(for: facts, incident: incident) } ?? catchAll
        return EscalationOutcome(
            decision: rule.decision,
            rule: rule.name,
            incident: rule.condition.incident == true ? incident : nil
        )
    }

    /// Department and due time for a claim of this category.
    public func routing(for category: CategoryRef) -> ClaimRouting {
        routingTable.routing(for: category)
    }
}
