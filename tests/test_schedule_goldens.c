/* OneCycleLR and ReduceLROnPlateau against torch.optim.lr_scheduler 1.13 (goldens by
 * reference/gen_schedules.py, read here as doubles, not through golden.h's float32).
 *
 * Tolerances. ReduceLROnPlateau's rate is a product of the same double multiplications,
 * comparisons and max as PyTorch's Python floats, so it must agree bit for bit (and does).
 * OneCycleLR's is the same closed form in the same order of operations, so only cos() can
 * differ, by an ulp on another libm: rtol 1e-12, with an atol of 1e-18 for the rates that
 * anneal to exactly 0 on either side. Measured here: bit for bit. */
#include "golden.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#define RTOL 1e-12
#define ATOL 1e-18

static double number_at(const cJSON *array, int i)
{
    const cJSON *v = cJSON_GetArrayItem(array, i);
    cr_assert(v, "the golden array has no element %d", i);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN; /* null: NaN or an infinity */
}

static double setting(const cJSON *settings, const char *key, double fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(settings, key);
    return v ? (cJSON_IsBool(v) ? cJSON_IsTrue(v) : v->valuedouble) : fallback;
}

/* --------------------------------------------------------------- one cycle */

static gd_schedule onecycle_of(const cJSON *c)
{
    const cJSON *s = golden_field(c, "schedule");
    return (gd_schedule){.kind = GD_SCHEDULE_ONECYCLE, .base_lr = golden_number(s, "base_lr"),
                         .total_steps = (int64_t)golden_number(s, "total_steps"),
                         .pct_start = golden_number(s, "pct_start"),
                         .div_factor = golden_number(s, "div_factor"),
                         .final_div_factor = golden_number(s, "final_div_factor"),
                         .base_momentum = golden_number(s, "base_momentum"),
                         .max_momentum = golden_number(s, "max_momentum")};
}

static void expect_near(double got, double want, const char *what, const char *name, int t)
{
    cr_expect(fabs(got - want) <= ATOL + RTOL * fabs(want), "%s: %s at t = %d is %.17g, not %.17g",
              name, what, t, got, want);
}

static void expect_onecycle(const char *name)
{
    cJSON *root = golden_load("schedules.json");
    const cJSON *c = golden_case(root, name);
    gd_schedule s = onecycle_of(c);
    cr_assert_eq(gd_schedule_check(&s), GD_OK, "%s", name);
    const cJSON *lr = golden_field(c, "lr"), *momentum = golden_field(c, "momentum");
    int n = cJSON_GetArraySize(lr);
    cr_assert_eq(n, s.total_steps);
    for (int t = 0; t < n; t++) {
        expect_near(gd_schedule_lr(&s, t), number_at(lr, t), "lr", name, t);
        expect_near(gd_schedule_momentum(&s, t), number_at(momentum, t), "momentum", name, t);
    }
    cJSON_Delete(root);
}

/* The peak is step 5 of 20 (0.3 x 20 - 1), exactly max_lr; momentum runs the other way. */
Test(schedule_goldens, onecycle_with_sgd_matches_onecyclelr)
{
    expect_onecycle("onecycle_sgd_defaults");
}
/* Adam's betas[0] is the momentum that cycles: the same numbers, read from betas. */
Test(schedule_goldens, onecycle_with_adam_matches_onecyclelr_beta1)
{
    expect_onecycle("onecycle_adam_defaults");
}
/* Three steps: the first phase ends before step 0 (0.3 x 3 - 1 < 0). */
Test(schedule_goldens, onecycle_of_three_steps_matches_onecyclelr)
{
    expect_onecycle("onecycle_sgd_short");
}
Test(schedule_goldens, onecycle_with_other_factors_matches_onecyclelr)
{
    expect_onecycle("onecycle_sgd_options");
}

/* A warm-up runs first at max_momentum, then the cycle starts at its own t = 0. */
Test(schedule_goldens, onecycle_after_a_warmup_starts_its_cycle_then)
{
    cJSON *root = golden_load("schedules.json");
    const cJSON *c = golden_case(root, "onecycle_sgd_defaults");
    gd_schedule plain = onecycle_of(c), warm = plain;
    warm.warmup_steps = 4, warm.warmup_start_factor = 0.1;
    cr_expect_eq(gd_schedule_momentum(&warm, 0), 0.95);
    cr_expect_eq(gd_schedule_momentum(&warm, 3), 0.95);
    for (int t = 0; t < 20; t++) {
        cr_expect_eq(gd_schedule_lr(&warm, t + 4), gd_schedule_lr(&plain, t), "t = %d", t);
        cr_expect_eq(gd_schedule_momentum(&warm, t + 4), gd_schedule_momentum(&plain, t));
    }
    cJSON_Delete(root);
}

Test(schedule_goldens, onecycle_without_momentum_cycles_none)
{
    gd_schedule s = {.kind = GD_SCHEDULE_ONECYCLE, .base_lr = 0.1, .total_steps = 10,
                     .pct_start = 0.3, .div_factor = 25, .final_div_factor = 1e4};
    cr_assert_eq(gd_schedule_check(&s), GD_OK);
    cr_expect(isnan(gd_schedule_momentum(&s, 3)));
    gd_schedule cosine = {.kind = GD_SCHEDULE_COSINE, .base_lr = 0.1, .t_max = 10};
    cr_expect(isnan(gd_schedule_momentum(&cosine, 3)), "a cosine schedule cycles no momentum");
}

