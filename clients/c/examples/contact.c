/* contact HOST PORT TOKEN [TLS options]: one whole contact through Claimline.
 * TLS options (any of them connects with TLS, claimline_connect_tls()):
 *   --tls               TLS, the server verified against the system's CA paths
 *   --ca FILE           the CA to verify the server with
 *   --cert FILE --key FILE   a client certificate (mTLS; TOKEN may then be "")
 *   --server-name NAME  the name on the server's certificate, if not HOST
 *   1. Escalate: a billing complaint from a tier-2 subscriber: expect TRANSFER_TO_SECOND_LINE.
 *   2. Retain: the second line could not help (IMPOSSIBLE, LONG_REVIEW): a claim is
 *      required and the server returns a draft of it.
 *   3. GetContact: the contact is CLAIM_REQUIRED, with the decision, its rule and the
 *      same draft (how a desktop that lost the draft gets it back).
 *   4. FileComplaint: the draft, a description in Russian, a new idempotency key.
 *   5. GetClaim: read the claim back.
 *   6. FileComplaint again with the same key: the same claim number, no second claim.
 *   7. GetContact: now CLAIM_FILED with the claim number and no draft; an unknown
 *      call id is NOT_FOUND (CONTACT_NOT_FOUND).
 * The token needs the ivr and agent calls (the dev admin token has them).
 * Exits 0 when every step went as expected. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "claimline.h"

#define TIMEOUT_MS 5000

static const char *enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v ? v->name : "?";
}

static int failed(const char *step, int code, const claimline_error *err)
{
    fprintf(stderr, "%s failed: %d %s", step, code, claimline_status_name(code));
    if (err->reason[0])
        fprintf(stderr, " [%s]", err->reason);
    fprintf(stderr, ": %s", err->message);
    if (err->field[0])
        fprintf(stderr, " (field %s)", err->field);
    if (err->current_state[0])
        fprintf(stderr, " (contact is %s)", err->current_state);
    fprintf(stderr, "\n");
    return 1;
}

/* 1 if a and b encode to the same bytes (both NULL counts as the same). */
static int same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    if (!a || !b)
        return a == b;
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    if (na != nb)
        return 0;
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    int same = pa && pb && protobuf_c_message_pack(a, pa) == na && protobuf_c_message_pack(b, pb) == nb &&
               memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

