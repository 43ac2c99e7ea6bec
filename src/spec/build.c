/* gd_model_from_spec: lex, parse, then add the layers one by one, each sized from the
 * shape the model's own inference gives for the layers before it (so shape rules live
 * in the layers alone; the running shape is kept, so each layer is inferred once), build,
 * and apply the initialisers the spec names. */
#include "spec.h"

#include "../model/model.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(((gd_error *)0)->message) >= GD_MSG_MAX, "gd_error holds a detail message");

/* An init= or bias_init= option, applied once the model is built. */
typedef struct pending_init {
    char tensor[GD_NAME_MAX + 16]; /* "3.weight" */
    gd_spec_init_call call;
} pending_init;

typedef struct builder {
    gd_model *m;
    gd_shape in;            /* a sample's shape */
    gd_shape shape;         /* the output of the layers added so far */
    gd_layer *parent;       /* the container the layer being added goes into */
    char name[GD_NAME_MAX]; /* and the name it will have: "3", "2.1" */
    pending_init *inits;
    size_t ninits, cap;
    char *msg;
} builder;

/* One layer of the spec with its arguments bound; variant picks the activation or pool. */
typedef struct layer_call {
    const gd_spec_node *node;
    const gd_spec_bound *arg;
    int variant;
} layer_call;

typedef struct layer_kind {
    gd_spec_signature sig;
    gd_status (*add)(builder *b, const layer_call *c);
    int variant;
} layer_kind;

static gd_status model_failed(builder *b, const gd_spec_node *n, gd_status st)
{
    /* The model's state errors (residual blocks nested too deep) are the text's fault. */
    return gd_spec_fail(b->msg, st == GD_ERR_STATE ? GD_ERR_INVALID_ARGUMENT : st, n->tok, "%s",
                        gd_model_error(b->m));
}

/* After a gd_model_add_* call: passes its failure on at the layer's position. */
static gd_status added(builder *b, const gd_spec_node *n, gd_status st)
{
    return st == GD_OK ? GD_OK : model_failed(b, n, st);
}

/* ------------------------------------------------------------ initialisers */

static gd_status add_pending(builder *b, const gd_spec_node *value, const char *suffix)
{
    if (b->ninits == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        pending_init *grown = realloc(b->inits, cap * sizeof *grown);
        if (!grown)
            return gd_fail(b->msg, GD_ERR_NO_MEMORY, "spec: out of memory for initialisers");
        b->inits = grown;
        b->cap = cap;
    }
    pending_init *p = &b->inits[b->ninits];
    gd_status st = gd_spec_bind_init(value, &p->call, b->msg);
    if (st != GD_OK)
        return st;
    snprintf(p->tensor, sizeof p->tensor, "%s.%s", b->name, suffix);
    b->ninits++;
    return GD_OK;
}

/* init= and bias_init=, the parameters at and at + 1 of a layer with weights. Within a
 * layer the weight's initialiser draws first, whatever the order in the text. */
static gd_status weight_inits(builder *b, const layer_call *c, int at, bool bias)
{
    const gd_spec_bound *weight = &c->arg[at], *bias_init = &c->arg[at + 1];
    if (bias_init->given && !bias)
        return gd_spec_fail(b->msg, GD_ERR_INVALID_ARGUMENT, bias_init->node->tok,
                            "bias_init is given, but this %.*s has no bias (bias=false)",
                            c->node->tok->len, c->node->tok->text);
    gd_status st = weight->given ? add_pending(b, weight->node, "weight") : GD_OK;
    if (st == GD_OK && bias_init->given)
        st = add_pending(b, bias_init->node, "bias");
    return st;
}

/* ------------------------------------------------------------------ layers */

/* Where the parameters of linear and conv sit in their signatures (layer_kinds below). */
enum { LINEAR_OUT, LINEAR_BIAS, LINEAR_INIT };
enum { CONV_OUT, CONV_KERNEL, CONV_STRIDE, CONV_PAD, CONV_DILATION, CONV_GROUPS, CONV_BIAS,
       CONV_INIT };

