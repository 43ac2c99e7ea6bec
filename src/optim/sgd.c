/* torch.optim.SGD, as 1.13's _single_tensor_sgd computes it:
 *   d = g + weight_decay * p
 *   b = d on the first step, momentum * b + (1 - dampening) * d after   (momentum != 0)
 *   d = nesterov ? d + momentum * b : b                                  (momentum != 0)
 *   p = p - lr * d
 * The first step copies d into the buffer, undamped, because PyTorch creates the buffer
 * then. "First" means a step count of 0, so a checkpoint that restores the count with
 * gd_optim_set_step_count restores that too. Float arithmetic, as PyTorch's float32 kernels. */
#include "optim.h"

static gd_status sgd_check(const gd_optim_config *c, char *msg)
{
    gd_status st;
    if ((st = gd_optim_check_nonnegative(msg, "SGD", "lr", c->lr)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, "SGD", "momentum", c->momentum)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, "SGD", "weight_decay", c->weight_decay)) != GD_OK)
        return st;
    if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "SGD: nesterov requires momentum > 0 and dampening 0, not momentum %g "
                       "and dampening %g",
                       c->momentum, c->dampening);
    return GD_OK;
}

static int sgd_state_names(const gd_optim_config *c, const char **names)
{
    if (c->momentum == 0)
        return 0;
    names[0] = "momentum_buffer";
    return 1;
}

static void sgd_step(gd_optimizer *opt)
{
    const gd_optim_config *c = &opt->cfg;
    float *p = opt->param, *buf = opt->state[0];
    const float *g = opt->grad;
    const int64_t n = opt->n;
    const float lr = (float)c->lr, wd = (float)c->weight_decay, mu = (float)c->momentum,
                keep = (float)(1 - c->dampening);
    const bool decay = c->weight_decay != 0, momentum = c->momentum != 0,
               nesterov = c->nesterov, first = opt->steps == 0;
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float d = decay ? g[i] + wd * p[i] : g[i];
        if (momentum) {
            buf[i] = first ? d : buf[i] * mu + keep * d;
            d = nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

const gd_optim_ops gd_optim_sgd_ops = {
    .name = "SGD",
    .check = sgd_check,
    .state_names = sgd_state_names,
    .step = sgd_step,
};
