/* Counts calls into the allocator, for "allocations per op" in the codec benchmark.
 * Linking this into an executable interposes malloc and friends for the whole process
 * (they forward to glibc's __libc_* entry points). Benchmarks only. */
#ifndef CLAIMLINE_MALLOC_COUNTER_H
#define CLAIMLINE_MALLOC_COUNTER_H
#include <stdint.h>

/* Allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) so far. */
uint64_t clm_malloc_count(void);

#endif
