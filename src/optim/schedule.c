/* Learning-rate schedules as closed forms of the step count t: the _get_closed_form_lr of
 * each torch.optim.lr_scheduler class (1.13), which the recursive get_lr that a plain
 * scheduler.step() runs reproduces up to rounding; OneCycleLR's get_lr is a closed form
 * itself. Everything is in double. ReduceLROnPlateau, which reads a metric, is plateau.c. */
#include "../core/internal.h"

#include <math.h>

static bool finite_nonnegative(double x) { return x >= 0 && isfinite(x); }

/* LinearLR's rule for its factors: start in (0, 1], end in [0, 1]. */
static bool linear_ok(double start, double end, int64_t total_iters)
{
    return start > 0 && start <= 1 && end >= 0 && end <= 1 && total_iters >= 1;
}

/* OneCycleLR's own checks (pct_start in [0, 1], total_steps > 0), plus factors that
 * keep every rate finite and a momentum in [0, 1) or none (both 0). */
static bool onecycle_ok(const gd_schedule *s)
{
    bool momentum = (s->base_momentum == 0 && s->max_momentum == 0) ||
                    (s->base_momentum >= 0 && s->max_momentum > 0 && s->base_momentum < 1 &&
                     s->max_momentum < 1);
    return s->total_steps >= 1 && s->pct_start >= 0 && s->pct_start <= 1 &&
           s->div_factor > 0 && isfinite(s->div_factor) && s->final_div_factor > 0 &&
           isfinite(s->final_div_factor) && momentum;
}

static bool main_ok(const gd_schedule *s)
{
    switch (s->kind) {
    case GD_SCHEDULE_CONSTANT:
    case GD_SCHEDULE_PLATEAU: return true;
    case GD_SCHEDULE_ONECYCLE: return onecycle_ok(s);
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

/* OneCycleLR's _annealing_cos, in its order of operations. */
static double annealing_cos(double start, double end, double pct)
{
    return end + (start - end) / 2.0 * (cos(GD_PI * pct) + 1);
}

/* OneCycleLR's two phases (three_phase False): from max_lr / div_factor up to max_lr
 * until step pct_start * total_steps - 1, then down to that / final_div_factor at step
 * total_steps - 1, momentum going the other way; a t past the end stays in the second
 * phase (PyTorch raises there). values: {lr or momentum at start, at peak, at end}. */
static double onecycle_value(const gd_schedule *s, int64_t t, const double values[3])
{
    double end1 = s->pct_start * (double)s->total_steps - 1, end2 = (double)s->total_steps - 1;
    double step = (double)t;
    if (step <= end1)
        return annealing_cos(values[0], values[1], end1 > 0 ? step / end1 : 0);
    return annealing_cos(values[1], values[2], end2 > end1 ? (step - end1) / (end2 - end1) : 1);
}

static double onecycle_lr(const gd_schedule *s, int64_t t)
{
    double initial = s->base_lr / s->div_factor;
    return onecycle_value(s, t, (double[3]){initial, s->base_lr, initial / s->final_div_factor});
}

static double main_lr(const gd_schedule *s, int64_t t)
{
    switch (s->kind) {
    case GD_SCHEDULE_CONSTANT:
    case GD_SCHEDULE_PLATEAU:
        break;
    case GD_SCHEDULE_ONECYCLE:
        return onecycle_lr(s, t);
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

double gd_schedule_momentum(const gd_schedule *s, int64_t t)
{
    if (t < 0 || gd_schedule_check(s) != GD_OK || s->kind != GD_SCHEDULE_ONECYCLE ||
        s->max_momentum == 0)
        return NAN;
    if (t < s->warmup_steps)
        return s->max_momentum;
    double hi = s->max_momentum, lo = s->base_momentum;
    return onecycle_value(s, t - s->warmup_steps, (double[3]){hi, lo, hi});
}
