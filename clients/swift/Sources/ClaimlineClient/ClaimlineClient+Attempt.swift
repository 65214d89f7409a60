import ClaimlineCodec
import ClaimlineCore
import ClaimlineWire

/// One attempt of a call, as its ``CallPlan`` planned it, and the error a call ends with.
extension ClaimlineClient {
    /// A connection to the attempt's address (made within the attempt's time), the request
    /// with what is left of the attempt as its timeout, and the answer or the outcome that
    /// says what happened (PROTOCOL.md 8.1, "Outcomes"). Throws only the caller's
    /// cancellation.
    func attempt<Request: ProtobufCMessage, Response: ProtobufCMessage>(
        _ attempt: CallPlan.Attempt, _ method: Method, _ request: Request, as: Response.Type
    ) async throws -> Result<Response, ClientFailure> {
        let slot = self.slot(for: attempt.address)
        let connection: ClaimlineConnection
        do {
            connection = try await slot.lease(until: attempt.end)
        } catch let failure as ConnectionSlot.ConnectFailure {
            return .failure(ClientFailure(Self.connectOutcome(failure.error), failure.error))
        } catch let error as RPCError {
            return .failure(ClientFailure(.answer, error))  // the client is closed
        }
        let now = Self.now()
        // The connection took (nearly) the whole attempt: nothing is sent, and a timeout of 0
        // would mean "the server's ceiling".
        guard attempt.end > now, attempt.end - now >= 1_000_000 else {
            let error = RPCError(
                .unavailable, "cannot connect to \(slot.address) within the attempt's \(attempt.timeout / 1_000_000) ms",
                reason: ClientReason.connectFailed)
            return .failure(ClientFailure(.connectFailed, error))
        }
        do {
            let timeout = Duration.nanoseconds(Int64(clamping: attempt.end - now))
            return .success(try await connection.attempt(method, request, as: Response.self, timeout: timeout))
        } catch let failure as ClientFailure {
            return .failure(failure)
        } catch let error as RPCError {
            return .failure(ClientFailure(FailoverOutcome(errorCode: error.code, reason: error.reason), error))
        }
    }

    /// A connection that could not be made is `connect_failed`, a GOAWAY instead of HELLO_ACK
    /// included, but for the refusals no other attempt can fix (a bad token, a plain client on
    /// a TLS port, a version or client name the server does not take): those end the call with
    /// the server's own code, as an answer would, instead of spending its budget on them.
    static func connectOutcome(_ error: RPCError) -> FailoverOutcome {
        switch error.reason {
        case Reason.unauthenticated, Reason.tlsRequired, Reason.unsupportedVersion, Reason.invalidClientName: return .answer
        default: return error.code == .invalidArgument ? .answer : .connectFailed
        }
    }

    /// The error a call ends with, by the rules of PROTOCOL.md 8.1 ("The final error tells the
    /// truth"): the planner's code and reason, with the message of the attempt that decided.
    func finalError(_ step: CallPlan.Step, plan: CallPlan, last: RPCError?, method: Method, budget: Duration) -> RPCError {
        guard case .failed(let code, let reason) = step else {
            return last ?? RPCError(.internal, "\(method.name): the call ended without an answer")
        }
        switch reason {
        case Reason.outcomeUnknown where last?.reason != Reason.outcomeUnknown:
            let why =
                plan.kind == .keylessWrite
                ? "not retried: a write without an idempotency key may have been applied"
                : "may have been applied: retry with the same idempotency key"
            return RPCError(code, "\(method.name) \(why); last: \(last?.message ?? "no answer")", reason: reason)
        case ClientReason.connectFailed where self.book.count > 1 && plan.onlyConnectFailures:
            let list = self.book.addresses.map(\.description).joined(separator: ", ")
            return RPCError(code, "no instance reachable (\(list)); last: \(last?.message ?? "")", reason: reason)
        default:
            guard var error = last else {
                return RPCError(code, "\(method.name): no answer within \(budget)", reason: reason)
            }
            error.code = code
            error.reason = reason
            return error
        }
    }
}
