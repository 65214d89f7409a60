import ClaimlineCore

/// The second line's mode as the store keeps it: what it is, since when, who set it, why.
public struct SecondLineModeRecord: Hashable, Sendable {
    public var mode: SecondLineMode
    public var changedAtMs: Int64
    public var changedBy: String
    public var reason: String

    public init(mode: SecondLineMode, changedAtMs: Int64 = 0, changedBy: String = "", reason: String = "") {
        self.mode = mode
        self.changedAtMs = changedAtMs
        self.changedBy = changedBy
        self.reason = reason
    }

    /// The mode before anyone set one.
    public static let initial = SecondLineModeRecord(mode: .normal)
}
