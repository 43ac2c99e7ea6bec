/* The optimisers against torch.optim 1.13 (goldens by reference/gen_optim.py), and their
 * contract: validation, state views, step counts and checkpoint restore.
 *
 * Tolerances. A golden case is three steps of PyTorch's own float32 kernels; gradus runs
 * the same formulas in float, in the same order, so the two differ only where either side
 * fuses or reorders an operation (ATen's vectorised add uses FMA): about an ulp per
 * operation, ten operations a step, three steps. Measured: at most 1.1e-6 relative, and
 * two cases agree bit for bit. rtol 1e-5 (~80 float32 ulps) leaves room for other
 * compilers and CPUs and still catches any wrong term: the learning rates make each update
 * 1% to 100% of its parameter. atol 2.5e-7, one ulp of the largest parameter (3), is for an
 * element that lands near zero after an O(1) update, whose error is the O(1) operands'
 * rounding rather than a fraction of the small result. */
#include "golden.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-5
#define ATOL 2.5e-7
#define NPARAMS 10
#define NSTEPS 3

/* Linear(2, 5, bias=False): 10 parameters, as many as the golden vectors. */
static gd_model *tiny_model(void)
{
    gd_model *m = NULL;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 2, 5, false), GD_OK);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){2}, 1), GD_OK, "%s", gd_model_error(m));
    gd_tensor p = gd_model_parameters_flat(m);
    cr_assert_eq(gd_tensor_numel(&p), NPARAMS);
    return m;
}

static gd_optim_kind kind_named(const char *name)
{
    static const char *const names[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};
    static const gd_optim_kind kinds[] = {GD_OPTIM_SGD, GD_OPTIM_ADAGRAD, GD_OPTIM_RMSPROP,
                                          GD_OPTIM_ADAM, GD_OPTIM_ADAMW};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return kinds[i];
    cr_assert_fail("unknown optimiser kind '%s' in the golden file", name);
    return GD_OPTIM_SGD;
}

/* gd_optim_config's fields by their (PyTorch) names, to read a golden case's "config". */
typedef struct config_field {
    const char *name;
    size_t offset;
    bool is_bool;
} config_field;

static const config_field config_fields[] = {
    {"lr", offsetof(gd_optim_config, lr), false},
    {"weight_decay", offsetof(gd_optim_config, weight_decay), false},
    {"momentum", offsetof(gd_optim_config, momentum), false},
    {"dampening", offsetof(gd_optim_config, dampening), false},
    {"nesterov", offsetof(gd_optim_config, nesterov), true},
    {"beta1", offsetof(gd_optim_config, beta1), false},
    {"beta2", offsetof(gd_optim_config, beta2), false},
    {"eps", offsetof(gd_optim_config, eps), false},
    {"amsgrad", offsetof(gd_optim_config, amsgrad), true},
    {"alpha", offsetof(gd_optim_config, alpha), false},
    {"centered", offsetof(gd_optim_config, centered), true},
    {"lr_decay", offsetof(gd_optim_config, lr_decay), false},
    {"initial_accumulator_value", offsetof(gd_optim_config, initial_accumulator_value), false},
};

static const config_field *config_field_named(const char *name)
{
    for (size_t i = 0; i < sizeof config_fields / sizeof *config_fields; i++)
        if (strcmp(name, config_fields[i].name) == 0)
            return &config_fields[i];
    cr_assert_fail("golden config field '%s' is no gd_optim_config field", name);
    return NULL;
}

static void set_field(gd_optim_config *cfg, const char *name, double value)
{
    const config_field *f = config_field_named(name);
    if (f->is_bool)
        *(bool *)((char *)cfg + f->offset) = value != 0;
    else
        *(double *)((char *)cfg + f->offset) = value;
}

/* gd_optim_defaults for the case's kind, overridden by the fields its config names: so a
 * case that leaves a field out also tests gradus's default against PyTorch's. */
