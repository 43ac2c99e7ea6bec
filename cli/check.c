/* gradus check: the library's setup checks (gd_check_*) on the model and data that
 * train's flags describe, each printed with its verdict, its figures and, for WARN and
 * FAIL, its advice; --json for the same as JSON, saved as RUN_DIR/check.json with --out.
 * The list has a slot for every check's number; a slot without a call yet says SKIP. */
#include "run_dir.h"
#include "settings_flags.h"
#include "train_config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WIDTH 80
#define INDENT 3

static const char *const INTRO =
    "usage: gradus check [FLAGS]\n"
    "\n"
    "Runs sanity checks on a model and its data before a long training and prints\n"
    "PASS, WARN or FAIL for each, with its numbers and, when something is wrong, what\n"
    "to do:\n"
    "  1 the loss at initialisation is chance's, and L2 regularisation raises it\n"
    "  2 backpropagation agrees with numeric gradients (the gradient check)\n"
    "  3 the model can overfit 20 examples\n"
    "  4 it learns more from the real inputs than from all-zero ones\n"
    "  5 no sample's output depends on another sample of the batch\n"
    "  6 a learning-rate range test suggests a rate (the curve: --out)\n"
    "  7 two runs with the same seed give the same bits\n"
    "  8 the first batch as the model sees it (the picture: --out)\n"
    "It takes train's flags (augmentation, schedule and epochs are not used; the\n"
    "training examples are all those --limit keeps, with no validation split).\n"
    "Exit code 5 when a check failed.\n";

static const char *const OWN_HELP =
    "check:\n"
    "  --json               print the result as JSON instead of text\n"
    "  --out RUN_DIR        also write RUN_DIR/check.json, lr_range.svg and\n"
    "                       first_batch.png (the folder is made if needed)\n"
    "  -h, --help           this text\n";

enum { OPT_JSON = 1000, OPT_OUT };

typedef struct checker {
    gd_settings s;
    bool json;
    const char *out;
    gd_run *run;
    gd_check_setup setup;
} checker;

/* ------------------------------------------------------------ the list */

/* One numbered slot: a library check, or NULL while gradus check does not run it yet. */
typedef gd_status (*slot_fn)(checker *c, gd_check_result *out, gd_error *err);

#define LIBRARY_CHECK(fn)                                                    \
    static gd_status run_##fn(checker *c, gd_check_result *out, gd_error *err) \
    {                                                                        \
        return gd_check_##fn(&c->setup, out, err);                           \
    }
LIBRARY_CHECK(initial_loss)
LIBRARY_CHECK(gradients)
LIBRARY_CHECK(overfit)
LIBRARY_CHECK(baseline)
LIBRARY_CHECK(batch_independence)
LIBRARY_CHECK(determinism)

static void add_figure(gd_check_result *r, const char *name, double value)
{
    if (r->nfigures < GD_CHECK_MAX_FIGURES) {
        gd_check_figure *f = &r->figures[r->nfigures++];
        snprintf(f->name, sizeof f->name, "%s", name);
        f->value = value;
    }
}

static gd_check_result slot_result(int number, const char *name, const char *title)
{
    return (gd_check_result){.number = number, .name = name, .title = title,
                             .verdict = GD_CHECK_PASS};
}

/* 6. The range test on the run (which it leaves as it found it): PASS when its rules
 * agree, WARN when they disagree by more than 10x or the loss never fell, or when --lr is
 * more than 10x from the suggestion. With --out the curve goes to RUN_DIR/lr_range.svg. */
