/* gradus train: flags to settings to a run (the library's gd_run, which owns the epoch
 * loop, validation, early stopping, checkpoints and the run's files). The command adds
 * the run folder (its default name and its lock), the progress display through an
 * observer, the library's monitor (--monitor) with its warnings printed amid the display,
 * summary.json, confusion.json, a sparkline of the loss and the words it prints. */
#include "progress.h"
#include "run_dir.h"
#include "train_config.h"

#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct trainer {
    train_config cfg;
    const char *dir;
    int lock_fd; /* the run folder's lock, held until the process ends */
    bool created; /* this process made the run folder: a failure that wrote nothing removes it */
    gd_run *run;
    gd_monitor *monitor; /* NULL without --monitor */
    progress bar;
    double *step_loss;   /* with --monitor: this process's per-step losses, for the sparkline */
    size_t steps, step_cap;
    int rank, ranks; /* under mpirun: one model on every rank; rank 0 writes and prints */
} trainer;

/* ---------------------------------------------------------------- Ctrl-C */

/* Set by SIGINT; the observer below turns it into gd_run_stop after the step in progress,
 * so that the run ends with its last checkpoint (written at each epoch's end) intact. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void stop_if_interrupted(void *ctx, gd_run *run, const gd_step_info *step)
{
    (void)ctx;
    (void)step;
    if (interrupted)
        gd_run_stop(run);
}

/* A second Ctrl-C is the default one (SA_RESETHAND): it ends the process at once. */
static void catch_sigint(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
}

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

static void keep_step_loss(void *ctx, gd_run *run, const gd_step_info *step)
{
    (void)run;
    trainer *t = ctx;
    if (t->steps < t->step_cap)
        t->step_loss[t->steps++] = step->loss;
}

/* What --early-stop watches, in words. */
static const char *metric_words(const char *early_stop)
{
    return strcmp(early_stop, "val_loss") == 0 ? "validation loss" : "validation accuracy";
}

/* With --val-size 0 nothing measures a better epoch: said once, before the epochs. */
static void say_no_validation_rule(const trainer *t)
{
    if (!gd_run_dataset(t->run, "val"))
        printf("no validation split (--val-size 0): the model kept is the last epoch's,\n"
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
    cJSON_AddStringToObject(j, "model_kept", !val ? "last_epoch"
                            : strcmp(s->early_stop, "val_loss") == 0 ? "best_val_loss"
                                                                     : "best_val_accuracy");
    cJSON_AddNumberToObject(j, "best_epoch", (double)r->best_epoch);
    cJSON_AddNumberToObject(j, "final_train_loss", r->final_train_loss);
    cJSON_AddNumberToObject(j, "epochs", (double)r->epochs);
    cJSON_AddNumberToObject(j, "train_seconds", r->train_seconds);
    cJSON_AddNumberToObject(j, "train_samples_per_sec", r->samples_per_sec);
    /* A string, as in config.json: a uint64 does not survive a JSON number (a double). */
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    cJSON_AddStringToObject(j, "seed", seed);
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

/* Fashion-MNIST's classes, in label order (Xiao, Rasul and Vollgraf 2017, table 1). */
static const char *const FASHION_MNIST_NAMES[] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* "fashion-mnist", or a folder of that name holding its IDX files. */
static bool is_fashion_mnist(const char *data)
{
    const char *base = strrchr(data, '/');
    base = base && base[1] ? base + 1 : data;
    return strncmp(base, "fashion-mnist", 13) == 0 && (base[13] == '\0' || base[13] == '/');
}

/* RUN_DIR/confusion.json: {"classes": C, "names": [...] or null, "matrix": [[...], ...]},
 * rows the true class, columns the guess, as gd_run_confusion gives it. */
static int write_confusion(const trainer *t)
{
    int classes;
    const int64_t *counts = gd_run_confusion(t->run, &classes);
    if (!counts)
        return EXIT_OK;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "classes", classes);
    if (classes == 10 && is_fashion_mnist(t->cfg.s.data))
        cJSON_AddItemToObject(j, "names", cJSON_CreateStringArray(FASHION_MNIST_NAMES, 10));
    else
        cJSON_AddNullToObject(j, "names");
    cJSON *matrix = cJSON_AddArrayToObject(j, "matrix");
    for (int r = 0; r < classes; r++) {
        cJSON *row = cJSON_CreateArray();
        for (int c = 0; c < classes; c++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)counts[(int64_t)r * classes + c]));
        cJSON_AddItemToArray(matrix, row);
    }
    char path[4096];
    return write_json(run_path(path, sizeof path, t->dir, "confusion.json"), j);
}

