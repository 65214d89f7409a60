import ClaimlineCore
import ClaimlineWire

/// A call that ended on this side without the server's answer, with the PROTOCOL.md 8.1
/// outcome that says what happened to it (never written, lost after it was written, no answer
/// within its timeout). The connection fails its waiters with it so that the pool decides on
/// the outcome, not on the text of a reason; ``ClaimlineConnection``'s public calls throw the
/// `error` alone.
struct ClientFailure: Error {
    var outcome: FailoverOutcome
    var error: RPCError

    init(_ outcome: FailoverOutcome, _ error: RPCError) {
        self.outcome = outcome
        self.error = error
    }
}
