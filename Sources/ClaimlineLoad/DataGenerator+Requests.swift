import ClaimlineCore

extension DataGenerator {
    public mutating func escalateRequest(_ plan: ContactPlan) -> EscalateRequest {
        EscalateRequest(
            idempotencyKey: self.idempotencyKey(), callId: plan.callId, subscriber: plan.subscriber,
            category: plan.category, agentId: plan.agentId, placeId: plan.placeId
        )
    }

    public mutating func retainRequest(_ plan: ContactPlan) -> RetainRequest {
        RetainRequest(
            idempotencyKey: self.idempotencyKey(), callId: plan.callId, outcome: plan.retainOutcome,
            failureReason: plan.failureReason, agentId: plan.agentId
        )
    }

    /// The claim for a contact: after a failed retention it carries the failure reason.
    public mutating func fileComplaintRequest(_ plan: ContactPlan) -> FileComplaintRequest {
        FileComplaintRequest(
            idempotencyKey: self.idempotencyKey(), callId: plan.callId, category: plan.category,
            subscriber: plan.subscriber, placeId: plan.placeId, description: self.description(for: plan),
            failureReason: plan.retainOutcome == .impossible && !plan.direct ? plan.failureReason : .unspecified,
            agentId: plan.agentId
        )
    }
}
