/* Golden vectors (proto/vectors/v1.tsv) against libclaimline's framing and
 * protoc-c's messages. For every row:
 *   preface: equals the library's preface bytes;
 *   frame:   the library's header parser gives the row's type, flags, method,
 *            stream id and length; REQUEST payloads start with the row's timeout;
 *   message: unpacking the row's message hex with the descriptor named by the
 *            row and packing it again gives the same bytes;
 *   rebuild: the library's encoder turns (type, method, stream, timeout,
 *            message or raw payload) back into exactly the row's frame bytes.
 * And over all rows: every method of claimline.h (1 .. CLAIMLINE_METHOD_LAST)
 * has a REQUEST and a RESPONSE vector, and no vector names a method beyond them.
 * Usage: vectors_test [path/to/v1.tsv]   (default ../../proto/vectors/v1.tsv) */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claimline.h"
#include "frame.h"

enum { COL_NAME, COL_KIND, COL_HEX, COL_TYPE, COL_FLAGS, COL_METHOD, COL_STREAM, COL_TIMEOUT, COL_MSGTYPE,
       COL_MSGHEX, NCOLS };

/* The messages that are no method's request or response; those come from the generated
 * method list (claimline_methods.h), so a new method needs no line here. */
static const ProtobufCMessageDescriptor *const descriptors[] = {
    &claimline__v1__hello__descriptor,
    &claimline__v1__hello_ack__descriptor,
    &claimline__v1__field_violation__descriptor,
    &claimline__v1__rpc_status__descriptor,
    &claimline__v1__go_away__descriptor,
    &claimline__v1__subscriber__descriptor,
    &claimline__v1__category_ref__descriptor,
    &claimline__v1__claim__descriptor,
    &claimline__v1__incident__descriptor,
    &claimline__v1__category_count__descriptor,
    &claimline__v1__group_count__descriptor,
    &claimline__v1__failure_reason_count__descriptor,
    &claimline__v1__decision_count__descriptor,
    &claimline__v1__contact__descriptor,
};

static const ProtobufCMessageDescriptor *const method_descriptors[] = {
#define METHOD_DESCRIPTORS(number, NAME, name, Req, req, Resp, resp, write) &req##__descriptor, &resp##__descriptor,
    CLAIMLINE_METHODS(METHOD_DESCRIPTORS)
#undef METHOD_DESCRIPTORS
};

/* The descriptor whose full name ("claimline.v1.EscalateRequest") is name, or NULL. */
static const ProtobufCMessageDescriptor *descriptor_named(const char *name)
{
    for (size_t i = 0; i < sizeof descriptors / sizeof descriptors[0]; i++)
        if (strcmp(descriptors[i]->name, name) == 0)
            return descriptors[i];
    for (size_t i = 0; i < sizeof method_descriptors / sizeof method_descriptors[0]; i++)
        if (strcmp(method_descriptors[i]->name, name) == 0)
            return method_descriptors[i];
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex into a new buffer (*out, *len); -1 on bad hex or no memory. */
static int unhex(const char *hex, uint8_t **out, size_t *len)
{
    size_t n = strlen(hex);
    *out = NULL;
    *len = 0;
    if (n % 2)
        return -1;
    uint8_t *b = malloc(n / 2 + 1); /* +1: never malloc(0) */
    if (!b)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return -1;
        }
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = b;
    *len = n / 2;
    return 0;
}

static int failures;

static void check(int ok, const char *row, const char *what)
{
    if (!ok) {
        fprintf(stderr, "FAIL %s: %s\n", row, what);
        failures++;
    }
}

static int same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Which methods have a REQUEST (bit 0) and a RESPONSE (bit 1) vector. */
static unsigned method_seen[CLAIMLINE_METHOD_LAST + 1];

