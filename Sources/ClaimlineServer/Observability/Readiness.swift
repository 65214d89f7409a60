/// Whether a load balancer should send calls here (`GET /readyz`): listening, and the store
/// takes writes. Not ready while the store is fail-stopped or reconnecting, or while the
/// server drains: new calls would only be refused.
public enum Readiness: Sendable, Equatable {
    case ready
    case notReady(String)
}
