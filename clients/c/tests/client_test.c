/* The client's frame handling against a scripted server on a socketpair:
 * timeouts and CANCEL, PING/PONG, stale answers, frames cut by a timeout,
 * ERROR details, GOAWAY (graceful and not), oversized and unknown frames,
 * argument checks and idempotency keys. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "claimline.h"
#include "frame.h"
#include "internal.h"

#include "check.h"

/* ---- the scripted server's side (a blocking socket) ---- */

static void write_all(int fd, const uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) {
            perror("write");
            exit(2);
        }
        b += w;
        n -= (size_t)w;
    }
}

static void send_frame(int fd, uint8_t type, uint16_t method, uint32_t stream, const ProtobufCMessage *msg,
                       const uint8_t *raw, size_t raw_len)
{
    uint8_t *frame;
    size_t len;
    if (clm_frame_encode(type, method, stream, 0, msg, raw, raw_len, CLM_MAX_FRAME_LIMIT, &frame, &len, NULL)) {
        fprintf(stderr, "encode failed\n");
        exit(2);
    }
    write_all(fd, frame, len);
    free(frame);
}

static void send_claim(int fd, uint32_t stream, const char *number)
{
    Claimline__V1__Claim claim = CLAIMLINE__V1__CLAIM__INIT;
    claim.claim_number = (char *)number;
    Claimline__V1__GetClaimResponse resp = CLAIMLINE__V1__GET_CLAIM_RESPONSE__INIT;
    resp.claim = &claim;
    send_frame(fd, CLM_RESPONSE, CLAIMLINE_METHOD_GET_CLAIM, stream, &resp.base, NULL, 0);
}

static void send_goaway(int fd, uint32_t last, uint32_t code, const char *reason)
{
    Claimline__V1__GoAway g = CLAIMLINE__V1__GO_AWAY__INIT;
    g.last_stream_id = last;
    g.code = code;
    g.reason = (char *)reason;
    g.message = "test";
    send_frame(fd, CLM_GOAWAY, 0, 0, &g.base, NULL, 0);
}

static void read_exact(int fd, uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r <= 0) {
            fprintf(stderr, "server side: read failed or EOF\n");
            exit(2);
        }
        b += r;
        n -= (size_t)r;
    }
}

/* Reads one frame the client sent; *payload is malloc'd (caller frees). */
static clm_header recv_frame(int fd, uint8_t **payload)
{
    uint8_t hb[CLM_HEADER_LEN];
    clm_header h;
    read_exact(fd, hb, sizeof hb);
    clm_header_decode(hb, &h);
    *payload = malloc(h.length + 1);
    if (!*payload)
        exit(2);
    read_exact(fd, *payload, h.length);
    return h;
}

static void pair(int sv[2], claimline_client **c)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("socketpair");
        exit(2);
    }
    *c = clm_client_from_fd(sv[0], 65536);
    if (!*c)
        exit(2);
}

static int get_claim(claimline_client *c, int timeout_ms, Claimline__V1__GetClaimResponse **out, claimline_error *err)
{
    Claimline__V1__GetClaimRequest req = CLAIMLINE__V1__GET_CLAIM_REQUEST__INIT;
    req.claim_number = "2026-000123";
    return claimline_get_claim(c, &req, timeout_ms, out, err);
}

/* Frames the client sent until now: expects REQUEST `stream`, then optionally CANCEL of it. */
static void expect_request(int fd, uint32_t stream, uint32_t timeout_ms, int then_cancel)
{
    uint8_t *p;
    clm_header h = recv_frame(fd, &p);
    CHECK(h.type == CLM_REQUEST && h.stream_id == stream && h.method == CLAIMLINE_METHOD_GET_CLAIM);
    CHECK(h.length >= 4 && clm_get_u32(p) == timeout_ms);
    free(p);
    if (then_cancel) {
        h = recv_frame(fd, &p);
        CHECK(h.type == CLM_CANCEL && h.stream_id == stream && h.length == 0);
        free(p);
    }
}

