/// A message that can print itself in protobuf text format.
///
/// Text format is what `protoc --encode` reads: the golden vectors carry it so that protoc,
/// an encoder we did not write, can check our bytes, and people can read what a vector holds.
public protocol TextFormatWritable {
    func writeTextFormat(to out: inout TextFormatWriter)
}

extension TextFormatWritable {
    /// The message in protobuf text format, one field per line, zero values left out.
    public var textFormat: String {
        var writer = TextFormatWriter()
        self.writeTextFormat(to: &writer)
        return writer.output
    }
}

/// Builds protobuf text format. Generated `writeTextFormat` methods drive it.
public struct TextFormatWriter: Sendable {
    public private(set) var output = ""
    private var indent = ""

    public init() {}

    /// Proto3 leaves zero values off the wire; text format here does the same unless `always`.
    public mutating func string(_ name: String, _ value: String, always: Bool = false) {
        guard always || !value.isEmpty else { return }
        self.line("\(name): \"\(Self.escape(value))\"")
    }

    public mutating func integer<T: BinaryInteger>(_ name: String, _ value: T, always: Bool = false) {
        guard always || value != 0 else { return }
        self.line("\(name): \(value)")
    }

    public mutating func bool(_ name: String, _ value: Bool, always: Bool = false) {
        guard always || value else { return }
        self.line("\(name): \(value)")
    }

    public mutating func enumValue<E: ProtoEnum>(_ name: String, _ value: E, always: Bool = false) {
        guard always || value.rawValue != 0 else { return }
        self.line("\(name): \(value.protoName)")
    }

    public mutating func message(_ name: String, _ value: some TextFormatWritable) {
        self.line("\(name) {")
        self.indent += "  "
        value.writeTextFormat(to: &self)
        self.indent.removeLast(2)
        self.line("}")
    }

    private mutating func line(_ text: String) {
        self.output += self.indent + text + "\n"
    }

    /// C-style escapes for what text format cannot hold raw; other UTF-8 passes through,
    /// which protoc accepts.
    static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\" + String(scalar.value, radix: 8).leftPadded(to: 3)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// The generated enums' common face, for text format.
public protocol ProtoEnum {
    var rawValue: Int32 { get }
    var protoName: String { get }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }
}
