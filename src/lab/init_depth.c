/* init-depth: the lecture's own experiment on weight initialisation. 1000 inputs of 500
 * features drawn from N(0, 1) pass through 10 layers of 500 units without bias, weights
 * drawn fresh per layer:
 *   tanh with 0.01 N(0,1): activations shrink towards 0 layer after layer;
 *   tanh with 1.0 N(0,1): they saturate at -1 and 1, where tanh's slope is 0;
 *   tanh with Xavier, N(0,1)/sqrt(fan_in): they stay spread;
 *   ReLU with Xavier: their scale halves in variance each layer; with He,
 *   N(0,1)/sqrt(fan_in/2), it stays.
 * Xavier is the spec's xavier_normal (std sqrt(2/(fan_in+fan_out)), which is
 * 1/sqrt(fan_in) here since fan_in = fan_out = 500) and He is kaiming_normal with ReLU's
 * gain (std sqrt(2/fan_in)): the library's PyTorch initialisers, the lecture's formulas.
 * Beside each measured layer: the closed form where there is one. Then a small net whose
 * weights all start equal is trained: its units get equal gradients and stay equal. */
#include "lab.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SAMPLES = 1000, FEATURES = 500, DEPTH = 10, BINS = 40 };
#define SATURATED 0.99 /* |tanh| above this: slope 1 - a^2 below 0.02 */

typedef struct scheme {
    const char *id, *title, *act, *init;
    double hist_lo, hist_hi;
} scheme;

static const scheme SCHEMES[] = {
    {"tanh-small", "tanh, 0.01 N(0,1)", "tanh", "normal(std=0.01)", -1, 1},
    {"tanh-large", "tanh, 1.0 N(0,1)", "tanh", "normal(std=1)", -1, 1},
    {"tanh-xavier", "tanh, Xavier N(0,1)/sqrt(fan_in)", "tanh", "xavier_normal", -1, 1},
    {"relu-xavier", "ReLU, Xavier N(0,1)/sqrt(fan_in)", "relu", "xavier_normal", 0, 3},
    {"relu-he", "ReLU, He N(0,1)/sqrt(fan_in/2)", "relu", "kaiming_normal(nonlinearity=relu)", 0, 3},
};
#define NSCHEMES (sizeof SCHEMES / sizeof SCHEMES[0])

/* One layer's activations in figures. */
typedef struct layer_stats {
    double mean, std, m2, saturated, zero, slope; /* slope: mean of 1 - a^2 (tanh) */
    double hist[BINS];
} layer_stats;

/* ------------------------------------------------------------ measuring */

static void measure(const float *a, int64_t n, const scheme *s, layer_stats *out)
{
    double sum = 0, sq = 0, sat = 0, zero = 0, slope = 0;
    memset(out->hist, 0, sizeof out->hist);
    const double width = (s->hist_hi - s->hist_lo) / BINS;
    for (int64_t i = 0; i < n; i++) {
        double v = a[i];
        sum += v, sq += v * v;
        sat += fabs(v) > SATURATED;
        zero += v == 0;
        slope += 1 - v * v;
        int b = (int)floor((v - s->hist_lo) / width); /* the ends take what lies beyond */
        out->hist[b < 0 ? 0 : b >= BINS ? BINS - 1 : b] += 1;
    }
    out->mean = sum / (double)n;
    out->m2 = sq / (double)n;
    out->std = sqrt(fmax(0, out->m2 - out->mean * out->mean));
    out->saturated = sat / (double)n;
    out->zero = zero / (double)n;
    out->slope = slope / (double)n;
    for (int b = 0; b < BINS; b++)
        out->hist[b] /= (double)n;
}

static void spec_of(const scheme *s, char *out, size_t len)
{
    size_t n = 0;
    for (int l = 0; l < DEPTH && n < len; l++)
        n += (size_t)snprintf(out + n, len - n, "linear(%d, bias=false, init=%s) %s ", FEATURES,
                              s->init, s->act);
}

