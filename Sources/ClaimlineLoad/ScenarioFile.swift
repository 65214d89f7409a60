import ClaimlineCore
import Foundation

/// A scenario kept in a file (JSON, described in docs/LOAD.md): the same knobs as the flags,
/// so a team can version the traffic mix it tests every release with. Flags given on the
/// command line win over the file.
///
///     {"scenario": "contact", "seed": 42,
///      "tiers": {"1": 0.1, "2": 0.4, "3": 0.3, "4": 0.2},
///      "regions": {"77": 0.5, "50": 0.3, "54": 0.2},
///      "categories": {"billing/balance_desync": 0.3, "shop": 0.2, "other": 0.5},
///      "directCategories": {"contact_centre/improper_service": 1},
///      "retainImpossible": 0.3, "retainDeclined": 0.2, "directFile": 0.1,
///      "placesPerGroup": 50, "countryCode": "7"}
public struct ScenarioFile: Codable, Sendable, Hashable {
    public var scenario: String?
    public var seed: UInt64?
    public var tiers: [String: Double]?
    public var regions: [String: Double]?
    public var categories: [String: Double]?
    public var directCategories: [String: Double]?
    public var retainImpossible: Double?
    public var retainDeclined: Double?
    public var directFile: Double?
    public var placesPerGroup: Int?
    public var countryCode: String?

    public init() {}

    public static func load(path: String) throws -> ScenarioFile {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            return try JSONDecoder().decode(ScenarioFile.self, from: data)
        } catch {
            throw LoadConfigurationError("\(path): not a scenario file: \(error)")
        }
    }

    /// The profile this file describes on top of `base`.
    public func apply(to base: SyntheticProfile) throws(LoadConfigurationError) -> SyntheticProfile {
        var profile = base
        if let tiers { profile.tiers = try SyntheticProfile.parseTiers(Self.flagSyntax(tiers)) }
        if let regions { profile.regions = try SyntheticProfile.parseRegions(Self.flagSyntax(regions)) }
        if let categories {
            profile.categories = try SyntheticProfile.parseCategories(Self.flagSyntax(categories))
            profile.directCategories = SyntheticProfile.qualityOfService(from: profile.categories)
        }
        if let directCategories {
            let table = try SyntheticProfile.parseCategories(Self.flagSyntax(directCategories))
            guard table.values.allSatisfy({ Taxonomy.requiresPlace($0.group) }) else {
                throw LoadConfigurationError("directCategories: only shop, contact_centre and dealer claims can be filed directly")
            }
            profile.directCategories = table
        }
        if let retainImpossible { profile.retainImpossible = retainImpossible }
        if let retainDeclined { profile.retainDeclined = retainDeclined }
        if let directFile { profile.directFile = directFile }
        if let placesPerGroup { profile.placesPerGroup = placesPerGroup }
        if let countryCode { profile.countryCode = countryCode }
        try profile.validate()
        return profile
    }

    /// A JSON object as the flags' `key:weight,...`, keys sorted so the draw order (and so the
    /// seeded data) does not depend on how a dictionary happens to iterate.
    static func flagSyntax(_ weights: [String: Double]) -> String {
        weights.keys.sorted().map { "\($0):\(weights[$0]!)" }.joined(separator: ",")
    }
}
