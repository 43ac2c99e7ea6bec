/* batchnorm: with and without batch norm on Fashion-MNIST, in three parts.
 * 1. A grid of initial weight scales (normal std 0.01, 0.1, 1) and SGD learning rates
 *    (0.01, 0.1, 1) for a 784-100-100-10 ReLU net, with and without batch norm: which runs
 *    train (validation accuracy above 0.5) and how far; the largest rate is ten times the
 *    middle one.
 * 2. Ioffe and Szegedy's MNIST set-up: 3 hidden layers of 100 sigmoid units, batches of
 *    60, SGD; the 15th, 50th and 85th percentiles over the batch of the input to one unit
 *    of the last hidden layer's sigmoid, over training, with and without batch norm.
 * 3. The training/evaluation difference: the batch-norm net of part 2 on the test set
 *    with its running statistics (evaluation mode) against each test batch's own
 *    statistics (training mode), at test batch sizes 2, 4, 10 and 60. A batch of one
 *    sample has no variance to normalise by: the library refuses it in training mode, as
 *    PyTorch does ("more than one value per channel"), and the document says so. */
#include "lab.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SCALES = 3, RATES = 3, CELLS = SCALES * RATES, RECORDS = 400, SIZES = 4 };
static const char *const SCALE[SCALES] = {"0.01", "0.1", "1"};
static const char *const RATE[RATES] = {"0.01", "0.1", "1"};
static const int TEST_BATCH[SIZES] = {2, 4, 10, 60};
#define TRAINS 0.5 /* validation accuracy above this: the run trains */

static gd_status settings_with(const gd_lab_doc *doc, uint64_t seed, const char *spec,
                               const char *lr, const char *batch, const char *epochs,
                               gd_settings *s, char *msg)
{
    const char *const pairs[][2] = {
        {"model", spec}, {"optim", "sgd"}, {"momentum", "0"}, {"lr", lr}, {"batch_size", batch},
        {"limit", doc->opt->quick ? "3000" : "0"}, {"val_size", doc->opt->quick ? "1000" : "5000"},
        {"epochs", epochs}};
    gd_status st = gd_lab_base_settings(doc, seed, s, msg);
    for (size_t i = 0; st == GD_OK && i < sizeof pairs / sizeof pairs[0]; i++)
        st = gd_lab_set(s, pairs[i][0], pairs[i][1], msg);
    return st;
}

/* ------------------------------------------------------------ 1. the grid */

static void grid_spec(const char *scale, bool bn, char *out, size_t len)
{
    snprintf(out, len, "linear(100, init=normal(std=%s)) %s relu "
                       "linear(100, init=normal(std=%s)) %s relu linear(10)",
             scale, bn ? "bn" : "", scale, bn ? "bn" : "");
}

/* The final validation accuracy of every cell, with (bn) and without batch norm. */
static gd_status grid(const gd_lab_doc *doc, uint64_t seed, gd_data_cache *cache,
                      double acc[2][CELLS], char *msg)
{
    gd_status st = GD_OK;
    static gd_lab_trained t;
    for (int bn = 0; st == GD_OK && bn < 2; bn++)
        for (int c = 0; st == GD_OK && c < CELLS; c++) {
            char spec[256];
            gd_settings s;
            grid_spec(SCALE[c / RATES], bn, spec, sizeof spec);
            st = settings_with(doc, seed, spec, RATE[c % RATES], "100",
                               doc->opt->quick ? "2" : "5", &s, msg);
            if (st == GD_OK)
                st = gd_lab_train(&s, cache, NULL, &t, msg);
            gd_settings_free(&s);
            acc[bn][c] = t.diverged || !t.epochs ? 0.1 : t.val_acc[t.epochs - 1];
        }
    return st;
}

/* ------------------------------------------------------------ 2. the percentiles */

typedef struct unit_watch {
    size_t layer;   /* the layer whose output is the last sigmoid's input */
    double rec[RECORDS][4]; /* step, 15th, 50th, 85th percentile */
    int n;
    int64_t every;
} unit_watch;