/* The inputs of one seed: SAMPLES x FEATURES from N(0, 1). */
static gd_status inputs(uint64_t seed, float *x, char *msg)
{
    gd_rng *rng = NULL;
    if (gd_rng_create(&rng, seed) != GD_OK)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "init-depth: out of memory");
    for (int64_t i = 0; i < (int64_t)SAMPLES * FEATURES; i++)
        x[i] = (float)gd_rng_normal(rng);
    gd_rng_free(rng);
    return GD_OK;
}

/* Every layer's activations of scheme s on x, built with seed. */
static gd_status run_scheme(const scheme *s, const float *x, uint64_t seed,
                            layer_stats st[DEPTH], char *msg)
{
    char spec[DEPTH * 96];
    spec_of(s, spec, sizeof spec);
    gd_model *m = NULL;
    gd_error err;
    gd_status rc = gd_model_from_spec(&m, spec, seed, 1, (int64_t[]){FEATURES}, SAMPLES, &err);
    if (rc != GD_OK)
        return gd_fail(msg, rc, "init-depth: %s", err.message);
    gd_model_set_training(m, false);
    gd_tensor in = gd_tensor_view((float *)x, 2, (int64_t[]){SAMPLES, FEATURES});
    rc = gd_model_forward(m, &in);
    for (int l = 0; rc == GD_OK && l < DEPTH; l++) {
        gd_layer_info info;
        rc = gd_model_layer_at(m, (size_t)(2 * l + 1), &info); /* the activation after each linear */
        if (rc == GD_OK)
            measure(info.output.data, (int64_t)SAMPLES * FEATURES, s, &st[l]);
    }
    if (rc != GD_OK)
        gd_fail(msg, rc, "init-depth: %s", gd_model_error(m));
    gd_model_free(m);
    return rc;
}

/* ------------------------------------------------------------ closed forms */

static double normal_cdf(double z) { return 0.5 * erfc(-z / sqrt(2)); }

/* The std each layer would have where a closed form exists (NaN elsewhere), given the
 * layers measured before it (prev_m2: E[a^2] of the layer below; the input's is 1):
 *   tanh-small: near 0, tanh(z) = z, so each layer multiplies the std by 0.01 sqrt(500);
 *   relu-he: the pre-activation is N(0, 2 E[a^2]) = N(0, 2), and ReLU of N(0, s^2) has
 *     mean s/sqrt(2 pi) and variance s^2 (1/2 - 1/(2 pi));
 *   relu-xavier: the pre-activation is N(0, E[a^2]), whose ReLU keeps half of it. */
static double closed_std(const scheme *s, int layer, double prev_m2)
{
    if (strcmp(s->id, "tanh-small") == 0)
        return pow(0.01 * sqrt(FEATURES), layer + 1);
    double var = strcmp(s->id, "relu-he") == 0       ? 2 * prev_m2
                 : strcmp(s->id, "relu-xavier") == 0 ? prev_m2
                                                     : NAN;
    const double pi = 3.14159265358979323846;
    return sqrt(var * (0.5 - 1 / (2 * pi)));
}

/* The mean each layer would have: 0 for tanh (an odd function of a pre-activation
 * symmetric about 0, since the weights are); s/sqrt(2 pi) for ReLU of N(0, s^2), with s^2
 * as closed_std has it. */
static double closed_mean(const scheme *s, double prev_m2)
{
    const double pi = 3.14159265358979323846;
    if (strcmp(s->act, "tanh") == 0)
        return 0;
    double var = strcmp(s->id, "relu-he") == 0 ? 2 * prev_m2 : prev_m2;
    return sqrt(var) / sqrt(2 * pi);
}

/* tanh-large: the pre-activation is N(0, 500 E[a^2]); |tanh| > 0.99 where |z| > atanh(0.99). */
static double closed_saturated(const scheme *s, double prev_m2)
{
    if (strcmp(s->id, "tanh-large") != 0)
        return NAN;
    double sd = sqrt(FEATURES * prev_m2);
    return 2 * (1 - normal_cdf(atanh(SATURATED) / sd));
}

/* ------------------------------------------------------------ the document */

