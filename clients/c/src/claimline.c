/* Claimline C client: connection, handshake and blocking unary calls.
 * POSIX sockets in non-blocking mode, poll() for every wait, no global state. */
#define _DEFAULT_SOURCE /* getaddrinfo, MSG_NOSIGNAL */

#include "claimline.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "internal.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SO_NOSIGPIPE is set instead where it exists */
#endif

/* How long close() and a timed-out call may spend writing GOAWAY or CANCEL. */
#define CONTROL_WRITE_GRACE_MS 50

struct claimline_client {
    int fd;                    /* -1 once the connection is gone */
    uint32_t last_stream;      /* the highest stream id sent */
    uint32_t recv_limit;       /* the largest payload accepted from the server */
    uint32_t send_limit;       /* the largest payload the server accepts */
    uint64_t ping_seq;
    int draining;              /* a graceful GOAWAY arrived: no new calls */
    uint32_t goaway_last_stream;
    char gone_reason[64];      /* why the connection is gone (or going) */
    char gone_message[256];
    /* The frame being read: kept across calls, so a call that times out in
     * the middle of a frame leaves the stream of frames intact. */
    uint8_t hdr[CLM_HEADER_LEN];
    size_t hdr_have;
    clm_header cur;
    uint8_t *payload;
    size_t payload_have;
    /* From HELLO_ACK. */
    char session_id[64];
    char server_name[64];
    char role[32];
};

enum io_result { IO_OK, IO_TIMEOUT, IO_PARTIAL, IO_ERROR };

/* ---- errors ---- */

/* Copies src (NULL: "") into dst[cap], truncated before an incomplete UTF-8 sequence. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static void clear_err(claimline_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

static int fail(claimline_error *err, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(claimline_error *err, int code, const char *reason, const char *fmt, ...)
{
    if (err) {
        clear_err(err);
        err->code = code;
        copy_str(err->reason, sizeof err->reason, reason);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- time and I/O ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -1: no deadline. */
static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms > 0 ? now_ms() + timeout_ms : -1;
}

/* 1 ready (or an error to be read), 0 deadline passed, -1 poll failed. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int t = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            t = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int r = poll(&p, 1, t);
        if (r > 0)
            return 1;
        if (r == 0) {
            if (deadline >= 0 && now_ms() >= deadline)
                return 0;
            continue;
        }
        if (errno != EINTR)
            return -1;
    }
}

static enum io_result send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLOUT, deadline);
            if (r > 0)
                continue;
            if (r == 0)
                return off ? IO_PARTIAL : IO_TIMEOUT;
        }
        return IO_ERROR;
    }
    return IO_OK;
}

static int set_socket_options(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -1;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return 0;
}

/* ---- connection state ---- */

static void reset_reader(claimline_client *c)
{
    free(c->payload);
    c->payload = NULL;
    c->payload_have = 0;
    c->hdr_have = 0;
}

/* The connection is unusable from now on: close it, remember why, fail with 14. */
static int lose(claimline_client *c, claimline_error *err, const char *reason, const char *message)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
        /* A graceful GOAWAY read earlier explains the close better. */
        if (!c->draining) {
            copy_str(c->gone_reason, sizeof c->gone_reason, reason);
            copy_str(c->gone_message, sizeof c->gone_message, message);
        }
    }
    reset_reader(c);
    return fail(err, CLAIMLINE_UNAVAILABLE, c->gone_reason, "%s", c->gone_message);
}

/* Best effort, never blocks long: GOAWAY {last_stream_id 0, code, reason}. */
static void send_goaway(claimline_client *c, uint32_t code, const char *reason, const char *message)
{
    Claimline__V1__GoAway g = CLAIMLINE__V1__GO_AWAY__INIT;
    g.code = code;
    g.reason = (char *)reason;
    g.message = (char *)message;
    uint8_t *frame;
    size_t len;
    if (c->fd >= 0 &&
        clm_frame_encode(CLM_GOAWAY, 0, 0, 0, &g.base, NULL, 0, c->send_limit, &frame, &len, NULL) == 0) {
        (void)send_all(c->fd, frame, len, now_ms() + CONTROL_WRITE_GRACE_MS);
        free(frame);
    }
}

