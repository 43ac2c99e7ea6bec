/* bn-dropout: {no batch norm, batch norm} x {no dropout, dropout 0.5} on a 784-256-256-10
 * ReLU net with Adam, on a small training set (500 examples, where overfitting shows) and
 * on a larger one. The lecture: batch norm regularises (a sample's output depends on its
 * batch), and with it dropout is often used less. Measured: the final train/validation
 * accuracy gap, and what dropout adds to the validation accuracy with and without batch
 * norm. The gap's training accuracy is the last model's on its training split in
 * evaluation mode: the running figure of a dropout epoch would count the dropped units
 * against it. */
#include "lab.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { NETS = 4, PLAIN = 0, DROP = 1, BN = 2, BN_DROP = 3, SIZES = 2, SMALL = 0, LARGE = 1 };
static const char *const NET_NAME[NETS] = {"plain", "dropout 0.5", "batch norm",
                                           "batch norm + dropout 0.5"};
static const char *const NET_SPEC[NETS] = {
    "linear(256) relu linear(256) relu linear(10)",
    "linear(256) relu dropout(0.5) linear(256) relu dropout(0.5) linear(10)",
    "linear(256) bn relu linear(256) bn relu linear(10)",
    "linear(256) bn relu dropout(0.5) linear(256) bn relu dropout(0.5) linear(10)"};

typedef struct per_seed {
    double gap[SIZES][NETS], val[SIZES][NETS];
} per_seed;

/* The small set is 500 training examples; the large one 5,000 (--quick) or 55,000. */
static gd_status settings_for(const gd_lab_doc *doc, uint64_t seed, int net, int size,
                              gd_settings *s, char *msg)
{
    const bool quick = doc->opt->quick;
    const char *limit = size == SMALL ? "1500" : quick ? "6000" : "0";
    const char *epochs = size == SMALL ? (quick ? "20" : "60") : (quick ? "3" : "15");
    const char *const pairs[][2] = {
        {"model", NET_SPEC[net]}, {"optim", "adam"}, {"batch_size", "100"}, {"limit", limit},
        {"val_size", size == SMALL ? "1000" : quick ? "1000" : "5000"}, {"epochs", epochs}};
    gd_status st = gd_lab_base_settings(doc, seed, s, msg);
    for (size_t i = 0; st == GD_OK && i < sizeof pairs / sizeof pairs[0]; i++)
        st = gd_lab_set(s, pairs[i][0], pairs[i][1], msg);
    return st;
}

static void curves(gd_lab_doc *doc, gd_lab_trained t[NETS])
{
    cJSON *f = gd_lab_figure(doc, "small-gap", "500 training examples: training (x) and "
                             "validation (o) accuracy per epoch (seed 1)", "lines", "epoch",
                             "accuracy", false);
    double x[GD_LAB_MAX_EPOCHS];
    for (int e = 0; e < GD_LAB_MAX_EPOCHS; e++)
        x[e] = e + 1;
    for (int k = 0; k < NETS; k++) {
        char name[64];
        int n = (int)t[k].epochs;
        snprintf(name, sizeof name, "%s, train", NET_NAME[k]);
        gd_lab_series(doc, f, name, x, n, t[k].train_acc, n);
        snprintf(name, sizeof name, "%s, validation", NET_NAME[k]);
        gd_lab_series(doc, f, name, x, n, t[k].val_acc, n);
    }
}

static gd_status one_seed(gd_lab_doc *doc, uint64_t seed, bool first, gd_data_cache *cache,
                          void *out, char *msg)
{
    per_seed *p = out;
    static gd_lab_trained t[SIZES][NETS];
    gd_status st = GD_OK;
    for (int z = 0; st == GD_OK && z < SIZES; z++)
        for (int k = 0; st == GD_OK && k < NETS; k++) {
            gd_settings s;
            st = settings_for(doc, seed, k, z, &s, msg);
            if (st == GD_OK)
                st = gd_lab_train(&s, cache, NULL, &t[z][k], msg);
            gd_settings_free(&s);
            int64_t e = t[z][k].epochs - 1;
            p->val[z][k] = e >= 0 ? t[z][k].val_acc[e] : NAN;
            p->gap[z][k] = e >= 0 ? t[z][k].train_eval_accuracy - t[z][k].val_acc[e] : NAN;
        }
    if (st == GD_OK && first)
        curves(doc, t[SMALL]);
    return st;
}

static void judge_all(gd_lab_doc *doc, const per_seed *p, int n)
{
    double v[100] = {0};
    static const gd_lab_claim claims[] = {
        {"dropout-regularises", "Dropout narrows the gap between training and validation "
         "accuracy on a small training set", "gap without minus gap with dropout, 500 "
         "examples, no batch norm", false, 0},
        {"bn-regularises", "Batch norm regularises: it narrows the gap on a small training set",
         "gap without minus gap with batch norm, 500 examples, no dropout", false, 0},
        {"dropout-less-needed-with-bn", "With batch norm, dropout adds less to validation "
         "accuracy than without it", "dropout's validation gain with batch norm minus its gain "
         "without, 500 examples", true, 0},
    };
    for (int i = 0; i < n; i++)
        v[i] = p[i].gap[SMALL][PLAIN] - p[i].gap[SMALL][DROP];
    gd_lab_judge(doc, &claims[0], v, n);
    for (int i = 0; i < n; i++)
        v[i] = p[i].gap[SMALL][PLAIN] - p[i].gap[SMALL][BN];
    gd_lab_judge(doc, &claims[1], v, n);
    for (int i = 0; i < n; i++)
        v[i] = (p[i].val[SMALL][BN_DROP] - p[i].val[SMALL][BN]) -
               (p[i].val[SMALL][DROP] - p[i].val[SMALL][PLAIN]);
    gd_lab_judge(doc, &claims[2], v, n);
}

static void results_table(gd_lab_doc *doc, const per_seed *p, int n)
{
    static const char *const cols[] = {"seed", "training examples", "net", "val accuracy",
                                       "train - val gap"};
    cJSON *t = gd_lab_table(doc, "by-net", "Each seed's final validation accuracy and "
                            "train/validation gap (net 0 plain, 1 dropout 0.5, 2 batch norm, 3 "
                            "both)", cols, 5);
    for (int i = 0; i < n; i++)
        for (int z = 0; z < SIZES; z++)
            for (int k = 0; k < NETS; k++) {
                char label[64];
                snprintf(label, sizeof label, "%d %s %s", i + 1, z == SMALL ? "small" : "large",
                         NET_NAME[k]);
                double examples = z == SMALL ? 500 : doc->opt->quick ? 5000 : 55000;
                double v[5] = {(double)(doc->opt->seed + (unsigned)i), examples, k,
                               p[i].val[z][k], p[i].gap[z][k]};
                gd_lab_row(doc, t, label, v, 5);
            }
}

static void finish(gd_lab_doc *doc, const void *all, int n)
{
    judge_all(doc, all, n);
    results_table(doc, all, n);
}

gd_status gd_lab_bn_dropout(gd_lab_doc *doc, char *msg)
{
    return gd_lab_over_seeds(doc, sizeof(per_seed), one_seed, finish, msg);
}
