/* Claimline C client: blocking unary calls over Claimline protocol v1
 * (proto/PROTOCOL.md) for IVR modules (FreeSWITCH, Asterisk, ...).
 *
 * Messages are protoc-c's structs from proto/claimline/v1. Installed
 * (make install): compile and link with `pkg-config --cflags --libs claimline`.
 * From the build tree: compile with -I<repo>/clients/swift/Sources/ClaimlineProtoC/include and
 * link libclaimline.a and -lprotobuf-c. Requests stay owned by the caller; every response the library
 * returns is owned by the caller and freed with the matching
 * claimline__v1__*__free_unpacked(resp, NULL).
 *
 * Threading: a claimline_client has no internal locking. Use one client per
 * thread (or guard one with your own mutex). The library has no global state of
 * its own (OpenSSL's, for TLS, is thread-safe), so separate clients in separate
 * threads are independent.
 *
 * Model: calls are sequential on a connection. Each call sends a REQUEST on a
 * new, increasing stream id, then reads frames until that stream's RESPONSE
 * or ERROR arrives, answering PING with PONG and discarding answers to older
 * streams (calls that timed out earlier). When the per-call timeout passes
 * the call sends CANCEL for its stream and returns CLAIMLINE_DEADLINE_EXCEEDED;
 * the connection stays usable. Writes are idempotent by their
 * idempotency_key: retry a write that failed with the same key.
 *
 * Connection problems (refused, closed, GOAWAY, a frame the client cannot
 * parse) return CLAIMLINE_UNAVAILABLE, with the GOAWAY's or the client's
 * reason in err->reason; after that every call on the client returns
 * CLAIMLINE_UNAVAILABLE: claimline_close() it and connect again. The server
 * closes idle connections (HelloAck.idle_timeout_ms, 5 min by default) and
 * expects PINGs answered (keepalive_interval_ms): a client that sits idle
 * between calls should call claimline_ping() now and then, or reconnect when
 * a call returns CLAIMLINE_UNAVAILABLE.
 *
 * Several instances: claimline_connect_config() / claimline_connect_addresses() take a
 * list of addresses and make a client that reconnects, keeps its connection alive and fails
 * over by itself, by PROTOCOL.md section 8.1 (see there; that paragraph's CANCEL and
 * "every later call returns CLAIMLINE_UNAVAILABLE" are the single-connection client's); the
 * functions below work the same on both kinds of client.
 *
 * TLS and mutual TLS: claimline_connect_tls() and claimline_connect_config_tls()
 * (OpenSSL; see claimline_tls_options).
 *
 * The library never raises SIGPIPE (it sends with MSG_NOSIGNAL, TLS included). Host names
 * are resolved with getaddrinfo(), which the connect timeout does not bound:
 * pass a numeric address if that matters. Strings must be UTF-8 (the server
 * rejects invalid UTF-8 with INVALID_ARGUMENT); C strings cannot carry NUL. */
#ifndef CLAIMLINE_H
#define CLAIMLINE_H

#include <stddef.h>
#include <stdint.h>

#include "claimline/v1/service.pb-c.h"
#include "claimline/v1/types.pb-c.h"
#include "claimline/v1/wire.pb-c.h"
#include "claimline_methods.h"

