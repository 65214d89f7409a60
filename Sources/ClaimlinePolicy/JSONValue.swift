/// A JSON document as the policy file spells it.
///
/// Objects keep their members in file order so that validation reports the first problem an
/// operator would read, and integers are kept apart from other numbers because every number
/// in a policy (value tiers, due times) must be a whole one.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in `Int64`.
    case integer(Int64)
    /// Any other number, kept as written: the schema never accepts one, so it is only quoted back.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    struct Member: Equatable, Sendable {
        var key: String
        var value: JSONValue
    }

    /// The kind's name, for "expected …, found …" messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue {
    func string(at path: String) throws(PolicyError) -> String {
        guard case .string(let value) = self else { throw mismatch("a string", at: path) }
        return value
    }

    func bool(at path: String) throws(PolicyError) -> Bool {
        guard case .bool(let value) = self else { throw mismatch("a boolean", at: path) }
        return value
    }

    func integer(at path: String) throws(PolicyError) -> Int64 {
        switch self {
        case .integer(let value): return value
        case .number(let text): throw PolicyError(path: path, message: "expected a whole number, found \(text)")
        default: throw mismatch("a whole number", at: path)
        }
    }

    func array(at path: String) throws(PolicyError) -> [JSONValue] {
        guard case .array(let value) = self else { throw mismatch("an array", at: path) }
        return value
    }

    func object(at path: String) throws(PolicyError) -> [Member] {
        guard case .object(let value) = self else { throw mismatch("an object", at: path) }
        return value
    }

    private func mismatch(_ expected: String, at path: String) -> PolicyError {
        PolicyError(path: path, message: "expected \(expected), found \(kind)")
    }
}
