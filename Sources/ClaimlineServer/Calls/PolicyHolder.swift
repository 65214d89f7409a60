import ClaimlinePolicy
import Synchronization

/// The policy in force, swapped whole on reload (SIGHUP) without stopping anything: the writer
/// reads it once per batch, so a batch never mixes two policies.
public final class PolicyHolder: Sendable {
    private let current: Mutex<Policy>

    public init(_ policy: Policy) {
        self.current = Mutex(policy)
    }

    public var policy: Policy { self.current.withLock { $0 } }

    public func replace(with policy: Policy) {
        self.current.withLock { $0 = policy }
    }
}
