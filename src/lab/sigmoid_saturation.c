/* sigmoid-saturation: deep sigmoid, tanh and ReLU nets side by side on Fashion-MNIST.
 * Five hidden layers of 100 units, PyTorch's default initialisation (weights
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), Glorot and Bengio's "standard" one), plain SGD.
 * During training an observer reads, every few steps, each weight's gradient norm (after
 * backward, before the step) and each hidden layer's outputs: their mean and the share
 * that is saturated (sigmoid below 0.01 or above 0.99, |tanh| above 0.99, ReLU exactly 0).
 * The lecture: saturated neurons kill the gradients, so a deep sigmoid net's first layer
 * gets a tiny share of its last one's gradient (sigmoid's slope is at most 1/4); Glorot
 * and Bengio (2010) saw the top hidden layer of such a net driven to saturation at 0 early
 * in training. */
#include "lab.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ACTS = 3, SIGMOID = 0, TANH = 1, RELU = 2, HIDDEN = 5, WEIGHTS = HIDDEN + 1,
       MAX_RECORDS = 512, EVERY = 5 };
static const char *const ACT[ACTS] = {"sigmoid", "tanh", "relu"};

/* What the observer saw at one step. */
typedef struct record {
    double step, grad[WEIGHTS], mean[HIDDEN], saturated[HIDDEN];
} record;

typedef struct watch {
    int act;
    int64_t every; /* steps between records, so that the run's fit in MAX_RECORDS */
    record rec[MAX_RECORDS];
    int n;
} watch;

static double norm_of(const gd_tensor *g)
{
    int64_t n = gd_tensor_numel(g);
    double sq = 0;
    for (int64_t i = 0; i < n; i++)
        sq += (double)g->data[i] * g->data[i];
    return sqrt(sq);
}

static bool saturated(int act, double a)
{
    return act == SIGMOID ? (a < 0.01 || a > 0.99) : act == TANH ? fabs(a) > 0.99 : a == 0;
}

/* After backward: gradients in place, the forward's outputs still held. */
static void observe(void *ctx, gd_run *run, const gd_step_info *step)
{
    watch *w = ctx;
    if (step->step % w->every != 0 || w->n >= MAX_RECORDS)
        return;
    gd_model *m = gd_run_model(run);
    record *r = &w->rec[w->n++];
    r->step = (double)step->step;
    for (int l = 0; l < WEIGHTS; l++) {
        char name[32];
        snprintf(name, sizeof name, "%d.weight", 2 * l);
        const gd_named_tensor *t = gd_model_tensor(m, name);
        r->grad[l] = t ? norm_of(&t->grad) : NAN;
    }
    for (int l = 0; l < HIDDEN; l++) {
        gd_layer_info info;
        r->mean[l] = r->saturated[l] = NAN;
        if (gd_model_layer_at(m, (size_t)(2 * l + 1), &info) != GD_OK)
            continue;
        int64_t n = gd_tensor_numel(&info.output);
        double sum = 0, sat = 0;
        for (int64_t i = 0; i < n; i++)
            sum += info.output.data[i], sat += saturated(w->act, info.output.data[i]);
        r->mean[l] = sum / (double)n;
        r->saturated[l] = sat / (double)n;
    }
}

static gd_status settings_for(const gd_lab_doc *doc, uint64_t seed, int act, gd_settings *s,
                              char *msg)
{
    const bool quick = doc->opt->quick;
    char spec[256];
    size_t n = 0;
    for (int l = 0; l < HIDDEN; l++)
        n += (size_t)snprintf(spec + n, sizeof spec - n, "linear(100) %s ", ACT[act]);
    snprintf(spec + n, sizeof spec - n, "linear(10)");
    const char *const pairs[][2] = {
        {"model", spec}, {"optim", "sgd"}, {"momentum", "0"}, {"lr", "0.1"},
        {"batch_size", "10"}, {"limit", quick ? "6000" : "0"},
        {"val_size", quick ? "1000" : "5000"}, {"epochs", quick ? "2" : "10"}};
    gd_status st = gd_lab_base_settings(doc, seed, s, msg);
    for (size_t i = 0; st == GD_OK && i < sizeof pairs / sizeof pairs[0]; i++)
        st = gd_lab_set(s, pairs[i][0], pairs[i][1], msg);
    return st;
}

/* ------------------------------------------------------------ the document */

