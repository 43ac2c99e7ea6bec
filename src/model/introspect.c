/* Reading a model from outside: named tensors, flat buffers, layers by name. */
#include "model.h"

#include <stdio.h>
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

/* The model's detail message is written through a const handle: a handle serves one
 * thread at a time (gradus.h), and a failed lookup must not leave a stale message. */
static char *detail(const gd_model *m) { return ((gd_model *)m)->msg; }

gd_status gd_model_layer_at(const gd_model *m, size_t index, gd_layer_info *out)
{
    if (!m || !out)
        return GD_ERR_INVALID_ARGUMENT;
    if (index >= m->nlayers)
        return gd_fail(detail(m), GD_ERR_NOT_FOUND, "no layer at index %zu: the model has %zu%s",
                       index, m->nlayers, m->built ? "" : " (it is not built yet)");
    describe(m->layers[index], out);
    return GD_OK;
}

/* Up to LISTED layer names with their kinds, "0 (linear), 1 (relu), ... and 5 more", so
 * that a caller who guessed a name sees the ones there are. */
#define LISTED 6
static void list_layers(const gd_model *m, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->nlayers && i < LISTED && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s (%s)", i ? ", " : "", m->layers[i]->name,
                               m->layers[i]->ops->kind);
    if (m->nlayers > LISTED && at < len)
        snprintf(buf + at, len - at, " and %zu more", m->nlayers - LISTED);
}

/* Names are indices, as nn.Sequential's: a caller who passed a kind ("relu") is told
 * which layer has it. */
static const gd_layer *first_of_kind(const gd_model *m, const char *kind)
{
    for (size_t i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i]->ops->kind, kind) == 0)
            return m->layers[i];
    return NULL;
}

static gd_status not_found(const gd_model *m, const char *name)
{
    if (!m->built || m->nlayers == 0)
        return gd_fail(detail(m), GD_ERR_NOT_FOUND, "no layer \"%.40s\": the model is not built "
                       "yet, so it has no named layers", name);
    char names[128];
    list_layers(m, names, sizeof names);
    const gd_layer *same_kind = first_of_kind(m, name);
    if (same_kind)
        return gd_fail(detail(m), GD_ERR_NOT_FOUND, "no layer named \"%.40s\" (layers are named "
                       "by index, as nn.Sequential's: layer %s is a %s); layers: %s", name,
                       same_kind->name, same_kind->ops->kind, names);
    return gd_fail(detail(m), GD_ERR_NOT_FOUND, "no layer named \"%.40s\"; layers: %s", name,
                   names);
}

gd_status gd_model_layer(const gd_model *m, const char *name, gd_layer_info *out)
{
    if (!m || !out)
        return GD_ERR_INVALID_ARGUMENT;
    if (!name)
        return gd_fail(detail(m), GD_ERR_INVALID_ARGUMENT, "gd_model_layer: the name is NULL");
    for (size_t i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i]->name, name) == 0) {
            describe(m->layers[i], out);
            return GD_OK;
        }
    return not_found(m, name);
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
