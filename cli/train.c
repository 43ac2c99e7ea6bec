/* gradus train: flags to settings to a run (the library's gd_run, which owns the epoch
 * loop, validation, early stopping, checkpoints and the run's files). The command adds
 * the run folder (its default name and its lock), the progress display through an
 * observer, the library's monitor (--monitor) with its warnings printed amid the display,
 * summary.json and the words it prints. */
#include "progress.h"
#include "run_dir.h"
#include "train_config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct trainer {
    train_config cfg;
    const char *dir;
    int lock_fd; /* the run folder's lock, held until the process ends */
    gd_run *run;
    gd_monitor *monitor; /* NULL without --monitor */
    progress bar;
} trainer;

/* ------------------------------------------------------------ the display */

static void show_batch(void *ctx, gd_run *run, const gd_step_info *step)
{
    (void)run;
    progress *bar = ctx;
    if (step->batch == 1)
        progress_start_epoch(bar, step->epoch + 1, bar->epochs, step->batches);
    progress_batch(bar, step->batch, step->epoch_loss, step->samples_per_sec);
}

static void show_epoch(void *ctx, gd_run *run, const gd_epoch_metrics *m)
{
    (void)run;
    progress_end_epoch(ctx, m);
}

static void show_warning(void *ctx, const gd_monitor_warning *w)
{
    char line[600];
    snprintf(line, sizeof line, "warning: %s", w->message);
    progress_note(ctx, line);
}

/* With --val-size 0 nothing measures a better epoch: said once, before the epochs. */
static void say_no_validation_rule(const trainer *t)
{
    if (!gd_run_dataset(t->run, "val"))
        printf("no validation split (--val-size 0): the model kept is the last epoch's, "
               "and --patience does not apply\n");
}

/* ----------------------------------------------------------------- finish */

static int write_summary(trainer *t, const gd_run_result *r)
{
    const gd_settings *s = &t->cfg.s;
    gd_dataset *val = gd_run_dataset(t->run, "val");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "test_accuracy", r->test.accuracy);
    cJSON_AddStringToObject(j, "validation", val ? "split" : "none");
    cJSON_AddNumberToObject(j, "val_size", val ? (double)gd_dataset_size(val) : 0);
    if (val)
        cJSON_AddNumberToObject(j, "best_val_accuracy", r->best_val_accuracy);
    else
        cJSON_AddNullToObject(j, "best_val_accuracy");
    /* Which rule chose model.safetensors (and best_epoch, the epoch it comes from). */
    cJSON_AddStringToObject(j, "model_kept", val ? "best_val_accuracy" : "last_epoch");
    cJSON_AddNumberToObject(j, "best_epoch", (double)r->best_epoch);
    cJSON_AddNumberToObject(j, "final_train_loss", r->final_train_loss);
    cJSON_AddNumberToObject(j, "epochs", (double)r->epochs);
    cJSON_AddNumberToObject(j, "train_seconds", r->train_seconds);
    cJSON_AddNumberToObject(j, "train_samples_per_sec", r->samples_per_sec);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    cJSON_AddRawToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "threads", gd_get_num_threads());
    cJSON_AddStringToObject(j, "model", s->model);
    cJSON_AddStringToObject(j, "preprocess", s->preprocess);
    cJSON_AddStringToObject(j, "optim", s->optim);
    cJSON_AddNumberToObject(j, "lr", s->lr);
    cJSON_AddNumberToObject(j, "batch_size", (double)s->batch_size);
    cJSON_AddNumberToObject(j, "parameters", (double)gd_run_parameter_count(t->run));
    char path[4096];
    return write_json(run_path(path, sizeof path, t->dir, "summary.json"), j);
}

static int diverged(const trainer *t, const gd_run_result *r)
{
    return fail(EXIT_DIVERGED, "train",
                "the loss became NaN or infinite at epoch %lld, step %lld; try a lower learning rate "
                "(--lr %g now); the last good checkpoint is %s/checkpoint.safetensors",
                (long long)r->diverged_epoch, (long long)r->diverged_step, t->cfg.s.lr, t->dir);
}

/* The monitor's early stop, the lecture's "loss more than 3x the original: quit early", is
 * a divergence caught before it reached NaN: it exits as one. */
static int monitor_stopped(const trainer *t, const gd_run_result *r)
{
    gd_monitor_warning w;
    gd_monitor_stopped(t->monitor, &w);
    if (r->epochs == 0)
        return fail(EXIT_DIVERGED, "train", "--monitor stopped the run in its first epoch: %s; "
                    "no epoch finished, so nothing was kept", w.message);
    return fail(EXIT_DIVERGED, "train", "--monitor stopped the run in epoch %lld: %s; the last "
                "good checkpoint is %s/checkpoint.safetensors", (long long)r->epochs + 1,
                w.message, t->dir);
}

