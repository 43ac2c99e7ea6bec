/* The setup checks (gd_check_*): each passes on a sound small setup and fails on one made
 * to fail it: an initialisation scaled x100 (initial loss), a backward with a flipped sign
 * (gradients), a learning rate of 1e-9 (overfit), a first layer that passes nothing on
 * (baseline), a backward that leaks one sample's gradient into another's (batch
 * independence), a forward that draws from a counter outside the seed (determinism).
 * Bugs are planted by swapping a layer's vtable for a copy, as tests/test_gradcheck.c
 * does. The data: 64 examples of 16 features uniform in [-1, 1), labelled by which of the
 * first four features is largest, so that the input decides the label. */
#include "../src/model/model.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N 64
#define FEATURES 16
#define CLASSES 4
#define SOUND_MLP "linear(32) relu linear(4)"

static gd_dataset *make_data(void)
{
    static float x[N * FEATURES];
    static int32_t y[N];
    gd_rng *rng;
    cr_assert_eq(gd_rng_create(&rng, 3), GD_OK);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < FEATURES; k++)
            x[i * FEATURES + k] = (float)(2 * gd_rng_uniform(rng) - 1);
        y[i] = gd_argmax(x + i * FEATURES, CLASSES);
    }
    gd_rng_free(rng);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, N, 1, (int64_t[]){FEATURES}, x, y, CLASSES, &err), GD_OK,
                 "%s", err.message);
    return ds;
}

/* A setup over the test data with a spec; settings are the defaults otherwise (Adam at
 * 1e-3, batch 128, seed 1). */
typedef struct fixture {
    gd_settings s;
    gd_check_setup setup;
    gd_check_result r;
} fixture;

static void fixture_init(fixture *f, const char *spec)
{
    gd_settings_defaults(&f->s);
    cr_assert_eq(gd_settings_set(&f->s, "model", spec, NULL), GD_OK);
    f->setup = (gd_check_setup){.settings = &f->s, .data = make_data()};
}

static void fixture_free(fixture *f)
{
    gd_dataset_free(f->setup.data);
    gd_settings_free(&f->s);
}

typedef gd_status (*check_fn)(const gd_check_setup *, gd_check_result *, gd_error *);

/* Runs a check, asserting that it ran, and returns its verdict. */
static gd_check_verdict run(fixture *f, check_fn check)
{
    gd_error err;
    gd_status st = check(&f->setup, &f->r, &err);
    cr_assert_eq(st, GD_OK, "the check could not run: %s", err.message);
    cr_log_info("%s: %s; %s", f->r.title, f->r.summary, f->r.advice);
    return f->r.verdict;
}

static gd_check_verdict verdict_for(const char *spec, check_fn check)
{
    fixture f;
    fixture_init(&f, spec);
    gd_check_verdict v = run(&f, check);
    fixture_free(&f);
    return v;
}

static double figure(const gd_check_result *r, const char *name)
{
    for (size_t i = 0; i < r->nfigures; i++)
        if (strcmp(r->figures[i].name, name) == 0)
            return r->figures[i].value;
    cr_assert_fail("no figure '%s'", name);
    return NAN;
}

/* ------------------------------------------------------- planted bugs */

typedef enum { BUG_NONE, BUG_SIGN, BUG_MIXING, BUG_UNSEEDED } bug;

static const gd_layer_ops *g_true_ops;
static gd_layer_ops g_mutant_ops;
static bug g_bug;
static int g_calls; /* forwards so far: what an unseeded source would differ by */

static void mutant_backward(gd_layer *l, const gd_pass *run)
{
    g_true_ops->backward(l, run);
    int64_t width = gd_shape_numel(&l->in_shape);
    if (g_bug == BUG_SIGN)
        for (int k = 0; k < l->ntensors; k++)
            for (int64_t i = 0; i < gd_tensor_numel(&l->tensors[k].grad); i++)
                l->tensors[k].grad.data[i] = -l->tensors[k].grad.data[i];
    if (g_bug == BUG_MIXING && l->in_grad && run->n > 1) /* sample 0 leaks into sample 1 */
        for (int64_t i = 0; i < width; i++)
            l->in_grad[width + i] += 0.5f * l->in_grad[i];
}

static gd_status mutant_forward(gd_layer *l, const gd_pass *run)
{
    gd_status st = g_true_ops->forward(l, run);
    if (g_bug == BUG_UNSEEDED)
        l->out[0] += 1e-3f * (float)(g_calls++ % 7);
    return st;
}