static int by_value(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void watch_unit(void *ctx, gd_run *run, const gd_step_info *step)
{
    unit_watch *w = ctx;
    gd_layer_info info;
    if (step->step % w->every != 0 || w->n >= RECORDS ||
        gd_model_layer_at(gd_run_model(run), w->layer, &info) != GD_OK)
        return;
    int64_t rows = info.output.dims[0], cols = gd_tensor_numel(&info.output) / rows;
    float v[256];
    int64_t n = rows < 256 ? rows : 256;
    for (int64_t i = 0; i < n; i++)
        v[i] = info.output.data[i * cols]; /* unit 0 of every sample */
    qsort(v, (size_t)n, sizeof *v, by_value);
    double *r = w->rec[w->n++];
    r[0] = (double)step->step;
    r[1] = v[(int64_t)(0.15 * (double)(n - 1))];
    r[2] = v[(int64_t)(0.50 * (double)(n - 1))];
    r[3] = v[(int64_t)(0.85 * (double)(n - 1))];
}

/* How far the median wandered after the first tenth of training: its std over records. */
static double median_drift(const unit_watch *w)
{
    int from = w->n / 10, k = 0;
    double sum = 0, sq = 0;
    for (int i = from; i < w->n; i++, k++)
        sum += w->rec[i][2];
    double mean = k ? sum / k : NAN;
    for (int i = from; i < w->n; i++)
        sq += (w->rec[i][2] - mean) * (w->rec[i][2] - mean);
    return k > 1 ? sqrt(sq / (k - 1)) : NAN;
}

/* ------------------------------------------------------------ 3. train and test */

/* The test set's accuracy in batches of size b, in training mode (the batch's own
 * statistics; the running ones are left to the evaluation that came first). */
static gd_status batch_stat_accuracy(gd_model *m, gd_dataset *test, int b, double *acc, char *msg)
{
    float *x = gd_dataset_features(test);
    const int32_t *y = gd_dataset_labels(test);
    int64_t n = gd_dataset_size(test), d = gd_dataset_sample_size(test), right = 0, seen = 0;
    if (!x)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "batchnorm: the test set does not fit");
    gd_model_set_training(m, true);
    gd_status st = GD_OK;
    for (int64_t i = 0; st == GD_OK && i + b <= n; i += b) {
        gd_tensor in = gd_tensor_view(x + i * d, 2, (int64_t[]){b, d});
        if ((st = gd_model_forward(m, &in)) != GD_OK)
            break;
        const gd_tensor *out = gd_model_output(m);
        int classes = (int)out->dims[1];
        for (int k = 0; k < b; k++, seen++)
            right += gd_argmax(out->data + (int64_t)k * classes, classes) == y[i + k];
    }
    gd_model_set_training(m, false);
    *acc = seen ? (double)right / (double)seen : NAN;
    return st == GD_OK ? GD_OK : gd_fail(msg, st, "batchnorm: %s", gd_model_error(m));
}

typedef struct sigmoid_net {
    unit_watch w;
    double eval_acc, batch_acc[SIZES], final_val;
} sigmoid_net;

