/// An object's members checked against the keys a section allows, with the JSON path of each.
///
/// Refusing unknown keys up front is what turns a typo such as `"value_tier"` into an error
/// instead of a condition that is silently absent (and so always holds).
struct JSONFields {
    let path: String
    private let members: [JSONValue.Member]

    init(_ value: JSONValue, at path: String, allowed: [String]) throws(PolicyError) {
        let members = try value.object(at: path)
        for member in members where !allowed.contains(member.key) {
            throw PolicyError(
                path: Self.child(path, member.key),
                message: "unknown key '\(member.key)'; expected one of: \(allowed.joined(separator: ", "))"
            )
        }
        self.path = path
        self.members = members
    }

    var isEmpty: Bool { members.isEmpty }

    subscript(key: String) -> JSONValue? {
        members.first { $0.key == key }?.value
    }

    func required(_ key: String) throws(PolicyError) -> JSONValue {
        guard let value = self[key] else {
            throw PolicyError(path: path(key), message: "missing required key '\(key)'")
        }
        return value
    }

    func path(_ key: String) -> String {
        Self.child(path, key)
    }

    static func child(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}
