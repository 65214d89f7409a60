/* Failover rules (claimline_connect_config) against scripted fake servers, each on its own
 * loopback port and thread: what is sent again, to which address, with which bytes, and what
 * is returned instead (PROTOCOL.md 3.7 and 9.5); address lists; handshake refusals. */
#define _DEFAULT_SOURCE

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

#define MAX_REQUESTS 16

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
    int script_failed;
    /* Script parameters. */
    uint32_t code;
    const char *reason;
    uint32_t retry_after_ms;
};

static int read_exact(int fd, uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static void send_frame(int fd, uint8_t type, uint16_t method, uint32_t stream, const ProtobufCMessage *msg)
{
    uint8_t *frame;
    size_t len;
    if (clm_frame_encode(type, method, stream, 0, msg, NULL, 0, CLM_MAX_FRAME_LIMIT, &frame, &len, NULL))
        return;
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, frame + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(frame);
}

/* One frame from the client; *payload malloc'd (the caller frees it). -1 on EOF or timeout. */
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
    send_frame(fd, CLM_HELLO_ACK, 0, 0, &ack.base);
    return 0;
}

/* Reads a REQUEST and records its message; -1 if something else came. */
static int request(struct fake *f, int fd, clm_header *h)
{
    uint8_t *p;
    if (recv_frame(fd, h, &p) < 0 || h->type != CLM_REQUEST || h->length < 4) {
        free(p);
        f->script_failed = 1;
        return -1;
    }
    if (f->n_requests < MAX_REQUESTS) {
        int i = f->n_requests++;
        f->timeout_ms[i] = clm_get_u32(p);
        f->message_len[i] = h->length - 4;
        f->message[i] = malloc(h->length - 4 + 1);
        if (f->message[i])
            memcpy(f->message[i], p + 4, h->length - 4);
    }
    free(p);
    return 0;
}

/* Until the client says GOAWAY or closes. */
static void until_closed(int fd)
{
    clm_header h;
    uint8_t *p;
    while (recv_frame(fd, &h, &p) == 0) {
        free(p);
        if (h.type == CLM_GOAWAY)
            return;
    }
}

