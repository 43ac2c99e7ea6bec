/* Residual: y = block(x) + proj(x), the block being the children in a chain (named "i.0",
 * "i.1", ... as a PyTorch nn.Sequential subclass whose forward adds proj(x) to the chain's
 * output). proj is the identity while the block keeps the shape; otherwise ResNet's "option B"
 * shortcut (He et al. 2016), a map with no bias that takes x to the block's shape:
 *   C x H x W -> C' x H' x W': Conv2d(C, C', 1, stride s), s = ceil(H / H') for both
 *                              planes, which must give floor((H - 1) / s) + 1 = H' exactly
 *                              (what a 3x3 stride-s pad-1 convolution in the block gives);
 *   F -> F':                   Linear(F, F').
 * Backward: dL/dx = dL/dx through the block + proj's backward of dL/dy (dL/dy itself for
 * the identity); proj's weight gets dL/dW = its usual gradient from dL/dy.
 *
 * The projection is made by infer, which the model's shape pass calls once the block is
 * complete and its layers have their shapes, before parameters are allocated. It is then
 * kept as the last child, named "<residual>.proj" (PyTorch's attribute name), so that
 * naming, listing, initialising and freeing treat it as any child and its tensors follow
 * the block's in state_dict order; it is not part of the block's chain, and the model
 * tells it from the chain by pointer (gd_residual_projection), not by its name. */
#include "layer.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct residual {
    gd_layer base;
    gd_layer *proj;             /* NULL: identity */
    gd_shape proj_in, proj_out; /* the shapes proj was made for */
    float *proj_in_grad;        /* proj's dL/dx, added to the block's; NULL if not wanted */
} residual;

/* The block's layers are the children before the projection. */
static int block_size(const gd_layer *l)
{
    return l->nchildren - (GD_IMPL(residual, l)->proj != NULL);
}

static void drop_projection(gd_layer *l)
{
    residual *r = GD_IMPL(residual, l);
    gd_layer_free(r->proj);
    r->proj = NULL;
    l->nchildren--;
}

/* The stride of a 1x1 convolution mapping the planes of in to those of out, or 0 if none
 * does: the output size floor((size - 1) / s) + 1 rounds up, so s = ceil(in / out). */
static int projection_stride(const gd_shape *in, const gd_shape *out)
{
    int64_t s = (in->dims[1] + out->dims[1] - 1) / out->dims[1];
    if ((in->dims[2] + out->dims[2] - 1) / out->dims[2] != s)
        return 0;
    for (int d = 1; d <= 2; d++)
        if ((in->dims[d] - 1) / s + 1 != out->dims[d])
            return 0;
    return (int)s;
}

static gd_status create_projection(gd_layer *l, const gd_shape *in, const gd_shape *out,
                                   gd_layer **proj, char *msg)
{
    if (in->ndim == 1 && out->ndim == 1)
        return gd_linear_create(proj, in->dims[0], out->dims[0], false, msg);
    char in_s[64], out_s[64];
    gd_shape_str(in, in_s, sizeof in_s);
    gd_shape_str(out, out_s, sizeof out_s);
    if (in->ndim != 3 || out->ndim != 3)
        return gd_fail(msg, GD_ERR_SHAPE,
                       "residual %s: the block maps %s to %s; a projection on the identity path "
                       "needs flat or channels x height x width samples on both sides",
                       l->name, in_s, out_s);
    int stride = projection_stride(in, out);
    if (stride == 0)
        return gd_fail(msg, GD_ERR_SHAPE,
                       "residual %s: the block maps %s to %s; no stride of a 1x1 convolution "
                       "maps the input's planes to the output's",
                       l->name, in_s, out_s);
    return gd_conv2d_create(proj, in->dims[0], out->dims[0], 1, 1, stride, 0, 1, 1, false, msg);
}

/* Gives the block the projection its shapes need (none when it keeps the shape),
 * replacing one made for other shapes (a failed build retried with another input). */
static gd_status fit_projection(gd_layer *l, const gd_shape *block_out, char *msg)
{
    residual *r = GD_IMPL(residual, l);
    if (r->proj && gd_shape_equal(&r->proj_in, &l->in_shape) &&
        gd_shape_equal(&r->proj_out, block_out))
        return GD_OK;
    if (r->proj)
        drop_projection(l);
    if (gd_shape_equal(&l->in_shape, block_out))
        return GD_OK;
    gd_layer *proj = NULL;
    gd_status st = create_projection(l, &l->in_shape, block_out, &proj, msg);
    if (st != GD_OK)
        return st;
    if (gd_layer_add_child(l, proj) != GD_OK) {
        gd_layer_free(proj);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "residual %s: out of memory for the projection",
                       l->name);
    }
    /* Bounded nesting keeps names short; the check only silences -Wformat-truncation. */
    if (snprintf(proj->name, GD_NAME_MAX, "%s.proj", l->name) >= GD_NAME_MAX)
        proj->name[GD_NAME_MAX - 1] = '\0';
    r->proj = proj;
    r->proj_in = l->in_shape;
    r->proj_out = *block_out;
    return GD_OK;
}

