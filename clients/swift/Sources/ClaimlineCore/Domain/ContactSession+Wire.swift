/// A contact session as the protocol shows it (GetContact), and the claim draft it implies.
extension ContactSession {
    /// When the contact's state calls for a claim (CLAIM_REQUIRED, FOLLOWING_PLAYBOOK): the
    /// FileComplaint pre-filled from what the contact knows, for the agent to complete (a
    /// description, a fresh idempotency key). Nil in any other state.
    public func claimDraft(agentID: String) -> FileComplaintRequest? {
        guard self.state == .claimRequired || self.state == .followingPlaybook else { return nil }
        return FileComplaintRequest(
            callId: self.callID,
            category: self.category,
            subscriber: self.subscriber,
            placeId: self.placeID,
            failureReason: self.failureReason,
            incidentId: self.incidentID,
            agentId: agentID
        )
    }

    public var wire: Contact {
        Contact(
            callId: self.callID,
            state: self.state,
            subscriber: self.subscriber,
            category: self.category,
            placeId: self.placeID,
            decision: self.decision,
            rule: self.rule,
            incidentId: self.incidentID,
            failureReason: self.failureReason,
            claimNumber: self.claimNumber,
            firstLineAgentId: self.firstLineAgent,
            secondLineAgentId: self.secondLineAgent,
            createdAtMs: self.createdAtMs,
            updatedAtMs: self.updatedAtMs,
            expiresAtMs: self.expiresAtMs
        )
    }
}
