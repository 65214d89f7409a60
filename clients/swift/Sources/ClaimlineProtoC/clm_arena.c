/* See include/clm_arena.h. Hand-written, not generated. */
#include "clm_arena.h"

#include <stdlib.h>
#include <string.h>

typedef struct clm_chunk {
    struct clm_chunk *next;
    size_t capacity;
    size_t used;
    _Alignas(8) unsigned char data[];
} clm_chunk;

struct clm_arena {
    ProtobufCAllocator allocator;
    clm_chunk *head;        /* the chunk allocations come from */
};

/* A chunk kept across resets never grows beyond this: a rare huge message
 * must not pin its memory for the life of the connection. */
#define CLM_ARENA_KEEP_MAX ((size_t)1 << 20)
#define CLM_ARENA_BLOCK_MAX ((size_t)1 << 30)

static clm_chunk *chunk_new(size_t capacity, clm_chunk *next) {
    clm_chunk *c = malloc(sizeof(clm_chunk) + capacity);
    if (c == NULL) return NULL;
    c->next = next;
    c->capacity = capacity;
    c->used = 0;
    return c;
}

static void *arena_alloc_cb(void *data, size_t size) {
    return clm_arena_alloc((clm_arena *)data, size);
}

static void arena_free_cb(void *data, void *block) {
    (void)data;
    (void)block;
}

clm_arena *clm_arena_create(size_t first_chunk) {
    clm_arena *a = malloc(sizeof(clm_arena));
    if (a == NULL) return NULL;
    if (first_chunk < 256) first_chunk = 256;
    a->head = chunk_new(first_chunk, NULL);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    a->allocator.alloc = arena_alloc_cb;
    a->allocator.free = arena_free_cb;
    a->allocator.allocator_data = a;
    return a;
}

void clm_arena_destroy(clm_arena *a) {
    if (a == NULL) return;
    clm_chunk *c = a->head;
    while (c != NULL) {
        clm_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *clm_arena_alloc(clm_arena *a, size_t size) {
    if (size > CLM_ARENA_BLOCK_MAX) return NULL;
    size_t need = 8 + ((size + 7) & ~(size_t)7);
    clm_chunk *c = a->head;
    if (c->capacity - c->used < need) {
        size_t capacity = c->capacity * 2;
        if (capacity < need) capacity = need;
        clm_chunk *fresh = chunk_new(capacity, c);
        if (fresh == NULL) return NULL;
        a->head = c = fresh;
    }
    unsigned char *p = c->data + c->used;
    c->used += need;
    *(uint64_t *)p = (uint64_t)size;
    return p + 8;
}

void clm_arena_reset(clm_arena *a) {
    clm_chunk *head = a->head;
    if (head->next != NULL) {
        /* This cycle overflowed. The newest chunk is the largest (each is at
         * least twice the one before): keep it so the same traffic fits next
         * time, unless it is too big to pin; then keep the first one. */
        clm_chunk *oldest = head;
        while (oldest->next != NULL) oldest = oldest->next;
        clm_chunk *keep = head->capacity <= CLM_ARENA_KEEP_MAX ? head : oldest;
        clm_chunk *c = head;
        while (c != NULL) {
            clm_chunk *next = c->next;
            if (c != keep) free(c);
            c = next;
        }
        keep->next = NULL;
        a->head = keep;
    }
    a->head->used = 0;
}

ProtobufCAllocator *clm_arena_allocator(clm_arena *a) {
    return &a->allocator;
}

size_t clm_arena_used(const clm_arena *a) {
    size_t used = 0;
    for (const clm_chunk *c = a->head; c != NULL; c = c->next) used += c->used;
    return used;
}

size_t clm_arena_chunks(const clm_arena *a) {
    size_t n = 0;
    for (const clm_chunk *c = a->head; c != NULL; c = c->next) n++;
    return n;
}
