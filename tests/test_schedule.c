/* Learning-rate schedules against torch.optim.lr_scheduler 1.13 (goldens by
 * reference/gen_optim.py: the lr a scheduler sets after t = 0..12 steps), and
 * gd_schedule_check's refusals.
 *
 * Tolerance: gradus evaluates each schedule's closed form in double; PyTorch steps most of
 * them recursively (lr_t from lr_{t-1}), which drifts from the closed form by a few double
 * ulps (measured: at most 1.4e-15 relative over these cases). The goldens reach the test as
 * float32 (golden.h's reader), which rounds by up to 6e-8. rtol 1e-6 is well above both and
 * far below any wrong term: neighbouring rates differ by several percent. No atol: where
 * the rate is 0 (cosine at t_max with eta_min 0) both sides give exactly 0. */
#include "golden.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-6
#define ATOL 0

static gd_schedule_kind kind_named(const char *name)
{
    static const char *const names[] = {"constant", "step", "exponential", "cosine", "linear"};
    static const gd_schedule_kind kinds[] = {GD_SCHEDULE_CONSTANT, GD_SCHEDULE_STEP,
                                             GD_SCHEDULE_EXPONENTIAL, GD_SCHEDULE_COSINE,
                                             GD_SCHEDULE_LINEAR};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return kinds[i];
    cr_assert_fail("unknown schedule kind '%s' in the golden file", name);
    return GD_SCHEDULE_CONSTANT;
}

/* gd_schedule's fields by name, to read a golden case's settings and to spoil one. */
static const struct {
    const char *name;
    size_t offset;
    bool is_int;
} schedule_fields[] = {
    {"base_lr", offsetof(gd_schedule, base_lr), false},
    {"step_size", offsetof(gd_schedule, step_size), true},
    {"gamma", offsetof(gd_schedule, gamma), false},
    {"t_max", offsetof(gd_schedule, t_max), true},
    {"eta_min", offsetof(gd_schedule, eta_min), false},
    {"start_factor", offsetof(gd_schedule, start_factor), false},
    {"end_factor", offsetof(gd_schedule, end_factor), false},
    {"total_iters", offsetof(gd_schedule, total_iters), true},
    {"warmup_steps", offsetof(gd_schedule, warmup_steps), true},
    {"warmup_start_factor", offsetof(gd_schedule, warmup_start_factor), false},
};

static void set_field(gd_schedule *s, const char *name, double value)
{
    size_t n = sizeof schedule_fields / sizeof *schedule_fields, i = 0;
    while (i < n && strcmp(schedule_fields[i].name, name) != 0)
        i++;
    cr_assert(i < n, "no gd_schedule field '%s'", name);
    char *at = (char *)s + schedule_fields[i].offset;
    if (schedule_fields[i].is_int)
        *(int64_t *)at = (int64_t)value;
    else
        *(double *)at = value;
}

/* A golden case's settings (absent fields are 0, as in a zeroed gd_schedule). */
static gd_schedule schedule_of(const cJSON *c)
{
    const cJSON *settings = golden_field(c, "schedule");
    gd_schedule s = {.kind = kind_named(golden_field(settings, "kind")->valuestring)};
    const cJSON *item;
    cJSON_ArrayForEach(item, settings)
        if (strcmp(item->string, "kind") != 0)
            set_field(&s, item->string, item->valuedouble);
    return s;
}

static void expect_golden_schedule(const char *name)
{
    cJSON *root = golden_load("optim.json");
    const cJSON *c = golden_case(root, name);
    gd_schedule s = schedule_of(c);
    cr_assert_eq(gd_schedule_check(&s), GD_OK);
    gd_tensor want = golden_tensor(c, "lr");
    int64_t steps = gd_tensor_numel(&want);
    float got[64];
    cr_assert(steps <= 64);
    for (int64_t t = 0; t < steps; t++)
        got[t] = (float)gd_schedule_lr(&s, t);
    expect_close(got, want.data, steps, RTOL, ATOL, name);
    free(want.data);
    cJSON_Delete(root);
}

Test(schedule, constant_matches_pytorch) { expect_golden_schedule("schedule_constant"); }
Test(schedule, step_matches_steplr) { expect_golden_schedule("schedule_step"); }
Test(schedule, exponential_matches_exponentiallr)
{
    expect_golden_schedule("schedule_exponential");
}
/* t runs to 12 with t_max 8: past t_max the rate climbs back, as PyTorch's does. */
Test(schedule, cosine_matches_cosineannealinglr_past_t_max)
{
    expect_golden_schedule("schedule_cosine");
}
Test(schedule, linear_with_pytorch_defaults_matches_linearlr)
{
    expect_golden_schedule("schedule_linear_defaults");
}
Test(schedule, linear_decay_matches_linearlr) { expect_golden_schedule("schedule_linear_decay"); }
/* Warm-up then the main schedule from its own t = 0: SequentialLR([LinearLR, main]). */
Test(schedule, warmup_then_cosine_matches_sequentiallr)
{
    expect_golden_schedule("schedule_warmup_cosine");
}
Test(schedule, warmup_then_step_matches_sequentiallr)
{
    expect_golden_schedule("schedule_warmup_step");
}
Test(schedule, warmup_then_linear_matches_sequentiallr)
{
    expect_golden_schedule("schedule_warmup_linear");
}

