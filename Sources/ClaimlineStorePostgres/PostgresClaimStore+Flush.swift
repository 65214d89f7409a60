import ClaimlineCore
import ClaimlineStore
import NIOCore
import PostgresNIO

extension PostgresClaimStore {
    /// Writes every buffered row of `batch` in one statement: one data-modifying CTE per table
    /// with rows, each inserting from `unnest` of one array per column. The parameters are
    /// arrays, so the statement's text depends only on which tables have rows (at most 16
    /// shapes), whatever the batch size. A duplicate claim number or idempotency key fails the
    /// statement, and with it the batch (the writer never makes one: numbers are leased, keys
    /// locked and fetched first).
    static func flushStatement(_ batch: PostgresBatch) -> PostgresLink.Statement? {
        guard !batch.isEmpty else { return nil }
        var parts: [String] = []
        var binds = PostgresBindings()
        var next = 1
        /// `$n::type` for the next parameter.
        func parameter(_ type: String) -> String {
            defer { next += 1 }
            return "$\(next)::\(type)[]"
        }

        if !batch.writtenSessions.isEmpty {
            let sessions = batch.writtenSessions.compactMap { batch.sessions[$0] ?? nil }
            let columns = sessionColumnTypes.map { parameter($0) }.joined(separator: ", ")
            bindSessions(sessions, into: &binds)
            parts.append(
                """
                s AS (INSERT INTO contact_sessions (\(PostgresRecords.contactSessionColumns))
                    SELECT * FROM unnest(\(columns))
                    ON CONFLICT (call_id) DO UPDATE SET \(sessionUpdates))
                """)
        }
        if !batch.newIdempotency.isEmpty {
            let columns = ["text", "integer", "bigint", "bytea", "bigint"].map { parameter($0) }.joined(separator: ", ")
            let records = batch.newIdempotency
            binds.append(records.map(\.key))
            binds.append(records.map { Int32($0.method) })
            binds.append(records.map { Int64(bitPattern: $0.requestHash) })
            binds.append(records.map { ByteBuffer(bytes: $0.response) })
            binds.append(records.map(\.createdAtMs))
            parts.append(
                "i AS (INSERT INTO idempotency (\(PostgresRecords.idempotencyColumns)) SELECT * FROM unnest(\(columns)))")
        }
        if !batch.newClaims.isEmpty {
            let claims = batch.newClaims.compactMap { batch.claims[$0] }
            let columns = claimColumnTypes.map { parameter($0) }.joined(separator: ", ")
            bindClaims(claims, into: &binds)
            parts.append(
                """
                c AS (INSERT INTO claims (\(PostgresRecords.claimColumns), claim_year, claim_seq)
                    SELECT n, call, CASE WHEN hc THEN g END, CASE WHEN hc THEN cat END,
                        CASE WHEN hs THEN m END, CASE WHEN hs THEN acc END, CASE WHEN hs THEN tier END,
                        CASE WHEN hs THEN reg END, place, descr, fr, inc, agent, dept, st, cr, due, up,
                        CASE WHEN y >= 0 THEN y END, CASE WHEN y >= 0 THEN sq END
                    FROM unnest(\(columns))
                        AS t(n, call, hc, g, cat, hs, m, acc, tier, reg, place, descr, fr, inc, agent, dept, st, cr, due, up, y, sq))
                """)
        }
        if !batch.audit.isEmpty {
            let columns = auditColumnTypes.map { parameter($0) }.joined(separator: ", ")
            bindAudit(batch.audit, into: &binds)
            parts.append("a AS (INSERT INTO audit (\(PostgresRecords.auditColumns)) SELECT * FROM unnest(\(columns)))")
        }
        guard !parts.isEmpty else { return nil }
        return PostgresLink.Statement(sql: "WITH " + parts.joined(separator: ",\n") + "\nSELECT 1", binds: binds, operation: "write batch")
    }

    static let sessionColumnTypes = [
        "text", "integer", "text", "text", "integer", "text", "integer", "integer", "text",
        "integer", "text", "text", "integer", "text", "text", "text", "bigint", "bigint", "bigint",
    ]

    static let sessionUpdates = PostgresRecords.contactSessionColumns
        .split(separator: ",").map { $0.trimmingCharacters() }.filter { $0 != "call_id" }
        .map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")

