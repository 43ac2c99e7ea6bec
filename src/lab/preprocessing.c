/* preprocessing: the same network trained on raw, centred, standardised and whitened
 * Fashion-MNIST pixels (--preprocess none, center, standardize, zca), each fitted on the
 * training split only. The lecture: zero-centred data helps the optimiser (raw pixels in
 * [0, 1] are all positive, so every unit's first-layer gradients share one sign per
 * sample); scaling to unit variance helps it further; whitening is not common for
 * images. Plain SGD without momentum, where the optimiser's path shows these most. Each
 * input is trained at three learning rates (0.03, 0.15, 0.75) and judged at its best
 * (the lowest first-epoch loss): a rescaling of the inputs changes the best rate, and a
 * comparison at one rate would measure that instead of the conditioning. */
#include "lab.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { KINDS = 4, RAW = 0, CENTRED = 1, STANDARD = 2, WHITE = 3, RATES = 3 };
static const char *const RATE[RATES] = {"0.03", "0.15", "0.75"};
static const char *const KIND[KINDS] = {"none", "center", "standardize", "zca"};
static const char *const KIND_NAME[KINDS] = {"raw [0, 1]", "centred", "standardised",
                                             "whitened (ZCA)"};

typedef struct per_seed {
    double first_loss[KINDS], final_loss[KINDS], val_acc[KINDS], best_lr[KINDS];
} per_seed;

static gd_status settings_for(const gd_lab_doc *doc, uint64_t seed, int kind, int rate,
                              gd_settings *s, char *msg)
{
    const bool quick = doc->opt->quick;
    const char *const pairs[][2] = {
        {"model", "linear(100) relu linear(10)"}, {"optim", "sgd"}, {"momentum", "0"},
        {"lr", RATE[rate]}, {"batch_size", "100"}, {"limit", quick ? "4000" : "0"},
        {"val_size", quick ? "1000" : "5000"}, {"epochs", quick ? "3" : "10"},
        {"preprocess", KIND[kind]}};
    gd_status st = gd_lab_base_settings(doc, seed, s, msg);
    for (size_t i = 0; st == GD_OK && i < sizeof pairs / sizeof pairs[0]; i++)
        st = gd_lab_set(s, pairs[i][0], pairs[i][1], msg);
    return st;
}

static void loss_figure(gd_lab_doc *doc, const gd_lab_trained *t)
{
    cJSON *f = gd_lab_figure(doc, "loss-by-input", "Training loss per epoch by the inputs' "
                             "preprocessing, each at its best rate (seed 1)", "lines", "epoch",
                             "training loss", false);
    double x[GD_LAB_MAX_EPOCHS];
    for (int e = 0; e < GD_LAB_MAX_EPOCHS; e++)
        x[e] = e + 1;
    for (int k = 0; k < KINDS; k++)
        gd_lab_series(doc, f, KIND_NAME[k], x, (int)t[k].epochs, t[k].train_loss, (int)t[k].epochs);
    cJSON *g = gd_lab_figure(doc, "val-by-input", "Validation accuracy per epoch by the "
                             "inputs' preprocessing, each at its best rate (seed 1)", "lines",
                             "epoch", "validation accuracy", false);
    for (int k = 0; k < KINDS; k++)
        gd_lab_series(doc, g, KIND_NAME[k], x, (int)t[k].epochs, t[k].val_acc, (int)t[k].epochs);
}

/* Input kind k at each rate; its best run (the lowest first-epoch loss) into *best. */
static gd_status best_of_rates(const gd_lab_doc *doc, uint64_t seed, int k, gd_data_cache *cache,
                               gd_lab_trained *best, double *best_lr, char *msg)
{
    static gd_lab_trained t;
    gd_status st = GD_OK;
    *best_lr = NAN;
    for (int r = 0; st == GD_OK && r < RATES; r++) {
        gd_settings s;
        st = settings_for(doc, seed, k, r, &s, msg);
        if (st == GD_OK)
            st = gd_lab_train(&s, cache, NULL, &t, msg);
        gd_settings_free(&s);
        if (st == GD_OK && !t.diverged && (isnan(*best_lr) || t.train_loss[0] < best->train_loss[0])) {
            *best = t;
            *best_lr = strtod(RATE[r], NULL);
        }
    }
    return st;
}

static gd_status one_seed(gd_lab_doc *doc, uint64_t seed, bool first, gd_data_cache *cache,
                          void *out, char *msg)
{
    per_seed *p = out;
    static gd_lab_trained t[KINDS];
    gd_status st = GD_OK;
    for (int k = 0; st == GD_OK && k < KINDS; k++) {
        st = best_of_rates(doc, seed, k, cache, &t[k], &p->best_lr[k], msg);
        bool any = st == GD_OK && !isnan(p->best_lr[k]) && t[k].epochs > 0;
        p->first_loss[k] = any ? t[k].train_loss[0] : NAN;
        p->final_loss[k] = any ? t[k].train_loss[t[k].epochs - 1] : NAN;
        p->val_acc[k] = any ? t[k].val_acc[t[k].epochs - 1] : NAN;
    }
    if (st == GD_OK && first)
        loss_figure(doc, t);
    return st;
}

static void judge_all(gd_lab_doc *doc, const per_seed *p, int n)
{
    double v[100] = {0};
    static const gd_lab_claim claims[] = {
        {"centring-helps", "Zero-centred inputs help the optimiser: a lower loss after the "
         "first epoch than raw pixels", "first-epoch training loss at each one's best rate, "
         "raw minus centred", false, 0},
        {"standardising-helps", "Standardised inputs help it too: a lower loss after the first "
         "epoch than raw pixels", "first-epoch training loss at each one's best rate, raw "
         "minus standardised", false, 0},
        {"whitening-not-needed", "Whitening adds little for images: its validation accuracy is "
         "not more than a point above standardisation's", "final validation accuracy, whitened "
         "minus standardised", true, 0.01},
    };
    for (int i = 0; i < n; i++)
        v[i] = p[i].first_loss[RAW] - p[i].first_loss[CENTRED];
    gd_lab_judge(doc, &claims[0], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].first_loss[RAW] - p[i].first_loss[STANDARD];
    gd_lab_judge(doc, &claims[1], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].val_acc[WHITE] - p[i].val_acc[STANDARD];
    gd_lab_judge(doc, &claims[2], v, n);
}

static void results_table(gd_lab_doc *doc, const per_seed *p, int n)
{
    static const char *const cols[] = {"seed", "input", "best lr of 0.03, 0.15, 0.75",
                                       "first-epoch loss", "final loss", "val accuracy"};
    cJSON *t = gd_lab_table(doc, "by-input", "Each seed's inputs at their best rate: the "
                            "training loss after the first and the last epoch, and the final "
                            "validation accuracy (input 0 raw, 1 centred, 2 standardised, 3 "
                            "whitened)", cols, 6);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < KINDS; k++) {
            char label[48];
            snprintf(label, sizeof label, "%d %s", i + 1, KIND_NAME[k]);
            double v[6] = {(double)(doc->opt->seed + (unsigned)i), k, p[i].best_lr[k],
                           p[i].first_loss[k], p[i].final_loss[k], p[i].val_acc[k]};
            gd_lab_row(doc, t, label, v, 6);
        }
}

static void finish(gd_lab_doc *doc, const void *all, int n)
{
    judge_all(doc, all, n);
    results_table(doc, all, n);
}

gd_status gd_lab_preprocessing(gd_lab_doc *doc, char *msg)
{
    return gd_lab_over_seeds(doc, sizeof(per_seed), one_seed, finish, msg);
}