/* Checks one frame row; counts what it checked into *messages. */
static void check_frame(char **col, int *messages)
{
    const char *row = col[COL_NAME];
    uint8_t *frame = NULL, *msg = NULL;
    size_t frame_len, msg_len = 0;
    ProtobufCMessage *m = NULL;
    uint8_t *rebuilt = NULL;

    if (unhex(col[COL_HEX], &frame, &frame_len) || frame_len < CLM_HEADER_LEN) {
        check(0, row, "frame hex is not a frame");
        goto out;
    }
    clm_header h;
    clm_header_decode(frame, &h);
    const char *type_name = clm_frame_type_name(h.type);
    check(type_name && strcmp(type_name, col[COL_TYPE]) == 0, row, "frame type");
    check(h.flags == strtoul(col[COL_FLAGS], NULL, 10), row, "flags");
    check(h.method == strtoul(col[COL_METHOD], NULL, 10), row, "method");
    check(h.stream_id == strtoul(col[COL_STREAM], NULL, 10), row, "stream id");
    check(h.length == frame_len - CLM_HEADER_LEN, row, "length");
    check(clm_header_well_formed(&h), row, "header not well formed");
    if (h.type == CLM_REQUEST || h.type == CLM_RESPONSE) {
        if (h.method >= CLAIMLINE_METHOD_ESCALATE && h.method <= CLAIMLINE_METHOD_LAST)
            method_seen[h.method] |= h.type == CLM_REQUEST ? 1u : 2u;
        else
            check(0, row, "a method claimline.h does not know");
    }
    uint8_t again[CLM_HEADER_LEN];
    clm_header_encode(&h, again);
    check(memcmp(again, frame, CLM_HEADER_LEN) == 0, row, "header re-encoding");

    const uint8_t *payload = frame + CLM_HEADER_LEN;
    size_t payload_len = frame_len - CLM_HEADER_LEN;
    uint32_t timeout = 0;
    if (h.type == CLM_REQUEST) {
        if (payload_len < CLM_TIMEOUT_LEN) {
            check(0, row, "REQUEST payload under 4 bytes");
            goto out;
        }
        timeout = clm_get_u32(payload);
        check(timeout == strtoul(col[COL_TIMEOUT], NULL, 10), row, "timeout");
        payload += CLM_TIMEOUT_LEN;
        payload_len -= CLM_TIMEOUT_LEN;
    }

    if (col[COL_MSGTYPE][0]) {
        const ProtobufCMessageDescriptor *d = descriptor_named(col[COL_MSGTYPE]);
        if (!d) {
            check(0, row, "unknown message type");
            goto out;
        }
        if (unhex(col[COL_MSGHEX], &msg, &msg_len)) {
            check(0, row, "message hex");
            goto out;
        }
        check(same(msg, msg_len, payload, payload_len), row, "message hex is not the frame's payload");
        m = protobuf_c_message_unpack(d, NULL, msg_len, msg);
        if (!m) {
            check(0, row, "message does not unpack");
            goto out;
        }
        size_t size = protobuf_c_message_get_packed_size(m);
        uint8_t *packed = malloc(size + 1);
        if (!packed) {
            check(0, row, "out of memory");
            goto out;
        }
        size_t n = protobuf_c_message_pack(m, packed);
        check(n == size && same(packed, n, msg, msg_len), row, "message re-packing");
        free(packed);
        ++*messages;
    }

    /* Rebuild the whole frame with the library's encoder. */
    size_t rebuilt_len;
    if (clm_frame_encode(h.type, h.method, h.stream_id, timeout, m, m ? NULL : payload, m ? 0 : payload_len,
                         CLM_MAX_FRAME_LIMIT, &rebuilt, &rebuilt_len, NULL)) {
        check(0, row, "encoder failed");
        goto out;
    }
    check(same(rebuilt, rebuilt_len, frame, frame_len), row, "rebuilt frame differs");
out:
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    free(rebuilt);
    free(msg);
    free(frame);
}

/* Splits line at tabs into col[NCOLS] (missing columns are ""); returns how many were present. */
static int split(char *line, char **col)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (int i = 0; i < NCOLS; i++)
        col[i] = "";
    char *p = line;
    while (n < NCOLS) {
        col[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "../../proto/vectors/v1.tsv";
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    int frames = 0, messages = 0, prefaces = 0;
    while (getline(&line, &cap, f) >= 0) {
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\0')
            continue;
        char *col[NCOLS];
        if (split(line, col) < 3) {
            check(0, col[COL_NAME], "fewer than 3 columns");
            continue;
        }
        if (strcmp(col[COL_KIND], "preface") == 0) {
            uint8_t *b;
            size_t n;
            check(unhex(col[COL_HEX], &b, &n) == 0 && same(b, n, clm_preface, CLM_PREFACE_LEN), col[COL_NAME],
                  "preface bytes");
            free(b);
            prefaces++;
        } else if (strcmp(col[COL_KIND], "frame") == 0) {
            check_frame(col, &messages);
            frames++;
        } else {
            check(0, col[COL_NAME], "unknown kind");
        }
    }
    free(line);
    fclose(f);
    check(frames > 0, path, "no frames");
    for (int m = CLAIMLINE_METHOD_ESCALATE; m <= CLAIMLINE_METHOD_LAST; m++) {
        char what[64];
        snprintf(what, sizeof what, "no REQUEST and RESPONSE vectors for method %d", m);
        check(method_seen[m] == 3u, path, what);
    }
    printf("vectors: %d preface, %d frames, %d messages checked; %d failures\n", prefaces, frames, messages,
           failures);
    return failures ? 1 : 0;
}
