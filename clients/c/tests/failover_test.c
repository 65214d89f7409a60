/* The failover client (claimline_connect_config, PROTOCOL.md 8.1) against scripted fake servers,
 * each on its own loopback port and thread: what is sent again, to which address, with which
 * bytes and timeout, and what the caller is told instead; the keepalives; the attempt's timeout
 * (RST on a silent connection, CANCEL on one that is not); retry_after_ms; address lists;
 * handshake refusals. Timings are only checked against bounds the algorithm guarantees (a
 * lower bound it must wait, an upper bound of the call's own budget). */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "claimline.h"
#include "frame.h"

#include "check.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the fake servers ---- */

#define MAX_REQUESTS 64

struct fake;
typedef void (*script_fn)(struct fake *f, int fd, int n);

struct fake {
    int listener;
    int port;
    char address[32];
    script_fn script;
    pthread_t thread;
    atomic_int stop;
    /* Read by the test after fake_stop() only. */
    int connections;
    int n_requests;
    uint8_t *message[MAX_REQUESTS]; /* each REQUEST's message bytes (after the timeout) */
    size_t message_len[MAX_REQUESTS];
    uint32_t timeout_ms[MAX_REQUESTS];
    int64_t request_at[MAX_REQUESTS]; /* when it was read */
    int64_t error_at;                 /* when the last scripted ERROR was sent */
    int pings, pings_before_request, cancels, goaways;
    int resets;   /* connections the client ended with RST (read: ECONNRESET) */
    int closes;   /* ... with FIN */
    int script_failed;
    /* Script parameters. */
    uint32_t code;
    const char *reason;
    uint32_t retry_after_ms;
    int answer_pings; /* PONG the client's PINGs */
};

/* How the last read of this thread ended: 0 at EOF, else its errno. */
static _Thread_local int read_errno;

