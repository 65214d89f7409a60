/// Who investigates a claim and how long they have: the part of a claim the policy decides.
public struct ClaimRouting: Sendable, Hashable {
    /// The department's display name (UTF-8, often Russian), read aloud and printed on the claim.
    public var department: String
    /// Due time is the filing time plus this; kept relative so the policy stays free of clocks.
    public var dueAfterMs: Int64

    public init(department: String, dueAfterMs: Int64) {
        self.department = department
        self.dueAfterMs = dueAfterMs
    }
}