static gd_status run_lr_range(checker *c, gd_check_result *out, gd_error *err)
{
    gd_lr_range_options opt = gd_lr_range_defaults();
    gd_lr_range_result r;
    *out = slot_result(6, "lr_range", "learning-rate range test");
    gd_status st = gd_lr_range_test(c->run, &opt, &r, err);
    if (st != GD_OK)
        return st;
    char path[4096] = "";
    if (c->out && (st = gd_lr_range_write_svg(&r, run_path(path, sizeof path, c->out, "lr_range.svg"),
                                              err)) != GD_OK) {
        gd_lr_range_result_free(&r);
        return st;
    }
    /* The run's rate: --lr, or the optimiser's default it resolved (c->s holds NaN then). */
    double lr = gd_run_settings(c->run)->lr, best = r.suggestion.lr, ratio = lr > best ? lr / best : best / lr;
    snprintf(out->summary, sizeof out->summary,
             "suggested lr %.2g (%s rule); steepest %.2g, valley %.2g, minimum/10 %.2g; %lld "
             "points, stopped: %s%s%.200s", best, gd_lr_rule_name(r.chosen),
             r.rules[GD_LR_RULE_STEEPEST].lr, r.rules[GD_LR_RULE_VALLEY].lr,
             r.rules[GD_LR_RULE_MINIMUM].lr, (long long)r.points, gd_lr_range_stop_name(r.stop),
             path[0] ? "; curve in " : "", path);
    size_t at = 0;
    if (ratio > 10 && lr > 0)
        at += (size_t)snprintf(out->advice, sizeof out->advice,
                               "--lr %g is more than 10x from the suggested %.2g: try --lr %.2g; ",
                               lr, best, best);
    if (r.low_confidence)
        snprintf(out->advice + at, sizeof out->advice - at,
                 "low confidence: %s; look at the curve (--out) before trusting a rate",
                 r.loss_fell ? "the rules disagree by more than 10x" : "the loss never fell");
    else if (at)
        out->advice[at - 2] = '\0'; /* no "; " after the last part */
    out->verdict = out->advice[0] ? GD_CHECK_WARN : GD_CHECK_PASS;
    add_figure(out, "suggested_lr", best);
    add_figure(out, "steepest", r.rules[GD_LR_RULE_STEEPEST].lr);
    add_figure(out, "valley", r.rules[GD_LR_RULE_VALLEY].lr);
    add_figure(out, "minimum_over_10", r.rules[GD_LR_RULE_MINIMUM].lr);
    add_figure(out, "spread", r.spread);
    gd_lr_range_result_free(&r);
    return GD_OK;
}

/* The first batch's figures without a file: the picture is made in memory and dropped. */
static gd_status batch_statistics(gd_run *run, gd_batch_picture_info *info, gd_error *err)
{
    gd_loader *loader;
    gd_status st = gd_run_training_loader(run, &loader, err);
    if (st != GD_OK)
        return st;
    gd_tensor x;
    const int32_t *labels;
    unsigned char *png = NULL;
    size_t len = 0;
    if (gd_loader_next(loader, &x, &labels))
        st = gd_batch_picture_png(&x, labels, NULL, &png, &len, info, err);
    free(png);
    gd_loader_free(loader);
    return st;
}

/* 8. What the network sees: the first training batch as it enters the model, with its
 * statistics; a picture in RUN_DIR/first_batch.png with --out. WARN when the batch is
 * far from zero-centred or unit-scaled (preprocessing missing) or holds non-finite
 * values. */
static gd_status run_batch_picture(checker *c, gd_check_result *out, gd_error *err)
{
    gd_batch_picture_info info;
    char path[4096] = "";
    *out = slot_result(8, "batch_picture", "picture of the first batch");
    gd_status st = c->out ? gd_run_batch_picture(c->run, run_path(path, sizeof path, c->out, "first_batch.png"),
                                                 NULL, &info, err)
                          : batch_statistics(c->run, &info, err);
    if (st != GD_OK)
        return st;
    snprintf(out->summary, sizeof out->summary,
             "%lld samples as the model gets them: mean %.3g, std %.3g, range [%.3g, %.3g]%s%.200s",
             (long long)info.samples, info.mean, info.std, info.min, info.max,
             path[0] ? "; picture in " : " (give --out RUN_DIR for the picture)", path);
    if (info.nonfinite) {
        out->verdict = GD_CHECK_FAIL;
        snprintf(out->advice, sizeof out->advice, "%lld values are NaN or infinite: check the data",
                 (long long)info.nonfinite);
    } else if (fabs(info.mean) > 1 || info.std > 10 || info.std < 0.1) {
        out->verdict = GD_CHECK_WARN;
        snprintf(out->advice, sizeof out->advice,
                 "inputs are far from zero mean and unit scale: try --preprocess standardize");
    }
    add_figure(out, "mean", info.mean);
    add_figure(out, "std", info.std);
    add_figure(out, "min", info.min);
    add_figure(out, "max", info.max);
    return GD_OK;
}

