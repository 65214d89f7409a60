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

    /// From the method table (the `service` block's roles); admin may call everything.
    public func mayCall(_ method: Method) -> Bool {
        self == .admin || method.roles.contains(self)
    }
}