static void layer_table(gd_lab_doc *doc, const scheme *s, layer_stats st[DEPTH])
{
    static const char *const cols[] = {"layer", "mean", "std", "std (closed form)",
                                       "saturated |a|>0.99", "saturated (closed form)",
                                       "zero", "mean slope 1-a^2", "mean (closed form)"};
    char id[64], title[160];
    snprintf(id, sizeof id, "layers-%s", s->id);
    snprintf(title, sizeof title, "%s: each layer's activations (seed 1)", s->title);
    cJSON *t = gd_lab_table(doc, id, title, cols, 9);
    double prev_m2 = 1; /* the inputs' E[x^2] */
    for (int l = 0; l < DEPTH; l++) {
        bool tanh_ = strcmp(s->act, "tanh") == 0;
        /* Saturation and slope are tanh's; exact zeros are ReLU's dead outputs. */
        double v[9] = {l + 1, st[l].mean, st[l].std, closed_std(s, l, prev_m2),
                       tanh_ ? st[l].saturated : NAN, closed_saturated(s, prev_m2),
                       tanh_ ? NAN : st[l].zero, tanh_ ? st[l].slope : NAN,
                       closed_mean(s, prev_m2)};
        char label[16];
        snprintf(label, sizeof label, "%d", l + 1);
        gd_lab_row(doc, t, label, v, 9);
        prev_m2 = st[l].m2;
    }
}

static void scheme_figures(gd_lab_doc *doc, const scheme *s, layer_stats st[DEPTH])
{
    char id[64], title[160];
    snprintf(id, sizeof id, "hist-%s", s->id);
    snprintf(title, sizeof title, "%s: activation histograms by layer", s->title);
    cJSON *f = gd_lab_figure(doc, id, title, "histograms", "activation", "share of units", false);
    double edges[BINS + 1];
    for (int b = 0; b <= BINS; b++)
        edges[b] = s->hist_lo + (s->hist_hi - s->hist_lo) * b / BINS;
    for (int l = 0; l < DEPTH; l++) {
        char name[32];
        snprintf(name, sizeof name, "layer %d", l + 1);
        gd_lab_series(doc, f, name, edges, BINS + 1, st[l].hist, BINS);
    }
}

static void std_figure(gd_lab_doc *doc, layer_stats all[NSCHEMES][DEPTH])
{
    cJSON *f = gd_lab_figure(doc, "std-by-layer", "Activation standard deviation by layer",
                             "lines", "layer", "std", true);
    double x[DEPTH], y[DEPTH];
    for (int l = 0; l < DEPTH; l++)
        x[l] = l + 1;
    for (size_t k = 0; k < NSCHEMES; k++) {
        for (int l = 0; l < DEPTH; l++)
            y[l] = all[k][l].std;
        gd_lab_series(doc, f, SCHEMES[k].title, x, DEPTH, y, DEPTH);
    }
}

/* ------------------------------------------------------------ symmetry */

enum { SYM_UNITS = 32, SYM_CLASSES = 10, SYM_BATCH = 100 };

/* Labels from a random linear teacher over the inputs, so that there is something to learn. */
static void teacher_labels(const float *x, uint64_t seed, int32_t *labels)
{
    gd_rng *rng = NULL;
    gd_rng_create(&rng, seed ^ 0x5eed);
    static float t[FEATURES * SYM_CLASSES];
    for (int i = 0; i < FEATURES * SYM_CLASSES; i++)
        t[i] = rng ? (float)gd_rng_normal(rng) : 0;
    gd_rng_free(rng);
    for (int i = 0; i < SAMPLES; i++) {
        int best = 0;
        double top = -INFINITY;
        for (int c = 0; c < SYM_CLASSES; c++) {
            double z = 0;
            for (int j = 0; j < FEATURES; j++)
                z += (double)x[(size_t)i * FEATURES + j] * t[j * SYM_CLASSES + c];
            if (z > top)
                top = z, best = c;
        }
        labels[i] = best;
    }
}

/* The largest difference between two units' incoming weights of the first hidden layer,
 * over the largest weight: 0 while the units are copies of each other. */
static double unit_spread(gd_model *m)
{
    const gd_named_tensor *w = gd_model_tensor(m, "0.weight");
    if (!w)
        return NAN;
    double top = 0, diff = 0;
    for (int j = 0; j < FEATURES; j++)
        for (int i = 0; i < SYM_UNITS; i++) {
            double v = w->value.data[(size_t)i * FEATURES + j];
            top = fmax(top, fabs(v));
            diff = fmax(diff, fabs(v - w->value.data[j]));
        }
    return top > 0 ? diff / top : diff;
}