static const struct slot {
    int number;
    const char *name, *title;
    slot_fn run;
} slots[] = {
    {1, "initial_loss", "loss at initialisation", run_initial_loss},
    {2, "gradients", "gradient check", run_gradients},
    {3, "overfit", "overfit 20 examples", run_overfit},
    {4, "baseline", "input-independent baseline", run_baseline},
    {5, "batch_independence", "batch independence", run_batch_independence},
    {6, "lr_range", "learning-rate range test", run_lr_range},
    {7, "determinism", "determinism", run_determinism},
    {8, "batch_picture", "picture of the first batch", run_batch_picture},
};
#define NSLOTS (sizeof slots / sizeof slots[0])

/* ------------------------------------------------------------ the text */

static void print_result(const gd_check_result *r)
{
    const char *verdict = gd_check_verdict_name(r->verdict);
    int col = printf("%2d %s ", r->number, r->title);
    int dots = WIDTH - col - (int)strlen(verdict) - 1;
    printf("%.*s %s\n", dots > 0 ? dots : 0,
           "................................................................................",
           verdict);
    if (r->summary[0])
        print_wrapped(stdout, INDENT, "", r->summary, WIDTH);
    if (r->advice[0])
        print_wrapped(stdout, INDENT, r->verdict == GD_CHECK_SKIP ? "" : "advice: ", r->advice,
                      WIDTH);
    fflush(stdout);
}

static void print_header(const checker *c)
{
    printf("gradus check: %s, %lld training examples, seed %llu\n", c->s.data,
           (long long)gd_dataset_size(c->setup.data), (unsigned long long)c->s.seed);
    print_wrapped(stdout, INDENT, "model: ", c->s.model, WIDTH);
    putchar('\n');
}

/* ------------------------------------------------------------ the JSON */

static cJSON *result_json(const gd_check_result *r)
{
    cJSON *j = cJSON_CreateObject(), *figures = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "number", r->number);
    cJSON_AddStringToObject(j, "name", r->name);
    cJSON_AddStringToObject(j, "title", r->title);
    cJSON_AddStringToObject(j, "verdict", gd_check_verdict_name(r->verdict));
    cJSON_AddStringToObject(j, "summary", r->summary);
    if (r->advice[0])
        cJSON_AddStringToObject(j, "advice", r->advice);
    else
        cJSON_AddNullToObject(j, "advice");
    for (size_t i = 0; i < r->nfigures; i++)
        cJSON_AddNumberToObject(figures, r->figures[i].name, r->figures[i].value);
    cJSON_AddItemToObject(j, "figures", figures);
    return j;
}

static cJSON *report_json(const checker *c, const gd_check_result *results, const int *counts)
{
    cJSON *j = cJSON_CreateObject(), *list = cJSON_CreateArray();
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->s.seed);
    cJSON_AddNumberToObject(j, "schema", 1);
    cJSON_AddStringToObject(j, "gradus_version", gd_version());
    cJSON_AddStringToObject(j, "data", c->s.data);
    cJSON_AddNumberToObject(j, "examples", (double)gd_dataset_size(c->setup.data));
    cJSON_AddStringToObject(j, "model", c->s.model);
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddBoolToObject(j, "passed", counts[GD_CHECK_FAIL] == 0);
    cJSON *n = cJSON_AddObjectToObject(j, "counts");
    for (int v = GD_CHECK_PASS; v <= GD_CHECK_SKIP; v++)
        cJSON_AddNumberToObject(n, gd_check_verdict_name((gd_check_verdict)v), counts[v]);
    for (size_t i = 0; i < NSLOTS; i++)
        cJSON_AddItemToArray(list, result_json(&results[i]));
    cJSON_AddItemToObject(j, "checks", list);
    return j;
}

/* Makes dir and its parents (an existing folder is fine). */
static int make_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0777);
            *p = '/';
        }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return fail(EXIT_FAILURE_RUN, "check", "--out %s: cannot make the folder: %s", dir,
                    strerror(errno));
    return EXIT_OK;
}

