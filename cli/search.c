/* gradus search: a hyperparameter study. The fixed part of each trial comes from the same
 * flags as `gradus train`; --param and --space give what varies. The study lives in one
 * folder (study.json, journal.jsonl, trials/NNNN/), which workers, started here or by hand
 * with --resume, share through the journal and its locks (docs/search.md). */
#include "search.h"
#include "progress.h"
#include "settings_flags.h"
#include "train_config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CMD "search"
#define PARAMS_MAX GD_SPACE_MAX_PARAMS

static const char *const INTRO =
    "usage: gradus search [TRAIN FLAGS] --param NAME=KIND(ARGS) ... [SEARCH FLAGS]\n"
    "       gradus search --resume STUDY_DIR [--workers N] [--ranks-per-trial M]\n"
    "       gradus search --show STUDY_DIR [--export-best FILE]\n"
    "\n"
    "Trains many runs (trials) that differ in the parameters of a search space, and\n"
    "ranks them by validation accuracy. Every `gradus train` flag sets the fixed part\n"
    "of each trial (--epochs: each trial's). The study seed (--seed) fixes every\n"
    "trial's parameters and own seed, whatever the number of workers; a killed study\n"
    "goes on with --resume. The space and the folder: docs/search.md.\n"
    "\n"
    "search:\n"
    "  --param TEXT         NAME=KIND(ARGS) [if P=V]: KIND is loguniform(lo, hi),\n"
    "                       uniform, int, logint or choice(a, b, ...); NAME a train\n"
    "                       setting (lr, weight_decay, optim, ...) or a {NAME} of\n"
    "                       --model; repeat it for each parameter\n"
    "  --space FILE         parameters from a file, one a line ('#' comments)\n"
    "  --strategy NAME      random, grid, sobol, coarse-to-fine, asha       [random]\n"
    "  --trials N           configurations (grid: all of its points)            [20]\n"
    "  --repeats K          seeds per configuration, ranked by their mean        [1]\n"
    "  --grid-points N      grid: values on each continuous range                [3]\n"
    "  --min-epochs N       asha: the first rung; coarse-to-fine: the first\n"
    "                       stage's epochs                                       [1]\n"
    "  --eta F              asha: a rung keeps 1 in F; coarse-to-fine: each stage\n"
    "                       has 1/F of the trials of the one before              [3]\n"
    "  --stages N           coarse-to-fine: stages                               [3]\n"
    "  --keep F             coarse-to-fine: the best fraction of a stage that the\n"
    "                       next stage's ranges span                          [0.25]\n"
    "  --workers N          processes training trials at once                    [1]\n"
    "  --ranks-per-trial M  under mpirun -np K*M: K trials at once, each trained\n"
    "                       data-parallel on M ranks                             [1]\n"
    "  --seed N             the study's seed                                     [1]\n"
    "  --out STUDY_DIR      where to keep the study (a new or empty folder)\n"
    "                                                             [studies/DATE-TIME]\n"
    "  --resume STUDY_DIR   go on with a killed or stopped study\n"
    "  --show STUDY_DIR     the best trials and warnings of a study, now\n"
    "  --export-best FILE   write the best trial's `gradus train` command line\n"
    "  -h, --help           this text\n"
    "\n"
    "train flags (the fixed part of every trial):\n";

enum {
    OPT_PARAM = 1000, OPT_SPACE, OPT_STRATEGY, OPT_TRIALS, OPT_REPEATS, OPT_GRID_POINTS,
    OPT_MIN_EPOCHS, OPT_ETA, OPT_STAGES, OPT_KEEP, OPT_WORKERS, OPT_RANKS, OPT_OUT, OPT_RESUME,
    OPT_SHOW, OPT_EXPORT
};

typedef struct search_args {
    train_config train;         /* the fixed settings (train.s) and which were given */
    const char *param[PARAMS_MAX];
    int params;
    const char *space, *out, *resume, *show, *export_path;
    gd_search_options opt;
    int workers;
    int ranks_per_trial;        /* under mpirun: the ranks of one data-parallel trial */
    bool search_given;          /* a flag that defines a study, refused with --resume */
} search_args;