static gd_optim_config config_of(const cJSON *c)
{
    gd_optim_config cfg = gd_optim_defaults(kind_named(golden_field(c, "kind")->valuestring));
    const cJSON *item;
    cJSON_ArrayForEach(item, golden_field(c, "config"))
        set_field(&cfg, item->string, cJSON_IsBool(item) ? cJSON_IsTrue(item) : item->valuedouble);
    return cfg;
}

/* Writes gradient k of the case into the model's gradient buffer. */
static void feed_grad(gd_model *m, const cJSON *c, int k)
{
    gd_tensor grads = golden_tensor(c, "grads");
    memcpy(gd_model_gradients_flat(m).data, grads.data + k * NPARAMS, NPARAMS * sizeof(float));
    free(grads.data);
}

static gd_optimizer *create_ok(gd_model *m, const gd_optim_config *cfg)
{
    gd_optimizer *opt = NULL;
    gd_status st = gd_optim_create(&opt, m, cfg);
    cr_assert_eq(st, GD_OK, "gd_optim_create: %s", gd_optim_error(opt));
    return opt;
}

/* The named state after the last step, by PyTorch's names and in its order. */
static void expect_state(gd_optimizer *opt, const cJSON *c)
{
    const cJSON *want = golden_field(c, "state");
    cr_assert_eq(gd_optim_state_count(opt), (size_t)cJSON_GetArraySize(want),
                 "state tensors: gradus has %zu, PyTorch %d", gd_optim_state_count(opt),
                 cJSON_GetArraySize(want));
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, want)
    {
        const char *name;
        gd_tensor value;
        cr_assert_eq(gd_optim_state_at(opt, i++, &name, &value), GD_OK);
        cr_assert_str_eq(name, item->string);
        cr_assert_eq(gd_tensor_numel(&value), NPARAMS);
        expect_close_golden(value.data, want, name, RTOL, ATOL);
    }
}

/* Three steps from the case's start; the parameters after each and the final state must
 * match PyTorch's. */
static void expect_golden_run(const char *name)
{
    cJSON *root = golden_load("optim.json");
    const cJSON *c = golden_case(root, name);
    gd_model *m = tiny_model();
    gd_optim_config cfg = config_of(c);
    gd_optimizer *opt = create_ok(m, &cfg);
    golden_copy(c, "params", gd_model_parameters_flat(m).data, NPARAMS);
    for (int k = 0; k < NSTEPS; k++) {
        char key[16];
        feed_grad(m, c, k);
        cr_assert_eq(gd_optim_step(opt), GD_OK);
        snprintf(key, sizeof key, "step%d", k + 1);
        expect_close_golden(gd_model_parameters_flat(m).data, c, key, RTOL, ATOL);
    }
    expect_state(opt, c);
    gd_optim_free(opt);
    gd_model_free(m);
    cJSON_Delete(root);
}

Test(optim, sgd_plain_matches_pytorch) { expect_golden_run("optim_sgd_plain"); }
Test(optim, sgd_momentum_with_dampening_matches_pytorch)
{
    expect_golden_run("optim_sgd_momentum_dampening");
}
Test(optim, sgd_nesterov_matches_pytorch) { expect_golden_run("optim_sgd_nesterov"); }
Test(optim, sgd_weight_decay_with_momentum_matches_pytorch)
{
    expect_golden_run("optim_sgd_weight_decay");
}
Test(optim, adagrad_defaults_match_pytorch) { expect_golden_run("optim_adagrad_defaults"); }
Test(optim, adagrad_lr_decay_weight_decay_initial_accumulator_match_pytorch)
{
    expect_golden_run("optim_adagrad_lr_decay_weight_decay");
}
Test(optim, rmsprop_plain_matches_pytorch) { expect_golden_run("optim_rmsprop_plain"); }
Test(optim, rmsprop_momentum_weight_decay_matches_pytorch)
{
    expect_golden_run("optim_rmsprop_momentum");
}
Test(optim, rmsprop_centered_matches_pytorch) { expect_golden_run("optim_rmsprop_centered"); }
Test(optim, adam_plain_matches_pytorch) { expect_golden_run("optim_adam_plain"); }
Test(optim, adam_amsgrad_matches_pytorch) { expect_golden_run("optim_adam_amsgrad"); }
Test(optim, adam_weight_decay_is_l2_in_the_gradient_as_pytorch)
{
    expect_golden_run("optim_adam_weight_decay");
}
Test(optim, adamw_default_decoupled_decay_matches_pytorch)
{
    expect_golden_run("optim_adamw_default_decay");
}
Test(optim, adamw_amsgrad_matches_pytorch) { expect_golden_run("optim_adamw_amsgrad"); }

