/* PROTOCOL.md section 8.1's failover algorithm with no I/O and no clock of its own: a port of
 * the Python reference planner (clients/python/claimline/failover.py, AddressBook and CallPlan).
 * The client's call path (claimline.c) carries out what it says; tests/failover_scenarios_test.c
 * replays proto/failover/scenarios.json against it. Internal to libclaimline.
 *
 * Times are milliseconds on any clock the caller chooses (the client: CLOCK_MONOTONIC). */
#ifndef CLAIMLINE_FAILOVER_H
#define CLAIMLINE_FAILOVER_H

#include <stddef.h>
#include <stdint.h>

/* The outcomes of one attempt (8.1's table), in its order. */
enum clm_outcome {
    CLM_ANSWER,             /* RESPONSE, or an ERROR not listed below: the call ends with it */
    CLM_CONNECT_FAILED,     /* no connection or HELLO_ACK; nothing was sent */
    CLM_GOAWAY_UNPROCESSED, /* GOAWAY above the stream, or the connection closing before the write */
    CLM_UNAVAILABLE,        /* ERROR 14, any reason but OUTCOME_UNKNOWN */
    CLM_EXHAUSTED,          /* ERROR 8 MAX_CONCURRENT_STREAMS */
    CLM_SERVER_DEADLINE,    /* ERROR 4 DEADLINE */
    CLM_OUTCOME_UNKNOWN,    /* ERROR 14 OUTCOME_UNKNOWN */
    CLM_LOST,               /* the connection closed or failed after the write, or its keepalive expired */
    CLM_ATTEMPT_TIMEOUT,    /* no answer within the attempt's timeout */
    CLM_N_OUTCOMES
};

/* What may be sent again after an unknown outcome. */
enum clm_kind {
    CLM_READ,
    CLM_WRITE,        /* with its idempotency key: every attempt sends the same bytes */
    CLM_KEYLESS_WRITE
};

/* 8.1's settings, in ms. */
typedef struct clm_failover_settings {
    int64_t attempt_timeout_ms, connect_timeout_ms, keepalive_interval_ms, keepalive_timeout_ms, idle_keepalive_ms,
        suspect_base_ms, suspect_max_ms, backoff_initial_ms, backoff_max_ms;
} clm_failover_settings;

/* Every client's defaults (8.1): 1000, 1000, 1000, 1000, 10000, 500, 5000, 50, 1000. */
extern const clm_failover_settings clm_failover_defaults;

/* Which address is current and which are suspect: shared by every call of one client. */
typedef struct clm_book {
    size_t count;
    clm_failover_settings settings;
    size_t current;
    unsigned failovers;       /* how many times `current` moved */
    int64_t *suspect_until;   /* per address; CLM_NEVER when not suspect */
    unsigned *failures;       /* per address: suspect outcomes since its last answer */
} clm_book;

#define CLM_NEVER INT64_MIN

/* 0, or -1 (count 0, no memory). clm_book_free() frees what init allocated. */
int clm_book_init(clm_book *b, size_t count, const clm_failover_settings *settings);
void clm_book_free(clm_book *b);
int clm_book_is_suspect(const clm_book *b, size_t index, int64_t now);
/* Step 6 alone: an answer clears the address, a suspect outcome makes it suspect (and moves
 * `current` off it). The call path uses it for what is no attempt of a call (an idle
 * connection's dead keepalive, a lost connection found by claimline_ping). */
void clm_book_record(clm_book *b, size_t index, enum clm_outcome outcome, int64_t now, int64_t retry_after_ms);

/* How a call ends (clm_step.end). */
enum clm_end {
    CLM_END_ANSWER,          /* the last attempt's answer is the call's */
    CLM_END_OUTCOME_UNKNOWN, /* a write one of whose attempts may have been applied: 14 OUTCOME_UNKNOWN */
    CLM_END_NO_ATTEMPT,      /* not even one attempt fitted the budget: 4 CLIENT_DEADLINE */
    CLM_END_CONNECT_FAILED,  /* every attempt was connect_failed: 14 CONNECT_FAILED */
    CLM_END_LAST,            /* the last attempt's error: the server's or the client's own status */
    CLM_END_STOPPED          /* clm_plan_stop(): an error of the caller's own */
};

/* The next step of a call: an attempt, or its end. */
typedef struct clm_step {
    int attempt;              /* 1: an attempt (address, at_ms, timeout_ms); 0: the call ends */
    size_t address;
    int64_t at_ms;            /* now, or later after the pause */
    int64_t timeout_ms;       /* the attempt's timeout, also the REQUEST's; >= 1 */
    enum clm_end end;         /* when attempt == 0 */
    int code;                 /* the end's status (0 for CLM_END_ANSWER) */
    const char *reason;       /* its reason ("" for CLM_END_ANSWER); valid while the plan lives */
} clm_step;

/* One logical call (steps 1 to 5 and the final error). */
typedef struct clm_plan {
    clm_book *book;
    enum clm_kind kind;
    int64_t deadline_ms;
    int last_address;         /* -1 before the first attempt */
    int last_outcome;         /* -1 before the first attempt */
    int last_code;
    char last_reason[64];
    char stop_reason[64];
    int64_t last_retry_after;
    unsigned waits, attempts;
    int unknown, only_connect_failures, ended;
    clm_step end_step;        /* once ended */
    double (*jitter)(void *arg); /* the pause's random factor in [0.5, 1]; NULL: 1 */
    void *jitter_arg;
} clm_plan;

void clm_plan_init(clm_plan *p, clm_book *book, enum clm_kind kind, int64_t start_ms, int64_t budget_ms,
                   double (*jitter)(void *arg), void *jitter_arg);
/* The next step at `now`: an attempt (at now or after the pause) or the end. After the end,
 * every call returns the same end. */
clm_step clm_plan_next(clm_plan *p, int64_t now);
/* The attempt `a` ended at `now` with `outcome`; code and reason are the server's status for an
 * ERROR (reason NULL: the client's own status for the outcome), retry_after_ms its hint. */
void clm_plan_record(clm_plan *p, const clm_step *a, enum clm_outcome outcome, int64_t now, int64_t retry_after_ms,
                     int code, const char *reason);
/* Ends the call with an error of the caller's own that is no attempt's outcome (a request over
 * the server's frame limit, a token every instance refuses): that error, except for a write an
 * attempt of which may have been applied, which ends OUTCOME_UNKNOWN all the same. */
clm_step clm_plan_stop(clm_plan *p, int code, const char *reason);

/* "answer", ... ; NULL for an unknown outcome. */
const char *clm_outcome_name(enum clm_outcome o);
/* 1 when the request may have been applied (outcome_unknown, lost, attempt_timeout). */
int clm_outcome_is_unknown(enum clm_outcome o);

#endif