static int read_exact(int fd, uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            read_errno = r < 0 ? errno : 0;
            return -1;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static void send_frame(int fd, uint8_t type, uint16_t method, uint32_t stream, const ProtobufCMessage *msg,
                       const uint8_t *raw, size_t raw_len)
{
    uint8_t *frame;
    size_t len;
    if (clm_frame_encode(type, method, stream, 0, msg, raw, raw_len, CLM_MAX_FRAME_LIMIT, &frame, &len, NULL))
        return;
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, frame + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(frame);
}

/* One frame from the client; *payload malloc'd (the caller frees it). -1 on EOF, error or timeout. */
static int recv_frame(int fd, clm_header *h, uint8_t **payload)
{
    uint8_t hb[CLM_HEADER_LEN];
    *payload = NULL;
    if (read_exact(fd, hb, sizeof hb) < 0)
        return -1;
    clm_header_decode(hb, h);
    if (h->length > 65536 || !(*payload = malloc(h->length + 1)))
        return -1;
    if (read_exact(fd, *payload, h->length) < 0) {
        free(*payload);
        *payload = NULL;
        return -1;
    }
    return 0;
}

/* After a read failed: how the client ended the connection. */
static void note_end(struct fake *f)
{
    if (read_errno == ECONNRESET)
        f->resets++;
    else if (read_errno == 0)
        f->closes++;
}

static int handshake(struct fake *f, int fd)
{
    uint8_t preface[CLM_PREFACE_LEN], *p;
    clm_header h;
    if (read_exact(fd, preface, sizeof preface) < 0 || recv_frame(fd, &h, &p) < 0 || h.type != CLM_HELLO) {
        f->script_failed = 1;
        return -1;
    }
    free(p);
    Claimline__V1__HelloAck ack = CLAIMLINE__V1__HELLO_ACK__INIT;
    ack.session_id = "s-fake";
    ack.server_name = "fake";
    ack.max_frame_size = 65536;
    ack.role = "admin";
    send_frame(fd, CLM_HELLO_ACK, 0, 0, &ack.base, NULL, 0);
    return 0;
}

static void record_request(struct fake *f, const clm_header *h, const uint8_t *p)
{
    if (f->n_requests >= MAX_REQUESTS || h->length < 4)
        return;
    int i = f->n_requests++;
    f->request_at[i] = now_ms();
    f->timeout_ms[i] = clm_get_u32(p);
    f->message_len[i] = h->length - 4;
    f->message[i] = malloc(h->length - 4 + 1);
    if (f->message[i])
        memcpy(f->message[i], p + 4, h->length - 4);
    if (i == 0)
        f->pings_before_request = f->pings;
}

/* Reads frames until the client closes the connection or says GOAWAY. REQUESTs are recorded
 * and handed to `act` (NULL: never answered), PINGs counted (answered with f->answer_pings),
 * CANCELs counted; how the connection ended is noted. */
static void serve_loop(struct fake *f, int fd, void (*act)(struct fake *f, int fd, const clm_header *h, int i))
{
    clm_header h;
    uint8_t *p;
    while (recv_frame(fd, &h, &p) == 0) {
        switch (h.type) {
        case CLM_REQUEST:
            record_request(f, &h, p);
            if (act)
                act(f, fd, &h, f->n_requests - 1);
            break;
        case CLM_PING:
            f->pings++;
            if (f->answer_pings && h.length == 8)
                send_frame(fd, CLM_PONG, 0, 0, NULL, p, 8);
            break;
        case CLM_CANCEL:
            f->cancels++;
            break;
        case CLM_GOAWAY:
            f->goaways++;
            free(p);
            return;
        default:
            break;
        }
        free(p);
    }
    note_end(f);
}

/* Reads a REQUEST and records it; -1 if something else came. */
static int request(struct fake *f, int fd, clm_header *h)
{
    uint8_t *p;
    if (recv_frame(fd, h, &p) < 0 || h->type != CLM_REQUEST || h->length < 4) {
        free(p);
        f->script_failed = 1;
        return -1;
    }
    record_request(f, h, p);
    free(p);
    return 0;
}

static void answer(int fd, const clm_header *h)
{
    if (h->method == CLAIMLINE_METHOD_ESCALATE) {
        Claimline__V1__EscalateResponse r = CLAIMLINE__V1__ESCALATE_RESPONSE__INIT;
        r.decision = CLAIMLINE__V1__ESCALATE_DECISION__ESCALATE_DECISION_FILE_CLAIM;
        r.rule = "scripted";
        send_frame(fd, CLM_RESPONSE, h->method, h->stream_id, &r.base, NULL, 0);
    } else {
        Claimline__V1__GetStatsResponse r = CLAIMLINE__V1__GET_STATS_RESPONSE__INIT;
        r.escalations = 42;
        send_frame(fd, CLM_RESPONSE, h->method, h->stream_id, &r.base, NULL, 0);
    }
}

static void error_frame(int fd, const clm_header *h, uint32_t code, const char *reason, uint32_t retry_after_ms)
{
    char message[96];
    snprintf(message, sizeof message, "scripted %s", reason);
    Claimline__V1__RpcStatus st = CLAIMLINE__V1__RPC_STATUS__INIT;
    st.code = code;
    st.reason = (char *)reason;
    st.message = message;
    st.retry_after_ms = retry_after_ms;
    send_frame(fd, CLM_ERROR, h->method, h->stream_id, &st.base, NULL, 0);
}

static void goaway(int fd, uint32_t last, uint32_t code, const char *reason)
{
    Claimline__V1__GoAway g = CLAIMLINE__V1__GO_AWAY__INIT;
    g.last_stream_id = last;
    g.code = code;
    g.reason = (char *)reason;
    g.message = "scripted";
    send_frame(fd, CLM_GOAWAY, 0, 0, &g.base, NULL, 0);
}

static void *fake_run(void *arg)
{
    struct fake *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = f->listener, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(f->listener, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {5, 0}; /* a script never waits longer for the client */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        f->script(f, fd, f->connections++);
        close(fd);
    }
    return NULL;
}

static struct fake *fake_start(script_fn script)
{
    struct fake *f = calloc(1, sizeof *f);
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!f || (f->listener = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(f->listener, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(f->listener, 16) < 0 || getsockname(f->listener, (struct sockaddr *)&a, &len) < 0) {
        perror("fake_start");
        exit(2);
    }
    f->port = ntohs(a.sin_port);
    snprintf(f->address, sizeof f->address, "127.0.0.1:%d", f->port);
    f->script = script;
    atomic_init(&f->stop, 0);
    if (pthread_create(&f->thread, NULL, fake_run, f) != 0) {
        perror("pthread_create");
        exit(2);
    }
    return f;
}

/* Stops the accept loop (after the script of a connection in progress) and joins it. */
static void fake_stop(struct fake *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->listener);
    CHECK(!f->script_failed);
}

static void fake_free(struct fake *f)
{
    for (int i = 0; i < f->n_requests; i++)
        free(f->message[i]);
    free(f);
}

static int same_message(const struct fake *a, int i, const struct fake *b, int j)
{
    return i < a->n_requests && j < b->n_requests && a->message_len[i] == b->message_len[j] &&
           memcmp(a->message[i], b->message[j], a->message_len[i]) == 0;
}

/* ---- scripts ---- */

static void act_answer(struct fake *f, int fd, const clm_header *h, int i)
{
    (void)f, (void)i;
    answer(fd, h);
}

/* Every request: the scripted ERROR. */
static void act_error(struct fake *f, int fd, const clm_header *h, int i)
{
    (void)i;
    error_frame(fd, h, f->code, f->reason, f->retry_after_ms);
}

static void s_serve(struct fake *f, int fd, int n)
{
    (void)n;
    if (handshake(f, fd) == 0)
        serve_loop(f, fd, act_answer);
}

/* Handshake, then reads everything and answers nothing (PINGs neither, unless answer_pings). */
static void s_silent(struct fake *f, int fd, int n)
{
    (void)n;
    if (handshake(f, fd) == 0)
        serve_loop(f, fd, NULL);
}

/* A process frozen after its first connection's handshake: that connection hears nothing more,
 * and a later one is accepted by the kernel but never answered, HELLO included. */
static void s_frozen(struct fake *f, int fd, int n)
{
    if (n == 0)
        s_silent(f, fd, n);
    else
        serve_loop(f, fd, NULL);
}

static void s_silent_then_serve(struct fake *f, int fd, int n)
{
    if (n == 0)
        s_silent(f, fd, n);
    else
        s_serve(f, fd, n);
}

static void s_error(struct fake *f, int fd, int n)
{
    (void)n;
    if (handshake(f, fd) == 0)
        serve_loop(f, fd, act_error);
}

static void s_read_then_close(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h;
    if (handshake(f, fd) == 0)
        request(f, fd, &h); /* closes without answering: the outcome is unknown */
}

/* The first connection reads a request and closes; later ones answer the scripted ERROR. */
static void s_lost_then_error(struct fake *f, int fd, int n)
{
    if (n == 0)
        s_read_then_close(f, fd, n);
    else
        s_error(f, fd, n);
}

static void s_answer_once(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h;
    if (handshake(f, fd) < 0 || request(f, fd, &h) < 0)
        return;
    answer(fd, &h);
    serve_loop(f, fd, NULL);
}

/* The first request: the scripted ERROR (error_at noted); the others: answered. */
static void act_error_then_answer(struct fake *f, int fd, const clm_header *h, int i)
{
    if (i == 0) {
        f->error_at = now_ms();
        error_frame(fd, h, f->code, f->reason, f->retry_after_ms);
    } else {
        answer(fd, h);
    }
}

static void s_error_then_answer(struct fake *f, int fd, int n)
{
    (void)n;
    if (handshake(f, fd) == 0)
        serve_loop(f, fd, act_error_then_answer);
}

/* Requests 0 and 2: ERROR 14 STORE_READ (retry_after_ms 300, then 5000); 1: answered. */
static void act_busy_then_fine(struct fake *f, int fd, const clm_header *h, int i)
{
    if (i == 1) {
        answer(fd, h);
        return;
    }
    f->error_at = now_ms();
    error_frame(fd, h, CLAIMLINE_UNAVAILABLE, "STORE_READ", i == 0 ? 300 : 5000);
}

static void s_busy_then_fine(struct fake *f, int fd, int n)
{
    (void)n;
    if (handshake(f, fd) == 0)
        serve_loop(f, fd, act_busy_then_fine);
}

/* A request, then a PING of the server's own (so the client receives something), then silence. */
static void act_ping_then_silent(struct fake *f, int fd, const clm_header *h, int i)
{
    (void)f, (void)h, (void)i;
    static const uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    send_frame(fd, CLM_PING, 0, 0, NULL, data, sizeof data);
}

static void s_ping_then_silent(struct fake *f, int fd, int n)
{
    (void)n;
    if (handshake(f, fd) == 0)
        serve_loop(f, fd, act_ping_then_silent);
}

/* Busy but alive: a request is answered once three of the client's PINGs were (PONG). */
static void s_slow_but_alive(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h, r;
    uint8_t *p;
    if (handshake(f, fd) < 0 || request(f, fd, &r) < 0)
        return;
    while (f->pings < 3 && recv_frame(fd, &h, &p) == 0) {
        if (h.type == CLM_PING && h.length == 8) {
            f->pings++;
            send_frame(fd, CLM_PONG, 0, 0, NULL, p, 8);
        }
        free(p);
    }
    answer(fd, &r);
    serve_loop(f, fd, NULL);
}

static void s_goaway_above(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h;
    if (handshake(f, fd) == 0 && request(f, fd, &h) == 0)
        goaway(fd, 0, 0, "SHUTDOWN");
}

static void s_goaway_covering(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h;
    if (handshake(f, fd) == 0 && request(f, fd, &h) == 0)
        goaway(fd, h.stream_id, 0, "SHUTDOWN"); /* ... and closes without the promised answer */
}

static const struct {
    uint32_t code;
    const char *reason;
} final_codes[] = {
    {CLAIMLINE_INVALID_ARGUMENT, "INVALID_FIELD"},   {CLAIMLINE_FAILED_PRECONDITION, "CONTACT_STATE"},
    {CLAIMLINE_ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED"}, {CLAIMLINE_PERMISSION_DENIED, "ROLE"},
    {CLAIMLINE_NOT_FOUND, "CLAIM_NOT_FOUND"},        {CLAIMLINE_RESOURCE_EXHAUSTED, "RESPONSE_TOO_LARGE"},
};
#define N_FINAL (sizeof final_codes / sizeof final_codes[0])

static void act_final_codes(struct fake *f, int fd, const clm_header *h, int i)
{
    (void)f;
    if ((size_t)i < N_FINAL)
        error_frame(fd, h, final_codes[i].code, final_codes[i].reason, 0);
}

static void s_final_codes(struct fake *f, int fd, int n)
{
    (void)n;
    if (handshake(f, fd) == 0)
        serve_loop(f, fd, act_final_codes);
}

static void s_refuse_hello(struct fake *f, int fd, int n)
{
    (void)n;
    uint8_t preface[CLM_PREFACE_LEN], *p;
    clm_header h;
    if (read_exact(fd, preface, sizeof preface) < 0 || recv_frame(fd, &h, &p) < 0) {
        f->script_failed = 1;
        return;
    }
    free(p);
    goaway(fd, 0, f->code, f->reason);
}

static void s_idle_then_serve(struct fake *f, int fd, int n)
{
    if (n > 0) {
        s_serve(f, fd, n);
        return;
    }
    if (handshake(f, fd) == 0)
        goaway(fd, 0, f->code, f->reason); /* then closes the idle connection */
}

/* ---- the client's side ---- */

/* A failover client of a (and b) with the settings in *cfg (NULL: every default). */
static claimline_client *connect_cfg(struct fake *a, struct fake *b, claimline_config *cfg)
{
    char list[80];
    if (b)
        snprintf(list, sizeof list, "%s,%s", a->address, b->address);
    else
        snprintf(list, sizeof list, "%s", a->address);
    claimline_config defaults = CLAIMLINE_CONFIG_INIT;
    if (!cfg)
        cfg = &defaults;
    cfg->addresses = list;
    cfg->token = "token";
    cfg->client_name = "c-fake";
    claimline_client *c = NULL;
    claimline_error err;
    if (claimline_connect_config(cfg, 5000, &c, &err) != 0) {
        fprintf(stderr, "connect %s: %s %s\n", list, err.reason, err.message);
        exit(2);
    }
    cfg->addresses = NULL;
    return c;
}

static claimline_client *connect_to(struct fake *a, struct fake *b) { return connect_cfg(a, b, NULL); }

/* An escalate with `key` (NULL: none); returns the code. */
static int write_call(claimline_client *c, const char *key, int timeout_ms, claimline_error *err)
{
    Claimline__V1__EscalateRequest req = CLAIMLINE__V1__ESCALATE_REQUEST__INIT;
    if (key)
        req.idempotency_key = (char *)key;
    req.call_id = "UCID-1";
    req.agent_id = "ivr-7";
    Claimline__V1__EscalateResponse *resp = NULL;
    int r = claimline_escalate(c, &req, timeout_ms, &resp, err);
    if (r == 0) {
        CHECK(resp->decision == CLAIMLINE__V1__ESCALATE_DECISION__ESCALATE_DECISION_FILE_CLAIM);
        claimline__v1__escalate_response__free_unpacked(resp, NULL);
    }
    return r;
}

static int read_call(claimline_client *c, int timeout_ms, claimline_error *err)
{
    Claimline__V1__GetStatsRequest req = CLAIMLINE__V1__GET_STATS_REQUEST__INIT;
    Claimline__V1__GetStatsResponse *resp = NULL;
    int r = claimline_get_stats(c, &req, timeout_ms, &resp, err);
    if (r == 0) {
        CHECK(resp->escalations == 42);
        claimline__v1__get_stats_response__free_unpacked(resp, NULL);
    }
    return r;
}

static void stop_all(struct fake *a, struct fake *b)
{
    fake_stop(a);
    if (b)
        fake_stop(b);
}

static void free_all(struct fake *a, struct fake *b)
{
    fake_free(a);
    if (b)
        fake_free(b);
}

/* ---- what is sent again, and the final error ---- */

static void test_keyless_write_lost_is_not_retried(void)
{
    struct fake *a = fake_start(s_read_then_close), *b = fake_start(s_serve);
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    CHECK(write_call(c, NULL, 3000, &err) == CLAIMLINE_UNAVAILABLE);
    /* 8.1: the caller is never told "not applied" when it may have been: OUTCOME_UNKNOWN. */
    CHECK(strcmp(err.reason, "OUTCOME_UNKNOWN") == 0 && strstr(err.message, "not retried") != NULL);
    CHECK(strstr(err.message, "CONNECTION_CLOSED") != NULL); /* the attempt, in the trail */
    CHECK(strcmp(claimline_last_served_address(c), "") == 0 && strcmp(claimline_address(c), "") == 0);
    CHECK(claimline_failovers(c) == 1); /* a is suspect: b is current now */
    /* A read goes to b. */
    CHECK(read_call(c, 3000, &err) == 0);
    CHECK(strcmp(claimline_last_served_address(c), b->address) == 0 && claimline_failovers(c) == 1);
    claimline_close(c);
    stop_all(a, b);
    CHECK(a->n_requests == 1 && b->n_requests == 1); /* the write never reached b */
    free_all(a, b);
}

static void test_keyed_write_goes_again_with_the_same_bytes(void)
{
    struct fake *a = fake_start(s_read_then_close), *b = fake_start(s_answer_once);
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    char key[37];
    claimline_new_idempotency_key(key);
    CHECK(write_call(c, key, 3000, &err) == 0);
    CHECK(strcmp(claimline_last_served_address(c), b->address) == 0 && claimline_failovers(c) == 1);
    claimline_close(c);
    stop_all(a, b);
    CHECK(same_message(a, 0, b, 0));
    /* Each REQUEST carries its attempt's timeout (attempt_timeout_ms, 1000), not the call's 3000. */
    CHECK(a->n_requests == 1 && b->n_requests == 1);
    CHECK(0 < a->timeout_ms[0] && a->timeout_ms[0] <= 1000 && 0 < b->timeout_ms[0] && b->timeout_ms[0] <= 1000);
    Claimline__V1__EscalateRequest *sent =
        b->n_requests ? claimline__v1__escalate_request__unpack(NULL, b->message_len[0], b->message[0]) : NULL;
    CHECK(sent && strcmp(sent->idempotency_key, key) == 0);
    if (sent)
        claimline__v1__escalate_request__free_unpacked(sent, NULL);
    free_all(a, b);
}

static void test_outcome_unknown(void)
{
    /* With a key: sent again, same bytes. */
    struct fake *a = fake_start(s_error), *b = fake_start(s_answer_once);
    a->code = CLAIMLINE_UNAVAILABLE;
    a->reason = "OUTCOME_UNKNOWN";
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    CHECK(write_call(c, "key-1", 3000, &err) == 0);
    CHECK(claimline_failovers(c) == 1 && strcmp(claimline_last_served_address(c), b->address) == 0);
    claimline_close(c);
    stop_all(a, b);
    CHECK(same_message(a, 0, b, 0));
    free_all(a, b);

    /* Without: returned, and the second address never hears of it. */
    a = fake_start(s_error);
    b = fake_start(s_serve);
    a->code = CLAIMLINE_UNAVAILABLE;
    a->reason = "OUTCOME_UNKNOWN";
    c = connect_to(a, b);
    CHECK(write_call(c, NULL, 3000, &err) == CLAIMLINE_UNAVAILABLE);
    CHECK(strcmp(err.reason, "OUTCOME_UNKNOWN") == 0 && strstr(err.message, "not retried") != NULL);
    claimline_close(c);
    stop_all(a, b);
    CHECK(b->connections == 0);
    free_all(a, b);
}

/* A keyed write whose first attempt was lost, then "not applied" everywhere until the budget
 * ends: the caller is told OUTCOME_UNKNOWN, not the last attempt's STORE_UNAVAILABLE. */
static void test_keyed_write_lost_then_not_applied_is_unknown(void)
{
    struct fake *a = fake_start(s_lost_then_error), *b = fake_start(s_error);
    a->code = b->code = CLAIMLINE_UNAVAILABLE;
    a->reason = b->reason = "STORE_UNAVAILABLE";
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    int64_t t0 = now_ms();
    CHECK(write_call(c, "key-2", 1500, &err) == CLAIMLINE_UNAVAILABLE);
    CHECK(now_ms() - t0 <= 1500 + 1000);
    CHECK(strcmp(err.reason, "OUTCOME_UNKNOWN") == 0);
    CHECK(strstr(err.message, "retry with the same idempotency key") != NULL);
    CHECK(strstr(err.message, "STORE_UNAVAILABLE") != NULL); /* the later attempts, in the trail */
    claimline_close(c);
    stop_all(a, b);
    CHECK(a->n_requests >= 1 && b->n_requests >= 1 && a->n_requests + b->n_requests >= 3);
    for (int i = 1; i < a->n_requests; i++)
        CHECK(same_message(a, 0, a, i));
    for (int i = 0; i < b->n_requests; i++)
        CHECK(same_message(a, 0, b, i));
    free_all(a, b);

    /* The same for a read: the last attempt's error (a read applies nothing). */
    a = fake_start(s_lost_then_error);
    b = fake_start(s_error);
    a->code = b->code = CLAIMLINE_UNAVAILABLE;
    a->reason = b->reason = "STORE_UNAVAILABLE";
    c = connect_to(a, b);
    CHECK(read_call(c, 1500, &err) == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "STORE_UNAVAILABLE") == 0);
    claimline_close(c);
    stop_all(a, b);
    free_all(a, b);
}

static void test_unavailable_not_applied_moves_at_once(void)
{
    struct fake *a = fake_start(s_error), *b = fake_start(s_serve);
    a->code = CLAIMLINE_UNAVAILABLE;
    a->reason = "STORE_FAILED";
    a->retry_after_ms = 10000;
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    int64_t t0 = now_ms();
    CHECK(write_call(c, NULL, 3000, &err) == 0); /* not applied: safe even without a key */
    CHECK(now_ms() - t0 < 1000);                 /* b is not suspect: no pause */
    CHECK(strcmp(claimline_last_served_address(c), b->address) == 0 && claimline_failovers(c) == 1);
    CHECK(read_call(c, 3000, &err) == 0 && strcmp(claimline_address(c), b->address) == 0); /* stays on b */
    claimline_close(c);
    stop_all(a, b);
    CHECK(a->connections == 1 && b->n_requests == 2);
    free_all(a, b);
}

static void test_goaway(void)
{
    /* Above the stream: never processed, any call goes again. */
    struct fake *a = fake_start(s_goaway_above), *b = fake_start(s_serve);
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    CHECK(write_call(c, NULL, 3000, &err) == 0);
    CHECK(strcmp(claimline_last_served_address(c), b->address) == 0 && claimline_failovers(c) == 1);
    claimline_close(c);
    stop_all(a, b);
    free_all(a, b);

    /* Covering the stream, then closed without its answer: unknown. */
    a = fake_start(s_goaway_covering);
    b = fake_start(s_serve);
    c = connect_to(a, b);
    CHECK(write_call(c, NULL, 3000, &err) == CLAIMLINE_UNAVAILABLE && strstr(err.message, "not retried"));
    CHECK(strcmp(err.reason, "OUTCOME_UNKNOWN") == 0);
    claimline_close(c);
    stop_all(a, b);
    CHECK(b->connections == 0);
    free_all(a, b);
}

static void test_final_answers_are_not_retried(void)
{
    struct fake *a = fake_start(s_final_codes), *b = fake_start(s_serve);
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    for (size_t i = 0; i < N_FINAL; i++) {
        char key[37], message[96];
        claimline_new_idempotency_key(key);
        snprintf(message, sizeof message, "scripted %s", final_codes[i].reason);
        CHECK(write_call(c, key, 3000, &err) == (int)final_codes[i].code);
        CHECK(err.code == (int)final_codes[i].code && strcmp(err.reason, final_codes[i].reason) == 0);
        CHECK(strcmp(err.message, message) == 0); /* as the server sent it */
        CHECK(strcmp(claimline_address(c), a->address) == 0);
    }
    CHECK(claimline_failovers(c) == 0);
    claimline_close(c);
    stop_all(a, b);
    CHECK(a->connections == 1 && a->n_requests == (int)N_FINAL && b->connections == 0);
    free_all(a, b);
}

/* 8.1 changed these on purpose: the server's DEADLINE_EXCEEDED (not applied) and
 * MAX_CONCURRENT_STREAMS are retried, after a pause, on the same instance (not suspect). */
static void test_server_deadline_and_exhausted_go_again_to_the_same_instance(void)
{
    static const struct {
        uint32_t code;
        const char *reason;
    } cases[] = {{CLAIMLINE_DEADLINE_EXCEEDED, "DEADLINE"}, {CLAIMLINE_RESOURCE_EXHAUSTED, "MAX_CONCURRENT_STREAMS"}};
    for (size_t i = 0; i < 2; i++) {
        struct fake *a = fake_start(s_error_then_answer), *b = fake_start(s_serve);
        a->code = cases[i].code;
        a->reason = cases[i].reason;
        claimline_client *c = connect_to(a, b);
        claimline_error err;
        CHECK(write_call(c, NULL, 3000, &err) == 0); /* keyless too: not applied */
        CHECK(strcmp(claimline_last_served_address(c), a->address) == 0 && claimline_failovers(c) == 0);
        claimline_close(c);
        stop_all(a, b);
        CHECK(a->connections == 1 && a->n_requests == 2 && same_message(a, 0, a, 1) && b->connections == 0);
        CHECK(a->n_requests == 2 && a->request_at[1] - a->error_at >= 25); /* backoff_initial_ms × [0.5, 1] */
        free_all(a, b);
    }
}

/* ---- the attempt's timeout and the keepalives ---- */

/* A frozen instance: the attempt times out with nothing received, the connection is reset
 * (RST) and the call goes on to the second address within its budget. */
static void test_silent_attempt_resets_and_moves_on(void)
{
    struct fake *a = fake_start(s_silent), *b = fake_start(s_serve);
    claimline_config cfg = CLAIMLINE_CONFIG_INIT;
    cfg.attempt_timeout_ms = 600;
    claimline_client *c = connect_cfg(a, b, &cfg);
    claimline_error err;
    char key[37];
    claimline_new_idempotency_key(key);
    int64_t t0 = now_ms();
    CHECK(write_call(c, key, 5000, &err) == 0);
    int64_t took = now_ms() - t0;
    CHECK(took >= 600 && took < 5000);
    CHECK(strcmp(claimline_last_served_address(c), b->address) == 0 && claimline_failovers(c) == 1);
    /* The next call stays on b. */
    CHECK(read_call(c, 5000, &err) == 0 && strcmp(claimline_last_served_address(c), b->address) == 0);
    claimline_close(c);
    stop_all(a, b);
    CHECK(a->n_requests == 1 && a->resets == 1 && a->closes == 0 && a->cancels == 0);
    CHECK(a->timeout_ms[0] <= 600); /* the REQUEST's timeout is the attempt's */
    CHECK(b->n_requests == 2 && same_message(a, 0, b, 0));
    free_all(a, b);
}

/* The same for a write without a key: it may have been applied, so it ends there. */
static void test_keyless_write_silent_is_not_retried(void)
{
    struct fake *a = fake_start(s_silent), *b = fake_start(s_serve);
    claimline_config cfg = CLAIMLINE_CONFIG_INIT;
    cfg.attempt_timeout_ms = 600;
    claimline_client *c = connect_cfg(a, b, &cfg);
    claimline_error err;
    CHECK(write_call(c, NULL, 5000, &err) == CLAIMLINE_UNAVAILABLE);
    CHECK(strcmp(err.reason, "OUTCOME_UNKNOWN") == 0 && strstr(err.message, "not retried") != NULL);
    CHECK(strstr(err.message, "CLIENT_DEADLINE") != NULL);
    claimline_close(c);
    stop_all(a, b);
    CHECK(a->n_requests == 1 && a->resets == 1 && b->connections == 0);
    free_all(a, b);
}

/* An attempt that times out on a connection that is not silent (the server sent a PING after
 * the request) sends CANCEL and keeps the connection; the caller's deadline ends a read with
 * CLIENT_DEADLINE; the instance is suspect, so the next call goes to the other. */
static void test_attempt_timeout_with_traffic_cancels(void)
{
    struct fake *a = fake_start(s_ping_then_silent), *b = fake_start(s_serve);
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    int64_t t0 = now_ms();
    CHECK(read_call(c, 1000, &err) == CLAIMLINE_DEADLINE_EXCEEDED && strcmp(err.reason, "CLIENT_DEADLINE") == 0);
    CHECK(now_ms() - t0 >= 1000);
    CHECK(read_call(c, 3000, &err) == 0 && strcmp(claimline_last_served_address(c), b->address) == 0);
    CHECK(claimline_failovers(c) == 1);
    claimline_close(c);
    stop_all(a, b);
    CHECK(a->n_requests == 1 && a->cancels == 1 && a->resets == 0); /* then closed with GOAWAY */
    CHECK(a->goaways == 1);
    free_all(a, b);
}

/* One address, a call out and no frame for keepalive_interval_ms: PING; no frame within
 * keepalive_timeout_ms of it: the connection is reset (outcome lost) and the read goes again
 * on a new connection. */
static void test_keepalive_resets_a_dead_connection(void)
{
    struct fake *a = fake_start(s_silent_then_serve);
    claimline_config cfg = CLAIMLINE_CONFIG_INIT;
    cfg.keepalive_interval_ms = 150;
    cfg.keepalive_timeout_ms = 150;
    claimline_client *c = connect_cfg(a, NULL, &cfg);
    claimline_error err;
    int64_t t0 = now_ms();
    CHECK(read_call(c, 5000, &err) == 0);
    int64_t took = now_ms() - t0;
    CHECK(took >= 300 && took < 5000);
    claimline_close(c);
    fake_stop(a);
    CHECK(a->connections == 2 && a->n_requests == 2);
    CHECK(a->pings >= 1 && a->pings_before_request == 0);
    CHECK(a->resets == 1); /* the dead one; the second ended with GOAWAY */
    CHECK(a->n_requests == 2 && a->timeout_ms[0] > 4000); /* one address: the attempt has the whole budget */
    fake_free(a);
}

/* Busy but alive: PINGs answered keep the connection while the call waits longer than the
 * keepalive would allow a silent one. */
static void test_keepalive_keeps_a_busy_connection(void)
{
    struct fake *a = fake_start(s_slow_but_alive);
    claimline_config cfg = CLAIMLINE_CONFIG_INIT;
    cfg.keepalive_interval_ms = 200;
    cfg.keepalive_timeout_ms = 500;
    claimline_client *c = connect_cfg(a, NULL, &cfg);
    claimline_error err;
    CHECK(read_call(c, 5000, &err) == 0);
    claimline_close(c);
    fake_stop(a);
    CHECK(a->connections == 1 && a->n_requests == 1 && a->pings == 3 && a->resets == 0);
    fake_free(a);
}

/* Before a call, a connection silent for idle_keepalive_ms is PINGed: answered, it carries the
 * call; not answered, it is reset, a new one is tried (no attempt of its own, 8.1), and as the
 * frozen instance answers no HELLO either, the call (a write without a key: nothing of it was
 * sent) goes to the other address. */
static void test_idle_keepalive(void)
{
    struct fake *a = fake_start(s_serve);
    a->answer_pings = 1;
    claimline_config cfg = CLAIMLINE_CONFIG_INIT;
    cfg.idle_keepalive_ms = 1000;
    cfg.keepalive_timeout_ms = 1000;
    claimline_client *c = connect_cfg(a, NULL, &cfg);
    claimline_error err;
    CHECK(read_call(c, 5000, &err) == 0); /* not idle yet: no PING */
    usleep(1200 * 1000);
    CHECK(read_call(c, 5000, &err) == 0);
    claimline_close(c);
    fake_stop(a);
    CHECK(a->connections == 1 && a->n_requests == 2 && a->pings == 1 && a->pings_before_request == 0);
    fake_free(a);

    struct fake *frozen = fake_start(s_frozen), *b = fake_start(s_serve);
    c = connect_cfg(frozen, b, &cfg);
    usleep(1200 * 1000);
    int64_t t0 = now_ms();
    CHECK(write_call(c, NULL, 5000, &err) == 0);
    CHECK(now_ms() - t0 >= 1000);
    CHECK(strcmp(claimline_last_served_address(c), b->address) == 0 && claimline_failovers(c) == 1);
    claimline_close(c);
    stop_all(frozen, b);
    CHECK(frozen->pings == 1 && frozen->n_requests == 0 && frozen->resets >= 1 && b->n_requests == 1); /* the new connection may have been tried and reset too */
    free_all(frozen, b);
}

/* ---- pauses ---- */

static void test_retry_after_is_honoured(void)
{
    struct fake *a = fake_start(s_busy_then_fine);
    claimline_client *c = connect_to(a, NULL);
    claimline_error err;
    CHECK(read_call(c, 3000, &err) == 0);
    CHECK(claimline_failovers(c) == 0);
    CHECK(a->n_requests == 2 && a->request_at[1] - a->error_at >= 300); /* the server's hint */
    /* A hint past the deadline: the call ends at once with the server's error. */
    int64_t t0 = now_ms();
    CHECK(read_call(c, 1000, &err) == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "STORE_READ") == 0);
    CHECK(now_ms() - t0 < 900 && err.retry_after_ms == 5000);
    CHECK(strstr(err.message, "1 attempt(s)") != NULL);
    claimline_close(c);
    fake_stop(a);
    CHECK(a->connections == 1 && a->n_requests == 3);
    fake_free(a);
}

