/// Schema version 1.
///
/// Encoding choices:
/// - Enums are their proto numbers (INTEGER), so an unrecognized value round-trips.
/// - Times are Unix milliseconds (INTEGER).
/// - A claim's optional `category` and `subscriber` are flattened; NULL `category_group` means
///   no category and NULL `msisdn` means no subscriber (so nil and empty stay apart).
/// - `claim_year`/`claim_seq` repeat the numbers inside `claim_number` (NULL if it does not
///   parse) because text stops sorting by value past six digits; `lastClaimSequence` is one
///   probe of `claims_by_sequence`. Incidents keep `seq` for the same reason.
/// - Incident `regions` are the region texts joined by `,` with `%` and `,` percent-escaped
///   (`77,50`); `categories` are `group/category` proto numbers joined by `,` (`4/7,5/0`).
///   NULL stands for an empty list, so `[""]` ("") and `[]` (NULL) stay apart.
/// - `idempotency.request_hash` is the UInt64 fingerprint's Int64 bit pattern.
/// - Contact sessions, idempotency records and the audit are `WITHOUT ROWID`: each write
///   updates one B-tree keyed by what lookups use (call id, key; method and time for the
///   statistics) instead of a rowid table plus an index. The audit's key is unique because
///   every audited write has its own idempotency key (replays are not audited).
/// - The claim indexes end in `claim_number` so ListClaims' order (created DESC, number DESC)
///   and its keyset cursor are a plain backwards index scan, ties included.
enum SQLiteSchemaV1 {
    static let step = SQLiteMigrations.Step(
        version: 1,
        name: "initial schema",
        statements: [
            """
            CREATE TABLE claims (
                claim_number TEXT NOT NULL PRIMARY KEY,
                claim_year INTEGER,
                claim_seq INTEGER,
                call_id TEXT NOT NULL,
                category_group INTEGER,
                category INTEGER,
                msisdn TEXT,
                account_id TEXT,
                value_tier INTEGER,
                region TEXT,
                place_id TEXT NOT NULL,
                description TEXT NOT NULL,
                failure_reason INTEGER NOT NULL,
                incident_id TEXT NOT NULL,
                agent_id TEXT NOT NULL,
                department TEXT NOT NULL,
                status INTEGER NOT NULL,
                created_at_ms INTEGER NOT NULL,
                due_at_ms INTEGER NOT NULL,
                updated_at_ms INTEGER NOT NULL
            )
            """,
            "CREATE INDEX claims_by_msisdn ON claims (msisdn, created_at_ms, claim_number)",
            "CREATE INDEX claims_by_status ON claims (status, created_at_ms, claim_number)",
            "CREATE INDEX claims_by_created ON claims (created_at_ms, claim_number)",
            "CREATE INDEX claims_by_sequence ON claims (claim_year, claim_seq)",
            """
            CREATE TABLE contact_sessions (
                call_id TEXT NOT NULL PRIMARY KEY,
                state INTEGER NOT NULL,
                msisdn TEXT NOT NULL,
                account_id TEXT NOT NULL,
                value_tier INTEGER NOT NULL,
                region TEXT NOT NULL,
                category_group INTEGER NOT NULL,
                category INTEGER NOT NULL,
                place_id TEXT NOT NULL,
                decision INTEGER NOT NULL,
                rule TEXT NOT NULL,
                incident_id TEXT NOT NULL,
                failure_reason INTEGER NOT NULL,
                claim_number TEXT NOT NULL,
                first_line_agent TEXT NOT NULL,
                second_line_agent TEXT NOT NULL,
                created_at_ms INTEGER NOT NULL,
                updated_at_ms INTEGER NOT NULL,
                expires_at_ms INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            "CREATE INDEX contact_sessions_by_expiry ON contact_sessions (expires_at_ms)",
            """
            CREATE TABLE idempotency (
                key TEXT NOT NULL PRIMARY KEY,
                method INTEGER NOT NULL,
                request_hash INTEGER NOT NULL,
                response BLOB NOT NULL,
                created_at_ms INTEGER NOT NULL
            ) WITHOUT ROWID
            """,
            "CREATE INDEX idempotency_by_created ON idempotency (created_at_ms)",
            """
            CREATE TABLE incidents (
                incident_id TEXT NOT NULL PRIMARY KEY,
                seq INTEGER,
                title TEXT NOT NULL,
                regions TEXT,
                categories TEXT,
                playbook_url TEXT NOT NULL,
                playbook_text TEXT NOT NULL,
                active INTEGER NOT NULL,
                declared_at_ms INTEGER NOT NULL,
                withdrawn_at_ms INTEGER NOT NULL,
                declared_by TEXT NOT NULL
            )
            """,
            "CREATE INDEX incidents_by_seq ON incidents (seq)",
            """
            CREATE TABLE second_line_mode (
                id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                mode INTEGER NOT NULL,
                changed_at_ms INTEGER NOT NULL,
                changed_by TEXT NOT NULL,
                reason TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE audit (
                at_ms INTEGER NOT NULL,
                session_id TEXT NOT NULL,
                client_name TEXT NOT NULL,
                role TEXT NOT NULL,
                method TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                call_id TEXT NOT NULL,
                claim_number TEXT NOT NULL,
                incident_id TEXT NOT NULL,
                rule TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT NOT NULL,
                detail TEXT NOT NULL,
                PRIMARY KEY (method, at_ms, idempotency_key)
            ) WITHOUT ROWID
            """,
        ]
    )
}
