/// Why a policy file was refused, and where.
///
/// A policy is operator-edited data that decides where complaints go, so a mistake must stop
/// the load with a message that points at the exact spot (`escalate[2].when.groups[0]`) rather
/// than quietly change behaviour.
public struct PolicyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The JSON path of the offending value, e.g. `routing.groups.shopp`; empty for the whole file.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? message : "\(path): \(message)"
    }
}
