/* Maxout(k): output channel j is the max of input channels j k .. j k + k - 1 (channels
 * are dimension 1; for flat samples, the features). After Linear(in, out k) this is the
 * lecture's max(w1 x + b1, ..., wk x + bk). Backward routes dy to the winning piece (the
 * first on ties, as torch.max), whose index forward caches. */
#include "layer.h"

#include <stdlib.h>

typedef struct maxout {
    gd_layer base;
    int64_t k;
    float *winner; /* per output element, the winning piece 0..k-1 (small ints, exact) */
} maxout;

static gd_status maxout_infer(gd_layer *l, gd_shape *out, char *msg)
{
    maxout *mo = GD_IMPL(maxout, l);
    if (l->in_shape.ndim < 1 || l->in_shape.dims[0] % mo->k != 0)
        return gd_fail(msg, GD_ERR_SHAPE, "maxout %s: %lld input channels are not a multiple of k = %lld",
                       l->name, (long long)(l->in_shape.ndim ? l->in_shape.dims[0] : 0), (long long)mo->k);
    *out = l->in_shape;
    out->dims[0] /= mo->k;
    return GD_OK;
}

static void maxout_reserve(gd_layer *l, gd_arena *a, int64_t max_batch)
{
    GD_IMPL(maxout, l)->winner = gd_arena_take(a, gd_arena_count(a, max_batch, gd_shape_numel(&l->out_shape)));
}

/* Output element (r, s) of row r = sample * out_channels + j reads input elements
 * ((r k + piece) s_count + s). */
static gd_status maxout_forward(gd_layer *l, const gd_pass *run)
{
    maxout *mo = GD_IMPL(maxout, l);
    int64_t s_count = gd_shape_numel(&l->out_shape) / l->out_shape.dims[0];
    int64_t rows = run->n * l->out_shape.dims[0];
#pragma omp parallel for num_threads(gd_threads()) if (rows * s_count > GD_PARALLEL_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t s = 0; s < s_count; s++) {
            const float *x = l->in + r * mo->k * s_count + s;
            int64_t best = 0;
            for (int64_t p = 1; p < mo->k; p++)
                if (x[p * s_count] > x[best * s_count])
                    best = p;
            l->out[r * s_count + s] = x[best * s_count];
            mo->winner[r * s_count + s] = (float)best;
        }
    return GD_OK;
}

static void maxout_backward(gd_layer *l, const gd_pass *run)
{
    maxout *mo = GD_IMPL(maxout, l);
    if (!l->in_grad)
        return;
    int64_t s_count = gd_shape_numel(&l->out_shape) / l->out_shape.dims[0];
    int64_t rows = run->n * l->out_shape.dims[0];
#pragma omp parallel for num_threads(gd_threads()) if (rows * s_count > GD_PARALLEL_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t s = 0; s < s_count; s++) {
            float *dx = l->in_grad + r * mo->k * s_count + s;
            int64_t best = (int64_t)mo->winner[r * s_count + s];
            for (int64_t p = 0; p < mo->k; p++)
                dx[p * s_count] = p == best ? l->out_grad[r * s_count + s] : 0.0f;
        }
}

static const gd_layer_ops maxout_ops = {
    .kind = "maxout",
    .infer = maxout_infer,
    .reserve = maxout_reserve,
    .forward = maxout_forward,
    .backward = maxout_backward,
};

gd_status gd_maxout_create(gd_layer **out, int64_t k, char *msg)
{
    if (k < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "maxout: k must be >= 1, got %lld", (long long)k);
    maxout *mo = calloc(1, sizeof *mo);
    if (!mo)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "maxout: out of memory");
    mo->base.ops = &maxout_ops;
    mo->k = k;
    *out = &mo->base;
    return GD_OK;
}
