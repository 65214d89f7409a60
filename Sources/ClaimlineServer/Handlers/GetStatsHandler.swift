import ClaimlineCore
import ClaimlineStore

/// GetStats: claims by group and category, retention outcomes, escalations by decision and rule.
enum GetStatsHandler: ReadMethodHandler {
    static func validate(_ request: GetStatsRequest) -> [FieldViolation] {
        request.toMs != 0 && request.toMs <= request.fromMs ? [FieldViolation(field: "to_ms", description: "must be after from_ms")] : []
    }

    static func read(_ request: GetStatsRequest, _ ctx: ReadContext) throws -> GetStatsResponse {
        try ctx.reader.stats(fromMs: request.fromMs, toMs: request.toMs).response
    }
}
