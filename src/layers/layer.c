/* What every layer shares: declaring tensors, planning memory, freeing. */
#include "layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gd_named_tensor *gd_layer_declare(gd_layer *l, const char *suffix, gd_tensor_role role,
                                  gd_dtype dtype, int ndim, const int64_t *dims)
{
    /* Each layer family declares a fixed handful of tensors: more is a programming error. */
    if (l->ntensors >= GD_LAYER_TENSORS_MAX)
        return NULL;
    int k = l->ntensors++;
    gd_named_tensor *t = &l->tensors[k];
    l->tensor_suffix[k] = suffix;
    snprintf(l->tensor_names[k], GD_NAME_MAX, "%s", suffix);
    t->name = l->tensor_names[k];
    t->role = role;
    t->dtype = dtype;
    t->value = gd_tensor_view(NULL, ndim, dims);
    t->grad = gd_tensor_view(NULL, ndim, dims);
    return t;
}

gd_status gd_layer_plan_into(gd_layer *l, const gd_shape *in_shape, float *in, float *in_grad,
                             float *const *out, float *const *out_grad, gd_arena *a,
                             int64_t max_batch, char *msg)
{
    l->in_shape = *in_shape;
    l->in = in;
    l->in_grad = in_grad;
    if (l->ops->plan)
        return l->ops->plan(l, a, max_batch, msg);
    gd_status st = l->ops->infer(l, &l->out_shape, msg);
    if (st != GD_OK)
        return st;
    size_t floats = gd_arena_count(a, max_batch, gd_shape_numel(&l->out_shape));
    l->out = out ? *out : gd_arena_take(a, floats);
    l->out_grad = out_grad ? *out_grad : gd_arena_take(a, floats);
    if (l->ops->reserve)
        l->ops->reserve(l, a, max_batch);
    return gd_layer_plan_fits(l, a, max_batch, msg);
}

gd_status gd_layer_plan(gd_layer *l, const gd_shape *in_shape, float *in, float *in_grad,
                        gd_arena *a, int64_t max_batch, char *msg)
{
    return gd_layer_plan_into(l, in_shape, in, in_grad, NULL, NULL, a, max_batch, msg);
}

gd_status gd_layer_plan_fits(const gd_layer *l, const gd_arena *a, int64_t max_batch, char *msg)
{
    if (!a->overflow)
        return GD_OK;
    char s[64];
    return gd_fail(msg, GD_ERR_LIMIT,
                   "%s %s: its buffers for batches of %lld samples of %s would need more than "
                   "2^64 bytes",
                   l->ops->kind, l->name, (long long)max_batch, gd_shape_str(&l->out_shape, s, sizeof s));
}

gd_status gd_layer_add_child(gd_layer *c, gd_layer *child)
{
    if (c->nchildren == c->children_cap) {
        int cap = c->children_cap ? 2 * c->children_cap : 8;
        gd_layer **grown = realloc(c->children, (size_t)cap * sizeof *grown);
        if (!grown)
            return GD_ERR_NO_MEMORY;
        c->children = grown;
        c->children_cap = cap;
    }
    c->children[c->nchildren++] = child;
    return GD_OK;
}

void gd_layer_free(gd_layer *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->nchildren; i++)
        gd_layer_free(l->children[i]);
    free(l->children);
    if (l->ops->free)
        l->ops->free(l);
    else
        free(l);
}

gd_status gd_layer_forward(gd_layer *l, const gd_pass *run)
{
    l->batch = run->n;
    return l->ops->forward(l, run);
}

void gd_layer_backward(gd_layer *l, const gd_pass *run) { l->ops->backward(l, run); }