static gd_status train_sigmoid_net(const gd_lab_doc *doc, uint64_t seed, bool bn,
                                   gd_data_cache *cache, sigmoid_net *out, char *msg)
{
    const char *spec = bn ? "linear(100) bn sigmoid linear(100) bn sigmoid linear(100) bn "
                            "sigmoid linear(10)"
                          : "linear(100) sigmoid linear(100) sigmoid linear(100) sigmoid linear(10)";
    gd_settings s;
    gd_status st = settings_with(doc, seed, spec, "0.5", "60", doc->opt->quick ? "3" : "10", &s, msg);
    gd_run *run = NULL;
    gd_error err;
    if (st == GD_OK && (st = gd_run_create(&run, &s, &(gd_run_options){.data_cache = cache},
                                           &err)) != GD_OK)
        gd_fail(msg, st, "batchnorm: %s", err.message);
    int64_t steps = st == GD_OK ? gd_run_batches_per_epoch(run) * s.epochs : 1;
    gd_settings_free(&s);
    /* Layers: linear, [bn,] sigmoid three times: the last sigmoid's input is layer 7 with
     * batch norm (its bn), 4 without (its linear). */
    out->w = (unit_watch){.layer = bn ? 7 : 4, .every = steps / RECORDS + 1};
    if (st == GD_OK)
        gd_run_add_observer(run, &(gd_observer){.ctx = &out->w, .after_forward = watch_unit});
    gd_epoch_metrics m = {0};
    for (int64_t e = 0; st == GD_OK && e < gd_run_settings(run)->epochs; e++)
        if ((st = gd_run_epoch(run, &m)) != GD_OK)
            gd_fail(msg, st, "batchnorm: %s", gd_run_error(run));
    out->final_val = m.val_accuracy;
    gd_evaluation ev = {.accuracy = NAN};
    if (st == GD_OK && (st = gd_evaluate(gd_run_model(run), gd_run_dataset(run, "test"), NULL,
                                         &ev, &err)) != GD_OK)
        gd_fail(msg, st, "batchnorm: %s", err.message);
    out->eval_acc = ev.accuracy;
    for (int k = 0; st == GD_OK && bn && k < SIZES; k++)
        st = batch_stat_accuracy(gd_run_model(run), gd_run_dataset(run, "test"), TEST_BATCH[k],
                                 &out->batch_acc[k], msg);
    gd_run_free(run);
    return st;
}

/* ------------------------------------------------------------ the experiment */

typedef struct per_seed {
    double acc[2][CELLS];
    int trained[2];
    double drift[2], eval_acc, batch_acc[SIZES], val[2];
} per_seed;

static void percentile_figure(gd_lab_doc *doc, const sigmoid_net nets[2])
{
    cJSON *f = gd_lab_figure(doc, "percentiles", "Input to a last-hidden-layer sigmoid: its "
                             "15th, 50th and 85th percentiles over the batch, during training "
                             "(seed 1)", "lines", "step", "input to the sigmoid", false);
    static const char *const pct[3] = {"15th", "50th", "85th"};
    double x[RECORDS], y[RECORDS];
    for (int bn = 0; bn < 2; bn++) {
        const unit_watch *w = &nets[bn].w;
        for (int q = 0; q < 3; q++) {
            for (int i = 0; i < w->n; i++)
                x[i] = w->rec[i][0], y[i] = w->rec[i][1 + q];
            char name[48];
            snprintf(name, sizeof name, "%s, %s", bn ? "batch norm" : "without", pct[q]);
            gd_lab_series(doc, f, name, x, w->n, y, w->n);
        }
    }
}

static void grid_table(gd_lab_doc *doc, const per_seed *p)
{
    static const char *const cols[] = {"weight std", "lr", "val accuracy, without",
                                       "val accuracy, batch norm"};
    cJSON *t = gd_lab_table(doc, "grid", "The grid (seed 1): final validation accuracy by "
                            "initial weight scale and learning rate", cols, 4);
    for (int c = 0; c < CELLS; c++) {
        char label[32];
        snprintf(label, sizeof label, "%s/%s", SCALE[c / RATES], RATE[c % RATES]);
        double v[4] = {strtod(SCALE[c / RATES], NULL), strtod(RATE[c % RATES], NULL),
                       p->acc[0][c], p->acc[1][c]};
        gd_lab_row(doc, t, label, v, 4);
    }
}

/* The grid as a figure: validation accuracy against log10 lr, a line per weight scale,
 * with and without batch norm. */
static void grid_figure(gd_lab_doc *doc, const per_seed *p)
{
    cJSON *f = gd_lab_figure(doc, "grid", "The grid (seed 1): validation accuracy by learning "
                             "rate, a line per initial weight std, with and without batch norm",
                             "lines", "log10 learning rate", "validation accuracy", false);
    double x[RATES], y[RATES];
    for (int r = 0; r < RATES; r++)
        x[r] = log10(strtod(RATE[r], NULL));
    for (int bn = 0; bn < 2; bn++)
        for (int k = 0; k < SCALES; k++) {
            char name[48];
            for (int r = 0; r < RATES; r++)
                y[r] = p->acc[bn][k * RATES + r];
            snprintf(name, sizeof name, "%s, std %s", bn ? "batch norm" : "without", SCALE[k]);
            gd_lab_series(doc, f, name, x, RATES, y, RATES);
        }
}