/* ------------------------------------------------------------ the flags */

static struct option *make_options(void)
{
    static const struct option own[] = {
        {"param", required_argument, 0, OPT_PARAM}, {"space", required_argument, 0, OPT_SPACE},
        {"strategy", required_argument, 0, OPT_STRATEGY},
        {"trials", required_argument, 0, OPT_TRIALS},
        {"repeats", required_argument, 0, OPT_REPEATS},
        {"grid-points", required_argument, 0, OPT_GRID_POINTS},
        {"min-epochs", required_argument, 0, OPT_MIN_EPOCHS},
        {"eta", required_argument, 0, OPT_ETA}, {"stages", required_argument, 0, OPT_STAGES},
        {"keep", required_argument, 0, OPT_KEEP},
        {"workers", required_argument, 0, OPT_WORKERS}, {"out", required_argument, 0, OPT_OUT},
        {"ranks-per-trial", required_argument, 0, OPT_RANKS},
        {"resume", required_argument, 0, OPT_RESUME}, {"show", required_argument, 0, OPT_SHOW},
        {"export-best", required_argument, 0, OPT_EXPORT}, {"help", no_argument, 0, 'h'}};
    return settings_flags_options(own, sizeof own / sizeof own[0]);
}

static int whole(const char *flag, const char *text, int64_t lo, int64_t hi, int64_t *out)
{
    if (!parse_int64(text, out) || *out < lo || *out > hi)
        return fail(EXIT_USAGE, CMD, "--%s %s: expected an integer in [%lld, %lld]", flag, text,
                    (long long)lo, (long long)hi);
    return EXIT_OK;
}

static int real(const char *flag, const char *text, double *out)
{
    if (!parse_double(text, out) || !isfinite(*out))
        return fail(EXIT_USAGE, CMD, "--%s %s: expected a number", flag, text);
    return EXIT_OK;
}

/* A search flag's value into a. */
static int search_flag(search_args *a, int opt, const char *v)
{
    int64_t n = 0;
    int rc = EXIT_OK;
    a->search_given = a->search_given || (opt != OPT_WORKERS && opt != OPT_RANKS && opt != OPT_RESUME &&
                                          opt != OPT_SHOW && opt != OPT_EXPORT);
    switch (opt) {
    case OPT_PARAM:
        if (a->params == PARAMS_MAX)
            return fail(EXIT_USAGE, CMD, "more than %d --param flags", PARAMS_MAX);
        a->param[a->params++] = v;
        return EXIT_OK;
    case OPT_SPACE: a->space = v; return EXIT_OK;
    case OPT_OUT: a->out = v; return EXIT_OK;
    case OPT_RESUME: a->resume = v; return EXIT_OK;
    case OPT_SHOW: a->show = v; return EXIT_OK;
    case OPT_EXPORT: a->export_path = v; return EXIT_OK;
    case OPT_STRATEGY:
        return strategy_parse(v, &a->opt.strategy)
                   ? EXIT_OK
                   : fail(EXIT_USAGE, CMD, "--strategy %s: expected random, grid, sobol, "
                          "coarse-to-fine or asha", v);
    case OPT_TRIALS: rc = whole("trials", v, 1, 1000000, &a->opt.trials); break;
    case OPT_REPEATS: rc = whole("repeats", v, 1, 100, &n), a->opt.repeats = (int)n; break;
    case OPT_GRID_POINTS: rc = whole("grid-points", v, 1, 1000, &n), a->opt.grid_points = (int)n; break;
    case OPT_MIN_EPOCHS: rc = whole("min-epochs", v, 1, INT64_MAX / 2, &a->opt.min_epochs); break;
    case OPT_STAGES: rc = whole("stages", v, 2, 10, &n), a->opt.stages = (int)n; break;
    case OPT_WORKERS: rc = whole("workers", v, 1, 256, &n), a->workers = (int)n; break;
    case OPT_RANKS: rc = whole("ranks-per-trial", v, 1, 1 << 20, &n), a->ranks_per_trial = (int)n; break;
    case OPT_ETA: rc = real("eta", v, &a->opt.eta); break;
    case OPT_KEEP: rc = real("keep", v, &a->opt.keep); break;
    }
    return rc;
}