static void gradient_figure(gd_lab_doc *doc, watch *w)
{
    cJSON *f = gd_lab_figure(doc, "grad-by-layer", "Weight gradient norm by layer at the "
                             "first step (seed 1)", "lines", "layer (1: first hidden)",
                             "gradient norm", true);
    double x[WEIGHTS];
    for (int l = 0; l < WEIGHTS; l++)
        x[l] = l + 1;
    for (int a = 0; a < ACTS; a++)
        gd_lab_series(doc, f, ACT[a], x, WEIGHTS, w[a].rec[0].grad, WEIGHTS);
}

static void top_layer_figure(gd_lab_doc *doc, watch *w)
{
    cJSON *f = gd_lab_figure(doc, "top-layer", "Sigmoid net: each hidden layer's mean output "
                             "over training (seed 1)", "lines", "step", "mean output", false);
    double x[MAX_RECORDS], y[MAX_RECORDS];
    const watch *s = &w[SIGMOID];
    for (int i = 0; i < s->n; i++)
        x[i] = s->rec[i].step;
    for (int l = 0; l < HIDDEN; l++) {
        char name[32];
        for (int i = 0; i < s->n; i++)
            y[i] = s->rec[i].mean[l];
        snprintf(name, sizeof name, "hidden layer %d%s", l + 1, l == HIDDEN - 1 ? " (top)" : "");
        gd_lab_series(doc, f, name, x, s->n, y, s->n);
    }
}

/* Each hidden layer's saturated share and each weight's gradient norm over training, for
 * every net: what the lecture's "saturated neurons kill the gradients" looks like as it
 * happens. */
static void over_training(gd_lab_doc *doc, watch *w)
{
    static const char *const what[2] = {"saturated", "grad"};
    double x[MAX_RECORDS], y[MAX_RECORDS];
    for (int a = 0; a < ACTS; a++)
        for (int k = 0; k < 2; k++) {
            char id[64], title[160];
            snprintf(id, sizeof id, "%s-%s", what[k], ACT[a]);
            snprintf(title, sizeof title, k == 0 ? "%s net: each hidden layer's saturated share "
                     "over training (seed 1)" : "%s net: each weight's gradient norm over "
                     "training (seed 1)", ACT[a]);
            cJSON *f = gd_lab_figure(doc, id, title, "lines", "step",
                                     k == 0 ? "saturated share" : "gradient norm", k == 1);
            const watch *v = &w[a];
            int layers = k == 0 ? HIDDEN : WEIGHTS;
            for (int l = 0; l < layers; l++) {
                for (int i = 0; i < v->n; i++)
                    x[i] = v->rec[i].step, y[i] = k == 0 ? v->rec[i].saturated[l] : v->rec[i].grad[l];
                char name[32];
                snprintf(name, sizeof name, k == 0 ? "hidden layer %d" : "weight %d", l + 1);
                gd_lab_series(doc, f, name, x, v->n, y, v->n);
            }
        }
}

static void loss_figure(gd_lab_doc *doc, const gd_lab_trained *t)
{
    cJSON *f = gd_lab_figure(doc, "loss", "Training loss per epoch (seed 1)", "lines", "epoch",
                             "training loss", false);
    double x[GD_LAB_MAX_EPOCHS];
    for (int e = 0; e < GD_LAB_MAX_EPOCHS; e++)
        x[e] = e + 1;
    for (int a = 0; a < ACTS; a++)
        gd_lab_series(doc, f, ACT[a], x, (int)t[a].epochs, t[a].train_loss, (int)t[a].epochs);
}

/* ------------------------------------------------------------ the experiment */

typedef struct per_seed {
    double ratio[ACTS];      /* first hidden layer's gradient norm over the last one's, step 0 */
    double top_low;          /* sigmoid: the top hidden layer's lowest mean in the first epoch */
    double top_saturated;    /* sigmoid: its largest saturated share then */
    double final_loss[ACTS];
} per_seed;

static void summarise(const watch *w, int64_t first_epoch_steps, const gd_lab_trained *t,
                      per_seed *p)
{
    for (int a = 0; a < ACTS; a++) {
        p->ratio[a] = w[a].rec[0].grad[0] / w[a].rec[0].grad[HIDDEN - 1];
        p->final_loss[a] = t[a].final_train_loss;
    }
    const watch *s = &w[SIGMOID];
    p->top_low = INFINITY;
    p->top_saturated = 0;
    for (int i = 0; i < s->n && s->rec[i].step < (double)first_epoch_steps; i++) {
        p->top_low = fmin(p->top_low, s->rec[i].mean[HIDDEN - 1]);
        p->top_saturated = fmax(p->top_saturated, s->rec[i].saturated[HIDDEN - 1]);
    }
}