static void test_table(gd_lab_doc *doc, const per_seed *p, int n)
{
    static const char *const cols[] = {"seed", "running statistics", "batch of 2", "of 4",
                                       "of 10", "of 60", "median drift, without",
                                       "median drift, batch norm"};
    cJSON *t = gd_lab_table(doc, "test-modes", "The sigmoid batch-norm net's test accuracy with "
                            "its running statistics and with each test batch's own, and how "
                            "far the watched unit's median input wandered (its std over "
                            "training after the first tenth)", cols, 8);
    for (int i = 0; i < n; i++) {
        char label[16];
        snprintf(label, sizeof label, "%d", i + 1);
        double v[8] = {(double)(doc->opt->seed + (unsigned)i), p[i].eval_acc, p[i].batch_acc[0],
                       p[i].batch_acc[1], p[i].batch_acc[2], p[i].batch_acc[3], p[i].drift[0],
                       p[i].drift[1]};
        gd_lab_row(doc, t, label, v, 8);
    }
}

static gd_status one_seed(gd_lab_doc *doc, uint64_t seed, bool first, gd_data_cache *cache,
                          void *out, char *msg)
{
    per_seed *p = out;
    static sigmoid_net nets[2];
    gd_status st = grid(doc, seed, cache, p->acc, msg);
    for (int bn = 0; st == GD_OK && bn < 2; bn++) {
        p->trained[bn] = 0;
        for (int c = 0; c < CELLS; c++)
            p->trained[bn] += p->acc[bn][c] > TRAINS;
        st = train_sigmoid_net(doc, seed, bn, cache, &nets[bn], msg);
        p->drift[bn] = median_drift(&nets[bn].w);
        p->val[bn] = nets[bn].final_val;
    }
    if (st != GD_OK)
        return st;
    p->eval_acc = nets[1].eval_acc;
    memcpy(p->batch_acc, nets[1].batch_acc, sizeof p->batch_acc);
    if (first) {
        grid_figure(doc, p);
        percentile_figure(doc, nets);
        grid_table(doc, p);
    }
    return GD_OK;
}

static void judge_all(gd_lab_doc *doc, const per_seed *p, int n)
{
    double v[100] = {0};
    static const gd_lab_claim claims[] = {
        {"bn-trains-more", "Batch norm depends less on initialisation and learning rate: more "
         "of the grid's runs train", "runs of the 3 x 3 grid above 0.5 validation accuracy, "
         "with minus without batch norm", false, 0},
        {"bn-allows-higher-lr", "Batch norm allows higher learning rates: at lr 1, ten times "
         "the grid's middle rate, it trains where the plain net does not", "validation "
         "accuracy at weight std 0.1 and lr 1, with minus without batch norm", false, 0.1},
        {"bn-steadies-inputs", "Batch norm keeps a unit's input distribution steady over "
         "training (Ioffe and Szegedy)", "the std over training of the last sigmoid's median "
         "input, without minus with batch norm", false, 0},
        {"bn-differs-at-test", "Batch norm behaves differently at test time: tiny batches "
         "with their own statistics fail where the running statistics work (one sample is "
         "refused outright)", "test accuracy with running statistics minus with batches of 2",
         false, 0.1},
    };
    for (int i = 0; i < n; i++)
        v[i] = p[i].trained[1] - p[i].trained[0];
    gd_lab_judge(doc, &claims[0], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].acc[1][1 * RATES + 2] - p[i].acc[0][1 * RATES + 2];
    gd_lab_judge(doc, &claims[1], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].drift[0] - p[i].drift[1];
    gd_lab_judge(doc, &claims[2], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].eval_acc - p[i].batch_acc[0];
    gd_lab_judge(doc, &claims[3], v, n);
}

static void finish(gd_lab_doc *doc, const void *all, int n)
{
    judge_all(doc, all, n);
    test_table(doc, all, n);
}

gd_status gd_lab_batchnorm(gd_lab_doc *doc, char *msg)
{
    return gd_lab_over_seeds(doc, sizeof(per_seed), one_seed, finish, msg);
}
