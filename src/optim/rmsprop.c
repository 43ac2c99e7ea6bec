/* torch.optim.RMSprop, as 1.13's _single_tensor_rmsprop computes it:
 *   g = g + weight_decay * p
 *   v = alpha * v + (1 - alpha) * g^2                 square_avg
 *   centered: a = alpha * a + (1 - alpha) * g         grad_avg
 *             s = sqrt(v - a^2) + eps                 (a variance, not a raw second moment)
 *   else      s = sqrt(v) + eps
 *   momentum > 0: b = momentum * b + g / s; p = p - lr * b      momentum_buffer
 *   else          p = p - lr * g / s
 * Float arithmetic, as PyTorch's float32 kernels. */
#include "optim.h"

#include <math.h>

static gd_status rmsprop_check(const gd_optim_config *c, char *msg)
{
    gd_status st;
    if ((st = gd_optim_check_nonnegative(msg, "RMSprop", "lr", c->lr)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, "RMSprop", "eps", c->eps)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, "RMSprop", "momentum", c->momentum)) != GD_OK ||
        (st = gd_optim_check_nonnegative(msg, "RMSprop", "weight_decay", c->weight_decay)) !=
            GD_OK)
        return st;
    /* PyTorch only asks alpha >= 0; above 1 the first square_avg is negative and every
     * parameter turns NaN, so that is refused here too. */
    if (!(c->alpha >= 0 && c->alpha <= 1))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "RMSprop: alpha is %g; it must be in [0, 1]",
                       c->alpha);
    return GD_OK;
}

/* PyTorch's state order: square_avg, then momentum_buffer, then grad_avg. */
static int rmsprop_state_names(const gd_optim_config *c, const char **names)
{
    int k = 0;
    names[k++] = "square_avg";
    if (c->momentum > 0)
        names[k++] = "momentum_buffer";
    if (c->centered)
        names[k++] = "grad_avg";
    return k;
}

static void rmsprop_step(gd_optimizer *opt)
{
    const gd_optim_config *c = &opt->cfg;
    const bool decay = c->weight_decay != 0, momentum = c->momentum > 0, centered = c->centered;
    float *p = opt->param, *v = opt->state[0];
    float *buf = momentum ? opt->state[1] : NULL, *avg = centered ? opt->state[1 + momentum] : NULL;
    const float *g = opt->grad;
    const int64_t n = opt->n;
    const float lr = (float)c->lr, wd = (float)c->weight_decay, alpha = (float)c->alpha,
                keep = (float)(1 - c->alpha), eps = (float)c->eps, mu = (float)c->momentum;
#pragma omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = decay ? g[i] + wd * p[i] : g[i];
        v[i] = v[i] * alpha + keep * gi * gi;
        float s;
        if (centered) {
            avg[i] = avg[i] * alpha + keep * gi;
            s = sqrtf(v[i] - avg[i] * avg[i]) + eps;
        } else {
            s = sqrtf(v[i]) + eps;
        }
        if (momentum) {
            buf[i] = buf[i] * mu + gi / s;
            p[i] -= lr * buf[i];
        } else {
            p[i] -= lr * gi / s;
        }
    }
}

const gd_optim_ops gd_optim_rmsprop_ops = {
    .name = "RMSprop",
    .check = rmsprop_check,
    .state_names = rmsprop_state_names,
    .step = rmsprop_step,
};