/* ---- connections ---- */

static void test_handshake_refusals(void)
{
    static const struct {
        uint32_t code;
        const char *reason;
        int fails_over;
    } cases[] = {
        {CLAIMLINE_RESOURCE_EXHAUSTED, "TOO_MANY_CONNECTIONS", 1},
        {CLAIMLINE_RESOURCE_EXHAUSTED, "HANDSHAKE_EVICTED", 1},
        {0, "SHUTDOWN", 1},
        {CLAIMLINE_UNAUTHENTICATED, "UNAUTHENTICATED", 0},
        {CLAIMLINE_INVALID_ARGUMENT, "INVALID_CLIENT_NAME", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake *a = fake_start(s_refuse_hello), *b = fake_start(s_serve);
        a->code = cases[i].code;
        a->reason = cases[i].reason;
        char list[80];
        snprintf(list, sizeof list, "%s,%s", a->address, b->address);
        claimline_client *c = NULL;
        claimline_error err;
        int r = claimline_connect_addresses(list, "token", "c-fake", 3000, &c, &err);
        if (cases[i].fails_over) {
            CHECK(r == 0 && c && strcmp(claimline_address(c), b->address) == 0 && claimline_failovers(c) == 1);
        } else {
            CHECK(r == (int)cases[i].code && c == NULL && strcmp(err.reason, cases[i].reason) == 0);
        }
        claimline_close(c);
        stop_all(a, b);
        CHECK(b->connections == cases[i].fails_over);
        free_all(a, b);
    }
}

/* A connection the server closed for the client's idleness (IDLE_TIMEOUT, or KEEPALIVE_TIMEOUT:
 * between calls nothing answers the server's PINGs) is reopened to the same address: found by
 * claimline_ping, or by the next call. */
static void test_idle_close_reconnects_without_failover(void)
{
    static const struct {
        uint32_t code;
        const char *reason;
    } closes[] = {{0, "IDLE_TIMEOUT"}, {CLAIMLINE_UNAVAILABLE, "KEEPALIVE_TIMEOUT"}};
    for (size_t i = 0; i < 4; i++) {
        struct fake *a = fake_start(s_idle_then_serve), *b = fake_start(s_serve);
        a->code = closes[i % 2].code;
        a->reason = closes[i % 2].reason;
        claimline_client *c = connect_to(a, b);
        claimline_error err;
        if (i < 2) { /* the GOAWAY arrives; ping finds the connection gone */
            int r = 0;
            for (int64_t until = now_ms() + 3000; now_ms() < until && (r = claimline_ping(c, 200, &err)) != 14;)
                ;
            CHECK(r == CLAIMLINE_UNAVAILABLE && strcmp(claimline_address(c), "") == 0);
        } else {
            usleep(500 * 1000); /* the GOAWAY (sent right behind HELLO_ACK) is there when the call starts */
        }
        int64_t t0 = now_ms();
        CHECK(read_call(c, 3000, &err) == 0);
        CHECK(now_ms() - t0 < 500); /* idleness is no failure: no pause, same address */
        CHECK(strcmp(claimline_last_served_address(c), a->address) == 0 && claimline_failovers(c) == 0);
        claimline_close(c);
        stop_all(a, b);
        CHECK(a->connections == 2 && b->connections == 0);
        free_all(a, b);
    }
}

static void test_addresses_and_config(void)
{
    struct fake *a = fake_start(s_serve);
    claimline_client *c = NULL;
    claimline_error err;
    char list[128];
    /* Spaces around entries, brackets around a host. */
    snprintf(list, sizeof list, "  [127.0.0.1]:%d ,\t127.0.0.1:%d ", a->port, a->port);
    CHECK(claimline_connect_addresses(list, "token", NULL, 3000, &c, &err) == 0 && c);
    CHECK(claimline_address_count(c) == 2 && strcmp(claimline_address_at(c, 0), a->address) == 0);
    CHECK(strcmp(claimline_address_at(c, 1), a->address) == 0 && strcmp(claimline_address_at(c, 2), "") == 0);
    claimline_close(c);

    static const char *const bad[] = {"", ",", "a", "a:0", "a:70000", "a:1,", "a:1,,b:2", ":7400", "[]:1",
                                      "[::1]7400", "a:1x", "a:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = (claimline_client *)1;
        CHECK(claimline_connect_addresses(bad[i], "token", "n", 1000, &c, &err) == CLAIMLINE_INVALID_ARGUMENT);
        CHECK(c == NULL && strcmp(err.reason, "CLIENT_INVALID_ARGUMENT") == 0 && strstr(err.message, "host:port"));
    }
    claimline_config cfg = CLAIMLINE_CONFIG_INIT;
    cfg.addresses = a->address;
    CHECK(claimline_connect_config(&cfg, 1000, &c, &err) == 3); /* no token */
    cfg.token = "token";
    int *settings[] = {&cfg.attempt_timeout_ms, &cfg.connect_timeout_ms, &cfg.keepalive_interval_ms,
                       &cfg.keepalive_timeout_ms, &cfg.idle_keepalive_ms, &cfg.suspect_base_ms,
                       &cfg.suspect_max_ms, &cfg.backoff_initial_ms, &cfg.backoff_max_ms};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        *settings[i] = -1;
        CHECK(claimline_connect_config(&cfg, 1000, &c, &err) == 3 && c == NULL);
        *settings[i] = 0;
    }
    CHECK(claimline_connect_config(&cfg, 0, &c, &err) == 3);
    CHECK(claimline_connect_config(NULL, 1000, &c, &err) == 3);
    CHECK(claimline_connect_config(&cfg, 1000, NULL, &err) == 3);
    /* Random start: both addresses are the same fake here; it connects. */
    cfg.random_start = 1;
    snprintf(list, sizeof list, "%s,%s", a->address, a->address);
    cfg.addresses = list;
    CHECK(claimline_connect_config(&cfg, 1000, &c, NULL) == 0 && c);
    CHECK(strcmp(claimline_address(c), a->address) == 0);
    claimline_close(c);
    CHECK(strcmp(claimline_address(NULL), "") == 0 && claimline_failovers(NULL) == 0);
    fake_stop(a);
    fake_free(a);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_keyless_write_lost_is_not_retried();
    test_keyed_write_goes_again_with_the_same_bytes();
    test_outcome_unknown();
    test_keyed_write_lost_then_not_applied_is_unknown();
    test_unavailable_not_applied_moves_at_once();
    test_goaway();
    test_final_answers_are_not_retried();
    test_server_deadline_and_exhausted_go_again_to_the_same_instance();
    test_silent_attempt_resets_and_moves_on();
    test_keyless_write_silent_is_not_retried();
    test_attempt_timeout_with_traffic_cancels();
    test_keepalive_resets_a_dead_connection();
    test_keepalive_keeps_a_busy_connection();
    test_idle_keepalive();
    test_retry_after_is_honoured();
    test_handshake_refusals();
    test_idle_close_reconnects_without_failover();
    test_addresses_and_config();
    printf("failover: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
