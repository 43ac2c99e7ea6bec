/* A model's life: create, add layers, build (name, allocate, plan, initialise), run. */
#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void release_build(gd_model *m);

gd_status gd_model_create(gd_model **out, uint64_t seed)
{
    gd_model *m = calloc(1, sizeof *m);
    if (!m)
        return GD_ERR_NO_MEMORY;
    if (gd_rng_create(&m->rng, seed) != GD_OK || gd_sequential_create(&m->root, m->msg) != GD_OK) {
        gd_model_free(m);
        return GD_ERR_NO_MEMORY;
    }
    m->open[0] = m->root;
    m->training = true;
    *out = m;
    return GD_OK;
}

void gd_model_free(gd_model *m)
{
    if (!m)
        return;
    release_build(m);
    free(m->spec);
    gd_layer_free(m->root);
    gd_rng_free(m->rng);
    free(m);
}

const char *gd_model_error(const gd_model *m) { return m ? m->msg : "no model"; }
gd_rng *gd_model_rng(gd_model *m) { return m->rng; }

/* ------------------------------------------------------------------ adding */

/* "prefix.index", or "index" at the root: nn.Sequential's names. Layers are named when
 * added (so messages about shapes can name them before the build) and again at build. */
static void name_layer(gd_layer *l, const char *prefix, int index)
{
    /* Bounded nesting keeps names short; the check only silences -Wformat-truncation. */
    if (snprintf(l->name, GD_NAME_MAX, *prefix ? "%s.%d" : "%s%d", prefix, index) >= GD_NAME_MAX)
        l->name[GD_NAME_MAX - 1] = '\0';
}

/* Appends a freshly created layer to the innermost open container (takes ownership).
 * Callers create first, in a statement of its own: C leaves the order in which function
 * arguments are evaluated open, so append(m, create(&l), l) might read l too early. */
static gd_status append(gd_model *m, gd_status created, gd_layer *l)
{
    if (created != GD_OK)
        return created;
    if (m->built) {
        gd_layer_free(l);
        return gd_fail(m->msg, GD_ERR_STATE, "cannot add a layer: the model is already built");
    }
    if (m->nadded == GD_MAX_LAYERS) {
        gd_layer_free(l);
        return gd_fail(m->msg, GD_ERR_INVALID_ARGUMENT,
                       "a model holds at most %d layers (residual blocks count as one each)",
                       GD_MAX_LAYERS);
    }
    gd_layer *parent = m->open[m->depth];
    gd_status st = gd_layer_add_child(parent, l);
    if (st != GD_OK) {
        gd_layer_free(l);
        return gd_fail(m->msg, st, "out of memory adding a layer");
    }
    name_layer(l, parent == m->root ? "" : parent->name, parent->nchildren - 1);
    m->nadded++;
    return GD_OK;
}

gd_status gd_model_add_linear(gd_model *m, int64_t in, int64_t out, bool bias)
{
    gd_layer *l = NULL;
    gd_status st = gd_linear_create(&l, in, out, bias, m->msg);
    return append(m, st, l);
}

gd_status gd_model_add_activation(gd_model *m, gd_activation kind)
{
    return gd_model_add_activation_with(m, kind, NAN);
}

gd_status gd_model_add_activation_with(gd_model *m, gd_activation kind, double param)
{
    gd_layer *l = NULL;
    gd_status st = gd_activation_create(&l, kind, param, m->msg);
    return append(m, st, l);
}

gd_status gd_model_add_prelu(gd_model *m, int64_t num_parameters, double init)
{
    gd_layer *l = NULL;
    gd_status st = gd_prelu_create(&l, num_parameters, init, m->msg);
    return append(m, st, l);
}

gd_status gd_model_add_maxout(gd_model *m, int64_t k)
{
    gd_layer *l = NULL;
    gd_status st = gd_maxout_create(&l, k, m->msg);
    return append(m, st, l);
}

gd_status gd_model_add_batchnorm1d(gd_model *m, int64_t features, double eps, double momentum)
{
    gd_layer *l = NULL;
    gd_status st = gd_batchnorm_create(&l, 0, features, eps, momentum, m->msg);
    return append(m, st, l);
}

