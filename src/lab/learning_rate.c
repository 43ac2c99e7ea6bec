/* learning-rate: the lecture's picture of loss curves at very low, low, good, high and
 * very high learning rates, measured. The good rate is the one `gradus check`'s range
 * test suggests (gd_lr_range_test on the same run); the others are it times 1/1000,
 * 1/30, 10 and 100. Each trains the same MLP with SGD (momentum 0.9) on Fashion-MNIST
 * from the same initialisation and batches (one seed per repetition), and its training
 * loss is recorded at every step. A run whose loss is no longer finite stops there (its
 * curve ends): the lecture's "very high" in its plainest form. */
#include "lab.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RATES = 5, GOOD = 2, MAX_STEPS = 8192 };
static const double FACTOR[RATES] = {1e-3, 1.0 / 30, 1, 10, 100};
static const char *const RATE_NAME[RATES] = {"very low", "low", "good", "high", "very high"};

typedef struct curve {
    double loss[MAX_STEPS];
    int64_t steps;
} curve;

static void record(void *ctx, gd_run *run, const gd_step_info *step)
{
    (void)run;
    curve *c = ctx;
    if (c->steps < MAX_STEPS)
        c->loss[c->steps++] = step->loss;
}

static gd_status settings_for(const gd_lab_doc *doc, uint64_t seed, double lr, gd_settings *s,
                              char *msg)
{
    const bool quick = doc->opt->quick;
    char text[64];
    snprintf(text, sizeof text, "%.17g", lr);
    const char *const pairs[][2] = {
        {"model", "linear(100) relu linear(10)"}, {"optim", "sgd"}, {"momentum", "0.9"},
        {"batch_size", "100"}, {"limit", quick ? "6000" : "0"},
        {"val_size", quick ? "1000" : "5000"}, {"epochs", quick ? "2" : "5"}, {"lr", text}};
    gd_status st = gd_lab_base_settings(doc, seed, s, msg);
    for (size_t i = 0; st == GD_OK && i < sizeof pairs / sizeof pairs[0]; i++)
        st = gd_lab_set(s, pairs[i][0], pairs[i][1], msg);
    return st;
}

/* A run of this seed at lr, its data through the cache. */
static gd_status make_run(const gd_lab_doc *doc, uint64_t seed, double lr, gd_data_cache *cache,
                          gd_run **run, char *msg)
{
    gd_settings s;
    gd_error err;
    gd_status st = settings_for(doc, seed, lr, &s, msg);
    if (st == GD_OK && (st = gd_run_create(run, &s, &(gd_run_options){.data_cache = cache},
                                           &err)) != GD_OK)
        gd_fail(msg, st, "learning-rate: %s", err.message);
    gd_settings_free(&s);
    return st;
}

/* The range test's suggestion on a fresh run of this seed (its own rate is the range's
 * business, not the run's). */
static gd_status good_rate(const gd_lab_doc *doc, uint64_t seed, gd_data_cache *cache,
                           gd_lr_range_result *range, char *msg)
{
    gd_run *run = NULL;
    gd_error err;
    gd_status st = make_run(doc, seed, 0.01, cache, &run, msg);
    if (st != GD_OK)
        return st;
    st = gd_lr_range_test(run, NULL, range, &err);
    gd_run_free(run);
    if (st == GD_OK && !(range->suggestion.lr > 0))
        st = gd_fail(msg, GD_ERR_NUMERIC, "learning-rate: the range test suggested no rate");
    else if (st != GD_OK)
        gd_fail(msg, st, "learning-rate: %s", err.message);
    return st;
}

/* Trains at lr, every step's loss into c; a loss that is not finite ends the curve. */
static gd_status train_at(const gd_lab_doc *doc, uint64_t seed, double lr, gd_data_cache *cache,
                          curve *c, char *msg)
{
    gd_run *run = NULL;
    gd_status st = make_run(doc, seed, lr, cache, &run, msg);
    if (st != GD_OK)
        return st;
    c->steps = 0;
    gd_run_add_observer(run, &(gd_observer){.ctx = c, .after_forward = record});
    int64_t total = gd_run_batches_per_epoch(run) * gd_run_settings(run)->epochs;
    bool done;
    for (int64_t i = 0; st == GD_OK && i < total && c->steps < MAX_STEPS; i++)
        st = gd_run_step(run, &done);
    if (st == GD_ERR_NUMERIC)
        st = GD_OK; /* diverged: the curve says so by ending */
    else if (st != GD_OK)
        gd_fail(msg, st, "learning-rate: %s", gd_run_error(run));
    gd_run_free(run);
    return st;
}

