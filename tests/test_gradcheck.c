/* The gradient check (gd_gradcheck, through tests/gradcheck.h's helpers) must catch real
 * bugs: for every layer family, a backward whose input gradient or parameter gradient is
 * off by 1% or has its sign flipped fails the check, while the untouched layer passes. The
 * bug is planted by swapping the layer's vtable for a copy whose backward distorts the
 * true result. Tolerance GRADCHECK_TOL (2e-3, justified in gradcheck.h and gradus.h): a 1%
 * error reads as ~1e-2, a flipped sign as 2, correct float32 code below 1e-3. */
#include "../src/model/model.h"
#include "gradcheck.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    BUG_NONE,
    BUG_INPUT_SCALE,
    BUG_INPUT_SIGN,
    BUG_PARAM_SCALE,
    BUG_PARAM_SIGN,
    BUG_BIAS_SCALE /* the bias gradient alone, 1% off */
} bug;

static const gd_layer_ops *g_true_ops;
static gd_layer_ops g_mutant_ops;
static bug g_bug;

static void scale(float *v, int64_t n, float by)
{
    for (int64_t i = 0; v && i < n; i++)
        v[i] *= by;
}

static void mutant_backward(gd_layer *l, const gd_pass *run)
{
    g_true_ops->backward(l, run);
    float by = (g_bug == BUG_INPUT_SCALE || g_bug == BUG_PARAM_SCALE || g_bug == BUG_BIAS_SCALE)
                   ? 1.01f
                   : -1.0f;
    if (g_bug == BUG_INPUT_SCALE || g_bug == BUG_INPUT_SIGN)
        scale(l->in_grad, run->n * gd_shape_numel(&l->in_shape), by);
    else
        for (int k = 0; k < l->ntensors; k++)
            if (l->tensors[k].role == GD_ROLE_PARAMETER &&
                (g_bug != BUG_BIAS_SCALE || strcmp(l->tensor_suffix[k], "bias") == 0))
                scale(l->tensors[k].grad.data, gd_tensor_numel(&l->tensors[k].grad), by);
}

/* Plants the bug in layer "1" (the layer under test; layer "0" is a Linear feeding it, so
 * the input gradient the bug distorts reaches the check). */
static void plant(gd_model *m, bug b)
{
    gd_layer *l = m->layers[1];
    g_true_ops = l->ops;
    g_mutant_ops = *l->ops;
    g_mutant_ops.backward = mutant_backward;
    g_bug = b;
    l->ops = &g_mutant_ops;
}

typedef gd_status (*add_fn)(gd_model *m);

/* Linear(4, width) then the layer under test, for batches of 6, with the bug planted. */
static gd_model *model_with_bug(add_fn add, bug b, int64_t width)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 3), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 4, width, true), GD_OK);
    cr_assert_eq(add(m), GD_OK, "%s", gd_model_error(m));
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){4}, 6), GD_OK, "%s", gd_model_error(m));
    if (b != BUG_NONE)
        plant(m, b);
    return m;
}

static gd_tensor batch(void) { return random_tensor(11, -2, 2, 2, (int64_t[]){6, 4}); }

static bool check_with_bug(add_fn add, bug b, int64_t width)
{
    gd_model *m = model_with_bug(add, b, width);
    gd_tensor x = batch();
    char report[256];
    bool ok = gradcheck_model(m, &x, GRADCHECK_TOL, report, sizeof report);
    free(x.data);
    gd_model_free(m);
    return ok;
}

static bool has_params(add_fn add)
{
    gd_model *m;
    gd_model_create(&m, 3);
    gd_model_add_linear(m, 4, 6, true);
    add(m);
    gd_model_build(m, 1, (int64_t[]){4}, 1);
    bool any = m->layers[1]->ntensors > 0 && m->layers[1]->tensors[0].role == GD_ROLE_PARAMETER;
    gd_model_free(m);
    return any;
}

static void expect_bugs_caught(add_fn add, const char *what)
{
    cr_expect(check_with_bug(add, BUG_NONE, 6), "%s: the correct layer must pass", what);
    cr_expect(!check_with_bug(add, BUG_INPUT_SCALE, 6), "%s: 1%% input-gradient error not caught", what);
    cr_expect(!check_with_bug(add, BUG_INPUT_SIGN, 6), "%s: flipped input gradient not caught", what);
    if (!has_params(add))
        return;
    cr_expect(!check_with_bug(add, BUG_PARAM_SCALE, 6), "%s: 1%% parameter-gradient error not caught", what);
    cr_expect(!check_with_bug(add, BUG_PARAM_SIGN, 6), "%s: flipped parameter gradient not caught", what);
}

