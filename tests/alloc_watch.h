/* Watching the library's allocations from a test. The test binary is linked with
 * -Wl,--wrap for malloc, calloc, realloc and aligned_alloc, so every call the library
 * makes to them passes through alloc_watch.c while a watch is on. */
#ifndef GD_TEST_ALLOC_WATCH_H
#define GD_TEST_ALLOC_WATCH_H

#include <stddef.h>

/* Starts counting (and forgets the previous counts). */
void alloc_watch_start(void);
/* Stops counting; the counts stay readable. */
void alloc_watch_stop(void);
/* Calls seen since the start. */
int alloc_watch_calls(void);
/* The largest single request seen since the start, in bytes. */
size_t alloc_watch_largest(void);

#endif
