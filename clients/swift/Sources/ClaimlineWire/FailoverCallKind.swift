/// What a call may send again after an attempt whose outcome is unknown (PROTOCOL.md 8.1).
public enum FailoverCallKind: String, Sendable, CaseIterable {
    /// Applies nothing: sent again after any failure, and never reported OUTCOME_UNKNOWN.
    case read
    /// A write with its idempotency key: every attempt sends the same bytes, so a retry after
    /// an unknown outcome gets the first answer if the first attempt was applied.
    case write
    /// A write without a key: sent again only when it was certainly not applied.
    case keylessWrite = "keyless_write"

    /// Whether an attempt that ended with `outcome` may be followed by another.
    public func retries(after outcome: FailoverOutcome) -> Bool {
        self != .keylessWrite || !outcome.mayHaveApplied
    }
}
