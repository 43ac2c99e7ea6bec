/* The trainer's parts: the run object shared by its setup (run.c), its steps and epochs
 * (fit.c) and its files (run_files.c). */
#ifndef GD_TRAIN_H
#define GD_TRAIN_H

#include "../core/internal.h"

#define GD_DEFAULT_MODEL \
    "linear(512) bn relu dropout(0.2) linear(256) bn relu dropout(0.2) linear(10)"

/* What a checkpoint must carry beyond the library's objects to resume bit for bit:
 * best_metric is the best --early-stop value (what bad_epochs counts from), and
 * best_val_accuracy the accuracy of best_epoch; plateau's state is the run's plateau. */
typedef struct gd_run_state {
    int64_t epoch, best_epoch, bad_epochs, samples;
    double best_metric, best_val_accuracy, train_seconds, loop_seconds, final_train_loss;
} gd_run_state;

/* The epoch in progress: what gd_run_step accumulates until the epoch ends. */
typedef struct gd_epoch_progress {
    bool started;
    int64_t batch, seen, correct;
    double loss_sum, start, wall_start, lr;
} gd_epoch_progress;

typedef struct gd_parallel gd_parallel;

struct gd_run {
    gd_settings settings;
    gd_parallel *par; /* NULL: this process alone (parallel.c) */
    bool writes;      /* the run's files are this process's to write: alone, or rank 0 */
    bool stop_agreed; /* data-parallel: a stop every rank has heard of, at the same step */
    char *dir; /* NULL: no files */
    gd_dataset *train, *val, *test;
    gd_preprocess *pre;
    gd_model *model;
    gd_optimizer *opt;
    gd_schedule schedule;
    bool plateau_on;    /* --schedule plateau: plateau.lr is the schedule's base_lr */
    gd_plateau plateau;
    bool maximize;      /* --early-stop val_accuracy (else val_loss, minimised) */
    gd_loader *loader;
    gd_loss loss;
    bool batchnorm;
    int64_t parameters;
    gd_observer observers[GD_MAX_OBSERVERS];
    int nobservers;
    bool stop_requested, released;
    gd_run_state state;
    gd_epoch_progress progress;
    gd_epoch_metrics *history;
    int64_t history_len, history_cap;
    gd_init_report init_report; /* what --init-from copied, when initialised_from */
    bool initialised_from;
    gd_stop_reason stop;
    int64_t diverged_epoch, diverged_step;
    bool tested;
    gd_evaluation test_result;
    int64_t *confusion; /* the test's, classes x classes, once gd_run_test ran */
    int confusion_classes;
    char msg[GD_MSG_MAX];
};

/* parallel.c: one model trained by the ranks of a group. Alone (no group, or a group of
 * one) every call is a no-op or the one-process way. */
gd_status gd_parallel_create(gd_run *run, gd_comm *comm); /* no collective */
void gd_parallel_free(gd_parallel *p);
/* Every rank's status; the first failure, named by its rank, for all. */
gd_status gd_parallel_agree(gd_run *run, gd_status st);
/* Rank 0's fitted preprocessing statistics for every rank. */
gd_status gd_parallel_share_preprocessing(gd_run *run);
/* Rank 0's model buffers (batch norm's running statistics) for every rank. */
gd_status gd_parallel_share_buffers(gd_run *run);
/* The end of setup, agreeing on st first: shards checked, exchanges planned, the resume
 * checked alike on every rank, rank 0's weights and buffers broadcast. */
gd_status gd_parallel_start(gd_run *run, bool checkpoint, gd_status st);
/* A rank's loss gradient scaled by its share rows / total of the global batch. */
void gd_parallel_scale_loss_gradient(gd_run *run, int64_t rows, int64_t total);
/* One step's figures of this rank, replaced by the global batch's; a stop asked on any
 * rank becomes stop_agreed on all. */
typedef struct gd_parallel_step {
    double loss_sum;
    int64_t correct, samples;
    bool failed;
} gd_parallel_step;
gd_status gd_parallel_step_figures(gd_run *run, gd_parallel_step *step);
/* The ranks' gradients summed on every rank. */
gd_status gd_parallel_sum_gradients(gd_run *run);
/* ds evaluated in shards, the sums gathered: every rank gets the same figures. */
gd_status gd_parallel_evaluate(gd_run *run, gd_dataset *ds, gd_evaluation *out, gd_error *err);