/* Every default that PyTorch's signature gives, exactly (both are the same decimal). */
Test(optim, defaults_are_pytorchs)
{
    static const char *const cases[] = {"defaults_sgd", "defaults_adagrad", "defaults_rmsprop",
                                        "defaults_adam", "defaults_adamw"};
    cJSON *root = golden_load("optim.json");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const cJSON *c = golden_case(root, cases[i]);
        gd_optim_config got = gd_optim_defaults(kind_named(golden_field(c, "kind")->valuestring));
        const cJSON *item;
        cJSON_ArrayForEach(item, golden_field(c, "config"))
        {
            const config_field *f = config_field_named(item->string);
            const char *at = (const char *)&got + f->offset;
            double value = f->is_bool ? *(const bool *)at : *(const double *)at;
            double want = f->is_bool ? cJSON_IsTrue(item) : item->valuedouble;
            cr_expect_eq(value, want, "%s: default %s is %g, PyTorch's %g", cases[i],
                         f->name, value, want);
        }
    }
    cJSON_Delete(root);
}

/* PyTorch requires an lr for SGD; the header promises 0.01. */
Test(optim, sgd_default_lr_is_0_01) { cr_assert_eq(gd_optim_defaults(GD_OPTIM_SGD).lr, 0.01); }

/* ------------------------------------------------------------------ validation */

/* Creating with cfg must fail with status, and the message must hold each of the words. */
static void expect_refused(gd_optim_config cfg, gd_status status, const char *word1,
                           const char *word2)
{
    gd_model *m = tiny_model();
    gd_optimizer *opt = NULL;
    cr_assert_eq(gd_optim_create(&opt, m, &cfg), status, "kind %d: got '%s'", (int)cfg.kind,
                 gd_optim_error(opt));
    const char *msg = gd_optim_error(opt);
    cr_expect(strstr(msg, word1), "message '%s' does not name '%s'", msg, word1);
    cr_expect(strstr(msg, word2), "message '%s' does not name '%s'", msg, word2);
    gd_optim_free(opt);
    gd_model_free(m);
}

/* kind's defaults with one field set to value must be refused, and the message must name
 * the field and the value. */
static void expect_field_refused(gd_optim_kind kind, const char *field, double value)
{
    gd_optim_config cfg = gd_optim_defaults(kind);
    set_field(&cfg, field, value);
    char shown[32];
    snprintf(shown, sizeof shown, "%g", value);
    expect_refused(cfg, GD_ERR_INVALID_ARGUMENT, field, shown);
}

Test(optim, negative_lr_is_refused)
{
    for (int k = GD_OPTIM_SGD; k <= GD_OPTIM_ADAMW; k++)
        expect_field_refused((gd_optim_kind)k, "lr", -0.5);
}

Test(optim, nan_lr_is_refused) { expect_field_refused(GD_OPTIM_ADAM, "lr", NAN); }

Test(optim, negative_weight_decay_is_refused)
{
    for (int k = GD_OPTIM_SGD; k <= GD_OPTIM_ADAMW; k++)
        expect_field_refused((gd_optim_kind)k, "weight_decay", -0.01);
}

Test(optim, negative_momentum_is_refused)
{
    expect_field_refused(GD_OPTIM_SGD, "momentum", -0.9);
    expect_field_refused(GD_OPTIM_RMSPROP, "momentum", -0.9);
}

Test(optim, negative_eps_is_refused)
{
    for (int k = GD_OPTIM_ADAGRAD; k <= GD_OPTIM_ADAMW; k++)
        expect_field_refused((gd_optim_kind)k, "eps", -1e-8);
}

