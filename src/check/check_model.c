/* The setup checks made on one fresh model: the loss at initialisation (1), the gradient
 * check (2) and batch independence (5). include/gradus.h states each check's thresholds
 * and why. */
#include "checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_LOSS_BATCH 128
#define INITIAL_PASS 0.10
#define INITIAL_WARN 0.50

/* ln C for cross-entropy, (C - 1) x margin for the hinge; NaN for a loss it cannot say. */
static double chance_loss(const gd_loss *loss, int64_t classes, const char **formula)
{
    if (loss->kind == GD_LOSS_CROSS_ENTROPY) {
        *formula = "ln C";
        return log((double)classes);
    }
    if (loss->kind == GD_LOSS_MULTICLASS_HINGE && loss->margin > 0) {
        *formula = "(C-1) x margin";
        return (double)(classes - 1) * loss->margin;
    }
    *formula = "none";
    return NAN;
}

/* The loss plus lambda/2 sum(w^2), the model's gradients having been computed. */
static gd_status with_l2(gd_model *m, double loss, double lambda, double *value, char *msg)
{
    *value = loss;
    gd_status st = gd_model_l2_penalty(m, lambda, value);
    return st == GD_OK ? GD_OK : gd_fail(msg, st, "check: %s", gd_model_error(m));
}

static void judge_initial(gd_check_result *out, double loss, double expected, double off,
                          bool l2_raises)
{
    if (!l2_raises)
        gd_check_judge(out, GD_CHECK_FAIL,
                       "L2 regularisation does not raise the loss: the model has no weights "
                       "it can decay, or they are all zero; check the initialisation");
    else if (off > INITIAL_WARN)
        gd_check_judge(out, GD_CHECK_FAIL,
                       "the loss at initialisation is %s what chance gives (%.4g vs %.4g): %s",
                       loss > expected ? "far above" : "far below", loss, expected,
                       loss > expected ? "the initial weights are much too large; use the "
                                         "default initialisation or a smaller std"
                                       : "the model knows the labels before training; look "
                                         "for labels leaking into the inputs");
    else if (off > INITIAL_PASS)
        gd_check_judge(out, GD_CHECK_WARN,
                       "the loss at initialisation is %.0f%% off chance: the logits start "
                       "large; a smaller initialisation of the last layer would start the "
                       "network unbiased", 100 * off);
}

gd_status gd_check_initial_loss(const gd_check_setup *setup, gd_check_result *out,
                                gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_check_begin(out, 1, "initial_loss", "loss at initialisation");
    gd_model *m;
    gd_check_examples ex;
    gd_status st = gd_check_model(setup, &m, msg);
    if (st != GD_OK)
        return st;
    int64_t n = gd_model_max_batch(m) < INITIAL_LOSS_BATCH ? gd_model_max_batch(m)
                                                           : INITIAL_LOSS_BATCH;
    gd_loss loss = gd_check_loss(setup);
    const char *formula;
    int64_t classes = gd_check_classes(m);
    double expected = chance_loss(&loss, classes, &formula), value = 0, l2[2] = {0, 0};
    if ((st = gd_check_take(setup, n, &ex, msg)) != GD_OK || isnan(expected)) {
        gd_model_free(m);
        if (st == GD_OK)
            gd_check_judge(out, GD_CHECK_SKIP, "the expected loss at chance is known only for "
                           "cross-entropy and the hinge with a margin");
        return st;
    }
    gd_model_set_training(m, true);
    gd_tensor x = gd_check_rows(m, ex.x, ex.width, 0, ex.n);
    st = gd_model_forward(m, &x);
    if (st == GD_OK)
        st = gd_model_loss(m, &loss, ex.labels, NULL, &value);
    if (st == GD_OK)
        st = gd_model_backward(m);
    if (st != GD_OK)
        st = gd_fail(msg, st, "check: %s", gd_model_error(m));
    if (st == GD_OK)
        st = with_l2(m, value, 1e-3, &l2[0], msg);
    if (st == GD_OK)
        st = with_l2(m, value, 1e-2, &l2[1], msg);
    gd_model_free(m);
    if (st != GD_OK)
        return st;

    double off = fabs(value - expected) / expected;
    bool raises = value < l2[0] && l2[0] < l2[1];
    gd_check_figure_add(out, "loss", value);
    gd_check_figure_add(out, "expected", expected);
    gd_check_figure_add(out, "relative_difference", off);
    gd_check_figure_add(out, "classes", (double)classes);
    gd_check_figure_add(out, "examples", (double)ex.n);
    gd_check_figure_add(out, "loss_l2_1e-3", l2[0]);
    gd_check_figure_add(out, "loss_l2_1e-2", l2[1]);
    gd_check_say(out, "%.4f on %lld examples; %s = %.4f for %lld classes (%.1f%% off, pass "
                 "within %.0f%%); with L2 1e-3: %.4f, 1e-2: %.4f (%s)", value, (long long)ex.n,
                 formula, expected, (long long)classes, 100 * off, 100 * INITIAL_PASS, l2[0],
                 l2[1], raises ? "raised" : "not raised");
    judge_initial(out, value, expected, off, raises);
    return GD_OK;
}

