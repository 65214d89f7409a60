import Synchronization

/// Whether a connection still takes calls, readable from any thread without a lock, and why
/// it stopped: the pool makes a new connection to the same address when it finds this one
/// unusable (PROTOCOL.md 8.1 decides from the calls' outcomes, not from here, whether the
/// address is suspect).
public final class ConnectionHealth: Sendable {
    private let usable = Atomic<Bool>(true)
    private let reason = Mutex<String?>(nil)

    public init() {}

    public var isUsable: Bool { self.usable.load(ordering: .relaxed) }

    /// The first reason the connection stopped taking calls (a GOAWAY's reason, or the
    /// client's: CONNECTION_CLOSED, CONNECTION_ERROR, ...); nil while usable.
    public var endReason: String? { self.reason.withLock { $0 } }

    func markUnusable(reason: String) {
        self.reason.withLock { if $0 == nil { $0 = reason } }
        self.usable.store(false, ordering: .relaxed)
    }
}