/* evaluate.c: what an evaluation adds up, over one rank's shard of every batch. */
typedef struct gd_eval_sums {
    double loss; /* of the per-sample losses */
    int64_t correct, samples;
} gd_eval_sums;
gd_status gd_evaluate_shard(gd_model *m, gd_dataset *ds, int64_t *confusion, int rank, int ranks,
                            gd_eval_sums *out, gd_error *err);
void gd_eval_sums_result(const gd_eval_sums *sums, gd_evaluation *out);

/* data_cache.c: gd_data_load through a cache (err not NULL): the sets as read are kept,
 * and the caller gets copies of them. */
gd_status gd_data_cache_load(gd_data_cache *c, const char *source, const gd_data_options *opt,
                             gd_dataset **train, gd_dataset **test, gd_error *err);
/* A fresh run's splits of settings s already preprocessed (copies, with a copy of the
 * fitted transform), when the cache holds them from an earlier run of the same data,
 * cut, split seed, preprocessing and threads: *hit says whether it did. */
gd_status gd_data_cache_take_prepared(gd_data_cache *c, const gd_settings *s, bool *hit,
                                      gd_dataset **train, gd_dataset **val, gd_dataset **test,
                                      gd_preprocess **pre, gd_error *err);
/* Keeps copies of a fresh run's preprocessed splits and transform for the next run of
 * the same preparation (replacing what was kept); keeps nothing when memory is short. */
void gd_data_cache_keep_prepared(gd_data_cache *c, const gd_settings *s,
                                 const gd_dataset *train, const gd_dataset *val,
                                 const gd_dataset *test, const gd_preprocess *pre);
/* splits.c: gd_data_splits reading through cache (NULL: reading the files itself). */
gd_status gd_data_splits_from(const gd_settings *s, gd_data_cache *cache, gd_dataset **train,
                              gd_dataset **val, gd_dataset **test, gd_error *err);

/* Adds key: v to a JSON object in digits that read back as v exactly (null for NaN and
 * infinities); settings.c says why cJSON's own number printing will not do. */
struct cJSON;
bool gd_json_add_number(struct cJSON *j, const char *key, double v);
/* The same number as an item of its own (for arrays); NULL when out of memory. */
struct cJSON *gd_json_number(double v);

/* Seconds of a monotonic clock. */
double gd_now_seconds(void);

/* The optimiser --optim names, with --lr, --momentum (SGD and RMSprop only) and
 * --weight-decay, or GD_ERR_INVALID_ARGUMENT naming the choices. An lr or weight_decay
 * of NaN (not given) keeps the optimiser's PyTorch default. */
gd_status gd_optim_config_for(const char *optim, double lr, double momentum,
                              double weight_decay, gd_optim_config *out, char *msg);

gd_status gd_settings_check(const gd_settings *s, char *msg); /* --warmup <= --epochs, ... */

/* Frees the loader, the optimiser and the training split (the model stays). */
void gd_run_release_training(gd_run *run);

/* run_files.c: the run folder's files. */
gd_status gd_run_write_config(gd_run *run);
/* --init-from: the freshly built model's tensors from a model file, matched by name. */
gd_status gd_run_init_from(gd_run *run);
gd_status gd_run_save_best(gd_run *run);
gd_status gd_run_save_checkpoint(gd_run *run);
/* Restores the optimiser's state, the run state and the history from the checkpoint. */
gd_status gd_run_restore_checkpoint(gd_run *run);
gd_status gd_run_write_metrics(gd_run *run);
/* "dir/name" into buf (GD_PATH_MAX bytes). */
#define GD_PATH_MAX 4096
const char *gd_run_path(const gd_run *run, const char *name, char *buf);
gd_status gd_run_history_add(gd_run *run, const gd_epoch_metrics *m);

/* fit.c: --patience epochs in a row without an improvement have passed (the search's
 * trials stop there as gd_run_fit does). */
bool gd_run_patience_spent(const gd_run *run);

#endif
