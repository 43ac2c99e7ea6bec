/* Shapes, tensor views and the arena that plans a model's activations. */
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GD_ALIGN_FLOATS 16 /* 64 bytes */

int64_t gd_tensor_numel(const gd_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dims[i];
    return n;
}

gd_tensor gd_tensor_view(float *data, int ndim, const int64_t *dims)
{
    gd_tensor t = {.data = data, .ndim = ndim};
    for (int i = 0; i < ndim && i < GD_MAX_DIMS; i++)
        t.dims[i] = dims[i];
    return t;
}

int64_t gd_shape_numel(const gd_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->dims[i];
    return n;
}

bool gd_shape_equal(const gd_shape *a, const gd_shape *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

const char *gd_shape_str(const gd_shape *s, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->ndim && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, i ? "x%lld" : "%lld", (long long)s->dims[i]);
    return buf;
}

gd_tensor gd_batch_view(float *data, int64_t n, const gd_shape *s)
{
    gd_tensor t = {.data = data, .ndim = s->ndim + 1};
    t.dims[0] = n;
    for (int i = 0; i < s->ndim; i++)
        t.dims[i + 1] = s->dims[i];
    return t;
}

float *gd_arena_take(gd_arena *a, size_t floats)
{
    float *p = a->base && !a->overflow ? a->base + a->used : NULL;
    /* A wrapped total would plan an under-sized block: the flag sticks instead, and the
     * planner fails before anything is allocated. */
    size_t used;
    if (floats > SIZE_MAX - GD_ALIGN_FLOATS ||
        !gd_size_add(&used, a->used, (floats + GD_ALIGN_FLOATS - 1) / GD_ALIGN_FLOATS * GD_ALIGN_FLOATS))
        a->overflow = true;
    else
        a->used = used;
    return p;
}

size_t gd_arena_count(gd_arena *a, int64_t n, int64_t per)
{
    int64_t floats;
    if (n < 0 || per < 0 || !gd_i64_mul(&floats, n, per) || (uint64_t)floats > SIZE_MAX) {
        a->overflow = true;
        return 0;
    }
    return (size_t)floats;
}

bool gd_numel_checked(int ndim, const int64_t *dims, int64_t *out)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 0 || !gd_i64_mul(&n, n, dims[i]))
            return false;
    *out = n;
    return true;
}

void *gd_alloc_aligned(size_t bytes)
{
    if (bytes == 0)
        return NULL;
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded);
    if (p)
        memset(p, 0, rounded);
    return p;
}
