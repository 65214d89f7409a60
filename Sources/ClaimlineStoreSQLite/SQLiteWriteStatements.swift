import ClaimlineStore

/// Every statement the writer runs, prepared once when it opens.
///
/// SQL text appears only here and in the schema: the hot path binds and steps these.
final class SQLiteWriteStatements {
    let reads: SQLiteLookupStatements
    let begin: SQLiteStatement
    let commit: SQLiteStatement
    let rollback: SQLiteStatement
    let selectIdempotency: SQLiteStatement
    let insertIdempotency: SQLiteStatement
    let selectContactSession: SQLiteStatement
    let upsertContactSession: SQLiteStatement
    let insertClaim: SQLiteStatement
    let updateClaim: SQLiteStatement
    let lastClaimSequence: SQLiteStatement
    let upsertIncident: SQLiteStatement
    let selectIncident: SQLiteStatement
    let lastIncidentSequence: SQLiteStatement
    let upsertSecondLineMode: SQLiteStatement
    let insertAudit: SQLiteStatement
    let purgeContactSessions: SQLiteStatement
    let purgeIdempotency: SQLiteStatement

    init(_ connection: SQLiteConnection) throws(StoreError) {
        self.reads = try SQLiteLookupStatements(connection)
        // IMMEDIATE: the batch holds the write lock from its first statement, so a write in
        // the middle of it can never fail with SQLITE_BUSY after reads were answered.
        self.begin = try connection.prepare("BEGIN IMMEDIATE", name: "begin")
        self.commit = try connection.prepare("COMMIT", name: "commit")
        self.rollback = try connection.prepare("ROLLBACK", name: "rollback")
        self.selectIdempotency = try connection.prepare(
            "SELECT \(idempotencyColumns) FROM idempotency WHERE key = ?1", name: "idempotencyRecord")
        self.insertIdempotency = try connection.prepare(
            "INSERT INTO idempotency (\(idempotencyColumns)) VALUES (?1, ?2, ?3, ?4, ?5)",
            name: "insertIdempotencyRecord")
        self.selectContactSession = try connection.prepare(
            "SELECT \(contactSessionColumns) FROM contact_sessions WHERE call_id = ?1", name: "contactSession")
        self.upsertContactSession = try connection.prepare(
            """
            INSERT INTO contact_sessions (\(contactSessionColumns))
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
            ON CONFLICT (call_id) DO UPDATE SET
                state = excluded.state, msisdn = excluded.msisdn, account_id = excluded.account_id,
                value_tier = excluded.value_tier, region = excluded.region,
                category_group = excluded.category_group, category = excluded.category,
                place_id = excluded.place_id, decision = excluded.decision, rule = excluded.rule,
                incident_id = excluded.incident_id, failure_reason = excluded.failure_reason,
                claim_number = excluded.claim_number, first_line_agent = excluded.first_line_agent,
                second_line_agent = excluded.second_line_agent, created_at_ms = excluded.created_at_ms,
                updated_at_ms = excluded.updated_at_ms, expires_at_ms = excluded.expires_at_ms
            """,
            name: "upsertContactSession")
        self.insertClaim = try connection.prepare(
            """
            INSERT INTO claims (\(claimColumns), claim_year, claim_seq)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
            """,
            name: "insertClaim")
        self.updateClaim = try connection.prepare(
            """
            UPDATE claims SET
                call_id = ?2, category_group = ?3, category = ?4, msisdn = ?5, account_id = ?6,
                value_tier = ?7, region = ?8, place_id = ?9, description = ?10, failure_reason = ?11,
                incident_id = ?12, agent_id = ?13, department = ?14, status = ?15, created_at_ms = ?16,
                due_at_ms = ?17, updated_at_ms = ?18
            WHERE claim_number = ?1
            """,
            name: "updateClaim")
        self.lastClaimSequence = try connection.prepare(
            "SELECT max(claim_seq) FROM claims WHERE claim_year = ?1", name: "lastClaimSequence")
        self.upsertIncident = try connection.prepare(
            """
            INSERT INTO incidents (\(incidentColumns), seq)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
            ON CONFLICT (incident_id) DO UPDATE SET
                title = excluded.title, regions = excluded.regions, categories = excluded.categories,
                playbook_url = excluded.playbook_url, playbook_text = excluded.playbook_text,
                active = excluded.active, declared_at_ms = excluded.declared_at_ms,
                withdrawn_at_ms = excluded.withdrawn_at_ms, declared_by = excluded.declared_by
            """,
            name: "upsertIncident")
        self.selectIncident = try connection.prepare(
            "SELECT \(incidentColumns) FROM incidents WHERE incident_id = ?1", name: "incident")
        self.lastIncidentSequence = try connection.prepare(
            "SELECT max(seq) FROM incidents", name: "lastIncidentSequence")
        self.upsertSecondLineMode = try connection.prepare(
            """
            INSERT INTO second_line_mode (id, \(secondLineModeColumns)) VALUES (1, ?1, ?2, ?3, ?4)
            ON CONFLICT (id) DO UPDATE SET
                mode = excluded.mode, changed_at_ms = excluded.changed_at_ms,
                changed_by = excluded.changed_by, reason = excluded.reason
            """,
            name: "setSecondLineMode")
        self.insertAudit = try connection.prepare(
            """
            INSERT INTO audit (\(auditColumns))
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
            """,
            name: "appendAudit")
        self.purgeContactSessions = try connection.prepare(
            "DELETE FROM contact_sessions WHERE expires_at_ms < ?1", name: "purge contact sessions")
        self.purgeIdempotency = try connection.prepare(
            "DELETE FROM idempotency WHERE created_at_ms < ?1", name: "purge idempotency records")
    }
}

@available(*, unavailable)
extension SQLiteWriteStatements: Sendable {}
