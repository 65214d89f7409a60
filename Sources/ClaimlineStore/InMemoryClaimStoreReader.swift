import ClaimlineCore

/// The read side of ``InMemoryStoreBackend``: every call reads the committed state under the
/// lock, so it never sees a batch that has not committed.
public final class InMemoryClaimStoreReader: ClaimStoreReader {
    private var backend: InMemoryStoreBackend?

    init(backend: InMemoryStoreBackend) {
        self.backend = backend
    }

    private func state(_ operation: String) throws(StoreError) -> InMemoryStoreState {
        guard let backend = self.backend else { throw StoreError(operation, "reader is closed") }
        return backend.committed()
    }

    public func claim(number: String) throws(StoreError) -> Claim? {
        try self.state("claim").claims[number]
    }

    public func listClaims(_ query: ClaimQuery) throws(StoreError) -> ClaimPage {
        try self.state("listClaims").listClaims(query)
    }

    public func contactSession(callID: String) throws(StoreError) -> ContactSession? {
        try self.state("contactSession").contactSessions[callID]
    }

    public func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident] {
        try self.state("incidents").incidents(includeWithdrawn: includeWithdrawn)
    }

    public func secondLineMode() throws(StoreError) -> SecondLineModeRecord? {
        try self.state("secondLineMode").secondLineMode
    }

    public func stats(fromMs: Int64, toMs: Int64) throws(StoreError) -> ClaimStats {
        try self.state("stats").stats(fromMs: fromMs, toMs: toMs)
    }

    public func probe() throws(StoreError) {
        guard self.backend != nil else { throw StoreError("probe", "reader is closed") }
    }

    public func close() {
        self.backend = nil
    }
}

@available(*, unavailable)
extension InMemoryClaimStoreReader: Sendable {}
