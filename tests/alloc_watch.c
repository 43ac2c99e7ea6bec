/* The allocation wrappers behind alloc_watch.h. */
#include "alloc_watch.h"

static int g_on, g_calls;
static size_t g_largest;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);

static void seen(size_t bytes)
{
    if (!g_on)
        return;
    g_calls++;
    g_largest = bytes > g_largest ? bytes : g_largest;
}

void *__wrap_malloc(size_t n)
{
    seen(n);
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size)
{
    seen(n * size); /* calloc itself refuses a product that wraps */
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n)
{
    seen(n);
    return __real_realloc(p, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n)
{
    seen(n);
    return __real_aligned_alloc(align, n);
}

void alloc_watch_start(void)
{
    g_calls = 0;
    g_largest = 0;
    g_on = 1;
}
void alloc_watch_stop(void) { g_on = 0; }
int alloc_watch_calls(void) { return g_calls; }
size_t alloc_watch_largest(void) { return g_largest; }
