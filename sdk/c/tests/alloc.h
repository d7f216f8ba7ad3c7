/*
 * Routes the allocations of the code under test (warrant.h and the
 * bindings) through alloc.c, which keeps account of them: the tests are
 * compiled with `-include alloc.h`. stdlib.h comes first, so that its own
 * declarations keep their names.
 */
#ifndef WARRANT_TEST_ALLOC_H
#define WARRANT_TEST_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

void *test_malloc(size_t size);
void *test_calloc(size_t count, size_t size);
void *test_realloc(void *pointer, size_t size);
void test_free(void *pointer);
/* How many blocks are allocated and not freed. */
size_t test_live_blocks(void);

#define malloc test_malloc
#define calloc test_calloc
#define realloc test_realloc
#define free test_free

#endif /* WARRANT_TEST_ALLOC_H */