/* ------------------------------------------------------------- gradients */

/* What the runs found: per tensor, each run's worst error, then their median. */
typedef struct gradient_runs {
    gd_gradcheck_tensor *tensors; /* one run's report */
    double *errors;               /* count x GD_CHECK_GRADIENT_RUNS */
    size_t count, worst;
    double worst_error;           /* the largest median */
    int64_t kinks, examples;
} gradient_runs;

/* NaN sorts last: a gradient that is not finite is the worst there is. */
static int by_error(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, by_error);
    return v[n / 2];
}

static void judge_gradients(gd_check_result *out, const gradient_runs *g)
{
    const char *name = g->tensors[g->worst].name;
    gd_gradcheck_verdict v = gd_gradcheck_classify(g->worst_error);
    if (v == GD_GRADCHECK_WRONG)
        gd_check_judge(out, GD_CHECK_FAIL,
                       "backpropagation disagrees with the numeric gradient of %s: the "
                       "backward of that layer (or of one after it) is wrong", name);
    else if (v == GD_GRADCHECK_UNCOMFORTABLE)
        gd_check_judge(out, GD_CHECK_WARN,
                       "the gradient of %s is off by more than float32 noise explains; "
                       "inspect that layer's backward", name);
}

static void say_gradients(gd_check_result *out, const gradient_runs *g)
{
    gd_check_figure_add(out, "worst_error", g->worst_error);
    gd_check_figure_add(out, "kinks", (double)g->kinks);
    gd_check_say(out, "worst relative error %.2g (%s: %s), the median of %d checks of %d "
                 "elements per tensor on %lld examples each (%lld near kinks set aside); "
                 "per tensor:", g->worst_error, g->tensors[g->worst].name,
                 gd_gradcheck_verdict_name(gd_gradcheck_classify(g->worst_error)),
                 GD_CHECK_GRADIENT_RUNS, GD_CHECK_GRADIENT_SAMPLES, (long long)g->examples,
                 (long long)g->kinks);
    for (size_t i = 0; i < g->count; i++) {
        double e = g->errors[i * GD_CHECK_GRADIENT_RUNS];
        gd_check_figure_add(out, g->tensors[i].name, e);
        gd_check_say(out, " %s %.1e%s", g->tensors[i].name, e, i + 1 < g->count ? "," : "");
    }
}

/* Run r checks examples [r n, r n + n) (from the start again past the end) with sampling
 * seed 7 + r; its worst errors go to column r. */
