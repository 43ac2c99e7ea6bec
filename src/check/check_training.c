/* The setup checks that train: overfitting a tiny subset (3), the input-independent
 * baseline (4) and determinism (7). include/gradus.h states each check's thresholds and
 * why. */
#include "checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OVERFIT_EVERY 10

/* A fresh model and its optimiser without weight decay. */
static gd_status fresh(const gd_check_setup *s, double weight_decay, gd_model **m,
                       gd_optimizer **opt, char *msg)
{
    *opt = NULL;
    gd_status st = gd_check_model(s, m, msg);
    if (st == GD_OK && (st = gd_check_optimizer(s, *m, weight_decay, opt, msg)) != GD_OK) {
        gd_model_free(*m);
        *m = NULL;
    }
    return st;
}

static void release(gd_model *m, gd_optimizer *opt)
{
    gd_optim_free(opt); /* before its model */
    gd_model_free(m);
}

/* ---------------------------------------------------------------- overfit */

/* Trains OVERFIT_EVERY steps at a time until the examples are learned or the steps are
 * spent; *steps gets the steps taken. */
static gd_status overfit(gd_model *m, gd_optimizer *opt, const gd_loss *loss,
                         const gd_check_examples *ex, int64_t *steps, double *mean_loss,
                         double *accuracy, char *msg)
{
    gd_status st = GD_OK;
    for (*steps = 0; *steps < GD_CHECK_OVERFIT_STEPS && st == GD_OK;) {
        st = gd_check_train(m, opt, loss, ex, OVERFIT_EVERY, NULL, msg);
        *steps += OVERFIT_EVERY;
        if (st == GD_OK)
            st = gd_check_evaluate(m, loss, ex, mean_loss, accuracy, msg);
        if (st == GD_OK && *accuracy == 1.0 && *mean_loss < GD_CHECK_OVERFIT_LOSS)
            break;
    }
    return st;
}

static void judge_overfit(gd_check_result *out, double lr, double mean_loss, double accuracy)
{
    if (accuracy < 1.0)
        gd_check_judge(out, GD_CHECK_FAIL,
                       "the model cannot memorise %d examples: raise the learning rate (%g "
                       "now), or look for a bug in the loss, the labels or the update",
                       GD_CHECK_OVERFIT_EXAMPLES, lr);
    else if (mean_loss >= GD_CHECK_OVERFIT_LOSS)
        gd_check_judge(out, GD_CHECK_WARN,
                       "every example is right but the loss stays above %g: learning is slow; "
                       "try a higher learning rate (%g now)", GD_CHECK_OVERFIT_LOSS, lr);
}

gd_status gd_check_overfit(const gd_check_setup *setup, gd_check_result *out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_check_begin(out, 3, "overfit", "overfit 20 examples");
    gd_model *m;
    gd_optimizer *opt;
    gd_check_examples ex;
    gd_status st = gd_check_take(setup, GD_CHECK_OVERFIT_EXAMPLES, &ex, msg);
    if (st == GD_OK)
        st = fresh(setup, 0, &m, &opt, msg);
    if (st != GD_OK)
        return st;
    gd_loss loss = gd_check_loss(setup);
    int64_t steps;
    double mean_loss = NAN, accuracy = 0, lr = gd_optim_lr(opt);
    st = overfit(m, opt, &loss, &ex, &steps, &mean_loss, &accuracy, msg);
    release(m, opt);
    if (st == GD_ERR_NUMERIC) { /* a diverging rate is the check's finding */
        gd_check_say(out, "the loss became NaN or infinite on %lld examples", (long long)ex.n);
        gd_check_judge(out, GD_CHECK_FAIL, "training diverged: lower the learning rate (%g now)", lr);
        return GD_OK;
    }
    if (st != GD_OK)
        return st;
    gd_check_figure_add(out, "examples", (double)ex.n);
    gd_check_figure_add(out, "steps", (double)steps);
    gd_check_figure_add(out, "max_steps", GD_CHECK_OVERFIT_STEPS);
    gd_check_figure_add(out, "loss", mean_loss);
    gd_check_figure_add(out, "accuracy", accuracy);
    gd_check_figure_add(out, "lr", lr);
    gd_check_say(out, "accuracy %.0f%%, loss %.4f after %lld of at most %d steps on %lld "
                 "examples (lr %g; pass: 100%% and loss < %g)", 100 * accuracy, mean_loss,
                 (long long)steps, GD_CHECK_OVERFIT_STEPS, (long long)ex.n, lr,
                 GD_CHECK_OVERFIT_LOSS);
    judge_overfit(out, lr, mean_loss, accuracy);
    return GD_OK;
}