/* The server broke the protocol: tell it (GOAWAY 13 PROTOCOL_ERROR), close, fail with 14. */
static int protocol_error(claimline_client *c, claimline_error *err, const char *message)
{
    send_goaway(c, CLAIMLINE_INTERNAL, "PROTOCOL_ERROR", message);
    return lose(c, err, "PROTOCOL_ERROR", message);
}

/* Reads one whole frame. 0: *h and *payload (malloc'd, NULL if empty; the
 * caller frees it) are set. CLAIMLINE_DEADLINE_EXCEEDED: nothing complete
 * yet, the partial frame is kept for the next read (err untouched). Else 14,
 * the connection lost. */
static int read_frame(claimline_client *c, int64_t deadline, clm_header *h, uint8_t **payload,
                      claimline_error *err)
{
    char msg[160];
    for (;;) {
        uint8_t *dst;
        size_t want;
        if (c->hdr_have < CLM_HEADER_LEN) {
            dst = c->hdr + c->hdr_have;
            want = CLM_HEADER_LEN - c->hdr_have;
        } else if (c->payload_have < c->cur.length) {
            dst = c->payload + c->payload_have;
            want = c->cur.length - c->payload_have;
        } else {
            *h = c->cur;
            *payload = c->payload;
            c->payload = NULL;
            c->payload_have = 0;
            c->hdr_have = 0;
            return 0;
        }
        ssize_t n = recv(c->fd, dst, want, 0);
        if (n > 0) {
            if (c->hdr_have >= CLM_HEADER_LEN) {
                c->payload_have += (size_t)n;
                continue;
            }
            c->hdr_have += (size_t)n;
            if (c->hdr_have < CLM_HEADER_LEN)
                continue;
            clm_header_decode(c->hdr, &c->cur);
            if (c->cur.length > c->recv_limit) {
                snprintf(msg, sizeof msg, "frame of %u bytes over the limit of %u", (unsigned)c->cur.length,
                         (unsigned)c->recv_limit);
                send_goaway(c, CLAIMLINE_RESOURCE_EXHAUSTED, "FRAME_TOO_LARGE", msg);
                return lose(c, err, "FRAME_TOO_LARGE", msg);
            }
            if (!clm_header_well_formed(&c->cur)) {
                snprintf(msg, sizeof msg, "bad frame header: type 0x%02x, stream %u", (unsigned)c->cur.type,
                         (unsigned)c->cur.stream_id);
                return protocol_error(c, err, msg);
            }
            if (c->cur.length > 0 && !(c->payload = malloc(c->cur.length)))
                return lose(c, err, "OUT_OF_MEMORY", "no memory for an incoming frame");
            continue;
        }
        if (n == 0)
            return lose(c, err, "CONNECTION_CLOSED", "the server closed the connection");
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int r = wait_fd(c->fd, POLLIN, deadline);
            if (r > 0)
                continue;
            if (r == 0)
                return CLAIMLINE_DEADLINE_EXCEEDED;
        }
        snprintf(msg, sizeof msg, "reading from the server: %s", strerror(errno));
        return lose(c, err, "CONNECTION_CLOSED", msg);
    }
}

/* Reads frames until the RESPONSE or ERROR of `stream` (stream != 0) or the
 * PONG carrying `ping` (stream == 0) arrives: 0 with *h and *payload set
 * (the caller frees *payload). Answers PINGs, discards answers to older
 * streams, follows GOAWAY. CLAIMLINE_DEADLINE_EXCEEDED (err untouched) or 14. */