#ifdef __cplusplus
extern "C" {
#endif

/* gRPC canonical status codes, as returned by every function below. */
enum {
    CLAIMLINE_OK = 0,
    CLAIMLINE_CANCELLED = 1,
    CLAIMLINE_UNKNOWN = 2,
    CLAIMLINE_INVALID_ARGUMENT = 3,
    CLAIMLINE_DEADLINE_EXCEEDED = 4,
    CLAIMLINE_NOT_FOUND = 5,
    CLAIMLINE_ALREADY_EXISTS = 6,
    CLAIMLINE_PERMISSION_DENIED = 7,
    CLAIMLINE_RESOURCE_EXHAUSTED = 8,
    CLAIMLINE_FAILED_PRECONDITION = 9,
    CLAIMLINE_ABORTED = 10,
    CLAIMLINE_OUT_OF_RANGE = 11,
    CLAIMLINE_UNIMPLEMENTED = 12,
    CLAIMLINE_INTERNAL = 13,
    CLAIMLINE_UNAVAILABLE = 14,
    CLAIMLINE_DATA_LOSS = 15,
    CLAIMLINE_UNAUTHENTICATED = 16
};

/* Method numbers (PROTOCOL.md section 4), for claimline_call(): CLAIMLINE_METHOD_ESCALATE,
 * ..., from the generated list in claimline_methods.h (`make proto`, from the .proto). */
enum {
#define CLAIMLINE_METHOD_ENUM(number, NAME, name, Req, req, Resp, resp, write) CLAIMLINE_METHOD_##NAME = number,
    CLAIMLINE_METHODS(CLAIMLINE_METHOD_ENUM)
#undef CLAIMLINE_METHOD_ENUM
};

/* Why a function failed. Strings are NUL-terminated, truncated to fit (never
 * in the middle of a UTF-8 sequence), empty when not given. */
typedef struct claimline_error {
    int code;                 /* the status code (also the return value); 0 on success */
    char message[256];        /* for humans and logs (the server's RpcStatus.message) */
    char reason[64];          /* UPPER_SNAKE: RpcStatus.reason, GOAWAY reason or the client's own */
    char field[128];          /* the first field violation's field, e.g. "subscriber.msisdn" */
    char current_state[64];   /* FAILED_PRECONDITION: where the contact stands */
    uint32_t retry_after_ms;  /* UNAVAILABLE, RESOURCE_EXHAUSTED: the server's hint, 0 if none */
} claimline_error;

typedef struct claimline_client claimline_client;

/* Connects to host:port (port 1..65535; TCP, TCP_NODELAY), sends the preface and HELLO
 * (token, client_name) and reads HELLO_ACK, all within timeout_ms (> 0).
 * On success *client is set; free it with claimline_close(). Returns 0, or
 * 14 UNAVAILABLE (cannot connect, closed, timed out: reason CONNECT_FAILED,
 * CONNECTION_CLOSED, HANDSHAKE_TIMEOUT, ...), or the code of the server's
 * GOAWAY (16 UNAUTHENTICATED for a bad token), 3 for bad arguments.
 * err may be NULL. */
int claimline_connect(const char *host, int port, const char *token, const char *client_name,
                      int timeout_ms, claimline_client **client, claimline_error *err);

/* TLS (PROTOCOL.md 2.1): for a claimlined started with --tls-cert/--tls-key. Initialise with
 * CLAIMLINE_TLS_OPTIONS_INIT (all NULL/0: verify the server against the system's CA paths and
 * its certificate against the host name or IP address connected to).
 *
 * The TLS handshake (TLS 1.2 minimum) comes before the preface; the server's certificate is
 * always verified (SSL_VERIFY_PEER), never a fallback to plain TCP. SNI is sent for host
 * names, not for IP addresses. With cert_file (mTLS) a client whose certificate subject the
 * server's config maps to a client (certificateSubject) may send an empty token and gets that
 * client's role. The files are read when the client is made (a failover client keeps them
 * loaded for its reconnects).
 *
 * Errors: 3 INVALID_ARGUMENT, reason TLS_CONFIG_INVALID, when a file cannot be loaded (or the
 * key does not match the certificate); 14 UNAVAILABLE with reason TLS_VERIFY_FAILED (the
 * server's certificate: untrusted, expired, another name...), TLS_HANDSHAKE_FAILED (any other
 * handshake failure, e.g. a plain port or a refused client certificate), TLS_ERROR (a TLS
 * error later on the connection, e.g. the server's alert refusing a missing client
 * certificate under TLS 1.3) or HANDSHAKE_TIMEOUT; err->message names OpenSSL's reason.
 * A plain client on a TLS port gets 9 FAILED_PRECONDITION, reason TLS_REQUIRED (the server's
 * GOAWAY). */
typedef struct claimline_tls_options {
    const char *ca_file;     /* PEM CA certificate(s) to verify the server with; NULL: the default paths */
    const char *cert_file;   /* the client certificate (PEM, chain allowed) for mTLS; NULL: none */
    const char *key_file;    /* its private key (PEM); NULL: read from cert_file */
    const char *server_name; /* the name (or IP) to check the server's certificate against and to send
                                as SNI; NULL: the host of the address connected to */
    int no_verify_hostname;  /* nonzero: check the certificate chain only, not the name (the chain
                                is still verified against ca_file) */
} claimline_tls_options;

#define CLAIMLINE_TLS_OPTIONS_INIT {NULL, NULL, NULL, NULL, 0}

/* claimline_connect() over TLS (tls NULL: plain TCP, the same as claimline_connect()). token
 * may be "" when the client certificate identifies the client. Returns what claimline_connect()
 * returns, and the TLS errors above. */
int claimline_connect_tls(const char *host, int port, const char *token, const char *client_name,
                          const claimline_tls_options *tls, int timeout_ms, claimline_client **client,
                          claimline_error *err);

/* Several claimlined instances (one PostgreSQL database behind them): a client that fails
 * over between them by PROTOCOL.md section 8.1, the algorithm every Claimline client follows.
 * Initialise with CLAIMLINE_CONFIG_INIT; 0 in a setting means its default (8.1's).
 *
 * Where: the client keeps one current address for all calls (the first, or a random one with
 * random_start) and one connection to it. An address whose attempt failed (refused, no
 * HELLO_ACK, GOAWAY, UNAVAILABLE, a lost or silent connection, no answer in time) is suspect
 * for suspect_base_ms doubled per failure in a row, at most suspect_max_ms, at least the
 * server's retry_after_ms; the current address moves to the next one that is not suspect and
 * stays there (no moving back while it works). With every address suspect, calls go round
 * robin anyway.
 *
 * A call's budget is its timeout_ms (0: the server's ceiling, HelloAck.max_deadline_ms, 30 s
 * by default). Each attempt has attempt_timeout_ms (the whole remaining budget when there is
 * one address), which is also the REQUEST's timeout on the wire; connecting (TCP, TLS, preface,
 * HELLO, HELLO_ACK) takes at most connect_timeout_ms of it. Retries go on until the budget cannot
 * hold the next pause: none when the call moves to an address that is not suspect, else
 * backoff_initial_ms doubled per wait up to backoff_max_ms, times a random factor in [0.5, 1],
 * never less than the server's retry_after_ms. Attempts are not counted.
 *
 * Keepalive: while a call waits, a connection that received nothing for keepalive_interval_ms
 * gets a PING; no frame within keepalive_timeout_ms of it and the connection is reset. Before a
 * call, a connection that received nothing for idle_keepalive_ms is PINGed the same way. An
 * attempt without an answer in time resets its connection (SO_LINGER 0, TCP RST, so a frozen
 * instance discards the request it has not read) when nothing at all came since the request was
 * written, else sends CANCEL.
 *
 * What is sent again: reads, and writes with an idempotency_key (the same bytes, same key, on
 * whichever instance), after any failure; a write without a key only when no server can have
 * applied it (not connected, GOAWAY above its stream, UNAVAILABLE other than OUTCOME_UNKNOWN,
 * MAX_CONCURRENT_STREAMS, the server's DEADLINE_EXCEEDED). Any other answer (INVALID_ARGUMENT,
 * FAILED_PRECONDITION, ALREADY_EXISTS, PERMISSION_DENIED, NOT_FOUND, ...) ends the call as the
 * server sent it, as does a HELLO refused for a bad token, client name or version, or a plain
 * client on a TLS port (every instance would refuse it the same).
 *
 * The final error tells the truth: a write any attempt of which may have been applied (no
 * answer in time, the connection lost after the request was written, OUTCOME_UNKNOWN) ends
 * with 14 UNAVAILABLE, reason OUTCOME_UNKNOWN, whatever later attempts said; else when no
 * attempt could connect, 14 CONNECT_FAILED naming every address; else the last attempt's error:
 * the server's, or 4 CLIENT_DEADLINE (no answer in time, or no time for an attempt),
 * 14 CONNECTION_CLOSED (lost), 14 GOAWAY_UNPROCESSED. err->message ends with
 * "[N attempt(s): address REASON; ...]". A read is never answered OUTCOME_UNKNOWN.
 *
 * The library generates no idempotency keys: set one on every write (the server refuses a
 * write without one, INVALID_ARGUMENT). */
typedef struct claimline_config {
    const char *addresses;     /* "host:port,host:port" ("[v6]:port"; spaces around entries ignored) */
    const char *token;
    const char *client_name;   /* NULL: "" */
    int attempt_timeout_ms;    /* one attempt, with two or more addresses; 0: 1000 */
    int connect_timeout_ms;    /* TCP connect plus HELLO_ACK, within the attempt's; 0: 1000 */
    int keepalive_interval_ms; /* a call out and nothing received this long: PING; 0: 1000 */
    int keepalive_timeout_ms;  /* no frame this long after that PING: reset; 0: 1000 */
    int idle_keepalive_ms;     /* before a call, nothing received this long: PING first; 0: 10000 */
    int suspect_base_ms;       /* an address skipped after its first failure in a row; 0: 500 */
    int suspect_max_ms;        /* ... doubled per failure, at most this; 0: 5000 */
    int backoff_initial_ms;    /* the first pause before retrying a suspect or failed address; 0: 50 */
    int backoff_max_ms;        /* ... doubled per pause of the call, at most this; 0: 1000 */
    int random_start;          /* nonzero: start at a random address instead of the first */
} claimline_config;

#define CLAIMLINE_CONFIG_INIT {NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/* Makes a failover client and its first connection within timeout_ms (> 0), by the rules
 * above (the connection is the call). Returns 0 and sets *client (free with claimline_close());
 * 3 for a bad config (an address that is not host:port names it in err->message; a negative
 * setting); the code of the GOAWAY refusing HELLO (16 UNAUTHENTICATED for a bad token); 14
 * CONNECT_FAILED naming every address (and why each failed: CONNECT_FAILED, CONNECT_TIMEOUT,
 * HANDSHAKE_TIMEOUT, TLS_VERIFY_FAILED, TOO_MANY_CONNECTIONS, ...) when none could be reached;
 * 4 CLIENT_DEADLINE when not even one attempt fitted. The strings of *config are copied. */
int claimline_connect_config(const claimline_config *config, int timeout_ms, claimline_client **client,
                             claimline_error *err);

/* claimline_connect_config() with addresses "host:port,host:port" and every default. */
int claimline_connect_addresses(const char *addresses, const char *token, const char *client_name, int timeout_ms,
                                claimline_client **client, claimline_error *err);

/* claimline_connect_config() / claimline_connect_addresses() over TLS (tls NULL: plain TCP):
 * every connection, the first and each reconnect, to every address. With server_name unset
 * each address's own host is checked against its certificate. A TLS failure (verification,
 * handshake) on one address fails over to the next like a refused connection; TLS_REQUIRED
 * (a plain client on a TLS port) and TLS_CONFIG_INVALID are returned at once. */
int claimline_connect_config_tls(const claimline_config *config, const claimline_tls_options *tls, int timeout_ms,
                                 claimline_client **client, claimline_error *err);
int claimline_connect_addresses_tls(const char *addresses, const char *token, const char *client_name,
                                    const claimline_tls_options *tls, int timeout_ms, claimline_client **client,
                                    claimline_error *err);

/* Sends GOAWAY (SHUTDOWN) and, over TLS, close_notify if it can without blocking, closes,
 * frees (the TLS context and session too). NULL is a no-op. */
void claimline_close(claimline_client *client);

/* HelloAck fields of the connection ("" if unknown). */
const char *claimline_session_id(const claimline_client *client);
const char *claimline_server_name(const claimline_client *client);
const char *claimline_role(const claimline_client *client);

/* Where the client talks ("host:port" strings owned by the client, "" when none):
 * the open connection's address; the address that answered the last successful call;
 * the given addresses (one for claimline_connect). */
const char *claimline_address(const claimline_client *client);
const char *claimline_last_served_address(const claimline_client *client);
size_t claimline_address_count(const claimline_client *client);
const char *claimline_address_at(const claimline_client *client, size_t i);
/* How many times the failover client's current address moved to another after a failure
 * (connects included); 0 for a single-connection client. */
unsigned claimline_failovers(const claimline_client *client);

/* The calls. timeout_ms is the call's deadline, sent to the server too; 0 means
 * none of the client's own (the server's ceiling applies and the client waits
 * for its answer). On a failover client it is the budget of all the call's
 * attempts, each of which sends its own timeout (0: the server's ceiling,
 * HelloAck.max_deadline_ms, 30 s by default). On success returns 0 and sets *out (caller frees it with
 * the matching *__free_unpacked(*out, NULL)); else *out is NULL and the
 * return value is the status code, detailed in *err (which may be NULL).
 * The request must have been initialised with its *__INIT macro. */
/* One per method, generated: claimline_escalate(), claimline_retain(), claimline_file_complaint(),
 * claimline_get_claim(), claimline_list_claims(), ... claimline_get_contact():
 *   int claimline_<name>(claimline_client *client, const <Request> *request, int timeout_ms,
 *                        <Response> **out, claimline_error *err); */
#define CLAIMLINE_METHOD_DECL(number, NAME, name, Req, req, Resp, resp, write)                                \
    int claimline_##name(claimline_client *client, const Req *request, int timeout_ms, Resp **out,             \
                         claimline_error *err);
