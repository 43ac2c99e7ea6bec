/* torch.optim.Adam and AdamW, as 1.13's _single_tensor_adam and _single_tensor_adamw
 * compute them, t being the step taken (1 on the first):
 *   Adam:  g = g + weight_decay * p              (L2 folded into the gradient)
 *   AdamW: p = p * (1 - lr * weight_decay)       (decoupled decay, before the moments)
 *   m = beta1 * m + (1 - beta1) * g                             exp_avg
 *   v = beta2 * v + (1 - beta2) * g^2                           exp_avg_sq
 *   amsgrad: vmax = max(vmax, v), and vmax stands for v below   max_exp_avg_sq
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * The bias corrections are computed in double, as PyTorch does in Python floats; the loop
 * in float, as its float32 kernels. */
#include "optim.h"

#include <math.h>

static const char *adam_name(const gd_optim_config *c)
{
    return c->kind == GD_OPTIM_ADAMW ? "AdamW" : "Adam";
}

static gd_status adam_check(const gd_optim_config *c, char *msg)
{
    const char *name = adam_name(c);
    gd_status st;
    if ((st = gd_optim_check_nonnegative(msg, name, "lr", c->lr)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, name, "eps", c->eps)) != GD_OK ||
        (st = gd_optim_check_beta(msg, name, "beta1", c->beta1)) != GD_OK ||
        (st = gd_optim_check_beta(msg, name, "beta2", c->beta2)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, name, "weight_decay", c->weight_decay)) != GD_OK)
        return st;
    return GD_OK;
}

static int adam_state_names(const gd_optim_config *c, const char **names)
{
    names[0] = "exp_avg";
    names[1] = "exp_avg_sq";
    if (!c->amsgrad)
        return 2;
    names[2] = "max_exp_avg_sq";
    return 3;
}

static void adam_step(gd_optimizer *opt)
{
    const gd_optim_config *c = &opt->cfg;
    const bool decoupled = c->kind == GD_OPTIM_ADAMW, amsgrad = c->amsgrad,
               l2 = !decoupled && c->weight_decay != 0;
    float *p = opt->param, *m = opt->state[0], *v = opt->state[1], *vmax = opt->state[2];
    const float *g = opt->grad;
    const int64_t n = opt->n;
    const double t = (double)(opt->steps + 1);
    const float neg_step = (float)(-c->lr / (1 - pow(c->beta1, t))),
                bc2_sqrt = (float)sqrt(1 - pow(c->beta2, t)), eps = (float)c->eps,
                b1 = (float)c->beta1, k1 = (float)(1 - c->beta1), b2 = (float)c->beta2,
                k2 = (float)(1 - c->beta2), wd = (float)c->weight_decay,
                shrink = decoupled ? (float)(1 - c->lr * c->weight_decay) : 1.0f;
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = l2 ? g[i] + wd * p[i] : g[i];
        p[i] *= shrink;
        m[i] = m[i] * b1 + k1 * gi;
        v[i] = v[i] * b2 + k2 * gi * gi;
        float vi = v[i];
        if (amsgrad) /* a NaN in v propagates, as through torch.maximum */
            vi = vmax[i] = vmax[i] >= vi ? vmax[i] : vi;
        p[i] += neg_step * m[i] / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

const gd_optim_ops gd_optim_adam_ops = {
    .name = "Adam",
    .check = adam_check,
    .state_names = adam_state_names,
    .step = adam_step,
};

const gd_optim_ops gd_optim_adamw_ops = {
    .name = "AdamW",
    .check = adam_check,
    .state_names = adam_state_names,
    .step = adam_step,
};
