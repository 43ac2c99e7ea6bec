/* The optimiser handle: PyTorch's defaults, validation, the one-block state and the step
 * dispatch. The algorithms live one per file (sgd.c, adagrad.c, rmsprop.c, adam.c). */
#include "optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each state tensor starts on a 64-byte boundary of the block, as the arena's pieces do. */
#define GD_STATE_ALIGN_FLOATS 16

gd_optim_config gd_optim_defaults(gd_optim_kind kind)
{
    /* torch.optim 1.13's defaults; SGD has none for lr there (it is required). */
    gd_optim_config c = {.kind = kind, .lr = 1e-2};
    switch (kind) {
    case GD_OPTIM_SGD:
        break;
    case GD_OPTIM_ADAGRAD:
        c.eps = 1e-10;
        break;
    case GD_OPTIM_RMSPROP:
        c.alpha = 0.99;
        c.eps = 1e-8;
        break;
    case GD_OPTIM_ADAM:
    case GD_OPTIM_ADAMW:
        c.lr = 1e-3;
        c.beta1 = 0.9;
        c.beta2 = 0.999;
        c.eps = 1e-8;
        c.weight_decay = kind == GD_OPTIM_ADAMW ? 1e-2 : 0;
        break;
    }
    return c;
}

static const gd_optim_ops *ops_for(gd_optim_kind kind)
{
    switch (kind) {
    case GD_OPTIM_SGD: return &gd_optim_sgd_ops;
    case GD_OPTIM_ADAGRAD: return &gd_optim_adagrad_ops;
    case GD_OPTIM_RMSPROP: return &gd_optim_rmsprop_ops;
    case GD_OPTIM_ADAM: return &gd_optim_adam_ops;
    case GD_OPTIM_ADAMW: return &gd_optim_adamw_ops;
    }
    return NULL;
}

gd_status gd_optim_check_nonnegative(char *msg, const char *optim, const char *field,
                                     double value)
{
    if (value >= 0 && isfinite(value))
        return GD_OK;
    return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s: %s is %g; it must be a finite number >= 0",
                   optim, field, value);
}

gd_status gd_optim_check_beta(char *msg, const char *optim, const char *field, double value)
{
    if (value >= 0 && value < 1)
        return GD_OK;
    return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s: %s is %g; it must be in [0, 1)", optim,
                   field, value);
}

/* Carves the state tensors the config needs out of one zeroed block. */
static gd_status alloc_state(gd_optimizer *opt)
{
    const char *names[GD_OPTIM_STATE_MAX];
    int count = opt->ops->state_names(&opt->cfg, names);
    size_t stride = ((size_t)opt->n + GD_STATE_ALIGN_FLOATS - 1) / GD_STATE_ALIGN_FLOATS *
                    GD_STATE_ALIGN_FLOATS;
    if (count > 0 && stride > 0) {
        /* Adam's two moments double a model's memory: a model that just fitted the limit
         * may not fit it with them. */
        char what[96];
        snprintf(what, sizeof what, "%s: %d state tensors of %lld floats", opt->ops->name, count,
                 (long long)opt->n);
        gd_status st = gd_check_memory(opt->msg, what, (uint64_t)count * stride * sizeof(float));
        if (st != GD_OK)
            return st;
        opt->block = gd_alloc_aligned((size_t)count * stride * sizeof(float));
        if (!opt->block)
            return gd_fail(opt->msg, GD_ERR_NO_MEMORY,
                           "%s: cannot allocate %d state tensors of %lld floats", opt->ops->name,
                           count, (long long)opt->n);
    }
    for (int k = 0; k < count; k++) {
        opt->state_name[k] = names[k];
        opt->state[k] = opt->block ? opt->block + (size_t)k * stride : NULL;
    }
    opt->nstate = count;
    if (opt->ops->init_state)
        opt->ops->init_state(opt);
    return GD_OK;
}

