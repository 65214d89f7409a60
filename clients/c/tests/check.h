/* The tests' one assertion: CHECK(cond) counts a check and, when cond is false, prints where
 * and counts a failure; a test's main returns failures != 0. Included by every *_test.c. */
#ifndef CLAIMLINE_TESTS_CHECK_H
#define CLAIMLINE_TESTS_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond)                                                                                              \
    do {                                                                                                         \
        checks++;                                                                                                \
        if (!(cond)) {                                                                                           \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                     \
            failures++;                                                                                          \
        }                                                                                                        \
    } while (0)

#endif
