/* Claimline protocol v1 framing (PROTOCOL.md sections 2 and 3): the preface,
 * the 12-byte big-endian header and whole-frame encoding. Internal to
 * libclaimline; the tests use it directly. */
#ifndef CLAIMLINE_FRAME_H
#define CLAIMLINE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define CLM_PREFACE_LEN 8
#define CLM_HEADER_LEN 12
#define CLM_TIMEOUT_LEN 4
#define CLM_MAX_FRAME_HANDSHAKE 4096u        /* before HELLO_ACK */
#define CLM_MAX_FRAME_LIMIT (16u * 1024 * 1024) /* the protocol's ceiling */

extern const uint8_t clm_preface[CLM_PREFACE_LEN];

enum clm_frame_type {
    CLM_HELLO = 0x01,
    CLM_HELLO_ACK = 0x02,
    CLM_REQUEST = 0x03,
    CLM_RESPONSE = 0x04,
    CLM_ERROR = 0x05,
    CLM_CANCEL = 0x06,
    CLM_PING = 0x07,
    CLM_PONG = 0x08,
    CLM_GOAWAY = 0x09
};

typedef struct clm_header {
    uint32_t length;    /* payload bytes after the header */
    uint8_t type;
    uint8_t flags;
    uint16_t method;
    uint32_t stream_id;
} clm_header;

void clm_header_encode(const clm_header *h, uint8_t out[CLM_HEADER_LEN]);
void clm_header_decode(const uint8_t in[CLM_HEADER_LEN], clm_header *h);

/* "HELLO", ... for a known type, else NULL. */
const char *clm_frame_type_name(uint8_t type);

/* 1 if the type is known and its stream id fits it (0 on connection frames,
 * not 0 on call frames), else 0. */
int clm_header_well_formed(const clm_header *h);

uint32_t clm_get_u32(const uint8_t *p);
void clm_put_u32(uint8_t *p, uint32_t v);

/* Encodes a whole frame into a new malloc'd buffer (*out, *out_len):
 * header, then for REQUEST the 4-byte timeout, then either the packed message
 * (msg not NULL) or raw bytes (raw, raw_len). Fails (returns -1, nothing
 * allocated) if the payload would exceed max_payload or malloc fails
 * (*too_large tells which, if not NULL). */
int clm_frame_encode(uint8_t type, uint16_t method, uint32_t stream_id, uint32_t timeout_ms,
                     const ProtobufCMessage *msg, const uint8_t *raw, size_t raw_len, uint32_t max_payload,
                     uint8_t **out, size_t *out_len, int *too_large);

#endif
