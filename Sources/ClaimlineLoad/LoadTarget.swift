/// One claimlined instance the harness drives: `host:port`. A run may be given several (the
/// instances of one deployment); its connections are spread over them.
public struct LoadTarget: Sendable, Hashable, Codable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, an IPv6 host in brackets.
    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    /// `host:port` or `[v6]:port`; nil when there is no port, or it is not 1 to 65535.
    public init?(_ text: String) {
        let text = text.trimmingSpaces
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    /// `a:7400,b:7400`: every entry must parse, and there must be one.
    public static func list(_ text: String) throws(LoadConfigurationError) -> [LoadTarget] {
        var targets: [LoadTarget] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let target = LoadTarget(String(part)) else {
                throw LoadConfigurationError("--server: expected host:port or a comma-separated list of them, got '\(part)'")
            }
            targets.append(target)
        }
        return targets
    }
}

extension String {
    /// Spaces around list entries (`a:1, b:2`) are layout, not part of a host.
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
