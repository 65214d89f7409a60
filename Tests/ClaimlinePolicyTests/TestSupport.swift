import ClaimlineCore
import ClaimlinePolicy

/// A contact with the defaults that make the default policy reach its tier and second-line rules.
func facts(
    _ group: ClaimGroup, _ category: Category, tier: ValueTier = .tier1, mode: SecondLineMode = .normal,
    region: String = "77", incidents: [Incident] = []
) -> EscalationFacts {
    EscalationFacts(
        subscriber: Subscriber(msisdn: "+79161234567", valueTier: tier, region: region),
        category: CategoryRef(group: group, category: category),
        activeIncidents: incidents,
        secondLineMode: mode
    )
}

func facts(
    _ ref: CategoryRef, tier: ValueTier = .tier1, mode: SecondLineMode = .normal, region: String = "77", incidents: [Incident] = []
)
    -> EscalationFacts
{
    facts(ref.group, ref.category, tier: tier, mode: mode, region: region, incidents: incidents)
}

func incident(
    _ id: String, regions: [String] = [], categories: [CategoryRef] = [], declaredAtMs: Int64 = 1_000, active: Bool = true
) -> Incident {
    Incident(incidentId: id, title: "Авария \(id)", regions: regions, categories: categories, active: active, declaredAtMs: declaredAtMs)
}

func parse(_ json: String) throws(PolicyError) -> Policy {
    try Policy.parse(Array(json.utf8))
}

/// The error a document is refused with, or nil when it parses.
func parseError(_ json: String) -> PolicyError? {
    do {
        _ = try parse(json)
        return nil
    } catch {
        return error
    }
}

let catchAllRule = #"{"rule": "fallback", "when": {}, "decision": "FILE_CLAIM"}"#
let minimalRouting = #"{"default": {"department": "Отдел по работе с претензиями", "due_hours": 168}}"#

/// A policy document with `rules` (JSON objects, comma-separated) before a catch-all and `routing`.
func document(rules: String? = nil, routing: String = minimalRouting) -> String {
    let list = rules.map { "\($0), \(catchAllRule)" } ?? catchAllRule
    return #"{"name": "test", "version": "1", "escalate": [\#(list)], "routing": \#(routing)}"#
}

let qualityGroups: [ClaimGroup] = [.shop, .contactCentre, .dealer]
let allTiers: [ValueTier] = [.unspecified, .tier1, .tier2, .tier3, .tier4]
let allModes: [SecondLineMode] = [.unspecified, .normal, .degraded, .closed]
