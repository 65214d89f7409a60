/* TLS and mTLS against real claimlined instances that tests/tls_e2e.sh starts (PROTOCOL.md 2.1).
 * Environment: CLAIMLINE_TLS_CERTS (the folder tools/tls/make-certs.sh wrote),
 * CLAIMLINE_TLS_PORT (TLS, client certificates optional, admin.pem's subject mapped to the
 * admin client "ops-console"), CLAIMLINE_TLS_REQUIRE_PORT (the same with
 * --tls-require-client-cert). Runs under valgrind and as an ASan+UBSan build. */
#define _POSIX_C_SOURCE 200809L

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "claimline.h"

#include "check.h"

#define TIMEOUT_MS 10000
#define PROMPT_MS 2500 /* "within a couple of seconds" (valgrind included) */

static char certs[400];
static int port, require_port;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *cert(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", certs, name);
    return p;
}

static void show(const char *what, int code, const claimline_error *err)
{
    printf("  %-44s -> %d %s [%s] %s\n", what, code, claimline_status_name(code), err->reason, err->message);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("free_port");
        exit(2);
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* Escalate -> retain (claim required) -> file complaint on c: 0, or the failing code. */
static int whole_contact(claimline_client *c, claimline_error *err)
{
    char call_id[64], key[37], file_key[37];
    claimline_new_idempotency_key(key);
    snprintf(call_id, sizeof call_id, "TLS-%s", key);
    Claimline__V1__Subscriber subscriber = CLAIMLINE__V1__SUBSCRIBER__INIT;
    subscriber.msisdn = "+79161234567";
    subscriber.value_tier = CLAIMLINE__V1__VALUE_TIER__VALUE_TIER_2;
    subscriber.region = "77";
    Claimline__V1__CategoryRef category = CLAIMLINE__V1__CATEGORY_REF__INIT;
    category.group = CLAIMLINE__V1__CLAIM_GROUP__CLAIM_GROUP_BILLING;
    category.category = CLAIMLINE__V1__CATEGORY__CATEGORY_CHARGED_WHILE_BLOCKED;
    Claimline__V1__EscalateRequest esc = CLAIMLINE__V1__ESCALATE_REQUEST__INIT;
    esc.idempotency_key = key;
    esc.call_id = call_id;
    esc.subscriber = &subscriber;
    esc.category = &category;
    esc.agent_id = "ivr-7";
    Claimline__V1__EscalateResponse *er = NULL;
    int r = claimline_escalate(c, &esc, TIMEOUT_MS, &er, err);
    if (r)
        return r;
    CHECK(er->decision == CLAIMLINE__V1__ESCALATE_DECISION__ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE);
    claimline__v1__escalate_response__free_unpacked(er, NULL);

    Claimline__V1__RetainRequest ret = CLAIMLINE__V1__RETAIN_REQUEST__INIT;
    claimline_new_idempotency_key(key);
    ret.idempotency_key = key;
    ret.call_id = call_id;
    ret.outcome = CLAIMLINE__V1__RETENTION_OUTCOME__RETENTION_OUTCOME_IMPOSSIBLE;
    ret.failure_reason = CLAIMLINE__V1__RETENTION_FAILURE_REASON__RETENTION_FAILURE_REASON_LONG_REVIEW;
    ret.agent_id = "agent-1024";
    Claimline__V1__RetainResponse *rr = NULL;
    if ((r = claimline_retain(c, &ret, TIMEOUT_MS, &rr, err)))
        return r;
    CHECK(rr->claim_required && rr->draft);
    if (!rr->draft) {
        claimline__v1__retain_response__free_unpacked(rr, NULL);
        return CLAIMLINE_INTERNAL;
    }
    Claimline__V1__FileComplaintRequest file = *rr->draft; /* shallow: rr owns the strings */
    claimline_new_idempotency_key(file_key);
    file.idempotency_key = file_key;
    /* A long description: several TLS records each way. */
    char description[6000];
    size_t n = 0;
    while (n + 64 < sizeof description)
        n += (size_t)snprintf(description + n, sizeof description - n, "Списания в период блокировки %zu. ", n);
    file.description = description;
    Claimline__V1__FileComplaintResponse *fr = NULL;
    r = claimline_file_complaint(c, &file, TIMEOUT_MS, &fr, err);
    claimline__v1__retain_response__free_unpacked(rr, NULL);
    if (r)
        return r;
    CHECK(fr->claim_number && fr->claim_number[0]);
    printf("  whole contact %s: claim %s\n", call_id, fr->claim_number);
    claimline__v1__file_complaint_response__free_unpacked(fr, NULL);
    return 0;
}

int main(void)
{
    const char *dir = getenv("CLAIMLINE_TLS_CERTS"), *p = getenv("CLAIMLINE_TLS_PORT"),
               *rp = getenv("CLAIMLINE_TLS_REQUIRE_PORT");
    if (!dir || !p || !rp) {
        fprintf(stderr, "tls_e2e_test: set CLAIMLINE_TLS_CERTS, CLAIMLINE_TLS_PORT, CLAIMLINE_TLS_REQUIRE_PORT "
                        "(tests/tls_e2e.sh does)\n");
        return 2;
    }
    snprintf(certs, sizeof certs, "%s", dir);
    port = atoi(p);
    require_port = atoi(rp);
    claimline_client *c = NULL;
    claimline_error err;
    int r;
    int64_t t0;

    /* 1. A token over TLS: the server verified by the test CA and its IP SAN; calls work. */
    claimline_tls_options tls = CLAIMLINE_TLS_OPTIONS_INIT;
    tls.ca_file = cert("ca.pem");
    r = claimline_connect_tls("127.0.0.1", port, "dev-ivr-token", "tls-test", &tls, TIMEOUT_MS, &c, &err);
    show("token over TLS (127.0.0.1)", r, &err);
    CHECK(r == 0);
    if (r == 0) {
        CHECK(strcmp(claimline_role(c), "ivr") == 0);
        CHECK(claimline_ping(c, TIMEOUT_MS, &err) == 0);
        Claimline__V1__GetContactRequest q = CLAIMLINE__V1__GET_CONTACT_REQUEST__INIT;
        q.call_id = "TLS-NO-SUCH-CALL";
        Claimline__V1__GetContactResponse *resp = NULL;
        r = claimline_get_contact(c, &q, TIMEOUT_MS, &resp, &err);
        CHECK(r == CLAIMLINE_NOT_FOUND && strcmp(err.reason, "CONTACT_NOT_FOUND") == 0 && resp == NULL);
        claimline_close(c);
        c = NULL;
    }

    /* 2. mTLS: admin.pem and an EMPTY token is the client ops-console, role admin; by name
     * (SNI, DNS SAN) this time, and a whole contact on it. */
    tls.cert_file = cert("admin.pem");
    tls.key_file = cert("admin.key");
    r = claimline_connect_tls("localhost", port, "", "ops", &tls, TIMEOUT_MS, &c, &err);
    show("mTLS admin.pem, empty token (localhost)", r, &err);
    CHECK(r == 0);
    if (r == 0) {
        printf("  role %s, session %s\n", claimline_role(c), claimline_session_id(c));
        CHECK(strcmp(claimline_role(c), "admin") == 0);
        r = whole_contact(c, &err);
        if (r)
            show("whole contact over mTLS", r, &err);
        CHECK(r == 0);
        claimline_close(c);
        c = NULL;
    }
    /* The same with the port that requires a certificate. */
    r = claimline_connect_tls("127.0.0.1", require_port, "", NULL, &tls, TIMEOUT_MS, &c, &err);
    show("mTLS on the require-cert port", r, &err);
    CHECK(r == 0 && strcmp(claimline_role(c), "admin") == 0);
    claimline_close(c);
    c = NULL;

    /* 3. --tls-require-client-cert without a certificate: an error, not a hang. */
    claimline_tls_options no_cert = CLAIMLINE_TLS_OPTIONS_INIT;
    no_cert.ca_file = cert("ca.pem");
    t0 = now_ms();
    r = claimline_connect_tls("127.0.0.1", require_port, "dev-admin-token", NULL, &no_cert, TIMEOUT_MS, &c, &err);
    show("no certificate, certificate required", r, &err);
    CHECK(r == CLAIMLINE_UNAVAILABLE && c == NULL);
    CHECK(strncmp(err.reason, "TLS_", 4) == 0 && strstr(err.message, "TLS") != NULL);
    CHECK(now_ms() - t0 < PROMPT_MS);

    /* 4. A plain client on the TLS port: GOAWAY 9 TLS_REQUIRED, promptly; the failover
     * client returns it at once too (another address would say the same). */
    t0 = now_ms();
    r = claimline_connect("127.0.0.1", port, "dev-admin-token", NULL, TIMEOUT_MS, &c, &err);
    show("plain client on the TLS port", r, &err);
    CHECK(r == CLAIMLINE_FAILED_PRECONDITION && err.code == 9 && strcmp(err.reason, "TLS_REQUIRED") == 0);
    CHECK(c == NULL && now_ms() - t0 < PROMPT_MS);
    char addresses[64];
    snprintf(addresses, sizeof addresses, "127.0.0.1:%d", port);
    t0 = now_ms();
    r = claimline_connect_addresses(addresses, "dev-admin-token", NULL, TIMEOUT_MS, &c, &err);
    show("plain failover client on the TLS port", r, &err);
    CHECK(r == CLAIMLINE_FAILED_PRECONDITION && strcmp(err.reason, "TLS_REQUIRED") == 0);
    CHECK(c == NULL && now_ms() - t0 < PROMPT_MS);

    /* 5. Trusting another CA: the server's certificate fails verification. */
    claimline_tls_options rogue = CLAIMLINE_TLS_OPTIONS_INIT;
    rogue.ca_file = cert("rogue-ca.pem");
    r = claimline_connect_tls("127.0.0.1", port, "dev-admin-token", NULL, &rogue, TIMEOUT_MS, &c, &err);
    show("trusting rogue-ca.pem", r, &err);
    CHECK(r == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "TLS_VERIFY_FAILED") == 0 && c == NULL);
    CHECK(strstr(err.message, "certificate verify failed") != NULL);

    /* 6. Host names: a name the certificate is not for fails; told not to check it, the
     * chain alone is verified. */
    claimline_tls_options named = CLAIMLINE_TLS_OPTIONS_INIT;
    named.ca_file = cert("ca.pem");
    named.server_name = "claimline.example.com";
    r = claimline_connect_tls("127.0.0.1", port, "dev-admin-token", NULL, &named, TIMEOUT_MS, &c, &err);
    show("server_name not on the certificate", r, &err);
    CHECK(r == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "TLS_VERIFY_FAILED") == 0 &&
          strstr(err.message, "hostname mismatch") != NULL);
    named.no_verify_hostname = 1;
    r = claimline_connect_tls("127.0.0.1", port, "dev-admin-token", NULL, &named, TIMEOUT_MS, &c, &err);
    show("the same, no_verify_hostname", r, &err);
    CHECK(r == 0);
    claimline_close(c);
    c = NULL;

    /* 7. A client certificate from another CA: the server refuses the handshake. */
    claimline_tls_options bad_client = CLAIMLINE_TLS_OPTIONS_INIT;
    bad_client.ca_file = cert("ca.pem");
    bad_client.cert_file = cert("rogue.pem");
    bad_client.key_file = cert("rogue.key");
    r = claimline_connect_tls("127.0.0.1", port, "", NULL, &bad_client, TIMEOUT_MS, &c, &err);
    show("client certificate of another CA", r, &err);
    CHECK(r == CLAIMLINE_UNAVAILABLE && strncmp(err.reason, "TLS_", 4) == 0 && c == NULL);
    /* A verified certificate no client is configured with, and no token. */
    bad_client.cert_file = cert("stranger.pem");
    bad_client.key_file = cert("stranger.key");
    r = claimline_connect_tls("127.0.0.1", port, "", NULL, &bad_client, TIMEOUT_MS, &c, &err);
    show("stranger.pem, empty token", r, &err);
    CHECK(r == CLAIMLINE_UNAUTHENTICATED && c == NULL);

    /* 8. Files that do not load: 3 TLS_CONFIG_INVALID before any connection. */
    claimline_tls_options missing = CLAIMLINE_TLS_OPTIONS_INIT;
    missing.ca_file = cert("no-such-ca.pem");
    r = claimline_connect_tls("127.0.0.1", port, "dev-admin-token", NULL, &missing, TIMEOUT_MS, &c, &err);
    show("a missing CA file", r, &err);
    CHECK(r == CLAIMLINE_INVALID_ARGUMENT && strcmp(err.reason, "TLS_CONFIG_INVALID") == 0 && c == NULL);
    missing.ca_file = cert("ca.pem");
    missing.cert_file = cert("admin.pem");
    missing.key_file = cert("ivr.key");
    r = claimline_connect_addresses_tls(addresses, "", NULL, &missing, TIMEOUT_MS, &c, &err);
    show("a key that is not the certificate's", r, &err);
    CHECK(r == CLAIMLINE_INVALID_ARGUMENT && strcmp(err.reason, "TLS_CONFIG_INVALID") == 0 && c == NULL);

    /* 9. Failover over TLS: a closed port first, then the TLS server; a whole contact with a
     * token; an address whose certificate fails verification is skipped like a dead one. */
    char list[128];
    snprintf(list, sizeof list, "127.0.0.1:%d, 127.0.0.1:%d", free_port(), port);
    claimline_config config = CLAIMLINE_CONFIG_INIT;
    config.addresses = list;
    config.token = "dev-admin-token";
    config.client_name = "tls-failover";
    tls = (claimline_tls_options)CLAIMLINE_TLS_OPTIONS_INIT;
    tls.ca_file = cert("ca.pem");
    r = claimline_connect_config_tls(&config, &tls, TIMEOUT_MS, &c, &err);
    show("failover over TLS (closed port first)", r, &err);
    CHECK(r == 0);
    if (r == 0) {
        CHECK(claimline_failovers(c) == 1);
        r = whole_contact(c, &err);
        if (r)
            show("whole contact over TLS (failover)", r, &err);
        CHECK(r == 0);
        claimline_close(c);
        c = NULL;
    }
    snprintf(list, sizeof list, "localhost:%d,127.0.0.1:%d", port, port);
    tls.server_name = "claimline.example.com"; /* fails everywhere */
    /* PROTOCOL.md 8.1: every attempt failed to connect, until the budget (2 s) ran out: 14
     * CONNECT_FAILED naming every address and why. */
    r = claimline_connect_addresses_tls(list, "dev-admin-token", NULL, &tls, 2000, &c, &err);
    show("failover, no address verifies", r, &err);
    CHECK(r == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "CONNECT_FAILED") == 0 && c == NULL);
    CHECK(strstr(err.message, "localhost:") && strstr(err.message, "127.0.0.1:"));
    CHECK(strstr(err.message, "TLS_VERIFY_FAILED") != NULL);

    printf("tls_e2e_test: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