/* ------------------------------------------------------------------ refusals */

/* Valid settings for every kind, warm-up included. */
static gd_schedule valid(gd_schedule_kind kind)
{
    return (gd_schedule){.kind = kind, .base_lr = 0.1, .step_size = 2, .gamma = 0.5,
                         .t_max = 10, .eta_min = 0, .start_factor = 0.5, .end_factor = 1,
                         .total_iters = 4, .warmup_steps = 3, .warmup_start_factor = 0.1};
}

/* Refused by the check, and the rate of a refused schedule is NaN. */
static void expect_refused(gd_schedule s, const char *what)
{
    cr_expect_eq(gd_schedule_check(&s), GD_ERR_INVALID_ARGUMENT, "%s was accepted", what);
    cr_expect(isnan(gd_schedule_lr(&s, 0)), "%s: lr is %g, not NaN", what,
              gd_schedule_lr(&s, 0));
}

Test(schedule, the_settings_used_as_base_here_are_valid)
{
    for (int k = GD_SCHEDULE_CONSTANT; k <= GD_SCHEDULE_LINEAR; k++) {
        gd_schedule s = valid((gd_schedule_kind)k);
        cr_expect_eq(gd_schedule_check(&s), GD_OK, "kind %d", k);
        s.warmup_steps = 0;
        cr_expect_eq(gd_schedule_check(&s), GD_OK, "kind %d without warm-up", k);
    }
}

/* One field spoiled at a time; LinearLR's factor rules (start in (0, 1], end in [0, 1])
 * hold for the warm-up's start factor too. */
Test(schedule, check_refuses_impossible_settings)
{
    static const struct {
        gd_schedule_kind kind;
        const char *field;
        double value;
    } spoiled[] = {
        {GD_SCHEDULE_CONSTANT, "base_lr", -0.1},
        {GD_SCHEDULE_CONSTANT, "base_lr", INFINITY},
        {GD_SCHEDULE_STEP, "step_size", 0},
        {GD_SCHEDULE_STEP, "gamma", NAN},
        {GD_SCHEDULE_EXPONENTIAL, "gamma", -0.5},
        {GD_SCHEDULE_COSINE, "t_max", 0},
        {GD_SCHEDULE_COSINE, "eta_min", -1e-3},
        {GD_SCHEDULE_LINEAR, "start_factor", 0},
        {GD_SCHEDULE_LINEAR, "start_factor", 1.5},
        {GD_SCHEDULE_LINEAR, "end_factor", -0.1},
        {GD_SCHEDULE_LINEAR, "end_factor", 1.5},
        {GD_SCHEDULE_LINEAR, "total_iters", 0},
        {GD_SCHEDULE_CONSTANT, "warmup_steps", -1},
        {GD_SCHEDULE_CONSTANT, "warmup_start_factor", 0},
        {GD_SCHEDULE_COSINE, "warmup_start_factor", 1.5},
    };
    for (size_t i = 0; i < sizeof spoiled / sizeof *spoiled; i++) {
        gd_schedule s = valid(spoiled[i].kind);
        set_field(&s, spoiled[i].field, spoiled[i].value);
        char what[64];
        snprintf(what, sizeof what, "kind %d with %s %g", (int)spoiled[i].kind,
                 spoiled[i].field, spoiled[i].value);
        expect_refused(s, what);
    }
}

Test(schedule, unknown_kind_is_refused)
{
    gd_schedule s = valid(GD_SCHEDULE_CONSTANT);
    s.kind = (gd_schedule_kind)42;
    expect_refused(s, "kind 42");
}

/* A constant schedule reads only base_lr: zeroed step or cosine settings are no error. */
Test(schedule, check_ignores_fields_the_kind_does_not_read)
{
    gd_schedule s = {.kind = GD_SCHEDULE_CONSTANT, .base_lr = 0.1};
    cr_expect_eq(gd_schedule_check(&s), GD_OK);
    cr_expect_eq(gd_schedule_lr(&s, 1000000), 0.1);
}

Test(schedule, lr_before_step_zero_is_nan)
{
    gd_schedule s = valid(GD_SCHEDULE_STEP);
    cr_expect(isnan(gd_schedule_lr(&s, -1)));
}