/* ------------------------------------------------------------ figures of a curve */

/* The mean loss of the curve's last tenth of steps (NaN when it diverged). */
static double final_loss(const curve *c, int64_t planned)
{
    if (c->steps < planned || !isfinite(c->loss[c->steps - 1]))
        return NAN;
    int64_t from = c->steps - (c->steps / 10 > 0 ? c->steps / 10 : 1);
    double sum = 0;
    for (int64_t i = from; i < c->steps; i++)
        sum += c->loss[i];
    return sum / (double)(c->steps - from);
}

/* The largest finite loss over the first one; the curve's end, if it diverged, counts as
 * infinitely large. */
static double peak_ratio(const curve *c, int64_t planned)
{
    double top = 0;
    for (int64_t i = 0; i < c->steps; i++)
        top = isfinite(c->loss[i]) ? fmax(top, c->loss[i]) : INFINITY;
    return c->steps < planned ? INFINITY : top / c->loss[0];
}

/* An exponential average (the report's smoothing of a step loss), for the figure. */
static void smooth(const curve *c, double *out)
{
    double avg = 0;
    for (int64_t i = 0; i < c->steps; i++) {
        avg = 0.9 * avg + 0.1 * c->loss[i];
        out[i] = avg / (1 - pow(0.9, (double)(i + 1)));
    }
}

/* ------------------------------------------------------------ the experiment */

typedef struct per_seed {
    double good_lr, first[RATES], final[RATES], peak[RATES];
} per_seed;

static void curves_figure(gd_lab_doc *doc, curve *c)
{
    cJSON *f = gd_lab_figure(doc, "loss-by-rate", "Training loss per step at five learning "
                             "rates (seed 1, smoothed)", "lines", "step", "training loss", true);
    double *x = malloc(MAX_STEPS * sizeof *x), *y = malloc(MAX_STEPS * sizeof *y);
    for (int64_t i = 0; x && i < MAX_STEPS; i++)
        x[i] = (double)(i + 1);
    for (int k = 0; x && y && k < RATES; k++) {
        smooth(&c[k], y);
        /* A blown-up curve is cut at 10x its first loss, as the lecture's picture lets it
         * leave the frame; its numbers are in the table. */
        int64_t shown = 0;
        while (shown < c[k].steps && y[shown] <= 10 * c[k].loss[0])
            shown++;
        char name[64];
        snprintf(name, sizeof name, "%s (x%g)%s", RATE_NAME[k], FACTOR[k],
                 shown < c[k].steps ? ", cut at 10x its start" : "");
        gd_lab_series(doc, f, name, x, (int)shown, y, (int)shown);
    }
    doc->failed = doc->failed || !x || !y;
    free(x), free(y);
}

static void range_figure(gd_lab_doc *doc, const gd_lr_range_result *r)
{
    cJSON *f = gd_lab_figure(doc, "range-test", "The range test that chose the good rate "
                             "(seed 1)", "lines", "log10 learning rate", "smoothed loss", true);
    double *x = malloc((size_t)(r->points ? r->points : 1) * sizeof *x);
    for (int64_t i = 0; x && i < r->points; i++)
        x[i] = log10(r->lr[i]);
    if (x)
        gd_lab_series(doc, f, "smoothed loss", x, (int)r->points, r->smoothed, (int)r->points);
    double at[1] = {log10(r->suggestion.lr)}, loss[1] = {r->suggestion.loss};
    if (x)
        gd_lab_series(doc, f, "suggested", at, 1, loss, 1);
    doc->failed = doc->failed || !x;
    free(x);
}

