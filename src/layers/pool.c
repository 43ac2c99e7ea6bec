/* Pooling over each (sample, channel) plane, as torch.nn.MaxPool2d, AvgPool2d and
 * AdaptiveAvgPool2d(1). Window (a, b) covers rows a s - p .. a s - p + k - 1 and the same
 * columns; out = floor((size + 2p - k) / s) + 1 (ceil_mode False), so every window ends
 * inside the padded plane.
 *   Max: y = the window's largest input, padding counting as -inf; forward records the
 *     winner's index and backward sends dy there (accumulating, as windows may overlap).
 *     Ties go to the first in row-major window order and a NaN wins, as PyTorch's kernel
 *     (`val > max || isnan(val)`).
 *   Avg: y = sum of the window's inputs / k^2, padding counting as zeros
 *     (count_include_pad = True); backward adds dy / k^2 to each input of the window.
 *   Global average: y = mean of the plane; dx = dy / (H W).
 * Each task is one plane, whose windows run in a fixed order: no two threads write one
 * value, and sums do not depend on the thread count.
 *
 * Speed: max pooling whose windows tile rows of 8 or more outputs (maxpool(2) on even
 * widths from 16) takes each window row's winner in one flat loop over the plane, then
 * each window's (max_plane_tiled).
 * Otherwise forward runs tap by tap (in window order) over all of a plane's outputs at
 * once, reading through a table of window origins: that loop vectorises, where the rows of
 * a small plane (7 or 14 outputs) are too short to. Outputs whose windows meet the padding
 * read a window at the plane's origin there, and are then recomputed one at a time,
 * clamped to the plane (all outputs are, when the kernel is larger than the plane). */
#include "layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool {
    gd_layer base;
    gd_pool_kind kind;
    int k, stride, pad;
    int64_t h, w, oh, ow; /* from infer */
    /* Outputs (a, b) with a in [row_lo, row_hi), b in [col_lo, col_hi) have their windows
     * inside the plane; the others meet the padding. */
    int64_t row_lo, row_hi, col_lo, col_hi;
    int32_t *argmax; /* max: the winner's index in its input plane, per output */
    int32_t *origin; /* max and avg: each output's window origin in the plane (0 at borders) */
} pool;

/* The outputs [*lo, *hi) along an axis of `size` inputs whose windows lie wholly inside it
 * (o s - pad >= 0 and o s - pad + k <= size); none when the kernel is larger than a plane,
 * since border windows read at the origin would then leave it. */
static void inner_range(const pool *p, int64_t size, int64_t outs, int64_t *lo, int64_t *hi)
{
    int64_t last = size + p->pad - p->k;
    bool fits = p->k <= p->h && p->k <= p->w;
    *hi = !fits || last < 0 ? 0 : last / p->stride + 1;
    *hi = *hi < outs ? *hi : outs;
    *lo = (p->pad + p->stride - 1) / p->stride;
    *lo = *lo < *hi ? *lo : *hi;
}

static gd_status pool_infer(gd_layer *l, gd_shape *out, char *msg)
{
    pool *p = GD_IMPL(pool, l);
    const gd_shape *s = &l->in_shape;
    char str[64];
    if (s->ndim != 3)
        return gd_fail(msg, GD_ERR_SHAPE,
                       "%s %s: expects samples of (channels, height, width), got %s",
                       l->ops->kind, l->name, gd_shape_str(s, str, sizeof str));
    p->h = s->dims[1];
    p->w = s->dims[2];
    /* Indices into a plane are stored as int32. */
    if (p->h > INT32_MAX || p->w > INT32_MAX || p->h * p->w > INT32_MAX)
        return gd_fail(msg, GD_ERR_SHAPE, "%s %s: plane of %lldx%lld exceeds 2^31-1 values",
                       l->ops->kind, l->name, (long long)p->h, (long long)p->w);
    if (p->kind == GD_POOL_GLOBAL_AVG) {
        p->oh = p->ow = 1;
    } else {
        int64_t span_h = p->h + 2 * (int64_t)p->pad - p->k;
        int64_t span_w = p->w + 2 * (int64_t)p->pad - p->k;
        if (span_h < 0 || span_w < 0)
            return gd_fail(msg, GD_ERR_SHAPE,
                           "%s %s: kernel %d does not fit input %lldx%lld padded by %d",
                           l->ops->kind, l->name, p->k, (long long)p->h, (long long)p->w, p->pad);
        p->oh = span_h / p->stride + 1;
        p->ow = span_w / p->stride + 1;
        inner_range(p, p->h, p->oh, &p->row_lo, &p->row_hi);
        inner_range(p, p->w, p->ow, &p->col_lo, &p->col_hi);
    }
    *out = (gd_shape){.ndim = 3, .dims = {s->dims[0], p->oh, p->ow}};
    return GD_OK;
}