/* The sound MLP with the bug planted in its first layer. */
static gd_status make_bugged(void *ctx, gd_model **out, gd_error *err)
{
    gd_status st = gd_model_from_spec(out, SOUND_MLP, 1, 1, (int64_t[]){FEATURES}, 128, err);
    if (st != GD_OK)
        return st;
    gd_layer *l = (*out)->layers[0];
    g_true_ops = l->ops;
    g_mutant_ops = *l->ops;
    g_mutant_ops.backward = mutant_backward;
    g_mutant_ops.forward = mutant_forward;
    g_bug = *(bug *)ctx;
    l->ops = &g_mutant_ops;
    return GD_OK;
}

static gd_check_verdict verdict_with_bug(bug b, check_fn check, fixture *f)
{
    fixture_init(f, SOUND_MLP);
    f->setup.make_model = make_bugged;
    f->setup.ctx = &b;
    gd_check_verdict v = run(f, check);
    fixture_free(f);
    return v;
}

/* ---------------------------------------------------------- 1. initial loss */

Test(check, initial_loss_near_ln_c_passes)
{
    fixture f;
    fixture_init(&f, SOUND_MLP);
    cr_expect_eq(run(&f, gd_check_initial_loss), GD_CHECK_PASS);
    cr_expect_float_eq(figure(&f.r, "expected"), log(CLASSES), 1e-12);
    cr_expect_gt(figure(&f.r, "loss_l2_1e-2"), figure(&f.r, "loss_l2_1e-3"));
    cr_expect_gt(figure(&f.r, "loss_l2_1e-3"), figure(&f.r, "loss"));
    fixture_free(&f);
}

/* PyTorch's default bound is 1/sqrt(fan_in): 0.25 for 16 inputs, 0.177 for 32; x100. */
Test(check, initial_loss_fails_for_an_initialisation_scaled_x100)
{
    cr_expect_eq(verdict_for("linear(32, init=uniform(-25, 25)) relu "
                             "linear(4, init=uniform(-17.7, 17.7))", gd_check_initial_loss),
                 GD_CHECK_FAIL);
}

Test(check, initial_loss_fails_when_l2_has_nothing_to_decay)
{
    cr_expect_eq(verdict_for("linear(4, init=zeros)", gd_check_initial_loss), GD_CHECK_FAIL);
}

Test(check, initial_loss_of_the_hinge_is_c_minus_1_times_the_margin)
{
    fixture f;
    fixture_init(&f, SOUND_MLP);
    f.setup.loss = (gd_loss){.kind = GD_LOSS_MULTICLASS_HINGE, .margin = 1};
    cr_expect_eq(run(&f, gd_check_initial_loss), GD_CHECK_PASS);
    cr_expect_float_eq(figure(&f.r, "expected"), CLASSES - 1, 1e-12);
    fixture_free(&f);
}

/* --------------------------------------------------------------- 2. gradients */

Test(check, gradients_of_a_sound_model_pass)
{
    cr_expect_eq(verdict_for(SOUND_MLP, gd_check_gradients), GD_CHECK_PASS);
    cr_expect_eq(verdict_for("linear(32) bn relu dropout(0.2) linear(4)", gd_check_gradients),
                 GD_CHECK_PASS);
}

Test(check, gradients_fail_for_a_backward_with_a_flipped_sign)
{
    fixture f;
    cr_expect_eq(verdict_with_bug(BUG_SIGN, gd_check_gradients, &f), GD_CHECK_FAIL);
    cr_expect_gt(figure(&f.r, "0.weight"), 1.0, "a flipped sign reads as a relative error of 2");
    cr_expect_lt(figure(&f.r, "2.weight"), GD_GRADCHECK_FLOAT32_TOL, "the layer after it is sound");
}

/* ----------------------------------------------------------------- 3. overfit */

/* At the default 1e-3 this 32-unit network gets every example right in 300 steps but a
 * loss of 0.076, a WARN (slow); 1e-2 learns them well inside the bound. */
Test(check, overfit_passes_at_a_sound_learning_rate)
{
    fixture f;
    fixture_init(&f, SOUND_MLP);
    cr_assert_eq(gd_settings_set(&f.s, "lr", "1e-2", NULL), GD_OK);
    cr_expect_eq(run(&f, gd_check_overfit), GD_CHECK_PASS);
    cr_expect_eq(figure(&f.r, "accuracy"), 1.0);
    cr_expect_leq(figure(&f.r, "steps"), GD_CHECK_OVERFIT_STEPS);
    fixture_free(&f);
}

