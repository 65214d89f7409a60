/// The legal moves of a contact (DOMAIN.md, "The default policy"), as pure checks.
///
///     (none) --escalate--> FOLLOWING_PLAYBOOK | CLAIM_REQUIRED | FIRST_LINE_CONSULTATION | WITH_SECOND_LINE
///     WITH_SECOND_LINE --retain--> RETAINED | DECLINED | CLAIM_REQUIRED (impossible, with a reason)
///     CLAIM_REQUIRED | FOLLOWING_PLAYBOOK --file--> CLAIM_FILED
///     (none) --file a quality-of-service claim directly--> CLAIM_FILED
///
/// Anything else is FAILED_PRECONDITION naming where the contact stands, so the agent's
/// desktop can show it. Retries of a call that already succeeded never get here: the
/// idempotency key answers them first.
extension ContactSession {
    /// Escalate opens the contact; a call already on its way cannot be escalated again.
    public static func checkEscalate(existing: ContactSession?) throws(RPCError) {
        if let existing {
            throw Self.outOfOrder("escalate", "the contact was already escalated", existing.state)
        }
    }

    /// The state after the second line's report, or why it cannot be reported now.
    public func afterRetain(_ outcome: RetentionOutcome, reason: RetentionFailureReason) throws(RPCError) -> ContactState {
        guard self.state == .withSecondLine else {
            throw Self.outOfOrder("retain", "retain needs the contact with the second line", self.state)
        }
        switch outcome {
        case .retained: return .retained
        case .declined: return .declined
        case .impossible:
            switch reason {
            case .laboriousRecalculation, .longReview, .causeUnknown, .exceedsAuthority: return .claimRequired
            case .unspecified, .unrecognized:
                throw RPCError.invalidArgument(field: "failure_reason", "required when the outcome is IMPOSSIBLE")
            }
        case .unspecified, .unrecognized:
            throw RPCError.invalidArgument(field: "outcome", "must be RETAINED, DECLINED or IMPOSSIBLE")
        }
    }

    /// Whether a claim may be filed for this call now. `existing` is nil when the call was
    /// never escalated: only a quality-of-service claim may be filed directly.
    public static func checkFile(existing: ContactSession?, category: CategoryRef) throws(RPCError) {
        guard let existing else {
            if Taxonomy.requiresPlace(category.group) { return }
            throw RPCError(
                .failedPrecondition,
                "only a quality-of-service claim (shop, contact_centre, dealer) may be filed without escalating first",
                currentState: ContactState.unspecified.protoName,
                reason: Reason.contactState
            )
        }
        switch existing.state {
        case .claimRequired, .followingPlaybook: return
        default: throw Self.outOfOrder("file", "a claim is not required for this contact", existing.state)
        }
    }

    static func outOfOrder(_ call: String, _ why: String, _ state: ContactState) -> RPCError {
        RPCError(
            .failedPrecondition,
            "\(call): \(why); the contact is \(state.protoName)",
            currentState: state.protoName,
            reason: Reason.contactState
        )
    }
}
