/*
 * Says which field of a message libprotobuf-c refused. protobuf_c_message_unpack
 * returns NULL for any fault without saying where; this walks the same bytes
 * against the message's descriptor and names the first field whose wire type
 * does not match its declared type (a string sent as a varint, say), or whose
 * length runs past the end, recursing into submessages, so the caller can answer
 * INVALID_ARGUMENT naming the field as it does for every other bad input.
 *
 * Only called on the error path: it costs nothing when messages are well formed.
 */
#ifndef CLAIMLINE_CLM_WIRE_DIAGNOSE_H
#define CLAIMLINE_CLM_WIRE_DIAGNOSE_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/*
 * Writes the dotted path of the offending field ("subscriber.value_tier",
 * "categories[1].group") into path (NUL-terminated, cut at cap) and returns 1;
 * returns 0 when no single field is to blame (a bad tag, truncated bytes
 * between fields) or the bytes look fine.
 */
int clm_wire_diagnose(const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t len, char *path, size_t cap);

#endif