static void answer(int fd, const clm_header *h)
{
    if (h->method == CLAIMLINE_METHOD_ESCALATE) {
        Claimline__V1__EscalateResponse r = CLAIMLINE__V1__ESCALATE_RESPONSE__INIT;
        r.decision = CLAIMLINE__V1__ESCALATE_DECISION__ESCALATE_DECISION_FILE_CLAIM;
        r.rule = "scripted";
        send_frame(fd, CLM_RESPONSE, h->method, h->stream_id, &r.base);
    } else {
        Claimline__V1__GetStatsResponse r = CLAIMLINE__V1__GET_STATS_RESPONSE__INIT;
        r.escalations = 42;
        send_frame(fd, CLM_RESPONSE, h->method, h->stream_id, &r.base);
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
    send_frame(fd, CLM_ERROR, h->method, h->stream_id, &st.base);
}

static void goaway(int fd, uint32_t last, uint32_t code, const char *reason)
{
    Claimline__V1__GoAway g = CLAIMLINE__V1__GO_AWAY__INIT;
    g.last_stream_id = last;
    g.code = code;
    g.reason = (char *)reason;
    g.message = "scripted";
    send_frame(fd, CLM_GOAWAY, 0, 0, &g.base);
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

static void s_serve(struct fake *f, int fd, int n)
{
    (void)n;
    if (handshake(f, fd) < 0)
        return;
    clm_header h;
    uint8_t *p;
    while (recv_frame(fd, &h, &p) == 0) {
        if (h.type == CLM_REQUEST && f->n_requests < MAX_REQUESTS) {
            int i = f->n_requests++;
            f->timeout_ms[i] = clm_get_u32(p);
            f->message[i] = NULL;
            f->message_len[i] = 0;
        }
        free(p);
        if (h.type == CLM_GOAWAY)
            return;
        if (h.type == CLM_REQUEST)
            answer(fd, &h);
    }
}

static void s_read_then_close(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h;
    if (handshake(f, fd) == 0)
        request(f, fd, &h); /* closes without answering: the outcome is unknown */
}

static void s_answer_once(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h;
    if (handshake(f, fd) < 0 || request(f, fd, &h) < 0)
        return;
    answer(fd, &h);
    until_closed(fd);
}

static void s_error(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h;
    if (handshake(f, fd) < 0 || request(f, fd, &h) < 0)
        return;
    error_frame(fd, &h, f->code, f->reason, f->retry_after_ms);
    until_closed(fd);
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
    {CLAIMLINE_DEADLINE_EXCEEDED, "DEADLINE"},
};
#define N_FINAL (sizeof final_codes / sizeof final_codes[0])

static void s_final_codes(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h;
    if (handshake(f, fd) < 0)
        return;
    for (size_t i = 0; i < N_FINAL; i++) {
        if (request(f, fd, &h) < 0)
            return;
        error_frame(fd, &h, final_codes[i].code, final_codes[i].reason, 0);
    }
    until_closed(fd);
}

static void s_silent_then_answer(struct fake *f, int fd, int n)
{
    (void)n;
    clm_header h, c;
    uint8_t *p;
    if (handshake(f, fd) < 0 || request(f, fd, &h) < 0)
        return;
    if (recv_frame(fd, &c, &p) < 0 || c.type != CLM_CANCEL || c.stream_id != h.stream_id)
        f->script_failed = 1;
    free(p);
    if (request(f, fd, &h) < 0) /* the connection is kept for the next call */
        return;
    answer(fd, &h);
    until_closed(fd);
}

static void s_busy_then_fine(struct fake *f, int fd, int n)
{
    clm_header h;
    if (handshake(f, fd) < 0 || request(f, fd, &h) < 0)
        return;
    if (n == 0) {
        error_frame(fd, &h, CLAIMLINE_UNAVAILABLE, "STORE_READ", 300);
        until_closed(fd);
    } else if (n == 1) {
        answer(fd, &h); /* then closes: the next call needs a new connection */
    } else {
        error_frame(fd, &h, CLAIMLINE_UNAVAILABLE, "STORE_READ", 5000);
        until_closed(fd);
    }
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
        goaway(fd, 0, 0, "IDLE_TIMEOUT"); /* then closes the idle connection */
}

/* ---- the client's side ---- */

static claimline_client *connect_to(struct fake *a, struct fake *b)
{
    char list[80];
    if (b)
        snprintf(list, sizeof list, "%s,%s", a->address, b->address);
    else
        snprintf(list, sizeof list, "%s", a->address);
    claimline_client *c = NULL;
    claimline_error err;
    if (claimline_connect_addresses(list, "token", "c-fake", 5000, &c, &err) != 0) {
        fprintf(stderr, "connect %s: %s %s\n", list, err.reason, err.message);
        exit(2);
    }
    return c;
}

/* An escalate with `key` (NULL: none); returns the code, *decision on success. */
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

/* ---- tests ---- */

static void test_keyless_write_with_unknown_outcome_is_returned(void)
{
    struct fake *a = fake_start(s_read_then_close), *b = fake_start(s_serve);
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    CHECK(write_call(c, NULL, 3000, &err) == CLAIMLINE_UNAVAILABLE);
    CHECK(strcmp(err.reason, "CONNECTION_CLOSED") == 0);
    CHECK(strstr(err.message, "no idempotency key and may have been applied: not retried") != NULL);
    CHECK(claimline_failovers(c) == 0 && strcmp(claimline_last_served_address(c), "") == 0);
    CHECK(strcmp(claimline_address(c), "") == 0);
    /* A read after the same kind of loss goes to b. */
    CHECK(read_call(c, 3000, &err) == 0);
    CHECK(strcmp(claimline_last_served_address(c), b->address) == 0 && claimline_failovers(c) == 1);
    claimline_close(c);
    fake_stop(a);
    fake_stop(b);
    CHECK(a->n_requests == 1 && b->n_requests == 1); /* the write never reached b */
    fake_free(a);
    fake_free(b);
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
    fake_stop(a);
    fake_stop(b);
    CHECK(same_message(a, 0, b, 0));
    CHECK(b->n_requests == 1 && 0 < b->timeout_ms[0] && b->timeout_ms[0] <= a->timeout_ms[0] &&
          a->timeout_ms[0] <= 3000); /* each attempt sends what is left */
    Claimline__V1__EscalateRequest *sent =
        b->n_requests ? claimline__v1__escalate_request__unpack(NULL, b->message_len[0], b->message[0]) : NULL;
    CHECK(sent && strcmp(sent->idempotency_key, key) == 0);
    if (sent)
        claimline__v1__escalate_request__free_unpacked(sent, NULL);
    fake_free(a);
    fake_free(b);
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
    fake_stop(a);
    fake_stop(b);
    CHECK(same_message(a, 0, b, 0));
    fake_free(a);
    fake_free(b);

    /* Without: returned, and the second address never hears of it. */
    a = fake_start(s_error);
    b = fake_start(s_serve);
    a->code = CLAIMLINE_UNAVAILABLE;
    a->reason = "OUTCOME_UNKNOWN";
    c = connect_to(a, b);
    CHECK(write_call(c, NULL, 3000, &err) == CLAIMLINE_UNAVAILABLE);
    CHECK(strcmp(err.reason, "OUTCOME_UNKNOWN") == 0 && strstr(err.message, "not retried") != NULL);
    claimline_close(c);
    fake_stop(a);
    fake_stop(b);
    CHECK(b->connections == 0);
    fake_free(a);
    fake_free(b);
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
    CHECK(now_ms() - t0 < 1000);                 /* b is not in its backoff: no waiting */
    CHECK(strcmp(claimline_last_served_address(c), b->address) == 0 && claimline_failovers(c) == 1);
    CHECK(read_call(c, 3000, &err) == 0 && strcmp(claimline_address(c), b->address) == 0); /* stays on b */
    claimline_close(c);
    fake_stop(a);
    fake_stop(b);
    CHECK(a->connections == 1 && b->n_requests == 2);
    fake_free(a);
    fake_free(b);
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
    fake_stop(a);
    fake_stop(b);
    fake_free(a);
    fake_free(b);

    /* Covering the stream, then closed without its answer: unknown. */
    a = fake_start(s_goaway_covering);
    b = fake_start(s_serve);
    c = connect_to(a, b);
    CHECK(write_call(c, NULL, 3000, &err) == CLAIMLINE_UNAVAILABLE && strstr(err.message, "not retried"));
    claimline_close(c);
    fake_stop(a);
    fake_stop(b);
    CHECK(b->connections == 0);
    fake_free(a);
    fake_free(b);
}

static void test_final_codes_are_never_retried(void)
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
    fake_stop(a);
    fake_stop(b);
    CHECK(a->connections == 1 && b->connections == 0);
    fake_free(a);
    fake_free(b);
}

static void test_local_deadline_is_not_retried(void)
{
    struct fake *a = fake_start(s_silent_then_answer), *b = fake_start(s_serve);
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    CHECK(read_call(c, 300, &err) == CLAIMLINE_DEADLINE_EXCEEDED && strcmp(err.reason, "CLIENT_DEADLINE") == 0);
    CHECK(read_call(c, 3000, &err) == 0);
    CHECK(strcmp(claimline_last_served_address(c), a->address) == 0 && claimline_failovers(c) == 0);
    claimline_close(c);
    fake_stop(a);
    fake_stop(b);
    CHECK(b->connections == 0);
    fake_free(a);
    fake_free(b);
}

static void test_one_address_and_retry_after(void)
{
    struct fake *a = fake_start(s_busy_then_fine);
    claimline_client *c = connect_to(a, NULL);
    claimline_error err;
    int64_t t0 = now_ms();
    CHECK(read_call(c, 3000, &err) == 0);
    CHECK(now_ms() - t0 >= 300); /* the server's hint is honoured */
    CHECK(claimline_failovers(c) == 0);
    /* The connection is closed by the fake; the next one answers with a hint past the deadline. */
    t0 = now_ms();
    CHECK(read_call(c, 1000, &err) == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "STORE_READ") == 0);
    CHECK(now_ms() - t0 < 900); /* not waited out */
    CHECK(strstr(err.message, "attempt(s)") != NULL);
    claimline_close(c);
    fake_stop(a);
    CHECK(a->connections == 3);
    fake_free(a);
}

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
        fake_stop(a);
        fake_stop(b);
        CHECK(b->connections == cases[i].fails_over);
        fake_free(a);
        fake_free(b);
    }
}

