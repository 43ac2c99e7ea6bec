/* torch.optim.Adagrad, as 1.13's _single_tensor_adagrad computes it, t being the step taken
 * (1 on the first):
 *   g = g + weight_decay * p
 *   sum = sum + g^2                          (sum starts at initial_accumulator_value)
 *   p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)
 * The decayed rate is computed in double, as PyTorch does in Python floats; the loop in
 * float, as its float32 kernels. */
#include "optim.h"

#include <math.h>

static gd_status adagrad_check(const gd_optim_config *c, char *msg)
{
    gd_status st;
    if ((st = gd_optim_check_nonnegative(msg, "Adagrad", "lr", c->lr)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, "Adagrad", "lr_decay", c->lr_decay)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, "Adagrad", "weight_decay", c->weight_decay)) !=
            GD_OK ||
        (st = gd_optim_check_nonnegative(msg, "Adagrad", "initial_accumulator_value",
                                         c->initial_accumulator_value)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, "Adagrad", "eps", c->eps)) != GD_OK)
        return st;
    return GD_OK;
}

static int adagrad_state_names(const gd_optim_config *c, const char **names)
{
    (void)c;
    names[0] = "sum";
    return 1;
}

static void adagrad_init_state(gd_optimizer *opt)
{
    float *sum = opt->state[0];
    const float init = (float)opt->cfg.initial_accumulator_value;
    for (int64_t i = 0; i < opt->n; i++)
        sum[i] = init;
}

static void adagrad_step(gd_optimizer *opt)
{
    const gd_optim_config *c = &opt->cfg;
    float *p = opt->param, *sum = opt->state[0];
    const float *g = opt->grad;
    const int64_t n = opt->n;
    const float neg_clr = (float)(-c->lr / (1 + (double)opt->steps * c->lr_decay)),
                wd = (float)c->weight_decay, eps = (float)c->eps;
    const bool decay = c->weight_decay != 0;
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = decay ? g[i] + wd * p[i] : g[i];
        sum[i] += gi * gi;
        p[i] += neg_clr * gi / (sqrtf(sum[i]) + eps);
    }
}

const gd_optim_ops gd_optim_adagrad_ops = {
    .name = "Adagrad",
    .check = adagrad_check,
    .state_names = adagrad_state_names,
    .init_state = adagrad_init_state,
    .step = adagrad_step,
};