static gd_status add_linear(builder *b, const layer_call *c)
{
    char s[64];
    /* Even in first place: flattening images is a choice the text should show. */
    if (b->shape.ndim != 1)
        return gd_spec_fail(b->msg, GD_ERR_SHAPE, c->node->tok,
                            "linear needs flat samples, but its input is %s: "
                            "put 'flatten' before it",
                            gd_shape_str(&b->shape, s, sizeof s));
    bool bias = c->arg[LINEAR_BIAS].num != 0;
    int64_t out = (int64_t)c->arg[LINEAR_OUT].num;
    gd_status st = gd_model_add_linear(b->m, b->shape.dims[0], out, bias);
    if ((st = added(b, c->node, st)) != GD_OK)
        return st;
    return weight_inits(b, c, LINEAR_INIT, bias);
}

static gd_status add_conv(builder *b, const layer_call *c)
{
    const gd_spec_bound *a = c->arg;
    char s[64];
    /* Checked before the layer exists, whose own checks (groups dividing the channels)
     * would otherwise judge the wrong number: in_channels is only C of C x H x W. */
    if (b->shape.ndim != 3)
        return gd_spec_fail(b->msg, GD_ERR_SHAPE, c->node->tok,
                            "conv needs samples of (channels, height, width), but its input is %s",
                            gd_shape_str(&b->shape, s, sizeof s));
    int kernel = (int)a[CONV_KERNEL].num;
    bool bias = a[CONV_BIAS].num != 0;
    gd_status st = gd_model_add_conv2d(b->m, b->shape.dims[0], (int64_t)a[CONV_OUT].num, kernel,
                                       kernel, (int)a[CONV_STRIDE].num, (int)a[CONV_PAD].num,
                                       (int)a[CONV_DILATION].num, (int)a[CONV_GROUPS].num, bias);
    if ((st = added(b, c->node, st)) != GD_OK)
        return st;
    return weight_inits(b, c, CONV_INIT, bias);
}

static gd_status add_batchnorm(builder *b, const layer_call *c)
{
    double eps = c->arg[0].num, momentum = c->arg[1].num;
    /* C x H x W samples take BatchNorm2d; (features) and (features, length) BatchNorm1d. */
    gd_status st = b->shape.ndim == 3
                       ? gd_model_add_batchnorm2d(b->m, b->shape.dims[0], eps, momentum)
                       : gd_model_add_batchnorm1d(b->m, b->shape.dims[0], eps, momentum);
    return added(b, c->node, st);
}

/* An unset parameter is NAN, which the model reads as the activation's default. */
static gd_status add_activation(builder *b, const layer_call *c)
{
    gd_activation kind = (gd_activation)c->variant;
    return added(b, c->node, gd_model_add_activation_with(b->m, kind, c->arg[0].num));
}

static gd_status add_prelu(builder *b, const layer_call *c)
{
    int64_t slopes = c->arg[0].num != 0 ? b->shape.dims[0] : 1;
    return added(b, c->node, gd_model_add_prelu(b->m, slopes, c->arg[1].num));
}

static gd_status add_maxout(builder *b, const layer_call *c)
{
    return added(b, c->node, gd_model_add_maxout(b->m, (int64_t)c->arg[0].num));
}

static gd_status add_dropout(builder *b, const layer_call *c)
{
    return added(b, c->node, gd_model_add_dropout(b->m, c->arg[0].num));
}

static gd_status add_pool(builder *b, const layer_call *c)
{
    int kernel = (int)c->arg[0].num, padding = (int)c->arg[2].num;
    int stride = c->arg[1].given ? (int)c->arg[1].num : 0; /* 0: the kernel, as PyTorch */
    gd_status st = c->variant == GD_POOL_MAX
                       ? gd_model_add_maxpool2d(b->m, kernel, stride, padding)
                       : gd_model_add_avgpool2d(b->m, kernel, stride, padding);
    return added(b, c->node, st);
}

static gd_status add_global_avgpool(builder *b, const layer_call *c)
{
    return added(b, c->node, gd_model_add_global_avgpool(b->m));
}

