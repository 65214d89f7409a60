import ClaimlineCore

/// The policy's `routing` section: the most specific entry wins (category, then group, then default).
public struct RoutingTable: Sendable, Hashable {
    /// Required, so that every claim, even of a category added later, has somewhere to go.
    public let fallback: ClaimRouting
    public let groups: [ClaimGroup: ClaimRouting]
    public let categories: [CategoryRef: ClaimRouting]

    init(fallback: ClaimRouting, groups: [ClaimGroup: ClaimRouting], categories: [CategoryRef: ClaimRouting]) {
        self.fallback = fallback
        self.groups = groups
        self.categories = categories
    }

    public func routing(for category: CategoryRef) -> ClaimRouting {
        categories[category] ?? groups[category.group] ?? fallback
    }
}
