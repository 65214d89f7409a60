import ClaimlineCore
import ClaimlineStore
import NIOCore
import PostgresNIO

/// The column lists of every table in the one order SELECTs return and writes bind them, and
/// the readers that turn a row back into a record (the SQLite store's encoding, in
/// PostgreSQL's types; see ``PostgresSchema``).
enum PostgresRecords {
    static let claimColumns = """
        claim_number, call_id, category_group, category, msisdn, account_id, value_tier, region, \
        place_id, description, failure_reason, incident_id, agent_id, department, status, \
        created_at_ms, due_at_ms, updated_at_ms
        """

    static let contactSessionColumns = """
        call_id, state, msisdn, account_id, value_tier, region, category_group, category, place_id, \
        decision, rule, incident_id, failure_reason, claim_number, first_line_agent, second_line_agent, \
        created_at_ms, updated_at_ms, expires_at_ms
        """

    static let incidentColumns = """
        incident_id, title, regions, category_groups, categories, playbook_url, playbook_text, active, \
        declared_at_ms, withdrawn_at_ms, declared_by
        """

    static let idempotencyColumns = "key, method, request_hash, response, created_at_ms"

    static let secondLineModeColumns = "mode, changed_at_ms, changed_by, reason"

    static let auditColumns = """
        at_ms, session_id, client_name, role, method, idempotency_key, call_id, claim_number, incident_id, \
        rule, outcome, reason, detail
        """

    static func claim(_ row: PostgresRow) throws(StoreError) -> Claim {
        let r = RowReader(row, "read claim")
        let hasCategory = !r.isNull(2)
        let hasSubscriber = !r.isNull(4)
        return Claim(
            claimNumber: try r.text(0),
            callId: try r.text(1),
            category: hasCategory
                ? CategoryRef(group: ClaimGroup(rawValue: try r.int32(2)), category: Category(rawValue: try r.int32(3))) : nil,
            subscriber: hasSubscriber
                ? Subscriber(
                    msisdn: try r.text(4), accountId: try r.text(5), valueTier: ValueTier(rawValue: try r.int32(6)),
                    region: try r.text(7)) : nil,
            placeId: try r.text(8),
            description: try r.text(9),
            failureReason: RetentionFailureReason(rawValue: try r.int32(10)),
            incidentId: try r.text(11),
            agentId: try r.text(12),
            department: try r.text(13),
            status: ClaimStatus(rawValue: try r.int32(14)),
            createdAtMs: try r.int64(15),
            dueAtMs: try r.int64(16),
            updatedAtMs: try r.int64(17)
        )
    }

    static func contactSession(_ row: PostgresRow) throws(StoreError) -> ContactSession {
        let r = RowReader(row, "read contact session")
        return ContactSession(
            callID: try r.text(0),
            state: ContactState(rawValue: try r.int32(1)),
            subscriber: Subscriber(
                msisdn: try r.text(2), accountId: try r.text(3), valueTier: ValueTier(rawValue: try r.int32(4)),
                region: try r.text(5)),
            category: CategoryRef(group: ClaimGroup(rawValue: try r.int32(6)), category: Category(rawValue: try r.int32(7))),
            placeID: try r.text(8),
            decision: EscalateDecision(rawValue: try r.int32(9)),
            rule: try r.text(10),
            incidentID: try r.text(11),
            failureReason: RetentionFailureReason(rawValue: try r.int32(12)),
            claimNumber: try r.text(13),
            firstLineAgent: try r.text(14),
            secondLineAgent: try r.text(15),
            createdAtMs: try r.int64(16),
            updatedAtMs: try r.int64(17),
            expiresAtMs: try r.int64(18)
        )
    }

    static func incident(_ row: PostgresRow) throws(StoreError) -> Incident {
        let r = RowReader(row, "read incident")
        let groups = try r.int32Array(3)
        let categories = try r.int32Array(4)
        return Incident(
            incidentId: try r.text(0),
            title: try r.text(1),
            regions: try r.textArray(2),
            categories: zip(groups, categories).map { CategoryRef(group: ClaimGroup(rawValue: $0), category: Category(rawValue: $1)) },
            playbookUrl: try r.text(5),
            playbookText: try r.text(6),
            active: try r.bool(7),
            declaredAtMs: try r.int64(8),
            withdrawnAtMs: try r.int64(9),
            declaredBy: try r.text(10)
        )
    }

