/*
 * Keeps account of every block the code under test allocates, so that the
 * tests can tell that a decision built with warrant.h is freed exactly once
 * by the bindings: freeing (or growing) memory that malloc never gave, a
 * string literal say, or a block twice, stops the tests at once; a leak
 * shows in `test_live_blocks`. Compiled without alloc.h: it calls the real
 * allocator.
 */
#include <stdio.h>
#include <stdlib.h>

static void **blocks;
static size_t count, capacity;

static void remember(void *pointer) {
    if (count == capacity) {
        capacity = capacity == 0 ? 64 : capacity * 2;
        blocks = realloc(blocks, capacity * sizeof *blocks);
        if (blocks == NULL) {
            abort();
        }
    }
    blocks[count++] = pointer;
}

static void forget(void *pointer, const char *what) {
    for (size_t i = count; i > 0; i--) {
        if (blocks[i - 1] == pointer) {
            blocks[i - 1] = blocks[--count];
            return;
        }
    }
    fprintf(stderr, "%s of %p, which malloc did not give or which was freed already\n", what, pointer);
    abort();
}

void *test_malloc(size_t size) {
    void *pointer = malloc(size == 0 ? 1 : size);
    if (pointer != NULL) {
        remember(pointer);
    }
    return pointer;
}

void *test_calloc(size_t n, size_t size) {
    void *pointer = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    if (pointer != NULL) {
        remember(pointer);
    }
    return pointer;
}

void *test_realloc(void *pointer, size_t size) {
    if (pointer == NULL) {
        return test_malloc(size);
    }
    forget(pointer, "realloc");
    void *grown = realloc(pointer, size == 0 ? 1 : size);
    if (grown != NULL) {
        remember(grown);
    }
    return grown;
}

void test_free(void *pointer) {
    if (pointer != NULL) {
        forget(pointer, "free");
        free(pointer);
    }
}

size_t test_live_blocks(void) {
    return count;
}
