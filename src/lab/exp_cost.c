/* exp-cost: what an activation costs in gradus's own kernels. Each of sigmoid, tanh,
 * ReLU, Leaky ReLU, ELU and GELU runs alone as a model on a batch of 1024 x 256 inputs
 * drawn from N(0, 1), forward and backward, timed over repeated calls (the median of each
 * repetition; the repetitions are the "seeds"). Then the share of a training step it
 * takes: one step of a 784-256-256-10 MLP with it (SGD) is timed, and the two activation
 * layers' measured cost is set against it. The lecture: exp() is a bit compute
 * expensive (sigmoid, tanh, ELU and GELU compute one; ReLU compares). Timings are this
 * machine's, named in the document. */
#include "lab.h"
#include "../train/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ACTS = 6, RELU = 2, BATCH = 1024, UNITS = 256, MLP_IN = 784, CALLS_MAX = 64 };
static const char *const ACT[ACTS] = {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu"};

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static gd_status fill_normal(float *x, int64_t n, uint64_t seed, char *msg)
{
    gd_rng *rng = NULL;
    if (gd_rng_create(&rng, seed) != GD_OK)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "exp-cost: out of memory");
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)gd_rng_normal(rng);
    gd_rng_free(rng);
    return GD_OK;
}

/* Nanoseconds per element of one activation's forward and backward (medians of calls). */
static gd_status time_activation(const char *act, const float *x, int calls, double *fwd,
                                 double *bwd, char *msg)
{
    gd_model *m = NULL;
    gd_error err;
    gd_status st = gd_model_from_spec(&m, act, 1, 1, (int64_t[]){UNITS}, BATCH, &err);
    if (st != GD_OK)
        return gd_fail(msg, st, "exp-cost: %s", err.message);
    gd_model_set_input_grad(m, true); /* alone in its model, its backward is the input's */
    gd_tensor in = gd_tensor_view((float *)x, 2, (int64_t[]){BATCH, UNITS});
    double f[CALLS_MAX], b[CALLS_MAX];
    for (int c = 0; st == GD_OK && c <= calls; c++) { /* call 0 warms the caches up */
        double t0 = gd_now_seconds();
        st = gd_model_forward(m, &in);
        double t1 = gd_now_seconds();
        gd_tensor *g = gd_model_output_grad(m);
        for (int64_t i = 0; st == GD_OK && i < gd_tensor_numel(g); i++)
            g->data[i] = 1.0f;
        double t2 = gd_now_seconds();
        if (st == GD_OK)
            st = gd_model_backward(m);
        double t3 = gd_now_seconds();
        if (c > 0)
            f[c - 1] = t1 - t0, b[c - 1] = t3 - t2;
    }
    if (st != GD_OK)
        gd_fail(msg, st, "exp-cost: %s", gd_model_error(m));
    gd_model_free(m);
    const double elements = (double)BATCH * UNITS;
    *fwd = st == GD_OK ? 1e9 * median(f, calls) / elements : NAN;
    *bwd = st == GD_OK ? 1e9 * median(b, calls) / elements : NAN;
    return st;
}

/* Seconds of one training step of a 784-256-256-10 MLP with act (median of calls). */
static gd_status time_step(const char *act, const float *x, const int32_t *labels, int calls,
                           double *seconds, char *msg)
{
    char spec[128];
    snprintf(spec, sizeof spec, "linear(%d) %s linear(%d) %s linear(10)", UNITS, act, UNITS, act);
    gd_model *m = NULL;
    gd_optimizer *opt = NULL;
    gd_error err;
    gd_status st = gd_model_from_spec(&m, spec, 1, 1, (int64_t[]){MLP_IN}, BATCH, &err);
    if (st != GD_OK)
        return gd_fail(msg, st, "exp-cost: %s", err.message);
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    st = gd_optim_create(&opt, m, &cfg);
    gd_tensor in = gd_tensor_view((float *)x, 2, (int64_t[]){BATCH, MLP_IN});
    gd_loss ce = {.kind = GD_LOSS_CROSS_ENTROPY};
    double t[CALLS_MAX], loss;
    for (int c = 0; st == GD_OK && c <= calls; c++) {
        double t0 = gd_now_seconds();
        if ((st = gd_model_forward(m, &in)) == GD_OK &&
            (st = gd_model_loss(m, &ce, labels, NULL, &loss)) == GD_OK &&
            (st = gd_model_backward(m)) == GD_OK)
            st = gd_optim_step(opt);
        if (c > 0)
            t[c - 1] = gd_now_seconds() - t0;
    }
    if (st != GD_OK)
        gd_fail(msg, st, "exp-cost: %s", opt ? gd_optim_error(opt) : gd_model_error(m));
    *seconds = st == GD_OK ? median(t, calls) : NAN;
    gd_optim_free(opt);
    gd_model_free(m);
    return st;
}

typedef struct per_seed {
    double fwd[ACTS], bwd[ACTS], step[ACTS], share[ACTS];
} per_seed;