CLAIMLINE_METHODS(CLAIMLINE_METHOD_DECL)
#undef CLAIMLINE_METHOD_DECL

/* Method 13, any role: where the contact request->call_id stands. (*out)->contact
 * has its state, the escalate decision and rule, the retention failure reason and
 * the claim number once filed; (*out)->draft is set (else NULL) when the state
 * requires a claim: the same draft Retain returned, to file it with a description
 * and a fresh idempotency key (a shallow copy, as with Retain's draft). Returns
 * 5 NOT_FOUND, reason CONTACT_NOT_FOUND, when there is no live contact with that
 * call id. Free *out with claimline__v1__get_contact_response__free_unpacked(). */
/* (claimline_get_contact() is declared with the others above.) */

/* Any method of PROTOCOL.md section 4 (CLAIMLINE_METHOD_*): request must be
 * that method's request message (e.g. a Claimline__V1__ListClaimsRequest's
 * &req.base); *out is its response message (cast it to e.g.
 * Claimline__V1__ListClaimsResponse *), freed with
 * protobuf_c_message_free_unpacked(*out, NULL). ListClaimsRequest filters by
 * status, created range, category (a CategoryRef; category UNSPECIFIED: the
 * whole group) and department (as FileComplaintResponse names it). */
int claimline_call(claimline_client *client, int method, const ProtobufCMessage *request, int timeout_ms,
                   ProtobufCMessage **out, claimline_error *err);

/* Sends PING and waits for its PONG (answering the server's PINGs meanwhile):
 * a liveness check that also keeps an idle connection answered. 0 or a code.
 * On a failover client it checks the open connection only: 14 when there is none or it
 * is lost (its address is then suspect unless it was closed for idleness; the next call
 * opens another). A failover client PINGs idle connections itself before a call. */
int claimline_ping(claimline_client *client, int timeout_ms, claimline_error *err);

/* Writes a new random (version 4) UUID, 36 characters and a NUL, read from
 * /dev/urandom: a fresh idempotency key for one logical write. Returns 0, or
 * 13 INTERNAL if no randomness could be read (out is then ""). */
int claimline_new_idempotency_key(char out[37]);

/* "INVALID_ARGUMENT" etc. for a status code; "UNKNOWN_CODE" outside 0..16. */
const char *claimline_status_name(int code);

#ifdef __cplusplus
}
#endif

#endif
