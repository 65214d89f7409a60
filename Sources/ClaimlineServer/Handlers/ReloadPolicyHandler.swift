import ClaimlineCore
import ClaimlinePolicy

/// ReloadPolicy: an admin loads the policy file again without shell access. The file is read
/// and checked here, in the writer's batch; the new policy replaces the old once the batch
/// (with its audit record) is durable, so the writes after this answer decide on it. A file
/// that does not load keeps the policy in force and fails FAILED_PRECONDITION POLICY_INVALID;
/// both are audited.
enum ReloadPolicyHandler: WriteMethodHandler {
    static func validate(_ request: ReloadPolicyRequest) -> [FieldViolation] { Validation.reloadPolicy(request) }

    static func footprint(_ request: ReloadPolicyRequest) -> WriteFootprint { WriteFootprint(locks: ["policy"]) }

    static func apply(_ request: ReloadPolicyRequest, _ ctx: WriteContext) throws -> WriteOutcome<ReloadPolicyResponse> {
        guard let load = ctx.policies.load else {
            throw RPCError(.failedPrecondition, "this server's policy has no file to reload", reason: Reason.policyInvalid)
        }
        let policy: Policy
        do {
            policy = try load()
        } catch {
            // A refused reload is audited too (who tried, which policy stayed, why): the record
            // commits with the batch; the call fails and keeps no idempotency key.
            try ctx.store.appendAudit(
                ctx.audit(
                    .reloadPolicy, outcome: "refused", reason: Reason.policyInvalid,
                    detail: "kept=\(ctx.policy.name)@\(ctx.policy.version) error=\(LogSafe.escape("\(error)", maxScalars: 200))"
                )
            )
            throw RPCError(
                .failedPrecondition, "the policy file does not load; the policy in force stays: \(error)", reason: Reason.policyInvalid
            )
        }
        let previous = ctx.policy
        let holder = ctx.policies
        return WriteOutcome(
            response: ReloadPolicyResponse(
                policyName: policy.name, policyVersion: policy.version, rules: UInt32(policy.rules.count),
                previousPolicyName: previous.name, previousPolicyVersion: previous.version
            ),
            audit: ctx.audit(
                .reloadPolicy, outcome: "\(policy.name)@\(policy.version)", detail: "from=\(previous.name)@\(previous.version)"
            ),
            afterCommit: { holder.replace(with: policy) }
        )
    }
}