static int parse_args(search_args *a, int argc, char **argv, bool *trials_given)
{
    struct option *options = make_options();
    if (!options)
        return fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    optind = 1;
    opterr = 0;
    int opt, rc = EXIT_OK;
    const gd_setting_info *seed = gd_setting_find("seed");
    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            printf("%s", INTRO);
            print_settings_help(stdout);
            rc = -1;
        } else if (opt == '?') {
            rc = fail(EXIT_USAGE, CMD, "unknown or incomplete flag '%s' (gradus search --help "
                      "lists them)", argv[optind - 1]);
        } else if (settings_flags_is_setting(opt)) {
            rc = settings_flags_apply(CMD, &a->train.s, opt, optarg);
            a->train.given[opt - SETTINGS_FLAG] = true;
            a->search_given = true;
            if (rc == EXIT_OK && gd_setting_at((size_t)(opt - SETTINGS_FLAG)) == seed)
                a->opt.seed = a->train.s.seed; /* the study's: each trial has its own */
        } else {
            *trials_given = *trials_given || opt == OPT_TRIALS;
            rc = search_flag(a, opt, optarg);
        }
    }
    free(options);
    if (rc == EXIT_OK && optind < argc)
        rc = fail(EXIT_USAGE, CMD, "unexpected argument '%s'", argv[optind]);
    return rc;
}

/* ------------------------------------------------------------ the space */

static int build_space(study_def *d, const search_args *a)
{
    gd_error err;
    if (gd_space_create(&d->space) != GD_OK)
        return fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    for (int i = 0; i < a->params; i++) {
        char origin[32];
        snprintf(origin, sizeof origin, "--param %d", i + 1);
        if (gd_space_add(d->space, a->param[i], origin, &err) != GD_OK)
            return fail(EXIT_USAGE, CMD, "%s", err.message);
    }
    if (a->space) {
        gd_status st = gd_space_read(d->space, a->space, &err);
        if (st != GD_OK)
            return fail_status(CMD, st == GD_ERR_INVALID_ARGUMENT ? GD_ERR_INVALID_ARGUMENT : st,
                               err.message);
    }
    if (gd_space_bind(d->space, d->fixed.model, &err) != GD_OK)
        return fail(EXIT_USAGE, CMD, "%s", err.message);
    return EXIT_OK;
}

/* Each parameter's text as the space holds it, for study.json. */
static int keep_texts(study_def *d, const search_args *a)
{
    char *text = NULL;
    d->texts = calloc(PARAMS_MAX, sizeof *d->texts);
    for (int i = 0; d->texts && i < a->params; i++)
        d->texts[d->count++] = strdup(a->param[i]);
    if (d->texts && a->space) {
        int rc;
        text = settings_flags_read_text(CMD, "--space", a->space, &rc);
        for (char *line = text ? strtok(text, "\n") : NULL; line && d->count < PARAMS_MAX;
             line = strtok(NULL, "\n")) {
            char *hash = strchr(line, '#');
            if (hash)
                *hash = '\0';
            if (strspn(line, " \t\r") < strlen(line))
                d->texts[d->count++] = strdup(line);
        }
    }
    free(text);
    return d->texts ? EXIT_OK : fail(EXIT_FAILURE_RUN, CMD, "out of memory");
}

/* ------------------------------------------------------------ study.json */

const char *strategy_name(gd_strategy s)
{
    static const char *const names[] = {"random", "grid", "sobol", "coarse-to-fine", "asha"};
    return s >= GD_STRATEGY_RANDOM && s <= GD_STRATEGY_ASHA ? names[s] : "?";
}

