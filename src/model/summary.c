/* A built model in figures, as Keras's model.summary() lists it: each layer's output shape
 * and parameters, then the totals and the memory it planned. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

/* A layer's parameters and its children's (a residual block's row counts its layers',
 * its projection included). */
static int64_t layer_parameters(const gd_layer *l)
{
    int64_t n = 0;
    for (int i = 0; i < l->ntensors; i++)
        if (l->tensors[i].role == GD_ROLE_PARAMETER)
            n += gd_tensor_numel(&l->tensors[i].value);
    for (int i = 0; i < l->nchildren; i++)
        n += layer_parameters(l->children[i]);
    return n;
}

gd_status gd_model_layer_summary(const gd_model *m, size_t index, gd_layer_summary *out)
{
    if (!m || !out)
        return GD_ERR_INVALID_ARGUMENT;
    char *msg = ((gd_model *)m)->msg; /* one thread per handle: see introspect.c */
    if (!m->built)
        return gd_fail(msg, GD_ERR_STATE, "gd_model_layer_summary: the model is not built");
    if (index >= m->nlayers)
        return gd_fail(msg, GD_ERR_NOT_FOUND, "no layer at index %zu: the model has %zu", index,
                       m->nlayers);
    const gd_layer *l = m->layers[index];
    *out = (gd_layer_summary){.name = l->name, .kind = l->ops->kind, .ndim = l->out_shape.ndim,
                              .parameters = layer_parameters(l)};
    for (int i = 0; i < l->out_shape.ndim; i++)
        out->dims[i] = l->out_shape.dims[i];
    return GD_OK;
}

/* An activation buffer: where it starts and the floats a layer uses of it. In-place
 * layers share one (an activation's output is its input), so buffers are told apart by
 * their address and each counts once, at the most any layer uses. */
typedef struct span {
    const float *data;
    int64_t floats;
} span;

static int by_address(const void *a, const void *b)
{
    const float *x = ((const span *)a)->data, *y = ((const span *)b)->data;
    return x < y ? -1 : x > y;
}

static size_t add_span(span *s, size_t n, const float *data, const gd_shape *shape,
                       int64_t batch)
{
    if (data)
        s[n++] = (span){data, gd_shape_numel(shape) * batch};
    return n;
}

/* The distinct buffers of every layer's input, output and their gradients for batches of
 * max_batch, in floats; -1 when memory for the list runs out. */
static int64_t activation_floats(const gd_model *m)
{
    span *s = malloc((4 * m->nlayers + 1) * sizeof *s);
    if (!s)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < m->nlayers; i++) {
        const gd_layer *l = m->layers[i];
        n = add_span(s, n, l->in, &l->in_shape, m->max_batch);
        n = add_span(s, n, l->in_grad, &l->in_shape, m->max_batch);
        n = add_span(s, n, l->out, &l->out_shape, m->max_batch);
        n = add_span(s, n, l->out_grad, &l->out_shape, m->max_batch);
    }
    qsort(s, n, sizeof *s, by_address);
    int64_t total = 0;
    for (size_t i = 0; i < n;) {
        int64_t most = s[i].floats;
        size_t j = i + 1;
        for (; j < n && s[j].data == s[i].data; j++)
            most = s[j].floats > most ? s[j].floats : most;
        total += most;
        i = j;
    }
    free(s);
    return total;
}

gd_status gd_model_summary(const gd_model *m, gd_summary *out)
{
    if (!m || !out)
        return GD_ERR_INVALID_ARGUMENT;
    char *msg = ((gd_model *)m)->msg;
    if (!m->built)
        return gd_fail(msg, GD_ERR_STATE, "gd_model_summary: the model is not built");
    *out = (gd_summary){.parameters = (int64_t)m->param_count, .batch = m->max_batch};
    out->parameter_bytes = m->param_count * sizeof(float);
    for (size_t i = 0; i < m->ntensors; i++) {
        const gd_named_tensor *t = m->tensors[i];
        if (t->role != GD_ROLE_BUFFER)
            continue;
        int64_t values = gd_tensor_numel(&t->value);
        out->buffer_values += values;
        out->buffer_bytes += (size_t)values * (t->dtype == GD_DTYPE_F32 ? sizeof(float)
                                                                         : sizeof(int64_t));
    }
    int64_t floats = activation_floats(m);
    if (floats < 0)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "gd_model_summary: out of memory listing %zu "
                       "layers' buffers", m->nlayers);
    out->activation_bytes = (size_t)floats * sizeof(float);
    return GD_OK;
}
