import ClaimlineCore
import ClaimlineStore

/// Column lists and their binders/readers for everything but claims. As with
/// ``claimColumns``, a SELECT lists the columns first (0-based) and a write binds them 1-based
/// in the same order.
let contactSessionColumns = """
    call_id, state, msisdn, account_id, value_tier, region, category_group, category, place_id, \
    decision, rule, incident_id, failure_reason, claim_number, first_line_agent, second_line_agent, \
    created_at_ms, updated_at_ms, expires_at_ms
    """

let incidentColumns = """
    incident_id, title, regions, categories, playbook_url, playbook_text, active, declared_at_ms, \
    withdrawn_at_ms, declared_by
    """

let idempotencyColumns = "key, method, request_hash, response, created_at_ms"

let secondLineModeColumns = "mode, changed_at_ms, changed_by, reason"

let auditColumns = """
    at_ms, session_id, client_name, role, method, idempotency_key, call_id, claim_number, incident_id, \
    rule, outcome, reason, detail
    """

extension SQLiteStatement {
    /// ?1...?19.
    func bindContactSession(_ session: ContactSession) {
        self.bind(1, session.callID)
        self.bind(2, session.state.rawValue)
        self.bind(3, session.subscriber.msisdn)
        self.bind(4, session.subscriber.accountId)
        self.bind(5, session.subscriber.valueTier.rawValue)
        self.bind(6, session.subscriber.region)
        self.bind(7, session.category.group.rawValue)
        self.bind(8, session.category.category.rawValue)
        self.bind(9, session.placeID)
        self.bind(10, session.decision.rawValue)
        self.bind(11, session.rule)
        self.bind(12, session.incidentID)
        self.bind(13, session.failureReason.rawValue)
        self.bind(14, session.claimNumber)
        self.bind(15, session.firstLineAgent)
        self.bind(16, session.secondLineAgent)
        self.bind(17, session.createdAtMs)
        self.bind(18, session.updatedAtMs)
        self.bind(19, session.expiresAtMs)
    }

    func readContactSession() -> ContactSession {
        ContactSession(
            callID: self.text(0),
            state: ContactState(rawValue: self.int32(1)),
            subscriber: Subscriber(
                msisdn: self.text(2), accountId: self.text(3), valueTier: ValueTier(rawValue: self.int32(4)),
                region: self.text(5)),
            category: CategoryRef(group: ClaimGroup(rawValue: self.int32(6)), category: Category(rawValue: self.int32(7))),
            placeID: self.text(8),
            decision: EscalateDecision(rawValue: self.int32(9)),
            rule: self.text(10),
            incidentID: self.text(11),
            failureReason: RetentionFailureReason(rawValue: self.int32(12)),
            claimNumber: self.text(13),
            firstLineAgent: self.text(14),
            secondLineAgent: self.text(15),
            createdAtMs: self.int64(16),
            updatedAtMs: self.int64(17),
            expiresAtMs: self.int64(18)
        )
    }

    /// ?1...?10, and ?11 the sequence parsed from the id.
    func bindIncident(_ incident: Incident) {
        self.bind(1, incident.incidentId)
        self.bind(2, incident.title)
        self.bind(3, IncidentListCoding.encodeRegions(incident.regions))
        self.bind(4, IncidentListCoding.encodeCategories(incident.categories))
        self.bind(5, incident.playbookUrl)
        self.bind(6, incident.playbookText)
        self.bind(7, incident.active)
        self.bind(8, incident.declaredAtMs)
        self.bind(9, incident.withdrawnAtMs)
        self.bind(10, incident.declaredBy)
        if let sequence = StoreNumbering.incidentSequence(incident.incidentId) {
            self.bind(11, sequence)
        } else {
            self.bindNull(11)
        }
    }

    func readIncident() -> Incident {
        Incident(
            incidentId: self.text(0),
            title: self.text(1),
            regions: IncidentListCoding.decodeRegions(self.optionalText(2)),
            categories: IncidentListCoding.decodeCategories(self.optionalText(3)),
            playbookUrl: self.text(4),
            playbookText: self.text(5),
            active: self.bool(6),
            declaredAtMs: self.int64(7),
            withdrawnAtMs: self.int64(8),
            declaredBy: self.text(9)
        )
    }

    /// ?1...?5.
    func bindIdempotencyRecord(_ record: IdempotencyRecord) {
        self.bind(1, record.key)
        self.bind(2, Int64(record.method))
        self.bind(3, Int64(bitPattern: record.requestHash))
        self.bind(4, record.response)
        self.bind(5, record.createdAtMs)
    }

    func readIdempotencyRecord() -> IdempotencyRecord {
        IdempotencyRecord(
            key: self.text(0),
            method: UInt16(truncatingIfNeeded: self.int64(1)),
            requestHash: UInt64(bitPattern: self.int64(2)),
            response: self.blob(3),
            createdAtMs: self.int64(4)
        )
    }

    /// ?1...?4.
    func bindSecondLineMode(_ mode: SecondLineModeRecord) {
        self.bind(1, mode.mode.rawValue)
        self.bind(2, mode.changedAtMs)
        self.bind(3, mode.changedBy)
        self.bind(4, mode.reason)
    }

    func readSecondLineMode() -> SecondLineModeRecord {
        SecondLineModeRecord(
            mode: SecondLineMode(rawValue: self.int32(0)),
            changedAtMs: self.int64(1),
            changedBy: self.text(2),
            reason: self.text(3)
        )
    }

    /// ?1...?13.
    func bindAuditRecord(_ record: AuditRecord) {
        self.bind(1, record.atMs)
        self.bind(2, record.sessionID)
        self.bind(3, record.clientName)
        self.bind(4, record.role)
        self.bind(5, record.method)
        self.bind(6, record.idempotencyKey)
        self.bind(7, record.callID)
        self.bind(8, record.claimNumber)
        self.bind(9, record.incidentID)
        self.bind(10, record.rule)
        self.bind(11, record.outcome)
        self.bind(12, record.reason)
        self.bind(13, record.detail)
    }
}