bool strategy_parse(const char *text, gd_strategy *out)
{
    for (int s = GD_STRATEGY_RANDOM; s <= GD_STRATEGY_ASHA; s++)
        if (strcmp(text, strategy_name((gd_strategy)s)) == 0) {
            *out = (gd_strategy)s;
            return true;
        }
    return false;
}

void study_def_free(study_def *d)
{
    gd_settings_free(&d->fixed);
    gd_space_free(d->space);
    for (int i = 0; d->texts && i < d->count; i++)
        free(d->texts[i]);
    free(d->texts);
    memset(d, 0, sizeof *d);
}

static cJSON *def_json(const study_def *d)
{
    char *settings = NULL, seed[24];
    gd_error err;
    if (gd_settings_to_json(&d->fixed, &settings, &err) != GD_OK)
        return NULL;
    cJSON *j = cJSON_CreateObject(), *space = cJSON_AddArrayToObject(j, "space");
    const gd_search_options *o = &d->opt;
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    cJSON_AddNumberToObject(j, "schema", 1);
    cJSON_AddStringToObject(j, "gradus_version", gd_version());
    cJSON_AddStringToObject(j, "strategy", strategy_name(o->strategy));
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "trials", (double)o->trials);
    cJSON_AddNumberToObject(j, "repeats", o->repeats);
    cJSON_AddNumberToObject(j, "epochs", (double)o->epochs);
    cJSON_AddNumberToObject(j, "grid_points", o->grid_points);
    cJSON_AddNumberToObject(j, "min_epochs", (double)o->min_epochs);
    cJSON_AddNumberToObject(j, "eta", o->eta);
    cJSON_AddNumberToObject(j, "stages", o->stages);
    cJSON_AddNumberToObject(j, "keep", o->keep);
    cJSON_AddStringToObject(j, "metric", "val_accuracy");
    for (int i = 0; i < d->count; i++)
        cJSON_AddItemToArray(space, cJSON_CreateString(d->texts[i]));
    cJSON_AddItemToObject(j, "settings", cJSON_Parse(settings));
    free(settings);
    return j;
}

int study_def_save(const study_def *d, const char *dir)
{
    cJSON *j = def_json(d);
    char *text = j ? cJSON_Print(j) : NULL, path[4096];
    cJSON_Delete(j);
    if (!text)
        return fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    snprintf(path, sizeof path, "%s/study.json", dir);
    gd_error err;
    gd_status st = gd_write_file_atomic(path, text, strlen(text), &err);
    free(text);
    return st == GD_OK ? EXIT_OK : fail_status(CMD, st, err.message);
}

static bool number(const cJSON *j, const char *key, double lo, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return false;
    *out = v->valuedouble;
    return true;
}

/* The options of study.json; the key that is wrong, or NULL. */
static const char *read_options(const cJSON *j, gd_search_options *o)
{
    double v[7];
    const char *seed = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "seed"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "strategy"));
    if (!name || !strategy_parse(name, &o->strategy))
        return "strategy";
    if (!seed || !parse_int64(seed, (int64_t[]){0}))
        return "seed";
    o->seed = strtoull(seed, NULL, 10);
    static const char *const keys[] = {"trials", "repeats", "epochs", "grid_points",
                                       "min_epochs", "eta", "stages"};
    for (int i = 0; i < 7; i++)
        if (!number(j, keys[i], 0, 9e15, &v[i]))
            return keys[i];
    if (!number(j, "keep", 0, 1, &o->keep))
        return "keep";
    o->trials = (int64_t)v[0], o->repeats = (int)v[1], o->epochs = (int64_t)v[2];
    o->grid_points = (int)v[3], o->min_epochs = (int64_t)v[4], o->eta = v[5];
    o->stages = (int)v[6];
    return NULL;
}