static void say_monitor_failure(const trainer *t)
{
    if (t->monitor && gd_monitor_status(t->monitor) != GD_OK)
        fprintf(stderr, "gradus train: warning: --monitor stopped writing: %s\n",
                gd_monitor_error(t->monitor));
}

static int finish(trainer *t, const gd_run_result *r)
{
    if (r->stop == GD_STOP_EARLY)
        printf("early stop: no better validation accuracy for %lld epochs\n",
               (long long)t->cfg.s.patience);
    int rc = write_summary(t, r);
    if (rc != EXIT_OK)
        return rc;
    char path[4096];
    printf("test accuracy %.4f ", r->test.accuracy);
    if (r->validated)
        printf("(best epoch %lld, validation %.4f)", (long long)r->best_epoch, r->best_val_accuracy);
    else
        printf("(last epoch %lld, no validation split)", (long long)r->best_epoch);
    printf("; %.1f s; model in %s\n", r->train_seconds,
           run_path(path, sizeof path, t->dir, "model.safetensors"));
    return EXIT_OK;
}

static int train_all(trainer *t)
{
    gd_run_result r;
    say_no_validation_rule(t);
    gd_status st = gd_run_fit(t->run, &r);
    say_monitor_failure(t);
    if (t->monitor && gd_monitor_stopped(t->monitor, NULL))
        return monitor_stopped(t, &r); /* the test of the best model, if any, is moot */
    if (st == GD_ERR_NUMERIC && r.stop == GD_STOP_DIVERGED)
        return diverged(t, &r);
    if (st != GD_OK)
        return fail_status("train", st, gd_run_error(t->run));
    return finish(t, &r);
}

/* ------------------------------------------------------------------ setup */

static int start_monitor(trainer *t)
{
    gd_monitor_options mo = gd_monitor_defaults();
    mo.interval = t->cfg.monitor;
    mo.dir = t->dir;
    mo.on_warning = show_warning;
    mo.ctx = &t->bar;
    gd_error err;
    gd_status st = gd_monitor_create(&t->monitor, t->run, &mo, &err);
    if (st != GD_OK)
        return fail_status("train", st, err.message);
    printf("monitor: every %lld steps into %s/monitor.jsonl\n", (long long)mo.interval, t->dir);
    return EXIT_OK;
}

static int start_run(trainer *t, bool resume)
{
    gd_run_options opt = {.dir = t->dir, .resume = resume};
    gd_error err;
    gd_status st = gd_run_create(&t->run, &t->cfg.s, &opt, &err);
    if (st != GD_OK)
        return fail_status("train", st, err.message);
    t->bar.epochs = t->cfg.s.epochs;
    gd_observer display = {.ctx = &t->bar, .after_step = show_batch, .epoch_end = show_epoch};
    if (gd_run_add_observer(t->run, &display) != GD_OK)
        return EXIT_FAILURE_RUN;
    return t->cfg.monitor ? start_monitor(t) : EXIT_OK;
}

static int setup(trainer *t, int argc, char **argv)
{
    int rc = train_config_parse(&t->cfg, argc, argv);
    if (rc != EXIT_OK)
        return rc;
    bool resume = t->cfg.resume != NULL;
    if (resume) {
        free(t->cfg.out);
        t->cfg.out = strdup(t->cfg.resume);
    } else if (!t->cfg.out && !(t->cfg.out = run_dir_create_default()))
        return EXIT_FAILURE_RUN;
    t->dir = t->cfg.out;
    /* The folder is locked before a resume reads its config.json: a run still writing it
     * is refused instead of joined. */
    if ((rc = run_dir_prepare(t->dir, resume, &t->lock_fd)) != EXIT_OK)
        return rc;
    if (resume && (rc = train_config_load(&t->cfg, t->cfg.resume)) != EXIT_OK)
        return rc;
    return start_run(t, resume);
}

static void teardown(trainer *t)
{
    gd_run_free(t->run);
    gd_monitor_free(t->monitor); /* after the run: it observes the run's steps */
    train_config_free(&t->cfg);
    if (t->lock_fd >= 0)
        close(t->lock_fd); /* the lock goes with it; the file stays (run_dir.c says why) */
}

int cmd_train(int argc, char **argv)
{
    trainer t = {.lock_fd = -1};
    int rc = setup(&t, argc, argv);
    if (rc < 0) /* --help was printed: the flags every command takes follow */
        print_common_help(stdout);
    if (rc == EXIT_OK)
        rc = train_all(&t);
    teardown(&t);
    return rc < 0 ? EXIT_OK : rc; /* -1: --help was printed */
}
