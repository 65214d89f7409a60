/* PROTOCOL.md 8.1's failover algorithm as a pure planner (see failover.h): a line-by-line port
 * of clients/python/claimline/failover.py. One deliberate difference, invisible in the scenario
 * table (whose random factor is 1): the random factor spreads the backoff only, and the pause is
 * never shorter than the server's retry_after_ms (the reference multiplies retry_after_ms too,
 * so a pause could be half the server's hint). */
#include "failover.h"

#include <stdlib.h>
#include <string.h>

const clm_failover_settings clm_failover_defaults = {
    .attempt_timeout_ms = 1000,
    .connect_timeout_ms = 1000,
    .keepalive_interval_ms = 1000,
    .keepalive_timeout_ms = 1000,
    .idle_keepalive_ms = 10000,
    .suspect_base_ms = 500,
    .suspect_max_ms = 5000,
    .backoff_initial_ms = 50,
    .backoff_max_ms = 1000,
};

static const char *const outcome_names[CLM_N_OUTCOMES] = {
    "answer", "connect_failed", "goaway_unprocessed", "unavailable", "exhausted",
    "server_deadline", "outcome_unknown", "lost", "attempt_timeout",
};

const char *clm_outcome_name(enum clm_outcome o)
{
    return (unsigned)o < CLM_N_OUTCOMES ? outcome_names[o] : NULL;
}

int clm_outcome_is_unknown(enum clm_outcome o)
{
    return o == CLM_OUTCOME_UNKNOWN || o == CLM_LOST || o == CLM_ATTEMPT_TIMEOUT;
}

/* The instance is skipped for a while. */
static int is_suspect_outcome(enum clm_outcome o)
{
    return o == CLM_CONNECT_FAILED || o == CLM_GOAWAY_UNPROCESSED || o == CLM_UNAVAILABLE || clm_outcome_is_unknown(o);
}

/* min(cap, base × 2^(k-1)) for k >= 1, without overflow. */
static int64_t doubled(int64_t base, unsigned k, int64_t cap)
{
    if (base <= 0)
        return 0;
    int64_t v = base;
    for (unsigned i = 1; i < k && v < cap; i++)
        v *= 2;
    return v < cap ? v : cap;
}

/* ---- the address book ---- */