static int await_frame(claimline_client *c, uint32_t stream, const uint8_t *ping, int64_t deadline,
                       clm_header *h, uint8_t **payload, claimline_error *err)
{
    for (;;) {
        int r = read_frame(c, deadline, h, payload, err);
        if (r)
            return r;
        uint8_t *p = *payload;
        *payload = NULL;
        switch (h->type) {
        case CLM_RESPONSE:
        case CLM_ERROR:
            if (stream != 0 && h->stream_id == stream) {
                *payload = p;
                return 0;
            }
            free(p);
            if (h->stream_id > c->last_stream)
                return protocol_error(c, err, "an answer on a stream never opened");
            break; /* a call that timed out earlier: discard */
        case CLM_PING: {
            if (h->length != 8) {
                free(p);
                return protocol_error(c, err, "PING payload is not 8 bytes");
            }
            uint8_t *frame;
            size_t len;
            int e = clm_frame_encode(CLM_PONG, 0, 0, 0, NULL, p, 8, c->send_limit, &frame, &len, NULL);
            free(p);
            if (e)
                return lose(c, err, "OUT_OF_MEMORY", "no memory for a PONG");
            enum io_result w = send_all(c->fd, frame, len, deadline);
            free(frame);
            if (w == IO_TIMEOUT)
                return CLAIMLINE_DEADLINE_EXCEEDED;
            if (w != IO_OK)
                return lose(c, err, w == IO_PARTIAL ? "WRITE_TIMEOUT" : "CONNECTION_CLOSED",
                            "could not answer the server's PING");
            break;
        }
        case CLM_PONG: {
            int ours = ping && stream == 0 && h->length == 8 && memcmp(p, ping, 8) == 0;
            if (h->length != 8) {
                free(p);
                return protocol_error(c, err, "PONG payload is not 8 bytes");
            }
            if (ours) {
                *payload = p;
                return 0;
            }
            free(p);
            break;
        }
        case CLM_GOAWAY: {
            Claimline__V1__GoAway *g = claimline__v1__go_away__unpack(NULL, h->length, p);
            free(p);
            if (!g)
                return protocol_error(c, err, "GOAWAY payload is not a valid GoAway");
            copy_str(c->gone_reason, sizeof c->gone_reason, g->reason[0] ? g->reason : "GOAWAY");
            snprintf(c->gone_message, sizeof c->gone_message, "the server is going away (code %u): %s",
                     (unsigned)g->code, g->message);
            int graceful = g->code == 0;
            c->goaway_last_stream = g->last_stream_id;
            claimline__v1__go_away__free_unpacked(g, NULL);
            c->draining = 1;
            /* Graceful: the streams up to last_stream_id still get their answer. */
            if (!(graceful && stream != 0 && stream <= c->goaway_last_stream))
                return lose(c, err, c->gone_reason, c->gone_message);
            break;
        }
        default: /* HELLO, HELLO_ACK, REQUEST, CANCEL: never from a server after the handshake */
            free(p);
            return protocol_error(c, err, "a frame a client must not receive");
        }
    }
}

/* ---- calls ---- */

static int gone(claimline_client *c, claimline_error *err)
{
    return fail(err, CLAIMLINE_UNAVAILABLE, c->gone_reason[0] ? c->gone_reason : "CONNECTION_CLOSED", "%s",
                c->gone_message[0] ? c->gone_message : "the connection is closed");
}

/* An ERROR frame's RpcStatus into *err; returns its code (never 0). */
static int status_from_error(claimline_client *c, const uint8_t *payload, uint32_t len, claimline_error *err)
{
    Claimline__V1__RpcStatus *s = claimline__v1__rpc_status__unpack(NULL, len, payload);
    if (!s)
        return protocol_error(c, err, "ERROR payload is not a valid RpcStatus");
    int code = s->code >= 1 && s->code <= 16 ? (int)s->code : CLAIMLINE_UNKNOWN;
    if (err) {
        clear_err(err);
        err->code = code;
        copy_str(err->message, sizeof err->message, s->message);
        copy_str(err->reason, sizeof err->reason, s->reason);
        copy_str(err->current_state, sizeof err->current_state, s->current_state);
        if (s->n_field_violations > 0 && s->field_violations[0])
            copy_str(err->field, sizeof err->field, s->field_violations[0]->field);
        err->retry_after_ms = s->retry_after_ms;
    }
    claimline__v1__rpc_status__free_unpacked(s, NULL);
    return code;
}

static void send_cancel(claimline_client *c, uint32_t stream)
{
    uint8_t frame[CLM_HEADER_LEN];
    clm_header h = {0, CLM_CANCEL, 0, 0, stream};
    clm_header_encode(&h, frame);
    enum io_result w = send_all(c->fd, frame, sizeof frame, now_ms() + CONTROL_WRITE_GRACE_MS);
    if (w == IO_PARTIAL || w == IO_ERROR)
        lose(c, NULL, "CONNECTION_CLOSED", "could not send CANCEL");
}