static gd_status add_flatten(builder *b, const layer_call *c)
{
    return added(b, c->node, gd_model_add_flatten(b->m));
}

static gd_status add_residual(builder *b, const layer_call *c);

#define INIT_OPTIONS                                                                       \
    {.names = "init", .type = GD_ARG_INIT, .def = NAN, .keyword_only = true},              \
        {.names = "bias_init", .type = GD_ARG_INIT, .def = NAN, .keyword_only = true}
#define REQUIRED GD_SPEC_REQUIRED
#define OPT GD_SPEC_OPT

static const layer_kind layer_kinds[] = {
    {{"linear", "linear(10)",
      {REQUIRED("out|out_features", GD_ARG_SIZE), OPT("bias", GD_ARG_BOOL, 1), INIT_OPTIONS}},
     add_linear, 0},
    {{"conv|conv2d", "conv(32, 3, pad=1)",
      {REQUIRED("out|out_channels", GD_ARG_SIZE), REQUIRED("kernel|kernel_size", GD_ARG_SIZE),
       OPT("stride", GD_ARG_SIZE, 1), OPT("pad|padding", GD_ARG_COUNT, 0),
       OPT("dilation", GD_ARG_SIZE, 1), OPT("groups", GD_ARG_SIZE, 1), OPT("bias", GD_ARG_BOOL, 1),
       INIT_OPTIONS}},
     add_conv, 0},
    {{"bn|batchnorm", "bn(eps=1e-5, momentum=0.1)",
      {OPT("eps", GD_ARG_POSITIVE, 1e-5), OPT("momentum", GD_ARG_UNIT, 0.1)}},
     add_batchnorm, 0},
    {{"relu", "relu", {{0}}}, add_activation, GD_ACT_RELU},
    {{"sigmoid", "sigmoid", {{0}}}, add_activation, GD_ACT_SIGMOID},
    {{"tanh", "tanh", {{0}}}, add_activation, GD_ACT_TANH},
    {{"gelu", "gelu", {{0}}}, add_activation, GD_ACT_GELU},
    {{"silu", "silu", {{0}}}, add_activation, GD_ACT_SILU},
    {{"leaky_relu", "leaky_relu(0.2)", {OPT("slope|negative_slope", GD_ARG_REAL, NAN)}},
     add_activation, GD_ACT_LEAKY_RELU},
    {{"elu", "elu(1)", {OPT("alpha", GD_ARG_REAL, NAN)}}, add_activation, GD_ACT_ELU},
    {{"softplus", "softplus(2)", {OPT("beta", GD_ARG_POSITIVE, NAN)}}, add_activation,
     GD_ACT_SOFTPLUS},
    {{"prelu", "prelu(per_channel=true)",
      {OPT("per_channel", GD_ARG_BOOL, 0), OPT("init", GD_ARG_REAL, 0.25)}},
     add_prelu, 0},
    {{"maxout", "maxout(2)", {REQUIRED("k", GD_ARG_SIZE)}}, add_maxout, 0},
    {{"dropout", "dropout(0.2)", {OPT("p", GD_ARG_PROB, 0.5)}}, add_dropout, 0},
    {{"maxpool", "maxpool(2)",
      {REQUIRED("kernel|kernel_size", GD_ARG_SIZE), OPT("stride", GD_ARG_SIZE, NAN),
       OPT("pad|padding", GD_ARG_COUNT, 0)}},
     add_pool, GD_POOL_MAX},
    {{"avgpool", "avgpool(2)",
      {REQUIRED("kernel|kernel_size", GD_ARG_SIZE), OPT("stride", GD_ARG_SIZE, NAN),
       OPT("pad|padding", GD_ARG_COUNT, 0)}},
     add_pool, GD_POOL_AVG},
    {{"gap|global_avgpool", "gap", {{0}}}, add_global_avgpool, 0},
    {{"flatten", "flatten", {{0}}}, add_flatten, 0},
    {{GD_SPEC_BLOCK, GD_SPEC_BLOCK "(linear(64) relu)", {{0}}}, add_residual, 0},
};
#define NKINDS (sizeof layer_kinds / sizeof layer_kinds[0])

