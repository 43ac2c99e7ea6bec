/* The learning-rate range test: on softmax regression over three blobs (a
 * linear layer under cross-entropy, plain SGD) the curve falls, then rises, and the default
 * suggestion lies on the fall; the caller's model, optimiser, generator and, through a
 * run, its loader come back bit for bit; an overflowing loss cuts the curve; a loss that
 * cannot fall is flagged; the SVG holds its axes and one path point per curve point. */
#include "scratch.h"

#include <criterion/criterion.h>
#include <gradus.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(lr_range, .init = scratch_make, .fini = scratch_remove);

#define CLASSES 3
#define FEATURES 4
#define SAMPLES 384
#define BATCH 32

/* A softmax regression problem: model, SGD optimiser, data and loader, freed together. */
typedef struct problem {
    gd_model *m;
    gd_optimizer *opt;
    gd_dataset *ds;
    gd_loader *loader;
} problem;

/* Class c centred at 3 along feature c, deviation 1 (a linear map separates ~97%), or with
 * zero_inputs every feature 0 and the labels drawn at random: nothing to learn. */
static problem make_problem(bool zero_inputs, bool bias)
{
    problem p = {0};
    float *x = calloc(SAMPLES * FEATURES, sizeof(float));
    int32_t y[SAMPLES];
    gd_rng *rng;
    cr_assert_eq(gd_rng_create(&rng, 5), GD_OK);
    for (int i = 0; i < SAMPLES; i++) {
        y[i] = zero_inputs ? (int32_t)(gd_rng_next_u64(rng) % CLASSES) : i % CLASSES;
        for (int j = 0; !zero_inputs && j < FEATURES; j++)
            x[i * FEATURES + j] = (float)((j == y[i] ? 3.0 : 0.0) + gd_rng_normal(rng));
    }
    gd_rng_free(rng);
    gd_error err;
    cr_assert_eq(gd_dataset_create(&p.ds, SAMPLES, 1, (int64_t[]){FEATURES}, x, y, CLASSES, &err),
                 GD_OK, "%s", err.message);
    free(x);
    cr_assert_eq(gd_loader_create(&p.loader, p.ds, BATCH, true, false, 3, &err), GD_OK);
    cr_assert_eq(gd_model_create(&p.m, 11), GD_OK);
    cr_assert_eq(gd_model_add_linear(p.m, FEATURES, CLASSES, bias), GD_OK);
    cr_assert_eq(gd_model_build(p.m, 1, (int64_t[]){FEATURES}, BATCH), GD_OK);
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cr_assert_eq(gd_optim_create(&p.opt, p.m, &cfg), GD_OK);
    return p;
}

static void free_problem(problem *p)
{
    gd_optim_free(p->opt);
    gd_model_free(p->m);
    gd_loader_free(p->loader);
    gd_dataset_free(p->ds);
}

static const gd_loss cross_entropy = {.kind = GD_LOSS_CROSS_ENTROPY};

/* 1e-4 to 1e3 in 300 steps: seven decades, of which SGD on this problem learns in the
 * middle ones and blows up in the last. */
static gd_lr_range_options sgd_options(void)
{
    gd_lr_range_options o = gd_lr_range_defaults();
    o.lr_min = 1e-4;
    o.lr_max = 1e3;
    return o;
}

static gd_lr_range_result range_test(problem *p, const gd_lr_range_options *o)
{
    gd_lr_range_result r;
    gd_error err;
    cr_assert_eq(gd_lr_range_test_model(p->m, p->opt, p->loader, &cross_entropy, 0, o, &r, &err),
                 GD_OK, "%s", err.message);
    return r;
}

/* --------------------------------------------------------------- the curve */

