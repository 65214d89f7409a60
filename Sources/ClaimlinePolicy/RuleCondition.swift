import ClaimlineCore

/// The `when` of a rule: every test given must hold; an absent test (nil) holds for every contact.
///
/// Lists are kept in file order and never empty (the parser refuses `[]`, which could only
/// mean "never", almost certainly by mistake).
public struct RuleCondition: Sendable, Hashable {
    /// `true`: an active incident applies to the contact; `false`: none does.
    public internal(set) var incident: Bool?
    public internal(set) var groups: [ClaimGroup]?
    /// Patterns: a bare group (category unspecified) covers the whole group.
    public internal(set) var categories: [CategoryRef]?
    public internal(set) var valueTiers: [ValueTier]?
    public internal(set) var secondLineModes: [SecondLineMode]?
    public internal(set) var regions: [String]?

    init() {}

    /// `{}`: holds for every contact, which is what makes the last rule a guaranteed answer.
    public var isCatchAll: Bool {
        incident == nil && groups == nil && categories == nil && valueTiers == nil && secondLineModes == nil
            && regions == nil
    }

    /// `incident` is the contact's matching incident, computed once by the caller for all rules.
    func holds(for facts: EscalationFacts, incident matched: Incident?) -> Bool {
        if let incident, incident != (matched != nil) { return false }
        if let groups, !groups.contains(facts.category.group) { return false }
        if let categories, !categories.contains(where: { $0.covers(facts.category) }) { return false }
        if let valueTiers, !valueTiers.contains(facts.subscriber.valueTier) { return false }
        if let secondLineModes, !secondLineModes.contains(facts.secondLineMode) { return false }
        if let regions, !regions.contains(facts.subscriber.region) { return false }
        return true
    }
}
