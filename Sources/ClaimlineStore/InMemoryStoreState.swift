import ClaimlineCore

/// Everything an in-memory store holds, as one value: a batch is a copy of it (copy-on-write
/// makes that cheap until the first write), commit swaps the copy in, rollback drops it.
///
/// The queries live here so the writer (reading its own batch) and the readers (reading the
/// committed value) answer them with the same code.
struct InMemoryStoreState: Sendable {
    var claims: [String: Claim] = [:]
    var contactSessions: [String: ContactSession] = [:]
    var idempotency: [String: IdempotencyRecord] = [:]
    var incidents: [String: Incident] = [:]
    var secondLineMode: SecondLineModeRecord?
    var audit: [AuditRecord] = []

    func lastClaimSequence(year: Int) -> Int {
        var highest = 0
        for number in self.claims.keys {
            if let parsed = StoreNumbering.claimNumber(number), parsed.year == year {
                highest = max(highest, parsed.sequence)
            }
        }
        return highest
    }

    func lastIncidentSequence() -> Int {
        self.incidents.keys.reduce(0) { max($0, StoreNumbering.incidentSequence($1) ?? 0) }
    }

    /// Ordered by declaration time, then id (as the SQLite store does).
    func incidents(includeWithdrawn: Bool) -> [Incident] {
        self.incidents.values
            .filter { includeWithdrawn || $0.active }
            .sorted { ($0.declaredAtMs, $0.incidentId) < ($1.declaredAtMs, $1.incidentId) }
    }

    func listClaims(_ query: ClaimQuery) -> ClaimPage {
        let range = query.createdRange
        let limit = query.effectiveLimit
        var matching = self.claims.values.filter { claim in
            guard range.contains(claim.createdAtMs) else { return false }
            if !query.msisdn.isEmpty, claim.subscriber?.msisdn != query.msisdn { return false }
            if query.status != .unspecified, claim.status != query.status { return false }
            if query.group != .unspecified, claim.category?.group != query.group { return false }
            if query.category != .unspecified, claim.category?.category != query.category { return false }
            if !query.department.isEmpty, claim.department != query.department { return false }
            if let after = query.after {
                return (claim.createdAtMs, claim.claimNumber) < (after.createdAtMs, after.claimNumber)
            }
            return true
        }
        matching.sort { ($0.createdAtMs, $0.claimNumber) > ($1.createdAtMs, $1.claimNumber) }
        guard matching.count > limit else { return ClaimPage(claims: matching, next: nil) }
        let page = Array(matching.prefix(limit))
        let last = page[page.count - 1]
        return ClaimPage(claims: page, next: ClaimCursor(createdAtMs: last.createdAtMs, claimNumber: last.claimNumber))
    }

    func stats(fromMs: Int64, toMs: Int64) -> ClaimStats {
        let range = StoreTimeRange(fromMs: fromMs, toMs: toMs)
        var tally = StatsTally()
        for claim in self.claims.values where range.contains(claim.createdAtMs) {
            tally.addClaims(claim.category)
        }
        for record in self.audit where range.contains(record.atMs) {
            tally.addAudit(method: record.method, outcome: record.outcome, reason: record.reason, rule: record.rule)
        }
        return tally.stats
    }

    /// Returns how many rows went.
    mutating func purge(nowMs: Int64, idempotencyBeforeMs: Int64) -> Int {
        let sessions = self.contactSessions.count
        let records = self.idempotency.count
        self.contactSessions = self.contactSessions.filter { $0.value.expiresAtMs >= nowMs }
        self.idempotency = self.idempotency.filter { $0.value.createdAtMs >= idempotencyBeforeMs }
        return (sessions - self.contactSessions.count) + (records - self.idempotency.count)
    }
}
