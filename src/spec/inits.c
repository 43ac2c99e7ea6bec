/* The initialisers a spec can name (init=..., bias_init=...): torch.nn.init's, with its
 * argument names, order and defaults, each forwarding to gd_init_*_ of gradus.h. */
#include "spec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct gd_spec_initialiser {
    gd_spec_signature sig;
    gd_status (*apply)(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng);
};

static gd_status uniform(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    return gd_init_uniform_(t, a[0].num, a[1].num, rng);
}

static gd_status normal(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    return gd_init_normal_(t, a[0].num, a[1].num, rng);
}

static gd_status constant(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    (void)rng;
    return gd_init_constant_(t, a[0].num);
}

static gd_status zeros(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    (void)a, (void)rng;
    return gd_init_zeros_(t);
}

static gd_status ones(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    (void)a, (void)rng;
    return gd_init_ones_(t);
}

static gd_status xavier_uniform(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    return gd_init_xavier_uniform_(t, a[0].num, rng);
}

static gd_status xavier_normal(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    return gd_init_xavier_normal_(t, a[0].num, rng);
}

static gd_status kaiming_uniform(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    return gd_init_kaiming_uniform_(t, a[0].num, (gd_fan_mode)a[1].num,
                                    (gd_nonlinearity)a[2].num, rng);
}

static gd_status kaiming_normal(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    return gd_init_kaiming_normal_(t, a[0].num, (gd_fan_mode)a[1].num,
                                   (gd_nonlinearity)a[2].num, rng);
}

static gd_status orthogonal(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    return gd_init_orthogonal_(t, a[0].num, rng);
}

static gd_status trunc_normal(gd_tensor *t, const gd_spec_bound *a, gd_rng *rng)
{
    return gd_init_trunc_normal_(t, a[0].num, a[1].num, a[2].num, a[3].num, rng);
}

#define OPT GD_SPEC_OPT
/* In gd_fan_mode's and gd_nonlinearity's order, so a word's index is the enum value. */
#define FAN_MODES "fan_in|fan_out"
#define NONLINEARITIES                                                                     \
    "linear|conv1d|conv2d|conv3d|conv_transpose1d|conv_transpose2d|conv_transpose3d|"      \
    "sigmoid|tanh|relu|leaky_relu|selu"
#define KAIMING_PARAMS                                                                     \
    {OPT("a", GD_ARG_REAL, 0), GD_SPEC_WORD("mode", FAN_MODES, GD_FAN_IN),                 \
     GD_SPEC_WORD("nonlinearity", NONLINEARITIES, GD_NONLIN_LEAKY_RELU)}
#define GAIN_PARAMS {OPT("gain", GD_ARG_REAL, 1)}

static const gd_spec_initialiser initialisers[] = {
    {{"uniform", "uniform(-0.1, 0.1)", {OPT("a", GD_ARG_REAL, 0), OPT("b", GD_ARG_REAL, 1)}},
     uniform},
    {{"normal", "normal(std=0.01)", {OPT("mean", GD_ARG_REAL, 0), OPT("std", GD_ARG_REAL, 1)}},
     normal},
    {{"constant", "constant(0.5)", {GD_SPEC_REQUIRED("value|val", GD_ARG_REAL)}}, constant},
    {{"zeros", "zeros", {{0}}}, zeros},
    {{"ones", "ones", {{0}}}, ones},
    {{"xavier_uniform", "xavier_uniform(gain=1)", GAIN_PARAMS}, xavier_uniform},
    {{"xavier_normal", "xavier_normal(gain=1)", GAIN_PARAMS}, xavier_normal},
    {{"kaiming_uniform", "kaiming_uniform(nonlinearity=relu)", KAIMING_PARAMS}, kaiming_uniform},
    {{"kaiming_normal", "kaiming_normal(nonlinearity=relu)", KAIMING_PARAMS}, kaiming_normal},
    {{"orthogonal", "orthogonal(gain=1)", GAIN_PARAMS}, orthogonal},
    {{"trunc_normal", "trunc_normal(std=0.02)",
      {OPT("mean", GD_ARG_REAL, 0), OPT("std", GD_ARG_REAL, 1), OPT("a", GD_ARG_REAL, -2),
       OPT("b", GD_ARG_REAL, 2)}},
     trunc_normal},
};
#define NINITIALISERS (sizeof initialisers / sizeof initialisers[0])

gd_status gd_spec_bind_init(const gd_spec_node *value, gd_spec_init_call *call, char *msg)
{
    const gd_spec_token *name = value->tok;
    call->node = value;
    for (size_t i = 0; i < NINITIALISERS; i++)
        if (gd_spec_word_index(initialisers[i].sig.names, name->text, name->len) >= 0) {
            call->kind = &initialisers[i];
            return gd_spec_bind(value, &call->kind->sig, call->args, msg);
        }
    char hint[64];
    gd_spec_suggestion s;
    gd_spec_suggest_start(&s, name->text, name->len);
    for (size_t i = 0; i < NINITIALISERS; i++)
        gd_spec_suggest_from(&s, initialisers[i].sig.names);
    return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, name, "unknown initialiser '%.*s'%s",
                        name->len, name->text,
                        s.best ? gd_spec_suggest_str(&s, hint, sizeof hint)
                               : " (expected uniform, normal, constant, zeros, ones, xavier_*, "
                                 "kaiming_*, orthogonal or trunc_normal)");
}

static const char *dims_str(const gd_tensor *t, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i ? "x%lld" : "%lld", (long long)t->dims[i]);
    return buf;
}

gd_status gd_spec_apply_init(const gd_spec_init_call *call, gd_tensor *t, const char *name,
                             gd_rng *rng, char *msg)
{
    gd_status st = call->kind->apply(t, call->args, rng);
    char what[64], dims[64];
    gd_spec_node_str(call->node, what, sizeof what);
    switch (st) {
    case GD_OK:
        return GD_OK;
    case GD_ERR_SHAPE:
        return gd_spec_fail(msg, st, call->node->tok,
                            "%s cannot initialise %s of shape %s: it needs 2 or more dimensions",
                            what, name, dims_str(t, dims, sizeof dims));
    case GD_ERR_INVALID_ARGUMENT:
        return gd_spec_fail(msg, st, call->node->tok,
                            "%s cannot initialise %s: an argument is outside its domain "
                            "(a negative std, a > b, ...)", what, name);
    default:
        return gd_spec_fail(msg, st, call->node->tok, "%s on %s: %s", what, name, gd_strerror(st));
    }
}
