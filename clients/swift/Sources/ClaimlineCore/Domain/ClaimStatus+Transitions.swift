/// TMF621 trouble-ticket transitions, the lifecycle claims follow.
///
///     acknowledged -> inProgress | pending | rejected | cancelled
///     inProgress   -> pending | held | resolved | cancelled
///     pending      -> inProgress | cancelled
///     held         -> inProgress | cancelled
///     resolved     -> closed | inProgress (reopened: the subscriber is not satisfied)
///     rejected, cancelled, closed: final
extension ClaimStatus {
    public var allowedNext: [ClaimStatus] {
        switch self {
        case .acknowledged: [.inProgress, .pending, .rejected, .cancelled]
        case .inProgress: [.pending, .held, .resolved, .cancelled]
        case .pending: [.inProgress, .cancelled]
        case .held: [.inProgress, .cancelled]
        case .resolved: [.closed, .inProgress]
        case .rejected, .cancelled, .closed, .unspecified, .unrecognized: []
        }
    }

    public var isFinal: Bool { self.allowedNext.isEmpty }

    /// Throws FAILED_PRECONDITION (an illegal move) or INVALID_ARGUMENT (not a status).
    public func checkTransition(to next: ClaimStatus) throws(RPCError) {
        switch next {
        case .unspecified, .unrecognized:
            throw RPCError.invalidArgument(field: "status", "must be a TMF621 status")
        default: break
        }
        guard self.allowedNext.contains(next) else {
            let allowed = self.allowedNext.map(\.protoName).joined(separator: ", ")
            throw RPCError(
                .failedPrecondition,
                "a claim in \(self.protoName) cannot move to \(next.protoName)"
                    + (allowed.isEmpty ? "; it is final" : "; allowed: \(allowed)"),
                currentState: self.protoName,
                reason: Reason.claimStatusTransition
            )
        }
    }
}