    static let claimColumnTypes = [
        "text", "text", "boolean", "integer", "integer", "boolean", "text", "text", "integer", "text",
        "text", "text", "integer", "text", "text", "text", "integer", "bigint", "bigint", "bigint", "integer", "bigint",
    ]

    static let auditColumnTypes = Array(repeating: "text", count: 13).enumerated().map { $0.offset == 0 ? "bigint" : $0.element }

    private static func bindSessions(_ sessions: [ContactSession], into binds: inout PostgresBindings) {
        binds.append(sessions.map(\.callID))
        binds.append(sessions.map(\.state.rawValue))
        binds.append(sessions.map(\.subscriber.msisdn))
        binds.append(sessions.map(\.subscriber.accountId))
        binds.append(sessions.map(\.subscriber.valueTier.rawValue))
        binds.append(sessions.map(\.subscriber.region))
        binds.append(sessions.map(\.category.group.rawValue))
        binds.append(sessions.map(\.category.category.rawValue))
        binds.append(sessions.map(\.placeID))
        binds.append(sessions.map(\.decision.rawValue))
        binds.append(sessions.map(\.rule))
        binds.append(sessions.map(\.incidentID))
        binds.append(sessions.map(\.failureReason.rawValue))
        binds.append(sessions.map(\.claimNumber))
        binds.append(sessions.map(\.firstLineAgent))
        binds.append(sessions.map(\.secondLineAgent))
        binds.append(sessions.map(\.createdAtMs))
        binds.append(sessions.map(\.updatedAtMs))
        binds.append(sessions.map(\.expiresAtMs))
    }

    /// Optional columns travel as a presence flag plus a placeholder value (arrays of
    /// optionals have no encoding here); the SELECT turns absent ones back into NULL.
    private static func bindClaims(_ claims: [Claim], into binds: inout PostgresBindings) {
        binds.append(claims.map(\.claimNumber))
        binds.append(claims.map(\.callId))
        binds.append(claims.map { $0.category != nil })
        binds.append(claims.map { $0.category?.group.rawValue ?? 0 })
        binds.append(claims.map { $0.category?.category.rawValue ?? 0 })
        binds.append(claims.map { $0.subscriber != nil })
        binds.append(claims.map { $0.subscriber?.msisdn ?? "" })
        binds.append(claims.map { $0.subscriber?.accountId ?? "" })
        binds.append(claims.map { $0.subscriber?.valueTier.rawValue ?? 0 })
        binds.append(claims.map { $0.subscriber?.region ?? "" })
        binds.append(claims.map(\.placeId))
        binds.append(claims.map(\.description))
        binds.append(claims.map(\.failureReason.rawValue))
        binds.append(claims.map(\.incidentId))
        binds.append(claims.map(\.agentId))
        binds.append(claims.map(\.department))
        binds.append(claims.map(\.status.rawValue))
        binds.append(claims.map(\.createdAtMs))
        binds.append(claims.map(\.dueAtMs))
        binds.append(claims.map(\.updatedAtMs))
        // Year -1 stands for "the number does not parse" (NULL year and sequence).
        let numbering = claims.map { StoreNumbering.claimNumber($0.claimNumber) }
        binds.append(numbering.map { $0.map { Int32(clamping: $0.year) } ?? -1 })
        binds.append(numbering.map { $0.map { Int64($0.sequence) } ?? 0 })
    }

    private static func bindAudit(_ records: [AuditRecord], into binds: inout PostgresBindings) {
        binds.append(records.map(\.atMs))
        binds.append(records.map(\.sessionID))
        binds.append(records.map(\.clientName))
        binds.append(records.map(\.role))
        binds.append(records.map(\.method))
        binds.append(records.map(\.idempotencyKey))
        binds.append(records.map(\.callID))
        binds.append(records.map(\.claimNumber))
        binds.append(records.map(\.incidentID))
        binds.append(records.map(\.rule))
        binds.append(records.map(\.outcome))
        binds.append(records.map(\.reason))
        binds.append(records.map(\.detail))
    }
}

extension Substring {
    /// Without leading and trailing spaces and newlines (no Foundation).
    fileprivate func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\n" }).reversed().drop(while: { $0 == " " || $0 == "\n" }).reversed())
    }
}