gd_status gd_model_add_dropout(gd_model *m, double p)
{
    gd_layer *l = NULL;
    gd_status st = gd_dropout_create(&l, p, m->msg);
    return append(m, st, l);
}

gd_status gd_model_add_conv2d(gd_model *m, int64_t in_channels, int64_t out_channels, int kernel_h,
                              int kernel_w, int stride, int padding, int dilation, int groups,
                              bool bias)
{
    gd_layer *l = NULL;
    gd_status st = gd_conv2d_create(&l, in_channels, out_channels, kernel_h, kernel_w, stride,
                                    padding, dilation, groups, bias, m->msg);
    return append(m, st, l);
}

static gd_status add_pool(gd_model *m, gd_pool_kind kind, int kernel, int stride, int padding)
{
    gd_layer *l = NULL;
    gd_status st = gd_pool2d_create(&l, kind, kernel, stride, padding, m->msg);
    return append(m, st, l);
}

gd_status gd_model_add_maxpool2d(gd_model *m, int kernel, int stride, int padding)
{
    return add_pool(m, GD_POOL_MAX, kernel, stride, padding);
}

gd_status gd_model_add_avgpool2d(gd_model *m, int kernel, int stride, int padding)
{
    return add_pool(m, GD_POOL_AVG, kernel, stride, padding);
}

gd_status gd_model_add_global_avgpool(gd_model *m) { return add_pool(m, GD_POOL_GLOBAL_AVG, 0, 0, 0); }

gd_status gd_model_add_flatten(gd_model *m)
{
    gd_layer *l = NULL;
    gd_status st = gd_flatten_create(&l, m->msg);
    return append(m, st, l);
}

gd_status gd_model_add_batchnorm2d(gd_model *m, int64_t channels, double eps, double momentum)
{
    gd_layer *l = NULL;
    gd_status st = gd_batchnorm_create(&l, 2, channels, eps, momentum, m->msg);
    return append(m, st, l);
}

gd_status gd_model_begin_residual(gd_model *m)
{
    if (m->depth + 1 >= GD_MAX_NESTING)
        return gd_fail(m->msg, GD_ERR_STATE, "residual blocks nest at most %d deep", GD_MAX_NESTING - 1);
    gd_layer *l = NULL;
    gd_status st = gd_residual_create(&l, m->msg);
    st = append(m, st, l);
    if (st == GD_OK)
        m->open[++m->depth] = l;
    return st;
}

gd_status gd_model_end_residual(gd_model *m)
{
    if (m->depth == 0)
        return gd_fail(m->msg, GD_ERR_STATE, "end_residual without a matching begin_residual");
    m->depth--;
    return GD_OK;
}

gd_status gd_model_set_spec(gd_model *m, const char *spec)
{
    free(m->spec);
    m->spec = strdup(spec);
    return m->spec ? GD_OK : gd_fail(m->msg, GD_ERR_NO_MEMORY, "out of memory copying the spec");
}

const char *gd_model_spec(const gd_model *m) { return m->spec; }

int gd_model_input_shape(const gd_model *m, int64_t dims[GD_MAX_DIMS])
{
    for (int i = 0; i < m->in_shape.ndim; i++)
        dims[i] = m->in_shape.dims[i];
    return m->in_shape.ndim;
}

int64_t gd_model_max_batch(const gd_model *m) { return m->max_batch; }

int gd_model_output_shape(const gd_model *m, int64_t dims[GD_MAX_DIMS])
{
    if (!m->built)
        return 0;
    for (int i = 0; i < m->root->out_shape.ndim; i++)
        dims[i] = m->root->out_shape.dims[i];
    return m->root->out_shape.ndim;
}

/* A residual block's projection (its shortcut's 1x1 convolution or linear map, made by
 * residual.c) is the residual's last child, named "<residual>.proj" as PyTorch names the
 * attribute: naming, listing, initialising and freeing treat it as any child, but it
 * reads the residual's input, so it is no link of the block's chain. */
static bool is_projection(const gd_layer *parent, const gd_layer *child)
{
    return child && gd_residual_projection(parent) == child;
}