/* Whether the terminal's character set is UTF-8, by POSIX's precedence of the locale
 * variables (the first one set decides). */
static bool utf8_locale(void)
{
    const char *names[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        if (!v || !*v)
            continue;
        char low[64] = {0};
        for (size_t k = 0; v[k] && k < sizeof low - 1; k++)
            low[k] = (char)tolower((unsigned char)v[k]);
        return strstr(low, "utf-8") || strstr(low, "utf8");
    }
    return false;
}

/* One line of at most 80 columns: "train loss ", the losses in at most 60 columns, each
 * the mean of its share of the values, scaled between their lowest and highest to eight
 * levels of block (or ASCII) characters, then the first and last values. */
static void print_sparkline(const double *v, size_t n, const char *what)
{
    enum { LINE = 80, MOST = 60, HEAD = 11 /* "train loss " */ };
    static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ascii[] = "_.:-=+*#";
    if (n == 0)
        return;
    bool utf8 = utf8_locale();
    char tail[96]; /* its columns: the arrow is one, in either spelling of it */
    int tail_cols = snprintf(tail, sizeof tail, " %.4g -> %.4g (%s, %zu value%s)", v[0],
                             v[n - 1], what, n, n == 1 ? "" : "s") - 1;
    size_t room = (size_t)(LINE - HEAD - tail_cols), most = room < MOST ? room : MOST;
    snprintf(tail, sizeof tail, " %.4g %s %.4g (%s, %zu value%s)", v[0],
             utf8 ? "\u2192" : "->", v[n - 1], what, n, n == 1 ? "" : "s");
    size_t w = n < most ? n : most;
    double col[MOST], lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < w; i++) {
        size_t a = i * n / w, b = (i + 1) * n / w;
        double sum = 0;
        for (size_t k = a; k < b; k++)
            sum += v[k];
        col[i] = sum / (double)(b - a);
        lo = fmin(lo, col[i]);
        hi = fmax(hi, col[i]);
    }
    printf("train loss ");
    for (size_t i = 0; i < w; i++) {
        int level = hi > lo ? (int)lround(7.0 * (col[i] - lo) / (hi - lo)) : 3;
        if (utf8)
            fputs(blocks[level], stdout);
        else
            putchar(ascii[level]);
    }
    printf("%s\n", tail);
}

static void print_loss_line(const trainer *t, const gd_run_result *r)
{
    if (t->steps > 1) {
        print_sparkline(t->step_loss, t->steps, "per step");
        return;
    }
    double v[4096];
    size_t n = 0;
    for (int64_t e = 0; e < r->history_len && n < sizeof v / sizeof v[0]; e++)
        v[n++] = r->history[e].train_loss;
    print_sparkline(v, n, "per epoch");
}

/* The advice is one that can be followed: with no checkpoint yet there is nothing to
 * resume, and a resume takes a new --lr (kept over config.json's). */
static int diverged(const trainer *t, const gd_run_result *r)
{
    char path[4096];
    run_path(path, sizeof path, t->dir, "checkpoint.safetensors");
    double lr = t->cfg.s.lr;
    if (access(path, F_OK) != 0)
        return fail(EXIT_DIVERGED, "train",
                    "the loss became NaN or infinite at epoch %lld, step %lld (--lr %g); "
                    "no checkpoint yet: start again with a lower --lr (say --lr %g)",
                    (long long)r->diverged_epoch, (long long)r->diverged_step, lr, lr / 10);
    return fail(EXIT_DIVERGED, "train",
                "the loss became NaN or infinite at epoch %lld, step %lld (--lr %g); the last good "
                "checkpoint is %s; to go on with a lower learning rate, resume with "
                "gradus train --resume %s --lr %g",
                (long long)r->diverged_epoch, (long long)r->diverged_step, lr, path, t->dir,
                lr / 10);
}