static gd_status one_seed(gd_lab_doc *doc, uint64_t seed, bool first, gd_data_cache *cache,
                          void *out, char *msg)
{
    per_seed *p = out;
    static watch w[ACTS];
    static gd_lab_trained t[ACTS];
    gd_status st = GD_OK;
    int64_t steps_per_epoch = 0;
    for (int a = 0; st == GD_OK && a < ACTS; a++) {
        gd_settings s;
        st = settings_for(doc, seed, a, &s, msg);
        int64_t examples = (s.limit > 0 ? s.limit : 60000) - s.val_size;
        steps_per_epoch = (examples + s.batch_size - 1) / s.batch_size;
        int64_t every = (steps_per_epoch * s.epochs + MAX_RECORDS - 2) / (MAX_RECORDS - 1);
        w[a] = (watch){.act = a, .every = every > EVERY ? every : EVERY};
        gd_observer o = {.ctx = &w[a], .after_backward = observe};
        if (st == GD_OK)
            st = gd_lab_train(&s, cache, &o, &t[a], msg);
        gd_settings_free(&s);
        if (st == GD_OK && w[a].n == 0)
            st = gd_fail(msg, GD_ERR_STATE, "sigmoid-saturation: no step was observed");
    }
    if (st != GD_OK)
        return st;
    summarise(w, steps_per_epoch, t, p);
    if (first) {
        gradient_figure(doc, w);
        top_layer_figure(doc, w);
        loss_figure(doc, t);
        over_training(doc, w);
    }
    return GD_OK;
}

static void judge_all(gd_lab_doc *doc, const per_seed *p, int n)
{
    double v[100] = {0};
    static const gd_lab_claim claims[] = {
        {"sigmoid-starves-first-layer", "Saturating sigmoids kill the gradient: the first "
         "layer of a deep sigmoid net gets a tiny share of the last hidden layer's",
         "first over fifth hidden layer's weight gradient norm at the first step, sigmoid",
         true, 0.01},
        {"relu-passes-more", "ReLU passes the gradient down far better than sigmoid",
         "log10 of that ratio, ReLU minus sigmoid", false, 1},
        {"top-layer-saturates-at-0", "Glorot and Bengio: the top hidden layer of a deep "
         "sigmoid net is driven towards 0 early in training", "the top hidden layer's lowest "
         "mean output in the first epoch, sigmoid", true, 0.1},
        {"sigmoid-learns-slowest", "The sigmoid net trains slower than the ReLU net",
         "final training loss, sigmoid minus ReLU", false, 0},
    };
    for (int i = 0; i < n; i++)
        v[i] = p[i].ratio[SIGMOID];
    gd_lab_judge(doc, &claims[0], v, n);
    for (int i = 0; i < n; i++)
        v[i] = log10(p[i].ratio[RELU]) - log10(p[i].ratio[SIGMOID]);
    gd_lab_judge(doc, &claims[1], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].top_low;
    gd_lab_judge(doc, &claims[2], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].final_loss[SIGMOID] - p[i].final_loss[RELU];
    gd_lab_judge(doc, &claims[3], v, n);
}

static void results_table(gd_lab_doc *doc, const per_seed *p, int n)
{
    static const char *const cols[] = {"seed", "gradient ratio: sigmoid", "tanh", "relu",
                                       "sigmoid top layer: lowest mean", "largest saturated share",
                                       "final loss: sigmoid", "tanh", "relu"};
    cJSON *t = gd_lab_table(doc, "by-seed", "Each seed: the first over the fifth hidden layer's "
                            "weight gradient norm at the first step, the sigmoid net's top "
                            "hidden layer in the first epoch, and the final training loss",
                            cols, 9);
    for (int i = 0; i < n; i++) {
        char label[16];
        snprintf(label, sizeof label, "%d", i + 1);
        double v[9] = {(double)(doc->opt->seed + (unsigned)i), p[i].ratio[0], p[i].ratio[1],
                       p[i].ratio[2], p[i].top_low, p[i].top_saturated, p[i].final_loss[0],
                       p[i].final_loss[1], p[i].final_loss[2]};
        gd_lab_row(doc, t, label, v, 9);
    }
}

static void finish(gd_lab_doc *doc, const void *all, int n)
{
    judge_all(doc, all, n);
    results_table(doc, all, n);
}

gd_status gd_lab_sigmoid_saturation(gd_lab_doc *doc, char *msg)
{
    return gd_lab_over_seeds(doc, sizeof(per_seed), one_seed, finish, msg);
}
