/// Why a message could not be encoded or decoded.
///
/// The codec never crashes on bad input and never truncates silently: whatever libprotobuf-c
/// would accept but a Swift `String` cannot faithfully hold (invalid UTF-8, an embedded NUL
/// that C would cut the string at) is an error naming the field, so the server can answer
/// INVALID_ARGUMENT with that field.
public struct CodecError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// libprotobuf-c refused the bytes: truncated, a bad tag or wire type, a length past the end.
        case malformed
        /// A string field's bytes are not valid UTF-8.
        case invalidUTF8
        /// A string field holds U+0000, which C strings cannot carry.
        case embeddedNUL
        /// The arena could not get memory.
        case outOfMemory
    }

    public var kind: Kind
    /// The full protobuf name of the outermost message, e.g. `claimline.v1.FileComplaintRequest`.
    public var messageName: String
    /// The dotted path of the offending field, e.g. `subscriber.msisdn` or `categories[2].group`;
    /// empty when the whole message is at fault.
    public var field: String

    public init(_ kind: Kind, messageName: String = "", field: String = "") {
        self.kind = kind
        self.messageName = messageName
        self.field = field
    }

    public var description: String {
        let what =
            switch self.kind {
            case .malformed: "malformed protobuf"
            case .invalidUTF8: "invalid UTF-8"
            case .embeddedNUL: "embedded NUL character"
            case .outOfMemory: "out of memory"
            }
        let place = self.field.isEmpty ? "" : " in field '\(self.field)'"
        let message = self.messageName.isEmpty ? "" : " of \(self.messageName)"
        return what + place + message
    }

    /// The same error seen from the message that holds `field`: its path gets `field` in front.
    func nested(in field: StaticString, index: Int? = nil) -> CodecError {
        var copy = self
        let head = index.map { "\(field)[\($0)]" } ?? "\(field)"
        copy.field = copy.field.isEmpty ? head : head + "." + copy.field
        return copy
    }
}