static gd_status one_seed(const gd_lab_doc *doc, uint64_t seed, float *x, float *mlp_x,
                          int32_t *labels, per_seed *p, char *msg)
{
    const int calls = doc->opt->quick ? 9 : 41;
    gd_status st = fill_normal(x, (int64_t)BATCH * UNITS, seed, msg);
    if (st == GD_OK)
        st = fill_normal(mlp_x, (int64_t)BATCH * MLP_IN, seed + 1000, msg);
    for (int i = 0; i < BATCH; i++)
        labels[i] = (int32_t)(((uint64_t)i * 7 + seed) % 10);
    for (int a = 0; st == GD_OK && a < ACTS; a++) {
        st = time_activation(ACT[a], x, calls, &p->fwd[a], &p->bwd[a], msg);
        if (st == GD_OK)
            st = time_step(ACT[a], mlp_x, labels, calls, &p->step[a], msg);
        /* The step's two activation layers, each BATCH x UNITS, forward and backward. */
        p->share[a] = 2e-9 * (p->fwd[a] + p->bwd[a]) * BATCH * UNITS / p->step[a];
    }
    return st;
}

static void judge_all(gd_lab_doc *doc, const per_seed *p, int n)
{
    double v[100] = {0};
    static const gd_lab_claim claims[] = {
        {"sigmoid-costs-more", "exp() is a bit compute expensive: sigmoid's forward costs "
         "more per element than ReLU's", "sigmoid's forward ns per element over ReLU's", false,
         1.5},
        {"exp-family-costs-more", "So do the other activations that compute exp() or erf() "
         "(tanh, ELU, GELU)", "the cheapest of tanh's, ELU's and GELU's forward ns per element "
         "over ReLU's", false, 1.5},
        {"a-small-share", "...but only a bit: in an MLP step, sigmoid's layers are a small "
         "share of the time", "share of a 784-256-256-10 step that its two sigmoid layers "
         "take", true, 0.25},
    };
    for (int i = 0; i < n; i++)
        v[i] = p[i].fwd[0] / p[i].fwd[RELU];
    gd_lab_judge(doc, &claims[0], v, n);
    for (int i = 0; i < n; i++)
        v[i] = fmin(p[i].fwd[1], fmin(p[i].fwd[4], p[i].fwd[5])) / p[i].fwd[RELU];
    gd_lab_judge(doc, &claims[1], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].share[0];
    gd_lab_judge(doc, &claims[2], v, n);
}

static void tables(gd_lab_doc *doc, const per_seed *p, int n)
{
    static const char *const cols[] = {"activation", "forward ns/element",
                                       "backward ns/element", "MLP step ms", "share of the step"};
    cJSON *t = gd_lab_table(doc, "cost", "Each activation's cost, the mean over the "
                            "repetitions' medians (activation 0 sigmoid, 1 tanh, 2 relu, 3 "
                            "leaky relu, 4 elu, 5 gelu)", cols, 5);
    for (int a = 0; a < ACTS; a++) {
        double f = 0, b = 0, s = 0, sh = 0;
        for (int i = 0; i < n; i++)
            f += p[i].fwd[a] / n, b += p[i].bwd[a] / n, s += p[i].step[a] / n, sh += p[i].share[a] / n;
        double v[5] = {a, f, b, 1e3 * s, sh};
        gd_lab_row(doc, t, ACT[a], v, 5);
    }
    cJSON *f = gd_lab_figure(doc, "ns-per-element", "Forward and backward ns per element "
                             "(activation 0 sigmoid, 1 tanh, 2 relu, 3 leaky relu, 4 elu, 5 gelu)",
                             "lines", "activation", "ns per element", true);
    double x[ACTS], fw[ACTS], bw[ACTS];
    for (int a = 0; a < ACTS; a++) {
        x[a] = a;
        fw[a] = bw[a] = 0;
        for (int i = 0; i < n; i++)
            fw[a] += p[i].fwd[a] / n, bw[a] += p[i].bwd[a] / n;
    }
    gd_lab_series(doc, f, "forward", x, ACTS, fw, ACTS);
    gd_lab_series(doc, f, "backward", x, ACTS, bw, ACTS);
}

gd_status gd_lab_exp_cost(gd_lab_doc *doc, char *msg)
{
    int n = doc->seeds;
    float *x = malloc((size_t)BATCH * UNITS * sizeof *x);
    float *mlp_x = malloc((size_t)BATCH * MLP_IN * sizeof *mlp_x);
    int32_t *labels = malloc(BATCH * sizeof *labels);
    per_seed *p = calloc((size_t)n, sizeof *p);
    gd_status st = x && mlp_x && labels && p
                       ? GD_OK : gd_fail(msg, GD_ERR_NO_MEMORY, "exp-cost: out of memory");
    for (int i = 0; st == GD_OK && i < n; i++) {
        gd_lab_progress(doc, i, n);
        st = one_seed(doc, doc->opt->seed + (uint64_t)i, x, mlp_x, labels, &p[i], msg);
    }
    if (st == GD_OK) {
        judge_all(doc, p, n);
        tables(doc, p, n);
    }
    free(x), free(mlp_x), free(labels), free(p);
    return st;
}