static gd_status add_linear(gd_model *m) { return gd_model_add_linear(m, 6, 5, true); }
static gd_status add_sigmoid(gd_model *m) { return gd_model_add_activation(m, GD_ACT_SIGMOID); }
static gd_status add_tanh(gd_model *m) { return gd_model_add_activation(m, GD_ACT_TANH); }
static gd_status add_relu(gd_model *m) { return gd_model_add_activation(m, GD_ACT_RELU); }
static gd_status add_leaky(gd_model *m) { return gd_model_add_activation_with(m, GD_ACT_LEAKY_RELU, 0.1); }
static gd_status add_elu(gd_model *m) { return gd_model_add_activation(m, GD_ACT_ELU); }
static gd_status add_gelu(gd_model *m) { return gd_model_add_activation(m, GD_ACT_GELU); }
static gd_status add_silu(gd_model *m) { return gd_model_add_activation(m, GD_ACT_SILU); }
static gd_status add_softplus(gd_model *m) { return gd_model_add_activation(m, GD_ACT_SOFTPLUS); }
static gd_status add_prelu(gd_model *m) { return gd_model_add_prelu(m, 6, 0.25); }
static gd_status add_maxout(gd_model *m) { return gd_model_add_maxout(m, 2); }
static gd_status add_batchnorm(gd_model *m) { return gd_model_add_batchnorm1d(m, 6, 1e-5, 0.1); }
static gd_status add_dropout(gd_model *m) { return gd_model_add_dropout(m, 0.3); }
static gd_status add_residual(gd_model *m)
{
    gd_model_begin_residual(m);
    gd_model_add_linear(m, 6, 6, true);
    gd_model_add_activation(m, GD_ACT_TANH);
    return gd_model_end_residual(m);
}

Test(gradcheck, catches_bugs_in_linear) { expect_bugs_caught(add_linear, "linear"); }
Test(gradcheck, catches_bugs_in_sigmoid) { expect_bugs_caught(add_sigmoid, "sigmoid"); }
Test(gradcheck, catches_bugs_in_tanh) { expect_bugs_caught(add_tanh, "tanh"); }
Test(gradcheck, catches_bugs_in_relu) { expect_bugs_caught(add_relu, "relu"); }
Test(gradcheck, catches_bugs_in_leaky_relu) { expect_bugs_caught(add_leaky, "leaky_relu"); }
Test(gradcheck, catches_bugs_in_elu) { expect_bugs_caught(add_elu, "elu"); }
Test(gradcheck, catches_bugs_in_gelu) { expect_bugs_caught(add_gelu, "gelu"); }
Test(gradcheck, catches_bugs_in_silu) { expect_bugs_caught(add_silu, "silu"); }
Test(gradcheck, catches_bugs_in_softplus) { expect_bugs_caught(add_softplus, "softplus"); }
Test(gradcheck, catches_bugs_in_prelu) { expect_bugs_caught(add_prelu, "prelu"); }
Test(gradcheck, catches_bugs_in_maxout) { expect_bugs_caught(add_maxout, "maxout"); }
Test(gradcheck, catches_bugs_in_batchnorm1d) { expect_bugs_caught(add_batchnorm, "batchnorm1d"); }
Test(gradcheck, catches_bugs_in_dropout) { expect_bugs_caught(add_dropout, "dropout"); }
Test(gradcheck, catches_bugs_in_residual) { expect_bugs_caught(add_residual, "residual"); }

/* ------------------------------------------------------------------ losses */

/* The loss's gradient, distorted after gd_model_loss wrote it. */
static float g_loss_scale = 1.0f;

static gd_status mutant_loss(gd_model *m, const gd_loss *loss, const int32_t *labels,
                             const float *targets, double *value)
{
    gd_status st = gd_model_loss(m, loss, labels, targets, value);
    scale(gd_model_output_grad(m)->data, gd_tensor_numel(gd_model_output_grad(m)), g_loss_scale);
    return st;
}

