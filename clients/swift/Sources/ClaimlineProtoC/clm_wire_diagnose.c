#include "clm_wire_diagnose.h"

#include <stdio.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_64 = 1, WIRE_LEN = 2, WIRE_32 = 5 };

/* A varint at *pos; 0 when it runs past the end or is over 10 bytes. */
static int read_varint(const uint8_t *data, size_t len, size_t *pos, uint64_t *value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 70 && *pos < len; shift += 7) {
        uint8_t byte = data[(*pos)++];
        result |= (uint64_t)(byte & 0x7F) << shift;
        if ((byte & 0x80) == 0) {
            *value = result;
            return 1;
        }
    }
    return 0;
}

/* The wire types a field may arrive in: its own, and length-delimited for packed repeated scalars. */
static int wire_type_allowed(const ProtobufCFieldDescriptor *field, int wire) {
    int scalar_packable = 1;
    int expected;
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL: case PROTOBUF_C_TYPE_ENUM:
        expected = WIRE_VARINT;
        break;
    case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_FLOAT:
        expected = WIRE_32;
        break;
    case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        expected = WIRE_64;
        break;
    default: /* string, bytes, message */
        expected = WIRE_LEN;
        scalar_packable = 0;
        break;
    }
    if (wire == expected) return 1;
    return field->label == PROTOBUF_C_LABEL_REPEATED && scalar_packable && wire == WIRE_LEN;
}

static void append(char *path, size_t cap, const char *prefix, const char *name, int index) {
    size_t used = strlen(path);
    if (used >= cap) return;
    if (index >= 0) {
        snprintf(path + used, cap - used, "%s%s[%d]", prefix, name, index);
    } else {
        snprintf(path + used, cap - used, "%s%s", prefix, name);
    }
}

static int diagnose(const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t len, char *path, size_t cap, int depth) {
    /* Repeated fields: the index of the next element, per field (small messages only). */
    int counts[64] = {0};
    size_t pos = 0;
    while (pos < len) {
        uint64_t key;
        if (!read_varint(data, len, &pos, &key)) return 0;
        uint32_t number = (uint32_t)(key >> 3);
        int wire = (int)(key & 7);
        const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(descriptor, number);
        size_t field_index = field ? (size_t)(field - descriptor->fields) : 0;
        int element = -1;
        if (field && field->label == PROTOBUF_C_LABEL_REPEATED && field_index < 64) element = counts[field_index]++;
        if (field && !wire_type_allowed(field, wire)) {
            append(path, cap, depth ? "." : "", field->name, element);
            return 1;
        }
        uint64_t length = 0;
        switch (wire) {
        case WIRE_VARINT:
            if (!read_varint(data, len, &pos, &length)) {
                if (field) append(path, cap, depth ? "." : "", field->name, element);
                return field != NULL;
            }
            break;
        case WIRE_64:
            if (len - pos < 8) goto truncated;
            pos += 8;
            break;
        case WIRE_32:
            if (len - pos < 4) goto truncated;
            pos += 4;
            break;
        case WIRE_LEN:
            if (!read_varint(data, len, &pos, &length) || length > len - pos) goto truncated;
            if (field && field->type == PROTOBUF_C_TYPE_MESSAGE && depth < 16) {
                size_t before = strlen(path);
                append(path, cap, depth ? "." : "", field->name, element);
                if (diagnose(field->descriptor, data + pos, (size_t)length, path, cap, depth + 1)) return 1;
                path[before] = '\0';
            }
            pos += (size_t)length;
            break;
        default:
            return 0; /* groups and reserved wire types: no field to name */
        }
        continue;
    truncated:
        if (field) {
            append(path, cap, depth ? "." : "", field->name, element);
            return 1;
        }
        return 0;
    }
    return 0;
}

int clm_wire_diagnose(const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t len, char *path, size_t cap) {
    if (cap == 0) return 0;
    path[0] = '\0';
    return diagnose(descriptor, data, len, path, cap, 0);
}