static void test_calls(void)
{
    int sv[2];
    claimline_client *c;
    claimline_error err;
    Claimline__V1__GetClaimResponse *resp = NULL;
    pair(sv, &c);

    /* 1. No answer: DEADLINE_EXCEEDED, CANCEL sent, connection kept. */
    CHECK(get_claim(c, 100, &resp, &err) == CLAIMLINE_DEADLINE_EXCEEDED);
    CHECK(resp == NULL && err.code == 4 && strcmp(err.reason, "CLIENT_DEADLINE") == 0);
    expect_request(sv[1], 1, 100, 1);

    /* 2. The late answer to stream 1 is discarded, a PING answered, stream 2's answer returned. */
    send_claim(sv[1], 1, "late");
    const uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    send_frame(sv[1], CLM_PING, 0, 0, NULL, ping, 8);
    send_claim(sv[1], 2, "2026-000002");
    CHECK(get_claim(c, 1000, &resp, &err) == 0);
    CHECK(resp && resp->claim && strcmp(resp->claim->claim_number, "2026-000002") == 0);
    CHECK(err.code == 0);
    if (resp)
        claimline__v1__get_claim_response__free_unpacked(resp, NULL);
    resp = NULL;
    expect_request(sv[1], 2, 1000, 0);
    uint8_t *p;
    clm_header h = recv_frame(sv[1], &p);
    CHECK(h.type == CLM_PONG && h.length == 8 && memcmp(p, ping, 8) == 0);
    free(p);

    /* 3. ERROR: code, reason, first field, message truncated on a UTF-8 boundary. */
    Claimline__V1__FieldViolation v1 = CLAIMLINE__V1__FIELD_VIOLATION__INIT, v2 = CLAIMLINE__V1__FIELD_VIOLATION__INIT;
    v1.field = "subscriber.msisdn";
    v2.field = "category";
    Claimline__V1__FieldViolation *vs[] = {&v1, &v2};
    Claimline__V1__RpcStatus st = CLAIMLINE__V1__RPC_STATUS__INIT;
    char longmsg[1024] = "x"; /* 1 byte, then 2-byte characters: truncation must not split one */
    while (strlen(longmsg) + 2 < sizeof longmsg)
        strcat(longmsg, "ж");
    st.code = 3;
    st.message = longmsg;
    st.reason = "INVALID_FIELD";
    st.n_field_violations = 2;
    st.field_violations = vs;
    send_frame(sv[1], CLM_ERROR, CLAIMLINE_METHOD_GET_CLAIM, 3, &st.base, NULL, 0);
    CHECK(get_claim(c, 1000, &resp, &err) == CLAIMLINE_INVALID_ARGUMENT);
    CHECK(resp == NULL && err.code == 3 && strcmp(err.reason, "INVALID_FIELD") == 0);
    CHECK(strcmp(err.field, "subscriber.msisdn") == 0);
    size_t ml = strlen(err.message);
    CHECK(ml > 200 && ml < sizeof err.message && ml % 2 == 1); /* "x" + whole "ж"s */
    expect_request(sv[1], 3, 1000, 0);

    /* 4. A frame cut by a timeout is finished by the next call. */
    uint8_t *frame;
    size_t len;
    Claimline__V1__Claim claim = CLAIMLINE__V1__CLAIM__INIT;
    claim.claim_number = "cut";
    Claimline__V1__GetClaimResponse r4 = CLAIMLINE__V1__GET_CLAIM_RESPONSE__INIT;
    r4.claim = &claim;
    if (clm_frame_encode(CLM_RESPONSE, 4, 4, 0, &r4.base, NULL, 0, 65536, &frame, &len, NULL))
        exit(2);
    write_all(sv[1], frame, 6);
    CHECK(get_claim(c, 100, &resp, &err) == CLAIMLINE_DEADLINE_EXCEEDED);
    expect_request(sv[1], 4, 100, 1);
    write_all(sv[1], frame + 6, len - 6);
    free(frame);
    send_claim(sv[1], 5, "2026-000005");
    CHECK(get_claim(c, 1000, &resp, &err) == 0);
    CHECK(resp && strcmp(resp->claim->claim_number, "2026-000005") == 0);
    if (resp)
        claimline__v1__get_claim_response__free_unpacked(resp, NULL);
    resp = NULL;
    expect_request(sv[1], 5, 1000, 0);

    /* 5. PING from the client: a PONG with other bytes is ignored, its own ends the wait. */
    const uint8_t other[8] = {9, 9, 9, 9, 9, 9, 9, 9}, ours[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    send_frame(sv[1], CLM_PONG, 0, 0, NULL, other, 8);
    send_frame(sv[1], CLM_PONG, 0, 0, NULL, ours, 8);
    CHECK(claimline_ping(c, 1000, &err) == 0);
    h = recv_frame(sv[1], &p);
    CHECK(h.type == CLM_PING && h.length == 8 && memcmp(p, ours, 8) == 0);
    free(p);

    /* 6. Bad arguments: nothing is sent. */
    Claimline__V1__EscalateRequest wrong = CLAIMLINE__V1__ESCALATE_REQUEST__INIT;
    ProtobufCMessage *any = NULL;
    CHECK(claimline_call(c, CLAIMLINE_METHOD_GET_CLAIM, &wrong.base, 1000, &any, &err) == 3 && any == NULL);
    CHECK(claimline_call(c, 99, &wrong.base, 1000, &any, &err) == 3);
    CHECK(claimline_get_claim(c, NULL, 1000, &resp, &err) == 3);
    CHECK(claimline_get_claim(c, NULL, 1000, NULL, &err) == 3);
    CHECK(get_claim(NULL, 1000, &resp, NULL) == 3);

    /* 7. An oversized frame: GOAWAY FRAME_TOO_LARGE to the server, 14, the connection gone. */
    uint8_t big[CLM_HEADER_LEN];
    clm_header bh = {65537, CLM_RESPONSE, 0, 4, 6};
    clm_header_encode(&bh, big);
    write_all(sv[1], big, sizeof big);
    CHECK(get_claim(c, 1000, &resp, &err) == CLAIMLINE_UNAVAILABLE);
    CHECK(strcmp(err.reason, "FRAME_TOO_LARGE") == 0);
    expect_request(sv[1], 6, 1000, 0);
    h = recv_frame(sv[1], &p);
    CHECK(h.type == CLM_GOAWAY);
    Claimline__V1__GoAway *g = claimline__v1__go_away__unpack(NULL, h.length, p);
    CHECK(g && g->code == 8 && strcmp(g->reason, "FRAME_TOO_LARGE") == 0);
    if (g)
        claimline__v1__go_away__free_unpacked(g, NULL);
    free(p);
    CHECK(get_claim(c, 1000, &resp, &err) == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "FRAME_TOO_LARGE") == 0);
    CHECK(claimline_ping(c, 1000, &err) == CLAIMLINE_UNAVAILABLE);
    claimline_close(c);
    close(sv[1]);
}