static bool loss_check_with(const gd_loss *loss, float distortion)
{
    /* 6 rows of 5 scores in [-2, 2] from a fixed seed; hinge terms are kept off their
     * kinks by the seed, which test_loss.c checks for its own inputs. */
    gd_tensor x = random_tensor(21, -2, 2, 2, (int64_t[]){6, 5});
    gd_tensor target = random_tensor(22, -2, 2, 2, (int64_t[]){6, 5});
    int32_t labels[6] = {0, 3, 1, 4, 2, 0};
    gd_model *m = identity_model(&x);
    g_loss_scale = distortion;
    char report[256];
    bool ok = gradcheck_loss(m, &x, loss, labels, target.data, mutant_loss, GRADCHECK_TOL, report,
                             sizeof report);
    gd_model_free(m);
    free(x.data);
    free(target.data);
    return ok;
}

static void expect_loss_bugs_caught(gd_loss loss, const char *what)
{
    cr_expect(loss_check_with(&loss, 1.0f), "%s: the correct loss must pass", what);
    cr_expect(!loss_check_with(&loss, 1.01f), "%s: 1%% gradient error not caught", what);
    cr_expect(!loss_check_with(&loss, -1.0f), "%s: flipped gradient not caught", what);
}

Test(gradcheck, catches_bugs_in_cross_entropy)
{
    expect_loss_bugs_caught((gd_loss){.kind = GD_LOSS_CROSS_ENTROPY, .label_smoothing = 0.1}, "cross-entropy");
}
Test(gradcheck, catches_bugs_in_hinge)
{
    expect_loss_bugs_caught((gd_loss){.kind = GD_LOSS_MULTICLASS_HINGE, .margin = 1.0}, "hinge");
}
Test(gradcheck, catches_bugs_in_mse) { expect_loss_bugs_caught((gd_loss){.kind = GD_LOSS_MSE}, "mse"); }

/* ----------------------------------------------- the library call itself */

#define MAX_ENTRIES 8

/* gd_gradcheck on the Linear(4, 6) + layer model with bug b, into entries. The entries'
 * names are the model's: *kept gets the model, to free after reading them (NULL: freed). */
static gd_gradcheck_result check_into(add_fn add, bug b, const gd_gradcheck_options *opt,
                                      gd_gradcheck_tensor *entries, gd_model **kept)
{
    gd_model *m = model_with_bug(add, b, 6);
    gd_tensor x = batch();
    gd_gradcheck_result r = {.tensors = entries, .capacity = MAX_ENTRIES};
    gd_error err;
    cr_assert_eq(gd_gradcheck(m, &x, opt, &r, &err), GD_OK, "%s", err.message);
    free(x.data);
    if (kept)
        *kept = m;
    else
        gd_model_free(m);
    return r;
}

static bool passes(const gd_gradcheck_result *r) { return r->worst_error <= GRADCHECK_TOL; }

Test(gradcheck, reports_every_parameter_tensor_by_name_input_first)
{
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    gd_gradcheck_tensor e[MAX_ENTRIES];
    gd_model *m;
    gd_gradcheck_result r = check_into(add_linear, BUG_NONE, &opt, e, &m);
    const char *names[] = {"input", "0.weight", "0.bias", "1.weight", "1.bias"};
    const int64_t numel[] = {24, 24, 6, 30, 5};
    cr_assert_eq(r.count, 5);
    for (size_t i = 0; i < r.count; i++) {
        cr_expect_str_eq(e[i].name, names[i]);
        cr_expect_eq(e[i].numel, numel[i], "%s", names[i]);
        cr_expect_eq(e[i].checked, numel[i], "%s: samples 0 checks every element", names[i]);
    }
    cr_expect(passes(&r), "worst %g", r.worst_error);
    gd_model_free(m);
}

Test(gradcheck, report_names_the_tensor_with_the_bug_and_its_values)
{
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    gd_gradcheck_tensor e[MAX_ENTRIES];
    gd_model *m;
    gd_gradcheck_result r = check_into(add_linear, BUG_BIAS_SCALE, &opt, e, &m);
    const gd_gradcheck_tensor *w = &e[r.worst];
    cr_assert_str_eq(w->name, "1.bias");
    cr_expect_eq(r.worst_error, w->worst_error);
    cr_expect(w->worst_index >= 0 && w->worst_index < w->numel);
    /* The planted 1% shows as the analytic value over the numeric one (to float32 noise). */
    cr_expect(fabs(w->analytic / w->numeric - 1.01) < 1e-3, "analytic %g, numeric %g", w->analytic,
              w->numeric);
    for (size_t i = 0; i < r.count; i++)
        if (i != r.worst)
            cr_expect(e[i].worst_error <= GRADCHECK_TOL, "%s: %g", e[i].name, e[i].worst_error);
    gd_model_free(m);
}