Test(lr_range, curve_falls_then_rises_and_the_default_lies_on_the_fall)
{
    problem p = make_problem(false, true);
    gd_lr_range_options o = sgd_options();
    gd_lr_range_result r = range_test(&p, &o);
    cr_assert_gt(r.points, 30);
    int64_t b = r.best_index;
    /* It falls: the lowest smoothed loss is inside the curve, well under the first. */
    cr_expect_gt(b, r.points / 10);
    cr_expect_lt(r.smoothed[b], 0.5 * r.smoothed[0], "best %g, first %g", r.smoothed[b],
                 r.smoothed[0]);
    /* Then rises: the test stopped on the 4x rule (or an overflow) before lr_max. */
    cr_expect_neq(r.stop, GD_LR_STOP_COMPLETED);
    cr_expect_lt(r.points, o.steps);
    cr_expect_gt(r.smoothed[r.points - 1], 2 * r.smoothed[b]);
    /* The default lies where the smoothed curve still falls: before its minimum, below
     * its start, and descending (its neighbours' difference is negative). */
    int64_t i = r.suggestion.index;
    cr_assert_geq(i, 1);
    cr_expect_lt(i, b);
    cr_expect_lt(r.smoothed[i], r.smoothed[0]);
    cr_expect_lt(r.smoothed[i + 1], r.smoothed[i - 1]);
    cr_expect_eq(r.suggestion.lr, r.rules[r.chosen].lr);
    /* The loss fell; the rules' spread decides the confidence (on this problem the fall
     * spans two decades, and the steepest point and the minimum's tenth lie ~20x apart). */
    cr_expect(r.loss_fell);
    cr_expect_eq(r.low_confidence, !(r.spread <= o.disagreement), "spread %g", r.spread);
    /* Every rule found a point, each in the window, the lr its point's (minimum: / 10). */
    for (int k = 0; k < GD_LR_RULES; k++) {
        const gd_lr_suggestion *s = &r.rules[k];
        cr_assert_geq(s->index, 0, "%s", gd_lr_rule_name((gd_lr_rule)k));
        cr_expect_eq(s->loss, r.smoothed[s->index]);
        if (k != GD_LR_RULE_MINIMUM) {
            cr_expect_eq(s->lr, r.lr[s->index]);
            cr_expect(s->index >= r.window_start && s->index < r.window_end);
        }
    }
    /* The minimum rule reads the window's lowest point (1e-12: one division by 10). */
    int64_t low = r.window_start;
    for (int64_t j = r.window_start; j < r.window_end; j++)
        low = r.smoothed[j] < r.smoothed[low] ? j : low;
    cr_expect_float_eq(r.rules[GD_LR_RULE_MINIMUM].lr * 10, r.lr[low], 1e-12 * r.lr[low]);
    /* Steepest and valley read the descent up to that point, not the bounces after it. */
    cr_expect_leq(r.rules[GD_LR_RULE_STEEPEST].index, low);
    cr_expect_leq(r.rules[GD_LR_RULE_VALLEY].index, low);
    gd_lr_range_result_free(&r);
    free_problem(&p);
}

/* The rates are lr_min * (lr_max / lr_min)^(i / (steps - 1)) (relative 1e-12: exp and log
 * round), and the smoothing is the bias-corrected average of the raw losses (1e-12). */
Test(lr_range, rates_are_exponential_and_the_smoothing_is_bias_corrected)
{
    problem p = make_problem(false, true);
    gd_lr_range_options o = sgd_options();
    gd_lr_range_result r = range_test(&p, &o);
    double avg = 0;
    for (int64_t i = 0; i < r.points; i++) {
        double lr = o.lr_min * pow(o.lr_max / o.lr_min, (double)i / (double)(o.steps - 1));
        cr_expect_float_eq(r.lr[i], lr, 1e-12 * lr, "point %lld", (long long)i);
        avg = o.beta * avg + (1 - o.beta) * r.loss[i];
        double s = avg / (1 - pow(o.beta, (double)(i + 1)));
        cr_expect_float_eq(r.smoothed[i], s, 1e-12 * s, "point %lld", (long long)i);
    }
    cr_expect_eq(r.smoothed[0], r.loss[0]);
    /* The 4x rule: the last point passed 4x the best before it, and none earlier did. */
    if (r.stop == GD_LR_STOP_DIVERGED) {
        double best = INFINITY;
        for (int64_t i = 0; i + 1 < r.points; i++) {
            best = fmin(best, r.smoothed[i]);
            cr_expect_leq(r.smoothed[i], 4 * best);
        }
        cr_expect_gt(r.smoothed[r.points - 1], 4 * best);
    }
    gd_lr_range_result_free(&r);
    free_problem(&p);
}