/* Trains spec on (x, labels) with SGD for steps batches; the final training loss and
 * the units' spread. */
static gd_status train_small(const char *spec, const float *x, const int32_t *labels,
                             uint64_t seed, int steps, double *loss, double *spread, char *msg)
{
    gd_model *m = NULL;
    gd_optimizer *opt = NULL;
    gd_error err;
    gd_status rc = gd_model_from_spec(&m, spec, seed, 1, (int64_t[]){FEATURES}, SYM_BATCH, &err);
    if (rc != GD_OK)
        return gd_fail(msg, rc, "init-depth: %s", err.message);
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cfg.lr = 0.05;
    rc = gd_optim_create(&opt, m, &cfg);
    gd_loss ce = {.kind = GD_LOSS_CROSS_ENTROPY};
    for (int s = 0; rc == GD_OK && s < steps; s++) {
        int64_t first = (int64_t)(s % (SAMPLES / SYM_BATCH)) * SYM_BATCH;
        gd_tensor in = gd_tensor_view((float *)x + first * FEATURES, 2,
                                      (int64_t[]){SYM_BATCH, FEATURES});
        if ((rc = gd_model_forward(m, &in)) == GD_OK &&
            (rc = gd_model_loss(m, &ce, labels + first, NULL, loss)) == GD_OK &&
            (rc = gd_model_backward(m)) == GD_OK)
            rc = gd_optim_step(opt);
    }
    *spread = unit_spread(m);
    if (rc != GD_OK)
        gd_fail(msg, rc, "init-depth: %s", opt ? gd_optim_error(opt) : gd_model_error(m));
    gd_optim_free(opt);
    gd_model_free(m);
    return rc;
}

static const char *const SYM_SPECS[2] = {
    "linear(32, init=constant(0.01), bias_init=zeros) tanh "
    "linear(32, init=constant(0.01), bias_init=zeros) tanh "
    "linear(10, init=constant(0.01), bias_init=zeros)",
    "linear(32) tanh linear(32) tanh linear(10)"};

/* ------------------------------------------------------------ the experiment */

typedef struct per_seed {
    double small_ratio, large_saturated, large_slope, xavier_ratio, relu_xavier_ratio,
        he_spread, sym_spread, sym_loss, rand_loss;
} per_seed;

static void summarise(layer_stats all[NSCHEMES][DEPTH], per_seed *p)
{
    p->small_ratio = all[0][DEPTH - 1].std / all[0][0].std;
    p->large_saturated = all[1][DEPTH - 1].saturated;
    p->large_slope = all[1][DEPTH - 1].slope;
    p->xavier_ratio = all[2][DEPTH - 1].std / all[2][0].std;
    p->relu_xavier_ratio = all[3][DEPTH - 1].std / all[3][0].std;
    double lo = INFINITY, hi = 0;
    for (int l = 0; l < DEPTH; l++)
        lo = fmin(lo, all[4][l].std), hi = fmax(hi, all[4][l].std);
    p->he_spread = hi / lo;
}

static gd_status one_seed(gd_lab_doc *doc, uint64_t seed, bool first, float *x, int32_t *labels,
                          per_seed *p, char *msg)
{
    static layer_stats all[NSCHEMES][DEPTH];
    gd_status rc = inputs(seed, x, msg);
    for (size_t k = 0; rc == GD_OK && k < NSCHEMES; k++)
        rc = run_scheme(&SCHEMES[k], x, seed, all[k], msg);
    if (rc != GD_OK)
        return rc;
    summarise(all, p);
    if (first) {
        for (size_t k = 0; k < NSCHEMES; k++) {
            layer_table(doc, &SCHEMES[k], all[k]);
            scheme_figures(doc, &SCHEMES[k], all[k]);
        }
        std_figure(doc, all);
    }
    teacher_labels(x, seed, labels);
    int steps = doc->opt->quick ? 50 : 300;
    rc = train_small(SYM_SPECS[0], x, labels, seed, steps, &p->sym_loss, &p->sym_spread, msg);
    double ignored;
    if (rc == GD_OK)
        rc = train_small(SYM_SPECS[1], x, labels, seed, steps, &p->rand_loss, &ignored, msg);
    return rc;
}