static bool is_open(const gd_model *m, const gd_layer *l)
{
    for (int i = 1; i <= m->depth; i++)
        if (m->open[i] == l)
            return true;
    return false;
}

/* Shapes through a layer without planning memory (each layer keeps its in_shape and
 * out_shape). A container chains its children; then, once it is closed, its own infer
 * (a residual's: the block's shape, and the projection that shape needs) has the last
 * word. An open block is still growing, so its shape so far is only its chain's. */
/* Every shape a layer gives is counted once here, so that later products of a shape's
 * values (flatten's, a linear's weight, the plan's batches) start from a count that
 * fits int64. */
static gd_status check_numel(gd_model *m, const gd_layer *l)
{
    int64_t n;
    if (gd_numel_checked(l->out_shape.ndim, l->out_shape.dims, &n))
        return GD_OK;
    char s[64];
    return gd_fail(m->msg, GD_ERR_SHAPE, "%s %s: its output of shape %s has more values than 64 bits count",
                   l->ops->kind, l->name, gd_shape_str(&l->out_shape, s, sizeof s));
}

static gd_status infer_shape(gd_model *m, gd_layer *l, const gd_shape *in, gd_shape *out)
{
    l->in_shape = *in;
    gd_status st = GD_OK;
    if (!l->ops->plan) {
        st = l->ops->infer(l, &l->out_shape, m->msg);
        if (st == GD_OK)
            st = check_numel(m, l);
    } else {
        l->out_shape = *in;
        for (int i = 0; i < l->nchildren && st == GD_OK; i++)
            if (!is_projection(l, l->children[i]))
                st = infer_shape(m, l->children[i], &l->out_shape, &l->out_shape);
        if (st == GD_OK && l->ops->infer && !is_open(m, l))
            st = l->ops->infer(l, &l->out_shape, m->msg);
    }
    *out = l->out_shape;
    return st;
}

/* Only the newest layer: the layers before it keep the shapes their own step gave them,
 * so building n layers costs n inferences, not n^2 / 2. A container just closed re-infers
 * its own children (each block once, so the total stays linear) and fits its projection. */
gd_status gd_model_shape_next(gd_model *m, const gd_shape *in, gd_shape *out)
{
    const gd_layer *parent = m->open[m->depth];
    assert(parent->nchildren > 0 && "called after adding a layer");
    return infer_shape(m, parent->children[parent->nchildren - 1], in, out);
}

/* ---------------------------------------------------------------- building */

/* Names l's children "prefix.i" (or "i" at the root) and lists layers and tensors in
 * depth-first order; with lists NULL it only counts. */
static void name_tree(gd_model *m, gd_layer *l, const char *prefix)
{
    for (int i = 0; i < l->nchildren; i++) {
        gd_layer *c = l->children[i];
        if (!is_projection(l, c)) /* its residual named it "<residual>.proj" */
            name_layer(c, prefix, i);
        if (m->layers)
            m->layers[m->nlayers] = c;
        m->nlayers++;
        for (int k = 0; k < c->ntensors; k++) {
            snprintf(c->tensor_names[k], sizeof c->tensor_names[k], "%s.%s", c->name,
                     c->tensor_suffix[k]);
            if (m->tensors)
                m->tensors[m->ntensors] = &c->tensors[k];
            m->ntensors++;
        }
        name_tree(m, c, c->name);
    }
}

static gd_status list_layers(gd_model *m)
{
    m->nlayers = m->ntensors = 0;
    name_tree(m, m->root, "");
    m->layers = calloc(m->nlayers + 1, sizeof *m->layers);
    m->tensors = calloc(m->ntensors + 1, sizeof *m->tensors);
    if (!m->layers || !m->tensors)
        return gd_fail(m->msg, GD_ERR_NO_MEMORY, "out of memory listing layers");
    m->nlayers = m->ntensors = 0;
    name_tree(m, m->root, "");
    return GD_OK;
}

/* Counts the floats of the parameter and buffer blocks, each tensor's count checked (a
 * linear's out x in, both from shapes), and the layer holding the most parameters, which
 * a memory limit's message names. */