Test(gradcheck, sampling_checks_every_tensor_and_catches_a_bias_only_bug)
{
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    opt.samples = 3;
    gd_gradcheck_tensor e[MAX_ENTRIES];
    gd_model *m;
    gd_gradcheck_result r = check_into(add_linear, BUG_NONE, &opt, e, &m);
    cr_assert_eq(r.count, 5);
    for (size_t i = 0; i < r.count; i++)
        cr_expect_eq(e[i].checked, 3, "%s: 3 of %lld", e[i].name, (long long)e[i].numel);
    cr_expect(passes(&r), "the correct model must pass sampled: %g", r.worst_error);

    gd_model_free(m);

    r = check_into(add_linear, BUG_BIAS_SCALE, &opt, e, &m);
    cr_expect(!passes(&r), "1%% bias-gradient error not caught with 3 samples per tensor");
    cr_expect_str_eq(e[r.worst].name, "1.bias");
    gd_model_free(m);
}

Test(gradcheck, samples_beyond_a_tensor_check_all_of_it)
{
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    opt.samples = 10;
    gd_gradcheck_tensor e[MAX_ENTRIES];
    check_into(add_linear, BUG_NONE, &opt, e, NULL);
    cr_expect_eq(e[2].checked, 6, "0.bias has 6 elements");
    cr_expect_eq(e[1].checked, 10, "0.weight: 10 of 24");
}

Test(gradcheck, same_seed_gives_the_same_result)
{
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    opt.samples = 4;
    opt.seed = 42;
    gd_gradcheck_tensor a[MAX_ENTRIES], b[MAX_ENTRIES];
    gd_gradcheck_result ra = check_into(add_batchnorm, BUG_NONE, &opt, a, NULL);
    gd_gradcheck_result rb = check_into(add_batchnorm, BUG_NONE, &opt, b, NULL);
    cr_assert_eq(ra.count, rb.count);
    cr_expect_eq(ra.worst, rb.worst);
    for (size_t i = 0; i < ra.count; i++) {
        cr_expect_eq(a[i].checked, b[i].checked, "entry %zu", i);
        cr_expect_eq(a[i].worst_index, b[i].worst_index, "entry %zu", i);
        cr_expect_eq(a[i].worst_error, b[i].worst_error, "entry %zu: bit for bit", i);
        cr_expect_eq(a[i].numeric, b[i].numeric, "entry %zu", i);
    }
}

/* Cross-entropy over Linear(4, 6) + Linear(6, 5) logits, labels in [0, 5). */
static const int32_t k_labels[6] = {0, 3, 1, 4, 2, 0};

Test(gradcheck, loss_objective_catches_planted_bugs)
{
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY, .label_smoothing = 0.1};
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    opt.objective = GD_GRADCHECK_LOSS;
    opt.loss = &loss;
    opt.labels = k_labels;
    gd_gradcheck_tensor e[MAX_ENTRIES];
    gd_gradcheck_result r = check_into(add_linear, BUG_NONE, &opt, e, NULL);
    cr_expect(passes(&r), "the correct model must pass: entry %zu, %g", r.worst, r.worst_error);
    const bug bugs[] = {BUG_INPUT_SCALE, BUG_INPUT_SIGN, BUG_PARAM_SCALE, BUG_PARAM_SIGN, BUG_BIAS_SCALE};
    for (size_t i = 0; i < sizeof bugs / sizeof *bugs; i++) {
        r = check_into(add_linear, bugs[i], &opt, e, NULL);
        cr_expect(!passes(&r), "planted bug %d not caught through the cross-entropy", (int)bugs[i]);
    }
}