static void judge_all(gd_lab_doc *doc, const per_seed *p, int n)
{
    double v[100] = {0};
    const struct {
        gd_lab_claim c;
        size_t offset;
    } claims[] = {
        {{"small-vanishes", "Weights of 0.01 N(0,1): tanh activations go to zero with depth",
          "std of layer 10 over std of layer 1, tanh, 0.01 N(0,1)", true, 0.01},
         offsetof(per_seed, small_ratio)},
        {{"large-saturates", "Weights of 1.0 N(0,1): tanh units saturate at -1 and 1",
          "share of layer 10's tanh outputs beyond +-0.99, 1.0 N(0,1)", false, 0.5},
         offsetof(per_seed, large_saturated)},
        {{"large-kills-gradients", "Saturated tanh units pass almost no gradient",
          "mean local slope 1 - a^2 at layer 10, 1.0 N(0,1)", true, 0.1},
         offsetof(per_seed, large_slope)},
        {{"xavier-keeps-tanh", "Xavier keeps tanh activations alive through the depth",
          "std of layer 10 over std of layer 1, tanh, Xavier", false, 0.1},
         offsetof(per_seed, xavier_ratio)},
        {{"xavier-halves-relu", "Under ReLU, Xavier's activations shrink with depth",
          "std of layer 10 over std of layer 1, ReLU, Xavier", true, 0.1},
         offsetof(per_seed, relu_xavier_ratio)},
        {{"he-keeps-relu", "He initialisation keeps ReLU activations' scale",
          "largest over smallest layer std, ReLU, He", true, 2},
         offsetof(per_seed, he_spread)},
        {{"symmetry-stays", "Equal initial weights give units that stay equal in training",
          "largest difference between first-layer units over the largest weight, after "
          "training", true, 1e-6},
         offsetof(per_seed, sym_spread)},
    };
    for (size_t k = 0; k < sizeof claims / sizeof claims[0]; k++) {
        for (int i = 0; i < n; i++)
            v[i] = *(const double *)((const char *)&p[i] + claims[k].offset);
        gd_lab_judge(doc, &claims[k].c, v, n);
    }
}

static void symmetry_table(gd_lab_doc *doc, const per_seed *p, int n)
{
    static const char *const cols[] = {"seed", "units' spread, equal start",
                                       "train loss, equal start", "train loss, PyTorch's default"};
    cJSON *t = gd_lab_table(doc, "symmetry", "A 500-32-32-10 tanh net trained with SGD from "
                            "equal weights against PyTorch's default initialisation", cols, 4);
    for (int i = 0; i < n; i++) {
        char label[24];
        snprintf(label, sizeof label, "%llu", (unsigned long long)doc->opt->seed + (unsigned)i);
        double v[4] = {(double)(doc->opt->seed + (unsigned)i), p[i].sym_spread, p[i].sym_loss,
                       p[i].rand_loss};
        gd_lab_row(doc, t, label, v, 4);
    }
}

gd_status gd_lab_init_depth(gd_lab_doc *doc, char *msg)
{
    int n = doc->seeds;
    float *x = malloc((size_t)SAMPLES * FEATURES * sizeof *x);
    int32_t *labels = malloc(SAMPLES * sizeof *labels);
    per_seed *p = calloc((size_t)n, sizeof *p);
    gd_status rc = x && labels && p ? GD_OK
                                    : gd_fail(msg, GD_ERR_NO_MEMORY, "init-depth: out of memory");
    for (int i = 0; rc == GD_OK && i < n; i++) {
        gd_lab_progress(doc, i, n);
        rc = one_seed(doc, doc->opt->seed + (uint64_t)i, i == 0, x, labels, &p[i], msg);
    }
    if (rc == GD_OK) {
        judge_all(doc, p, n);
        symmetry_table(doc, p, n);
    }
    free(x), free(labels), free(p);
    return rc;
}