/* Ctrl-C stopped the run after a step: the epoch in progress is not counted. */
static int interrupted_run(const trainer *t, const gd_run_result *r)
{
    fflush(stdout);
    return fail(EXIT_INTERRUPTED, "train", "interrupted at epoch %lld; the epoch in progress is "
                "lost; resume with gradus train --resume %s", (long long)r->epochs + 1, t->dir);
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
        printf("early stop: no better %s for %lld epochs (--patience)\n",
               metric_words(t->cfg.s.early_stop), (long long)t->cfg.s.patience);
    int rc = write_summary(t, r);
    if (rc == EXIT_OK)
        rc = write_confusion(t);
    if (rc != EXIT_OK)
        return rc;
    char path[4096];
    printf("test accuracy %.4f ", r->test.accuracy);
    if (r->validated)
        printf("(best epoch %lld, validation %.4f)", (long long)r->best_epoch, r->best_val_accuracy);
    else
        printf("(last epoch %lld, no validation split)", (long long)r->best_epoch);
    printf("; %.1f s\nmodel: %s\n", r->train_seconds,
           run_path(path, sizeof path, t->dir, "model.safetensors"));
    print_loss_line(t, r);
    printf("report: gradus report %s\n", t->dir); /* it writes RUN_DIR/report.html */
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
    if (interrupted && r.stop == GD_STOP_REQUESTED)
        return interrupted_run(t, &r); /* so is the test, which may have no model to load */
    if (st == GD_ERR_NUMERIC && r.stop == GD_STOP_DIVERGED)
        return diverged(t, &r);
    if (st != GD_OK)
        return fail_status("train", st, gd_run_error(t->run));
    return t->rank == 0 ? finish(t, &r) : EXIT_OK; /* rank 0 tested and writes */
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
    /* Room for every step this process can take, so that no step allocates; a count whose
     * bytes do not fit size_t (--epochs up to 2^53) gets none rather than a wrapped size. */
    int64_t batches = gd_run_batches_per_epoch(t->run), epochs = t->cfg.s.epochs;
    bool fits = batches > 0 && epochs <= (int64_t)(SIZE_MAX / sizeof *t->step_loss / 2) / batches;
    t->step_cap = fits ? (size_t)(batches * epochs) : 0;
    t->step_loss = fits ? malloc(t->step_cap * sizeof *t->step_loss) : NULL;
    if (!t->step_loss)
        t->step_cap = 0; /* the sparkline falls back to the epochs */
    gd_observer losses = {.ctx = t, .after_forward = keep_step_loss};
    if (gd_run_add_observer(t->run, &losses) != GD_OK)
        return EXIT_FAILURE_RUN;
    return EXIT_OK;
}

/* A resume that changed settings (a lower --lr after a divergence, more --epochs):
 * config.json, which the library writes for fresh runs only, is rewritten to say what the
 * run goes on with. */
static int save_changed_settings(const trainer *t)
{
    if (t->cfg.changed == 0)
        return EXIT_OK;
    char *json = NULL, path[4096];
    gd_error err;
    gd_status st = gd_settings_to_json(&t->cfg.s, &json, &err);
    if (st == GD_OK)
        st = gd_write_file_atomic(run_path(path, sizeof path, t->dir, "config.json"), json,
                                  strlen(json), &err);
    free(json);
    return st == GD_OK ? EXIT_OK : fail_status("train", st, err.message);
}

static int64_t split_size(gd_run *run, const char *split)
{
    gd_dataset *ds = gd_run_dataset(run, split);
    return ds ? gd_dataset_size(ds) : 0;
}

/* The run as it starts: the model's size, the data's splits, and the optimiser with the
 * values it uses (each optimiser's PyTorch defaults unless given), as the run holds them;
 * within 80 columns. */
static void say_start(const trainer *t)
{
    const gd_settings *s = gd_run_settings(t->run);
    char params[32], opt[160], rest[96];
    printf("model: %s parameters; data: %lld train, %lld val, %lld test\n",
           group_digits(params, sizeof params, gd_run_parameter_count(t->run)),
           (long long)split_size(t->run, "train"), (long long)split_size(t->run, "val"),
           (long long)split_size(t->run, "test"));
    bool momentum = strcmp(s->optim, "sgd") == 0 || strcmp(s->optim, "rmsprop") == 0;
    int len = snprintf(opt, sizeof opt, "optimiser: %s, lr %g", s->optim, s->lr);
    if (momentum)
        len += snprintf(opt + len, sizeof opt - (size_t)len, ", momentum %g", s->momentum);
    snprintf(opt + len, sizeof opt - (size_t)len, ", weight decay %g", s->weight_decay);
    snprintf(rest, sizeof rest, "schedule %.40s, batches of %lld", s->schedule,
             (long long)s->batch_size);
    bool one_line = strlen(opt) + 2 + strlen(rest) <= 80;
    printf("%s%s%s\n", opt, one_line ? "; " : "\n", rest);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores > 0 && s->threads > cores) /* oversubscribed: threads wait on each other */
        fprintf(stderr, "warning: --threads %d exceeds this machine's %ld cores: slower, "
                "not faster\n", s->threads, cores);
}

