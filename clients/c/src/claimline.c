/* Claimline C client: connection, handshake and blocking unary calls.
 * POSIX sockets in non-blocking mode, poll() for every wait, no global state.
 * TLS: OpenSSL over the same non-blocking socket (a BIO of our own that sends with
 * MSG_NOSIGNAL), the same poll() waits on SSL_ERROR_WANT_READ / WANT_WRITE. */
#define _DEFAULT_SOURCE /* getaddrinfo, MSG_NOSIGNAL */

#include "claimline.h"

#include <ctype.h>
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
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "failover.h"
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
    uint32_t max_deadline_ms;  /* HelloAck's: the budget of a failover call with timeout 0 */
    /* Liveness: application bytes received on the connection, and when (the keepalives). */
    uint64_t recv_count;
    int64_t recv_at;
    /* The addresses (one for claimline_connect, none for a bare fd) and, with
     * claimline_connect_config(), the failover state (PROTOCOL.md 8.1, failover.c). */
    struct clm_address *addrs;
    size_t n_addrs;
    int failover;              /* 1: reconnects and fails over by itself */
    char *token, *client_name;
    clm_book book;             /* the current address, which are suspect and until when */
    uint64_t rng;              /* the pause's random factor (xorshift64*) */
    int index;                 /* the address of the connection (fd), -1 if none */
    int last_served;           /* the address that answered the last successful call, -1 */
    /* TLS (claimline_connect_tls, claimline_connect_config_tls): NULL tls_ctx is plain TCP. */
    SSL_CTX *tls_ctx;
    BIO_METHOD *tls_bio;       /* the socket BIO sending with MSG_NOSIGNAL */
    SSL *ssl;                  /* the open connection's TLS session, NULL if plain or none */
    char *tls_name;            /* the name to verify instead of the host, NULL if none */
    int tls_no_verify_name;
};