static gd_status setup(gd_optimizer *opt, gd_model *m, const gd_optim_config *cfg)
{
    if (!m || !cfg)
        return gd_fail(opt->msg, GD_ERR_INVALID_ARGUMENT, "optimizer: the %s is NULL",
                       m ? "config" : "model");
    opt->ops = ops_for(cfg->kind);
    if (!opt->ops)
        return gd_fail(opt->msg, GD_ERR_INVALID_ARGUMENT,
                       "optimizer: kind is %d, which is no gd_optim_kind", (int)cfg->kind);
    gd_status st = opt->ops->check(cfg, opt->msg);
    if (st != GD_OK)
        return st;
    gd_tensor param = gd_model_parameters_flat(m), grad = gd_model_gradients_flat(m);
    if (!param.data || !grad.data)
        return gd_fail(opt->msg, GD_ERR_STATE,
                       "%s: the model has no parameter buffer; call gd_model_build first (a "
                       "model without parameters has nothing to optimise)",
                       opt->ops->name);
    opt->cfg = *cfg;
    opt->param = param.data;
    opt->grad = grad.data;
    opt->n = gd_tensor_numel(&param);
    return alloc_state(opt);
}

/* As sqlite3_open does, a failed create still hands back a handle (unless memory ran out)
 * so that gd_optim_error can say why; its steps return the same status. */
gd_status gd_optim_create(gd_optimizer **out, gd_model *m, const gd_optim_config *cfg)
{
    gd_optimizer *opt = calloc(1, sizeof *opt);
    *out = opt;
    if (!opt)
        return GD_ERR_NO_MEMORY;
    opt->failed = setup(opt, m, cfg);
    return opt->failed;
}

void gd_optim_free(gd_optimizer *opt)
{
    if (!opt)
        return;
    free(opt->block);
    free(opt);
}

const char *gd_optim_error(const gd_optimizer *opt)
{
    return opt ? opt->msg : "optimizer: none (its creation ran out of memory)";
}

gd_status gd_optim_step(gd_optimizer *opt)
{
    if (opt->failed != GD_OK)
        return opt->failed;
    opt->ops->step(opt);
    opt->steps++;
    return GD_OK;
}

void gd_optim_set_lr(gd_optimizer *opt, double lr) { opt->cfg.lr = lr; }

double gd_optim_lr(const gd_optimizer *opt) { return opt->cfg.lr; }

static bool has_state(const gd_optimizer *opt, const char *name)
{
    for (int k = 0; k < opt->nstate; k++)
        if (strcmp(opt->state_name[k], name) == 0)
            return true;
    return false;
}

/* OneCycleLR writes group["momentum"] where the group has one, else betas[0]. SGD and
 * RMSprop created without momentum have no buffer to write it into: they ignore it. */
void gd_optim_set_momentum(gd_optimizer *opt, double momentum)
{
    switch (opt->cfg.kind) {
    case GD_OPTIM_SGD:
    case GD_OPTIM_RMSPROP:
        if (has_state(opt, "momentum_buffer"))
            opt->cfg.momentum = momentum;
        break;
    case GD_OPTIM_ADAM:
    case GD_OPTIM_ADAMW: opt->cfg.beta1 = momentum; break;
    case GD_OPTIM_ADAGRAD: break;
    }
}

double gd_optim_momentum(const gd_optimizer *opt)
{
    switch (opt->cfg.kind) {
    case GD_OPTIM_SGD:
    case GD_OPTIM_RMSPROP: return opt->cfg.momentum;
    case GD_OPTIM_ADAM:
    case GD_OPTIM_ADAMW: return opt->cfg.beta1;
    case GD_OPTIM_ADAGRAD: break;
    }
    return NAN;
}

int64_t gd_optim_step_count(const gd_optimizer *opt) { return opt->steps; }

/* A negative count has no meaning; it restores as 0, a fresh optimiser. */
void gd_optim_set_step_count(gd_optimizer *opt, int64_t steps)
{
    opt->steps = steps > 0 ? steps : 0;
}

size_t gd_optim_state_count(const gd_optimizer *opt) { return (size_t)opt->nstate; }

gd_status gd_optim_state_at(gd_optimizer *opt, size_t index, const char **name,
                            gd_tensor *value)
{
    if (index >= (size_t)opt->nstate)
        return gd_fail(opt->msg, GD_ERR_INVALID_ARGUMENT,
                       "%s: state index %zu is out of range (it has %d state tensors)",
                       opt->ops ? opt->ops->name : "optimizer", index, opt->nstate);
    if (name)
        *name = opt->state_name[index];
    if (value)
        *value = gd_tensor_view(opt->state[index], 1, &opt->n);
    return GD_OK;
}
