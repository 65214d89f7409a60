import ClaimlineCore
import ClaimlinePolicy
import ClaimlineStore

/// What the writer keeps in memory besides the store: the small, hot facts every Escalate
/// needs (active incidents, the second line's mode) and the counters behind claim numbers.
/// Loaded from the store at start; changed only by the writer thread, in step with the store.
final class WriterState {
    var activeIncidents: [String: Incident]
    var secondLineMode: SecondLineModeRecord
    private var claimSequences: [Int: Int] = [:]
    private var incidentSequence: Int

    init(store: any ClaimStore) throws {
        var incidents: [String: Incident] = [:]
        for incident in try store.incidents(includeWithdrawn: false) { incidents[incident.incidentId] = incident }
        self.activeIncidents = incidents
        self.secondLineMode = try store.secondLineMode() ?? .initial
        self.incidentSequence = try store.lastIncidentSequence()
    }

    /// The next claim number of `year`, e.g. `2026-000124`: short enough to read aloud, and
    /// unique because only the writer hands them out.
    func nextClaimNumber(year: Int, store: any ClaimStore) throws -> String {
        let last: Int
        if let known = self.claimSequences[year] {
            last = known
        } else {
            last = try store.lastClaimSequence(year: year)
        }
        let next = last + 1
        self.claimSequences[year] = next
        return "\(year)-" + Self.zeroPadded(next, width: 6)
    }

    func nextIncidentID() -> String {
        self.incidentSequence += 1
        return "INC-" + Self.zeroPadded(self.incidentSequence, width: 6)
    }

    private static func zeroPadded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
