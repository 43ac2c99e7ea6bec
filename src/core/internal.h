/* Declarations shared by the library's sources; never installed. */
#ifndef GD_INTERNAL_H
#define GD_INTERNAL_H

#include "gradus.h"

#include <stdarg.h>
#include <stdio.h>

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
    size_t used;   /* floats */
    bool overflow; /* a size or the total wrapped: the plan is void (sticky) */
    bool forward_only; /* an inference plan: no gradients, outputs by their lifetime */
} gd_arena;

float *gd_arena_take(gd_arena *a, size_t floats);
/* n * per floats for gd_arena_take (max_batch * a sample's values, ...): a product that
 * wraps, or a negative factor, sets a->overflow and gives 0. Factors may nest. */
size_t gd_arena_count(gd_arena *a, int64_t n, int64_t per);
/* The product of dims, false when it wraps int64 or a dimension is negative. Shapes that
 * a spec, a caller or a file decides go through it once; gd_shape_numel and
 * gd_tensor_numel, unchecked, are for shapes that passed. */
bool gd_numel_checked(int ndim, const int64_t *dims, int64_t *out);

/* Threads for gradus's own loops (OpenMP), as set by gd_set_num_threads. */
int gd_threads(void);

/* gemm.c: C = alpha op(A) op(B) + beta C, row-major, on gd_threads() threads (inside a
 * parallel region, on the calling thread alone): the layers' products. */
void gd_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc);
/* Which library computes them, and with which of the CPU's instructions, for benchmarks. */
const char *gd_sgemm_backend(void);
/* Below this many elements an element-wise loop runs on one thread: waking the team
 * costs more than it saves. */
#define GD_PARALLEL_MIN 32768

/* Sizes computed from a file, a header or a spec: each product and sum checked, since a
 * wrapped size is an under-allocation. Each returns false on overflow (*out is then
 * unspecified). */
bool gd_size_mul(size_t *out, size_t a, size_t b);
bool gd_size_add(size_t *out, size_t a, size_t b);
bool gd_i64_mul(int64_t *out, int64_t a, int64_t b);

/* A piece of a file being written: len bytes at data. */
typedef struct gd_span {
    const void *data;
    size_t len;
} gd_span;

/* gd_write_file_atomic for a file made of n pieces, written one after another, so that a
 * writer need not first copy them into one buffer (a checkpoint holds the model three
 * times over). The message (GD_MSG_MAX bytes) names path. */
gd_status gd_write_spans_atomic(const char *path, const gd_span *spans, size_t n, char *msg);

/* GD_OK when bytes fit gd_get_memory_limit(); else GD_ERR_LIMIT with "WHAT would need
 * 3.8 GB, beyond the memory limit of 12.0 GB" in msg (GD_MSG_MAX bytes). Call it before
 * allocating anything whose size a file or a spec decides. */
gd_status gd_check_memory(char *msg, const char *what, uint64_t bytes);

/* 64-byte aligned allocation, zeroed; free with free(). NULL on failure or n == 0. */
void *gd_alloc_aligned(size_t bytes);

#endif