/* The one generic call: REQUEST on a new stream, then its RESPONSE or ERROR. */
static int call(claimline_client *c, uint16_t method, const ProtobufCMessage *request,
                const ProtobufCMessageDescriptor *request_type, const ProtobufCMessageDescriptor *response_type,
                int timeout_ms, ProtobufCMessage **out, claimline_error *err)
{
    clear_err(err);
    if (out)
        *out = NULL;
    if (!c || !request || !out || timeout_ms < 0)
        return fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT",
                    "client, request and out must not be NULL; timeout_ms must be >= 0");
    if (request->descriptor != request_type)
        return fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT",
                    "the request is not a %s (initialise it with its __INIT macro)", request_type->name);
    if (c->fd < 0 || c->draining)
        return gone(c, err);
    if (c->last_stream == UINT32_MAX)
        return fail(err, CLAIMLINE_UNAVAILABLE, "STREAM_IDS_EXHAUSTED", "no stream ids left: connect again");

    int64_t deadline = deadline_after(timeout_ms);
    uint32_t stream = ++c->last_stream;
    uint8_t *frame;
    size_t len;
    int too_large;
    if (clm_frame_encode(CLM_REQUEST, method, stream, (uint32_t)timeout_ms, request, NULL, 0, c->send_limit, &frame,
                         &len, &too_large))
        return too_large ? fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "FRAME_TOO_LARGE",
                                "the request is over the server's frame limit of %u bytes", (unsigned)c->send_limit)
                         : fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for the request");
    enum io_result w = send_all(c->fd, frame, len, deadline);
    free(frame);
    if (w == IO_TIMEOUT)
        return fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "could not send within %d ms", timeout_ms);
    if (w == IO_PARTIAL) {
        lose(c, NULL, "WRITE_TIMEOUT", "a request was cut off by its timeout");
        return fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "could not send within %d ms", timeout_ms);
    }
    if (w == IO_ERROR)
        return lose(c, err, "CONNECTION_CLOSED", "could not send the request");

    clm_header h;
    uint8_t *payload;
    int r = await_frame(c, stream, NULL, deadline, &h, &payload, err);
    if (r == CLAIMLINE_DEADLINE_EXCEEDED) {
        send_cancel(c, stream);
        return fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "no answer within %d ms", timeout_ms);
    }
    if (r)
        return r;
    if (h.type == CLM_ERROR) {
        r = status_from_error(c, payload, h.length, err);
        free(payload);
        return r;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(response_type, NULL, h.length, payload);
    free(payload);
    if (!m) {
        char msg[160];
        snprintf(msg, sizeof msg, "RESPONSE payload is not a valid %s", response_type->name);
        return protocol_error(c, err, msg);
    }
    *out = m;
    return 0;
}

static const struct method_types {
    const ProtobufCMessageDescriptor *request, *response;
} methods[CLAIMLINE_METHOD_LAST + 1] = {
#define METHOD_TYPES(number, NAME, name, Req, req, Resp, resp, write) [number] = {&req##__descriptor, &resp##__descriptor},
    CLAIMLINE_METHODS(METHOD_TYPES)
#undef METHOD_TYPES
};

int claimline_call(claimline_client *client, int method, const ProtobufCMessage *request, int timeout_ms,
                   ProtobufCMessage **out, claimline_error *err)
{
    if (method < 1 || method > CLAIMLINE_METHOD_LAST || !methods[method].request) {
        if (out)
            *out = NULL;
        return fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT", "unknown method %d", method);
    }
    return call(client, (uint16_t)method, request, methods[method].request, methods[method].response, timeout_ms,
                out, err);
}