struct clm_address {
    char *host;
    int port;
    char *label;               /* "host:port", "[v6]:port" */
    char why[96];              /* why the last connection to it failed, in the call under way */
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

static enum io_result tls_send_all(claimline_client *c, const uint8_t *buf, size_t len, int64_t deadline);

/* Writes all of buf on the connection (TLS or plain) within the deadline. IO_TIMEOUT: nothing
 * was sent and the connection is intact; IO_PARTIAL: cut off by the deadline (the stream of
 * frames is broken: drop the connection). */
static enum io_result send_all(claimline_client *c, const uint8_t *buf, size_t len, int64_t deadline)
{
    if (c->ssl)
        return tls_send_all(c, buf, len, deadline);
    int fd = c->fd;
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

/* ---- TLS ---- */

/* OpenSSL's reason for the last error in this thread's queue (which is then cleared), with
 * the system error beneath it if there is one ("no such file (No such file or directory)"),
 * else `fallback`. */
static void tls_reason(char *buf, size_t cap, const char *fallback)
{
    unsigned long e, last = 0;
    int sys = 0;
    while ((e = ERR_get_error()) != 0) {
#ifdef ERR_SYSTEM_ERROR
        if (ERR_SYSTEM_ERROR(e)) {
            sys = (int)ERR_GET_REASON(e);
            continue;
        }
#endif
        if (ERR_GET_LIB(e) == ERR_LIB_SYS) {
            sys = (int)ERR_GET_REASON(e);
            continue;
        }
        if (ERR_GET_REASON(e) != ERR_R_SYS_LIB) /* "system lib": the system error says more */
            last = e;
    }
    const char *r = last ? ERR_reason_error_string(last) : NULL;
    char code[128];
    if (last && !r) {
        ERR_error_string_n(last, code, sizeof code);
        r = code;
    }
    if (r && sys)
        snprintf(buf, cap, "%s (%s)", r, strerror(sys));
    else if (r)
        snprintf(buf, cap, "%s", r);
    else
        snprintf(buf, cap, "%s", sys ? strerror(sys) : fallback);
}

/* The socket BIO: recv/send on the non-blocking fd (send with MSG_NOSIGNAL: OpenSSL's own
 * socket BIO write()s, which raises SIGPIPE on a closed connection). */
static int tls_bio_write(BIO *b, const char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n = send((int)(intptr_t)BIO_get_data(b), buf, (size_t)len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return (int)n;
}

static int tls_bio_read(BIO *b, char *buf, int len)
{
    BIO_clear_retry_flags(b);
    ssize_t n = recv((int)(intptr_t)BIO_get_data(b), buf, (size_t)len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    else if (n == 0)
        BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    return (int)n;
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num, (void)ptr;
    if (cmd == BIO_CTRL_EOF)
        return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int tls_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* The client's TLS context from the options: 0, or 3 (TLS_CONFIG_INVALID) / 8 (no memory). */
static int tls_setup(claimline_client *c, const claimline_tls_options *o, claimline_error *err)
{
    char why[200];
    if (o->key_file && !o->cert_file)
        return fail(err, CLAIMLINE_INVALID_ARGUMENT, "TLS_CONFIG_INVALID", "TLS: key_file without cert_file");
    c->tls_no_verify_name = o->no_verify_hostname != 0;
    if (o->server_name && !(c->tls_name = strdup(o->server_name)))
        return fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for TLS");
    ERR_clear_error();
    /* A fixed type (BIO_get_new_index() has 127 in all per process): nothing looks it up. */
    c->tls_bio = BIO_meth_new(200 | BIO_TYPE_SOURCE_SINK, "claimline socket");
    if (!c->tls_bio || !BIO_meth_set_write(c->tls_bio, tls_bio_write) ||
        !BIO_meth_set_read(c->tls_bio, tls_bio_read) || !BIO_meth_set_ctrl(c->tls_bio, tls_bio_ctrl) ||
        !BIO_meth_set_create(c->tls_bio, tls_bio_create) || !(c->tls_ctx = SSL_CTX_new(TLS_client_method()))) {
        tls_reason(why, sizeof why, "out of memory");
        return fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "TLS: cannot set up OpenSSL: %s", why);
    }
    SSL_CTX *ctx = c->tls_ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (o->ca_file ? SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1
                   : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        tls_reason(why, sizeof why, "cannot load");
        return fail(err, CLAIMLINE_INVALID_ARGUMENT, "TLS_CONFIG_INVALID", "TLS: CA file %s: %s",
                    o->ca_file ? o->ca_file : "(default paths)", why);
    }
    if (o->cert_file) {
        const char *key = o->key_file ? o->key_file : o->cert_file;
        if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
            tls_reason(why, sizeof why, "cannot load");
            return fail(err, CLAIMLINE_INVALID_ARGUMENT, "TLS_CONFIG_INVALID", "TLS: certificate file %s: %s",
                        o->cert_file, why);
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
            tls_reason(why, sizeof why, "cannot load");
            return fail(err, CLAIMLINE_INVALID_ARGUMENT, "TLS_CONFIG_INVALID", "TLS: key file %s: %s", key, why);
        }
    }
    return 0;
}

static void tls_free(claimline_client *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
    SSL_CTX_free(c->tls_ctx);
    c->tls_ctx = NULL;
    BIO_meth_free(c->tls_bio);
    c->tls_bio = NULL;
    free(c->tls_name);
    c->tls_name = NULL;
}

/* Closes the open connection (and frees its TLS session); `graceful`: send TLS close_notify
 * first if it can without blocking. */
static void close_conn(claimline_client *c, int graceful)
{
    if (c->ssl) {
        if (graceful) {
            ERR_clear_error();
            (void)SSL_shutdown(c->ssl);
        }
        ERR_clear_error();
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

static enum io_result tls_send_all(claimline_client *c, const uint8_t *buf, size_t len, int64_t deadline)
{
    size_t off = 0;
    while (off < len) {
        size_t n = 0;
        ERR_clear_error();
        if (SSL_write_ex(c->ssl, buf + off, len - off, &n) == 1) {
            off += n;
            continue;
        }
        int e = SSL_get_error(c->ssl, 0);
        short ev = e == SSL_ERROR_WANT_WRITE ? POLLOUT : e == SSL_ERROR_WANT_READ ? POLLIN : 0;
        ERR_clear_error();
        if (!ev)
            return IO_ERROR;
        int r = wait_fd(c->fd, ev, deadline);
        if (r > 0)
            continue;
        /* The record is sealed and part of it may be out: the TLS stream cannot take another. */
        if (r == 0)
            return IO_PARTIAL;
        return IO_ERROR;
    }
    return IO_OK;
}

/* Reads up to `want` bytes: > 0 the count; 0 the server closed the connection; -1 nothing
 * yet, wait for *events; -2 an error, said in msg (and *tls_error set if it is TLS's). */
static ssize_t conn_recv(claimline_client *c, uint8_t *dst, size_t want, short *events, char *msg, size_t cap,
                         int *tls_error)
{
    *tls_error = 0;
    if (!c->ssl) {
        for (;;) {
            ssize_t n = recv(c->fd, dst, want, 0);
            if (n >= 0)
                return n;
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                *events = POLLIN;
                return -1;
            }
            snprintf(msg, cap, "reading from the server: %s", strerror(errno));
            return -2;
        }
    }
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    if (SSL_read_ex(c->ssl, dst, want, &n) == 1)
        return (ssize_t)n;
    int e = SSL_get_error(c->ssl, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        *events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        ERR_clear_error();
        return 0;
    }
    unsigned long last = ERR_peek_last_error();
    if ((e == SSL_ERROR_SYSCALL && !last && errno == 0) ||
        (ERR_GET_LIB(last) == ERR_LIB_SSL && ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        ERR_clear_error();
        return 0; /* closed without close_notify: the frames say whether anything was cut */
    }
    if (e == SSL_ERROR_SYSCALL && !last) {
        snprintf(msg, cap, "reading from the server: %s", strerror(errno));
        return -2;
    }
    char why[200];
    tls_reason(why, sizeof why, "TLS error");
    snprintf(msg, cap, "TLS: %.150s", why);
    *tls_error = 1;
    return -2;
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
        close_conn(c, 0);
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
        (void)send_all(c, frame, len, now_ms() + CONTROL_WRITE_GRACE_MS);
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
        short events = POLLIN;
        int tls_error = 0;
        ssize_t n = conn_recv(c, dst, want, &events, msg, sizeof msg, &tls_error);
        if (n > 0) {
            c->recv_count++;
            c->recv_at = now_ms();
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
        if (n == -1) {
            int r = wait_fd(c->fd, events, deadline);
            if (r > 0)
                continue;
            if (r == 0)
                return CLAIMLINE_DEADLINE_EXCEEDED;
            snprintf(msg, sizeof msg, "waiting for the server: %s", strerror(errno));
        }
        return lose(c, err, tls_error ? "TLS_ERROR" : "CONNECTION_CLOSED", msg);
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
            enum io_result w = send_all(c, frame, len, deadline);
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
    enum io_result w = send_all(c, frame, sizeof frame, now_ms() + CONTROL_WRITE_GRACE_MS);
    if (w == IO_PARTIAL || w == IO_ERROR)
        lose(c, NULL, "CONNECTION_CLOSED", "could not send CANCEL");
}

/* The server closed the connection for the client's own idleness (GOAWAY IDLE_TIMEOUT, or
 * KEEPALIVE_TIMEOUT: a blocking client answers the server's PINGs only during its calls): the
 * address is fine. */
static int closed_for_idleness(const claimline_client *c)
{
    return c->draining &&
           (strcmp(c->gone_reason, "IDLE_TIMEOUT") == 0 || strcmp(c->gone_reason, "KEEPALIVE_TIMEOUT") == 0);
}

enum send_result {
    SEND_OK,
    SEND_LOCAL,   /* refused here, nothing sent: the request is over the server's frame limit, no memory */
    SEND_NOTHING, /* nothing could be written before the deadline; the connection is intact */
    SEND_CUT,     /* cut off by the deadline: the server holds part of a frame; the connection is given up */
    SEND_FAILED   /* the connection failed while writing (part or all of it may have arrived) */
};

/* Writes REQUEST on a new stream (*stream) with `timeout_ms` on the wire, within `deadline`.
 * For every result but SEND_OK, *code and err say why. */
static enum send_result send_request(claimline_client *c, uint16_t method, const ProtobufCMessage *request,
                                     uint32_t timeout_ms, int64_t deadline, uint32_t *stream, int *code,
                                     claimline_error *err)
{
    if (c->last_stream == UINT32_MAX) {
        *code = fail(err, CLAIMLINE_UNAVAILABLE, "STREAM_IDS_EXHAUSTED", "no stream ids left: connect again");
        return SEND_LOCAL;
    }
    uint8_t *frame;
    size_t len;
    int too_large;
    if (clm_frame_encode(CLM_REQUEST, method, c->last_stream + 1, timeout_ms, request, NULL, 0, c->send_limit, &frame,
                         &len, &too_large)) {
        if (too_large)
            *code = fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "FRAME_TOO_LARGE",
                         "the request is over the server's frame limit of %u bytes", (unsigned)c->send_limit);
        else
            *code = fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for the request");
        return SEND_LOCAL;
    }
    *stream = ++c->last_stream;
    enum io_result w = send_all(c, frame, len, deadline);
    free(frame);
    switch (w) {
    case IO_OK:
        return SEND_OK;
    case IO_TIMEOUT:
        *code = fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "could not send the request in time");
        return SEND_NOTHING;
    case IO_PARTIAL:
        lose(c, NULL, "WRITE_TIMEOUT", "a request was cut off by its timeout");
        *code = fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "could not send the request in time");
        return SEND_CUT;
    default:
        *code = lose(c, err, "CONNECTION_CLOSED", "could not send the request");
        return SEND_FAILED;
    }
}

/* The RESPONSE or ERROR of a call (the payload is freed): 0 with *out set, or the ERROR's code
 * with err set; 14 with the connection given up when the payload does not parse. */
static int decode_answer(claimline_client *c, const clm_header *h, uint8_t *payload,
                         const ProtobufCMessageDescriptor *response_type, ProtobufCMessage **out, claimline_error *err)
{
    if (h->type == CLM_ERROR) {
        int r = status_from_error(c, payload, h->length, err);
        free(payload);
        return r;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(response_type, NULL, h->length, payload);
    free(payload);
    if (!m) {
        char msg[160];
        snprintf(msg, sizeof msg, "RESPONSE payload is not a valid %s", response_type->name);
        return protocol_error(c, err, msg);
    }
    *out = m;
    return 0;
}

/* The single-connection client (claimline_connect): one REQUEST with the call's timeout, then its
 * RESPONSE or ERROR; on the client's own timeout, CANCEL, and the connection stays. */
static int call_once(claimline_client *c, uint16_t method, const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *response_type, int timeout_ms, ProtobufCMessage **out,
                     claimline_error *err)
{
    int64_t deadline = deadline_after(timeout_ms);
    uint32_t stream = 0;
    int code = 0;
    switch (send_request(c, method, request, (uint32_t)timeout_ms, deadline, &stream, &code, err)) {
    case SEND_OK:
        break;
    case SEND_NOTHING:
    case SEND_CUT:
        return fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "could not send within %d ms", timeout_ms);
    default:
        return code;
    }
    clm_header h;
    uint8_t *payload;
    int r = await_frame(c, stream, NULL, deadline, &h, &payload, err);
    if (r == CLAIMLINE_DEADLINE_EXCEEDED) {
        send_cancel(c, stream);
        return fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "no answer within %d ms", timeout_ms);
    }
    if (r)
        return r;
    r = decode_answer(c, &h, payload, response_type, out, err);
    if (r == 0)
        c->last_served = c->index;
    return r;
}

static int failover_call(claimline_client *c, uint16_t method, const ProtobufCMessage *request,
                         const ProtobufCMessageDescriptor *response_type, int timeout_ms, ProtobufCMessage **out,
                         claimline_error *err);

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
    if (c->failover)
        return failover_call(c, method, request, response_type, timeout_ms, out, err);
    if (c->fd < 0 || c->draining)
        return gone(c, err);
    return call_once(c, method, request, response_type, timeout_ms, out, err);
}

static const struct method_types {
    const ProtobufCMessageDescriptor *request, *response;
    int write;
} methods[CLAIMLINE_METHOD_LAST + 1] = {
#define METHOD_TYPES(number, NAME, name, Req, req, Resp, resp, write)                                           \
    [number] = {&req##__descriptor, &resp##__descriptor, write},
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

static int ping_connection(claimline_client *c, int timeout_ms, claimline_error *err)
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
    enum io_result w = send_all(c, frame, sizeof frame, deadline);
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
    c->index = c->last_served = -1;
    return c;
}

claimline_client *clm_client_from_fd(int fd, uint32_t max_frame)
{
    if (set_socket_options(fd) < 0)
        return NULL;
    return new_client(fd, max_frame);
}

static void free_addresses(struct clm_address *addrs, size_t n)
{
    for (size_t i = 0; addrs && i < n; i++) {
        free(addrs[i].host);
        free(addrs[i].label);
    }
    free(addrs);
}

static void free_client(claimline_client *c)
{
    close_conn(c, 0);
    tls_free(c);
    free(c->payload);
    free_addresses(c->addrs, c->n_addrs);
    clm_book_free(&c->book);
    free(c->token);
    free(c->client_name);
    free(c);
}

void claimline_close(claimline_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0) {
        send_goaway(c, 0, "SHUTDOWN", "client closing");
        close_conn(c, 1);
    }
    free_client(c);
}

/* ---- addresses ---- */

/* "host:port", or "[host]:port" for an IPv6 host. NULL if out of memory. */
static char *address_label(const char *host, int port)
{
    size_t n = strlen(host) + 16;
    char *label = malloc(n);
    if (!label)
        return NULL;
    if (strchr(host, ':'))
        snprintf(label, n, "[%s]:%d", host, port);
    else
        snprintf(label, n, "%s:%d", host, port);
    return label;
}

/* "host:port,[v6]:port,..." into *out (*n entries). The rules of the Python client's
 * parse_addresses and the Swift client's ClaimlineAddress.list: spaces around entries are
 * ignored, the last colon separates the port (1..65535), brackets around the host are
 * dropped, and every entry must parse. 0, or 3 naming the bad entry, or 8 out of memory. */
static int parse_addresses(const char *text, struct clm_address **out, size_t *n, claimline_error *err)
{
    size_t count = 1;
    for (const char *p = text; *p; p++)
        count += *p == ',';
    struct clm_address *addrs = calloc(count, sizeof *addrs);
    if (!addrs)
        return fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for the addresses");
    size_t k = 0;
    for (const char *p = text;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *b = p, *e = end, *colon = NULL;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        for (const char *q = b; q < e; q++)
            if (*q == ':')
                colon = q;
        long port = 0;
        int ok = colon && colon + 1 < e;
        for (const char *q = colon ? colon + 1 : e; ok && q < e; q++) {
            ok = isdigit((unsigned char)*q) != 0;
            port = port > 65535 ? port : port * 10 + (*q - '0');
        }
        const char *hb = b, *he = colon;
        if (ok && he - hb >= 2 && *hb == '[' && he[-1] == ']') {
            hb++;
            he--;
        }
        if (!ok || port < 1 || port > 65535 || he <= hb) {
            int len = (int)(end - p);
            free_addresses(addrs, k);
            return fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT",
                        "expected host:port (port 1..65535), got '%.*s'", len > 100 ? 100 : len, p);
        }
        char *host = malloc((size_t)(he - hb) + 1);
        if (host) {
            memcpy(host, hb, (size_t)(he - hb));
            host[he - hb] = '\0';
        }
        addrs[k].host = host;
        addrs[k].port = (int)port;
        addrs[k].label = host ? address_label(host, (int)port) : NULL;
        k++;
        if (!host || !addrs[k - 1].label) {
            free_addresses(addrs, k);
            return fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for the addresses");
        }
        if (!*end)
            break;
        p = end + 1;
    }
    *out = addrs;
    *n = k;
    return 0;
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

/* The TLS handshake on the connected socket c->fd within the deadline: 0, or 14 with the
 * connection closed (TLS_VERIFY_FAILED, TLS_HANDSHAKE_FAILED, HANDSHAKE_TIMEOUT), or 8. */
static int tls_start(claimline_client *c, const char *host, int64_t deadline, claimline_error *err)
{
    char why[200];
    ERR_clear_error();
    SSL *ssl = SSL_new(c->tls_ctx);
    BIO *bio = ssl ? BIO_new(c->tls_bio) : NULL;
    if (!bio) {
        SSL_free(ssl);
        tls_reason(why, sizeof why, "out of memory");
        return lose(c, err, "OUT_OF_MEMORY", why);
    }
    BIO_set_data(bio, (void *)(intptr_t)c->fd);
    SSL_set_bio(ssl, bio, bio);
    c->ssl = ssl;
    const char *name = c->tls_name ? c->tls_name : host;
    unsigned char ip[16];
    int is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    int ok = 1;
    if (!is_ip)
        ok = SSL_set_tlsext_host_name(ssl, name) == 1;
    if (ok && !c->tls_no_verify_name) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1 : X509_VERIFY_PARAM_set1_host(param, name, 0) == 1;
    }
    if (!ok) {
        char msg[256];
        tls_reason(why, sizeof why, "invalid name");
        snprintf(msg, sizeof msg, "TLS: cannot use '%.60s' as the server's name: %.150s", name, why);
        return lose(c, err, "TLS_HANDSHAKE_FAILED", msg);
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_connect(ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (w > 0)
                continue;
            ERR_clear_error();
            return lose(c, err, "HANDSHAKE_TIMEOUT", w == 0 ? "TLS handshake not done in time" : strerror(errno));
        }
        char msg[256];
        long verify = SSL_get_verify_result(ssl);
        unsigned long last = ERR_peek_last_error();
        if (verify != X509_V_OK) {
            tls_reason(why, sizeof why, "certificate verify failed");
            snprintf(msg, sizeof msg, "TLS: %s: the server's certificate: %s", why,
                     X509_verify_cert_error_string(verify));
            return lose(c, err, "TLS_VERIFY_FAILED", msg);
        }
        if (last || e == SSL_ERROR_SSL) {
            tls_reason(why, sizeof why, "handshake failed");
            snprintf(msg, sizeof msg, "TLS handshake failed: %s", why);
        } else {
            snprintf(msg, sizeof msg, "TLS handshake failed: %s",
                     errno ? strerror(errno) : "the server closed the connection");
        }
        ERR_clear_error();
        return lose(c, err, "TLS_HANDSHAKE_FAILED", msg);
    }
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
    enum io_result w = send_all(c, out, CLM_PREFACE_LEN + len, deadline);
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
    if (r && strcmp(c->gone_reason, "TLS_ERROR") == 0) {
        /* Under TLS 1.3 the server refuses a client certificate (or its absence) after the
         * client's side of the handshake is done: an alert where HELLO_ACK should be. */
        char msg[sizeof c->gone_message];
        snprintf(msg, sizeof msg, "TLS handshake failed: %s", c->gone_message + (sizeof "TLS: " - 1));
        copy_str(c->gone_reason, sizeof c->gone_reason, "TLS_HANDSHAKE_FAILED");
        copy_str(c->gone_message, sizeof c->gone_message, msg);
        return gone(c, err);
    }
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
        c->max_deadline_ms = ack->max_deadline_ms;
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
    return claimline_connect_tls(host, port, token, client_name, NULL, timeout_ms, client, err);
}