static gd_status gradient_run(gd_model *m, const gd_check_setup *setup, int r,
                              gradient_runs *g, char *msg)
{
    gd_check_examples ex;
    gd_status st = gd_check_take(setup, (int64_t)(r + 1) * GD_CHECK_GRADIENT_EXAMPLES, &ex, msg);
    if (st != GD_OK)
        return st;
    int64_t n = ex.n < GD_CHECK_GRADIENT_EXAMPLES ? ex.n : GD_CHECK_GRADIENT_EXAMPLES;
    int64_t first = ex.n - n;
    g->examples = n;
    gd_loss loss = gd_check_loss(setup);
    gd_gradcheck_options opt = gd_gradcheck_defaults();
    opt.objective = GD_GRADCHECK_LOSS;
    opt.loss = &loss;
    opt.labels = ex.labels + first;
    opt.samples = GD_CHECK_GRADIENT_SAMPLES;
    opt.kink_tolerance = GD_CHECK_GRADIENT_KINKS;
    opt.check_input = false;
    opt.seed = 7 + (uint64_t)r;
    gd_gradcheck_result res = {.tensors = g->tensors, .capacity = g->count};
    gd_tensor x = gd_check_rows(m, ex.x, ex.width, first, n);
    gd_error gerr;
    if ((st = gd_gradcheck(m, &x, &opt, &res, &gerr)) != GD_OK)
        return gd_fail(msg, st, "%s", gerr.message);
    for (size_t i = 0; i < g->count; i++) {
        g->errors[i * GD_CHECK_GRADIENT_RUNS + r] = g->tensors[i].worst_error;
        g->kinks += g->tensors[i].kinks;
    }
    return GD_OK;
}

static gd_status gradient_runs_all(gd_model *m, const gd_check_setup *setup, gradient_runs *g,
                                   char *msg)
{
    gd_model_set_training(m, true);
    gd_status st = GD_OK;
    for (int r = 0; r < GD_CHECK_GRADIENT_RUNS && st == GD_OK; r++)
        st = gradient_run(m, setup, r, g, msg);
    for (size_t i = 0; i < g->count && st == GD_OK; i++) {
        double *row = g->errors + i * GD_CHECK_GRADIENT_RUNS;
        row[0] = median(row, GD_CHECK_GRADIENT_RUNS);
        if (i == 0 || by_error(&row[0], &g->worst_error) > 0) {
            g->worst = i;
            g->worst_error = row[0];
        }
    }
    return st;
}

gd_status gd_check_gradients(const gd_check_setup *setup, gd_check_result *out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_check_begin(out, 2, "gradients", "gradient check");
    gd_model *m;
    gd_status st = gd_check_model(setup, &m, msg);
    if (st != GD_OK)
        return st;
    gradient_runs g = {.count = gd_gradcheck_tensor_count(m, false)};
    g.tensors = calloc(g.count + 1, sizeof *g.tensors);
    g.errors = calloc((g.count + 1) * GD_CHECK_GRADIENT_RUNS, sizeof *g.errors);
    if (!g.tensors || !g.errors)
        st = gd_fail(msg, GD_ERR_NO_MEMORY, "check: no memory for the gradient check");
    else if (g.count == 0)
        gd_check_judge(out, GD_CHECK_SKIP, "the model has no parameters to check");
    else if ((st = gradient_runs_all(m, setup, &g, msg)) == GD_OK) {
        say_gradients(out, &g);
        judge_gradients(out, &g);
    }
    free(g.tensors);
    free(g.errors);
    gd_model_free(m);
    return st;
}

/* ------------------------------------------------------ batch independence */

static float largest_abs(const float *v, int64_t n)
{
    float m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(v[i]));
    return m;
}

/* The largest |dx_j|, j != i, over the largest |dx_i|, worst over i; *reached says
 * whether any gradient reached the input. */
