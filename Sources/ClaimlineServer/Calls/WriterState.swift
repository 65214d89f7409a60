import ClaimlineCore
import ClaimlinePolicy
import ClaimlineStore

/// What the writer keeps in memory besides the store: the small, hot facts every Escalate
/// needs (active incidents, the second line's mode) and the counters behind claim numbers.
/// Loaded from the store at start and again whenever the store says another instance may have
/// changed them (``ClaimStore/sharedStateMayHaveChanged()``) or a batch rolled back; changed
/// only by the writer thread, in step with the store.
final class WriterState {
    var activeIncidents: [String: Incident] = [:]
    var secondLineMode: SecondLineModeRecord = .initial
    /// By year: the last number handed out, and the end of the leased block when the store is
    /// shared (nil: this writer is the only one and counts on).
    private var claimSequences: [Int: (last: Int, leasedUpTo: Int?)] = [:]
    private var incidentSequence: Int?

    init(store: any ClaimStore) throws {
        try self.reload(store)
    }

    /// Nothing known yet: the store was not reachable at start; ``reload(_:)`` fills it once
    /// the writer has opened the store.
    init() {}

    /// Reads the incidents and the mode again (not the counters: a number handed out stays
    /// handed out).
    func reload(_ store: any ClaimStore) throws {
        var incidents: [String: Incident] = [:]
        for incident in try store.incidents(includeWithdrawn: false) { incidents[incident.incidentId] = incident }
        self.activeIncidents = incidents
        self.secondLineMode = try store.secondLineMode() ?? .initial
    }

    /// Forgets the counters behind claim and incident numbers: the next number comes from a new
    /// lease (or the store's highest) after the store was reopened.
    func forgetNumbers() {
        self.claimSequences.removeAll()
        self.incidentSequence = nil
    }

    /// The next claim number of `year`, e.g. `2026-000124`: short enough to read aloud, and
    /// unique because only this writer hands out its numbers: all of them when it is the
    /// store's only writer, else those of the block it leased.
    func nextClaimNumber(year: Int, store: any ClaimStore) throws -> String {
        var next: Int
        if let known = self.claimSequences[year], known.leasedUpTo.map({ known.last < $0 }) ?? true {
            next = known.last + 1
            self.claimSequences[year] = (next, known.leasedUpTo)
        } else if let block = try store.leaseClaimSequences(year: year) {
            next = block.lowerBound
            self.claimSequences[year] = (next, block.upperBound)
        } else {
            next = try store.lastClaimSequence(year: year) + 1
            self.claimSequences[year] = (next, nil)
        }
        return "\(year)-" + Self.zeroPadded(next, width: 6)
    }

    func nextIncidentID(store: any ClaimStore) throws -> String {
        let next: Int
        if let leased = try store.leaseIncidentSequence() {
            next = leased
        } else {
            next = try (self.incidentSequence ?? store.lastIncidentSequence()) + 1
            self.incidentSequence = next
        }
        return "INC-" + Self.zeroPadded(next, width: 6)
    }

    private static func zeroPadded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
