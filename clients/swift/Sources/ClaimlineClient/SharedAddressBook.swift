import ClaimlineWire
import Synchronization

/// The client's ``AddressBook`` (PROTOCOL.md 8.1: the current address, which are suspect and
/// until when), shared by every call of the client under one lock, with the addresses it
/// counts and, for diagnostics, which one answered last. Calls take the lock twice per
/// attempt (to plan it and to record its outcome): a few uncontended nanoseconds, never
/// across I/O.
final class SharedAddressBook: Sendable {
    let addresses: [ClaimlineAddress]
    private let book: Mutex<AddressBook>
    /// The address of the last successful answer; -1 before the first. Written only when it
    /// changes: every call passes here.
    private let lastServedIndex = Atomic<Int>(-1)

    init(addresses: [ClaimlineAddress], settings: FailoverSettings) {
        precondition(!addresses.isEmpty)
        self.addresses = addresses
        self.book = Mutex(AddressBook(count: addresses.count, settings: settings))
    }

    var count: Int { self.addresses.count }

    func withLock<Result>(_ body: (inout AddressBook) -> Result) -> Result {
        self.book.withLock { body(&$0) }
    }

    /// `index` answered a call.
    func served(_ index: Int) {
        if self.lastServedIndex.load(ordering: .relaxed) != index { self.lastServedIndex.store(index, ordering: .relaxed) }
    }

    var diagnostics: ClaimlineClientDiagnostics {
        let (current, failovers) = self.book.withLock { ($0.current, $0.failovers) }
        let served = self.lastServedIndex.load(ordering: .relaxed)
        return ClaimlineClientDiagnostics(
            addresses: self.addresses,
            currentAddress: self.addresses[current],
            lastServedAddress: served >= 0 ? self.addresses[served] : nil,
            failovers: failovers
        )
    }
}