static gd_status leak(gd_model *m, const gd_tensor *x, bool training, double *ratio,
                      bool *reached, char *msg)
{
    gd_model_set_training(m, training);
    int64_t n = x->dims[0];
    gd_rng *rng;
    if (gd_rng_create(&rng, 11) != GD_OK)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "check: no memory for a generator");
    gd_status st = GD_OK;
    *ratio = 0;
    *reached = false;
    for (int64_t i = 0; i < n && st == GD_OK; i++) {
        if ((st = gd_model_forward(m, x)) != GD_OK)
            break;
        gd_tensor *dy = gd_model_output_grad(m);
        int64_t per = gd_tensor_numel(dy) / n;
        memset(dy->data, 0, (size_t)gd_tensor_numel(dy) * sizeof(float));
        for (int64_t k = 0; k < per; k++)
            dy->data[i * per + k] = (float)(2 * gd_rng_uniform(rng) - 1);
        if ((st = gd_model_backward(m)) != GD_OK)
            break;
        gd_layer_info first;
        if ((st = gd_model_layer_at(m, 0, &first)) != GD_OK || !first.input_grad.data)
            break;
        int64_t width = gd_tensor_numel(&first.input_grad) / n;
        float own = largest_abs(first.input_grad.data + i * width, width), other = 0;
        for (int64_t j = 0; j < n; j++)
            if (j != i)
                other = fmaxf(other, largest_abs(first.input_grad.data + j * width, width));
        *reached |= own > 0;
        if (other > 0)
            *ratio = fmax(*ratio, own > 0 ? (double)other / own : INFINITY);
    }
    gd_rng_free(rng);
    return st == GD_OK ? GD_OK : gd_fail(msg, st, "check: %s", gd_model_error(m));
}

static void judge_independence(gd_check_result *out, double eval, double train, bool bn,
                               bool reached)
{
    gd_check_say(out, "evaluation mode: %s (largest other-sample gradient %.2g of the "
                 "sample's own); training mode: %s", eval == 0 ? "independent" : "MIXED", eval,
                 train == 0 ? "independent" : bn ? "mixed by batch norm, by design" : "MIXED");
    if (eval > 0 || (train > 0 && !bn))
        gd_check_judge(out, GD_CHECK_FAIL,
                       "one sample's output depends on other samples of the batch%s: some "
                       "layer mixes the batch (a reshape or a sum across samples)",
                       eval > 0 ? " in evaluation mode" : "");
    else if (!reached)
        gd_check_judge(out, GD_CHECK_WARN,
                       "no gradient reaches the input: the model ignores it, so independence "
                       "could not be seen");
}

gd_status gd_check_batch_independence(const gd_check_setup *setup, gd_check_result *out,
                                      gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_check_begin(out, 5, "batch_independence", "batch independence");
    gd_model *m;
    gd_check_examples ex;
    gd_status st = gd_check_model(setup, &m, msg);
    if (st != GD_OK)
        return st;
    int64_t n = gd_model_max_batch(m) < GD_CHECK_BATCH_EXAMPLES ? gd_model_max_batch(m)
                                                                : GD_CHECK_BATCH_EXAMPLES;
    if ((st = gd_check_take(setup, n, &ex, msg)) != GD_OK || ex.n < 2) {
        gd_model_free(m);
        if (st == GD_OK)
            gd_check_judge(out, GD_CHECK_SKIP, "it needs a batch of two examples or more");
        return st;
    }
    gd_model_set_input_grad(m, true);
    gd_tensor x = gd_check_rows(m, ex.x, ex.width, 0, ex.n);
    double eval = 0, train = 0;
    bool reached = false, reached_train = false, bn = gd_check_has_batchnorm(m);
    st = leak(m, &x, false, &eval, &reached, msg);
    if (st == GD_OK)
        st = leak(m, &x, true, &train, &reached_train, msg);
    gd_model_free(m);
    if (st != GD_OK)
        return st;
    gd_check_figure_add(out, "examples", (double)ex.n);
    gd_check_figure_add(out, "eval_leak", eval);
    gd_check_figure_add(out, "train_leak", train);
    gd_check_figure_add(out, "batchnorm", bn);
    judge_independence(out, eval, train, bn, reached);
    return GD_OK;
}