/* softmax is left out on purpose: models output logits, the cross-entropy loss applies
 * log-softmax itself and gradus predict --probs prints probabilities. The names users
 * reach for get that answer instead of "unknown layer". */
#define SOFTMAX_NAMES "softmax|log_softmax|logsoftmax"

static gd_status unknown_layer(builder *b, const gd_spec_token *name)
{
    if (gd_spec_word_index(SOFTMAX_NAMES, name->text, name->len) >= 0)
        return gd_spec_fail(b->msg, GD_ERR_INVALID_ARGUMENT, name,
                            "%.*s: gradus models output logits; the loss applies softmax itself "
                            "(as PyTorch's CrossEntropyLoss), so leave it out; gradus predict "
                            "--probs prints probabilities",
                            name->len, name->text);
    char hint[64];
    gd_spec_suggestion s;
    gd_spec_suggest_start(&s, name->text, name->len);
    for (size_t i = 0; i < NKINDS; i++)
        gd_spec_suggest_from(&s, layer_kinds[i].sig.names);
    return gd_spec_fail(b->msg, GD_ERR_INVALID_ARGUMENT, name, "unknown layer '%.*s'%s", name->len,
                        name->text,
                        s.best ? gd_spec_suggest_str(&s, hint, sizeof hint)
                               : " (docs/spec.md lists the layers)");
}

static gd_status add_layer(builder *b, const gd_spec_node *n)
{
    const layer_kind *k = NULL;
    for (size_t i = 0; i < NKINDS && !k; i++)
        if (gd_spec_word_index(layer_kinds[i].sig.names, n->tok->text, n->tok->len) >= 0)
            k = &layer_kinds[i];
    if (!k)
        return unknown_layer(b, n->tok);
    gd_spec_bound args[GD_SPEC_MAX_PARAMS];
    gd_status st = gd_spec_bind(n, &k->sig, args, b->msg);
    if (st != GD_OK)
        return st;
    gd_model *m = b->m;
    b->parent = m->open[m->depth];
    if (m->depth == 0)
        snprintf(b->name, sizeof b->name, "%d", b->parent->nchildren);
    else if (snprintf(b->name, sizeof b->name, "%s.%d", b->parent->name, b->parent->nchildren) >=
             (int)sizeof b->name)
        b->name[sizeof b->name - 1] = '\0'; /* nesting is bounded: only silences the warning */
    layer_call c = {.node = n, .arg = args, .variant = k->variant};
    if ((st = k->add(b, &c)) != GD_OK || k->add == add_residual) /* it inferred itself */
        return st;
    st = gd_model_shape_next(m, &b->shape, &b->shape);
    return st == GD_OK ? GD_OK : model_failed(b, n, st);
}

/* The block's layers go into the residual container. Once it is closed, the model's shape
 * pass gives it the projection its shapes need (docs/spec.md); shapes that no projection
 * joins are blamed on the ')'. */
static gd_status add_residual(builder *b, const layer_call *c)
{
    gd_status st = added(b, c->node, gd_model_begin_residual(b->m));
    if (st != GD_OK)
        return st;
    gd_shape block_in = b->shape; /* the block's chain starts from it, and so does its sum */
    for (const gd_spec_node *n = c->node->body; n; n = n->next)
        if ((st = add_layer(b, n)) != GD_OK)
            return st;
    if ((st = gd_model_end_residual(b->m)) != GD_OK)
        return model_failed(b, c->node, st);
    st = gd_model_shape_next(b->m, &block_in, &b->shape);
    return st == GD_OK ? GD_OK
                       : gd_spec_fail(b->msg, st, c->node->close, "%s", gd_model_error(b->m));
}

/* ------------------------------------------------------------------- build */