#define TYPED_CALL(fn, method, Req, Resp)                                                                      \
    int fn(claimline_client *client, const Req *request, int timeout_ms, Resp **out, claimline_error *err)     \
    {                                                                                                          \
        ProtobufCMessage *m = NULL;                                                                            \
        if (!out)                                                                                              \
            return fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT", "out must not be NULL");   \
        int r = claimline_call(client, method, request ? &request->base : NULL, timeout_ms, &m, err);         \
        *out = (Resp *)m;                                                                                      \
        return r;                                                                                              \
    }

#define METHOD_CALL(number, NAME, name, Req, req, Resp, resp, write) TYPED_CALL(claimline_##name, number, Req, Resp)
CLAIMLINE_METHODS(METHOD_CALL)
#undef METHOD_CALL

int claimline_ping(claimline_client *c, int timeout_ms, claimline_error *err)
{
    clear_err(err);
    if (!c || timeout_ms < 0)
        return fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT", "no client or a negative timeout");
    if (c->fd < 0 || c->draining)
        return gone(c, err);
    int64_t deadline = deadline_after(timeout_ms);
    uint8_t data[8], frame[CLM_HEADER_LEN + 8];
    uint64_t seq = ++c->ping_seq;
    clm_put_u32(data, (uint32_t)(seq >> 32));
    clm_put_u32(data + 4, (uint32_t)seq);
    clm_header h = {8, CLM_PING, 0, 0, 0};
    clm_header_encode(&h, frame);
    memcpy(frame + CLM_HEADER_LEN, data, 8);
    enum io_result w = send_all(c->fd, frame, sizeof frame, deadline);
    if (w == IO_TIMEOUT || w == IO_PARTIAL) {
        if (w == IO_PARTIAL)
            lose(c, NULL, "WRITE_TIMEOUT", "a PING was cut off by its timeout");
        return fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "could not send within %d ms", timeout_ms);
    }
    if (w == IO_ERROR)
        return lose(c, err, "CONNECTION_CLOSED", "could not send a PING");
    uint8_t *payload = NULL;
    int r = await_frame(c, 0, data, deadline, &h, &payload, err);
    if (r == CLAIMLINE_DEADLINE_EXCEEDED)
        return fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "no PONG within %d ms", timeout_ms);
    if (r == 0)
        free(payload);
    return r;
}

/* ---- connect and close ---- */

static claimline_client *new_client(int fd, uint32_t max_frame)
{
    claimline_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->recv_limit = c->send_limit = max_frame;
    return c;
}

claimline_client *clm_client_from_fd(int fd, uint32_t max_frame)
{
    if (set_socket_options(fd) < 0)
        return NULL;
    return new_client(fd, max_frame);
}

static void free_client(claimline_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->payload);
    free(c);
}

void claimline_close(claimline_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        send_goaway(c, 0, "SHUTDOWN", "client closing");
    free_client(c);
}