static int read_def(study_def *d, const cJSON *j, const char *path, const char *cmd)
{
    gd_error err;
    const char *bad = read_options(j, &d->opt);
    const cJSON *space = cJSON_GetObjectItemCaseSensitive(j, "space");
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(j, "settings");
    if (!bad && (!cJSON_IsArray(space) || cJSON_GetArraySize(space) > PARAMS_MAX))
        bad = "space";
    if (!bad && !cJSON_IsObject(settings))
        bad = "settings";
    if (bad)
        return fail(EXIT_BAD_DATA, cmd, "%s: not a gradus study: \"%s\" is missing or wrong",
                    path, bad);
    char *text = cJSON_PrintUnformatted(settings);
    gd_status st = text ? gd_settings_from_json(&d->fixed, text, &err) : GD_ERR_NO_MEMORY;
    free(text);
    if (st != GD_OK)
        return fail(EXIT_BAD_DATA, cmd, "%s: settings: %s", path, err.message);
    d->texts = calloc(PARAMS_MAX, sizeof *d->texts);
    if (!d->texts || gd_space_create(&d->space) != GD_OK)
        return fail(EXIT_FAILURE_RUN, cmd, "out of memory");
    const cJSON *p;
    cJSON_ArrayForEach(p, space) {
        char origin[300];
        snprintf(origin, sizeof origin, "%.250s, space %d", path, d->count + 1);
        if (!cJSON_IsString(p) || gd_space_add(d->space, p->valuestring, origin, &err) != GD_OK)
            return fail(EXIT_BAD_DATA, cmd, "%s", cJSON_IsString(p) ? err.message : path);
        d->texts[d->count++] = strdup(p->valuestring);
    }
    if (gd_space_bind(d->space, d->fixed.model, &err) != GD_OK)
        return fail(EXIT_BAD_DATA, cmd, "%s: %s", path, err.message);
    /* Options a study could not have been made with (an edited file): refused, so that
     * nothing sizes itself by them. */
    if (gd_search_check(d->space, &d->opt, &err) != GD_OK)
        return fail(EXIT_BAD_DATA, cmd, "%s: %s", path, err.message);
    return EXIT_OK;
}

int study_def_load(study_def *d, const char *dir, const char *cmd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/study.json", dir);
    memset(d, 0, sizeof *d);
    gd_settings_defaults(&d->fixed);
    struct stat sb;
    if (stat(dir, &sb) < 0)
        return fail(EXIT_FAILURE_RUN, cmd, "%s: %s", dir, strerror(errno));
    if (stat(path, &sb) < 0)
        return fail(EXIT_USAGE, cmd, "%s is not a study folder (no study.json)", dir);
    int rc;
    char *text = settings_flags_read_text(cmd, "study", path, &rc);
    if (!text)
        return rc;
    cJSON *j = cJSON_Parse(text);
    free(text);
    rc = j ? read_def(d, j, path, cmd) : fail(EXIT_BAD_DATA, cmd, "%s: not JSON", path);
    cJSON_Delete(j);
    return rc;
}

/* ------------------------------------------------------------ the workers */

static volatile sig_atomic_t interrupted;
static volatile int stop_flag;
static pid_t children[256];
static int child_count;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    stop_flag = 1;
    for (int i = 0; i < child_count; i++)
        if (children[i] > 0)
            kill(children[i], SIGINT);
}

static void child_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int work(const study_def *d, const char *dir, gd_comm *slot)
{
    signal(SIGINT, child_signal);
    signal(SIGTERM, child_signal);
    gd_search_worker w = {.dir = dir, .fixed = &d->fixed, .space = d->space, .opt = &d->opt,
                          .stop = &stop_flag, .comm = slot};
    gd_error err;
    gd_status st = gd_search_work(&w, &err);
    if (st != GD_OK)
        fprintf(stderr, "gradus search: worker %ld: %s\n", (long)getpid(), err.message);
    return st == GD_OK ? EXIT_OK : exit_code_for(st);
}

typedef struct tally {
    int64_t done, running, diverged, failed;
    double best;
    uint64_t best_trial;
} tally;

