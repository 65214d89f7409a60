import ClaimlineCore

/// One synthetic contact, drawn up front: who calls, about what, and how retention will end
/// if the server transfers it. The harness then walks it with ``ContactFlow``.
public struct ContactPlan: Sendable, Hashable {
    public var callId: String
    public var subscriber: Subscriber
    public var category: CategoryRef
    /// Set for QoS categories (the server requires it there), empty otherwise.
    public var placeId: String
    public var agentId: String
    /// A QoS claim filed without escalating first.
    public var direct: Bool
    /// What the second line will report if the contact reaches it.
    public var retainOutcome: RetentionOutcome
    /// Set when `retainOutcome` is IMPOSSIBLE.
    public var failureReason: RetentionFailureReason

    public init(
        callId: String, subscriber: Subscriber, category: CategoryRef, placeId: String, agentId: String,
        direct: Bool, retainOutcome: RetentionOutcome, failureReason: RetentionFailureReason
    ) {
        self.callId = callId
        self.subscriber = subscriber
        self.category = category
        self.placeId = placeId
        self.agentId = agentId
        self.direct = direct
        self.retainOutcome = retainOutcome
        self.failureReason = failureReason
    }
}

/// The order of calls in a whole contact (DOMAIN.md, "a contact's path"), as a pure function
/// of the last answer: no I/O, so the tests walk every branch.
public enum ContactFlow {
    /// The first call of a contact.
    public static func first(_ plan: ContactPlan) -> Method {
        plan.direct ? .fileComplaint : .escalate
    }

    /// The plan for the call after `method`: when Escalate decided to file a claim at once, no
    /// retention was attempted, so the claim carries no failure reason (the server refuses one
    /// the contact did not record).
    public static func plan(after method: Method, decision: EscalateDecision, plan: ContactPlan) -> ContactPlan {
        guard method == .escalate, decision == .fileClaim else { return plan }
        var next = plan
        next.retainOutcome = .unspecified
        next.failureReason = .unspecified
        return next
    }

    /// The call after a successful answer to `method`, or nil when the contact is over.
    /// `decision` is the Escalate answer's decision (ignored for other methods).
    public static func next(after method: Method, decision: EscalateDecision, plan: ContactPlan) -> Method? {
        switch method {
        case .escalate:
            switch decision {
            case .transferToSecondLine: return .retain
            case .fileClaim: return .fileComplaint
            default: return nil  // first-line consultation or an incident playbook: the call ends
            }
        case .retain:
            return plan.retainOutcome == .impossible ? .fileComplaint : nil
        default:
            return nil
        }
    }
}
