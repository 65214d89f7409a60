import ClaimlineCore
import Synchronization

/// A store that lives in the process, for unit tests of the service: the same semantics as the
/// SQLite store (batches, rollback, readers seeing only committed data, ordering, statistics,
/// duplicate keys refused) without a file.
///
/// Every writer and reader opened from one backend shares its committed state; copies of the
/// backend share it too (it is a reference). Like SQLite's write lock, only one writer can
/// have a batch open at a time: a second `begin()` elsewhere fails as "database is locked".
public final class InMemoryStoreBackend: ClaimStoreBackend {
    public let name: String

    /// The committed state, and whether a writer holds the batch lock.
    let shared = Mutex(Shared())

    struct Shared: Sendable {
        var state = InMemoryStoreState()
        var batchOpen = false
    }

    public init(name: String = "memory") {
        self.name = name
    }

    public func openWriter() throws(StoreError) -> any ClaimStore {
        InMemoryClaimStore(backend: self)
    }

    public func openReader() throws(StoreError) -> any ClaimStoreReader {
        InMemoryClaimStoreReader(backend: self)
    }

    /// The committed audit trail, oldest first: what tests check an action left behind.
    public func auditRecords() -> [AuditRecord] {
        self.shared.withLock { $0.state.audit }
    }

    /// The committed state now (a copy).
    func committed() -> InMemoryStoreState {
        self.shared.withLock { $0.state }
    }
}
