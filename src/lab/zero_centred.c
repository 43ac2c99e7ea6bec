/* zero-centred-outputs: when a layer's inputs are all positive (raw [0, 1] pixels, sigmoid
 * outputs), the gradient on each unit's incoming weights, dL/dw = delta x, has one sign
 * per sample: every weight of the unit moves up together or down together, and reaching
 * a direction of mixed signs takes a zig-zag. Measured on Fashion-MNIST:
 *   how often a unit's nonzero weight gradients share one sign, for the first layer
 *   (raw against centred pixels) and the second (after sigmoid against after tanh), in
 *   batches of 1 (one sample: the lecture's argument) and of 100 (the sum of 100 such
 *   rank-one steps, where it need not hold);
 *   the steps to a target training loss: raw against centred inputs (a tanh net), and
 *   sigmoid against tanh hidden units (centred inputs). */
#include "lab.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WATCHED = 40, CASES = 4 };
#define TARGET_LOSS 1.0 /* the smoothed training loss to reach */

/* A run's settings: its inputs, its hidden activation, its batch size and its steps. */
typedef struct setup {
    const char *preprocess, *act;
    int batch;
} setup;

static gd_status settings_for(const gd_lab_doc *doc, uint64_t seed, const setup *u, int epochs,
                              gd_settings *s, char *msg)
{
    char spec[96], batch[16], ep[16];
    snprintf(spec, sizeof spec, "linear(100) %s linear(100) %s linear(10)", u->act, u->act);
    snprintf(batch, sizeof batch, "%d", u->batch);
    snprintf(ep, sizeof ep, "%d", epochs);
    const char *const pairs[][2] = {
        {"model", spec}, {"optim", "sgd"}, {"momentum", "0"}, {"lr", "0.1"},
        {"batch_size", batch}, {"limit", doc->opt->quick ? "6000" : "0"},
        {"val_size", "1000"}, {"epochs", ep}, {"preprocess", u->preprocess}};
    gd_status st = gd_lab_base_settings(doc, seed, s, msg);
    for (size_t i = 0; st == GD_OK && i < sizeof pairs / sizeof pairs[0]; i++)
        st = gd_lab_set(s, pairs[i][0], pairs[i][1], msg);
    return st;
}

/* ------------------------------------------------------------ one sign */

typedef struct signs {
    double layer[2]; /* the share of units with one-signed gradients, summed over steps */
    int steps;
} signs;

/* The share of rows (units) of an out x in gradient whose nonzero entries share a sign;
 * rows with none are left out. */
static double one_signed(const gd_tensor *g)
{
    int64_t rows = g->dims[0], cols = gd_tensor_numel(g) / rows, counted = 0, same = 0;
    for (int64_t r = 0; r < rows; r++) {
        bool pos = false, neg = false;
        for (int64_t c = 0; c < cols; c++) {
            float v = g->data[r * cols + c];
            pos = pos || v > 0, neg = neg || v < 0;
        }
        counted += pos || neg;
        same += pos != neg;
    }
    return counted ? (double)same / (double)counted : NAN;
}

static void watch_signs(void *ctx, gd_run *run, const gd_step_info *step)
{
    signs *s = ctx;
    gd_model *m = gd_run_model(run);
    static const char *const names[2] = {"0.weight", "2.weight"};
    for (int l = 0; l < 2; l++) {
        const gd_named_tensor *t = gd_model_tensor(m, names[l]);
        s->layer[l] += t ? one_signed(&t->grad) : NAN;
    }
    if (++s->steps >= WATCHED || step->step + 1 >= WATCHED)
        gd_run_stop(run);
}

static gd_status measure_signs(const gd_lab_doc *doc, uint64_t seed, const setup *u,
                               gd_data_cache *cache, double share[2], char *msg)
{
    gd_settings s;
    signs sg = {0};
    gd_lab_trained t;
    gd_status st = settings_for(doc, seed, u, 1, &s, msg);
    gd_observer o = {.ctx = &sg, .after_backward = watch_signs};
    if (st == GD_OK)
        st = gd_lab_train(&s, cache, &o, &t, msg);
    gd_settings_free(&s);
    for (int l = 0; l < 2; l++)
        share[l] = sg.steps ? sg.layer[l] / sg.steps : NAN;
    return st;
}

/* ------------------------------------------------------------ steps to a loss */

typedef struct pace {
    double avg;
    int64_t steps, reached; /* reached: the first step at the target (0: not yet) */
} pace;

static void watch_loss(void *ctx, gd_run *run, const gd_step_info *step)
{
    (void)run;
    pace *p = ctx;
    p->steps++;
    p->avg = p->steps == 1 ? step->loss : 0.95 * p->avg + 0.05 * step->loss;
    if (!p->reached && p->steps > 10 && p->avg <= TARGET_LOSS)
        p->reached = p->steps;
}

/* Steps until the smoothed loss reaches the target; not reached within the run: its
 * steps + 1 (a bound, said in the table). */