static bool inner(const pool *p, int64_t a, int64_t b)
{
    return a >= p->row_lo && a < p->row_hi && b >= p->col_lo && b < p->col_hi;
}

/* The arena hands out untyped 4-byte slots; these buffers are only ever used as int32. The
 * origins depend on the shapes alone, so they are filled as the plan is made. */
static void pool_reserve(gd_layer *l, gd_arena *a, int64_t max_batch)
{
    pool *p = GD_IMPL(pool, l);
    int64_t ohw = p->oh * p->ow;
    size_t outputs = gd_arena_count(a, max_batch, gd_shape_numel(&l->out_shape));
    if (p->kind == GD_POOL_MAX)
        p->argmax = (int32_t *)(void *)gd_arena_take(a, outputs);
    p->origin = (int32_t *)(void *)gd_arena_take(a, (size_t)ohw);
    for (int64_t o = 0; p->origin && o < ohw; o++) {
        int64_t r = o / p->ow * p->stride - p->pad, c = o % p->ow * p->stride - p->pad;
        p->origin[o] = inner(p, o / p->ow, o % p->ow) ? (int32_t)(r * p->w + c) : 0;
    }
}

/* The window of output (a, b), clamped to the plane: rows [*r0, *r1), columns [*c0, *c1). */
static void window(const pool *p, int64_t a, int64_t b, int64_t *r0, int64_t *r1, int64_t *c0,
                   int64_t *c1)
{
    int64_t top = a * p->stride - p->pad, left = b * p->stride - p->pad;
    *r0 = top > 0 ? top : 0;
    *c0 = left > 0 ? left : 0;
    *r1 = top + p->k < p->h ? top + p->k : p->h;
    *c1 = left + p->k < p->w ? left + p->k : p->w;
}

/* PyTorch's rule: the first maximum in window order wins, and so does a NaN. Written
 * with masks, not conditionals: which input wins depends on the data, so a branch would be
 * mispredicted about half the time, and compilers turn a scalar conditional into one. */
static inline void max_take(float v, int32_t at, float *top, int32_t *best)
{
    uint32_t take = -(uint32_t)((v > *top) | (v != v)), vb, tb;
    memcpy(&vb, &v, sizeof vb);
    memcpy(&tb, top, sizeof tb);
    tb = (vb & take) | (tb & ~take);
    memcpy(top, &tb, sizeof tb);
    *best = (int32_t)(((uint32_t)at & take) | ((uint32_t)*best & ~take));
}

/* Output (a, b) alone, its window clamped to the plane: max (arg != NULL) or average. */
static void pool_window(const pool *p, const float *x, int64_t a, int64_t b, float *y,
                        int32_t *arg)
{
    int64_t r0, r1, c0, c1, o = a * p->ow + b;
    window(p, a, b, &r0, &r1, &c0, &c1);
    if (arg) {
        y[o] = -INFINITY;
        arg[o] = (int32_t)(r0 * p->w + c0);
        for (int64_t r = r0; r < r1; r++)
            for (int64_t c = c0; c < c1; c++)
                max_take(x[r * p->w + c], (int32_t)(r * p->w + c), &y[o], &arg[o]);
        return;
    }
    float sum = 0;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t c = c0; c < c1; c++)
            sum += x[r * p->w + c];
    y[o] = sum / (float)(p->k * p->k);
}

/* Every output of a plane through the origin table, tap by tap in window order. */
static void max_plane(const pool *p, const float *restrict x, float *restrict y,
                      int32_t *restrict arg)
{
    const int32_t *restrict origin = p->origin;
    int64_t n = p->oh * p->ow;
    for (int64_t o = 0; o < n; o++) {
        y[o] = -INFINITY;
        arg[o] = origin[o];
    }
    for (int i = 0; i < p->k; i++)
        for (int j = 0; j < p->k; j++) {
            int32_t tap = (int32_t)(i * p->w + j);
            for (int64_t o = 0; o < n; o++)
                max_take(x[origin[o] + tap], origin[o] + tap, &y[o], &arg[o]);
        }
}

