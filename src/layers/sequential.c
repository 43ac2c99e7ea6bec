/* Sequential: children in a chain, each reading its predecessor's output. The container
 * owns no activation memory: its output is its last child's. */
#include "layer.h"

#include <stdlib.h>

/* Buffers by lifetime. In training, backward needs a layer's output gradient only until
 * the layer has written its input's, so while child i runs backward the chain's only
 * live gradients are child i's output gradient and its input's (child i - 1's output
 * gradient): the leaves take their output gradients in turn from two buffers the size of
 * the largest leaf output, each leaf the one its input gradient is not. In an inference
 * plan (a->forward_only) the same holds of the outputs in forward, and there are no
 * gradients. A container child plans its own (a residual keeps its input and output
 * through its block); the shapes were inferred before planning. */
gd_status gd_sequential_plan_chain(gd_layer *l, gd_arena *a, int64_t max_batch, char *msg)
{
    int64_t most = 0;
    for (int i = 0; i < l->nchildren; i++)
        if (!l->children[i]->ops->plan && gd_shape_numel(&l->children[i]->out_shape) > most)
            most = gd_shape_numel(&l->children[i]->out_shape);
    size_t floats = gd_arena_count(a, max_batch, most);
    float *turn[2] = {gd_arena_take(a, floats), gd_arena_take(a, floats)}, *none = NULL;
    const gd_shape *shape = &l->in_shape;
    float *in = l->in, *in_grad = a->forward_only ? NULL : l->in_grad;
    for (int i = 0; i < l->nchildren; i++) {
        gd_layer *c = l->children[i];
        float *const *out = NULL, *const *out_grad = &none;
        if (a->forward_only)
            out = in == turn[0] ? &turn[1] : &turn[0];
        else
            out_grad = in_grad == turn[0] ? &turn[1] : &turn[0];
        gd_status st = gd_layer_plan_into(c, shape, in, in_grad, out, out_grad, a, max_batch, msg);
        if (st != GD_OK)
            return st;
        shape = &c->out_shape;
        in = c->out;
        in_grad = a->forward_only ? NULL : c->out_grad;
    }
    l->out_shape = *shape;
    l->out = in;
    l->out_grad = in_grad;
    return GD_OK;
}

static gd_status sequential_forward(gd_layer *l, const gd_pass *run)
{
    for (int i = 0; i < l->nchildren; i++) {
        gd_status st = gd_layer_forward(l->children[i], run);
        if (st != GD_OK)
            return st;
    }
    return GD_OK;
}

static void sequential_backward(gd_layer *l, const gd_pass *run)
{
    for (int i = l->nchildren - 1; i >= 0; i--)
        gd_layer_backward(l->children[i], run);
}

static const gd_layer_ops sequential_ops = {
    .kind = "sequential",
    .plan = gd_sequential_plan_chain,
    .forward = sequential_forward,
    .backward = sequential_backward,
};

gd_status gd_sequential_create(gd_layer **out, char *msg)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "sequential: out of memory");
    (*out)->ops = &sequential_ops;
    return GD_OK;
}