Test(optim, betas_outside_zero_to_one_are_refused)
{
    expect_field_refused(GD_OPTIM_ADAM, "beta1", 1.0);
    expect_field_refused(GD_OPTIM_ADAM, "beta2", 1.5);
    expect_field_refused(GD_OPTIM_ADAMW, "beta1", -0.1);
    expect_field_refused(GD_OPTIM_ADAMW, "beta2", 1.0);
}

Test(optim, adagrad_negative_lr_decay_and_accumulator_are_refused)
{
    expect_field_refused(GD_OPTIM_ADAGRAD, "lr_decay", -1);
    expect_field_refused(GD_OPTIM_ADAGRAD, "initial_accumulator_value", -0.5);
}

/* Stricter than PyTorch (alpha >= 0 only): above 1 the first square average is negative. */
Test(optim, rmsprop_alpha_outside_zero_to_one_is_refused)
{
    expect_field_refused(GD_OPTIM_RMSPROP, "alpha", 1.5);
    expect_field_refused(GD_OPTIM_RMSPROP, "alpha", -0.5);
}

/* PyTorch: "Nesterov momentum requires a momentum and zero dampening". */
Test(optim, nesterov_without_momentum_is_refused)
{
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cfg.nesterov = true;
    expect_refused(cfg, GD_ERR_INVALID_ARGUMENT, "nesterov", "momentum 0");
}

Test(optim, nesterov_with_dampening_is_refused)
{
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cfg.nesterov = true;
    cfg.momentum = 0.9;
    cfg.dampening = 0.1;
    expect_refused(cfg, GD_ERR_INVALID_ARGUMENT, "nesterov", "dampening 0.1");
}

Test(optim, unknown_kind_is_refused)
{
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cfg.kind = (gd_optim_kind)42;
    expect_refused(cfg, GD_ERR_INVALID_ARGUMENT, "kind", "42");
}

Test(optim, create_before_build_is_a_state_error)
{
    gd_model *m = NULL;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 2, 5, false), GD_OK);
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_ADAM);
    gd_optimizer *opt = NULL;
    cr_assert_eq(gd_optim_create(&opt, m, &cfg), GD_ERR_STATE);
    cr_expect(strstr(gd_optim_error(opt), "gd_model_build"), "message: '%s'", gd_optim_error(opt));
    gd_optim_free(opt);
    gd_model_free(m);
}

/* The handle of a failed create keeps its message, and stepping it changes nothing. */
Test(optim, failed_handle_refuses_to_step)
{
    gd_model *m = tiny_model();
    float before[NPARAMS];
    memcpy(before, gd_model_parameters_flat(m).data, sizeof before);
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cfg.lr = -1;
    gd_optimizer *opt = NULL;
    cr_assert_eq(gd_optim_create(&opt, m, &cfg), GD_ERR_INVALID_ARGUMENT);
    cr_assert_eq(gd_optim_step(opt), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(gd_optim_error(opt), "lr"), "message: '%s'", gd_optim_error(opt));
    cr_expect_arr_eq(gd_model_parameters_flat(m).data, before, sizeof before);
    cr_expect_eq(gd_optim_step_count(opt), 0);
    gd_optim_free(opt);
    gd_model_free(m);
}

Test(optim, free_and_error_accept_null)
{
    gd_optim_free(NULL);
    cr_expect_not_null(gd_optim_error(NULL));
}

/* ------------------------------------------------------------------------ state */

/* Creates an optimiser for cfg and expects exactly these state names, in order. */
static void expect_state_names(gd_optim_config cfg, int count, const char *const *names)
{
    gd_model *m = tiny_model();
    gd_optimizer *opt = create_ok(m, &cfg);
    cr_assert_eq(gd_optim_state_count(opt), (size_t)count, "kind %d", (int)cfg.kind);
    for (int i = 0; i < count; i++) {
        const char *name = NULL;
        gd_tensor value;
        cr_assert_eq(gd_optim_state_at(opt, (size_t)i, &name, &value), GD_OK);
        cr_expect_str_eq(name, names[i]);
        cr_expect_eq(value.ndim, 1);
        cr_expect_eq(value.dims[0], NPARAMS);
    }
    gd_optim_free(opt);
    gd_model_free(m);
}