static void avg_plane(const pool *p, const float *restrict x, float *restrict y)
{
    const int32_t *restrict origin = p->origin;
    int64_t n = p->oh * p->ow;
    float area = (float)(p->k * p->k);
    for (int64_t o = 0; o < n; o++)
        y[o] = 0;
    for (int i = 0; i < p->k; i++)
        for (int j = 0; j < p->k; j++) {
            int32_t tap = (int32_t)(i * p->w + j);
            for (int64_t o = 0; o < n; o++)
                y[o] += x[origin[o] + tap];
        }
    for (int64_t o = 0; o < n; o++)
        y[o] /= area;
}

/* Max pooling when the windows tile the rows: no padding, stride = kernel, w = k ow.
 * Window (a, b)'s row i is then x[k q + j], j < k, with q = (a k + i) ow + b: one flat
 * index for every window row of a strip of output rows, whose winners come out of one
 * long loop (a plane's rows of 7 or 14 outputs are too short to vectorise, and the origin
 * table's loads are gathers: 3.6 ms of a 50 ms step for this CNN's first pool). Each
 * window then takes the winner of its k row winners, in row order. With max_take's rule
 * both steps give what one pass in window order gives: the first maximum (later ones are
 * not greater), or the last NaN (a NaN row winner is its row's last NaN and beats
 * anything; a later row without one cannot beat it). */
#define POOL_STRIP 1024
/* The second step runs along output rows: rows shorter than one vector of 8 stay scalar
 * there, and the origin table is then faster (measured: 1.0 against 1.7 ms for this CNN's
 * 7-wide second pool, 2.8 against 2.0 ms for its 14-wide first). */
#define POOL_TILED_MIN_ROW 8

static bool tiled(const pool *p)
{
    return p->pad == 0 && p->stride == p->k && p->w == p->k * p->ow &&
           p->ow >= POOL_TILED_MIN_ROW && p->k * p->ow <= POOL_STRIP;
}

/* Winners of window rows q0 .. q0+nq-1. */
static inline void window_rows(const float *restrict x, int k, int64_t q0, int64_t nq,
                               float *restrict top, int32_t *restrict at)
{
    for (int64_t q = q0; q < q0 + nq; q++) {
        float v = x[k * q];
        int32_t i = (int32_t)(k * q);
        for (int j = 1; j < k; j++)
            max_take(x[k * q + j], (int32_t)(k * q + j), &v, &i);
        top[q - q0] = v;
        at[q - q0] = i;
    }
}

/* Winners of a row of ow windows from their k row winners, k rows of ow apart. */
static inline void window_cols(const float *restrict top, const int32_t *restrict at, int k,
                               int64_t ow, float *restrict y, int32_t *restrict arg)
{
    for (int64_t b = 0; b < ow; b++) {
        float v = top[b];
        int32_t i = at[b];
        for (int r = 1; r < k; r++)
            max_take(top[r * ow + b], at[r * ow + b], &v, &i);
        y[b] = v;
        arg[b] = i;
    }
}

/* One strip of output rows after another; k = 2 gets loops of its own, which the
 * compiler unrolls over j and vectorises. */
static void max_plane_tiled(const pool *p, const float *restrict x, float *restrict y,
                            int32_t *restrict arg)
{
    float top[POOL_STRIP];
    int32_t at[POOL_STRIP];
    int k = p->k;
    int64_t ow = p->ow, per_row = k * ow, strip = POOL_STRIP / per_row;
    for (int64_t a0 = 0; a0 < p->oh; a0 += strip) {
        int64_t rows = p->oh - a0 < strip ? p->oh - a0 : strip;
        if (k == 2)
            window_rows(x, 2, a0 * per_row, rows * per_row, top, at);
        else
            window_rows(x, k, a0 * per_row, rows * per_row, top, at);
        for (int64_t a = 0; a < rows; a++) {
            float *ya = y + (a0 + a) * ow;
            int32_t *ia = arg + (a0 + a) * ow;
            if (k == 2)
                window_cols(top + a * per_row, at + a * per_row, 2, ow, ya, ia);
            else
                window_cols(top + a * per_row, at + a * per_row, k, ow, ya, ia);
        }
    }
}

static void pool_plane(const pool *p, const float *x, float *y, int32_t *arg)
{
    /* With no inner output (a kernel larger than the plane) the table would read outside. */
    bool table = p->row_lo < p->row_hi && p->col_lo < p->col_hi;
    if (arg && tiled(p)) {
        max_plane_tiled(p, x, y, arg);
        return;
    }
    if (table && arg)
        max_plane(p, x, y, arg);
    else if (table)
        avg_plane(p, x, y);
    for (int64_t a = 0; a < p->oh; a++) {
        bool inner_row = a >= p->row_lo && a < p->row_hi;
        for (int64_t b = 0; b < (inner_row ? p->col_lo : p->ow); b++)
            pool_window(p, x, a, b, y, arg);
        for (int64_t b = inner_row ? p->col_hi : p->ow; b < p->ow; b++)
            pool_window(p, x, a, b, y, arg);
    }
}