/* A whole model as `gradus check` sees it: batch norm and dropout in training, the loss. */
Test(gradcheck, loss_objective_passes_a_whole_training_model)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, "linear(8) bn tanh dropout(0.2) linear(5)", 3, 1,
                                    (int64_t[]){4}, 6, &err),
                 GD_OK, "%s", err.message);
    gd_tensor x = batch();
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY};
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    opt.objective = GD_GRADCHECK_LOSS;
    opt.loss = &loss;
    opt.labels = k_labels;
    gd_gradcheck_tensor e[MAX_ENTRIES];
    gd_gradcheck_result r = {.tensors = e, .capacity = MAX_ENTRIES};
    cr_assert_eq(gd_gradcheck(m, &x, &opt, &r, &err), GD_OK, "%s", err.message);
    cr_expect_eq(r.count, 7, "input, 0.weight, 0.bias, 1.weight, 1.bias, 4.weight, 4.bias");
    cr_expect(passes(&r), "%s[%lld]: %g", e[r.worst].name, (long long)e[r.worst].worst_index,
              r.worst_error);
    free(x.data);
    gd_model_free(m);
}

Test(gradcheck, leaves_parameters_buffers_and_generator_as_found)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, "linear(6) bn dropout(0.3) linear(3)", 3, 1,
                                    (int64_t[]){4}, 6, &err),
                 GD_OK, "%s", err.message);
    gd_tensor x = batch();
    gd_tensor flat = gd_model_parameters_flat(m);
    size_t np = (size_t)flat.dims[0];
    float *before = malloc(np * sizeof(float));
    memcpy(before, flat.data, np * sizeof(float));
    float mean0 = gd_model_param(m, "1.running_mean")->data[0];
    int64_t tracked = *gd_model_tensor(m, "1.num_batches_tracked")->i64;
    uint64_t state[GD_RNG_STATE_WORDS], after[GD_RNG_STATE_WORDS];
    gd_rng_get_state(gd_model_rng(m), state);

    gd_gradcheck_tensor e[MAX_ENTRIES];
    gd_gradcheck_result r = {.tensors = e, .capacity = MAX_ENTRIES};
    cr_assert_eq(gd_gradcheck(m, &x, NULL, &r, &err), GD_OK, "%s", err.message);

    cr_expect(memcmp(before, flat.data, np * sizeof(float)) == 0, "parameters restored bit for bit");
    cr_expect_eq(gd_model_param(m, "1.running_mean")->data[0], mean0);
    cr_expect_eq(*gd_model_tensor(m, "1.num_batches_tracked")->i64, tracked);
    gd_rng_get_state(gd_model_rng(m), after);
    cr_expect(memcmp(state, after, sizeof state) == 0, "generator restored");
    cr_expect(gd_model_is_training(m), "mode unchanged");
    free(before);
    free(x.data);
    gd_model_free(m);
}