static gd_status count_tensors(gd_model *m, const gd_layer **largest, int64_t *largest_count)
{
    m->param_count = m->buffer_count = 0;
    *largest = NULL;
    *largest_count = 0;
    for (size_t i = 0; i < m->nlayers; i++) {
        const gd_layer *l = m->layers[i];
        int64_t own = 0;
        for (int k = 0; k < l->ntensors; k++) {
            const gd_named_tensor *t = &l->tensors[k];
            int64_t n = 0;
            if (t->dtype != GD_DTYPE_F32)
                continue;
            bool parameter = t->role == GD_ROLE_PARAMETER;
            size_t *total = parameter ? &m->param_count : &m->buffer_count;
            if (!gd_numel_checked(t->value.ndim, t->value.dims, &n) ||
                !gd_size_add(total, *total, (size_t)n))
                return gd_fail(m->msg, GD_ERR_LIMIT, "%s: the model's parameters and buffers "
                               "count more values than 64 bits hold", t->name);
            own += parameter ? n : 0; /* bounded by param_count, which did not wrap */
        }
        if (own > *largest_count) {
            *largest = l;
            *largest_count = own;
        }
    }
    return GD_OK;
}

/* Carves the parameter, gradient and buffer blocks into the named tensors. */
static gd_status allocate_tensors(gd_model *m)
{
    m->params = gd_alloc_aligned(m->param_count * sizeof(float));
    m->grads = gd_alloc_aligned(m->param_count * sizeof(float));
    m->buffers = gd_alloc_aligned(m->buffer_count * sizeof(float));
    if ((m->param_count && (!m->params || !m->grads)) || (m->buffer_count && !m->buffers))
        return gd_fail(m->msg, GD_ERR_NO_MEMORY, "out of memory for %zu parameters", m->param_count);
    size_t p = 0, b = 0;
    for (size_t i = 0; i < m->ntensors; i++) {
        gd_named_tensor *t = m->tensors[i];
        if (t->dtype != GD_DTYPE_F32)
            continue;
        size_t n = (size_t)gd_tensor_numel(&t->value);
        if (t->role == GD_ROLE_PARAMETER) {
            t->value.data = m->params + p;
            t->grad.data = m->grads + p;
            p += n;
        } else {
            t->value.data = m->buffers + b;
            b += n;
        }
    }
    return GD_OK;
}

gd_status gd_model_plan(gd_model *m, size_t *floats)
{
    gd_arena a = {.base = m->activations, .forward_only = m->forward_only};
    size_t in_floats = gd_arena_count(&a, m->max_batch, gd_shape_numel(&m->in_shape));
    m->input = gd_arena_take(&a, in_floats);
    m->input_grad = gd_arena_take(&a, in_floats);
    if (a.overflow) {
        char s[64];
        return gd_fail(m->msg, GD_ERR_LIMIT,
                       "the model's input, batches of %lld samples of %s, would need more than "
                       "2^64 bytes",
                       (long long)m->max_batch, gd_shape_str(&m->in_shape, s, sizeof s));
    }
    gd_status st = gd_layer_plan(m->root, &m->in_shape, m->input,
                                 m->input_grad_wanted ? m->input_grad : NULL, &a, m->max_batch,
                                 m->msg);
    *floats = a.used;
    return st;
}

/* Everything the build will allocate, in bytes, against the memory limit: parameters and
 * their gradients, buffers and the planned activations. */
static gd_status check_build_memory(gd_model *m, size_t activation_floats, const gd_layer *largest,
                                    int64_t largest_count)
{
    size_t floats = 0, bytes = 0;
    bool fits = gd_size_mul(&floats, m->param_count, 2) && gd_size_add(&floats, floats, m->buffer_count) &&
                gd_size_add(&floats, floats, activation_floats) && gd_size_mul(&bytes, floats, sizeof(float));
    char what[160];
    int at = snprintf(what, sizeof what, "the model (%zu parameters", m->param_count);
    if (largest)
        at += snprintf(what + at, sizeof what - (size_t)at, ", %lld in layer %s (%s)",
                       (long long)largest_count, largest->name, largest->ops->kind);
    snprintf(what + at, sizeof what - (size_t)at, "; %zu activation values for batches of %lld)",
             activation_floats, (long long)m->max_batch);
    if (!fits)
        return gd_fail(m->msg, GD_ERR_LIMIT, "%s would need more than 2^64 bytes", what);
    return gd_check_memory(m->msg, what, bytes);
}

