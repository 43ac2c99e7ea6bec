/* torch.optim.lr_scheduler.ReduceLROnPlateau (1.13) with threshold_mode "rel", one step
 * per epoch:
 *   better:  metric > best * (1 + threshold)  (max),  metric < best * (1 - threshold)  (min)
 *   better: best = metric, bad = 0; else bad += 1
 *   in cooldown: cooldown_counter -= 1, bad = 0
 *   bad > patience: lr = max(lr * factor, min_lr) unless that changes it by eps or less;
 *                   cooldown_counter = cooldown, bad = 0
 * In double, as PyTorch's Python floats; each reduction multiplies the rate it has, so k
 * reductions round as PyTorch's k multiplications do, not as factor^k. */
#include "../core/internal.h"

#include <math.h>

gd_plateau gd_plateau_defaults(bool maximize, double lr)
{
    return (gd_plateau){.maximize = maximize, .factor = 0.1, .patience = 10, .cooldown = 0,
                        .threshold = 1e-4, .min_lr = 0, .eps = 1e-8, .lr = lr,
                        .best = maximize ? -INFINITY : INFINITY};
}

gd_status gd_plateau_check(const gd_plateau *p)
{
    bool ok = p && p->factor > 0 && p->factor < 1 && p->patience >= 0 && p->cooldown >= 0 &&
              p->threshold >= 0 && isfinite(p->threshold) && p->min_lr >= 0 && p->eps >= 0 &&
              p->lr > 0 && isfinite(p->lr) && p->num_bad_epochs >= 0 && p->cooldown_counter >= 0;
    return ok ? GD_OK : GD_ERR_INVALID_ARGUMENT;
}

/* NaN is never better: its comparisons are false, as in PyTorch's is_better. */
static bool is_better(const gd_plateau *p, double metric)
{
    if (p->maximize)
        return metric > p->best * (1 + p->threshold);
    return metric < p->best * (1 - p->threshold);
}

bool gd_plateau_step(gd_plateau *p, double metric)
{
    if (is_better(p, metric)) {
        p->best = metric;
        p->num_bad_epochs = 0;
    } else
        p->num_bad_epochs++;
    if (p->cooldown_counter > 0) {
        p->cooldown_counter--;
        p->num_bad_epochs = 0;
    }
    if (p->num_bad_epochs <= p->patience)
        return false;
    p->cooldown_counter = p->cooldown;
    p->num_bad_epochs = 0;
    double lowered = fmax(p->lr * p->factor, p->min_lr);
    if (!(p->lr - lowered > p->eps))
        return false;
    p->lr = lowered;
    return true;
}