Test(gradcheck, a_result_too_small_says_how_many_entries_it_needs)
{
    gd_model *m = model_with_bug(add_linear, BUG_NONE, 6);
    gd_tensor x = batch();
    gd_gradcheck_tensor e[2];
    gd_gradcheck_result r = {.tensors = e, .capacity = 2};
    gd_error err;
    cr_expect_eq(gd_gradcheck(m, &x, NULL, &r, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(r.count, 5);
    cr_expect_eq(gd_gradcheck_tensor_count(m, true), 5);
    cr_expect_eq(gd_gradcheck_tensor_count(m, false), 4);
    free(x.data);
    gd_model_free(m);
}

Test(gradcheck, refuses_bad_options_with_a_message)
{
    gd_model *m = model_with_bug(add_linear, BUG_NONE, 6);
    gd_tensor x = batch();
    gd_gradcheck_tensor e[MAX_ENTRIES];
    gd_gradcheck_result r = {.tensors = e, .capacity = MAX_ENTRIES};
    gd_error err;
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    opt.step = 0;
    cr_expect_eq(gd_gradcheck(m, &x, &opt, &r, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "step") != NULL, "%s", err.message);
    opt = gd_gradcheck_defaults();
    opt.objective = GD_GRADCHECK_LOSS;
    cr_expect_eq(gd_gradcheck(m, &x, &opt, &r, &err), GD_ERR_INVALID_ARGUMENT, "no loss given");
    opt.samples = -1;
    cr_expect_eq(gd_gradcheck(m, &x, &opt, &r, NULL), GD_ERR_INVALID_ARGUMENT, "err may be NULL");
    gd_tensor wide = random_tensor(1, -1, 1, 2, (int64_t[]){6, 5});
    cr_expect_eq(gd_gradcheck(m, &wide, NULL, &r, &err), GD_ERR_SHAPE);
    cr_expect(strstr(err.message, "gradient check") != NULL, "%s", err.message);
    free(wide.data);
    free(x.data);
    gd_model_free(m);
}

Test(gradcheck, classifies_relative_errors_by_the_lecture_bands)
{
    cr_expect_eq(gd_gradcheck_classify(0), GD_GRADCHECK_GOOD);
    cr_expect_eq(gd_gradcheck_classify(9e-8), GD_GRADCHECK_GOOD);
    cr_expect_eq(gd_gradcheck_classify(1e-7), GD_GRADCHECK_KINKS_ONLY);
    cr_expect_eq(gd_gradcheck_classify(1e-4), GD_GRADCHECK_KINKS_ONLY);
    cr_expect_eq(gd_gradcheck_classify(1.1e-4), GD_GRADCHECK_FLOAT32_NOISE);
    cr_expect_eq(gd_gradcheck_classify(GD_GRADCHECK_FLOAT32_TOL), GD_GRADCHECK_FLOAT32_NOISE);
    cr_expect_eq(gd_gradcheck_classify(2.1e-3), GD_GRADCHECK_UNCOMFORTABLE);
    cr_expect_eq(gd_gradcheck_classify(1e-2), GD_GRADCHECK_UNCOMFORTABLE);
    cr_expect_eq(gd_gradcheck_classify(1.1e-2), GD_GRADCHECK_WRONG);
    cr_expect_eq(gd_gradcheck_classify(2), GD_GRADCHECK_WRONG, "a flipped sign");
    cr_expect_eq(gd_gradcheck_classify(INFINITY), GD_GRADCHECK_WRONG);
    cr_expect_eq(gd_gradcheck_classify(NAN), GD_GRADCHECK_WRONG, "a non-finite gradient");
    cr_expect_str_eq(gd_gradcheck_verdict_name(GD_GRADCHECK_FLOAT32_NOISE), "float32 noise");
    cr_expect_str_eq(gd_gradcheck_verdict_name(GD_GRADCHECK_WRONG), "wrong");
}

/* Two samples through 64 ReLU units twice: with h = 1e-2 some differences straddle a kink
 * (analytic 0 for a dead unit, numeric half a slope), which the check reads as wrong; with
 * kink_tolerance 1e-2 those elements are set aside, counted, and the rest pass, while a
 * planted bug still fails. */
static gd_gradcheck_result relu_check(bug b, double kink_tolerance, gd_gradcheck_tensor *e)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, "linear(64) relu linear(64) relu linear(10)", 3, 1,
                                    (int64_t[]){50}, 2, &err),
                 GD_OK, "%s", err.message);
    if (b != BUG_NONE)
        plant(m, b);
    gd_tensor x = random_tensor(11, -2, 2, 2, (int64_t[]){2, 50});
    int32_t labels[2] = {0, 7};
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY};
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    opt.objective = GD_GRADCHECK_LOSS;
    opt.loss = &loss;
    opt.labels = labels;
    opt.samples = 40;
    opt.kink_tolerance = kink_tolerance;
    gd_gradcheck_result r = {.tensors = e, .capacity = MAX_ENTRIES};
    cr_assert_eq(gd_gradcheck(m, &x, &opt, &r, &err), GD_OK, "%s", err.message);
    free(x.data);
    gd_model_free(m);
    return r;
}

Test(gradcheck, kink_tolerance_sets_aside_differences_that_straddle_a_relu_kink)
{
    gd_gradcheck_tensor e[MAX_ENTRIES];
    gd_gradcheck_result r = relu_check(BUG_NONE, 0, e);
    cr_expect(!passes(&r), "this seed straddles kinks: %g", r.worst_error);
    r = relu_check(BUG_NONE, 1e-2, e);
    cr_expect(passes(&r), "entry %zu: %g", r.worst, r.worst_error);
    int64_t kinks = 0;
    for (size_t i = 0; i < r.count; i++)
        kinks += e[i].kinks;
    cr_expect(kinks > 0 && kinks < 10, "a few of 250 elements set aside, got %lld", (long long)kinks);
    r = relu_check(BUG_INPUT_SCALE, 1e-2, e);
    cr_expect(!passes(&r), "a 1%% bug behind the ReLU must still fail");
}
