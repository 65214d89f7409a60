import ClaimlineCore

/// Turns a parsed JSON document into a validated ``Policy``; the format is documented on ``Policy``.
///
/// Every check reports the first problem in file order, with its JSON path.
enum PolicyParser {
    static func policy(from root: JSONValue) throws(PolicyError) -> Policy {
        let fields = try JSONFields(root, at: "", allowed: ["name", "version", "escalate", "routing"])
        let name = try nonEmptyString(fields.required("name"), at: fields.path("name"))
        let version = try nonEmptyString(fields.required("version"), at: fields.path("version"))
        let rules = try escalate(fields.required("escalate"), at: fields.path("escalate"))
        let routing = try routingTable(fields.required("routing"), at: fields.path("routing"))
        return Policy(name: name, version: version, guarded: rules.dropLast(), catchAll: rules[rules.count - 1], routingTable: routing)
    }

    /// The rules in order; never empty, and only the last is a catch-all.
    static func escalate(_ value: JSONValue, at path: String) throws(PolicyError) -> [EscalationRule] {
        let items = try value.array(at: path)
        guard !items.isEmpty else { throw PolicyError(path: path, message: "must list at least one rule") }
        var rules: [EscalationRule] = []
        var firstIndex: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            let rule = try rule(item, at: itemPath)
            if let first = firstIndex[rule.name] {
                throw PolicyError(path: "\(itemPath).rule", message: "duplicate rule name '\(rule.name)' (also \(path)[\(first)])")
            }
            if let previous = rules.last, previous.condition.isCatchAll {
                throw PolicyError(
                    path: itemPath,
                    message: "unreachable: rule '\(previous.name)' before it has when {} and matches every contact"
                )
            }
            firstIndex[rule.name] = index
            rules.append(rule)
        }
        if let last = rules.last, !last.condition.isCatchAll {
            throw PolicyError(
                path: "\(path)[\(rules.count - 1)].when",
                message: "the last rule must be a catch-all (when {}) so that every contact gets an outcome"
            )
        }
        return rules
    }

    static func rule(_ value: JSONValue, at path: String) throws(PolicyError) -> EscalationRule {
        let fields = try JSONFields(value, at: path, allowed: ["rule", "when", "decision"])
        let name = try nonEmptyString(fields.required("rule"), at: fields.path("rule"))
        let condition = try condition(fields.required("when"), at: fields.path("when"))
        let decisionPath = fields.path("decision")
        let decisionName = try fields.required("decision").string(at: decisionPath)
        guard let decision = decision(named: decisionName) else {
            throw PolicyError(
                path: decisionPath,
                message: "unknown decision '\(decisionName)'; expected one of: \(decisionNames.joined(separator: ", "))"
            )
        }
        if decision == .followIncidentPlaybook, condition.incident != true {
            throw PolicyError(
                path: fields.path("when"),
                message: "a FOLLOW_INCIDENT_PLAYBOOK rule must require \"incident\": true (there is no playbook otherwise)"
            )
        }
        return EscalationRule(name: name, condition: condition, decision: decision)
    }

    static func condition(_ value: JSONValue, at path: String) throws(PolicyError) -> RuleCondition {
        let fields = try JSONFields(
            value, at: path,
            allowed: ["incident", "groups", "categories", "value_tiers", "second_line_modes", "regions"]
        )
        var condition = RuleCondition()
        if let value = fields["incident"] {
            condition.incident = try value.bool(at: fields.path("incident"))
        }
        if let value = fields["groups"] {
            condition.groups = try list(value, at: fields.path("groups")) { (item, path) throws(PolicyError) in
                let key = try item.string(at: path)
                guard let group = Taxonomy.group(key: key) else { throw unknownGroup(key, at: path) }
                return group
            }
        }
        if let value = fields["categories"] {
            condition.categories = try list(value, at: fields.path("categories")) { (item, path) throws(PolicyError) in
                try categoryRef(item.string(at: path), at: path, allowBareGroup: true)
            }
        }
        if let value = fields["value_tiers"] {
            condition.valueTiers = try list(value, at: fields.path("value_tiers")) { (item, path) throws(PolicyError) in
                let number = try item.integer(at: path)
                guard (1...4).contains(number) else {
                    throw PolicyError(path: path, message: "value tier \(number) is outside 1...4")
                }
                return ValueTier(rawValue: Int32(number))
            }
        }
        if let value = fields["second_line_modes"] {
            condition.secondLineModes = try list(value, at: fields.path("second_line_modes")) { (item, path) throws(PolicyError) in
                let name = try item.string(at: path)
                guard let mode = secondLineMode(named: name) else {
                    throw PolicyError(
                        path: path,
                        message: "unknown second-line mode '\(name)'; expected one of: \(modeNames.joined(separator: ", "))"
                    )
                }
                return mode
            }
        }
        if let value = fields["regions"] {
            condition.regions = try list(value, at: fields.path("regions")) { (item, path) throws(PolicyError) in
                try nonEmptyString(item, at: path)
            }
        }
        return condition
    }

    /// A non-empty list: `[]` in a condition could only mean "never", which is surely a mistake.
    static func list<Element>(
        _ value: JSONValue, at path: String, _ element: (JSONValue, String) throws(PolicyError) -> Element
    ) throws(PolicyError) -> [Element] {
        let items = try value.array(at: path)
        guard !items.isEmpty else {
            throw PolicyError(path: path, message: "must not be empty; leave the key out to match every contact")
        }
        var result: [Element] = []
        for (index, item) in items.enumerated() {
            result.append(try element(item, "\(path)[\(index)]"))
        }
        return result
    }

    /// `group/category` with the category in that group (per DOMAIN.md's taxonomy), or a bare group.
    static func categoryRef(_ key: String, at path: String, allowBareGroup: Bool) throws(PolicyError) -> CategoryRef {
        let parts = key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard Taxonomy.group(key: parts[0]) != nil else { throw unknownGroup(parts[0], at: path) }
        guard parts.count == 2 else {
            guard allowBareGroup else {
                throw PolicyError(path: path, message: "expected 'group/category'; put whole-group entries under routing.groups")
            }
            return Taxonomy.ref(key: key)!  // a bare known group always parses
        }
        guard let ref = Taxonomy.ref(key: key) else {
            throw PolicyError(path: path, message: "unknown category '\(parts[1])'")
        }
        guard Taxonomy.isValid(ref) else {
            let valid = Taxonomy.categories[ref.group, default: []].map(Taxonomy.categoryKey)
            throw PolicyError(
                path: path,
                message: "category '\(parts[1])' is not in group '\(parts[0])'; expected one of: \(valid.joined(separator: ", "))"
            )
        }
        return ref
    }

    static func nonEmptyString(_ value: JSONValue, at path: String) throws(PolicyError) -> String {
        let text = try value.string(at: path)
        guard !text.isEmpty else { throw PolicyError(path: path, message: "must not be empty") }
        return text
    }

    static func unknownGroup(_ key: String, at path: String) -> PolicyError {
        let valid = Taxonomy.categories.keys.map(Taxonomy.groupKey).sorted()
        return PolicyError(path: path, message: "unknown group '\(key)'; expected one of: \(valid.joined(separator: ", "))")
    }
}
