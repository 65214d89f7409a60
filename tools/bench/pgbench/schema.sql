-- pgbench-claims.sh: the claim-shaped table, made afresh before each mode.
-- The columns of Claimline's `claims` table (Sources/ClaimlineStoreSQLite/SQLiteSchemaV1.swift)
-- plus the idempotency key a write carries; two unique keys (claim_number, idempotency_key) and
-- two secondary indexes: a subscriber's claims by time, and all claims by time (ListClaims).
-- It lives in its own schema so that it never meets the store's tables.
DROP SCHEMA IF EXISTS claimline_bench CASCADE;
CREATE SCHEMA claimline_bench;
CREATE TABLE claimline_bench.claims (
    claim_number    text    NOT NULL PRIMARY KEY,
    idempotency_key text    NOT NULL UNIQUE,
    claim_year      integer NOT NULL,
    claim_seq       bigint  NOT NULL,
    call_id         text    NOT NULL,
    category_group  integer NOT NULL,
    category        integer NOT NULL,
    msisdn          text    NOT NULL,
    account_id      text    NOT NULL,
    value_tier      integer NOT NULL,
    region          text    NOT NULL,
    place_id        text    NOT NULL,
    description     text    NOT NULL,
    failure_reason  integer NOT NULL,
    incident_id     text    NOT NULL,
    agent_id        text    NOT NULL,
    department      text    NOT NULL,
    status          integer NOT NULL,
    created_at_ms   bigint  NOT NULL,
    due_at_ms       bigint  NOT NULL,
    updated_at_ms   bigint  NOT NULL
);
CREATE INDEX claims_by_msisdn ON claimline_bench.claims (msisdn, created_at_ms);
CREATE INDEX claims_by_created ON claimline_bench.claims (created_at_ms, claim_number);