static int write_report(const checker *c, const gd_check_result *results, const int *counts)
{
    if (c->json) {
        cJSON *j = report_json(c, results, counts);
        char *text = cJSON_Print(j);
        if (text)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(j);
    }
    if (!c->out)
        return EXIT_OK;
    int rc = EXIT_OK; /* the folder was made at the start: checks write their figures there */
    char path[4096];
    if (rc == EXIT_OK)
        rc = write_json(run_path(path, sizeof path, c->out, "check.json"),
                        report_json(c, results, counts));
    return rc;
}

/* --------------------------------------------------------------- running */

static int run_checks(checker *c)
{
    gd_check_result results[NSLOTS];
    int counts[GD_CHECK_SKIP + 1] = {0};
    if (!c->json)
        print_header(c);
    for (size_t i = 0; i < NSLOTS; i++) {
        gd_check_result *r = &results[i];
        gd_error err;
        if (slots[i].run) {
            gd_status st = slots[i].run(c, r, &err);
            if (st != GD_OK)
                return fail_status("check", st, err.message);
        } else {
            *r = (gd_check_result){.number = slots[i].number, .name = slots[i].name,
                                   .title = slots[i].title, .verdict = GD_CHECK_SKIP};
            snprintf(r->summary, sizeof r->summary, "not yet run by gradus check");
        }
        counts[r->verdict]++;
        if (!c->json)
            print_result(r);
    }
    if (!c->json)
        printf("\n%d passed, %d warned, %d failed, %d skipped\n", counts[GD_CHECK_PASS],
               counts[GD_CHECK_WARN], counts[GD_CHECK_FAIL], counts[GD_CHECK_SKIP]);
    int rc = write_report(c, results, counts);
    if (rc != EXIT_OK)
        return rc;
    return counts[GD_CHECK_FAIL] ? EXIT_CHECK_FAILED : EXIT_OK;
}

/* The run gives the training examples as train would have them: --limit applied,
 * preprocessing fitted on them. No validation split: the checks use few examples, and a
 * --limit below the default --val-size would leave none. */
static int start(checker *c)
{
    gd_error err;
    if (c->out && make_dir(c->out) != EXIT_OK)
        return EXIT_FAILURE_RUN;
    gd_settings_set(&c->s, "val_size", "0", NULL);
    gd_status st = gd_run_create(&c->run, &c->s, NULL, &err);
    if (st != GD_OK)
        return fail_status("check", st, err.message);
    c->setup = (gd_check_setup){.settings = gd_run_settings(c->run),
                                .data = gd_run_dataset(c->run, "train"),
                                .loss = {.kind = GD_LOSS_CROSS_ENTROPY}};
    return EXIT_OK;
}

static int parse(checker *c, int argc, char **argv)
{
    static const struct option own[] = {{"json", no_argument, 0, OPT_JSON},
                                        {"out", required_argument, 0, OPT_OUT},
                                        {"help", no_argument, 0, 'h'}};
    struct option *options = settings_flags_options(own, sizeof own / sizeof own[0]);
    if (!options)
        return fail(EXIT_FAILURE_RUN, "check", "out of memory");
    optind = 1;
    opterr = 0;
    int opt, rc = EXIT_OK;
    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            printf("%s\n", INTRO);
            print_settings_help(stdout);
            printf("%s", OWN_HELP);
            print_common_help(stdout);
            rc = -1;
        } else if (opt == OPT_JSON)
            c->json = true;
        else if (opt == OPT_OUT)
            c->out = optarg;
        else if (settings_flags_is_setting(opt))
            rc = settings_flags_apply("check", &c->s, opt, optarg);
        else
            rc = fail(EXIT_USAGE, "check", "unknown or incomplete flag '%s' (gradus check --help lists them)",
                      argv[optind - 1]);
    }
    free(options);
    if (rc == EXIT_OK && optind < argc)
        rc = fail(EXIT_USAGE, "check", "unexpected argument '%s'", argv[optind]);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    checker c = {0};
    gd_settings_defaults(&c.s);
    int rc = parse(&c, argc, argv);
    if (rc == EXIT_OK)
        rc = start(&c);
    if (rc == EXIT_OK)
        rc = run_checks(&c);
    gd_run_free(c.run);
    gd_settings_free(&c.s);
    return rc < 0 ? EXIT_OK : rc;
}
