/// Who a client is, from its token: what it may call (PROTOCOL.md, section 3.2).
public enum Role: String, CaseIterable, Sendable, Codable {
    /// IVR and CTI: escalates and reads.
    case ivr
    /// Second-line agents' desktops: retain, file, reads.
    case agent
    /// Supervisors: incidents, the second line's mode, claim status; reads.
    case supervisor
    /// Everything.
    case admin

    public func mayCall(_ method: Method) -> Bool {
        switch (self, method) {
        case (.admin, _): true
        case (_, .getClaim), (_, .listClaims), (_, .listIncidents), (_, .getSecondLineMode), (_, .getStats), (_, .getContact): true
        case (.ivr, .escalate): true
        case (.agent, .retain), (.agent, .fileComplaint): true
        case (.supervisor, .declareIncident), (.supervisor, .withdrawIncident), (.supervisor, .setSecondLineMode),
            (.supervisor, .updateClaimStatus):
            true
        default: false
        }
    }
}