int claimline_connect_tls(const char *host, int port, const char *token, const char *client_name,
                          const claimline_tls_options *tls, int timeout_ms, claimline_client **client,
                          claimline_error *err)
{
    clear_err(err);
    if (client)
        *client = NULL;
    if (!host || !token || !client || port < 1 || port > 65535 || timeout_ms <= 0)
        return fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT",
                    "host, token and client are required; port 1..65535; timeout_ms > 0");
    int64_t deadline = deadline_after(timeout_ms);
    claimline_client *c = new_client(-1, CLM_MAX_FRAME_HANDSHAKE);
    if (!c)
        return fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for a client");
    int r = tls ? tls_setup(c, tls, err) : 0;
    if (r) {
        free_client(c);
        return r;
    }
    c->fd = open_socket(host, port, deadline, err);
    if (c->fd < 0) {
        free_client(c);
        return CLAIMLINE_UNAVAILABLE;
    }
    r = c->tls_ctx ? tls_start(c, host, deadline, err) : 0;
    if (r == 0)
        r = handshake(c, token, client_name ? client_name : "", deadline, err);
    if (r) {
        free_client(c);
        return r;
    }
    /* Its one address, for claimline_address() (best effort: no memory, no name). */
    if ((c->addrs = calloc(1, sizeof *c->addrs)) && (c->addrs[0].label = address_label(host, port))) {
        c->n_addrs = 1;
        c->index = 0;
    }
    *client = c;
    return 0;
}