static tally count_trials(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    tally t = {.best = NAN};
    gd_study *st = NULL;
    gd_error err;
    if (gd_study_load(&st, path, &err) != GD_OK)
        return t;
    for (size_t i = 0; i < gd_study_trial_count(st); i++) {
        const gd_trial_record *r = gd_study_trial(st, i);
        t.done += r->state != GD_TRIAL_RUNNING;
        t.running += r->state == GD_TRIAL_RUNNING;
        t.diverged += r->state == GD_TRIAL_DIVERGED;
        t.failed += r->state == GD_TRIAL_FAILED;
        if (!isnan(r->best_val_accuracy) && (isnan(t.best) || r->best_val_accuracy > t.best))
            t.best = r->best_val_accuracy, t.best_trial = r->trial;
    }
    gd_study_free(st);
    return t;
}

/* One line, within the terminal: trials ended of all, running, the best so far, time left
 * (from the pace of the trials ended in this session). */
static void show_progress(const char *dir, int64_t total, int64_t done_before, double start,
                          bool tty, int64_t *last_done)
{
    tally t = count_trials(dir);
    if (!tty && t.done == *last_done)
        return;
    *last_done = t.done;
    char left[32] = "?", best[48] = "none yet";
    double pace = (now_seconds() - start) / (double)(t.done - done_before);
    if (t.done > done_before)
        snprintf(left, sizeof left, "%.0fs", pace * (double)(total - t.done));
    if (!isnan(t.best))
        snprintf(best, sizeof best, "%.4f (trial %llu)", t.best,
                 (unsigned long long)t.best_trial);
    char line[160];
    snprintf(line, sizeof line, "trials %lld/%lld done, %lld running; best %s; left %s",
             (long long)t.done, (long long)total, (long long)t.running, best, left);
    int width = terminal_columns();
    if (tty)
        printf("\r%.*s\033[K", width - 1, line);
    else
        printf("%s\n", line);
    fflush(stdout);
}

/* Forks the workers, shows progress until they end; EXIT_INTERRUPTED after Ctrl-C. */
static int run_workers(const study_def *d, const char *dir, int workers)
{
    int64_t total = gd_search_total_trials(&d->opt), last = -1;
    int64_t before = count_trials(dir).done;
    double start = now_seconds();
    bool tty = isatty(STDOUT_FILENO);
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    for (child_count = 0; child_count < workers; child_count++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(work(d, dir, NULL));
        if (pid < 0)
            break;
        children[child_count] = pid;
    }
    int alive = child_count, rc = EXIT_OK;
    while (alive > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            alive--;
            if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && !interrupted)
                rc = EXIT_FAILURE_RUN;
            continue;
        }
        show_progress(dir, total, before, start, tty, &last);
        struct timespec nap = {0, 500 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    show_progress(dir, total, before, start, tty, &last);
    if (tty)
        printf("\n");
    if (interrupted) {
        fprintf(stderr, "gradus search: interrupted; the trials in progress go on from their "
                "last epoch with: gradus search --resume %s\n", dir);
        return EXIT_INTERRUPTED;
    }
    return rc;
}

/* ------------------------------------------------------------ a new study */

static int make_folder(const char *out, char *dir, size_t len)
{
    if (out)
        snprintf(dir, len, "%s", out);
    else {
        time_t now = time(NULL);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        mkdir("studies", 0755);
        snprintf(dir, len, "studies/%s", stamp);
    }
    if (mkdir(dir, 0755) == 0)
        return EXIT_OK;
    if (errno != EEXIST)
        return fail(EXIT_FAILURE_RUN, CMD, "--out %s: %s", dir, strerror(errno));
    char probe[4200]; /* dir and the name: gcc counts both */
    snprintf(probe, sizeof probe, "%s/study.json", dir);
    if (access(probe, F_OK) == 0)
        return fail(EXIT_USAGE, CMD, "--out %s already holds a study: go on with gradus "
                    "search --resume %s, or give another --out", dir, dir);
    return EXIT_OK;
}

/* The data is read once here, so that a wrong --data is said before any trial starts. */
static int check_data(const gd_settings *s)
{
    gd_error err;
    if (s->val_size == 0)
        return fail(EXIT_USAGE, CMD, "--val-size 0: a search ranks trials by validation "
                    "accuracy and needs a validation split");
    gd_status st = gd_data_splits(s, NULL, NULL, NULL, &err);
    return st == GD_OK ? EXIT_OK : fail_status(CMD, st, err.message);
}

