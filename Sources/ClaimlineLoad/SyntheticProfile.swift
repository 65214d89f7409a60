import ClaimlineCore

/// What the synthetic traffic looks like: who calls, about what, and how contacts end.
///
/// Every knob has a flag and a scenario-file field (docs/LOAD.md); the defaults give a mix in
/// which every escalation rule fires (QoS claims, first-line consultations, transfers).
public struct SyntheticProfile: Sendable, Hashable {
    public var tiers: WeightedTable<ValueTier>
    /// Region codes, as the policy and incidents name them (`77`, `50`, ...).
    public var regions: WeightedTable<String>
    /// Categories of escalated contacts (any of the 18 valid pairs).
    public var categories: WeightedTable<CategoryRef>
    /// Categories of directly filed claims: quality-of-service ones only (the server files
    /// nothing else without an escalation first).
    public var directCategories: WeightedTable<CategoryRef>
    /// Contact scenario: after a transfer, the share of retentions that are IMPOSSIBLE (then a
    /// claim is filed) and DECLINED; the rest are RETAINED.
    public var retainImpossible: Double
    public var retainDeclined: Double
    /// Contact scenario: the share of contacts that are a QoS claim filed directly, no escalation.
    public var directFile: Double
    /// Distinct places (shops, contact-centre sites, dealers) per group.
    public var placesPerGroup: Int
    /// The MSISDNs' country code (E.164, no plus).
    public var countryCode: String

    public init(
        tiers: WeightedTable<ValueTier> = SyntheticProfile.defaultTiers,
        regions: WeightedTable<String> = SyntheticProfile.defaultRegions,
        categories: WeightedTable<CategoryRef> = WeightedTable(uniform: Taxonomy.allPairs),
        directCategories: WeightedTable<CategoryRef>? = nil,
        retainImpossible: Double = 0.3,
        retainDeclined: Double = 0.2,
        directFile: Double = 0.1,
        placesPerGroup: Int = 50,
        countryCode: String = "7"
    ) {
        self.tiers = tiers
        self.regions = regions
        self.categories = categories
        self.directCategories = directCategories ?? Self.qualityOfService(from: categories)
        self.retainImpossible = retainImpossible
        self.retainDeclined = retainDeclined
        self.directFile = directFile
        self.placesPerGroup = placesPerGroup
        self.countryCode = countryCode
    }

    public static let defaultTiers = try! WeightedTable<ValueTier>([(.tier1, 0.1), (.tier2, 0.4), (.tier3, 0.3), (.tier4, 0.2)])
    public static let defaultRegions = try! WeightedTable<String>([("77", 0.5), ("50", 0.3), ("54", 0.2)])

    /// The QoS part of `categories`, with their weights; all QoS pairs alike when it has none.
    public static func qualityOfService(from categories: WeightedTable<CategoryRef>) -> WeightedTable<CategoryRef> {
        let qos = categories.weights.filter { Taxonomy.requiresPlace($0.0.group) }
        if let table = try? WeightedTable(qos) { return table }
        return WeightedTable(uniform: Taxonomy.allPairs.filter { Taxonomy.requiresPlace($0.group) })
    }

    /// Checks the rates; the tables check themselves when built.
    public func validate() throws(LoadConfigurationError) {
        for (name, value) in [
            ("retain-impossible", self.retainImpossible), ("retain-declined", self.retainDeclined), ("direct-file", self.directFile),
        ] {
            guard value >= 0, value <= 1 else { throw LoadConfigurationError("--\(name) must be within 0...1, got \(value)") }
        }
        guard self.retainImpossible + self.retainDeclined <= 1 else {
            throw LoadConfigurationError("--retain-impossible plus --retain-declined exceed 1")
        }
        guard self.placesPerGroup > 0 else { throw LoadConfigurationError("places per group must be positive") }
        guard !self.countryCode.isEmpty, self.countryCode.count <= 3, self.countryCode.first != "0",
            self.countryCode.allSatisfy(\.isASCII), self.countryCode.allSatisfy(\.isNumber)
        else {
            throw LoadConfigurationError("country code must be 1 to 3 digits, not starting with 0")
        }
    }
}

// MARK: - The flag syntax

extension SyntheticProfile {
    public static func parseTiers(_ text: String) throws(LoadConfigurationError) -> WeightedTable<ValueTier> {
        try WeightedTable.parse(text, flag: "--tiers") { key in
            switch key {
            case "1": .tier1
            case "2": .tier2
            case "3": .tier3
            case "4": .tier4
            default: nil
            }
        }
    }

    public static func parseRegions(_ text: String) throws(LoadConfigurationError) -> WeightedTable<String> {
        try WeightedTable.parse(text, flag: "--regions") { key in
            key.isEmpty || key.utf8.count > 128 ? nil : key
        }
    }

    /// `group/category:weight`; a bare `group:weight` spreads the weight over the group's categories.
    public static func parseCategories(_ text: String) throws(LoadConfigurationError) -> WeightedTable<CategoryRef> {
        var entries: [(CategoryRef, Double)] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let weight = Double(parts[1].trimmingWhitespace()) else {
                throw LoadConfigurationError("--categories: '\(item)' is not group/category:weight")
            }
            let key = String(parts[0].trimmingWhitespace())
            guard let ref = Taxonomy.ref(key: key) else { throw LoadConfigurationError("--categories: unknown '\(key)'") }
            if ref.category == .unspecified {
                let members = Taxonomy.categories[ref.group, default: []]
                entries += members.map { (CategoryRef(group: ref.group, category: $0), weight / Double(members.count)) }
            } else {
                guard Taxonomy.isValid(ref) else {
                    throw LoadConfigurationError("--categories: '\(key)' is not a category of its group")
                }
                entries.append((ref, weight))
            }
        }
        do {
            return try WeightedTable(entries)
        } catch {
            throw LoadConfigurationError("--categories: \(error.message)")
        }
    }
}
