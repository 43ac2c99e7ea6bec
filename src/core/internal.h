/* Declarations shared by the library's sources; never installed. */
#ifndef GD_INTERNAL_H
#define GD_INTERNAL_H

#include "gradus.h"

#include <stdarg.h>

#define GD_MSG_MAX 256
#define GD_PI 3.14159265358979323846

/* Formats a detail message into buf (GD_MSG_MAX bytes) and returns status, so that a
 * failing path reads `return gd_fail(m->msg, GD_ERR_SHAPE, "...", ...);`. */
gd_status gd_fail(char *buf, gd_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The per-sample shape of an activation (the batch dimension is not part of it). */
typedef struct gd_shape {
    int ndim;
    int64_t dims[GD_MAX_DIMS - 1];
} gd_shape;

int64_t gd_shape_numel(const gd_shape *s);
bool gd_shape_equal(const gd_shape *a, const gd_shape *b);
/* "784" or "1x28x28", for messages. */
const char *gd_shape_str(const gd_shape *s, char *buf, size_t len);
/* A tensor view of n samples of shape s at data. */
gd_tensor gd_batch_view(float *data, int64_t n, const gd_shape *s);

/* Bump allocation of float buffers from one block, in two passes: a measuring pass with
 * base NULL only adds up sizes, then the same planning runs again over the real block.
 * Each piece starts on a 64-byte boundary so vector loads stay aligned. */
typedef struct gd_arena {
    float *base;
    size_t used; /* floats */
} gd_arena;

float *gd_arena_take(gd_arena *a, size_t floats);

/* Threads for gradus's own loops (OpenMP), as set by gd_set_num_threads. */
int gd_threads(void);
/* Below this many elements an element-wise loop runs on one thread: waking the team
 * costs more than it saves. */
#define GD_PARALLEL_MIN 32768

/* 64-byte aligned allocation, zeroed; free with free(). NULL on failure or n == 0. */
void *gd_alloc_aligned(size_t bytes);

#endif
