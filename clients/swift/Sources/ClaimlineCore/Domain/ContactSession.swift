/// One call's path through the process, identified by the call id the CTI already has.
///
/// It is what lets Retain and FileComplaint be checked against what Escalate decided, and
/// what pre-fills a claim: the server keeps it in the store so a restart loses none, and
/// forgets it at `expiresAtMs`.
public struct ContactSession: Hashable, Sendable {
    public var callID: String
    public var state: ContactState
    public var subscriber: Subscriber
    public var category: CategoryRef
    public var placeID: String
    public var decision: EscalateDecision
    /// The policy rule that made the escalate decision (audited).
    public var rule: String
    public var incidentID: String
    public var failureReason: RetentionFailureReason
    public var claimNumber: String
    public var firstLineAgent: String
    public var secondLineAgent: String
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    public var expiresAtMs: Int64

    public init(
        callID: String,
        state: ContactState,
        subscriber: Subscriber = Subscriber(),
        category: CategoryRef = CategoryRef(),
        placeID: String = "",
        decision: EscalateDecision = .unspecified,
        rule: String = "",
        incidentID: String = "",
        failureReason: RetentionFailureReason = .unspecified,
        claimNumber: String = "",
        firstLineAgent: String = "",
        secondLineAgent: String = "",
        createdAtMs: Int64,
        updatedAtMs: Int64,
        expiresAtMs: Int64
    ) {
        self.callID = callID
        self.state = state
        self.subscriber = subscriber
        self.category = category
        self.placeID = placeID
        self.decision = decision
        self.rule = rule
        self.incidentID = incidentID
        self.failureReason = failureReason
        self.claimNumber = claimNumber
        self.firstLineAgent = firstLineAgent
        self.secondLineAgent = secondLineAgent
        self.createdAtMs = createdAtMs
        self.updatedAtMs = updatedAtMs
        self.expiresAtMs = expiresAtMs
    }

    /// The state a decision leaves the contact in.
    public static func state(after decision: EscalateDecision) -> ContactState {
        switch decision {
        case .followIncidentPlaybook: .followingPlaybook
        case .fileClaim: .claimRequired
        case .firstLineConsultation: .firstLineConsultation
        case .transferToSecondLine: .withSecondLine
        case .unspecified, .unrecognized: .unspecified
        }
    }
}
