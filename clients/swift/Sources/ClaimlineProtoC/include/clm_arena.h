/*
 * A bump arena behind a ProtobufCAllocator: one encode or decode allocates
 * from it, nothing is freed one by one, and a reset makes it reusable. It is
 * what keeps the Swift codec at zero mallocs per call and free of leaks
 * without walking messages in free_unpacked.
 *
 * Every block carries its size in the 8 bytes before it. protoc-c unpacks a
 * string of n wire bytes into a block of exactly n + 1 bytes, so the size
 * tells the Swift layer the string's length on the wire: a shorter strlen
 * means the string held a NUL that C would silently truncate at.
 *
 * Not thread-safe: one arena per thread or per channel.
 */
#ifndef CLAIMLINE_CLM_ARENA_H
#define CLAIMLINE_CLM_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

typedef struct clm_arena clm_arena;

/* NULL when out of memory. first_chunk is the size of the first chunk in bytes. */
clm_arena *clm_arena_create(size_t first_chunk);
void clm_arena_destroy(clm_arena *arena);

/* 8-byte aligned, or NULL when out of memory or size is absurd. */
void *clm_arena_alloc(clm_arena *arena, size_t size);

/* Forgets every block. Keeps one chunk large enough for what the last cycle
 * used (up to a cap), so steady-state traffic never calls malloc. */
void clm_arena_reset(clm_arena *arena);

/* The allocator to pass to *_unpack; valid as long as the arena. */
ProtobufCAllocator *clm_arena_allocator(clm_arena *arena);

/* Bytes in use now (for tests and the benchmark). */
size_t clm_arena_used(const clm_arena *arena);
/* How many chunks the arena holds now (1 in steady state). */
size_t clm_arena_chunks(const clm_arena *arena);

/* The size a block was allocated with. Only for pointers from clm_arena_alloc. */
static inline size_t clm_arena_block_size(const void *block) {
    return (size_t)((const uint64_t *)block)[-1];
}

/* 1 when the n bytes at p are all ASCII and none is NUL: most ids, keys and numbers. Such
 * bytes are valid UTF-8 as they stand, so the Swift layer can skip its NUL search and its
 * UTF-8 check for them. Eight bytes at a time. */
static inline int clm_is_plain_ascii(const char *p, size_t n) {
    const uint64_t high = 0x8080808080808080ull, ones = 0x0101010101010101ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        __builtin_memcpy(&v, p + i, 8);
        if ((v & high) != 0 || ((v - ones) & ~v & high) != 0) return 0;
    }
    for (; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == 0 || c >= 0x80) return 0;
    }
    return 1;
}

/* Copies the n bytes at src to dst, NUL-terminates dst (n + 1 bytes), and returns 1 when the
 * bytes held a NUL, which C would silently cut the string at. One pass eight bytes at a time
 * and no library call: the strings of a request are mostly shorter than 40 bytes, where
 * separate memcpy and memchr calls cost more in calling than in scanning. */
static inline int clm_copy_cstring(char *dst, const void *src, size_t n) {
    const uint64_t high = 0x8080808080808080ull, ones = 0x0101010101010101ull;
    const unsigned char *s = (const unsigned char *)src;
    uint64_t zero = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        __builtin_memcpy(&v, s + i, 8);
        __builtin_memcpy(dst + i, &v, 8);
        zero |= (v - ones) & ~v & high;
    }
    int nul = zero != 0;
    for (; i < n; i++) {
        dst[i] = (char)s[i];
        nul |= s[i] == 0;
    }
    dst[n] = 0;
    return nul;
}

/* protobuf_c_empty_string does not import into Swift. */
static inline const char *clm_empty_string(void) {
    return protobuf_c_empty_string;
}

#endif
