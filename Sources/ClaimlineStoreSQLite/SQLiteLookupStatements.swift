import ClaimlineCore
import ClaimlineStore

/// The reads both the writer and the readers answer (a claim, the incidents, the mode), each
/// prepared once on the owning connection.
///
/// Every method resets its statement before returning, on success and on error alike.
final class SQLiteLookupStatements {
    private let selectClaim: SQLiteStatement
    private let selectAllIncidents: SQLiteStatement
    private let selectActiveIncidents: SQLiteStatement
    private let selectSecondLineMode: SQLiteStatement

    init(_ connection: SQLiteConnection) throws(StoreError) {
        self.selectClaim = try connection.prepare(
            "SELECT \(claimColumns) FROM claims WHERE claim_number = ?1", name: "claim")
        self.selectAllIncidents = try connection.prepare(
            "SELECT \(incidentColumns) FROM incidents ORDER BY declared_at_ms, incident_id", name: "incidents")
        self.selectActiveIncidents = try connection.prepare(
            "SELECT \(incidentColumns) FROM incidents WHERE active <> 0 ORDER BY declared_at_ms, incident_id",
            name: "incidents")
        self.selectSecondLineMode = try connection.prepare(
            "SELECT \(secondLineModeColumns) FROM second_line_mode WHERE id = 1", name: "secondLineMode")
    }

    func claim(number: String) throws(StoreError) -> Claim? {
        let statement = self.selectClaim
        defer { statement.reset() }
        statement.bind(1, number)
        return try statement.step() ? statement.readClaim() : nil
    }

    /// Ordered by declaration time, then id.
    func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident] {
        let statement = includeWithdrawn ? self.selectAllIncidents : self.selectActiveIncidents
        defer { statement.reset() }
        var incidents: [Incident] = []
        while try statement.step() {
            incidents.append(statement.readIncident())
        }
        return incidents
    }

    func secondLineMode() throws(StoreError) -> SecondLineModeRecord? {
        let statement = self.selectSecondLineMode
        defer { statement.reset() }
        return try statement.step() ? statement.readSecondLineMode() : nil
    }
}

@available(*, unavailable)
extension SQLiteLookupStatements: Sendable {}