static int new_study(search_args *a, bool trials_given, char *dir, size_t len, study_def *d)
{
    int rc = gd_settings_copy(&d->fixed, &a->train.s) == GD_OK
                 ? EXIT_OK : fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    d->opt = a->opt;
    d->opt.epochs = a->train.s.epochs;
    if (rc == EXIT_OK)
        rc = build_space(d, a);
    if (rc == EXIT_OK && d->opt.strategy == GD_STRATEGY_GRID && !trials_given) {
        uint64_t size = 0;
        gd_error err;
        if (gd_space_grid_size(d->space, d->opt.grid_points, &size, &err) != GD_OK)
            return fail(EXIT_USAGE, CMD, "%s", err.message);
        d->opt.trials = (int64_t)size;
    }
    gd_error err;
    if (rc == EXIT_OK && gd_search_check(d->space, &d->opt, &err) != GD_OK)
        rc = fail(EXIT_USAGE, CMD, "%s", err.message);
    if (rc == EXIT_OK && (rc = train_config_absolute_paths(&a->train)) == EXIT_OK) {
        gd_settings_free(&d->fixed);
        gd_settings_copy(&d->fixed, &a->train.s);
    }
    if (rc == EXIT_OK && d->fixed.threads == 0) { /* the cores shared by the workers */
        long cores = sysconf(_SC_NPROCESSORS_ONLN), sharing = (long)a->workers * gd_dist_local_size();
        d->fixed.threads = cores / sharing > 1 ? (int)(cores / sharing) : 1;
    }
    /* One validation set for every trial, drawn from the study's seed: trials are judged
     * on the same examples, repeats differ by their training alone, and a worker can
     * prepare the data once for all its trials. A --split-seed given stays. */
    if (rc == EXIT_OK && d->fixed.split_seed == 0)
        d->fixed.split_seed = gd_trial_seed(d->opt.seed, UINT64_MAX);
    if (rc == EXIT_OK && (rc = keep_texts(d, a)) == EXIT_OK && (rc = check_data(&d->fixed)) == EXIT_OK &&
        (rc = make_folder(a->out, dir, len)) == EXIT_OK)
        rc = study_def_save(d, dir);
    return rc;
}

static void say_start(const study_def *d, const char *dir, int workers, int per_trial)
{
    char ranks[48] = "";
    if (per_trial > 1)
        snprintf(ranks, sizeof ranks, " of %d ranks", per_trial);
    printf("study folder: %s\n", dir);
    printf("%s search: %lld trials of %lld epochs (%d parameters);\n%d worker%s%s, %d "
           "thread%s each, seed %llu\n", strategy_name(d->opt.strategy),
           (long long)gd_search_total_trials(&d->opt), (long long)d->opt.epochs,
           gd_space_count(d->space), workers, workers == 1 ? "" : "s", ranks, d->fixed.threads,
           d->fixed.threads == 1 ? "" : "s", (unsigned long long)d->opt.seed);
}

/* Under mpirun every rank is a worker of one study: rank 0 makes or loads it (and forks
 * its own worker, showing progress), then tells the others its folder, or the exit code
 * that stopped it; they train trials in-process, claiming them through the journal's
 * locks like any worker; at the end rank 0 prints the table. The study is the same
 * whatever the number of ranks (docs/distributed.md). */
typedef struct shared_start {
    int rc;
    char dir[4096];
} shared_start;

static int rank_worker(const char *dir, gd_comm *slot)
{
    study_def d = {0};
    int rc = study_def_load(&d, dir, CMD);
    if (rc == EXIT_OK)
        rc = work(&d, dir, slot);
    study_def_free(&d);
    return rc;
}

/* --ranks-per-trial M: the job's ranks in slots of M consecutive ranks, each slot one
 * worker whose trials train data-parallel on its ranks. */
