/* Residual: y = block(x) + x, the block being the children in a chain (named "i.0",
 * "i.1", ... as a PyTorch nn.Sequential subclass whose forward adds its input).
 * Backward: dL/dx = dL/dx through the block + dL/dy through the identity path. */
#include "layer.h"

#include <stdlib.h>
#include <string.h>

static gd_status residual_plan(gd_layer *l, gd_arena *a, int64_t max_batch, char *msg)
{
    char in_s[64], out_s[64];
    if (l->nchildren == 0)
        return gd_fail(msg, GD_ERR_STATE, "residual %s: the block is empty", l->name);
    gd_shape in_shape = l->in_shape;
    gd_status st = gd_sequential_plan_chain(l, a, max_batch, msg);
    if (st != GD_OK)
        return st;
    if (!gd_shape_equal(&l->out_shape, &in_shape))
        return gd_fail(msg, GD_ERR_SHAPE,
                       "residual %s: the block maps %s to %s; a residual block must keep its shape",
                       l->name, gd_shape_str(&in_shape, in_s, sizeof in_s),
                       gd_shape_str(&l->out_shape, out_s, sizeof out_s));
    /* The chain's output belongs to the last child; the sum needs buffers of its own. */
    size_t floats = (size_t)(max_batch * gd_shape_numel(&in_shape));
    l->out = gd_arena_take(a, floats);
    l->out_grad = gd_arena_take(a, floats);
    return GD_OK;
}

static gd_status residual_forward(gd_layer *l, const gd_run *run)
{
    for (int i = 0; i < l->nchildren; i++) {
        gd_status st = gd_layer_forward(l->children[i], run);
        if (st != GD_OK)
            return st;
    }
    const float *block = l->children[l->nchildren - 1]->out;
    int64_t n = run->n * gd_shape_numel(&l->in_shape);
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++)
        l->out[i] = block[i] + l->in[i];
    return GD_OK;
}

static void residual_backward(gd_layer *l, const gd_run *run)
{
    int64_t n = run->n * gd_shape_numel(&l->in_shape);
    gd_layer *last = l->children[l->nchildren - 1];
    memcpy(last->out_grad, l->out_grad, (size_t)n * sizeof(float));
    for (int i = l->nchildren - 1; i >= 0; i--)
        gd_layer_backward(l->children[i], run);
    if (!l->in_grad)
        return;
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++)
        l->in_grad[i] += l->out_grad[i];
}

static const gd_layer_ops residual_ops = {
    .kind = "residual",
    .plan = residual_plan,
    .forward = residual_forward,
    .backward = residual_backward,
};

gd_status gd_residual_create(gd_layer **out, char *msg)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "residual: out of memory");
    (*out)->ops = &residual_ops;
    return GD_OK;
}
