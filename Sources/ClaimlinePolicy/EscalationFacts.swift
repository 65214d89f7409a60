import ClaimlineCore

/// What the first line knows when the subscriber is still not satisfied: everything a rule may test.
public struct EscalationFacts: Sendable, Hashable {
    /// Only `valueTier` and `region` are read; the MSISDN never influences a decision.
    public var subscriber: Subscriber
    public var category: CategoryRef
    /// The incidents the caller believes active; any with `active == false` is ignored anyway,
    /// so a stale snapshot cannot send a contact down a withdrawn playbook.
    public var activeIncidents: [Incident]
    public var secondLineMode: SecondLineMode

    public init(
        subscriber: Subscriber, category: CategoryRef, activeIncidents: [Incident] = [], secondLineMode: SecondLineMode
    ) {
        self.subscriber = subscriber
        self.category = category
        self.activeIncidents = activeIncidents
        self.secondLineMode = secondLineMode
    }

    /// The active incident that applies to this contact, if any.
    ///
    /// Several may apply (a regional outage and a nationwide billing fault); the most recently
    /// declared wins because it is the supervisors' latest word, and the incident id breaks ties
    /// so the answer never depends on the order the caller listed them in.
    public var matchingIncident: Incident? {
        var best: Incident?
        for incident in activeIncidents where incident.applies(to: subscriber, category: category) {
            guard let chosen = best else {
                best = incident
                continue
            }
            if incident.declaredAtMs > chosen.declaredAtMs
                || (incident.declaredAtMs == chosen.declaredAtMs && incident.incidentId < chosen.incidentId)
            {
                best = incident
            }
        }
        return best
    }
}
