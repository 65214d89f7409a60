import ClaimlineCore

extension CategoryRef {
    /// Whether this reference, used as a pattern, includes `contact`'s category: a bare group
    /// (category unspecified) stands for every category in the group.
    func covers(_ contact: CategoryRef) -> Bool {
        group == contact.group && (category == .unspecified || category == contact.category)
    }
}