static void test_idle_close_reconnects_without_failover(void)
{
    struct fake *a = fake_start(s_idle_then_serve), *b = fake_start(s_serve);
    claimline_client *c = connect_to(a, b);
    claimline_error err;
    /* The GOAWAY IDLE_TIMEOUT arrives; ping finds the connection gone. */
    int r = 0;
    for (int64_t until = now_ms() + 3000; now_ms() < until && (r = claimline_ping(c, 200, &err)) != 14;)
        ;
    CHECK(r == CLAIMLINE_UNAVAILABLE && strcmp(claimline_address(c), "") == 0);
    int64_t t0 = now_ms();
    CHECK(read_call(c, 3000, &err) == 0);
    CHECK(now_ms() - t0 < 500); /* idleness is no failure: no backoff, same address */
    CHECK(strcmp(claimline_last_served_address(c), a->address) == 0 && claimline_failovers(c) == 0);
    claimline_close(c);
    fake_stop(a);
    fake_stop(b);
    CHECK(a->connections == 2 && b->connections == 0);
    fake_free(a);
    fake_free(b);
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
    cfg.backoff_ms = -1;
    CHECK(claimline_connect_config(&cfg, 1000, &c, &err) == 3);
    cfg.backoff_ms = 0;
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
    test_keyless_write_with_unknown_outcome_is_returned();
    test_keyed_write_goes_again_with_the_same_bytes();
    test_outcome_unknown();
    test_unavailable_not_applied_moves_at_once();
    test_goaway();
    test_final_codes_are_never_retried();
    test_local_deadline_is_not_retried();
    test_one_address_and_retry_after();
    test_handshake_refusals();
    test_idle_close_reconnects_without_failover();
    test_addresses_and_config();
    printf("failover: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