static void test_goaway(void)
{
    int sv[2];
    claimline_client *c;
    claimline_error err;
    Claimline__V1__GetClaimResponse *resp = NULL;

    /* Graceful GOAWAY covering the stream: the answer still arrives; then no new calls. */
    pair(sv, &c);
    send_goaway(sv[1], 1, 0, "SHUTDOWN");
    send_claim(sv[1], 1, "2026-000001");
    CHECK(get_claim(c, 1000, &resp, &err) == 0);
    if (resp)
        claimline__v1__get_claim_response__free_unpacked(resp, NULL);
    resp = NULL;
    CHECK(get_claim(c, 1000, &resp, &err) == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "SHUTDOWN") == 0);
    claimline_close(c);
    close(sv[1]);

    /* Graceful GOAWAY below the stream: fails at once with its reason. */
    pair(sv, &c);
    send_goaway(sv[1], 0, 0, "IDLE_TIMEOUT");
    CHECK(get_claim(c, 1000, &resp, &err) == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "IDLE_TIMEOUT") == 0);
    claimline_close(c);
    close(sv[1]);

    /* A fault GOAWAY. */
    pair(sv, &c);
    send_goaway(sv[1], 5, 13, "PROTOCOL_ERROR");
    CHECK(get_claim(c, 1000, &resp, &err) == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "PROTOCOL_ERROR") == 0);
    claimline_close(c);
    close(sv[1]);

    /* An unknown frame type: the client sends GOAWAY PROTOCOL_ERROR and gives up. */
    pair(sv, &c);
    uint8_t odd[CLM_HEADER_LEN];
    clm_header oh = {0, 0x2a, 0, 0, 0};
    clm_header_encode(&oh, odd);
    write_all(sv[1], odd, sizeof odd);
    CHECK(get_claim(c, 1000, &resp, &err) == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "PROTOCOL_ERROR") == 0);
    expect_request(sv[1], 1, 1000, 0);
    uint8_t *p;
    clm_header h = recv_frame(sv[1], &p);
    CHECK(h.type == CLM_GOAWAY);
    free(p);
    claimline_close(c);
    close(sv[1]);

    /* A RESPONSE that is not the method's message: PROTOCOL_ERROR. */
    pair(sv, &c);
    const uint8_t junk[] = {0xff, 0xff, 0xff};
    send_frame(sv[1], CLM_RESPONSE, CLAIMLINE_METHOD_GET_CLAIM, 1, NULL, junk, sizeof junk);
    CHECK(get_claim(c, 1000, &resp, &err) == CLAIMLINE_UNAVAILABLE && strcmp(err.reason, "PROTOCOL_ERROR") == 0);
    CHECK(resp == NULL);
    claimline_close(c);
    close(sv[1]);

    /* An empty RESPONSE payload is a valid all-default message. */
    pair(sv, &c);
    send_frame(sv[1], CLM_RESPONSE, CLAIMLINE_METHOD_GET_CLAIM, 1, NULL, NULL, 0);
    CHECK(get_claim(c, 1000, &resp, &err) == 0 && resp && resp->claim == NULL);
    if (resp)
        claimline__v1__get_claim_response__free_unpacked(resp, NULL);
    resp = NULL;
    claimline_close(c);
    close(sv[1]);

    /* The server closes: 14 CONNECTION_CLOSED. */
    pair(sv, &c);
    close(sv[1]);
    CHECK(get_claim(c, 1000, &resp, &err) == CLAIMLINE_UNAVAILABLE);
    CHECK(strcmp(err.reason, "CONNECTION_CLOSED") == 0);
    claimline_close(c);

    /* claimline_close sends GOAWAY SHUTDOWN. */
    pair(sv, &c);
    claimline_close(c);
    h = recv_frame(sv[1], &p);
    Claimline__V1__GoAway *g = claimline__v1__go_away__unpack(NULL, h.length, p);
    CHECK(h.type == CLM_GOAWAY && g && g->code == 0 && strcmp(g->reason, "SHUTDOWN") == 0);
    if (g)
        claimline__v1__go_away__free_unpacked(g, NULL);
    free(p);
    close(sv[1]);
}

