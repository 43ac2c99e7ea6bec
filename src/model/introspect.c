/* Reading a model from outside: named tensors, flat buffers, layers by name. */
#include "model.h"

#include <string.h>

size_t gd_model_tensor_count(const gd_model *m) { return m->ntensors; }

const gd_named_tensor *gd_model_tensor_at(const gd_model *m, size_t index)
{
    return index < m->ntensors ? m->tensors[index] : NULL;
}

const gd_named_tensor *gd_model_tensor(const gd_model *m, const char *name)
{
    for (size_t i = 0; name && i < m->ntensors; i++)
        if (strcmp(m->tensors[i]->name, name) == 0)
            return m->tensors[i];
    return NULL;
}

gd_tensor *gd_model_param(gd_model *m, const char *name)
{
    gd_named_tensor *t = (gd_named_tensor *)gd_model_tensor(m, name);
    return t && t->dtype == GD_DTYPE_F32 ? &t->value : NULL;
}

gd_tensor *gd_model_grad(gd_model *m, const char *name)
{
    gd_named_tensor *t = (gd_named_tensor *)gd_model_tensor(m, name);
    return t && t->role == GD_ROLE_PARAMETER ? &t->grad : NULL;
}

gd_tensor gd_model_parameters_flat(gd_model *m)
{
    return gd_tensor_view(m->params, 1, (int64_t[]){(int64_t)m->param_count});
}

gd_tensor gd_model_gradients_flat(gd_model *m)
{
    return gd_tensor_view(m->grads, 1, (int64_t[]){(int64_t)m->param_count});
}

size_t gd_model_layer_count(const gd_model *m) { return m->nlayers; }

static void describe(const gd_layer *l, gd_layer_info *out)
{
    out->name = l->name;
    out->kind = l->ops->kind;
    out->input = gd_batch_view(l->in, l->batch, &l->in_shape);
    out->input_grad = gd_batch_view(l->in_grad, l->batch, &l->in_shape);
    out->output = gd_batch_view(l->out, l->batch, &l->out_shape);
    out->output_grad = gd_batch_view(l->out_grad, l->batch, &l->out_shape);
}

gd_status gd_model_layer_at(const gd_model *m, size_t index, gd_layer_info *out)
{
    if (index >= m->nlayers)
        return GD_ERR_NOT_FOUND;
    describe(m->layers[index], out);
    return GD_OK;
}

gd_status gd_model_layer(const gd_model *m, const char *name, gd_layer_info *out)
{
    for (size_t i = 0; name && i < m->nlayers; i++)
        if (strcmp(m->layers[i]->name, name) == 0) {
            describe(m->layers[i], out);
            return GD_OK;
        }
    return GD_ERR_NOT_FOUND;
}

/* ------------------------------------------------------ buffers, saved and put back */

static size_t buffer_bytes(const gd_named_tensor *t)
{
    if (t->role != GD_ROLE_BUFFER)
        return 0;
    size_t n = (size_t)gd_tensor_numel(&t->value);
    return t->dtype == GD_DTYPE_F32 ? (t->value.data ? n * sizeof(float) : 0)
                                    : (t->i64 ? n * sizeof(int64_t) : 0);
}

size_t gd_model_buffers_bytes(const gd_model *m)
{
    size_t bytes = 0;
    for (size_t i = 0; i < gd_model_tensor_count(m); i++)
        bytes += buffer_bytes(gd_model_tensor_at(m, i));
    return bytes;
}

void gd_model_copy_buffers(gd_model *m, unsigned char *block, bool save)
{
    for (size_t i = 0; i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        size_t bytes = buffer_bytes(t);
        void *data = t->dtype == GD_DTYPE_F32 ? (void *)t->value.data : (void *)t->i64;
        if (bytes) {
            memcpy(save ? block : data, save ? data : block, bytes);
            block += bytes;
        }
    }
}
