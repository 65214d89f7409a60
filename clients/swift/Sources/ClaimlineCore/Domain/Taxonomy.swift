/// The 18 claim categories in their 5 groups (DOMAIN.md, "The claim taxonomy").
///
/// The taxonomy is the operator's own text, not a policy choice, so it is code; what happens
/// to a category (department, due time, escalation rules) is policy and lives in a file.
public enum Taxonomy {
    /// The categories valid in each group, in the order DOMAIN.md lists them.
    public static let categories: [ClaimGroup: [Category]] = [
        .shop: [.dissatisfaction, .incompetence, .improperService, .confidentialityBreach],
        .contactCentre: [.improperService, .incompetence, .confidentialityBreach],
        .dealer: [.incompetence, .improperService, .confidentialityBreach],
        .billing: [
            .slowService, .migration, .balanceDesync, .blockedWithPositiveBalance, .notBlockedWithNegativeBalance,
            .chargedWhileBlocked,
        ],
        .other: [.selfServiceMalfunction, .tariffChangeDissatisfaction],
    ]

    /// Every valid (group, category) pair: 18 of them.
    public static let allPairs: [CategoryRef] = [ClaimGroup.shop, .contactCentre, .dealer, .billing, .other].flatMap { group in
        categories[group, default: []].map { CategoryRef(group: group, category: $0) }
    }

    public static func isValid(_ ref: CategoryRef) -> Bool {
        categories[ref.group]?.contains(ref.category) ?? false
    }

    /// Quality-of-service groups: a claim names the place (shop id, contact-centre site,
    /// dealer id) where it happened.
    public static func requiresPlace(_ group: ClaimGroup) -> Bool {
        group == .shop || group == .contactCentre || group == .dealer
    }

    /// `billing/balance_desync`, the stable text form used in policy files, logs and metrics.
    /// The writer audits one per call, so the known ones are made once.
    public static func key(_ ref: CategoryRef) -> String {
        if let known = knownKeys[Self.packed(ref)] { return known }
        return "\(groupKey(ref.group))/\(categoryKey(ref.category))"
    }

    private static let knownKeys: [Int64: String] = {
        var keys: [Int64: String] = [:]
        for group in ClaimGroup.allCases {
            for category in Category.allCases {
                let ref = CategoryRef(group: group, category: category)
                keys[packed(ref)] = "\(groupKey(group))/\(categoryKey(category))"
            }
        }
        return keys
    }()

    private static func packed(_ ref: CategoryRef) -> Int64 {
        Int64(ref.group.rawValue) << 32 | Int64(UInt32(bitPattern: ref.category.rawValue))
    }

    public static func groupKey(_ group: ClaimGroup) -> String {
        snake(group.protoName, dropping: "CLAIM_GROUP_")
    }

    public static func categoryKey(_ category: Category) -> String {
        snake(category.protoName, dropping: "CATEGORY_")
    }

    public static func group(key: String) -> ClaimGroup? {
        ClaimGroup.allCases.first { groupKey($0) == key && $0 != .unspecified }
    }

    public static func category(key: String) -> Category? {
        Category.allCases.first { categoryKey($0) == key && $0 != .unspecified }
    }

    /// Parses `group/category` or a bare `group` (category unspecified).
    public static func ref(key: String) -> CategoryRef? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let group = group(key: parts[0]) else { return nil }
        if parts.count == 1 { return CategoryRef(group: group, category: .unspecified) }
        guard parts.count == 2, let category = category(key: parts[1]) else { return nil }
        return CategoryRef(group: group, category: category)
    }

    private static func snake(_ protoName: String, dropping prefix: String) -> String {
        String(protoName.dropFirst(protoName.hasPrefix(prefix) ? prefix.count : 0)).lowercased()
    }
}