/* Measures, checks against the limit, and only then allocates anything. */
static gd_status allocate_model(gd_model *m)
{
    const gd_layer *largest;
    int64_t largest_count;
    size_t floats = 0;
    gd_status st = count_tensors(m, &largest, &largest_count);
    if (st == GD_OK)
        st = gd_model_plan(m, &floats); /* measuring pass: m->activations is NULL */
    if (st == GD_OK)
        st = check_build_memory(m, floats, largest, largest_count);
    if (st == GD_OK)
        st = allocate_tensors(m);
    if (st != GD_OK)
        return st;
    m->activation_floats = floats;
    m->activations = gd_alloc_aligned(floats * sizeof(float)); /* checked by check_build_memory */
    if (!m->activations)
        return gd_fail(m->msg, GD_ERR_NO_MEMORY, "out of memory for %zu activation floats (batch %lld)",
                       floats, (long long)m->max_batch);
    return gd_model_plan(m, &floats);
}

void gd_model_mark_forward_only(gd_model *m)
{
    if (!m->built)
        m->forward_only = true;
}

/* Undoes a failed build, so that the model can be fixed and built again. */
static void release_build(gd_model *m)
{
    free(m->params);
    free(m->grads);
    free(m->buffers);
    free(m->activations);
    free(m->layers);
    free(m->tensors);
    m->params = m->grads = m->buffers = m->activations = NULL;
    m->layers = NULL;
    m->tensors = NULL;
    m->nlayers = m->ntensors = 0;
}

static void reset_parameters(gd_model *m)
{
    for (size_t i = 0; i < m->nlayers; i++)
        if (m->layers[i]->ops->reset_parameters)
            m->layers[i]->ops->reset_parameters(m->layers[i], m->rng);
}

static gd_status check_build_args(gd_model *m, int ndim, const int64_t *dims, int64_t max_batch)
{
    if (m->built)
        return gd_fail(m->msg, GD_ERR_STATE, "the model is already built");
    if (m->depth != 0)
        return gd_fail(m->msg, GD_ERR_STATE, "%d residual block(s) still open: call gd_model_end_residual",
                       m->depth);
    if (m->root->nchildren == 0)
        return gd_fail(m->msg, GD_ERR_STATE, "the model has no layers");
    if (ndim < 1 || ndim > GD_MAX_DIMS - 1 || !dims)
        return gd_fail(m->msg, GD_ERR_SHAPE, "a sample must have 1 to %d dimensions, got %d",
                       GD_MAX_DIMS - 1, ndim);
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 1)
            return gd_fail(m->msg, GD_ERR_SHAPE, "sample dimension %d is %lld; it must be >= 1", i,
                           (long long)dims[i]);
    int64_t numel;
    if (!gd_numel_checked(ndim, dims, &numel))
        return gd_fail(m->msg, GD_ERR_SHAPE, "a sample of %d dimensions has more values than 64 bits count",
                       ndim);
    if (max_batch < 1)
        return gd_fail(m->msg, GD_ERR_INVALID_ARGUMENT, "max_batch must be >= 1, got %lld",
                       (long long)max_batch);
    return GD_OK;
}

gd_status gd_model_build(gd_model *m, int ndim, const int64_t *sample_dims, int64_t max_batch)
{
    return gd_model_build_checked(m, ndim, sample_dims, max_batch, NULL, NULL);
}

