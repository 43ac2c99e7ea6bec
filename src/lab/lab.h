/* The lab's parts: the registry and the result document every experiment fills (lab.c),
 * the verdicts (verdict.c), and one file per experiment. An experiment measures with the
 * library's public calls, as a user would, and writes each number it measured into the
 * document, whose layout docs/lab.md gives; nothing is put there that was not measured in
 * that run, apart from the closed forms, which are marked as such. */
#ifndef GD_LAB_H
#define GD_LAB_H

#include "../core/internal.h"

struct cJSON;

/* The document of one experiment's run: the cJSON object of docs/lab.md, its lists
 * ready to append to, and the first failure (after which appends do nothing). */
typedef struct gd_lab_doc {
    const char *name; /* the experiment's */
    struct cJSON *root, *claims, *tables, *figures;
    const gd_lab_options *opt;
    int seeds;
    bool failed;
} gd_lab_doc;

typedef gd_status (*gd_lab_fn)(gd_lab_doc *doc, char *msg);

typedef struct gd_lab_entry {
    gd_lab_info info;
    gd_lab_fn run;
    int default_seeds;
} gd_lab_entry;

/* A table: columns named, rows appended as numbers (NaN: none, written as null). */
struct cJSON *gd_lab_table(gd_lab_doc *doc, const char *id, const char *title,
                           const char *const *columns, int ncolumns);
void gd_lab_row(gd_lab_doc *doc, struct cJSON *table, const char *label, const double *v,
                int n);

/* A figure: kind "lines" (series of x, y) or "histograms" (each series' y are counts over
 * bins from x[0] to x[n], n + 1 edges); log_y asks for a log axis. */
struct cJSON *gd_lab_figure(gd_lab_doc *doc, const char *id, const char *title,
                            const char *kind, const char *xlabel, const char *ylabel,
                            bool log_y);
void gd_lab_series(gd_lab_doc *doc, struct cJSON *figure, const char *name, const double *x,
                   int nx, const double *y, int ny);

/* verdict.c: a claim as a metric measured once per seed (values[n]) and an expected side
 * of a threshold ("below" or "above"): held when the 95% interval of the mean (Student's
 * t over the seeds) lies wholly on the expected side, did not hold when wholly on the
 * other, inconclusive otherwise. The evidence sentence says the numbers. */
typedef struct gd_lab_claim {
    const char *id, *text, *metric;
    bool below;       /* expected: the metric below the threshold (else above) */
    double threshold;
} gd_lab_claim;
gd_verdict gd_lab_judge(gd_lab_doc *doc, const gd_lab_claim *c, const double *values, int n);
/* The 95% interval of the mean of n values, Student's t (n = 1: the value itself). */
void gd_lab_interval(const double *v, int n, double *mean, double *lo, double *hi);

/* Tells the caller's progress callback, if any, that repetition done of total starts. */
void gd_lab_progress(const gd_lab_doc *doc, int done, int total);

/* Adds a number to a JSON object as gd_json_add_number does (exact digits; null when not
 * finite). */
void gd_lab_number(gd_lab_doc *doc, struct cJSON *obj, const char *key, double v);

/* runs.c: the lab's training runs. */
#define GD_LAB_MAX_EPOCHS 200
typedef struct gd_lab_trained {
    int64_t epochs; /* done */
    double train_loss[GD_LAB_MAX_EPOCHS], train_acc[GD_LAB_MAX_EPOCHS];
    double val_loss[GD_LAB_MAX_EPOCHS], val_acc[GD_LAB_MAX_EPOCHS]; /* NaN: none */
    double final_train_loss;
    double train_eval_accuracy; /* the last model on the training split, evaluation mode */
    bool diverged; /* the loss stopped being finite: the figures end there */
} gd_lab_trained;
/* gd_settings_set, its message (naming the setting) into msg. */
gd_status gd_lab_set(gd_settings *s, const char *key, const char *text, char *msg);
/* The defaults with the lab's data, seed (and the same split seed, so that one
 * repetition's runs validate alike and share a prepared copy of the data) and threads. */
gd_status gd_lab_base_settings(const gd_lab_doc *doc, uint64_t seed, gd_settings *s,
                               char *msg);
/* Trains s for its epochs (data through cache; extra: an observer of the caller's, or
 * NULL): each epoch's figures, the last one's training loss, and the last model's
 * accuracy on its training split in evaluation mode. No test set is evaluated. A diverged
 * run is GD_OK with diverged set. */
gd_status gd_lab_train(const gd_settings *s, gd_data_cache *cache, const gd_observer *extra,
                       gd_lab_trained *out, char *msg);

/* An experiment repeated over the lab's seeds: one_seed measures repetition seed (first:
 * the one whose figures the document keeps) into its size bytes of the zeroed array,
 * every run of the experiment sharing one data cache; finish judges and tabulates the n. */
typedef gd_status (*gd_lab_seed_fn)(gd_lab_doc *doc, uint64_t seed, bool first,
                                    gd_data_cache *cache, void *out, char *msg);
typedef void (*gd_lab_finish_fn)(gd_lab_doc *doc, const void *all, int n);
gd_status gd_lab_over_seeds(gd_lab_doc *doc, size_t size, gd_lab_seed_fn one_seed,
                            gd_lab_finish_fn finish, char *msg);

/* The experiments. */
gd_status gd_lab_init_depth(gd_lab_doc *doc, char *msg);
gd_status gd_lab_learning_rate(gd_lab_doc *doc, char *msg);
gd_status gd_lab_preprocessing(gd_lab_doc *doc, char *msg);
gd_status gd_lab_bn_dropout(gd_lab_doc *doc, char *msg);
gd_status gd_lab_sigmoid_saturation(gd_lab_doc *doc, char *msg);
gd_status gd_lab_exp_cost(gd_lab_doc *doc, char *msg);
gd_status gd_lab_zero_centred(gd_lab_doc *doc, char *msg);
gd_status gd_lab_batchnorm(gd_lab_doc *doc, char *msg);
gd_status gd_lab_search(gd_lab_doc *doc, char *msg);

#endif
