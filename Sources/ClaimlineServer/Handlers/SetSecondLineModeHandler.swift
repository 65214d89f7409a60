import ClaimlineCore
import ClaimlineStore

/// SetSecondLineMode: supervisors switch the second line between normal, degraded and closed
/// without a restart; escalations decide on the new mode from the next batch on.
enum SetSecondLineModeHandler: WriteMethodHandler {
    static func validate(_ request: SetSecondLineModeRequest) -> [FieldViolation] { Validation.setSecondLineMode(request) }

    static func footprint(_ request: SetSecondLineModeRequest) -> WriteFootprint { WriteFootprint(locks: ["mode"]) }

    static func apply(_ request: SetSecondLineModeRequest, _ ctx: WriteContext) throws -> WriteOutcome<SecondLineModeResponse> {
        let previous = ctx.state.secondLineMode.mode
        let mode = SecondLineModeRecord(
            mode: request.mode,
            changedAtMs: ctx.nowMs,
            changedBy: ctx.call.identity.clientName,
            reason: request.reason
        )
        try ctx.store.setSecondLineMode(mode)
        ctx.state.secondLineMode = mode
        return WriteOutcome(
            response: mode.response,
            audit: ctx.audit(.setSecondLineMode, outcome: request.mode.protoName, detail: "from=\(previous.protoName)")
        )
    }
}