static int check_slots(const search_args *a, int ranks)
{
    int m = a->ranks_per_trial;
    if (m > 1 && ranks == 1)
        return fail(EXIT_USAGE, CMD, "--ranks-per-trial %d: start gradus under mpirun -np K*%d "
                    "for K trials at once", m, m);
    if (m > 1 && ranks % m != 0)
        return fail(EXIT_USAGE, CMD, "--ranks-per-trial %d: the job's %d ranks are not a "
                    "multiple of %d; start mpirun -np %d or %d", m, ranks, m, ranks / m * m,
                    (ranks / m + 1) * m);
    return EXIT_OK;
}

static int start_study(search_args *a, bool trials_given, char *dir, size_t len, study_def *d)
{
    if (a->resume) {
        if (a->search_given)
            return fail(EXIT_USAGE, CMD, "--resume %s: the study's settings are in its "
                        "study.json; only --workers and --ranks-per-trial may be given with --resume",
                        a->resume);
        snprintf(dir, len, "%s", a->resume);
        return study_def_load(d, a->resume, CMD);
    }
    return new_study(a, trials_given, dir, len, d);
}

int cmd_search(int argc, char **argv)
{
    gd_error err;
    if (gd_dist_init(&argc, &argv, &err) != GD_OK)
        return fail(EXIT_USAGE, CMD, "%s", err.message);
    const int rank = gd_dist_rank(), ranks = gd_dist_size();
    search_args a = {.workers = 1};
    gd_settings_defaults(&a.train.s);
    gd_search_defaults(&a.opt);
    a.opt.seed = a.train.s.seed;
    bool trials_given = false;
    int rc = parse_args(&a, argc, argv, &trials_given);
    if (rc == EXIT_OK && ranks > 1 && a.workers != 1)
        rc = fail(EXIT_USAGE, CMD, "--workers %d: under mpirun each of the %d ranks is one "
                  "worker; start more ranks instead", a.workers, ranks);
    if (rc == EXIT_OK)
        rc = check_slots(&a, ranks);
    int per_trial = a.ranks_per_trial > 1 ? a.ranks_per_trial : 1;
    study_def d = {0};
    shared_start start = {.rc = rc};
    if (rc == EXIT_OK && a.show) {
        if (rank == 0 && (rc = study_def_load(&d, a.show, CMD)) == EXIT_OK)
            rc = search_show(&d, a.show, a.export_path);
    } else if (rc == EXIT_OK && rank == 0) {
        if ((start.rc = start_study(&a, trials_given, start.dir, sizeof start.dir, &d)) == EXIT_OK)
            say_start(&d, start.dir, ranks > 1 ? ranks / per_trial : a.workers, per_trial);
    }
    if (rc == EXIT_OK && !a.show && ranks > 1)
        gd_dist_bcast(&start, sizeof start, 0, &err);
    if (rc == EXIT_OK && !a.show)
        rc = start.rc;
    gd_comm *slot = NULL;
    if (rc == EXIT_OK && !a.show && per_trial > 1 &&
        gd_comm_split(gd_dist_world(), rank / per_trial, &slot, &err) != GD_OK)
        rc = fail(EXIT_FAILURE_RUN, CMD, "%s", err.message);
    if (rc == EXIT_OK && !a.show && rank > 0)
        rc = rank_worker(start.dir, slot);
    else if (rc == EXIT_OK && !a.show) {
        /* A slot's ranks share MPI, which a forked worker cannot: rank 0 then trains in
         * its own process, without the progress line. */
        rc = slot ? work(&d, start.dir, slot) : run_workers(&d, start.dir, a.workers);
        if (rc == EXIT_OK)
            rc = search_show(&d, start.dir, a.export_path);
    }
    gd_comm_free(slot);
    study_def_free(&d);
    gd_settings_free(&a.train.s);
    gd_dist_barrier(&err); /* rank 0 has printed the table: every rank may leave */
    gd_dist_finalize();
    return rc < 0 ? EXIT_OK : rc;
}