Test(optim, state_names_follow_the_config)
{
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    expect_state_names(cfg, 0, NULL);
    cfg.momentum = 0.9;
    expect_state_names(cfg, 1, (const char *[]){"momentum_buffer"});
    expect_state_names(gd_optim_defaults(GD_OPTIM_ADAGRAD), 1, (const char *[]){"sum"});
    cfg = gd_optim_defaults(GD_OPTIM_RMSPROP);
    expect_state_names(cfg, 1, (const char *[]){"square_avg"});
    cfg.centered = true; /* without momentum: grad_avg is the second tensor */
    expect_state_names(cfg, 2, (const char *[]){"square_avg", "grad_avg"});
    cfg = gd_optim_defaults(GD_OPTIM_ADAMW);
    expect_state_names(cfg, 2, (const char *[]){"exp_avg", "exp_avg_sq"});
    cfg.amsgrad = true;
    expect_state_names(cfg, 3, (const char *[]){"exp_avg", "exp_avg_sq", "max_exp_avg_sq"});
}

/* The centered variance must read grad_avg, wherever the config puts it: the golden case
 * has momentum too, so this one checks the layout without it. A constant gradient g gives
 * v = (1 - a^t) g^2 and avg = (1 - a^t) g, so grad_avg's value pins the right slot. */
Test(optim, rmsprop_centered_without_momentum_updates_grad_avg)
{
    gd_model *m = tiny_model();
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_RMSPROP);
    cfg.centered = true;
    cfg.alpha = 0.5;
    gd_optimizer *opt = create_ok(m, &cfg);
    float *grad = gd_model_gradients_flat(m).data;
    for (int i = 0; i < NPARAMS; i++)
        grad[i] = 2.0f;
    cr_assert_eq(gd_optim_step(opt), GD_OK);
    gd_tensor sq, avg;
    cr_assert_eq(gd_optim_state_at(opt, 0, NULL, &sq), GD_OK);
    cr_assert_eq(gd_optim_state_at(opt, 1, NULL, &avg), GD_OK);
    /* exact: powers of two */
    for (int i = 0; i < NPARAMS; i++) {
        cr_expect_eq(sq.data[i], 2.0f, "square_avg[%d] = %g", i, sq.data[i]);
        cr_expect_eq(avg.data[i], 1.0f, "grad_avg[%d] = %g", i, avg.data[i]);
    }
    gd_optim_free(opt);
    gd_model_free(m);
}

Test(optim, state_index_out_of_range_is_refused)
{
    gd_model *m = tiny_model();
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_ADAM);
    gd_optimizer *opt = create_ok(m, &cfg);
    gd_tensor value;
    cr_assert_eq(gd_optim_state_at(opt, 2, NULL, &value), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(gd_optim_error(opt), "index 2"), "message: '%s'", gd_optim_error(opt));
    gd_optim_free(opt);
    gd_model_free(m);
}

Test(optim, adagrad_sum_starts_at_the_initial_accumulator)
{
    gd_model *m = tiny_model();
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_ADAGRAD);
    cfg.initial_accumulator_value = 0.25;
    gd_optimizer *opt = create_ok(m, &cfg);
    gd_tensor sum;
    cr_assert_eq(gd_optim_state_at(opt, 0, NULL, &sum), GD_OK);
    for (int i = 0; i < NPARAMS; i++)
        cr_expect_eq(sum.data[i], 0.25f);
    gd_optim_free(opt);
    gd_model_free(m);
}

/* ------------------------------------------------------------- counts and rates */

