-- pgbench-claims.sh: one transaction = one INSERT statement of @ROWS@ claim-shaped rows.
-- A template: pgbench-claims.sh writes the mode's copy with @ROWS@ and @LAST@ (@ROWS@ - 1)
-- replaced, and runs it with -D n=0 (the counter's start). The bounds of the
-- series are constants on purpose: with parameters there, PostgreSQL never settles on a
-- generic plan for the prepared statement and plans it again at every execution (custom
-- plans), which doubled the CPU of a one-row transaction.
-- Keys never collide: each client counts its transactions in :n, and a row's number is
-- client_id * 2^32 + its index in that client's sequence, which both unique keys contain
-- (the idempotency key behind a random prefix, so that its inserts land all over its index,
-- as UUIDs would). A unique violation would abort the client and fail the run.
\set n :n + 1
\set base :client_id * 4294967296 + (:n - 1) * @ROWS@
INSERT INTO claimline_bench.claims (
    claim_number, idempotency_key, claim_year, claim_seq, call_id, category_group, category,
    msisdn, account_id, value_tier, region, place_id, description, failure_reason, incident_id,
    agent_id, department, status, created_at_ms, due_at_ms, updated_at_ms)
SELECT
    '2026-' || s.seq,
    lpad(to_hex((random() * 4294967295)::bigint), 8, '0') || '-' || to_hex(s.seq),
    2026,
    s.seq,
    'ucid-' || to_hex(s.seq),
    1 + (s.seq % 5)::int,
    1 + (s.seq % 23)::int,
    '+7916' || lpad((random() * 9999999)::int::text, 7, '0'),
    'acc-' || (s.seq % 1000003),
    1 + (s.seq % 4)::int,
    'RU-MOW',
    'place-17',
    'The subscriber reports that the balance was debited twice for the same monthly fee and '
        || 'the USSD balance request shows a different amount than the mobile portal; '
        || 'wants a refund. Call '
        || s.seq,
    0,
    '',
    'agent-042',
    'billing',
    1,
    t.ms,
    t.ms + 259200000,
    t.ms
FROM (SELECT :base::bigint + g AS seq FROM generate_series(0, @LAST@) AS g) AS s,
     (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms) AS t;
