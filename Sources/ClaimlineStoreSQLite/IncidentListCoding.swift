import ClaimlineCore

/// The compact text forms of an incident's lists (see ``SQLiteSchemaV1``): regions joined by
/// `,` with `%` and `,` percent-escaped, categories as `group/category` proto numbers joined by
/// `,`; nil (NULL) for an empty list. Decoding never fails: a malformed element is skipped.
enum IncidentListCoding {
    static func encodeRegions(_ regions: [String]) -> String? {
        guard !regions.isEmpty else { return nil }
        return regions.map { region in
            region.contains(where: { $0 == "%" || $0 == "," })
                ? region.replacingOccurrences("%", "%25").replacingOccurrences(",", "%2C")
                : region
        }.joined(separator: ",")
    }

    static func decodeRegions(_ text: String?) -> [String] {
        guard let text else { return [] }
        return text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            part.contains("%") ? String(part).replacingOccurrences("%2C", ",").replacingOccurrences("%25", "%") : String(part)
        }
    }

    static func encodeCategories(_ categories: [CategoryRef]) -> String? {
        guard !categories.isEmpty else { return nil }
        return categories.map { "\($0.group.rawValue)/\($0.category.rawValue)" }.joined(separator: ",")
    }

    static func decodeCategories(_ text: String?) -> [CategoryRef] {
        guard let text, !text.isEmpty else { return [] }
        return text.split(separator: ",").compactMap { part in
            let numbers = part.split(separator: "/", omittingEmptySubsequences: false)
            guard numbers.count == 2, let group = Int32(numbers[0]), let category = Int32(numbers[1]) else { return nil }
            return CategoryRef(group: ClaimGroup(rawValue: group), category: Category(rawValue: category))
        }
    }
}

extension String {
    /// Foundation-free replacement of every occurrence of `target` (non-empty).
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