static gd_status one_seed(gd_lab_doc *doc, uint64_t seed, bool first, gd_data_cache *cache,
                          curve *c, per_seed *p, char *msg)
{
    gd_lr_range_result range = {0};
    gd_status st = good_rate(doc, seed, cache, &range, msg);
    p->good_lr = range.suggestion.lr;
    int64_t planned = 0;
    for (int k = 0; st == GD_OK && k < RATES; k++) {
        st = train_at(doc, seed, p->good_lr * FACTOR[k], cache, &c[k], msg);
        planned = k == 0 ? c[0].steps : planned; /* very low never diverges */
    }
    for (int k = 0; st == GD_OK && k < RATES; k++) {
        p->first[k] = c[k].steps ? c[k].loss[0] : NAN;
        p->final[k] = final_loss(&c[k], planned);
        p->peak[k] = peak_ratio(&c[k], planned);
    }
    if (st == GD_OK && first) {
        curves_figure(doc, c);
        range_figure(doc, &range);
    }
    gd_lr_range_result_free(&range);
    return st;
}

/* Losses of a diverged run count as the worst: +infinity in comparisons. */
static double or_worst(double v) { return isnan(v) ? INFINITY : v; }

static void judge_all(gd_lab_doc *doc, const per_seed *p, int n)
{
    double v[100] = {0};
    static const gd_lab_claim claims[] = {
        {"good-ends-lowest", "The good rate ends with the lowest training loss of the five",
         "the lowest final loss of the other four minus the good one's", false, 0},
        {"low-is-slow", "A low rate learns, but slowly: it ends above the good one",
         "final loss at 1/30 of the good rate minus the good one's", false, 0},
        {"very-low-barely-moves", "A very low rate barely moves the loss",
         "final loss over first loss at 1/1000 of the good rate", false, 0.8},
        {"high-ends-worse", "A high rate drops fast, then stalls above the good one",
         "final loss at 10x the good rate minus the good one's", false, 0},
        {"very-high-explodes", "A very high rate makes the loss blow up",
         "share of seeds whose loss at 100x the good rate passed 3x its first or diverged",
         false, 0.5},
    };
    for (int i = 0; i < n; i++) {
        double others = INFINITY;
        for (int k = 0; k < RATES; k++)
            if (k != GOOD)
                others = fmin(others, or_worst(p[i].final[k]));
        v[i] = others - p[i].final[GOOD];
    }
    gd_lab_judge(doc, &claims[0], v, n);
    for (int i = 0; i < n; i++)
        v[i] = or_worst(p[i].final[1]) - p[i].final[GOOD];
    gd_lab_judge(doc, &claims[1], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].final[0] / p[i].first[0];
    gd_lab_judge(doc, &claims[2], v, n);
    for (int i = 0; i < n; i++)
        v[i] = or_worst(p[i].final[3]) - p[i].final[GOOD];
    gd_lab_judge(doc, &claims[3], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].peak[4] >= 3 ? 1 : 0;
    gd_lab_judge(doc, &claims[4], v, n);
}

static void rates_table(gd_lab_doc *doc, const per_seed *p, int n)
{
    static const char *const cols[] = {"seed", "good lr (range test)", "final: very low", "low",
                                       "good", "high", "very high", "very high: peak / first"};
    cJSON *t = gd_lab_table(doc, "final-losses", "Each seed's suggested rate and the five runs' "
                            "final training loss (mean of the last tenth of steps; - diverged)",
                            cols, 8);
    for (int i = 0; i < n; i++) {
        char label[24];
        snprintf(label, sizeof label, "%d", i + 1);
        double v[8] = {(double)(doc->opt->seed + (unsigned)i), p[i].good_lr, p[i].final[0],
                       p[i].final[1], p[i].final[2], p[i].final[3], p[i].final[4], p[i].peak[4]};
        gd_lab_row(doc, t, label, v, 8);
    }
}

gd_status gd_lab_learning_rate(gd_lab_doc *doc, char *msg)
{
    int n = doc->seeds;
    curve *c = calloc(RATES, sizeof *c);
    per_seed *p = calloc((size_t)n, sizeof *p);
    gd_data_cache *cache = NULL;
    gd_error err;
    gd_status st = c && p ? gd_data_cache_new(&cache, &err) : GD_ERR_NO_MEMORY;
    if (st != GD_OK)
        gd_fail(msg, st, "learning-rate: out of memory");
    for (int i = 0; st == GD_OK && i < n; i++) {
        gd_lab_progress(doc, i, n);
        st = one_seed(doc, doc->opt->seed + (uint64_t)i, i == 0, cache, c, &p[i], msg);
    }
    if (st == GD_OK) {
        judge_all(doc, p, n);
        rates_table(doc, p, n);
    }
    gd_data_cache_free(cache);
    free(c), free(p);
    return st;
}