Test(optim, step_count_counts_steps_and_round_trips)
{
    gd_model *m = tiny_model();
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_ADAM);
    gd_optimizer *opt = create_ok(m, &cfg);
    cr_expect_eq(gd_optim_step_count(opt), 0);
    cr_assert_eq(gd_optim_step(opt), GD_OK);
    cr_assert_eq(gd_optim_step(opt), GD_OK);
    cr_expect_eq(gd_optim_step_count(opt), 2);
    gd_optim_set_step_count(opt, 12345678901LL);
    cr_expect_eq(gd_optim_step_count(opt), 12345678901LL);
    gd_optim_set_step_count(opt, -3);
    cr_expect_eq(gd_optim_step_count(opt), 0, "a negative count restores as 0");
    gd_optim_free(opt);
    gd_model_free(m);
}

Test(optim, set_lr_applies_to_the_next_step)
{
    gd_model *m = tiny_model();
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    gd_optimizer *opt = create_ok(m, &cfg);
    gd_optim_set_lr(opt, 0.5);
    cr_expect_eq(gd_optim_lr(opt), 0.5);
    float *p = gd_model_parameters_flat(m).data, *g = gd_model_gradients_flat(m).data;
    for (int i = 0; i < NPARAMS; i++) {
        p[i] = 1.0f;
        g[i] = 1.0f;
    }
    cr_assert_eq(gd_optim_step(opt), GD_OK);
    for (int i = 0; i < NPARAMS; i++) /* exact: 1 - 0.5 * 1 */
        cr_expect_eq(p[i], 0.5f, "p[%d] = %g", i, p[i]);
    gd_optim_free(opt);
    gd_model_free(m);
}

/* Two steps of the golden case's gradients from its parameters; before the first, the
 * momentum is set to set_to unless that is NaN. */
static void two_steps(gd_model *m, const cJSON *c, const gd_optim_config *cfg, double set_to)
{
    gd_optimizer *opt = create_ok(m, cfg);
    if (!isnan(set_to))
        gd_optim_set_momentum(opt, set_to);
    golden_copy(c, "params", gd_model_parameters_flat(m).data, NPARAMS);
    for (int k = 0; k < 2; k++) {
        feed_grad(m, c, k);
        cr_assert_eq(gd_optim_step(opt), GD_OK);
    }
    gd_optim_free(opt);
}

/* OneCycleLR's way in: an optimiser made with momentum (Adam: beta1) 0.5 and set to 0.8
 * takes the steps of one made with 0.8, bit for bit (the same arithmetic on the same
 * numbers; the second step is where the momentum matters). SGD made without momentum
 * has no buffer: setting one changes nothing. */
