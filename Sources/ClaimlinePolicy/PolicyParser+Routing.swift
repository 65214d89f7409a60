import ClaimlineCore

extension PolicyParser {
    static func routingTable(_ value: JSONValue, at path: String) throws(PolicyError) -> RoutingTable {
        let fields = try JSONFields(value, at: path, allowed: ["default", "groups", "categories"])
        let fallback = try routing(fields.required("default"), at: fields.path("default"))
        var groups: [ClaimGroup: ClaimRouting] = [:]
        if let value = fields["groups"] {
            for member in try value.object(at: fields.path("groups")) {
                let memberPath = JSONFields.child(fields.path("groups"), member.key)
                guard let group = Taxonomy.group(key: member.key) else { throw unknownGroup(member.key, at: memberPath) }
                groups[group] = try routing(member.value, at: memberPath)
            }
        }
        var categories: [CategoryRef: ClaimRouting] = [:]
        if let value = fields["categories"] {
            for member in try value.object(at: fields.path("categories")) {
                let memberPath = JSONFields.child(fields.path("categories"), member.key)
                let ref = try categoryRef(member.key, at: memberPath, allowBareGroup: false)
                categories[ref] = try routing(member.value, at: memberPath)
            }
        }
        return RoutingTable(fallback: fallback, groups: groups, categories: categories)
    }

    /// One department and due time; exactly one of `due_hours` / `due_minutes`, so there is no
    /// question of which wins.
    static func routing(_ value: JSONValue, at path: String) throws(PolicyError) -> ClaimRouting {
        let fields = try JSONFields(value, at: path, allowed: ["department", "due_hours", "due_minutes"])
        let department = try nonEmptyString(fields.required("department"), at: fields.path("department"))
        let due: (key: String, value: JSONValue, unitMs: Int64)
        switch (fields["due_hours"], fields["due_minutes"]) {
        case (let hours?, nil): due = ("due_hours", hours, 3_600_000)
        case (nil, let minutes?): due = ("due_minutes", minutes, 60_000)
        case (nil, nil): throw PolicyError(path: path, message: "missing due time: give due_hours or due_minutes")
        case (.some, .some): throw PolicyError(path: path, message: "give only one of due_hours and due_minutes")
        }
        let duePath = fields.path(due.key)
        let amount = try due.value.integer(at: duePath)
        guard amount > 0 else { throw PolicyError(path: duePath, message: "due time must be positive, found \(amount)") }
        let (ms, overflow) = amount.multipliedReportingOverflow(by: due.unitMs)
        guard !overflow else { throw PolicyError(path: duePath, message: "due time \(amount) is too large") }
        return ClaimRouting(department: department, dueAfterMs: ms)
    }
}
