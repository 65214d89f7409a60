/* PROTOCOL.md 8.1 as data: proto/failover/scenarios.json (argv[1]) replayed against the C
 * planner (src/failover.c), as clients/python/tests/test_failover_scenarios.py replays it
 * against the Python reference. The JSON is read by the small parser below (the file is the
 * source: nothing is generated from it). Then a few checks the table cannot make: the random
 * factor of the pause, the end repeated, a call stopped by the client. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failover.h"

#include "check.h"

/* ---- a small JSON parser (RFC 8259; numbers as doubles) ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jv {
    enum jtype t;
    double num;       /* J_NUM, J_BOOL (0/1) */
    char *str;        /* J_STR */
    size_t n;         /* J_ARR, J_OBJ: items */
    struct jv *items;
    char **keys;      /* J_OBJ */
} jv;

typedef struct jparser {
    const char *p, *end;
    const char *error;
} jparser;

static void jfree(jv *v)
{
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        jfree(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void skip_ws(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int jfail(jparser *j, const char *why)
{
    if (!j->error)
        j->error = why;
    return -1;
}

static void put_utf8(char *out, size_t *n, unsigned long cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(jparser *j, unsigned long *out)
{
    if (j->end - j->p < 4)
        return jfail(j, "short \\u escape");
    *out = 0;
    for (int i = 0; i < 4; i++) {
        char c = *j->p++;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return jfail(j, "bad \\u escape");
        *out = *out * 16 + (unsigned long)d;
    }
    return 0;
}

/* At the opening quote; a malloc'd, NUL-terminated UTF-8 string. */
static int parse_string(jparser *j, char **out)
{
    j->p++;
    char *s = malloc((size_t)(j->end - j->p) + 1); /* escapes never make it longer */
    size_t n = 0;
    if (!s)
        return jfail(j, "no memory");
    for (;;) {
        if (j->p >= j->end) {
            free(s);
            return jfail(j, "unterminated string");
        }
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"')
            break;
        if (c < 0x20) {
            free(s);
            return jfail(j, "control character in a string");
        }
        if (c != '\\') {
            s[n++] = (char)c;
            continue;
        }
        if (j->p >= j->end) {
            free(s);
            return jfail(j, "unterminated escape");
        }
        char e = *j->p++;
        unsigned long cp, lo;
        switch (e) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u':
            if (hex4(j, &cp) < 0) {
                free(s);
                return -1;
            }
            if (cp >= 0xD800 && cp < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                j->p += 2;
                if (hex4(j, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    free(s);
                    return jfail(j, "bad surrogate pair");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(s, &n, cp);
            break;
        default:
            free(s);
            return jfail(j, "bad escape");
        }
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

static int parse_value(jparser *j, jv *v, int depth);

/* At '[' or '{'. */
static int parse_container(jparser *j, jv *v, int depth)
{
    int obj = *j->p == '{';
    char close = obj ? '}' : ']';
    v->t = obj ? J_OBJ : J_ARR;
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    size_t cap = 0;
    for (;;) {
        if (v->n == cap) {
            cap = cap ? cap * 2 : 8;
            jv *items = realloc(v->items, cap * sizeof *items);
            if (items)
                v->items = items;
            char **keys = obj ? realloc(v->keys, cap * sizeof *keys) : NULL;
            if (keys)
                v->keys = keys;
            if (!items || (obj && !keys))
                return jfail(j, "no memory");
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        skip_ws(j);
        if (obj) {
            v->keys[v->n] = NULL;
            if (j->p >= j->end || *j->p != '"')
                return jfail(j, "expected a key");
            if (parse_string(j, &v->keys[v->n]) < 0)
                return -1;
            skip_ws(j);
            if (j->p >= j->end || *j->p != ':') {
                v->n++; /* the key is freed with the rest */
                return jfail(j, "expected ':'");
            }
            j->p++;
        }
        int r = parse_value(j, &v->items[v->n], depth + 1);
        v->n++;
        if (r < 0)
            return -1;
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        return jfail(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(jparser *j, jv *v, int depth)
{
    if (depth > 64)
        return jfail(j, "nested too deep");
    skip_ws(j);
    if (j->p >= j->end)
        return jfail(j, "unexpected end");
    char c = *j->p;
    if (c == '{' || c == '[')
        return parse_container(j, v, depth);
    if (c == '"') {
        v->t = J_STR;
        return parse_string(j, &v->str);
    }
    static const struct {
        const char *word;
        enum jtype t;
        double num;
    } words[] = {{"true", J_BOOL, 1}, {"false", J_BOOL, 0}, {"null", J_NULL, 0}};
    for (size_t i = 0; i < 3; i++) {
        size_t len = strlen(words[i].word);
        if ((size_t)(j->end - j->p) >= len && memcmp(j->p, words[i].word, len) == 0) {
            j->p += len;
            v->t = words[i].t;
            v->num = words[i].num;
            return 0;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char *after;
        v->t = J_NUM;
        v->num = strtod(j->p, &after); /* the file ends in a NUL: strtod stops there at the latest */
        if (after == j->p)
            return jfail(j, "bad number");
        j->p = after;
        return 0;
    }
    return jfail(j, "unexpected character");
}

static const jv *jget(const jv *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

/* A number field as an integer (ms); `missing` when absent; -999999 when not an integer. */
static int64_t jint(const jv *o, const char *key, int64_t missing)
{
    const jv *v = jget(o, key);
    if (!v)
        return missing;
    if (v->t != J_NUM || v->num != (double)(int64_t)v->num)
        return -999999;
    return (int64_t)v->num;
}

static const char *jstr(const jv *o, const char *key)
{
    const jv *v = jget(o, key);
    return v && v->t == J_STR ? v->str : NULL;
}

/* ---- the replay ---- */

static double table_jitter(void *arg) { return *(const double *)arg; }

static int outcome_of(const char *name)
{
    for (int o = 0; o < CLM_N_OUTCOMES; o++)
        if (name && strcmp(name, clm_outcome_name((enum clm_outcome)o)) == 0)
            return o;
    return -1;
}

static int kind_of(const char *name)
{
    return !name ? -1 : strcmp(name, "read") == 0 ? CLM_READ : strcmp(name, "write") == 0 ? CLM_WRITE
                       : strcmp(name, "keyless_write") == 0 ? CLM_KEYLESS_WRITE : -1;
}

static int read_settings(const jv *doc, clm_failover_settings *s)
{
    const jv *o = jget(doc, "settings");
    static const char *const names[] = {"attempt_timeout_ms", "connect_timeout_ms", "keepalive_interval_ms",
                                        "keepalive_timeout_ms", "idle_keepalive_ms", "suspect_base_ms",
                                        "suspect_max_ms", "backoff_initial_ms", "backoff_max_ms"};
    int64_t *fields[] = {&s->attempt_timeout_ms, &s->connect_timeout_ms, &s->keepalive_interval_ms,
                         &s->keepalive_timeout_ms, &s->idle_keepalive_ms, &s->suspect_base_ms,
                         &s->suspect_max_ms, &s->backoff_initial_ms, &s->backoff_max_ms};
    if (!o || o->t != J_OBJ || o->n != 9)
        return -1;
    for (size_t i = 0; i < 9; i++)
        if ((*fields[i] = jint(o, names[i], -1)) < 0)
            return -1;
    return 0;
}

static unsigned seen_outcomes, seen_kinds;

static void replay_call(const char *name, int number, clm_book *book, const jv *call, double *jitter)
{
    int kind = kind_of(jstr(call, "kind"));
    int64_t start = jint(call, "start_ms", -1), budget = jint(call, "budget_ms", -1);
    const jv *attempts = jget(call, "attempts"), *result = jget(call, "result");
    CHECK(kind >= 0 && start >= 0 && budget >= 0 && attempts && attempts->t == J_ARR && result);
    if (kind < 0 || start < 0 || budget < 0 || !attempts || attempts->t != J_ARR || !result)
        return;
    seen_kinds |= 1u << kind;
    clm_plan plan;
    clm_plan_init(&plan, book, (enum clm_kind)kind, start, budget, table_jitter, jitter);
    int64_t now = start;
    for (size_t i = 0; i < attempts->n; i++) {
        const jv *e = &attempts->items[i];
        int outcome = outcome_of(jstr(e, "outcome"));
        clm_step s = clm_plan_next(&plan, now);
        int64_t address = jint(e, "address", -1), at = jint(e, "at_ms", -1), timeout = jint(e, "timeout_ms", -1);
        int ok = s.attempt && (int64_t)s.address == address && s.at_ms == at && s.timeout_ms == timeout;
        CHECK(ok && outcome >= 0);
        if (!ok || outcome < 0) {
            fprintf(stderr, "  %s, call %d, attempt %zu: expected address %lld at %lld timeout %lld (%s), got ", name,
                    number, i + 1, (long long)address, (long long)at, (long long)timeout, jstr(e, "outcome"));
            if (s.attempt)
                fprintf(stderr, "address %zu at %lld timeout %lld\n", s.address, (long long)s.at_ms,
                        (long long)s.timeout_ms);
            else
                fprintf(stderr, "the end: %d %s\n", s.code, s.reason);
            return;
        }
        seen_outcomes |= 1u << outcome;
        int64_t after = outcome == CLM_ATTEMPT_TIMEOUT ? s.timeout_ms : jint(e, "after_ms", -1);
        CHECK(after >= 0);
        now = s.at_ms + after;
        const jv *status = jget(e, "status");
        int64_t code = status ? jint(status, "code", -1) : 0;
        const char *reason = status ? jstr(status, "reason") : NULL;
        CHECK(!status || (code > 0 && reason));
        clm_plan_record(&plan, &s, (enum clm_outcome)outcome, now, jint(e, "retry_after_ms", 0), (int)code, reason);
    }
    clm_step end = clm_plan_next(&plan, now);
    const jv *answer = jget(result, "answer");
    int ok;
    if (answer && answer->t == J_BOOL && answer->num == 1) {
        ok = !end.attempt && end.end == CLM_END_ANSWER;
    } else {
        const char *reason = jstr(result, "reason");
        ok = !end.attempt && end.end != CLM_END_ANSWER && end.code == jint(result, "code", -1) && reason &&
             strcmp(end.reason, reason) == 0;
    }
    CHECK(ok);
    if (!ok) {
        if (end.attempt)
            fprintf(stderr, "  %s, call %d: expected the end, got an attempt to %zu at %lld\n", name, number,
                    end.address, (long long)end.at_ms);
        else
            fprintf(stderr, "  %s, call %d: ended %d %s (end %d)\n", name, number, end.code, end.reason, (int)end.end);
    }
}

static void replay(const jv *doc)
{
    clm_failover_settings s;
    CHECK(jint(doc, "version", -1) == 1);
    CHECK(read_settings(doc, &s) == 0);
    /* The table uses the clients' defaults. */
    CHECK(memcmp(&s, &clm_failover_defaults, sizeof s) == 0);
    const jv *j = jget(doc, "jitter");
    CHECK(j && j->t == J_NUM);
    double jitter = j && j->t == J_NUM ? j->num : 1.0;
    const jv *scenarios = jget(doc, "scenarios");
    CHECK(scenarios && scenarios->t == J_ARR && scenarios->n > 0);
    for (size_t i = 0; scenarios && scenarios->t == J_ARR && i < scenarios->n; i++) {
        const jv *sc = &scenarios->items[i];
        const char *name = jstr(sc, "name");
        int64_t addresses = jint(sc, "addresses", -1);
        const jv *calls = jget(sc, "calls");
        CHECK(name && addresses >= 1 && calls && calls->t == J_ARR);
        if (!name || addresses < 1 || !calls || calls->t != J_ARR)
            continue;
        clm_book book;
        if (clm_book_init(&book, (size_t)addresses, &s) < 0) {
            perror("clm_book_init");
            exit(2);
        }
        int before = failures;
        for (size_t k = 0; k < calls->n; k++)
            replay_call(name, (int)k + 1, &book, &calls->items[k], &jitter);
        printf("  %-40s %s\n", name, failures == before ? "ok" : "FAILED");
        clm_book_free(&book);
    }
    /* Every outcome and kind is exercised. */
    CHECK(seen_outcomes == (1u << CLM_N_OUTCOMES) - 1);
    CHECK(seen_kinds == 7u);
}

/* ---- what the table cannot show ---- */

static double half(void *arg)
{
    (void)arg;
    return 0.5;
}

static void test_random_factor_and_retry_after(void)
{
    clm_book book;
    if (clm_book_init(&book, 1, &clm_failover_defaults) < 0)
        exit(2);
    clm_plan p;
    clm_plan_init(&p, &book, CLM_READ, 0, 10000, half, NULL);
    clm_step s = clm_plan_next(&p, 0);
    CHECK(s.attempt && s.at_ms == 0 && s.timeout_ms == 10000);
    clm_plan_record(&p, &s, CLM_CONNECT_FAILED, 1, 0, 0, NULL);
    s = clm_plan_next(&p, 1);
    CHECK(s.attempt && s.at_ms == 1 + 25); /* backoff_initial_ms × 0.5 */
    clm_plan_record(&p, &s, CLM_UNAVAILABLE, 30, 300, 14, "STORE_UNAVAILABLE");
    s = clm_plan_next(&p, 30);
    CHECK(s.attempt && s.at_ms == 30 + 300); /* never less than the server's hint */
    clm_plan_record(&p, &s, CLM_EXHAUSTED, 331, 0, 8, "MAX_CONCURRENT_STREAMS");
    s = clm_plan_next(&p, 331);
    CHECK(s.attempt && s.at_ms == 331 + 200 / 2); /* the third wait: 200 × 0.5 */
    clm_plan_record(&p, &s, CLM_ANSWER, 440, 0, 0, NULL);
    s = clm_plan_next(&p, 440);
    CHECK(!s.attempt && s.end == CLM_END_ANSWER);
    s = clm_plan_next(&p, 441); /* the same end again */
    CHECK(!s.attempt && s.end == CLM_END_ANSWER);
    CHECK(!clm_book_is_suspect(&book, 0, 440));
    clm_book_free(&book);
}

static void test_stop(void)
{
    clm_book book;
    if (clm_book_init(&book, 2, &clm_failover_defaults) < 0)
        exit(2);
    /* A write an attempt of which may have been applied ends OUTCOME_UNKNOWN, however it stops. */
    clm_plan p;
    clm_plan_init(&p, &book, CLM_WRITE, 0, 5000, NULL, NULL);
    clm_step s = clm_plan_next(&p, 0);
    clm_plan_record(&p, &s, CLM_LOST, 10, 0, 0, NULL);
    s = clm_plan_next(&p, 10);
    CHECK(s.attempt && s.address == 1 && s.at_ms == 10);
    s = clm_plan_stop(&p, 16, "UNAUTHENTICATED");
    CHECK(!s.attempt && s.end == CLM_END_OUTCOME_UNKNOWN && s.code == 14 && strcmp(s.reason, "OUTCOME_UNKNOWN") == 0);
    /* A read stops with the error given. */
    clm_plan_init(&p, &book, CLM_READ, 20, 5000, NULL, NULL);
    s = clm_plan_stop(&p, 8, "FRAME_TOO_LARGE");
    CHECK(!s.attempt && s.end == CLM_END_STOPPED && s.code == 8 && strcmp(s.reason, "FRAME_TOO_LARGE") == 0);
    s = clm_plan_next(&p, 30);
    CHECK(!s.attempt && s.end == CLM_END_STOPPED && s.code == 8);
    /* The book moved off the lost address: one failover. */
    CHECK(book.current == 1 && book.failovers == 1 && clm_book_is_suspect(&book, 0, 20));
    clm_book_free(&book);
}

static void test_parser(void)
{
    static const char *const bad[] = {"", "{", "[1,]", "{\"a\" 1}", "\"\\x\"", "tru", "[1 2]", "\"\\ud800\\u0041\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jparser j = {bad[i], bad[i] + strlen(bad[i]), NULL};
        jv v;
        memset(&v, 0, sizeof v);
        int r = parse_value(&j, &v, 0);
        CHECK(r < 0 && j.error);
        jfree(&v);
    }
    const char *good = " {\"s\": \"a\\\"\\u00e9\\ud83d\\ude00\", \"n\": [-1.5, 0, true, null], \"e\": {}} ";
    jparser j = {good, good + strlen(good), NULL};
    jv v;
    memset(&v, 0, sizeof v);
    CHECK(parse_value(&j, &v, 0) == 0);
    CHECK(jstr(&v, "s") && strcmp(jstr(&v, "s"), "a\"\xc3\xa9\xf0\x9f\x98\x80") == 0);
    const jv *n = jget(&v, "n");
    CHECK(n && n->t == J_ARR && n->n == 4 && n->items[0].num == -1.5 && n->items[2].t == J_BOOL);
    CHECK(jget(&v, "e") && jget(&v, "e")->t == J_OBJ && jget(&v, "e")->n == 0);
    jfree(&v);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    for (size_t r; b && (r = fread(b + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            char *bigger = realloc(b, cap * 2 + 1);
            if (!bigger) {
                free(b);
                b = NULL;
                break;
            }
            b = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    *len = n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s proto/failover/scenarios.json\n", argv[0]);
        return 2;
    }
    size_t len;
    char *text = read_file(argv[1], &len);
    if (!text) {
        perror(argv[1]);
        return 2;
    }
    jparser j = {text, text + len, NULL};
    jv doc;
    memset(&doc, 0, sizeof doc);
    int r = parse_value(&j, &doc, 0);
    skip_ws(&j);
    if (r < 0 || j.p != j.end || doc.t != J_OBJ) {
        fprintf(stderr, "%s: not a JSON object: %s at byte %ld\n", argv[1], j.error ? j.error : "trailing text",
                (long)(j.p - text));
        jfree(&doc);
        free(text);
        return 2;
    }
    replay(&doc);
    jfree(&doc);
    free(text);
    test_random_factor_and_retry_after();
    test_stop();
    test_parser();
    printf("failover_scenarios: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