Test(optim, set_momentum_applies_to_the_steps_after_it)
{
    cJSON *root = golden_load("optim.json");
    const cJSON *c = golden_case(root, "optim_adam_plain");
    static const struct {
        gd_optim_kind kind;
        double made_with, want;
    } cases[] = {{GD_OPTIM_ADAM, 0.5, 0.8}, {GD_OPTIM_ADAMW, 0.5, 0.8},
                 {GD_OPTIM_SGD, 0.5, 0.8}, {GD_OPTIM_RMSPROP, 0.5, 0.8}, {GD_OPTIM_SGD, 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gd_optim_config cfg = gd_optim_defaults(cases[i].kind), ref;
        bool adam = cases[i].kind == GD_OPTIM_ADAM || cases[i].kind == GD_OPTIM_ADAMW;
        *(adam ? &cfg.beta1 : &cfg.momentum) = cases[i].made_with;
        ref = cfg;
        *(adam ? &ref.beta1 : &ref.momentum) = cases[i].want;
        gd_model *set = tiny_model(), *made = tiny_model();
        two_steps(set, c, &cfg, 0.8);
        two_steps(made, c, &ref, NAN);
        cr_expect_eq(memcmp(gd_model_parameters_flat(set).data,
                            gd_model_parameters_flat(made).data, NPARAMS * sizeof(float)),
                     0, "case %zu", i);
        gd_optimizer *opt = create_ok(set, &cfg);
        gd_optim_set_momentum(opt, 0.8);
        cr_expect_eq(gd_optim_momentum(opt), cases[i].want, "case %zu", i);
        gd_optim_free(opt);
        gd_model_free(set);
        gd_model_free(made);
    }
    gd_model *m = tiny_model();
    gd_optim_config adagrad = gd_optim_defaults(GD_OPTIM_ADAGRAD);
    gd_optimizer *opt = create_ok(m, &adagrad);
    gd_optim_set_momentum(opt, 0.8);
    cr_expect(isnan(gd_optim_momentum(opt)), "Adagrad has none");
    gd_optim_free(opt);
    gd_model_free(m);
    cJSON_Delete(root);
}

/* A checkpoint after two steps (parameters, every state tensor, the step count) restored
 * into a fresh optimiser and model must take the third step exactly as the uninterrupted
 * PyTorch run: this holds only if the count restores Adam's bias correction and SGD's
 * "not the first step" rule. */
static void expect_resume_matches(const char *name)
{
    cJSON *root = golden_load("optim.json");
    const cJSON *c = golden_case(root, name);
    gd_optim_config cfg = config_of(c);
    gd_model *m1 = tiny_model(), *m2 = tiny_model();
    gd_optimizer *o1 = create_ok(m1, &cfg), *o2 = create_ok(m2, &cfg);
    golden_copy(c, "params", gd_model_parameters_flat(m1).data, NPARAMS);
    for (int k = 0; k < 2; k++) {
        feed_grad(m1, c, k);
        cr_assert_eq(gd_optim_step(o1), GD_OK);
    }
    memcpy(gd_model_parameters_flat(m2).data, gd_model_parameters_flat(m1).data,
           NPARAMS * sizeof(float));
    for (size_t i = 0; i < gd_optim_state_count(o1); i++) {
        gd_tensor from, to;
        cr_assert_eq(gd_optim_state_at(o1, i, NULL, &from), GD_OK);
        cr_assert_eq(gd_optim_state_at(o2, i, NULL, &to), GD_OK);
        memcpy(to.data, from.data, NPARAMS * sizeof(float));
    }
    gd_optim_set_step_count(o2, gd_optim_step_count(o1));
    feed_grad(m2, c, 2);
    cr_assert_eq(gd_optim_step(o2), GD_OK);
    expect_close_golden(gd_model_parameters_flat(m2).data, c, "step3", RTOL, ATOL);
    gd_optim_free(o1);
    gd_optim_free(o2);
    gd_model_free(m1);
    gd_model_free(m2);
    cJSON_Delete(root);
}

Test(optim, sgd_momentum_resumes_from_a_checkpoint)
{
    expect_resume_matches("optim_sgd_momentum_dampening");
}

Test(optim, adam_resumes_from_a_checkpoint) { expect_resume_matches("optim_adam_amsgrad"); }

Test(optim, adagrad_lr_decay_resumes_from_a_checkpoint)
{
    expect_resume_matches("optim_adagrad_lr_decay_weight_decay");
}

/* Element-wise loops: any thread count gives the same bits. 256 x 256 = 65536 parameters
 * is above GD_PARALLEL_MIN, so two threads really split the loop. */
Test(optim, step_is_bit_identical_across_thread_counts)
{
    enum { N = 256 * 256 };
    float *result[2];
    for (int run = 0; run < 2; run++) {
        gd_set_num_threads(run + 1);
        gd_model *m = NULL;
        cr_assert_eq(gd_model_create(&m, 7), GD_OK);
        cr_assert_eq(gd_model_add_linear(m, 256, 256, false), GD_OK);
        cr_assert_eq(gd_model_build(m, 1, (int64_t[]){256}, 1), GD_OK);
        gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_ADAMW);
        cfg.amsgrad = true;
        gd_optimizer *opt = create_ok(m, &cfg);
        float *g = gd_model_gradients_flat(m).data;
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < N; i++)
                g[i] = (float)sin(0.001 * i + step);
            cr_assert_eq(gd_optim_step(opt), GD_OK);
        }
        result[run] = malloc(N * sizeof(float));
        memcpy(result[run], gd_model_parameters_flat(m).data, N * sizeof(float));
        gd_optim_free(opt);
        gd_model_free(m);
    }
    cr_expect_arr_eq(result[0], result[1], N * sizeof(float));
    free(result[0]);
    free(result[1]);
}
