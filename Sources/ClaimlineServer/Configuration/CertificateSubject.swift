/// The subject of a verified TLS client certificate, as short attribute names and values
/// (`CN`, `O`, `OU`, `C`, ...), and the pattern a configured client matches it with.
///
/// Kept free of NIOSSL so the matching is plain data: the transport reads the certificate and
/// hands this over; the authenticator compares it with the configuration.
public struct CertificateSubject: Sendable, Hashable, CustomStringConvertible {
    /// In the certificate's order; an attribute may repeat (two OUs).
    public var attributes: [(name: String, value: String)]

    public init(attributes: [(name: String, value: String)]) {
        self.attributes = attributes
    }

    public var description: String {
        self.attributes.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.attributes.elementsEqual(b.attributes) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for attribute in self.attributes {
            hasher.combine(attribute.name)
            hasher.combine(attribute.value)
        }
    }

    /// `CN=ivr-gateway,O=Operator`: the attributes a certificate must carry, each with exactly
    /// that value (other attributes of the certificate do not matter). At least `CN`, so a
    /// pattern cannot match every certificate of an organisation by accident.
    public struct Pattern: Sendable, Hashable {
        public var required: [String: String]

        /// Nil when the text is not `NAME=value` pairs separated by commas, or has no `CN`.
        public init?(_ text: String) {
            var required: [String: String] = [:]
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2 else { return nil }
                let name = pair[0].trimmingSpaces.uppercased()
                let value = pair[1].trimmingSpaces
                guard !name.isEmpty, !value.isEmpty, name.allSatisfy({ $0.isLetter }), required[name] == nil else { return nil }
                required[name] = value
            }
            guard required["CN"] != nil else { return nil }
            self.required = required
        }

        public func matches(_ subject: CertificateSubject) -> Bool {
            self.required.allSatisfy { name, value in
                subject.attributes.contains { $0.name.uppercased() == name && $0.value == value }
            }
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
