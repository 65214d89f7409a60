/// The PostgreSQL schema, version by version (``PostgresMigrations`` applies them).
///
/// The same records as SQLite's schema, in PostgreSQL's types:
/// - Enums are their proto numbers (`integer`), times Unix milliseconds (`bigint`).
/// - A claim's optional category and subscriber are flattened; NULL `category_group` means no
///   category and NULL `msisdn` no subscriber.
/// - `claim_year`/`claim_seq` repeat the numbers inside `claim_number` (NULL if it does not
///   parse), because text stops sorting by value past six digits.
/// - Incident regions are a `text[]`; categories two `integer[]` of the same length.
/// - The audit is a plain heap with no primary key: rows are only appended and only ever
///   counted by (method, at_ms), which its one index serves.
/// - `number_leases` hands out blocks of claim and incident numbers to the instances, one
///   row per year's claims (`claim-2026`) and one for incidents (`incident`).
///
/// Never edit a released version: add one.
enum PostgresSchema {
    struct Step: Sendable {
        let version: Int64
        let name: String
        let statements: [String]
    }

    static let steps: [Step] = [version1, version2]

    static var latestVersion: Int64 { steps.last?.version ?? 0 }

    static let version1 = Step(
        version: 1,
        name: "initial schema",
        statements: [
            """
            CREATE TABLE claims (
                claim_number text NOT NULL PRIMARY KEY,
                claim_year integer,
                claim_seq bigint,
                call_id text NOT NULL,
                category_group integer,
                category integer,
                msisdn text,
                account_id text,
                value_tier integer,
                region text,
                place_id text NOT NULL,
                description text NOT NULL,
                failure_reason integer NOT NULL,
                incident_id text NOT NULL,
                agent_id text NOT NULL,
                department text NOT NULL,
                status integer NOT NULL,
                created_at_ms bigint NOT NULL,
                due_at_ms bigint NOT NULL,
                updated_at_ms bigint NOT NULL
            )
            """,
            "CREATE INDEX claims_by_msisdn ON claims (msisdn, created_at_ms, claim_number)",
            "CREATE INDEX claims_by_status ON claims (status, created_at_ms, claim_number)",
            "CREATE INDEX claims_by_created ON claims (created_at_ms, claim_number)",
            "CREATE INDEX claims_by_sequence ON claims (claim_year, claim_seq)",
            """
            CREATE TABLE contact_sessions (
                call_id text NOT NULL PRIMARY KEY,
                state integer NOT NULL,
                msisdn text NOT NULL,
                account_id text NOT NULL,
                value_tier integer NOT NULL,
                region text NOT NULL,
                category_group integer NOT NULL,
                category integer NOT NULL,
                place_id text NOT NULL,
                decision integer NOT NULL,
                rule text NOT NULL,
                incident_id text NOT NULL,
                failure_reason integer NOT NULL,
                claim_number text NOT NULL,
                first_line_agent text NOT NULL,
                second_line_agent text NOT NULL,
                created_at_ms bigint NOT NULL,
                updated_at_ms bigint NOT NULL,
                expires_at_ms bigint NOT NULL
            )
            """,
            "CREATE INDEX contact_sessions_by_expiry ON contact_sessions (expires_at_ms)",
            """
            CREATE TABLE idempotency (
                key text NOT NULL PRIMARY KEY,
                method integer NOT NULL,
                request_hash bigint NOT NULL,
                response bytea NOT NULL,
                created_at_ms bigint NOT NULL
            )
            """,
            "CREATE INDEX idempotency_by_created ON idempotency (created_at_ms)",
            """
            CREATE TABLE incidents (
                incident_id text NOT NULL PRIMARY KEY,
                seq bigint,
                title text NOT NULL,
                regions text[] NOT NULL,
                category_groups integer[] NOT NULL,
                categories integer[] NOT NULL,
                playbook_url text NOT NULL,
                playbook_text text NOT NULL,
                active boolean NOT NULL,
                declared_at_ms bigint NOT NULL,
                withdrawn_at_ms bigint NOT NULL,
                declared_by text NOT NULL
            )
            """,
            "CREATE INDEX incidents_by_seq ON incidents (seq)",
            """
            CREATE TABLE second_line_mode (
                id integer NOT NULL PRIMARY KEY CHECK (id = 1),
                mode integer NOT NULL,
                changed_at_ms bigint NOT NULL,
                changed_by text NOT NULL,
                reason text NOT NULL
            )
            """,
            """
            CREATE TABLE audit (
                at_ms bigint NOT NULL,
                session_id text NOT NULL,
                client_name text NOT NULL,
                role text NOT NULL,
                method text NOT NULL,
                idempotency_key text NOT NULL,
                call_id text NOT NULL,
                claim_number text NOT NULL,
                incident_id text NOT NULL,
                rule text NOT NULL,
                outcome text NOT NULL,
                reason text NOT NULL,
                detail text NOT NULL
            )
            """,
            "CREATE INDEX audit_by_method ON audit (method, at_ms)",
            """
            CREATE TABLE number_leases (
                name text NOT NULL PRIMARY KEY,
                last bigint NOT NULL
            )
            """,
        ]
    )

    /// The batch's locks with a bound: each key is tried at once, and only a key another
    /// session holds is waited for, all of them together at most `wait_ms`; the keys still held
    /// elsewhere then come back instead of being waited for longer. A frozen or partitioned
    /// instance holding one contact's lock (until `idle_in_transaction_session_timeout` ends its
    /// transaction) so costs the batch of another instance at most `wait_ms`, and only the
    /// writes on that contact are refused (``PostgresClaimStore/begin(footprint:)``). Each wait
    /// runs in its own subtransaction (the `EXCEPTION` block), so a lock that timed out leaves
    /// the batch's transaction usable and the locks already taken kept.
    static let version2 = Step(
        version: 2,
        name: "bounded batch locks",
        statements: [
            """
            CREATE FUNCTION claimline_lock_keys(keys int8[], wait_ms integer) RETURNS int8[]
            LANGUAGE plpgsql AS $$
            DECLARE
                k int8;
                busy int8[] := '{}';
                until timestamptz := clock_timestamp() + make_interval(secs => wait_ms / 1000.0);
                left_ms integer;
            BEGIN
                FOREACH k IN ARRAY keys LOOP
                    CONTINUE WHEN pg_try_advisory_xact_lock(k);
                    left_ms := ceil(extract(epoch FROM (until - clock_timestamp())) * 1000);
                    IF left_ms <= 0 THEN
                        busy := busy || k;
                        CONTINUE;
                    END IF;
                    BEGIN
                        PERFORM set_config('lock_timeout', left_ms || 'ms', true);
                        PERFORM pg_advisory_xact_lock(k);
                    EXCEPTION WHEN lock_not_available THEN
                        busy := busy || k;
                    END;
                END LOOP;
                PERFORM set_config('lock_timeout', '0', true);
                RETURN busy;
            END
            $$
            """
        ]
    )
}
