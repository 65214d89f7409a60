import ClaimlineCore
import ClaimlineStore

extension SQLiteClaimStore {
    public func upsertIncident(_ incident: Incident) throws(StoreError) {
        let statement = try self.statements("upsertIncident").upsertIncident
        defer { statement.reset() }
        statement.bindIncident(incident)
        try statement.run()
    }

    public func incident(id: String) throws(StoreError) -> Incident? {
        let statement = try self.statements("incident").selectIncident
        defer { statement.reset() }
        statement.bind(1, id)
        return try statement.step() ? statement.readIncident() : nil
    }

    public func incidents(includeWithdrawn: Bool) throws(StoreError) -> [Incident] {
        try self.statements("incidents").reads.incidents(includeWithdrawn: includeWithdrawn)
    }

    /// One probe of `incidents_by_seq`.
    public func lastIncidentSequence() throws(StoreError) -> Int {
        let statement = try self.statements("lastIncidentSequence").lastIncidentSequence
        defer { statement.reset() }
        return try statement.step() ? statement.int(0) : 0
    }

    public func secondLineMode() throws(StoreError) -> SecondLineModeRecord? {
        try self.statements("secondLineMode").reads.secondLineMode()
    }

    public func setSecondLineMode(_ mode: SecondLineModeRecord) throws(StoreError) {
        let statement = try self.statements("setSecondLineMode").upsertSecondLineMode
        defer { statement.reset() }
        statement.bindSecondLineMode(mode)
        try statement.run()
    }

    public func appendAudit(_ record: AuditRecord) throws(StoreError) {
        let statement = try self.statements("appendAudit").insertAudit
        defer { statement.reset() }
        statement.bindAuditRecord(record)
        try statement.run()
    }
}
