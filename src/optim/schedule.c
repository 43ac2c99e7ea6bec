/* Learning-rate schedules as closed forms of the step count t: the _get_closed_form_lr of
 * each torch.optim.lr_scheduler class (1.13), which the recursive get_lr that a plain
 * scheduler.step() runs reproduces up to rounding. Everything is in double. */
#include "../core/internal.h"

#include <math.h>

static bool finite_nonnegative(double x) { return x >= 0 && isfinite(x); }

/* LinearLR's rule for its factors: start in (0, 1], end in [0, 1]. */
static bool linear_ok(double start, double end, int64_t total_iters)
{
    return start > 0 && start <= 1 && end >= 0 && end <= 1 && total_iters >= 1;
}

static bool main_ok(const gd_schedule *s)
{
    switch (s->kind) {
    case GD_SCHEDULE_CONSTANT: return true;
    case GD_SCHEDULE_STEP: return s->step_size >= 1 && finite_nonnegative(s->gamma);
    case GD_SCHEDULE_EXPONENTIAL: return finite_nonnegative(s->gamma);
    case GD_SCHEDULE_COSINE: return s->t_max >= 1 && finite_nonnegative(s->eta_min);
    case GD_SCHEDULE_LINEAR: return linear_ok(s->start_factor, s->end_factor, s->total_iters);
    }
    return false;
}

gd_status gd_schedule_check(const gd_schedule *s)
{
    bool ok = s && finite_nonnegative(s->base_lr) && s->warmup_steps >= 0 && main_ok(s) &&
              (s->warmup_steps == 0 || linear_ok(s->warmup_start_factor, 1, s->warmup_steps));
    return ok ? GD_OK : GD_ERR_INVALID_ARGUMENT;
}

/* LinearLR: base * (start + (end - start) * min(t, total) / total). */
static double linear_lr(double base, double start, double end, int64_t total, int64_t t)
{
    return base * (start + (end - start) * (double)(t < total ? t : total) / (double)total);
}

static double main_lr(const gd_schedule *s, int64_t t)
{
    switch (s->kind) {
    case GD_SCHEDULE_CONSTANT:
        break;
    case GD_SCHEDULE_STEP:
        return s->base_lr * pow(s->gamma, (double)(t / s->step_size));
    case GD_SCHEDULE_EXPONENTIAL:
        return s->base_lr * pow(s->gamma, (double)t);
    case GD_SCHEDULE_COSINE:
        /* Past t_max the cosine climbs back, as PyTorch's does: it is periodic in 2 t_max. */
        return s->eta_min + (s->base_lr - s->eta_min) *
                                (1 + cos(GD_PI * (double)t / (double)s->t_max)) / 2;
    case GD_SCHEDULE_LINEAR:
        return linear_lr(s->base_lr, s->start_factor, s->end_factor, s->total_iters, t);
    }
    return s->base_lr;
}

/* NaN, the rate no step can use, for a t < 0 or a schedule gd_schedule_check refuses. */
double gd_schedule_lr(const gd_schedule *s, int64_t t)
{
    if (t < 0 || gd_schedule_check(s) != GD_OK)
        return NAN;
    if (t < s->warmup_steps)
        return linear_lr(s->base_lr, s->warmup_start_factor, 1, s->warmup_steps, t);
    return main_lr(s, t - s->warmup_steps);
}
