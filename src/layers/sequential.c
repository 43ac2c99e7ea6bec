/* Sequential: children in a chain, each reading its predecessor's output. The container
 * owns no activation memory: its output is its last child's. */
#include "layer.h"

#include <stdlib.h>

gd_status gd_sequential_plan_chain(gd_layer *l, gd_arena *a, int64_t max_batch, char *msg)
{
    const gd_shape *shape = &l->in_shape;
    float *in = l->in, *in_grad = l->in_grad;
    for (int i = 0; i < l->nchildren; i++) {
        gd_layer *c = l->children[i];
        gd_status st = gd_layer_plan(c, shape, in, in_grad, a, max_batch, msg);
        if (st != GD_OK)
            return st;
        shape = &c->out_shape;
        in = c->out;
        in_grad = c->out_grad;
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