static void avg_plane_backward(const pool *p, const float *dy, float *dx)
{
    float scale = (float)(1.0 / ((double)p->k * p->k));
    for (int64_t a = 0; a < p->oh; a++)
        for (int64_t b = 0; b < p->ow; b++) {
            int64_t r0, r1, c0, c1;
            window(p, a, b, &r0, &r1, &c0, &c1);
            float g = dy[a * p->ow + b] * scale;
            for (int64_t r = r0; r < r1; r++)
                for (int64_t c = c0; c < c1; c++)
                    dx[r * p->w + c] += g;
        }
}

static double plane_sum(const float *x, int64_t n)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += x[i];
    return sum;
}

static gd_status pool_forward(gd_layer *l, const gd_pass *run)
{
    pool *p = GD_IMPL(pool, l);
    int64_t planes = run->n * l->in_shape.dims[0], hw = p->h * p->w, ohw = p->oh * p->ow;
#pragma omp parallel for num_threads(gd_threads()) if (planes * hw > GD_PARALLEL_MIN) schedule(static)
    for (int64_t t = 0; t < planes; t++) {
        const float *x = l->in + t * hw;
        float *y = l->out + t * ohw;
        if (p->kind == GD_POOL_GLOBAL_AVG)
            *y = (float)(plane_sum(x, hw) / (double)hw);
        else
            pool_plane(p, x, y, p->kind == GD_POOL_MAX ? p->argmax + t * ohw : NULL);
    }
    return GD_OK;
}

static void pool_backward(gd_layer *l, const gd_pass *run)
{
    pool *p = GD_IMPL(pool, l);
    int64_t planes = run->n * l->in_shape.dims[0], hw = p->h * p->w, ohw = p->oh * p->ow;
    if (!l->in_grad)
        return;
#pragma omp parallel for num_threads(gd_threads()) if (planes * hw > GD_PARALLEL_MIN) schedule(static)
    for (int64_t t = 0; t < planes; t++) {
        const float *dy = l->out_grad + t * ohw;
        float *dx = l->in_grad + t * hw;
        if (p->kind == GD_POOL_GLOBAL_AVG) {
            float g = (float)(*dy / (double)hw);
            for (int64_t i = 0; i < hw; i++)
                dx[i] = g;
            continue;
        }
        memset(dx, 0, (size_t)hw * sizeof(float));
        if (p->kind == GD_POOL_AVG) {
            avg_plane_backward(p, dy, dx);
            continue;
        }
        const int32_t *arg = p->argmax + t * ohw;
        for (int64_t o = 0; o < ohw; o++)
            dx[arg[o]] += dy[o];
    }
}

static const gd_layer_ops pool_ops[] = {
    [GD_POOL_MAX] = {.kind = "maxpool2d", .infer = pool_infer, .reserve = pool_reserve,
                     .forward = pool_forward, .backward = pool_backward},
    [GD_POOL_AVG] = {.kind = "avgpool2d", .infer = pool_infer, .reserve = pool_reserve,
                     .forward = pool_forward, .backward = pool_backward},
    [GD_POOL_GLOBAL_AVG] = {.kind = "global_avgpool", .infer = pool_infer,
                            .forward = pool_forward, .backward = pool_backward},
};

gd_status gd_pool2d_create(gd_layer **out, gd_pool_kind kind, int kernel, int stride, int padding,
                           char *msg)
{
    if (kind != GD_POOL_MAX && kind != GD_POOL_AVG && kind != GD_POOL_GLOBAL_AVG)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "pool2d: unknown kind %d", (int)kind);
    const char *name = pool_ops[kind].kind;
    if (kind != GD_POOL_GLOBAL_AVG) {
        if (kernel < 1 || stride < 0 || padding < 0)
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                           "%s: kernel %d must be >= 1, stride %d and padding %d >= 0", name,
                           kernel, stride, padding);
        /* PyTorch's own rule: a window must never lie wholly in the padding. */
        if (padding > kernel / 2)
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                           "%s: padding %d must be at most half the kernel %d", name, padding,
                           kernel);
    }
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%s: out of memory", name);
    p->base.ops = &pool_ops[kind];
    p->kind = kind;
    p->k = kernel;
    p->stride = stride ? stride : kernel;
    p->pad = padding;
    *out = &p->base;
    return GD_OK;
}
