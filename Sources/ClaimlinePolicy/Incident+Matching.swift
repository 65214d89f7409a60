import ClaimlineCore

extension Incident {
    /// Whether this incident's playbook governs a contact from `subscriber` about `category`.
    ///
    /// An empty region or category list means "everywhere" / "every category", the way a
    /// supervisor declares a nationwide or all-topics outage; a category entry without a
    /// category covers its whole group.
    public func applies(to subscriber: Subscriber, category: CategoryRef) -> Bool {
        guard active else { return false }
        if !regions.isEmpty, !regions.contains(subscriber.region) { return false }
        if !categories.isEmpty, !categories.contains(where: { $0.covers(category) }) { return false }
        return true
    }
}