Test(check, overfit_fails_at_a_learning_rate_of_1e_9)
{
    fixture f;
    fixture_init(&f, SOUND_MLP);
    cr_assert_eq(gd_settings_set(&f.s, "lr", "1e-9", NULL), GD_OK);
    cr_expect_eq(run(&f, gd_check_overfit), GD_CHECK_FAIL);
    cr_expect_eq(figure(&f.r, "steps"), GD_CHECK_OVERFIT_STEPS, "it tried every step");
    cr_expect(strstr(f.r.advice, "learning rate") != NULL, "%s", f.r.advice);
    fixture_free(&f);
}

/* ---------------------------------------------------------------- 4. baseline */

Test(check, baseline_real_inputs_beat_zeros)
{
    fixture f;
    fixture_init(&f, SOUND_MLP);
    cr_expect_eq(run(&f, gd_check_baseline), GD_CHECK_PASS);
    cr_expect_geq(figure(&f.r, "zero_loss"), figure(&f.r, "label_entropy") - 1e-3,
                  "a blind model cannot beat the labels' entropy");
    fixture_free(&f);
}

/* A first layer of zeros feeding a ReLU passes nothing on, and its gradient (through
 * ReLU's zero slope at 0) stays zero: the model never sees its input. */
Test(check, baseline_fails_for_a_model_that_ignores_its_input)
{
    cr_expect_eq(verdict_for("linear(32, init=zeros, bias_init=zeros) relu linear(4)",
                             gd_check_baseline),
                 GD_CHECK_FAIL);
}

/* ------------------------------------------------------ 5. batch independence */

Test(check, batch_independence_of_a_sound_model_passes)
{
    fixture f;
    fixture_init(&f, SOUND_MLP);
    cr_expect_eq(run(&f, gd_check_batch_independence), GD_CHECK_PASS);
    cr_expect_eq(figure(&f.r, "eval_leak"), 0.0);
    cr_expect_eq(figure(&f.r, "train_leak"), 0.0);
    fixture_free(&f);
}

Test(check, batch_norm_in_training_mixes_samples_by_design_and_passes)
{
    fixture f;
    fixture_init(&f, "linear(32) bn relu linear(4)");
    cr_expect_eq(run(&f, gd_check_batch_independence), GD_CHECK_PASS);
    cr_expect_eq(figure(&f.r, "eval_leak"), 0.0);
    cr_expect_gt(figure(&f.r, "train_leak"), 0.0);
    cr_expect(strstr(f.r.summary, "batch norm, by design") != NULL, "%s", f.r.summary);
    fixture_free(&f);
}

Test(check, batch_independence_fails_for_a_backward_that_mixes_samples)
{
    fixture f;
    cr_expect_eq(verdict_with_bug(BUG_MIXING, gd_check_batch_independence, &f), GD_CHECK_FAIL);
    cr_expect_gt(figure(&f.r, "eval_leak"), 0.0);
}

/* ------------------------------------------------------------- 7. determinism */

Test(check, determinism_same_seed_same_bits)
{
    cr_expect_eq(verdict_for(SOUND_MLP " dropout(0.3)", gd_check_determinism), GD_CHECK_PASS);
}

Test(check, determinism_fails_for_a_source_outside_the_seed)
{
    fixture f;
    g_calls = 0;
    cr_expect_eq(verdict_with_bug(BUG_UNSEEDED, gd_check_determinism, &f), GD_CHECK_FAIL);
    cr_expect(strstr(f.r.advice, "0.weight") != NULL || strstr(f.r.advice, "seed") != NULL,
              "%s", f.r.advice);
}

/* ------------------------------------------------------------------- results */

Test(check, verdict_names)
{
    cr_expect_str_eq(gd_check_verdict_name(GD_CHECK_PASS), "PASS");
    cr_expect_str_eq(gd_check_verdict_name(GD_CHECK_WARN), "WARN");
    cr_expect_str_eq(gd_check_verdict_name(GD_CHECK_FAIL), "FAIL");
    cr_expect_str_eq(gd_check_verdict_name(GD_CHECK_SKIP), "SKIP");
}

Test(check, a_model_that_cannot_be_built_is_an_error_not_a_verdict)
{
    fixture f;
    fixture_init(&f, "linear(");
    gd_error err;
    cr_expect_neq(gd_check_initial_loss(&f.setup, &f.r, &err), GD_OK);
    cr_expect(strstr(err.message, "--model") != NULL, "%s", err.message);
    fixture_free(&f);
}
