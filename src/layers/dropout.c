/* Inverted dropout, as torch.nn.Dropout: in training each unit is kept with probability
 * 1 - p and scaled by 1/(1 - p), so the expected output is the input and evaluation is the
 * identity.
 *   Training: mask_i = (u_i >= p) / (1 - p), u_i = r_i 2^-32 uniform in [0, 1) with r_i a
 *   32-bit half of the run generator's 64-bit draws: draw m gives r_2m (its high half) and
 *   r_2m+1 (its low half; unused for the last unit of an odd count), in element order over
 *   the batch (serially: one generator state gives one mask at any thread count). u_i >= p
 *   is tested as r_i >= ceil(p 2^32), exactly; the keep probability is 1 - p within 2^-32.
 *   y = x mask, and backward dx = dy mask from the stored mask.
 *   Evaluation: y = x, dx = dy.
 * Backward replays the forward's run, so run->training says whether a mask was applied. */
#include "layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct dropout {
    gd_layer base;
    double p;
    float *mask; /* max_batch samples */
} dropout;

static gd_status dropout_infer(gd_layer *l, gd_shape *out, char *msg)
{
    (void)msg;
    *out = l->in_shape;
    return GD_OK;
}

static void dropout_reserve(gd_layer *l, gd_arena *a, int64_t max_batch)
{
    size_t floats = gd_arena_count(a, max_batch, gd_shape_numel(&l->in_shape));
    GD_IMPL(dropout, l)->mask = gd_arena_take(a, floats);
}

/* The masks of a whole batch come from one stream of draws, two elements a draw (high
 * half first): element g of the batch reads half g % 2 of draw g / 2. A rank holding
 * samples first .. first + n - 1 of a global batch skips the draws before its elements
 * and after them, so that its masks are its part of the one-process batch's masks and
 * the generator ends where the one-process one does. */
static void draw_masks(dropout *d, const gd_pass *run, int64_t features)
{
    float scale = (float)(1.0 / (1.0 - d->p));
    uint64_t threshold = (uint64_t)ceil(d->p * 0x1p32);
    int64_t g0 = run->first * features, g1 = g0 + run->n * features;
    int64_t draws = (run->total * features + 1) / 2;
    for (int64_t k = 0; k < g0 / 2; k++)
        gd_rng_next_u64(run->rng);
    uint64_t r = 0;
    for (int64_t g = g0; g < g1; g++) {
        if (g == g0 || g % 2 == 0)
            r = gd_rng_next_u64(run->rng);
        uint64_t half = g % 2 == 0 ? r >> 32 : r & 0xffffffffu;
        d->mask[g - g0] = half >= threshold ? scale : 0.0f;
    }
    for (int64_t k = g1 > g0 ? (g1 + 1) / 2 : g0 / 2; k < draws; k++)
        gd_rng_next_u64(run->rng);
}

static gd_status dropout_forward(gd_layer *l, const gd_pass *run)
{
    dropout *d = GD_IMPL(dropout, l);
    int64_t features = gd_shape_numel(&l->in_shape), n = run->n * features;
    if (!run->training) {
        memcpy(l->out, l->in, (size_t)n * sizeof(float));
        return GD_OK;
    }
    draw_masks(d, run, features);
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++)
        l->out[i] = l->in[i] * d->mask[i];
    return GD_OK;
}

static void dropout_backward(gd_layer *l, const gd_pass *run)
{
    dropout *d = GD_IMPL(dropout, l);
    int64_t n = run->n * gd_shape_numel(&l->in_shape);
    if (!l->in_grad)
        return;
    if (!run->training) {
        memcpy(l->in_grad, l->out_grad, (size_t)n * sizeof(float));
        return;
    }
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++)
        l->in_grad[i] = l->out_grad[i] * d->mask[i];
}

static const gd_layer_ops dropout_ops = {
    .kind = "dropout",
    .infer = dropout_infer,
    .reserve = dropout_reserve,
    .forward = dropout_forward,
    .backward = dropout_backward,
};

gd_status gd_dropout_create(gd_layer **out, double p, char *msg)
{
    /* p = 1 would scale the kept units (none) by 1/0. */
    if (!(p >= 0 && p < 1))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "dropout: p must be in [0, 1), got %g", p);
    dropout *d = calloc(1, sizeof *d);
    if (!d)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "dropout: out of memory");
    d->base.ops = &dropout_ops;
    d->p = p;
    *out = &d->base;
    return GD_OK;
}