Test(lr_range, the_same_model_and_loader_give_the_same_curve)
{
    problem p = make_problem(false, true);
    gd_lr_range_options o = sgd_options();
    gd_lr_range_result a = range_test(&p, &o), b = range_test(&p, &o);
    cr_assert_eq(a.points, b.points);
    cr_expect_eq(memcmp(a.loss, b.loss, sizeof(double) * (size_t)a.points), 0);
    cr_expect_eq(a.suggestion.index, b.suggestion.index);
    gd_lr_range_result_free(&a);
    gd_lr_range_result_free(&b);
    free_problem(&p);
}

/* ------------------------------------------------- the caller's model kept */

/* Settings for a run on blobs written as CSV: batch norm (running statistics, a counter),
 * dropout (the generator) and Adam (two moments and a step count), so that everything a
 * step changes is there to be put back. */
static void blob_run_settings(gd_settings *s)
{
    const char *path = scratch_path("blobs.csv");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    gd_rng *rng;
    gd_rng_create(&rng, 1);
    for (int i = 0; i < 200; i++) {
        fprintf(f, "%d", i % CLASSES);
        for (int j = 0; j < FEATURES; j++)
            fprintf(f, ",%.6f", (j == i % CLASSES ? 3.0 : 0.0) + 0.5 * gd_rng_normal(rng));
        fprintf(f, "\n");
    }
    gd_rng_free(rng);
    cr_assert_eq(fclose(f), 0);
    char data[600];
    snprintf(data, sizeof data, "csv:%s,%s", path, path);
    gd_error err;
    gd_settings_defaults(s);
    const char *kv[][2] = {{"data", data}, {"model", "linear(16) bn relu dropout(0.3) linear(3)"},
                           {"batch_size", "16"}, {"val_size", "0"}, {"threads", "1"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        cr_assert_eq(gd_settings_set(s, kv[i][0], kv[i][1], &err), GD_OK, "%s", err.message);
}

static gd_run *blob_run(const gd_settings *s)
{
    gd_run *run;
    gd_error err;
    cr_assert_eq(gd_run_create(&run, s, NULL, &err), GD_OK, "%s", err.message);
    return run;
}

static void steps(gd_run *run, int n)
{
    bool done;
    for (int i = 0; i < n; i++)
        cr_assert_eq(gd_run_step(run, &done), GD_OK, "%s", gd_run_error(run));
}

/* Everything of the model and optimiser that the test promises to put back, as bytes. */
static unsigned char *state_bytes(gd_run *run, size_t *len)
{
    gd_model *m = gd_run_model(run);
    gd_optimizer *opt = gd_run_optimizer(run);
    size_t cap = 1 << 20, n = 0;
    unsigned char *b = malloc(cap);
#define ADD(p, bytes)                                   \
    do {                                                \
        cr_assert_leq(n + (bytes), cap);                \
        memcpy(b + n, (p), (bytes));                    \
        n += (bytes);                                   \
    } while (0)
    gd_tensor p = gd_model_parameters_flat(m), g = gd_model_gradients_flat(m);
    ADD(p.data, sizeof(float) * (size_t)gd_tensor_numel(&p));
    ADD(g.data, sizeof(float) * (size_t)gd_tensor_numel(&g));
    for (size_t i = 0; i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        size_t k = (size_t)gd_tensor_numel(&t->value);
        if (t->role == GD_ROLE_BUFFER && t->dtype == GD_DTYPE_F32)
            ADD(t->value.data, sizeof(float) * k);
        else if (t->role == GD_ROLE_BUFFER)
            ADD(t->i64, sizeof(int64_t) * k);
    }
    for (size_t k = 0; k < gd_optim_state_count(opt); k++) {
        const char *name;
        gd_tensor v;
        cr_assert_eq(gd_optim_state_at(opt, k, &name, &v), GD_OK);
        ADD(v.data, sizeof(float) * (size_t)gd_tensor_numel(&v));
    }
    int64_t count = gd_optim_step_count(opt);
    double lr = gd_optim_lr(opt);
    bool training = gd_model_is_training(m);
    uint64_t rng[GD_RNG_STATE_WORDS];
    gd_rng_get_state(gd_model_rng(m), rng);
    ADD(&count, sizeof count);
    ADD(&lr, sizeof lr);
    ADD(&training, sizeof training);
    ADD(rng, sizeof rng);
#undef ADD
    *len = n;
    return b;
}

/* After two steps (so that Adam's moments and batch norm's statistics are not at their
 * start), the test leaves every parameter, gradient, buffer, optimiser state, step count,
 * learning rate, mode and generator word as it found them: compared bit for bit. */
Test(lr_range, the_runs_model_and_optimiser_are_unchanged_bit_for_bit)
{
    gd_settings s;
    blob_run_settings(&s);
    gd_run *run = blob_run(&s);
    steps(run, 2);
    size_t before_len, after_len;
    unsigned char *before = state_bytes(run, &before_len);
    gd_lr_range_options o = gd_lr_range_defaults();
    o.steps = 60; /* more than an epoch (13 batches): the test's loader restarts */
    gd_lr_range_result r;
    gd_error err;
    cr_assert_eq(gd_lr_range_test(run, &o, &r, &err), GD_OK, "%s", err.message);
    cr_expect_gt(r.points, 0);
    unsigned char *after = state_bytes(run, &after_len);
    cr_assert_eq(before_len, after_len);
    cr_expect_eq(memcmp(before, after, before_len), 0);
    free(before);
    free(after);
    gd_lr_range_result_free(&r);
    gd_run_free(run);
    gd_settings_free(&s);
}

/* The run's own loader is not touched either: a run that took the test between its
 * second and third steps trains on exactly as its twin that did not. */
Test(lr_range, the_run_trains_on_as_if_the_test_had_not_been_taken)
{
    gd_settings s;
    blob_run_settings(&s);
    gd_run *a = blob_run(&s), *b = blob_run(&s);
    steps(a, 2);
    steps(b, 2);
    gd_lr_range_result r;
    gd_lr_range_options o = gd_lr_range_defaults();
    o.steps = 40;
    cr_assert_eq(gd_lr_range_test(a, &o, &r, NULL), GD_OK);
    steps(a, 20); /* across the end of the first epoch */
    steps(b, 20);
    size_t la, lb;
    unsigned char *sa = state_bytes(a, &la), *sb = state_bytes(b, &lb);
    cr_assert_eq(la, lb);
    cr_expect_eq(memcmp(sa, sb, la), 0);
    free(sa);
    free(sb);
    gd_lr_range_result_free(&r);
    gd_run_free(a);
    gd_run_free(b);
    gd_settings_free(&s);
}

/* --------------------------------------------------- cuts and confidence */

/* With the 4x rule out of the way, rates up to 1e300 turn the float32 weights infinite and
 * the loss NaN: the curve ends at the last finite point, and everything on it is finite. */
Test(lr_range, a_loss_that_overflows_cuts_the_curve)
{
    problem p = make_problem(false, true);
    gd_lr_range_options o = sgd_options();
    o.lr_max = 1e300;
    o.diverge_factor = 1e300;
    gd_lr_range_result r = range_test(&p, &o);
    cr_expect_eq(r.stop, GD_LR_STOP_NON_FINITE, "%s", gd_lr_range_stop_name(r.stop));
    cr_expect_lt(r.points, o.steps);
    cr_assert_gt(r.points, 0);
    for (int64_t i = 0; i < r.points; i++)
        cr_expect(isfinite(r.loss[i]) && isfinite(r.smoothed[i]) && isfinite(r.lr[i]),
                  "point %lld", (long long)i);
    char *svg;
    cr_expect_eq(gd_lr_range_svg(&r, 0, 0, &svg, NULL, NULL), GD_OK);
    cr_expect_null(strstr(svg, "nan"));
    cr_expect_null(strstr(svg, "inf"));
    free(svg);
    gd_lr_range_result_free(&r);
    free_problem(&p);
}

/* Inputs all zero into a linear map without bias: the output is 0 whatever the weights,
 * the loss log(3) at every step. It never falls, so the result has low confidence even
 * where the rules could agree, and the test runs to lr_max. */
Test(lr_range, a_loss_that_never_falls_has_low_confidence)
{
    problem p = make_problem(true, false);
    gd_lr_range_options o = sgd_options();
    gd_lr_range_result r = range_test(&p, &o);
    cr_expect_eq(r.stop, GD_LR_STOP_COMPLETED);
    cr_expect_eq(r.points, o.steps);
    cr_expect_float_eq(r.loss[0], log(3.0), 1e-6); /* float32 logits of 0 */
    cr_expect(!r.loss_fell);
    cr_expect(r.low_confidence);
    gd_lr_range_result_free(&r);
    free_problem(&p);
}

Test(lr_range, bad_options_are_refused_and_the_result_is_empty)
{
    problem p = make_problem(false, true);
    gd_lr_range_options bad[6];
    for (int i = 0; i < 6; i++)
        bad[i] = gd_lr_range_defaults();
    bad[0].lr_min = 0;
    bad[1].lr_max = bad[1].lr_min;
    bad[2].steps = 1;
    bad[3].beta = 1;
    bad[4].diverge_factor = 1;
    bad[5].skip_start = 1;
    for (int i = 0; i < 6; i++) {
        gd_lr_range_result r;
        gd_error err;
        cr_expect_eq(gd_lr_range_test_model(p.m, p.opt, p.loader, &cross_entropy, 0, &bad[i], &r,
                                            &err), GD_ERR_INVALID_ARGUMENT, "case %d", i);
        cr_expect_eq(r.points, 0);
        cr_expect_null(r.lr);
    }
    free_problem(&p);
}

/* ---------------------------------------------------------------- the figure */

/* Coordinate pairs in the d attribute of the path with this id. */
static int path_points(const char *svg, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *p = strstr(svg, key);
    cr_assert_not_null(p, "%s", key);
    p = strstr(p, " d=\"");
    cr_assert_not_null(p);
    int n = 0;
    for (p += 4; *p && *p != '"'; p++)
        n += *p == ',';
    return n;
}

Test(lr_range, the_svg_has_axes_and_one_path_point_per_curve_point)
{
    problem p = make_problem(false, true);
    gd_lr_range_options o = sgd_options();
    gd_lr_range_result r = range_test(&p, &o);
    char *svg;
    size_t len;
    cr_assert_eq(gd_lr_range_svg(&r, 0, 0, &svg, &len, NULL), GD_OK);
    cr_expect_eq(strlen(svg), len);
    cr_expect_not_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    cr_expect_not_null(strstr(svg, "</svg>"));
    cr_expect_not_null(strstr(svg, "id=\"x-axis\""));
    cr_expect_not_null(strstr(svg, "id=\"y-axis\""));
    cr_expect_not_null(strstr(svg, ">learning rate (log scale)<"));
    cr_expect_not_null(strstr(svg, ">loss<"));
    cr_expect_not_null(strstr(svg, ">1e-4<"), "a decade tick at lr_min");
    cr_expect_not_null(strstr(svg, ">1e-1<"));
    cr_expect_eq(path_points(svg, "smoothed"), r.points);
    cr_expect_eq(path_points(svg, "raw"), r.points);
    cr_expect_not_null(strstr(svg, "(default)"));
    /* Written atomically: the same text, and no temporary file left beside it. */
    gd_error err;
    const char *path = scratch_path("lr.svg");
    cr_assert_eq(gd_lr_range_write_svg(&r, path, &err), GD_OK, "%s", err.message);
    size_t flen;
    unsigned char *file = scratch_read(path, &flen);
    cr_expect_eq(flen, len);
    cr_expect_eq(memcmp(file, svg, len), 0);
    cr_expect_eq(scratch_count(), 1);
    free(file);
    free(svg);
    gd_lr_range_result_free(&r);
    free_problem(&p);
}
