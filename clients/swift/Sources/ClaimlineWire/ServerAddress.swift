/// One claimlined instance: `host:port`. Several instances share one database, so a client
/// (`ClaimlineAddress` in ClaimlineClient) or the load harness (`LoadTarget`) is given a list of
/// them and moves between them when one fails; both parse and print addresses here, the same way.
public struct ServerAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 host in brackets (`[::1]:7400`), as the CLI takes it.
    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    /// `host:port` or `[v6]:port`; nil when there is no port, or it is not 1 to 65535.
    public init?(_ text: String) {
        let text = text.trimmingWhitespace
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(",") else { return nil }
        self.init(host: host, port: port)
    }

    /// A comma-separated list, `a:7400,b:7400`: every entry must parse, and there must be one.
    /// Throws naming the first entry that does not.
    public static func list(_ text: String) throws(ParseError) -> [ServerAddress] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace }
        guard parts.contains(where: { !$0.isEmpty }) else { throw ParseError(entry: text) }
        var addresses: [ServerAddress] = []
        for part in parts {
            guard let address = ServerAddress(part) else { throw ParseError(entry: part) }
            addresses.append(address)
        }
        return addresses
    }

    /// An entry of an address list that is not `host:port`.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// The entry at fault, as given.
        public var entry: String

        public var description: String { "expected host:port, got '\(self.entry)'" }
    }
}

extension String {
    /// Spaces around list entries (`a:1, b:2`) are the user's layout, not part of a host.
    fileprivate var trimmingWhitespace: String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