/* --------------------------------------------------------------- baseline */

/* Check 3's training for all its steps, then the loss and accuracy on the examples. */
static gd_status train_once(const gd_check_setup *setup, const gd_check_examples *ex,
                            double *mean_loss, double *accuracy, char *msg)
{
    gd_model *m;
    gd_optimizer *opt;
    gd_loss loss = gd_check_loss(setup);
    gd_status st = fresh(setup, 0, &m, &opt, msg);
    if (st != GD_OK)
        return st;
    st = gd_check_train(m, opt, &loss, ex, GD_CHECK_OVERFIT_STEPS, NULL, msg);
    if (st == GD_OK)
        st = gd_check_evaluate(m, &loss, ex, mean_loss, accuracy, msg);
    release(m, opt);
    return st;
}

/* The entropy of the labels' frequencies, in nats: the best cross-entropy of a model that
 * sees no input. */
static double label_entropy(const int32_t *labels, int64_t n)
{
    int64_t counts[256] = {0};
    for (int64_t i = 0; i < n; i++)
        counts[labels[i] & 255]++;
    double h = 0;
    for (int c = 0; c < 256; c++)
        if (counts[c])
            h -= (double)counts[c] / (double)n * log((double)counts[c] / (double)n);
    return h;
}

static void judge_baseline(gd_check_result *out, const gd_loss *loss, double gap, double h)
{
    if (loss->kind != GD_LOSS_CROSS_ENTROPY)
        gd_check_judge(out, GD_CHECK_SKIP, "a blind model's best loss is known for cross-entropy only");
    else if (h == 0)
        gd_check_judge(out, GD_CHECK_SKIP, "the examples all have one label: a blind model gets them right too");
    else if (gap < h / 2)
        gd_check_judge(out, GD_CHECK_FAIL,
                       "the model learns no more from the real inputs than from zeros: it "
                       "ignores its input; look at how the data reaches the first layer and at "
                       "weights initialised to zero");
}

gd_status gd_check_baseline(const gd_check_setup *setup, gd_check_result *out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_check_begin(out, 4, "baseline", "input-independent baseline");
    gd_check_examples ex, zeros;
    gd_status st = gd_check_take(setup, GD_CHECK_OVERFIT_EXAMPLES, &ex, msg);
    if (st != GD_OK)
        return st;
    zeros = ex;
    if (!(zeros.x = calloc((size_t)(ex.n * ex.width), sizeof(float))))
        return gd_fail(msg, GD_ERR_NO_MEMORY, "check: no memory for the zero inputs");
    double real_loss = NAN, real_acc = 0, zero_loss = NAN, zero_acc = 0;
    st = train_once(setup, &ex, &real_loss, &real_acc, msg);
    if (st == GD_OK)
        st = train_once(setup, &zeros, &zero_loss, &zero_acc, msg);
    free(zeros.x);
    if (st == GD_ERR_NUMERIC) {
        gd_check_judge(out, GD_CHECK_FAIL, "training diverged (the overfit check says more): %s", msg);
        return GD_OK;
    }
    if (st != GD_OK)
        return st;
    gd_loss loss = gd_check_loss(setup);
    double h = label_entropy(ex.labels, ex.n), gap = zero_loss - real_loss;
    gd_check_figure_add(out, "examples", (double)ex.n);
    gd_check_figure_add(out, "steps", GD_CHECK_OVERFIT_STEPS);
    gd_check_figure_add(out, "real_loss", real_loss);
    gd_check_figure_add(out, "zero_loss", zero_loss);
    gd_check_figure_add(out, "real_accuracy", real_acc);
    gd_check_figure_add(out, "zero_accuracy", zero_acc);
    gd_check_figure_add(out, "label_entropy", h);
    gd_check_say(out, "after %d steps: real inputs loss %.4f, accuracy %.0f%%; zero inputs "
                 "loss %.4f, accuracy %.0f%%; gap %.3f (pass: at least half the labels' "
                 "entropy, %.3f)", GD_CHECK_OVERFIT_STEPS, real_loss, 100 * real_acc,
                 zero_loss, 100 * zero_acc, gap, h / 2);
    judge_baseline(out, &loss, gap, h);
    return GD_OK;
}

