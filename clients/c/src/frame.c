/* Claimline protocol v1 framing: see frame.h. */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

const uint8_t clm_preface[CLM_PREFACE_LEN] = {'C', 'L', 'M', 'L', 0x01, 0x00, 0x00, 0x00};

uint32_t clm_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void clm_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void clm_header_encode(const clm_header *h, uint8_t out[CLM_HEADER_LEN])
{
    clm_put_u32(out, h->length);
    out[4] = h->type;
    out[5] = h->flags;
    out[6] = (uint8_t)(h->method >> 8);
    out[7] = (uint8_t)h->method;
    clm_put_u32(out + 8, h->stream_id);
}

void clm_header_decode(const uint8_t in[CLM_HEADER_LEN], clm_header *h)
{
    h->length = clm_get_u32(in);
    h->type = in[4];
    h->flags = in[5];
    h->method = (uint16_t)((unsigned)in[6] << 8 | in[7]);
    h->stream_id = clm_get_u32(in + 8);
}

const char *clm_frame_type_name(uint8_t type)
{
    static const char *const names[] = {NULL,       "HELLO",  "HELLO_ACK", "REQUEST", "RESPONSE",
                                        "ERROR",    "CANCEL", "PING",      "PONG",    "GOAWAY"};
    return type < sizeof names / sizeof names[0] ? names[type] : NULL;
}

int clm_header_well_formed(const clm_header *h)
{
    switch (h->type) {
    case CLM_HELLO: case CLM_HELLO_ACK: case CLM_PING: case CLM_PONG: case CLM_GOAWAY:
        return h->stream_id == 0;
    case CLM_REQUEST: case CLM_RESPONSE: case CLM_ERROR: case CLM_CANCEL:
        return h->stream_id != 0;
    default:
        return 0;
    }
}

int clm_frame_encode(uint8_t type, uint16_t method, uint32_t stream_id, uint32_t timeout_ms,
                     const ProtobufCMessage *msg, const uint8_t *raw, size_t raw_len, uint32_t max_payload,
                     uint8_t **out, size_t *out_len, int *too_large)
{
    size_t prefix = type == CLM_REQUEST ? CLM_TIMEOUT_LEN : 0;
    size_t body = msg ? protobuf_c_message_get_packed_size(msg) : raw_len;

    *out = NULL;
    *out_len = 0;
    if (too_large)
        *too_large = 0;
    if (body > max_payload || prefix + body > max_payload) {
        if (too_large)
            *too_large = 1;
        return -1;
    }
    uint8_t *buf = malloc(CLM_HEADER_LEN + prefix + body);
    if (!buf)
        return -1;
    clm_header h = {(uint32_t)(prefix + body), type, 0, method, stream_id};
    clm_header_encode(&h, buf);
    if (prefix)
        clm_put_u32(buf + CLM_HEADER_LEN, timeout_ms);
    if (msg) {
        if (protobuf_c_message_pack(msg, buf + CLM_HEADER_LEN + prefix) != body) {
            free(buf);
            return -1;
        }
    } else if (body) {
        memcpy(buf + CLM_HEADER_LEN + prefix, raw, body);
    }
    *out = buf;
    *out_len = CLM_HEADER_LEN + prefix + body;
    return 0;
}