/* ---- failover (claimline_connect_config): PROTOCOL.md 8.1 ----
 *
 * The planner (failover.c) says where and when each attempt of a call goes and how the call ends;
 * what follows carries it out on one connection at a time: the connect timeout, the keepalives,
 * the attempt's timeout (reset when the connection is silent, else CANCEL), and the outcome of
 * every attempt. */

/* The budget of a call with timeout 0 when HELLO_ACK named no max_deadline_ms: the server's
 * default ceiling (PROTOCOL.md 9.6). */
#define DEFAULT_BUDGET_MS 30000

static int random_bytes(uint8_t *b, size_t n);

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void sleep_until(int64_t t)
{
    for (int64_t left; (left = t - now_ms()) > 0;)
        (void)poll(NULL, 0, left > INT_MAX ? INT_MAX : (int)left);
}

/* A write's idempotency_key, if the message has one and it is not empty. */
static int has_idempotency_key(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "idempotency_key");
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    const char *key = *(const char *const *)(const void *)((const char *)m + f->offset);
    return key && key[0];
}

/* The pause's random factor in [0.5, 1] (8.1 step 4): xorshift64* on the client's own state. */
static double jitter(void *arg)
{
    uint64_t *state = arg;
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return 0.5 + 0.5 * (double)((x * UINT64_C(0x2545F4914F6CDD1D)) >> 11) / 9007199254740992.0;
}