gd_status gd_model_build_checked(gd_model *m, int ndim, const int64_t *sample_dims,
                                 int64_t max_batch, gd_model_check_fn check, void *ctx)
{
    gd_status st = check_build_args(m, ndim, sample_dims, max_batch);
    if (st != GD_OK)
        return st;
    m->in_shape.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        m->in_shape.dims[i] = sample_dims[i];
    m->max_batch = max_batch;
    gd_threads(); /* fixes OpenBLAS's thread count before the first product */
    /* Shapes first: residual blocks that change the shape get their projections, whose
     * parameters must be listed and allocated with the others. */
    gd_shape out;
    if ((st = infer_shape(m, m->root, &m->in_shape, &out)) != GD_OK ||
        (st = list_layers(m)) != GD_OK || (check && (st = check(ctx, m, m->msg)) != GD_OK) ||
        (st = allocate_model(m)) != GD_OK) {
        release_build(m);
        return st;
    }
    reset_parameters(m);
    m->built = true;
    return GD_OK;
}

/* ----------------------------------------------------------------- running */

void gd_model_set_training(gd_model *m, bool training) { m->training = training; }
bool gd_model_is_training(const gd_model *m) { return m->training; }

void gd_model_set_input_grad(gd_model *m, bool wanted)
{
    m->input_grad_wanted = wanted;
    if (m->built) {
        size_t floats;
        /* The input gradient's buffer is planned whether wanted or not, and the layers'
         * scratch was fixed at build (conv2d's slots), so this re-plan only re-binds
         * pointers within the same block: a larger plan would overrun it. */
        gd_model_plan(m, &floats);
        assert(floats == m->activation_floats);
    }
}

static gd_status check_input(gd_model *m, const gd_tensor *x)
{
    char want[64];
    if (!m->built)
        return gd_fail(m->msg, GD_ERR_STATE, "forward before gd_model_build");
    if (!x || !x->data)
        return gd_fail(m->msg, GD_ERR_INVALID_ARGUMENT, "forward: no input");
    bool fits = x->ndim == m->in_shape.ndim + 1;
    for (int i = 0; fits && i < m->in_shape.ndim; i++)
        fits = x->dims[i + 1] == m->in_shape.dims[i];
    if (!fits)
        return gd_fail(m->msg, GD_ERR_SHAPE, "forward: input must be n x %s",
                       gd_shape_str(&m->in_shape, want, sizeof want));
    if (x->dims[0] < 1 || x->dims[0] > m->max_batch)
        return gd_fail(m->msg, GD_ERR_SHAPE, "forward: batch of %lld; the model was built for 1..%lld",
                       (long long)x->dims[0], (long long)m->max_batch);
    return GD_OK;
}

gd_status gd_model_forward(gd_model *m, const gd_tensor *input)
{
    gd_status st = check_input(m, input);
    if (st != GD_OK)
        return st;
    int64_t n = input->dims[0];
    memcpy(m->input, input->data, (size_t)(n * gd_shape_numel(&m->in_shape)) * sizeof(float));
    bool sharded = m->shard_total > 0;
    m->run = (gd_pass){.n = n, .training = m->training, .rng = m->rng, .msg = m->msg,
                       .first = sharded ? m->shard_first : 0,
                       .total = sharded ? m->shard_total : n,
                       .sync = m->training ? m->sync : NULL};
    m->has_run = false;
    if ((st = gd_layer_forward(m->root, &m->run)) != GD_OK)
        return st;
    m->output = gd_batch_view(m->root->out, n, &m->root->out_shape);
    m->output_grad = gd_batch_view(m->root->out_grad, n, &m->root->out_shape);
    m->has_run = true;
    return GD_OK;
}

void gd_model_set_shard(gd_model *m, int64_t first, int64_t total)
{
    m->shard_first = first;
    m->shard_total = total;
}

void gd_model_set_stat_sync(gd_model *m, const gd_stat_sync *sync) { m->sync = sync; }

const gd_tensor *gd_model_output(const gd_model *m) { return &m->output; }
gd_tensor *gd_model_output_grad(gd_model *m) { return &m->output_grad; }

gd_status gd_model_backward(gd_model *m)
{
    if (m->forward_only)
        return gd_fail(m->msg, GD_ERR_STATE, "backward: the model is planned for inference "
                       "only (no gradients)");
    if (!m->has_run)
        return gd_fail(m->msg, GD_ERR_STATE, "backward needs a successful forward first");
    gd_layer_backward(m->root, &m->run);
    return GD_OK;
}
