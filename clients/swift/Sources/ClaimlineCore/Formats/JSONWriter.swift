/// A message that can print itself as JSON, following protobuf's proto3 JSON mapping
/// (lowerCamelCase names, enums by name, 64-bit integers as strings, defaults left out), so
/// the CLI's `--json` output reads like any other protobuf tool's.
public protocol JSONWritable {
    func writeJSON(to out: inout JSONWriter)
}

extension JSONWritable {
    public var json: String {
        var writer = JSONWriter()
        self.writeJSON(to: &writer)
        return writer.output
    }
}

/// Builds compact JSON. Generated `writeJSON` methods drive it.
public struct JSONWriter: Sendable {
    public private(set) var output = ""
    private var needsComma = false

    public init() {}

    public mutating func beginObject() {
        self.output += "{"
        self.needsComma = false
    }

    public mutating func endObject() {
        self.output += "}"
        self.needsComma = true
    }

    public mutating func string(_ name: String, _ value: String) {
        guard !value.isEmpty else { return }
        self.key(name)
        self.output += Self.quoted(value)
    }

    public mutating func strings(_ name: String, _ values: [String]) {
        self.array(name, values) { $0.output += Self.quoted($1) }
    }

    /// 32-bit integers are JSON numbers.
    public mutating func integer<T: BinaryInteger>(_ name: String, _ value: T) {
        guard value != 0 else { return }
        self.key(name)
        self.output += "\(value)"
    }

    /// 64-bit integers are JSON strings: JavaScript numbers cannot hold them exactly.
    public mutating func integer64<T: BinaryInteger>(_ name: String, _ value: T) {
        guard value != 0 else { return }
        self.key(name)
        self.output += "\"\(value)\""
    }

    public mutating func bool(_ name: String, _ value: Bool) {
        guard value else { return }
        self.key(name)
        self.output += "true"
    }

    public mutating func enumValue<E: ProtoEnum>(_ name: String, _ value: E) {
        guard value.rawValue != 0 else { return }
        self.key(name)
        self.output += Self.quoted(value.protoName)
    }

    public mutating func enumValues<E: ProtoEnum>(_ name: String, _ values: [E]) {
        self.array(name, values) { $0.output += Self.quoted($1.protoName) }
    }

    public mutating func message(_ name: String, _ value: (some JSONWritable)?) {
        guard let value else { return }
        self.key(name)
        value.writeJSON(to: &self)
    }

    public mutating func messages<M: JSONWritable>(_ name: String, _ values: [M]) {
        self.array(name, values) { $1.writeJSON(to: &$0) }
    }

    private mutating func array<T>(_ name: String, _ values: [T], _ element: (inout JSONWriter, T) -> Void) {
        guard !values.isEmpty else { return }
        self.key(name)
        self.output += "["
        for (index, value) in values.enumerated() {
            if index > 0 { self.output += "," }
            self.needsComma = false
            element(&self, value)
        }
        self.output += "]"
        self.needsComma = true
    }

    private mutating func key(_ name: String) {
        if self.needsComma { self.output += "," }
        self.output += "\"\(name)\":"
        self.needsComma = true
    }

    /// `value` as a JSON string literal, quotes included.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
