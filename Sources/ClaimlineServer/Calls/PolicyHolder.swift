import ClaimlinePolicy
import Synchronization

/// The policy in force, swapped whole on reload (SIGHUP) without stopping anything: the writer
/// reads it once per batch, so a batch never mixes two policies.
public final class PolicyHolder: Sendable {
    private let current: Mutex<Policy>
    /// Loads the policy file again (ReloadPolicy, SIGHUP); nil when the policy has no file
    /// (tests): a reload then fails, keeping the policy.
    public let load: (@Sendable () throws -> Policy)?

    public init(_ policy: Policy, load: (@Sendable () throws -> Policy)? = nil) {
        self.current = Mutex(policy)
        self.load = load
    }

    public var policy: Policy { self.current.withLock { $0 } }

    public func replace(with policy: Policy) {
        self.current.withLock { $0 = policy }
    }
}
