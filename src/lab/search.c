/* search: random against grid search with the same budget, through the library's search
 * (the study gradus search runs), after Bergstra and Bengio (2012). Two parameters, the
 * learning rate, which matters, and the weight decay, which matters little here; 9 trials
 * each: the grid's 3 x 3 points try 3 learning rates, random search's 9 trials try 9. A
 * study per strategy and seed is kept in the lab's folder (DIR/search-studies/: its
 * journal and each trial's run folder, which gradus report draws). */
#include "lab.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { TRIALS = 9, STRATEGIES = 2, GRID = 0, RANDOM = 1 };
static const char *const PARAMS[2] = {"lr=loguniform(1e-4, 1)", "weight_decay=loguniform(1e-6, 1e-2)"};

typedef struct outcome {
    double best, distinct_lr;
} outcome;

static gd_status fixed_settings(const gd_lab_doc *doc, gd_settings *s, char *msg)
{
    const char *const pairs[][2] = {
        {"model", "linear(100) relu linear(10)"}, {"optim", "sgd"}, {"momentum", "0.9"},
        {"batch_size", "100"}, {"limit", doc->opt->quick ? "3000" : "20000"},
        {"val_size", doc->opt->quick ? "1000" : "5000"}, {"epochs", doc->opt->quick ? "2" : "5"}};
    gd_status st = gd_lab_base_settings(doc, doc->opt->seed, s, msg);
    for (size_t i = 0; st == GD_OK && i < sizeof pairs / sizeof pairs[0]; i++)
        st = gd_lab_set(s, pairs[i][0], pairs[i][1], msg);
    return st;
}

static gd_status make_space(gd_space **sp, const char *model, char *msg)
{
    gd_error err;
    gd_status st = gd_space_create(sp);
    for (int i = 0; st == GD_OK && i < 2; i++)
        st = gd_space_add(*sp, PARAMS[i], "lab search", &err);
    if (st == GD_OK)
        st = gd_space_bind(*sp, model, &err);
    return st == GD_OK ? GD_OK : gd_fail(msg, st, "search: %s", err.message);
}

/* The best validation accuracy of the study, and how many learning rates it tried. */
static gd_status read_study(const char *dir, outcome *o, char *msg)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    gd_study *st = NULL;
    gd_error err;
    gd_status rc = gd_study_load(&st, path, &err);
    if (rc != GD_OK)
        return gd_fail(msg, rc, "search: %s", err.message);
    const char *seen[64];
    int distinct = 0;
    o->best = NAN;
    for (size_t i = 0; i < gd_study_trial_count(st); i++) {
        const gd_trial_record *r = gd_study_trial(st, i);
        if (!isnan(r->best_val_accuracy) && (isnan(o->best) || r->best_val_accuracy > o->best))
            o->best = r->best_val_accuracy;
        for (int k = 0; k < r->params; k++) {
            if (strcmp(r->name[k], "lr") != 0 || !r->value[k])
                continue;
            bool known = false;
            for (int j = 0; j < distinct; j++)
                known = known || strcmp(seen[j], r->value[k]) == 0;
            if (!known && distinct < 64)
                seen[distinct++] = r->value[k];
        }
    }
    o->distinct_lr = distinct;
    gd_study_free(st);
    return GD_OK;
}

static gd_status run_study(const gd_lab_doc *doc, uint64_t seed, int strategy, outcome *o,
                           char *msg)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/search-studies", doc->opt->dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return gd_fail(msg, GD_ERR_IO, "search: %s: %s", dir, strerror(errno));
    size_t n = strlen(dir);
    snprintf(dir + n, sizeof dir - n, "/%s-%llu", strategy == GRID ? "grid" : "random",
             (unsigned long long)seed);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return gd_fail(msg, GD_ERR_IO, "search: %s: %s", dir, strerror(errno));
    char journal[4200];
    snprintf(journal, sizeof journal, "%s/journal.jsonl", dir);
    remove(journal); /* a study of the last run there: measured again from its start */
    gd_settings fixed;
    gd_space *space = NULL;
    gd_status st = fixed_settings(doc, &fixed, msg);
    gd_search_options opt;
    gd_search_defaults(&opt);
    opt.strategy = strategy == GRID ? GD_STRATEGY_GRID : GD_STRATEGY_RANDOM;
    opt.seed = seed;
    opt.trials = TRIALS;
    opt.epochs = fixed.epochs;
    fixed.split_seed = gd_trial_seed(seed, UINT64_MAX); /* one validation set, as search's */
    if (st == GD_OK)
        st = make_space(&space, fixed.model, msg);
    gd_error err;
    gd_search_worker w = {.dir = dir, .fixed = &fixed, .space = space, .opt = &opt};
    if (st == GD_OK && (st = gd_search_work(&w, &err)) != GD_OK)
        gd_fail(msg, st, "search: %s", err.message);
    if (st == GD_OK)
        st = read_study(dir, o, msg);
    gd_space_free(space);
    gd_settings_free(&fixed);
    return st;
}

static void judge_all(gd_lab_doc *doc, outcome (*o)[STRATEGIES], int n)
{
    double v[100] = {0};
    static const gd_lab_claim claims[] = {
        {"random-tries-more-values", "With the same budget, random search tries more values of "
         "the parameter that matters than grid search", "distinct learning rates tried in 9 "
         "trials, random minus grid", false, 0},
        {"random-at-least-as-good", "...and so finds as good a configuration or better",
         "best validation accuracy, random minus grid", false, 0},
    };
    for (int i = 0; i < n; i++)
        v[i] = o[i][RANDOM].distinct_lr - o[i][GRID].distinct_lr;
    gd_lab_judge(doc, &claims[0], v, n);
    for (int i = 0; i < n; i++)
        v[i] = o[i][RANDOM].best - o[i][GRID].best;
    gd_lab_judge(doc, &claims[1], v, n);
}

static void results_table(gd_lab_doc *doc, outcome (*o)[STRATEGIES], int n)
{
    static const char *const cols[] = {"seed", "grid: best val accuracy", "lr values",
                                       "random: best val accuracy", "lr values"};
    cJSON *t = gd_lab_table(doc, "studies", "Each seed's two studies of 9 trials (kept in "
                            "DIR/search-studies/: the journal and each trial's run)", cols, 5);
    for (int i = 0; i < n; i++) {
        char label[16];
        snprintf(label, sizeof label, "%d", i + 1);
        double v[5] = {(double)(doc->opt->seed + (unsigned)i), o[i][GRID].best,
                       o[i][GRID].distinct_lr, o[i][RANDOM].best, o[i][RANDOM].distinct_lr};
        gd_lab_row(doc, t, label, v, 5);
    }
}

gd_status gd_lab_search(gd_lab_doc *doc, char *msg)
{
    if (!doc->opt->dir)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "search: the experiment keeps its "
                       "studies in a folder, and none was given (gd_lab_options.dir)");
    int n = doc->seeds;
    outcome (*o)[STRATEGIES] = calloc((size_t)n, sizeof *o);
    gd_status st = o ? GD_OK : gd_fail(msg, GD_ERR_NO_MEMORY, "search: out of memory");
    for (int i = 0; st == GD_OK && i < n; i++) {
        gd_lab_progress(doc, i, n);
        for (int k = 0; st == GD_OK && k < STRATEGIES; k++)
            st = run_study(doc, doc->opt->seed + (uint64_t)i, k, &o[i][k], msg);
    }
    if (st == GD_OK) {
        judge_all(doc, o, n);
        results_table(doc, o, n);
    }
    free(o);
    return st;
}