    static func idempotencyRecord(_ row: PostgresRow) throws(StoreError) -> IdempotencyRecord {
        let r = RowReader(row, "read idempotency record")
        return IdempotencyRecord(
            key: try r.text(0),
            method: UInt16(truncatingIfNeeded: try r.int32(1)),
            requestHash: UInt64(bitPattern: try r.int64(2)),
            response: try r.bytes(3),
            createdAtMs: try r.int64(4)
        )
    }

    static func secondLineMode(_ row: PostgresRow) throws(StoreError) -> SecondLineModeRecord {
        let r = RowReader(row, "read second line mode")
        return SecondLineModeRecord(
            mode: SecondLineMode(rawValue: try r.int32(0)), changedAtMs: try r.int64(1), changedBy: try r.text(2),
            reason: try r.text(3))
    }

    /// Binds a claim's 18 columns in ``claimColumns`` order, then (`numbering`) its year and
    /// sequence.
    static func bindClaim(_ claim: Claim, into binds: inout PostgresBindings, numbering: Bool = true) {
        binds.append(claim.claimNumber)
        binds.append(claim.callId)
        binds.append(claim.category.map { $0.group.rawValue })
        binds.append(claim.category.map { $0.category.rawValue })
        binds.append(claim.subscriber.map(\.msisdn))
        binds.append(claim.subscriber.map(\.accountId))
        binds.append(claim.subscriber.map { $0.valueTier.rawValue })
        binds.append(claim.subscriber.map(\.region))
        binds.append(claim.placeId)
        binds.append(claim.description)
        binds.append(claim.failureReason.rawValue)
        binds.append(claim.incidentId)
        binds.append(claim.agentId)
        binds.append(claim.department)
        binds.append(claim.status.rawValue)
        binds.append(claim.createdAtMs)
        binds.append(claim.dueAtMs)
        binds.append(claim.updatedAtMs)
        guard numbering else { return }
        let numbering = StoreNumbering.claimNumber(claim.claimNumber)
        binds.append(numbering.map { Int32(clamping: $0.year) })
        binds.append(numbering.map { Int64($0.sequence) })
    }

    static func bindIncident(_ incident: Incident, into binds: inout PostgresBindings) {
        binds.append(incident.incidentId)
        binds.append(incident.title)
        binds.append(incident.regions)
        binds.append(incident.categories.map { $0.group.rawValue })
        binds.append(incident.categories.map { $0.category.rawValue })
        binds.append(incident.playbookUrl)
        binds.append(incident.playbookText)
        binds.append(incident.active)
        binds.append(incident.declaredAtMs)
        binds.append(incident.withdrawnAtMs)
        binds.append(incident.declaredBy)
        binds.append(StoreNumbering.incidentSequence(incident.incidentId).map { Int64($0) })
    }
}

/// Typed access to one row's columns by position; a type that does not match is a store error
/// naming the operation (the schema and this code disagree), never a crash.
struct RowReader {
    let cells: PostgresRandomAccessRow
    let operation: String

    init(_ row: PostgresRow, _ operation: String) {
        self.cells = row.makeRandomAccess()
        self.operation = operation
    }

    func isNull(_ index: Int) -> Bool { self.cells[index].bytes == nil }

    func text(_ index: Int) throws(StoreError) -> String { try self.decode(index, String.self) }
    func int32(_ index: Int) throws(StoreError) -> Int32 { try self.decode(index, Int32.self) }
    func int64(_ index: Int) throws(StoreError) -> Int64 { try self.decode(index, Int64.self) }
    func bool(_ index: Int) throws(StoreError) -> Bool { try self.decode(index, Bool.self) }
    func textArray(_ index: Int) throws(StoreError) -> [String] { try self.decode(index, [String].self) }
    func int32Array(_ index: Int) throws(StoreError) -> [Int32] { try self.decode(index, [Int32].self) }

    func bytes(_ index: Int) throws(StoreError) -> [UInt8] {
        let buffer = try self.decode(index, ByteBuffer.self)
        return Array(buffer.readableBytesView)
    }

    private func decode<T: PostgresDecodable>(_ index: Int, _: T.Type) throws(StoreError) -> T {
        do {
            return try self.cells[index].decode(T.self, context: .default)
        } catch {
            throw StoreError(self.operation, "column \(index): \(error)")
        }
    }
}