/* For l->in_shape, with the block's layers already given their shapes by the model. */
static gd_status residual_infer(gd_layer *l, gd_shape *out, char *msg)
{
    int n = block_size(l);
    if (n == 0)
        return gd_fail(msg, GD_ERR_STATE, "residual %s: the block is empty", l->name);
    *out = l->children[n - 1]->out_shape;
    return fit_projection(l, out, msg);
}

static gd_status residual_plan(gd_layer *l, gd_arena *a, int64_t max_batch, char *msg)
{
    residual *r = GD_IMPL(residual, l);
    int total = l->nchildren;
    /* The model's shape pass (infer) ran first: the block is not empty and proj fits it. */
    assert(block_size(l) > 0);
    /* The chain is the block alone: the projection reads l's input, beside it. */
    l->nchildren = block_size(l);
    gd_status st = gd_sequential_plan_chain(l, a, max_batch, msg);
    l->nchildren = total;
    if (st != GD_OK)
        return st;
    if (r->proj) {
        /* Taken even when no input gradient is wanted: gd_model_set_input_grad re-plans
         * into the same block, so the sizes must not depend on it. */
        float *dx = gd_arena_take(a, gd_arena_count(a, max_batch, gd_shape_numel(&l->in_shape)));
        r->proj_in_grad = l->in_grad ? dx : NULL;
        st = gd_layer_plan(r->proj, &l->in_shape, l->in, r->proj_in_grad, a, max_batch, msg);
        if (st != GD_OK)
            return st;
    }
    assert(gd_shape_equal(r->proj ? &r->proj->out_shape : &l->in_shape, &l->out_shape));
    /* The chain's output belongs to the last child; the sum needs buffers of its own. */
    size_t floats = gd_arena_count(a, max_batch, gd_shape_numel(&l->out_shape));
    l->out = gd_arena_take(a, floats);
    l->out_grad = gd_arena_take(a, floats);
    return gd_layer_plan_fits(l, a, max_batch, msg);
}

static gd_status residual_forward(gd_layer *l, const gd_pass *run)
{
    residual *r = GD_IMPL(residual, l);
    int n_block = block_size(l);
    for (int i = 0; i < n_block; i++) {
        gd_status st = gd_layer_forward(l->children[i], run);
        if (st != GD_OK)
            return st;
    }
    if (r->proj) {
        gd_status st = gd_layer_forward(r->proj, run);
        if (st != GD_OK)
            return st;
    }
    const float *block = l->children[n_block - 1]->out;
    const float *shortcut = r->proj ? r->proj->out : l->in;
    int64_t n = run->n * gd_shape_numel(&l->out_shape);
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++)
        l->out[i] = block[i] + shortcut[i];
    return GD_OK;
}

static void residual_backward(gd_layer *l, const gd_pass *run)
{
    residual *r = GD_IMPL(residual, l);
    int n_block = block_size(l);
    size_t out_bytes = (size_t)(run->n * gd_shape_numel(&l->out_shape)) * sizeof(float);
    memcpy(l->children[n_block - 1]->out_grad, l->out_grad, out_bytes);
    for (int i = n_block - 1; i >= 0; i--)
        gd_layer_backward(l->children[i], run);
    if (r->proj) {
        memcpy(r->proj->out_grad, l->out_grad, out_bytes);
        gd_layer_backward(r->proj, run);
    }
    if (!l->in_grad)
        return;
    const float *shortcut = r->proj ? r->proj_in_grad : l->out_grad;
    int64_t n = run->n * gd_shape_numel(&l->in_shape);
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++)
        l->in_grad[i] += shortcut[i];
}

static const gd_layer_ops residual_ops = {
    .kind = "residual",
    .infer = residual_infer,
    .plan = residual_plan,
    .forward = residual_forward,
    .backward = residual_backward,
};

gd_status gd_residual_create(gd_layer **out, char *msg)
{
    residual *r = calloc(1, sizeof *r);
    if (!r)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "residual: out of memory");
    r->base.ops = &residual_ops;
    *out = &r->base;
    return GD_OK;
}

gd_layer *gd_residual_projection(const gd_layer *l)
{
    return l && l->ops == &residual_ops ? GD_IMPL(residual, l)->proj : NULL;
}
