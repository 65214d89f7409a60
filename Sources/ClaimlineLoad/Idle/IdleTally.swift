import NIOConcurrencyHelpers

/// What the idle connections report after their handshake, from every event loop at once:
/// the PINGs answered and the ones the server took away while they were meant to stay.
final class IdleTally: Sendable {
    struct Counts: Sendable {
        var pingsAnswered = 0
        var closedAfterEstablished = 0
        var goAwaysAfterEstablished: [String: Int] = [:]
    }

    private let counts = NIOLockedValueBox(Counts())

    var snapshot: Counts { self.counts.withLockedValue { $0 } }

    func pinged() { self.counts.withLockedValue { $0.pingsAnswered += 1 } }
    func closedAfterEstablished() { self.counts.withLockedValue { $0.closedAfterEstablished += 1 } }
    func goAwayAfterEstablished(_ reason: String) { self.counts.withLockedValue { $0.goAwaysAfterEstablished[reason, default: 0] += 1 } }
}