static gd_status check_sample_shape(gd_shape *s, int ndim, const int64_t *dims, char *msg)
{
    if (ndim < 1 || ndim > GD_MAX_DIMS - 1 || !dims)
        return gd_fail(msg, GD_ERR_SHAPE, "a sample must have 1 to %d dimensions, got %d",
                       GD_MAX_DIMS - 1, ndim);
    s->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 1)
            return gd_fail(msg, GD_ERR_SHAPE, "sample dimension %d is %lld; it must be >= 1", i,
                           (long long)dims[i]);
        s->dims[i] = dims[i];
    }
    /* Layers multiply a sample's values (flatten, the plan): the count must fit first. */
    int64_t numel;
    if (!gd_numel_checked(ndim, dims, &numel))
        return gd_fail(msg, GD_ERR_SHAPE, "a sample of %d dimensions has more values than 64 bits count",
                       ndim);
    return GD_OK;
}

static gd_status build(builder *b, const gd_spec_tree *tree, const char *spec, int64_t max_batch,
                       gd_model_check_fn check, void *ctx)
{
    gd_status st = GD_OK;
    b->shape = b->in;
    for (const gd_spec_node *n = tree->layers; n && st == GD_OK; n = n->next)
        st = add_layer(b, n);
    if (st == GD_OK && (st = gd_model_build_checked(b->m, b->in.ndim, b->in.dims, max_batch, check,
                                                    ctx)) != GD_OK)
        return gd_fail(b->msg, st, "%s", gd_model_error(b->m));
    for (size_t i = 0; i < b->ninits && st == GD_OK; i++) {
        gd_tensor *t = gd_model_param(b->m, b->inits[i].tensor);
        assert(t && "every layer with weights names them weight and bias");
        st = gd_spec_apply_init(&b->inits[i].call, t, b->inits[i].tensor, gd_model_rng(b->m),
                                b->msg);
    }
    if (st == GD_OK && gd_model_set_spec(b->m, spec) != GD_OK)
        return gd_fail(b->msg, GD_ERR_NO_MEMORY, "spec: out of memory copying the text");
    return st;
}

gd_status gd_model_from_spec(gd_model **out, const char *spec, uint64_t seed, int ndim,
                             const int64_t *sample_dims, int64_t max_batch, gd_error *err)
{
    return gd_model_from_spec_checked(out, spec, seed, ndim, sample_dims, max_batch, NULL, NULL, err);
}

gd_status gd_model_from_spec_checked(gd_model **out, const char *spec, uint64_t seed, int ndim,
                                     const int64_t *sample_dims, int64_t max_batch,
                                     gd_model_check_fn check, void *ctx, gd_error *err)
{
    gd_error ignored;
    char *msg = (err ? err : &ignored)->message;
    msg[0] = '\0';
    if (!out || !spec)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "gd_model_from_spec: out and spec must not be NULL");
    *out = NULL;
    builder b = {.msg = msg};
    gd_spec_token *tokens = NULL;
    size_t ntokens = 0;
    gd_spec_tree tree = {0};
    gd_status st = check_sample_shape(&b.in, ndim, sample_dims, msg);
    if (st == GD_OK)
        st = gd_spec_lex(spec, &tokens, &ntokens, msg);
    if (st == GD_OK)
        st = gd_spec_parse(tokens, ntokens, &tree, msg);
    if (st == GD_OK && (st = gd_model_create(&b.m, seed)) != GD_OK)
        gd_fail(msg, st, "spec: out of memory creating the model");
    if (st == GD_OK)
        st = build(&b, &tree, spec, max_batch, check, ctx);
    gd_spec_tree_free(&tree);
    free(tokens);
    free(b.inits);
    if (st != GD_OK) {
        gd_model_free(b.m);
        return st;
    }
    *out = b.m;
    return GD_OK;
}

bool gd_spec_starts_with_linear(const char *spec)
{
    char msg[GD_MSG_MAX];
    gd_spec_token *tokens = NULL;
    size_t ntokens = 0;
    gd_spec_tree tree = {0};
    bool linear = gd_spec_lex(spec, &tokens, &ntokens, msg) == GD_OK &&
                  gd_spec_parse(tokens, ntokens, &tree, msg) == GD_OK && tree.layers &&
                  gd_spec_word_index("linear", tree.layers->tok->text,
                                     tree.layers->tok->len) >= 0;
    gd_spec_tree_free(&tree);
    free(tokens);
    return linear;
}