/* err with `message` copied whole or cut on a UTF-8 boundary. */
static int fail_with(claimline_error *err, int code, const char *reason, const char *message)
{
    fail(err, code, reason, "%s", "");
    if (err)
        copy_str(err->message, sizeof err->message, message);
    return code;
}

/* Closes the open connection, saying GOAWAY SHUTDOWN first if it can without blocking. */
static void drop_connection(claimline_client *c)
{
    if (c->fd < 0)
        return;
    send_goaway(c, 0, "SHUTDOWN", "client failing over");
    close_conn(c, 1);
    reset_reader(c);
}

/* Closes the open connection with SO_LINGER 0, so that TCP sends RST: an instance frozen with
 * requests still in its socket discards them rather than applying them after the caller was
 * told otherwise (PROTOCOL.md 8.1 step 3, 9.5). */
static void reset_connection(claimline_client *c, const char *reason, const char *message)
{
    if (c->fd >= 0) {
        struct linger l = {1, 0};
        (void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    lose(c, NULL, reason, message);
}

enum conn_state { CONN_OK, CONN_NONE, CONN_IDLE_CLOSED, CONN_CLOSING };

/* The open connection before a call: reads what arrived since the last one without waiting
 * (answers PINGs, discards late answers, follows GOAWAY). CONN_CLOSING: it was closed or is
 * going away (and is closed now); CONN_IDLE_CLOSED: the same, for idleness (the address is fine). */
static enum conn_state check_connection(claimline_client *c)
{
    if (c->fd < 0)
        return CONN_NONE;
    if (!c->draining) {
        clm_header h;
        uint8_t *p = NULL;
        if (await_frame(c, 0, NULL, now_ms(), &h, &p, NULL) == 0)
            free(p);
        if (c->fd >= 0 && !c->draining)
            return CONN_OK;
    }
    int idle = closed_for_idleness(c);
    drop_connection(c);
    return idle ? CONN_IDLE_CLOSED : CONN_CLOSING;
}

/* Sends a PING carrying the next sequence number (in data). 0, or -1 with the connection given
 * up. A PING that cannot even be written in time counts as sent: the silence decides. */
static int send_ping(claimline_client *c, uint8_t data[8], int64_t deadline)
{
    uint8_t frame[CLM_HEADER_LEN + 8];
    uint64_t seq = ++c->ping_seq;
    clm_put_u32(data, (uint32_t)(seq >> 32));
    clm_put_u32(data + 4, (uint32_t)seq);
    clm_header h = {8, CLM_PING, 0, 0, 0};
    clm_header_encode(&h, frame);
    memcpy(frame + CLM_HEADER_LEN, data, 8);
    int64_t until = now_ms() + CONTROL_WRITE_GRACE_MS;
    enum io_result w = send_all(c, frame, sizeof frame, until < deadline ? until : deadline);
    if (w == IO_PARTIAL) {
        reset_connection(c, "WRITE_TIMEOUT", "a PING was cut off by its timeout");
        return -1;
    }
    if (w == IO_ERROR) {
        lose(c, NULL, "CONNECTION_CLOSED", "could not send a PING");
        return -1;
    }
    return 0;
}

/* A blocking client's idle keepalive (8.1): a connection that has received nothing for
 * idle_keepalive_ms gets a PING before it carries a call. 0: a frame came back within
 * keepalive_timeout_ms (and `deadline`); 1: none did, the connection is reset; -1: it was lost
 * or is going away. e says why for 1 and -1. */
static int idle_keepalive(claimline_client *c, int64_t deadline, claimline_error *e)
{
    const clm_failover_settings *s = &c->book.settings;
    if (now_ms() - c->recv_at < s->idle_keepalive_ms)
        return 0;
    uint8_t data[8];
    uint64_t before = c->recv_count;
    if (send_ping(c, data, deadline) < 0) {
        gone(c, e);
        return -1;
    }
    int64_t until = now_ms() + s->keepalive_timeout_ms;
    clm_header h;
    uint8_t *p = NULL;
    int r = await_frame(c, 0, data, until < deadline ? until : deadline, &h, &p, e);
    if (r == 0) {
        free(p);
        return 0;
    }
    if (r != CLAIMLINE_DEADLINE_EXCEEDED)
        return -1;
    if (c->recv_count != before)
        return 0; /* something came back: alive */
    char msg[128];
    snprintf(msg, sizeof msg, "an idle connection answered no PING within %lld ms: reset",
             (long long)s->keepalive_timeout_ms);
    reset_connection(c, "KEEPALIVE_TIMEOUT", msg);
    fail_with(e, CLAIMLINE_UNAVAILABLE, "KEEPALIVE_TIMEOUT", msg);
    return 1;
}

#define AWAIT_DEAD (-1)

/* Reads frames until the RESPONSE or ERROR of `stream` (0, *h and *payload set), the attempt's
 * deadline (4), the connection's loss (14, e set) or its keepalive's expiry (AWAIT_DEAD): with
 * no frame received for keepalive_interval_ms it sends a PING, and the connection is dead when
 * nothing at all comes within keepalive_timeout_ms of it. */
static int await_answer(claimline_client *c, uint32_t stream, int64_t deadline, clm_header *h, uint8_t **payload,
                        claimline_error *e)
{
    const clm_failover_settings *s = &c->book.settings;
    int64_t written = now_ms(), ping_at = -1;
    uint64_t at_ping = 0;
    for (;;) {
        int64_t now = now_ms(), wake;
        if (now >= deadline)
            return CLAIMLINE_DEADLINE_EXCEEDED;
        if (ping_at >= 0 && c->recv_count != at_ping)
            ping_at = -1; /* something came after the PING: alive */
        if (ping_at >= 0) {
            wake = ping_at + s->keepalive_timeout_ms;
            if (now >= wake)
                return AWAIT_DEAD;
        } else {
            wake = (c->recv_at > written ? c->recv_at : written) + s->keepalive_interval_ms;
            if (now >= wake) {
                uint8_t data[8];
                if (send_ping(c, data, deadline) < 0)
                    return gone(c, e);
                ping_at = now;
                at_ping = c->recv_count;
                continue;
            }
        }
        int r = await_frame(c, stream, NULL, wake < deadline ? wake : deadline, h, payload, e);
        if (r != CLAIMLINE_DEADLINE_EXCEEDED)
            return r;
    }
}

struct pending_call {
    uint16_t method;
    const ProtobufCMessage *request;
    const ProtobufCMessageDescriptor *response_type;
    ProtobufCMessage **out;
};

/* How an attempt ended, besides its outcome. */
struct attempt_result {
    int code;               /* the server's status code (an ERROR), or the client's own; 0: none */
    const char *reason;     /* its reason; NULL: the outcome's own (failover.c) */
    int64_t retry_after_ms; /* the server's hint */
    int stop;               /* the call ends with e: no instance would do better */
};

/* Refusals that every instance would give the same (a bad token, client name or version, a
 * plain client on a TLS port, no memory): they end the call, they are no instance's failure. */
static int refused_everywhere(int code, const claimline_error *e)
{
    return code == CLAIMLINE_INVALID_ARGUMENT || code == CLAIMLINE_PERMISSION_DENIED ||
           code == CLAIMLINE_UNIMPLEMENTED || code == CLAIMLINE_UNAUTHENTICATED ||
           code == CLAIMLINE_FAILED_PRECONDITION || strcmp(e->reason, "OUT_OF_MEMORY") == 0;
}

/* A connection to address i: TCP, TLS, preface, HELLO and HELLO_ACK by `until`. 0 or a code. */
static int open_address(claimline_client *c, size_t i, int64_t until, claimline_error *e)
{
    struct clm_address *ad = &c->addrs[i];
    int fd = open_socket(ad->host, ad->port, until, e);
    if (fd < 0)
        return CLAIMLINE_UNAVAILABLE;
    /* A new connection: nothing of the last one carries over. */
    reset_reader(c);
    c->fd = fd;
    c->index = (int)i;
    c->last_stream = 0;
    c->recv_limit = c->send_limit = CLM_MAX_FRAME_HANDSHAKE;
    c->draining = 0;
    c->goaway_last_stream = 0;
    c->gone_reason[0] = c->gone_message[0] = '\0';
    int r = c->tls_ctx ? tls_start(c, ad->host, until, e) : 0;
    if (r == 0)
        r = handshake(c, c->token, c->client_name, until, e);
    if (r) {
        if (c->fd >= 0) { /* refused before anything was sent (a HELLO too large, no memory) */
            close_conn(c, 0);
            reset_reader(c);
        }
        return r;
    }
    c->recv_at = now_ms();
    return 0;
}

/* One attempt (the step `s` of the plan): a connection to its address (the open one, or a new
 * one within connect_timeout_ms), the request, its answer; pc NULL: the connection only. */
static enum clm_outcome run_attempt(claimline_client *c, const struct pending_call *pc, const clm_step *s,
                                    claimline_error *e, struct attempt_result *res)
{
    const clm_failover_settings *set = &c->book.settings;
    int64_t until = s->at_ms + s->timeout_ms;
    size_t i = s->address;
    char msg[160];
    memset(res, 0, sizeof *res);
    clear_err(e);

    if (c->fd >= 0 && (size_t)c->index != i)
        drop_connection(c); /* one connection at a time */
    enum conn_state st = check_connection(c);
    if (st == CONN_CLOSING) {
        gone(c, e);
        return CLM_GOAWAY_UNPROCESSED; /* nothing of this call was written on it */
    }
    if (st == CONN_OK && pc && c->last_stream == UINT32_MAX)
        drop_connection(c);
    if (c->fd >= 0 && pc && idle_keepalive(c, until, e) != 0) {
        /* An idle connection found dead before anything of the call was written on it is no
         * attempt (8.1, as the Python client): a new connection is opened, within what is left
         * of the attempt, and the attempt's outcome is that connection's. */
        drop_connection(c);
        clear_err(e);
    }
    if (c->fd < 0) {
        int64_t t = now_ms() + set->connect_timeout_ms;
        int r = open_address(c, i, t < until ? t : until, e);
        if (r) {
            copy_str(c->addrs[i].why, sizeof c->addrs[i].why, e->reason[0] ? e->reason : claimline_status_name(r));
            res->stop = refused_everywhere(r, e);
            return CLM_CONNECT_FAILED;
        }
    }
    if (!pc)
        return CLM_ANSWER;

    /* The request; its timeout on the wire is what is left of the attempt (8.1 step 2). */
    int64_t left = until - now_ms();
    uint32_t stream = 0;
    int code = 0;
    switch (send_request(c, pc->method, pc->request, (uint32_t)(left < 1 ? 1 : left), until, &stream, &code, e)) {
    case SEND_OK:
        break;
    case SEND_LOCAL:
        res->stop = 1;
        return CLM_ANSWER;
    case SEND_NOTHING:
    case SEND_CUT:
        /* No server holds the whole request: not applied. The instance does not read. */
        snprintf(msg, sizeof msg, "could not send the request within %lld ms: connection reset",
                 (long long)s->timeout_ms);
        reset_connection(c, "WRITE_TIMEOUT", msg);
        fail_with(e, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", msg);
        res->code = CLAIMLINE_DEADLINE_EXCEEDED;
        res->reason = "CLIENT_DEADLINE";
        return CLM_GOAWAY_UNPROCESSED;
    default:
        return CLM_LOST;
    }

    /* Its answer (8.1 step 3 and the keepalive). */
    uint64_t received = c->recv_count;
    clm_header h;
    uint8_t *payload = NULL;
    int r = await_answer(c, stream, until, &h, &payload, e);
    if (r == AWAIT_DEAD) {
        snprintf(msg, sizeof msg, "no frame within %lld ms of a PING: connection reset",
                 (long long)set->keepalive_timeout_ms);
        reset_connection(c, "KEEPALIVE_TIMEOUT", msg);
        fail_with(e, CLAIMLINE_UNAVAILABLE, "CONNECTION_CLOSED", msg);
        return CLM_LOST;
    }
    if (r == CLAIMLINE_DEADLINE_EXCEEDED) {
        if (c->recv_count == received) {
            snprintf(msg, sizeof msg, "no answer within %lld ms and nothing received: connection reset",
                     (long long)s->timeout_ms);
            reset_connection(c, "ATTEMPT_TIMEOUT", msg);
        } else {
            snprintf(msg, sizeof msg, "no answer within %lld ms: cancelled", (long long)s->timeout_ms);
            send_cancel(c, stream);
        }
        fail_with(e, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", msg);
        return CLM_ATTEMPT_TIMEOUT;
    }
    if (r) /* the connection is gone; a stream above a GOAWAY's last_stream_id was never processed */
        return c->draining && stream > c->goaway_last_stream ? CLM_GOAWAY_UNPROCESSED : CLM_LOST;
    code = decode_answer(c, &h, payload, pc->response_type, pc->out, e);
    if (code == 0) {
        c->last_served = (int)i;
        return CLM_ANSWER;
    }
    if (c->fd < 0) /* no valid answer: the connection was given up */
        return CLM_LOST;
    res->code = code;
    res->reason = e->reason;
    res->retry_after_ms = e->retry_after_ms;
    if (code == CLAIMLINE_UNAVAILABLE)
        return strcmp(e->reason, "OUTCOME_UNKNOWN") == 0 ? CLM_OUTCOME_UNKNOWN : CLM_UNAVAILABLE;
    if (code == CLAIMLINE_RESOURCE_EXHAUSTED && strcmp(e->reason, "MAX_CONCURRENT_STREAMS") == 0)
        return CLM_EXHAUSTED;
    if (code == CLAIMLINE_DEADLINE_EXCEEDED)
        return CLM_SERVER_DEADLINE;
    return CLM_ANSWER; /* the server's final answer: the call ends with it */
}

/* What the caller is told (8.1, "The final error tells the truth"); last: the last attempt's
 * error; answer_code: the answer's code (0: a RESPONSE). */
static int end_call(const claimline_client *c, const clm_plan *plan, const clm_step *end, const claimline_error *last,
                    int answer_code, const char *trail, claimline_error *err)
{
    char msg[sizeof err->message + 512];
    switch (end->end) {
    case CLM_END_ANSWER:
        if (answer_code == 0) {
            clear_err(err);
            return 0;
        }
        if (err) {
            *err = *last; /* as the server sent it */
            if (plan->attempts > 1) {
                snprintf(msg, sizeof msg, "%s [%u attempt(s): %s]", last->message, plan->attempts, trail);
                copy_str(err->message, sizeof err->message, msg);
            }
        }
        return answer_code;
    case CLM_END_OUTCOME_UNKNOWN:
        snprintf(msg, sizeof msg, "%s [%u attempt(s): %s]",
                 plan->kind == CLM_KEYLESS_WRITE
                     ? "may have been applied; the write has no idempotency key: not retried"
                     : "may have been applied: retry with the same idempotency key",
                 plan->attempts, trail);
        return fail_with(err, CLAIMLINE_UNAVAILABLE, "OUTCOME_UNKNOWN", msg);
    case CLM_END_NO_ATTEMPT:
        return fail(err, CLAIMLINE_DEADLINE_EXCEEDED, "CLIENT_DEADLINE", "no time left for an attempt");
    case CLM_END_CONNECT_FAILED: {
        size_t used = (size_t)snprintf(msg, sizeof msg, "cannot connect:");
        for (size_t i = 0; i < c->n_addrs && used < sizeof msg; i++)
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s %s %s", i ? "," : "", c->addrs[i].label,
                                     c->addrs[i].why[0] ? c->addrs[i].why : "(not tried)");
        if (used < sizeof msg)
            snprintf(msg + used, sizeof msg - used, " [%u attempt(s)]; the last: %s", plan->attempts, last->message);
        return fail_with(err, CLAIMLINE_UNAVAILABLE, "CONNECT_FAILED", msg);
    }
    case CLM_END_STOPPED:
        if (err)
            *err = *last;
        return end->code;
    default: /* CLM_END_LAST: the last attempt's error, the server's or the client's own status */
        if (err) {
            *err = *last;
            err->code = end->code;
            copy_str(err->reason, sizeof err->reason, end->reason);
            snprintf(msg, sizeof msg, "%s [%u attempt(s): %s]", last->message, plan->attempts, trail);
            copy_str(err->message, sizeof err->message, msg);
        }
        return end->code;
    }
}

/* One call (pc NULL: a connection only) by the plan, within budget_ms. */
static int run_call(claimline_client *c, const struct pending_call *pc, enum clm_kind kind, int64_t budget_ms,
                    claimline_error *err)
{
    clm_plan plan;
    clm_plan_init(&plan, &c->book, kind, now_ms(), budget_ms, jitter, &c->rng);
    for (size_t i = 0; i < c->n_addrs; i++)
        c->addrs[i].why[0] = '\0';
    char trail[400] = "";
    claimline_error e;
    clear_err(&e);
    int answer_code = 0;
    for (;;) {
        clm_step s = clm_plan_next(&plan, now_ms());
        if (!s.attempt)
            return end_call(c, &plan, &s, &e, answer_code, trail, err);
        sleep_until(s.at_ms);
        struct attempt_result res;
        enum clm_outcome o = run_attempt(c, pc, &s, &e, &res);
        size_t used = strlen(trail);
        snprintf(trail + used, sizeof trail - used, "%s%s %s", used ? "; " : "", c->addrs[s.address].label,
                 e.reason[0] ? e.reason : clm_outcome_name(o));
        if (res.stop) {
            clm_step end = clm_plan_stop(&plan, e.code, e.reason);
            return end_call(c, &plan, &end, &e, answer_code, trail, err);
        }
        if (o == CLM_ANSWER)
            answer_code = res.code;
        clm_plan_record(&plan, &s, o, now_ms(), res.retry_after_ms, res.code, res.reason);
    }
}

static int failover_call(claimline_client *c, uint16_t method, const ProtobufCMessage *request,
                         const ProtobufCMessageDescriptor *response_type, int timeout_ms, ProtobufCMessage **out,
                         claimline_error *err)
{
    const struct pending_call pc = {method, request, response_type, out};
    enum clm_kind kind = !methods[method].write           ? CLM_READ
                         : has_idempotency_key(request) ? CLM_WRITE
                                                        : CLM_KEYLESS_WRITE;
    int64_t budget = timeout_ms > 0            ? (int64_t)timeout_ms
                     : c->max_deadline_ms > 0 ? (int64_t)c->max_deadline_ms
                                              : DEFAULT_BUDGET_MS;
    return run_call(c, &pc, kind, budget, err);
}

int claimline_connect_config(const claimline_config *config, int timeout_ms, claimline_client **client,
                             claimline_error *err)
{
    return claimline_connect_config_tls(config, NULL, timeout_ms, client, err);
}

/* A setting of the config: its value, or (0) the default. */
static int64_t setting(int value, int64_t default_ms) { return value > 0 ? value : default_ms; }

int claimline_connect_config_tls(const claimline_config *config, const claimline_tls_options *tls, int timeout_ms,
                                 claimline_client **client, claimline_error *err)
{
    clear_err(err);
    if (client)
        *client = NULL;
    if (!config || !config->addresses || !config->token || !client || timeout_ms <= 0 ||
        config->attempt_timeout_ms < 0 || config->connect_timeout_ms < 0 || config->keepalive_interval_ms < 0 ||
        config->keepalive_timeout_ms < 0 || config->idle_keepalive_ms < 0 || config->suspect_base_ms < 0 ||
        config->suspect_max_ms < 0 || config->backoff_initial_ms < 0 || config->backoff_max_ms < 0)
        return fail(err, CLAIMLINE_INVALID_ARGUMENT, "CLIENT_INVALID_ARGUMENT",
                    "config, addresses, token and client are required; timeout_ms > 0; no negative setting");
    claimline_client *c = new_client(-1, CLM_MAX_FRAME_HANDSHAKE);
    if (!c)
        return fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for a client");
    int r = parse_addresses(config->addresses, &c->addrs, &c->n_addrs, err);
    if (r) {
        free_client(c);
        return r;
    }
    clm_failover_settings s = clm_failover_defaults;
    s.attempt_timeout_ms = setting(config->attempt_timeout_ms, s.attempt_timeout_ms);
    s.connect_timeout_ms = setting(config->connect_timeout_ms, s.connect_timeout_ms);
    s.keepalive_interval_ms = setting(config->keepalive_interval_ms, s.keepalive_interval_ms);
    s.keepalive_timeout_ms = setting(config->keepalive_timeout_ms, s.keepalive_timeout_ms);
    s.idle_keepalive_ms = setting(config->idle_keepalive_ms, s.idle_keepalive_ms);
    s.suspect_base_ms = setting(config->suspect_base_ms, s.suspect_base_ms);
    s.suspect_max_ms = setting(config->suspect_max_ms, s.suspect_max_ms);
    s.backoff_initial_ms = setting(config->backoff_initial_ms, s.backoff_initial_ms);
    s.backoff_max_ms = setting(config->backoff_max_ms, s.backoff_max_ms);
    if (s.suspect_max_ms < s.suspect_base_ms)
        s.suspect_max_ms = s.suspect_base_ms;
    if (s.backoff_max_ms < s.backoff_initial_ms)
        s.backoff_max_ms = s.backoff_initial_ms;
    c->token = dup_str(config->token);
    c->client_name = dup_str(config->client_name ? config->client_name : "");
    if (!c->token || !c->client_name || clm_book_init(&c->book, c->n_addrs, &s) < 0) {
        free_client(c);
        return fail(err, CLAIMLINE_RESOURCE_EXHAUSTED, "OUT_OF_MEMORY", "no memory for a client");
    }
    if (tls && (r = tls_setup(c, tls, err)) != 0) {
        free_client(c);
        return r;
    }
    c->failover = 1;
    uint8_t b[8] = {0};
    if (random_bytes(b, sizeof b) == 0)
        c->rng = (uint64_t)clm_get_u32(b) << 32 | clm_get_u32(b + 4);
    if (c->rng == 0)
        c->rng = (uint64_t)now_ms() | 1;
    if (config->random_start)
        c->book.current = (size_t)(c->rng % c->n_addrs);
    r = run_call(c, NULL, CLM_READ, timeout_ms, err);
    if (r) {
        free_client(c);
        return r;
    }
    *client = c;
    return 0;
}

int claimline_connect_addresses(const char *addresses, const char *token, const char *client_name, int timeout_ms,
                                claimline_client **client, claimline_error *err)
{
    return claimline_connect_addresses_tls(addresses, token, client_name, NULL, timeout_ms, client, err);
}

int claimline_connect_addresses_tls(const char *addresses, const char *token, const char *client_name,
                                    const claimline_tls_options *tls, int timeout_ms, claimline_client **client,
                                    claimline_error *err)
{
    claimline_config config = CLAIMLINE_CONFIG_INIT;
    config.addresses = addresses;
    config.token = token;
    config.client_name = client_name;
    return claimline_connect_config_tls(&config, tls, timeout_ms, client, err);
}

int claimline_ping(claimline_client *c, int timeout_ms, claimline_error *err)
{
    int was_open = c && c->fd >= 0 && !c->draining;
    int r = ping_connection(c, timeout_ms, err);
    if (r == CLAIMLINE_UNAVAILABLE && was_open && c->failover && c->fd < 0 && !closed_for_idleness(c) &&
        c->index >= 0)
        clm_book_record(&c->book, (size_t)c->index, CLM_LOST, now_ms(), 0); /* the next call goes elsewhere */
    return r;
}

const char *claimline_address(const claimline_client *c)
{
    return c && c->fd >= 0 && c->index >= 0 && (size_t)c->index < c->n_addrs ? c->addrs[c->index].label : "";
}

const char *claimline_last_served_address(const claimline_client *c)
{
    return c && c->last_served >= 0 && (size_t)c->last_served < c->n_addrs ? c->addrs[c->last_served].label : "";
}

unsigned claimline_failovers(const claimline_client *c) { return c && c->failover ? c->book.failovers : 0; }

size_t claimline_address_count(const claimline_client *c) { return c ? c->n_addrs : 0; }

const char *claimline_address_at(const claimline_client *c, size_t i)
{
    return c && i < c->n_addrs ? c->addrs[i].label : "";
}

const char *claimline_session_id(const claimline_client *c) { return c ? c->session_id : ""; }
const char *claimline_server_name(const claimline_client *c) { return c ? c->server_name : ""; }
const char *claimline_role(const claimline_client *c) { return c ? c->role : ""; }

/* ---- helpers ---- */

/* n bytes from /dev/urandom: 0, or -1. */
static int random_bytes(uint8_t *b, size_t n)
{
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r > 0)
            got += (size_t)r;
        else if (r < 0 && errno == EINTR)
            continue;
        else
            break;
    }
    close(fd);
    return got == n ? 0 : -1;
}

int claimline_new_idempotency_key(char out[37])
{
    uint8_t b[16];
    out[0] = '\0';
    if (random_bytes(b, sizeof b) < 0)
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