static gd_status steps_to_target(const gd_lab_doc *doc, uint64_t seed, const setup *u,
                                 gd_data_cache *cache, double *steps, char *msg)
{
    gd_settings s;
    pace p = {0};
    gd_lab_trained t;
    gd_status st = settings_for(doc, seed, u, doc->opt->quick ? 5 : 10, &s, msg);
    gd_observer o = {.ctx = &p, .after_forward = watch_loss};
    if (st == GD_OK)
        st = gd_lab_train(&s, cache, &o, &t, msg);
    gd_settings_free(&s);
    *steps = p.reached ? (double)p.reached : (double)p.steps + 1;
    return st;
}

/* ------------------------------------------------------------ the experiment */

typedef struct per_seed {
    double first_raw[2], first_centred[2]; /* first layer, batch 1 and 100 */
    double second_sigmoid[2], second_tanh[2];
    double steps[CASES]; /* raw tanh, centred tanh, centred sigmoid */
} per_seed;

static gd_status one_seed(gd_lab_doc *doc, uint64_t seed, bool first, gd_data_cache *cache,
                          void *out, char *msg)
{
    per_seed *p = out;
    (void)first;
    gd_status st = GD_OK;
    for (int b = 0; st == GD_OK && b < 2; b++) {
        int batch = b == 0 ? 1 : 100;
        double share[2];
        const setup raw_sig = {"none", "sigmoid", batch}, cen_tanh = {"center", "tanh", batch};
        st = measure_signs(doc, seed, &raw_sig, cache, share, msg);
        p->first_raw[b] = share[0], p->second_sigmoid[b] = share[1];
        if (st == GD_OK)
            st = measure_signs(doc, seed, &cen_tanh, cache, share, msg);
        p->first_centred[b] = share[0], p->second_tanh[b] = share[1];
    }
    static const setup paced[3] = {{"none", "tanh", 100}, {"center", "tanh", 100},
                                   {"center", "sigmoid", 100}};
    for (int k = 0; st == GD_OK && k < 3; k++)
        st = steps_to_target(doc, seed, &paced[k], cache, &p->steps[k], msg);
    return st;
}

static void judge_all(gd_lab_doc *doc, const per_seed *p, int n)
{
    double v[100] = {0};
    static const gd_lab_claim claims[] = {
        {"raw-pixels-one-sign", "All-positive inputs (raw pixels) give each unit's weights "
         "gradients of one sign, sample by sample", "share of first-layer units with "
         "one-signed gradients, raw pixels, batches of 1", false, 0.99},
        {"centred-pixels-mixed", "Centred inputs do not", "the same share, centred pixels, "
         "batches of 1", true, 0.05},
        {"sigmoid-outputs-one-sign", "Sigmoid outputs, all positive, do the same to the next "
         "layer; tanh outputs do not", "share of second-layer units with one-signed "
         "gradients, batches of 1, sigmoid minus tanh", false, 0.9},
        {"centred-inputs-faster", "Zero-centred inputs reach a target loss in fewer steps",
         "steps to a smoothed training loss of 1.0, raw minus centred pixels (tanh net)",
         false, 0},
        {"tanh-faster-than-sigmoid", "Zero-centred tanh outputs reach it in fewer steps than "
         "sigmoid outputs", "steps to the same loss, sigmoid minus tanh (centred pixels)",
         false, 0},
    };
    for (int i = 0; i < n; i++)
        v[i] = p[i].first_raw[0];
    gd_lab_judge(doc, &claims[0], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].first_centred[0];
    gd_lab_judge(doc, &claims[1], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].second_sigmoid[0] - p[i].second_tanh[0];
    gd_lab_judge(doc, &claims[2], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].steps[0] - p[i].steps[1];
    gd_lab_judge(doc, &claims[3], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].steps[2] - p[i].steps[1];
    gd_lab_judge(doc, &claims[4], v, n);
}

static void results_table(gd_lab_doc *doc, const per_seed *p, int n)
{
    static const char *const cols[] = {
        "seed", "one-sign, layer 1, raw: batch 1", "batch 100", "centred: batch 1", "batch 100",
        "layer 2 after sigmoid: batch 1", "batch 100", "after tanh: batch 1", "batch 100",
        "steps to loss 1.0: raw tanh", "centred tanh", "centred sigmoid"};
    cJSON *t = gd_lab_table(doc, "by-seed", "Each seed: the share of units whose weight "
                            "gradients share one sign (mean over 40 steps), and the steps to a "
                            "smoothed training loss of 1.0 (the run's steps + 1: not reached)",
                            cols, 12);
    for (int i = 0; i < n; i++) {
        char label[16];
        snprintf(label, sizeof label, "%d", i + 1);
        double v[12] = {(double)(doc->opt->seed + (unsigned)i), p[i].first_raw[0],
                        p[i].first_raw[1], p[i].first_centred[0], p[i].first_centred[1],
                        p[i].second_sigmoid[0], p[i].second_sigmoid[1], p[i].second_tanh[0],
                        p[i].second_tanh[1], p[i].steps[0], p[i].steps[1], p[i].steps[2]};
        gd_lab_row(doc, t, label, v, 12);
    }
}

static void finish(gd_lab_doc *doc, const void *all, int n)
{
    judge_all(doc, all, n);
    results_table(doc, all, n);
}

gd_status gd_lab_zero_centred(gd_lab_doc *doc, char *msg)
{
    return gd_lab_over_seeds(doc, sizeof(per_seed), one_seed, finish, msg);
}