/* What --init-from copied, its report's clauses ("; "-separated) wrapped to 80 columns. */
static void say_init_from(const trainer *t)
{
    const gd_init_report *r = gd_run_init_report(t->run);
    if (!r)
        return;
    int col = printf("--init-from: ");
    for (const char *p = r->text; *p;) {
        const char *end = strstr(p, "; ");
        int len = end ? (int)(end - p) + 1 : (int)strlen(p); /* the clause with its ';' */
        if (col > 13 && col + 1 + len > 80) {
            printf("\n ");
            col = 1;
        } else if (col > 13) {
            col += printf(" ");
        }
        col += printf("%.*s", len, p);
        p += len;
        p += *p == ' ';
    }
    printf("\n");
}

/* A resumed run with nothing left to do: it finished its --epochs, or --patience stopped
 * it. Said with what to give to go on; true then. */
static bool says_run_is_done(const trainer *t)
{
    gd_run_result r;
    gd_run_result_get(t->run, &r);
    const gd_settings *s = &t->cfg.s;
    if (r.epochs >= s->epochs) {
        printf("the run has finished its %lld epochs (--epochs %lld); to train further,\n"
               "resume with a larger --epochs: gradus train --resume %s --epochs %lld\n",
               (long long)r.epochs, (long long)s->epochs, t->dir, (long long)r.epochs + 10);
        return true;
    }
    if (r.validated && s->patience > 0 && r.epochs - r.best_epoch >= s->patience) {
        printf("the run stopped early at epoch %lld (--patience %lld: no better validation\n"
               "since epoch %lld); to go on, resume with a larger --patience (0: never stop)\n",
               (long long)r.epochs, (long long)s->patience, (long long)r.best_epoch);
        return true;
    }
    return false;
}

static int start_run(trainer *t, bool resume)
{
    gd_run_options opt = {.dir = t->dir, .resume = resume,
                          .comm = t->ranks > 1 ? gd_dist_world() : NULL};
    gd_error err;
    gd_status st = gd_run_create(&t->run, &t->cfg.s, &opt, &err);
    if (st != GD_OK)
        return fail_status("train", st, err.message);
    /* The settings as the run resolved them (each optimiser's defaults for a --lr or
     * --weight-decay not given, NaN until then), for everything said and written below. */
    gd_settings_free(&t->cfg.s);
    if (gd_settings_copy(&t->cfg.s, gd_run_settings(t->run)) != GD_OK)
        return fail(EXIT_FAILURE_RUN, "train", "out of memory");
    printf("run folder: %s\n", t->dir);
    say_start(t);
    say_init_from(t);
    int rc = resume && t->rank == 0 ? save_changed_settings(t) : EXIT_OK;
    if (rc != EXIT_OK)
        return rc;
    char summary[4096];
    /* Without summary.json the test never ran: the resume runs it, training nothing. */
    if (resume && says_run_is_done(t) &&
        access(run_path(summary, sizeof summary, t->dir, "summary.json"), F_OK) == 0)
        return -2;
    t->bar.epochs = t->cfg.s.epochs;
    gd_observer display = {.ctx = &t->bar, .after_step = show_batch, .epoch_end = show_epoch};
    gd_observer ctrl_c = {.after_step = stop_if_interrupted};
    if (gd_run_add_observer(t->run, &display) != GD_OK ||
        gd_run_add_observer(t->run, &ctrl_c) != GD_OK)
        return EXIT_FAILURE_RUN;
    catch_sigint();
    return t->cfg.monitor && t->rank == 0 ? start_monitor(t) : EXIT_OK;
}