static void print_time(const char *label, int64_t ms)
{
    char buf[32] = "-";
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms > 0 && gmtime_r(&t, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    printf("  %-14s %s\n", label, buf);
}

static void print_claim(const Claimline__V1__Claim *c)
{
    printf("  %-14s %s\n", "claim", c->claim_number);
    printf("  %-14s %s\n", "call", c->call_id);
    if (c->category)
        printf("  %-14s %s / %s\n", "category", enum_name(&claimline__v1__claim_group__descriptor, c->category->group),
               enum_name(&claimline__v1__category__descriptor, c->category->category));
    if (c->subscriber)
        printf("  %-14s %s (region %s)\n", "subscriber", c->subscriber->msisdn, c->subscriber->region);
    printf("  %-14s %s\n", "description", c->description);
    printf("  %-14s %s\n", "department", c->department);
    printf("  %-14s %s\n", "status", enum_name(&claimline__v1__claim_status__descriptor, c->status));
    print_time("created", c->created_at_ms);
    print_time("due", c->due_at_ms);
}

int main(int argc, char **argv)
{
    claimline_tls_options tls = CLAIMLINE_TLS_OPTIONS_INIT;
    int use_tls = 0, bad = argc < 4;
    for (int i = 4; !bad && i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--tls") == 0) {
            use_tls = 1;
            continue;
        }
        if (!val)
            bad = 1;
        else if (strcmp(opt, "--ca") == 0)
            tls.ca_file = val;
        else if (strcmp(opt, "--cert") == 0)
            tls.cert_file = val;
        else if (strcmp(opt, "--key") == 0)
            tls.key_file = val;
        else if (strcmp(opt, "--server-name") == 0)
            tls.server_name = val;
        else
            bad = 1;
        use_tls = 1;
        i++;
    }
    if (bad) {
        fprintf(stderr, "usage: %s HOST PORT TOKEN [--tls] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME]\n",
                argv[0]);
        return 2;
    }
    int port = atoi(argv[2]);
    claimline_client *cl = NULL;
    claimline_error err;
    int rc = 1, code;
    Claimline__V1__EscalateResponse *esc = NULL;
    Claimline__V1__RetainResponse *ret = NULL;
    Claimline__V1__FileComplaintResponse *filed = NULL, *again = NULL;
    Claimline__V1__GetClaimResponse *got = NULL;
    Claimline__V1__GetContactResponse *contact = NULL, *after = NULL;

    if ((code = claimline_connect_tls(argv[1], port, argv[3], "contact-example", use_tls ? &tls : NULL, TIMEOUT_MS,
                                      &cl, &err)))
        return failed("connect", code, &err);
    printf("connected to %s%s, session %s, role %s\n", claimline_server_name(cl), use_tls ? " over TLS" : "",
           claimline_session_id(cl), claimline_role(cl));

    /* A call id the CTI would give us; unique per run. */
    char call_id[64];
    snprintf(call_id, sizeof call_id, "UCID-%ld-%ld", (long)getpid(), (long)time(NULL));
    char key[37];

    /* 1. Escalate. */
    Claimline__V1__Subscriber subscriber = CLAIMLINE__V1__SUBSCRIBER__INIT;
    subscriber.msisdn = "+79161234567";
    subscriber.account_id = "ACC-0042";
    subscriber.value_tier = CLAIMLINE__V1__VALUE_TIER__VALUE_TIER_2;
    subscriber.region = "77";
    Claimline__V1__CategoryRef category = CLAIMLINE__V1__CATEGORY_REF__INIT;
    category.group = CLAIMLINE__V1__CLAIM_GROUP__CLAIM_GROUP_BILLING;
    category.category = CLAIMLINE__V1__CATEGORY__CATEGORY_CHARGED_WHILE_BLOCKED;
    Claimline__V1__EscalateRequest escalate = CLAIMLINE__V1__ESCALATE_REQUEST__INIT;
    if (claimline_new_idempotency_key(key)) {
        fprintf(stderr, "no randomness for an idempotency key\n");
        goto done;
    }
    escalate.idempotency_key = key;
    escalate.call_id = call_id;
    escalate.subscriber = &subscriber;
    escalate.category = &category;
    escalate.agent_id = "ivr-7";
    if ((code = claimline_escalate(cl, &escalate, TIMEOUT_MS, &esc, &err))) {
        rc = failed("escalate", code, &err);
        goto done;
    }
    printf("1. escalate %s: %s (rule %s), contact %s\n", call_id,
           enum_name(&claimline__v1__escalate_decision__descriptor, esc->decision), esc->rule,
           enum_name(&claimline__v1__contact_state__descriptor, esc->state));
    if (esc->decision != CLAIMLINE__V1__ESCALATE_DECISION__ESCALATE_DECISION_TRANSFER_TO_SECOND_LINE) {
        fprintf(stderr, "expected TRANSFER_TO_SECOND_LINE\n");
        goto done;
    }

    /* 2. Retain: impossible online. */
    Claimline__V1__RetainRequest retain = CLAIMLINE__V1__RETAIN_REQUEST__INIT;
    if (claimline_new_idempotency_key(key))
        goto done;
    retain.idempotency_key = key;
    retain.call_id = call_id;
    retain.outcome = CLAIMLINE__V1__RETENTION_OUTCOME__RETENTION_OUTCOME_IMPOSSIBLE;
    retain.failure_reason = CLAIMLINE__V1__RETENTION_FAILURE_REASON__RETENTION_FAILURE_REASON_LONG_REVIEW;
    retain.agent_id = "agent-1024";
    retain.note = "Нужна проверка списаний за период блокировки.";
    if ((code = claimline_retain(cl, &retain, TIMEOUT_MS, &ret, &err))) {
        rc = failed("retain", code, &err);
        goto done;
    }
    printf("2. retain IMPOSSIBLE/LONG_REVIEW: claim required %s, contact %s, draft %s\n",
           ret->claim_required ? "yes" : "no", enum_name(&claimline__v1__contact_state__descriptor, ret->state),
           ret->draft ? "returned" : "missing");
    if (!ret->claim_required || !ret->draft) {
        fprintf(stderr, "expected a required claim and its draft\n");
        goto done;
    }

    /* 3. The contact as the server has it: a claim is required, here is its draft. */
    Claimline__V1__GetContactRequest get_contact = CLAIMLINE__V1__GET_CONTACT_REQUEST__INIT;
    get_contact.call_id = call_id;
    if ((code = claimline_get_contact(cl, &get_contact, TIMEOUT_MS, &contact, &err))) {
        rc = failed("get contact", code, &err);
        goto done;
    }
    if (!contact->contact) {
        fprintf(stderr, "get contact returned no contact\n");
        goto done;
    }
    printf("3. get contact %s: %s, decision %s (rule %s), failure reason %s, draft %s\n", contact->contact->call_id,
           enum_name(&claimline__v1__contact_state__descriptor, contact->contact->state),
           enum_name(&claimline__v1__escalate_decision__descriptor, contact->contact->decision), contact->contact->rule,
           enum_name(&claimline__v1__retention_failure_reason__descriptor, contact->contact->failure_reason),
           contact->draft ? "returned" : "missing");
    if (strcmp(contact->contact->call_id, call_id) != 0 ||
        contact->contact->state != CLAIMLINE__V1__CONTACT_STATE__CONTACT_STATE_CLAIM_REQUIRED ||
        contact->contact->decision != esc->decision || strcmp(contact->contact->rule, esc->rule) != 0 ||
        contact->contact->failure_reason != retain.failure_reason) {
        fprintf(stderr, "expected the contact CLAIM_REQUIRED with the escalate decision and the failure reason\n");
        goto done;
    }
    if (!same_message(contact->draft ? &contact->draft->base : NULL, &ret->draft->base)) {
        fprintf(stderr, "expected the same draft as Retain's\n");
        goto done;
    }

    /* 4. File the complaint from the draft. A shallow copy: its strings stay
     * owned by `ret`, we only point two fields elsewhere (never free `file`). */
    Claimline__V1__FileComplaintRequest file = *ret->draft;
    char file_key[37];
    if (claimline_new_idempotency_key(file_key))
        goto done;
    file.idempotency_key = file_key;
    file.description = "С абонента списали абонентскую плату, пока номер был заблокирован. Просит вернуть деньги.";
    if ((code = claimline_file_complaint(cl, &file, TIMEOUT_MS, &filed, &err))) {
        rc = failed("file complaint", code, &err);
        goto done;
    }
    printf("4. file complaint (key %s): claim %s, department %s\n", file_key, filed->claim_number,
           filed->department);
    print_time("due", filed->due_at_ms);

    /* 5. Read it back. */
    Claimline__V1__GetClaimRequest get = CLAIMLINE__V1__GET_CLAIM_REQUEST__INIT;
    get.claim_number = filed->claim_number;
    if ((code = claimline_get_claim(cl, &get, TIMEOUT_MS, &got, &err))) {
        rc = failed("get claim", code, &err);
        goto done;
    }
    if (!got->claim || strcmp(got->claim->claim_number, filed->claim_number) != 0) {
        fprintf(stderr, "get claim returned another claim\n");
        goto done;
    }
    printf("5. get claim %s:\n", filed->claim_number);
    print_claim(got->claim);

    /* 6. A retry with the same key (as after a lost answer) must not file twice. */
    if ((code = claimline_file_complaint(cl, &file, TIMEOUT_MS, &again, &err))) {
        rc = failed("file complaint retry", code, &err);
        goto done;
    }
    printf("6. file complaint again with the same key: claim %s (%s)\n", again->claim_number,
           strcmp(again->claim_number, filed->claim_number) == 0 ? "the same, as expected" : "DIFFERENT");
    if (strcmp(again->claim_number, filed->claim_number) != 0)
        goto done;

    /* 7. The contact is done: it names its claim and has no draft; an unknown call id is not found. */
    if ((code = claimline_get_contact(cl, &get_contact, TIMEOUT_MS, &after, &err))) {
        rc = failed("get contact after filing", code, &err);
        goto done;
    }
    printf("7. get contact %s: %s, claim %s, draft %s\n", call_id,
           enum_name(&claimline__v1__contact_state__descriptor, after->contact ? after->contact->state : 0),
           after->contact ? after->contact->claim_number : "-", after->draft ? "returned" : "none");
    if (!after->contact || after->contact->state != CLAIMLINE__V1__CONTACT_STATE__CONTACT_STATE_CLAIM_FILED ||
        strcmp(after->contact->claim_number, filed->claim_number) != 0 || after->draft) {
        fprintf(stderr, "expected the contact CLAIM_FILED with claim %s and no draft\n", filed->claim_number);
        goto done;
    }
    char unknown[96];
    snprintf(unknown, sizeof unknown, "%s-never-escalated", call_id);
    Claimline__V1__GetContactRequest missing = CLAIMLINE__V1__GET_CONTACT_REQUEST__INIT;
    missing.call_id = unknown;
    Claimline__V1__GetContactResponse *none = NULL;
    code = claimline_get_contact(cl, &missing, TIMEOUT_MS, &none, &err);
    printf("   get contact %s: %d %s [%s]\n", unknown, code, claimline_status_name(code), err.reason);
    if (none)
        claimline__v1__get_contact_response__free_unpacked(none, NULL);
    if (code != CLAIMLINE_NOT_FOUND || strcmp(err.reason, "CONTACT_NOT_FOUND") != 0 || none) {
        fprintf(stderr, "expected NOT_FOUND CONTACT_NOT_FOUND\n");
        goto done;
    }

    if ((code = claimline_ping(cl, TIMEOUT_MS, &err))) {
        rc = failed("ping", code, &err);
        goto done;
    }
    printf("contact complete\n");
    rc = 0;
done:
    if (after)
        claimline__v1__get_contact_response__free_unpacked(after, NULL);
    if (contact)
        claimline__v1__get_contact_response__free_unpacked(contact, NULL);
    if (again)
        claimline__v1__file_complaint_response__free_unpacked(again, NULL);
    if (got)
        claimline__v1__get_claim_response__free_unpacked(got, NULL);
    if (filed)
        claimline__v1__file_complaint_response__free_unpacked(filed, NULL);
    if (ret)
        claimline__v1__retain_response__free_unpacked(ret, NULL);
    if (esc)
        claimline__v1__escalate_response__free_unpacked(esc, NULL);
    claimline_close(cl);
    return rc;
}