Test(schedule_goldens, onecycle_check_refuses_impossible_settings)
{
    gd_schedule ok = {.kind = GD_SCHEDULE_ONECYCLE, .base_lr = 0.1, .total_steps = 10,
                      .pct_start = 0.3, .div_factor = 25, .final_div_factor = 1e4,
                      .base_momentum = 0.85, .max_momentum = 0.95};
    cr_assert_eq(gd_schedule_check(&ok), GD_OK);
    gd_schedule bad[] = {ok, ok, ok, ok, ok, ok};
    bad[0].total_steps = 0;
    bad[1].pct_start = 1.5;
    bad[2].div_factor = 0;
    bad[3].final_div_factor = INFINITY;
    bad[4].max_momentum = 1;
    bad[5].base_momentum = -0.1;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(gd_schedule_check(&bad[i]), GD_ERR_INVALID_ARGUMENT, "case %zu", i);
        cr_expect(isnan(gd_schedule_lr(&bad[i], 0)), "case %zu", i);
    }
}

/* ----------------------------------------------------------------- plateau */

static gd_plateau plateau_of(const cJSON *c)
{
    const cJSON *s = golden_field(c, "plateau");
    gd_plateau p = gd_plateau_defaults(setting(s, "maximize", 0) != 0, golden_number(s, "lr"));
    p.factor = setting(s, "factor", p.factor);
    p.patience = (int64_t)setting(s, "patience", (double)p.patience);
    p.cooldown = (int64_t)setting(s, "cooldown", (double)p.cooldown);
    p.min_lr = setting(s, "min_lr", p.min_lr);
    return p;
}

static void expect_plateau(const char *name)
{
    cJSON *root = golden_load("schedules.json");
    const cJSON *c = golden_case(root, name);
    gd_plateau p = plateau_of(c);
    cr_assert_eq(gd_plateau_check(&p), GD_OK, "%s", name);
    const cJSON *metrics = golden_field(c, "metrics"), *lr = golden_field(c, "lr"),
                *best = golden_field(c, "best"), *bad = golden_field(c, "num_bad_epochs");
    for (int e = 0; e < cJSON_GetArraySize(metrics); e++) {
        double before = p.lr;
        bool lowered = gd_plateau_step(&p, number_at(metrics, e));
        cr_expect_eq(p.lr, number_at(lr, e), "%s: lr after epoch %d is %.17g, not %.17g", name,
                     e + 1, p.lr, number_at(lr, e));
        cr_expect_eq(lowered, p.lr < before, "%s: epoch %d says lowered %d", name, e + 1,
                     lowered);
        cr_expect_eq(p.num_bad_epochs, (int64_t)number_at(bad, e), "%s: epoch %d", name, e + 1);
        double want_best = number_at(best, e);
        if (isnan(want_best)) /* null: the start's infinity, nothing better seen yet */
            cr_expect(isinf(p.best), "%s: epoch %d", name, e + 1);
        else
            cr_expect_eq(p.best, want_best, "%s: best after epoch %d", name, e + 1);
    }
    cJSON_Delete(root);
}

Test(schedule_goldens, plateau_on_an_accuracy_matches_reducelronplateau)
{
    expect_plateau("plateau_max");
}
/* factor 0.1, patience 10, threshold 1e-4: 1.39995 is no improvement on 1.4. */
Test(schedule_goldens, plateau_with_pytorch_defaults_matches_reducelronplateau)
{
    expect_plateau("plateau_min_defaults");
}
Test(schedule_goldens, plateau_cooldown_matches_reducelronplateau)
{
    expect_plateau("plateau_min_cooldown");
}
Test(schedule_goldens, plateau_stops_at_min_lr) { expect_plateau("plateau_min_lr"); }
/* A reduction of eps (1e-8) or less is not made: the rate stays at 1e-8. */
Test(schedule_goldens, plateau_skips_a_reduction_within_eps) { expect_plateau("plateau_eps"); }
Test(schedule_goldens, plateau_counts_nan_as_no_improvement) { expect_plateau("plateau_nan"); }

Test(schedule_goldens, plateau_defaults_are_pytorchs)
{
    gd_plateau p = gd_plateau_defaults(false, 0.5);
    cr_expect_eq(p.factor, 0.1);
    cr_expect_eq(p.patience, 10);
    cr_expect_eq(p.threshold, 1e-4);
    cr_expect_eq(p.cooldown, 0);
    cr_expect_eq(p.min_lr, 0);
    cr_expect_eq(p.eps, 1e-8);
    cr_expect_eq(p.lr, 0.5);
    cr_expect(isinf(p.best) && p.best > 0, "mode min starts from +inf");
    cr_expect(isinf(gd_plateau_defaults(true, 0.5).best) && gd_plateau_defaults(true, 0.5).best < 0);
}

Test(schedule_goldens, plateau_check_refuses_impossible_settings)
{
    gd_plateau ok = gd_plateau_defaults(true, 0.1), bad[] = {ok, ok, ok, ok, ok};
    cr_assert_eq(gd_plateau_check(&ok), GD_OK);
    bad[0].factor = 1; /* PyTorch: "Factor should be < 1.0." */
    bad[1].factor = 0;
    bad[2].patience = -1;
    bad[3].threshold = -1e-4;
    bad[4].lr = 0;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_eq(gd_plateau_check(&bad[i]), GD_ERR_INVALID_ARGUMENT, "case %zu", i);
}
