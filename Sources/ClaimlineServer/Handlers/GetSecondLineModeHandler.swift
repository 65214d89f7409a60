import ClaimlineCore
import ClaimlineStore

/// GetSecondLineMode: the mode in force (NORMAL if never set).
enum GetSecondLineModeHandler: ReadMethodHandler {
    static func read(_ request: GetSecondLineModeRequest, _ ctx: ReadContext) throws -> SecondLineModeResponse {
        (try ctx.reader.secondLineMode() ?? .initial).response
    }
}
