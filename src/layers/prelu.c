/* PReLU: y = x for x > 0, a_c x otherwise, with learned slopes a (one shared, or one per
 * channel: dimension 1 of the input, as PyTorch). Backward: dx = dy (x > 0 ? 1 : a_c),
 * da_c = sum of dy x over the channel's non-positive inputs. */
#include "layer.h"

#include <stdlib.h>

typedef struct prelu {
    gd_layer base;
    int64_t count;
    double init;
    gd_named_tensor *weight;
} prelu;

/* Samples as (channels, spatial): the slope index of an element is its channel when the
 * slopes are per channel, else 0. */
static int64_t channels(const gd_layer *l) { return l->in_shape.dims[0]; }
static int64_t spatial(const gd_layer *l) { return gd_shape_numel(&l->in_shape) / channels(l); }

static gd_status prelu_infer(gd_layer *l, gd_shape *out, char *msg)
{
    prelu *p = GD_IMPL(prelu, l);
    if (p->count != 1 && (l->in_shape.ndim < 1 || channels(l) != p->count))
        return gd_fail(msg, GD_ERR_SHAPE, "prelu %s: %lld slopes but the input has %lld channels",
                       l->name, (long long)p->count, (long long)(l->in_shape.ndim ? channels(l) : 0));
    *out = l->in_shape;
    return GD_OK;
}

static gd_status prelu_forward(gd_layer *l, const gd_pass *run)
{
    prelu *p = GD_IMPL(prelu, l);
    const float *a = p->weight->value.data;
    int64_t c = channels(l), s = spatial(l), rows = run->n * c;
#pragma omp parallel for num_threads(gd_threads()) if (rows * s > GD_PARALLEL_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        float slope = a[p->count == 1 ? 0 : r % c];
        for (int64_t j = r * s; j < (r + 1) * s; j++)
            l->out[j] = l->in[j] > 0.0f ? l->in[j] : slope * l->in[j];
    }
    return GD_OK;
}

static void prelu_backward(gd_layer *l, const gd_pass *run)
{
    prelu *p = GD_IMPL(prelu, l);
    const float *a = p->weight->value.data, *x = l->in, *dy = l->out_grad;
    float *da = p->weight->grad.data;
    int64_t c = channels(l), s = spatial(l), rows = run->n * c;
    for (int64_t k = 0; k < p->count; k++)
        da[k] = 0.0f;
    /* Serial: the slope sums must not depend on the thread count. */
    for (int64_t r = 0; r < rows; r++) {
        int64_t k = p->count == 1 ? 0 : r % c;
        for (int64_t j = r * s; j < (r + 1) * s; j++)
            if (x[j] <= 0.0f)
                da[k] += dy[j] * x[j];
    }
    if (!l->in_grad)
        return;
#pragma omp parallel for num_threads(gd_threads()) if (rows * s > GD_PARALLEL_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        float slope = a[p->count == 1 ? 0 : r % c];
        for (int64_t j = r * s; j < (r + 1) * s; j++)
            l->in_grad[j] = x[j] > 0.0f ? dy[j] : slope * dy[j];
    }
}

static void prelu_reset(gd_layer *l, gd_rng *rng)
{
    (void)rng;
    prelu *p = GD_IMPL(prelu, l);
    gd_init_constant_(&p->weight->value, p->init);
}

static const gd_layer_ops prelu_ops = {
    .kind = "prelu",
    .infer = prelu_infer,
    .forward = prelu_forward,
    .backward = prelu_backward,
    .reset_parameters = prelu_reset,
};

gd_status gd_prelu_create(gd_layer **out, int64_t num_parameters, double init, char *msg)
{
    if (num_parameters < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "prelu: num_parameters must be >= 1, got %lld",
                       (long long)num_parameters);
    prelu *p = calloc(1, sizeof *p);
    if (!p)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "prelu: out of memory");
    p->base.ops = &prelu_ops;
    p->count = num_parameters;
    p->init = init;
    p->weight = gd_layer_declare(&p->base, "weight", GD_ROLE_PARAMETER, GD_DTYPE_F32, 1,
                                 (int64_t[]){num_parameters});
    *out = &p->base;
    return GD_OK;
}