/* A connected, non-blocking TCP socket to host:port within the deadline, or -1 (err set). */
static int open_socket(const char *host, int port, int64_t deadline, claimline_error *err)
{
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints, *list;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int g = getaddrinfo(host, service, &hints, &list);
    if (g != 0) {
        fail(err, CLAIMLINE_UNAVAILABLE, "RESOLVE_FAILED", "%s: %s", host, gai_strerror(g));
        return -1;
    }
    int fd = -1, last_errno = 0, timed_out = 0;
    for (struct addrinfo *ai = list; ai && fd < 0 && !timed_out; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int r = set_socket_options(fd) < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, deadline);
            int so_error = 0;
            socklen_t l = sizeof so_error;
            if (w == 0) {
                timed_out = 1;
                errno = ETIMEDOUT;
            } else if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &l) < 0) {
                /* errno set */
            } else if (so_error == 0) {
                r = 0;
            } else {
                errno = so_error;
            }
        }
        if (r < 0) {
            last_errno = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    if (fd < 0) {
        fail(err, CLAIMLINE_UNAVAILABLE, timed_out ? "CONNECT_TIMEOUT" : "CONNECT_FAILED", "%s:%d: %s", host, port,
             strerror(last_errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Sends preface and HELLO, reads HELLO_ACK (0) or GOAWAY (its code). */
static int handshake(claimline_client *c, const char *token, const char *client_name, int64_t deadline,
                     claimline_error *err)
{
    Claimline__V1__Hello hello = CLAIMLINE__V1__HELLO__INIT;
    hello.token = (char *)token;
    hello.client_name = (char *)client_name;
    uint8_t *frame;
    size_t len;
    int too_large;
    if (clm_frame_encode(CLM_HELLO, 0, 0, 0, &hello.base, NULL, 0, CLM_MAX_FRAME_HANDSHAKE, &frame, &len,
                         &too_large))
        return too_large ? fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT",
                                "token and client name are over the %u-byte HELLO limit", CLM_MAX_FRAME_HANDSHAKE)
                         : fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for HELLO");
    uint8_t *out = malloc(CLM_PREFACE_LEN + len);
    if (!out) {
        free(frame);
        return fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for HELLO");
    }
    memcpy(out, clm_preface, CLM_PREFACE_LEN);
    memcpy(out + CLM_PREFACE_LEN, frame, len);
    free(frame);
    enum io_result w = send_all(c->fd, out, CLM_PREFACE_LEN + len, deadline);
    free(out);
    if (w == IO_TIMEOUT || w == IO_PARTIAL)
        return lose(c, err, "HANDSHAKE_TIMEOUT", "could not send HELLO in time");
    if (w == IO_ERROR)
        return lose(c, err, "CONNECTION_CLOSED", "could not send HELLO");

    clm_header h;
    uint8_t *payload;
    int r = read_frame(c, deadline, &h, &payload, err);
    if (r == CLAIMLINE_DEADLINE_EXCEEDED)
        return lose(c, err, "HANDSHAKE_TIMEOUT", "no HELLO_ACK in time");
    if (r)
        return r;
    if (h.type == CLM_HELLO_ACK) {
        Claimline__V1__HelloAck *ack = claimline__v1__hello_ack__unpack(NULL, h.length, payload);
        free(payload);
        if (!ack)
            return protocol_error(c, err, "HELLO_ACK payload is not a valid HelloAck");
        uint32_t max = ack->max_frame_size;
        c->recv_limit = c->send_limit = max == 0 || max > CLM_MAX_FRAME_LIMIT ? CLM_MAX_FRAME_LIMIT : max;
        copy_str(c->session_id, sizeof c->session_id, ack->session_id);
        copy_str(c->server_name, sizeof c->server_name, ack->server_name);
        copy_str(c->role, sizeof c->role, ack->role);
        claimline__v1__hello_ack__free_unpacked(ack, NULL);
        return 0;
    }
    if (h.type == CLM_GOAWAY) {
        Claimline__V1__GoAway *g = claimline__v1__go_away__unpack(NULL, h.length, payload);
        free(payload);
        if (!g)
            return protocol_error(c, err, "GOAWAY payload is not a valid GoAway");
        int code = g->code >= 1 && g->code <= 16 ? (int)g->code : CLAIMLINE_UNAVAILABLE;
        lose(c, NULL, g->reason, g->message);
        fail(err, code, g->reason[0] ? g->reason : "GOAWAY", "the server refused the connection: %s", g->message);
        claimline__v1__go_away__free_unpacked(g, NULL);
        return code;
    }
    free(payload);
    return protocol_error(c, err, "expected HELLO_ACK or GOAWAY");
}

int claimline_connect(const char *host, int port, const char *token, const char *client_name, int timeout_ms,
                      claimline_client **client, claimline_error *err)
{
    clear_err(err);
    if (client)
        *client = NULL;
    if (!host || !token || !client || port < 1 || port > 65535 || timeout_ms <= 0)
        return fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT",
                    "host, token and client are required; port 1..65535; timeout_ms > 0");
    int64_t deadline = deadline_after(timeout_ms);
    int fd = open_socket(host, port, deadline, err);
    if (fd < 0)
        return CLAIMLINE_UNAVAILABLE;
    claimline_client *c = new_client(fd, CLM_MAX_FRAME_HANDSHAKE);
    if (!c) {
        close(fd);
        return fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for a client");
    }
    int r = handshake(c, token, client_name ? client_name : "", deadline, err);
    if (r) {
        free_client(c);
        return r;
    }
    *client = c;
    return 0;
}

const char *claimline_session_id(const claimline_client *c) { return c ? c->session_id : ""; }
const char *claimline_server_name(const claimline_client *c) { return c ? c->server_name : ""; }
const char *claimline_role(const claimline_client *c) { return c ? c->role : ""; }

/* ---- helpers ---- */

int claimline_new_idempotency_key(char out[37])
{
    uint8_t b[16];
    size_t got = 0;
    out[0] = '\0';
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CLAIMLINE_INTERNAL;
    while (got < sizeof b) {
        ssize_t n = read(fd, b + got, sizeof b - got);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            break;
    }
    close(fd);
    if (got < sizeof b)
        return CLAIMLINE_INTERNAL;
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* variant 10 */
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (size_t i = 0; i < sizeof b; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0x0F];
    }
    *p = '\0';
    return 0;
}

const char *claimline_status_name(int code)
{
    static const char *const names[] = {
        "OK",       "CANCELLED",          "UNKNOWN",             "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
        "NOT_FOUND", "ALREADY_EXISTS",    "PERMISSION_DENIED",   "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED",  "OUT_OF_RANGE",       "UNIMPLEMENTED",       "INTERNAL",         "UNAVAILABLE",
        "DATA_LOSS", "UNAUTHENTICATED"};
    return code >= 0 && code <= 16 ? names[code] : "UNKNOWN_CODE";
}