/* ------------------------------------------------------------ determinism */

/* The first tensor whose bits differ between two models of one spec, or NULL. */
static const char *first_difference(const gd_model *a, const gd_model *b)
{
    for (size_t i = 0; i < gd_model_tensor_count(a); i++) {
        const gd_named_tensor *x = gd_model_tensor_at(a, i), *y = gd_model_tensor_at(b, i);
        size_t n = (size_t)gd_tensor_numel(&x->value);
        const void *p = x->dtype == GD_DTYPE_F32 ? (const void *)x->value.data : (const void *)x->i64;
        const void *q = y->dtype == GD_DTYPE_F32 ? (const void *)y->value.data : (const void *)y->i64;
        size_t bytes = n * (x->dtype == GD_DTYPE_F32 ? sizeof(float) : sizeof(int64_t));
        if (p && q && memcmp(p, q, bytes) != 0)
            return x->name;
    }
    return NULL;
}

static gd_status short_run(const gd_check_setup *setup, const gd_check_examples *ex,
                           gd_model **m, double *losses, char *msg)
{
    gd_optimizer *opt;
    gd_loss loss = setup->loss;
    double decay = setup->settings ? setup->settings->weight_decay : 0;
    gd_status st = fresh(setup, decay, m, &opt, msg);
    if (st != GD_OK)
        return st;
    st = gd_check_train(*m, opt, &loss, ex, GD_CHECK_DETERMINISM_STEPS, losses, msg);
    gd_optim_free(opt);
    return st;
}

gd_status gd_check_determinism(const gd_check_setup *setup, gd_check_result *out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_check_begin(out, 7, "determinism", "determinism");
    int64_t batch = setup->settings ? setup->settings->batch_size : 1;
    gd_check_examples ex;
    gd_status st = gd_check_take(setup, GD_CHECK_DETERMINISM_STEPS * batch, &ex, msg);
    if (st != GD_OK)
        return st;
    gd_model *a = NULL, *b = NULL;
    double la[GD_CHECK_DETERMINISM_STEPS], lb[GD_CHECK_DETERMINISM_STEPS];
    st = short_run(setup, &ex, &a, la, msg);
    if (st == GD_OK)
        st = short_run(setup, &ex, &b, lb, msg);
    const char *differs = st == GD_OK ? first_difference(a, b) : NULL;
    bool same_losses = memcmp(la, lb, sizeof la) == 0;
    char name[48];
    snprintf(name, sizeof name, "%s", differs ? differs : "");
    gd_model_free(a);
    gd_model_free(b);
    if (st != GD_OK)
        return st;
    gd_check_figure_add(out, "steps", GD_CHECK_DETERMINISM_STEPS);
    gd_check_figure_add(out, "same_bits", !differs);
    gd_check_figure_add(out, "same_losses", same_losses);
    gd_check_figure_add(out, "last_loss", la[GD_CHECK_DETERMINISM_STEPS - 1]);
    gd_check_say(out, "two runs of %d steps from seed %llu: %s; losses %s (last %.6f)",
                 GD_CHECK_DETERMINISM_STEPS,
                 (unsigned long long)(setup->settings ? setup->settings->seed : 0),
                 differs ? "parameters differ" : "the same bits in every tensor",
                 same_losses ? "identical" : "differ", la[GD_CHECK_DETERMINISM_STEPS - 1]);
    if (differs || !same_losses)
        gd_check_judge(out, GD_CHECK_FAIL,
                       "the same seed gave different results%s%s: something draws from an "
                       "unseeded source or sums in a varying order",
                       differs ? ", first in " : "", name);
    return GD_OK;
}