/* GetContact (method 13): the typed call, its answer with a draft, NOT_FOUND, claimline_call. */
static void test_get_contact(void)
{
    int sv[2];
    claimline_client *c;
    claimline_error err;
    pair(sv, &c);

    Claimline__V1__Contact contact = CLAIMLINE__V1__CONTACT__INIT;
    contact.call_id = "UCID-1";
    contact.state = CLAIMLINE__V1__CONTACT_STATE__CONTACT_STATE_CLAIM_REQUIRED;
    contact.decision = CLAIMLINE__V1__ESCALATE_DECISION__ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE;
    contact.rule = "second_line_normal";
    Claimline__V1__FileComplaintRequest draft = CLAIMLINE__V1__FILE_COMPLAINT_REQUEST__INIT;
    draft.call_id = "UCID-1";
    draft.failure_reason = CLAIMLINE__V1__RETENTION_FAILURE_REASON__RETENTION_FAILURE_REASON_LONG_REVIEW;
    Claimline__V1__GetContactResponse answer = CLAIMLINE__V1__GET_CONTACT_RESPONSE__INIT;
    answer.contact = &contact;
    answer.draft = &draft;
    send_frame(sv[1], CLM_RESPONSE, CLAIMLINE_METHOD_GET_CONTACT, 1, &answer.base, NULL, 0);
    Claimline__V1__RpcStatus st = CLAIMLINE__V1__RPC_STATUS__INIT;
    st.code = 5;
    st.reason = "CONTACT_NOT_FOUND";
    st.message = "no contact with call id UCID-2";
    send_frame(sv[1], CLM_ERROR, CLAIMLINE_METHOD_GET_CONTACT, 2, &st.base, NULL, 0);
    send_frame(sv[1], CLM_RESPONSE, CLAIMLINE_METHOD_GET_CONTACT, 3, NULL, NULL, 0);

    Claimline__V1__GetContactRequest req = CLAIMLINE__V1__GET_CONTACT_REQUEST__INIT;
    req.call_id = "UCID-1";
    Claimline__V1__GetContactResponse *resp = NULL;
    CHECK(claimline_get_contact(c, &req, 1500, &resp, &err) == 0 && err.code == 0);
    CHECK(resp && resp->contact && strcmp(resp->contact->call_id, "UCID-1") == 0);
    CHECK(resp && resp->contact && resp->contact->state == contact.state && resp->contact->decision == contact.decision &&
          strcmp(resp->contact->rule, "second_line_normal") == 0);
    CHECK(resp && resp->draft && strcmp(resp->draft->call_id, "UCID-1") == 0 &&
          resp->draft->failure_reason == draft.failure_reason);
    if (resp)
        claimline__v1__get_contact_response__free_unpacked(resp, NULL);
    resp = NULL;

    req.call_id = "UCID-2";
    CHECK(claimline_get_contact(c, &req, 1500, &resp, &err) == CLAIMLINE_NOT_FOUND && resp == NULL);
    CHECK(err.code == 5 && strcmp(err.reason, "CONTACT_NOT_FOUND") == 0);

    /* The generic call knows method 13 too; an empty answer is a contact-less response. */
    ProtobufCMessage *any = NULL;
    CHECK(claimline_call(c, CLAIMLINE_METHOD_GET_CONTACT, &req.base, 0, &any, &err) == 0 && any);
    CHECK(any && any->descriptor == &claimline__v1__get_contact_response__descriptor &&
          ((Claimline__V1__GetContactResponse *)any)->contact == NULL &&
          ((Claimline__V1__GetContactResponse *)any)->draft == NULL);
    if (any)
        protobuf_c_message_free_unpacked(any, NULL);

    /* What the client sent: three REQUESTs of method 13 carrying the call ids. */
    const char *ids[] = {"UCID-1", "UCID-2", "UCID-2"};
    const uint32_t timeouts[] = {1500, 1500, 0};
    for (uint32_t i = 0; i < 3; i++) {
        uint8_t *p;
        clm_header h = recv_frame(sv[1], &p);
        CHECK(h.type == CLM_REQUEST && h.stream_id == i + 1 && h.method == 13 && h.length >= 4);
        CHECK(clm_get_u32(p) == timeouts[i]);
        Claimline__V1__GetContactRequest *sent =
            claimline__v1__get_contact_request__unpack(NULL, h.length - 4, p + 4);
        CHECK(sent && strcmp(sent->call_id, ids[i]) == 0);
        if (sent)
            claimline__v1__get_contact_request__free_unpacked(sent, NULL);
        free(p);
    }

    /* Argument checks: nothing sent. */
    Claimline__V1__GetClaimRequest wrong = CLAIMLINE__V1__GET_CLAIM_REQUEST__INIT;
    CHECK(claimline_call(c, CLAIMLINE_METHOD_GET_CONTACT, &wrong.base, 1000, &any, &err) == 3 && any == NULL);
    CHECK(claimline_call(c, CLAIMLINE_METHOD_LAST + 1, &req.base, 1000, &any, &err) == 3);
    CHECK(claimline_get_contact(c, NULL, 1000, &resp, &err) == 3 && resp == NULL);
    CHECK(claimline_get_contact(c, &req, 1000, NULL, &err) == 3);
    claimline_close(c);
    close(sv[1]);
}

static void test_misc(void)
{
    char a[37], b[37];
    CHECK(claimline_new_idempotency_key(a) == 0 && claimline_new_idempotency_key(b) == 0);
    CHECK(strlen(a) == 36 && a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
    CHECK(a[14] == '4' && strchr("89ab", a[19]) != NULL);
    CHECK(strcmp(a, b) != 0);

    claimline_client *c = (claimline_client *)1;
    claimline_error err;
    CHECK(claimline_connect(NULL, 1, "t", "n", 100, &c, &err) == 3 && c == NULL);
    CHECK(claimline_connect("127.0.0.1", 0, "t", "n", 100, &c, &err) == 3);
    CHECK(strcmp(claimline_status_name(14), "UNAVAILABLE") == 0);
    CHECK(strcmp(claimline_status_name(99), "UNKNOWN_CODE") == 0);
    claimline_close(NULL);
}

int main(void)
{
    test_calls();
    test_goaway();
    test_get_contact();
    test_misc();
    printf("client: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