/* The same folder by its identity, however it is spelt (runs/a, ./runs/a/). */
static bool same_folder(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return strcmp(a, b) == 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Under mpirun every rank leaves together with the first failure in rank order (the
 * same flags fail alike on every rank; rank 0 has said why). */
static int agree(const trainer *t, int rc)
{
    gd_error err;
    if (t->ranks > 1 && gd_comm_agree(gd_dist_world(), &rc, NULL, &err) != GD_OK)
        return fail(EXIT_FAILURE_RUN, "train", "%s", err.message);
    return rc;
}

/* The run folder, made (its default name included) and locked by rank 0 alone; the
 * other ranks learn its name, or the exit code that stopped rank 0. */
typedef struct shared_folder {
    int rc;
    char dir[4096];
} shared_folder;

static int prepare_folder(trainer *t, bool resume)
{
    shared_folder f = {.rc = EXIT_OK};
    if (t->rank == 0) {
        if (resume) {
            free(t->cfg.out);
            t->cfg.out = strdup(t->cfg.resume);
        } else if (!t->cfg.out) {
            t->cfg.out = run_dir_create_default();
            t->created = t->cfg.out != NULL;
        }
        f.rc = t->cfg.out ? EXIT_OK : EXIT_FAILURE_RUN;
        /* The folder is locked before a resume reads its config.json: a run still writing
         * it is refused instead of joined. */
        if (f.rc == EXIT_OK)
            f.rc = run_dir_prepare(t->cfg.out, resume, &t->lock_fd, &t->created);
        if (f.rc == EXIT_OK && snprintf(f.dir, sizeof f.dir, "%s", t->cfg.out) >= (int)sizeof f.dir)
            f.rc = fail(EXIT_USAGE, "train", "%.60s...: a run folder's path must be shorter "
                        "than %zu bytes", t->cfg.out, sizeof f.dir);
    }
    gd_error err;
    if (t->ranks > 1 && gd_comm_bcast(gd_dist_world(), &f, sizeof f, 0, &err) != GD_OK)
        return fail(EXIT_FAILURE_RUN, "train", "%s", err.message);
    if (f.rc == EXIT_OK && t->rank > 0) {
        free(t->cfg.out);
        if (!(t->cfg.out = strdup(f.dir)))
            f.rc = fail(EXIT_FAILURE_RUN, "train", "out of memory");
    }
    t->dir = t->cfg.out;
    return f.rc;
}

/* Threads not given share this machine's cores among its ranks. */
static void share_cores(trainer *t)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN), ranks = gd_dist_local_size();
    if (t->ranks > 1 && t->cfg.s.threads == 0)
        t->cfg.s.threads = cores / ranks > 1 ? (int)(cores / ranks) : 1;
}

static int setup(trainer *t, int argc, char **argv)
{
    int rc = train_config_parse(&t->cfg, argc, argv);
    if (rc != EXIT_OK)
        return rc;
    bool resume = t->cfg.resume != NULL;
    if (resume && t->cfg.out && !same_folder(t->cfg.out, t->cfg.resume))
        return fail(EXIT_USAGE, "train", "--out %s and --resume %s: a resumed run stays in its "
                    "folder (give --resume alone)", t->cfg.out, t->cfg.resume);
    if (!resume)
        rc = train_config_absolute_paths(&t->cfg);
    if ((rc = agree(t, rc)) != EXIT_OK || (rc = prepare_folder(t, resume)) != EXIT_OK)
        return rc;
    if (resume)
        rc = train_config_load(&t->cfg, t->cfg.resume);
    if ((rc = agree(t, rc)) != EXIT_OK)
        return rc;
    share_cores(t);
    return start_run(t, resume);
}

static void teardown(trainer *t, int rc)
{
    gd_run_free(t->run);
    gd_monitor_free(t->monitor); /* after the run: it observes the run's steps */
    if (rc > 0 && t->created && t->dir)
        run_dir_discard_empty(t->dir, &t->lock_fd);
    train_config_free(&t->cfg);
    free(t->step_loss);
    if (t->lock_fd >= 0)
        close(t->lock_fd); /* the lock goes with it; the file stays (run_dir.c says why) */
}

/* Ranks other than 0 compute what rank 0 says: their words would repeat it. */
static void quiet(void)
{
    fflush(stdout);
    (void)!freopen("/dev/null", "w", stdout);
    (void)!freopen("/dev/null", "w", stderr);
}

int cmd_train(int argc, char **argv)
{
    gd_error err;
    if (gd_dist_init(&argc, &argv, &err) != GD_OK)
        return fail(EXIT_USAGE, "train", "%s", err.message);
    trainer t = {.lock_fd = -1, .rank = gd_dist_rank(), .ranks = gd_dist_size()};
    if (t.rank > 0)
        quiet();
    int rc = setup(&t, argc, argv);
    if (rc == -1) /* --help was printed: the flags every command takes follow */
        print_common_help(stdout);
    if (rc == EXIT_OK)
        rc = train_all(&t);
    teardown(&t, rc);
    gd_dist_finalize();
    return rc < 0 ? EXIT_OK : rc; /* -1: --help was printed; -2: a finished run, resumed */
}