int clm_book_init(clm_book *b, size_t count, const clm_failover_settings *settings)
{
    memset(b, 0, sizeof *b);
    if (count < 1)
        return -1;
    b->suspect_until = malloc(count * sizeof *b->suspect_until);
    b->failures = calloc(count, sizeof *b->failures);
    if (!b->suspect_until || !b->failures) {
        clm_book_free(b);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        b->suspect_until[i] = CLM_NEVER;
    b->count = count;
    b->settings = *settings;
    return 0;
}

void clm_book_free(clm_book *b)
{
    free(b->suspect_until);
    free(b->failures);
    b->suspect_until = NULL;
    b->failures = NULL;
    b->count = 0;
}

int clm_book_is_suspect(const clm_book *b, size_t index, int64_t now)
{
    return b->suspect_until[index] > now;
}

static void book_move(clm_book *b, size_t index)
{
    if (index != b->current) {
        b->current = index;
        b->failovers++;
    }
}

/* Step 1: the current address, else the next one that is not suspect (which becomes current),
 * else round robin after `last_tried` (-1: after the current one). */
static size_t book_choose(clm_book *b, int64_t now, int last_tried)
{
    if (!clm_book_is_suspect(b, b->current, now))
        return b->current;
    for (size_t step = 1; step < b->count; step++) {
        size_t candidate = (b->current + step) % b->count;
        if (!clm_book_is_suspect(b, candidate, now)) {
            book_move(b, candidate);
            return candidate;
        }
    }
    size_t start = last_tried < 0 ? b->current : (size_t)last_tried;
    return (start + 1) % b->count;
}

void clm_book_record(clm_book *b, size_t index, enum clm_outcome outcome, int64_t now, int64_t retry_after_ms)
{
    if (outcome == CLM_ANSWER) {
        b->failures[index] = 0;
        b->suspect_until[index] = CLM_NEVER;
        return;
    }
    if (!is_suspect_outcome(outcome))
        return;
    if (b->failures[index] < 64)
        b->failures[index]++;
    int64_t span = doubled(b->settings.suspect_base_ms, b->failures[index], b->settings.suspect_max_ms);
    b->suspect_until[index] = now + (span > retry_after_ms ? span : retry_after_ms);
    if (index == b->current && b->count > 1) {
        for (size_t step = 1; step < b->count; step++) {
            size_t candidate = (index + step) % b->count;
            if (!clm_book_is_suspect(b, candidate, now)) {
                book_move(b, candidate);
                break;
            }
        }
    }
}

/* ---- one call ---- */

void clm_plan_init(clm_plan *p, clm_book *book, enum clm_kind kind, int64_t start_ms, int64_t budget_ms,
                   double (*jitter)(void *arg), void *jitter_arg)
{
    memset(p, 0, sizeof *p);
    p->book = book;
    p->kind = kind;
    p->deadline_ms = start_ms + budget_ms;
    p->last_address = -1;
    p->last_outcome = -1;
    p->only_connect_failures = 1;
    p->jitter = jitter;
    p->jitter_arg = jitter_arg;
}

static clm_step finish(clm_plan *p, enum clm_end end, int code, const char *reason)
{
    p->ended = 1;
    memset(&p->end_step, 0, sizeof p->end_step);
    p->end_step.end = end;
    p->end_step.code = code;
    p->end_step.reason = reason;
    return p->end_step;
}

/* The final error (8.1, "The final error tells the truth"). */
static clm_step final_error(clm_plan *p)
{
    if (p->kind != CLM_READ && p->unknown)
        return finish(p, CLM_END_OUTCOME_UNKNOWN, 14, "OUTCOME_UNKNOWN");
    if (p->attempts == 0)
        return finish(p, CLM_END_NO_ATTEMPT, 4, "CLIENT_DEADLINE");
    if (p->only_connect_failures)
        return finish(p, CLM_END_CONNECT_FAILED, 14, "CONNECT_FAILED");
    return finish(p, CLM_END_LAST, p->last_code, p->last_reason);
}

static int retried(const clm_plan *p, enum clm_outcome o)
{
    return !(p->kind == CLM_KEYLESS_WRITE && clm_outcome_is_unknown(o));
}

clm_step clm_plan_next(clm_plan *p, int64_t now)
{
    if (p->ended) /* the same end again */
        return p->end_step;
    if (p->last_outcome == CLM_ANSWER)
        return finish(p, CLM_END_ANSWER, 0, "");
    if (p->last_outcome >= 0 && !retried(p, (enum clm_outcome)p->last_outcome))
        return final_error(p);
    clm_book *b = p->book;
    size_t address = book_choose(b, now, p->last_address);
    int64_t pause = 0;
    if (p->last_outcome >= 0) {
        int moved_on = (int)address != p->last_address && !clm_book_is_suspect(b, address, now);
        if (!moved_on) {
            p->waits++;
            int64_t base = doubled(b->settings.backoff_initial_ms, p->waits, b->settings.backoff_max_ms);
            double factor = p->jitter ? p->jitter(p->jitter_arg) : 1.0;
            pause = (int64_t)((double)base * factor);
            if (pause < p->last_retry_after)
                pause = p->last_retry_after;
        }
    }
    int64_t start = now + pause;
    if (start + 1 > p->deadline_ms)
        return final_error(p);
    int64_t remaining = p->deadline_ms - start;
    clm_step s;
    memset(&s, 0, sizeof s);
    s.attempt = 1;
    s.address = address;
    s.at_ms = start;
    s.timeout_ms = b->count > 1 && b->settings.attempt_timeout_ms < remaining ? b->settings.attempt_timeout_ms
                                                                             : remaining;
    return s;
}

/* The client's own status for outcomes that carry none of the server's (8.1, final error 3). */
static void default_status(enum clm_outcome o, int *code, const char **reason)
{
    switch (o) {
    case CLM_CONNECT_FAILED: *code = 14, *reason = "CONNECT_FAILED"; break;
    case CLM_GOAWAY_UNPROCESSED: *code = 14, *reason = "GOAWAY_UNPROCESSED"; break;
    case CLM_LOST: *code = 14, *reason = "CONNECTION_CLOSED"; break;
    case CLM_ATTEMPT_TIMEOUT: *code = 4, *reason = "CLIENT_DEADLINE"; break;
    case CLM_UNAVAILABLE: *code = 14, *reason = "STORE_UNAVAILABLE"; break;
    case CLM_EXHAUSTED: *code = 8, *reason = "MAX_CONCURRENT_STREAMS"; break;
    case CLM_SERVER_DEADLINE: *code = 4, *reason = "DEADLINE"; break;
    case CLM_OUTCOME_UNKNOWN: *code = 14, *reason = "OUTCOME_UNKNOWN"; break;
    default: *code = 14, *reason = ""; break;
    }
}

static void copy_reason(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void clm_plan_record(clm_plan *p, const clm_step *a, enum clm_outcome outcome, int64_t now, int64_t retry_after_ms,
                     int code, const char *reason)
{
    p->attempts++;
    p->last_address = (int)a->address;
    p->last_outcome = (int)outcome;
    p->last_retry_after = retry_after_ms;
    if (!reason)
        default_status(outcome, &code, &reason);
    p->last_code = code;
    copy_reason(p->last_reason, sizeof p->last_reason, reason);
    if (clm_outcome_is_unknown(outcome))
        p->unknown = 1;
    if (outcome != CLM_CONNECT_FAILED)
        p->only_connect_failures = 0;
    clm_book_record(p->book, a->address, outcome, now, retry_after_ms);
}

clm_step clm_plan_stop(clm_plan *p, int code, const char *reason)
{
    if (p->kind != CLM_READ && p->unknown)
        return finish(p, CLM_END_OUTCOME_UNKNOWN, 14, "OUTCOME_UNKNOWN");
    copy_reason(p->stop_reason, sizeof p->stop_reason, reason);
    return finish(p, CLM_END_STOPPED, code, p->stop_reason);
}
