/* Flatten, as torch.nn.Flatten: each sample's C x H x W (or any shape) becomes C*H*W
 * features in the same row-major order, so forward and backward are copies. (The layer
 * contract gives every layer its own output buffer; a copy of the activations costs far
 * less than the layers around it.) */
#include "layer.h"

#include <stdlib.h>
#include <string.h>

static gd_status flatten_infer(gd_layer *l, gd_shape *out, char *msg)
{
    (void)msg;
    *out = (gd_shape){.ndim = 1, .dims = {gd_shape_numel(&l->in_shape)}};
    return GD_OK;
}

static gd_status flatten_forward(gd_layer *l, const gd_pass *run)
{
    memcpy(l->out, l->in, (size_t)(run->n * gd_shape_numel(&l->in_shape)) * sizeof(float));
    return GD_OK;
}

static void flatten_backward(gd_layer *l, const gd_pass *run)
{
    if (l->in_grad)
        memcpy(l->in_grad, l->out_grad,
               (size_t)(run->n * gd_shape_numel(&l->in_shape)) * sizeof(float));
}

static const gd_layer_ops flatten_ops = {
    .kind = "flatten",
    .infer = flatten_infer,
    .forward = flatten_forward,
    .backward = flatten_backward,
};

gd_status gd_flatten_create(gd_layer **out, char *msg)
{
    gd_layer *l = calloc(1, sizeof *l);
    if (!l)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "flatten: out of memory");
    l->ops = &flatten_ops;
    *out = l;
    return GD_OK;
}
