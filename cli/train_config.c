/* The flags of `gradus train`, made from the library's settings table: each setting's
 * flag, metavar, help line and default come from there, so a new setting needs no edit
 * here. Only the run folder's flags (--out, --resume) and --monitor, which watches a run
 * without changing what it computes (it is not a setting: config.json does not keep it,
 * and a resume takes it again), are the command's own. */
#include "train_config.h"

#include "settings_flags.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

enum { OPT_OUT = 1000, OPT_RESUME, OPT_MONITOR };

static const char *const INTRO =
    "usage: gradus train [FLAGS]\n"
    "\n"
    "Trains a network, prints one line per epoch (a progress bar on a terminal), and\n"
    "writes RUN_DIR/{model.safetensors, checkpoint.safetensors, metrics.jsonl,\n"
    "summary.json, config.json}. With no flags: the default MLP on Fashion-MNIST.\n";

static const char *const RUN_HELP =
    "  --out RUN_DIR        where to write the run (a new or empty folder)\n"
    "                                                                [runs/DATE-TIME]\n"
    "  --resume RUN_DIR     continue a run from its last checkpoint with the settings\n"
    "                       of its config.json: --epochs, --lr, --threads, --patience\n"
    "                       and --clip-norm may take new values (said, and saved),\n"
    "                       any other flag must repeat the saved value; the schedule\n"
    "                       is recomputed for the new --epochs (a cosine or linear\n"
    "                       decay stretches to the new end: the rate rises at the\n"
    "                       resumed epoch); a finished run says what to give\n"
    "  --monitor[=STEPS]    every STEPS steps (100), record each layer's activations\n"
    "                       and each weight's gradient and update/weight ratio in\n"
    "                       RUN_DIR/monitor.jsonl, and warn when they look wrong;\n"
    "                       stops a run whose loss passes 3x its first (give it\n"
    "                       again with --resume)\n"
    "  -h, --help           this text\n";

#define WIDTH 80
#define HELP_COLUMN 23

/* Words of text from column HELP_COLUMN, wrapped before WIDTH; returns the last line's
 * length. */
static int print_help_words(FILE *out, const char *text, int col)
{
    while (*text) {
        size_t word = strcspn(text, " ");
        if (col > HELP_COLUMN && col + 1 + (int)word > WIDTH) {
            fprintf(out, "\n%*s", HELP_COLUMN, "");
            col = HELP_COLUMN;
        } else if (col > HELP_COLUMN) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)word, text);
        col += (int)word;
        text += word;
        text += strspn(text, " ");
    }
    return col;
}

/* "  --flag METAVAR", the help, then the default flush right in brackets. */
static void print_setting(FILE *out, const gd_setting_info *d)
{
    char head[64];
    snprintf(head, sizeof head, "  --%s%s%s", d->flag, d->metavar ? " " : "",
             d->metavar ? d->metavar : "");
    int col = fprintf(out, "%-*s", HELP_COLUMN - 1, head);
    if (col >= HELP_COLUMN) { /* a long flag: its help goes below */
        fprintf(out, "\n%*s", HELP_COLUMN, "");
        col = HELP_COLUMN;
    } else {
        fputc(' ', out);
        col++;
    }
    col = print_help_words(out, d->help, col);
    if (!*d->fallback) { /* no default to show ("": none) */
        fputc('\n', out);
        return;
    }
    int len = (int)strlen(d->fallback) + 2;
    if (col + 1 + len > WIDTH) { /* the default on a line of its own */
        fputc('\n', out);
        col = 0;
    }
    int pad = WIDTH - col - len;
    fprintf(out, "%*s[%s]\n", pad > 1 ? pad : 1, "", d->fallback);
}

void print_settings_help(FILE *out)
{
    const char *group = "";
    for (size_t i = 0; i < gd_setting_count(); i++) {
        const gd_setting_info *d = gd_setting_at(i);
        if (strcmp(d->group, group) != 0)
            fprintf(out, "%s:\n", group = d->group);
        print_setting(out, d);
    }
}

static void print_help(void)
{
    printf("%s\n", INTRO);
    print_settings_help(stdout);
    printf("run folder:\n%s", RUN_HELP);
}

/* getopt_long's table: every setting, then --out, --resume, --monitor and --help
 * (malloc'd). */
static struct option *make_options(void)
{
    static const struct option own[] = {{"out", required_argument, 0, OPT_OUT},
                                        {"resume", required_argument, 0, OPT_RESUME},
                                        {"monitor", optional_argument, 0, OPT_MONITOR},
                                        {"help", no_argument, 0, 'h'}};
    return settings_flags_options(own, sizeof own / sizeof own[0]);
}

static int set_setting(train_config *c, const char *key, const char *value)
{
    gd_error err;
    if (gd_settings_set(&c->s, key, value, &err) != GD_OK)
        return fail(EXIT_USAGE, "train", "%s", err.message);
    return EXIT_OK;
}

static void set_path(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
}

/* --monitor alone takes the library's default interval; --monitor=STEPS a whole number. */
static int set_monitor(train_config *c, const char *value)
{
    if (!value) {
        c->monitor = GD_MONITOR_DEFAULT_INTERVAL;
        return EXIT_OK;
    }
    char *end;
    errno = 0;
    long long steps = strtoll(value, &end, 10);
    if (end == value || *end || errno || steps < 1)
        return fail(EXIT_USAGE, "train", "--monitor=%s: STEPS must be a whole number of at least 1",
                    value);
    c->monitor = steps;
    return EXIT_OK;
}

static int parse_flags(train_config *c, const struct option *options, int argc, char **argv)
{
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            print_help();
            return -1;
        }
        if (opt == '?')
            return fail(EXIT_USAGE, "train", "unknown or incomplete flag '%s' (gradus train --help lists them)",
                        argv[optind - 1]);
        int rc = EXIT_OK;
        if (opt == OPT_OUT)
            set_path(&c->out, optarg);
        else if (opt == OPT_RESUME)
            set_path(&c->resume, optarg);
        else if (opt == OPT_MONITOR)
            rc = set_monitor(c, optarg);
        else if (settings_flags_is_setting(opt)) {
            rc = settings_flags_apply("train", &c->s, opt, optarg);
            c->given[opt - SETTINGS_FLAG] = true;
        }
        if (rc != EXIT_OK)
            return rc;
    }
    if (optind < argc)
        return fail(EXIT_USAGE, "train", "unexpected argument '%s'", argv[optind]);
    return EXIT_OK;
}

int train_config_parse(train_config *c, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    gd_settings_defaults(&c->s);
    if (gd_setting_count() > TRAIN_SETTINGS_MAX) /* a table grown past the room here */
        return fail(EXIT_FAILURE_RUN, "train", "%zu settings, room for %d: raise "
                    "TRAIN_SETTINGS_MAX", gd_setting_count(), TRAIN_SETTINGS_MAX);
    struct option *options = make_options();
    if (!options)
        return fail(EXIT_FAILURE_RUN, "train", "out of memory");
    optind = 1;
    opterr = 0;
    int rc = parse_flags(c, options, argc, argv);
    free(options);
    return rc;
}

/* The settings a resumed run may take new values of: they change how far it goes and
 * how fast, not what its data, model and optimiser state are. */
static bool changes_on_resume(const char *key)
{
    static const char *const keys[] = {"epochs", "lr", "threads", "patience", "clip_norm"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

/* A JSON value as a message shows it: a text without its quotes. */
static void value_text(const cJSON *v, char *buf, size_t len)
{
    if (cJSON_IsString(v)) {
        snprintf(buf, len, "%s", v->valuestring);
        return;
    }
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    snprintf(buf, len, "%s", text ? text : "?");
    free(text);
}

static cJSON *settings_json(const gd_settings *s)
{
    char *text = NULL;
    gd_error err;
    cJSON *j = gd_settings_to_json(s, &text, &err) == GD_OK ? cJSON_Parse(text) : NULL;
    free(text);
    return j;
}

/* One flag given again on --resume: the same value is fine, a new value of a setting a
 * run can change replaces the saved one (said), any other is refused. */
static int reconcile(train_config *c, gd_settings *saved, const cJSON *given_json,
                     const cJSON *saved_json, size_t index)
{
    const gd_setting_info *d = gd_setting_at(index);
    const cJSON *now = cJSON_GetObjectItemCaseSensitive(given_json, d->key);
    const cJSON *was = cJSON_GetObjectItemCaseSensitive(saved_json, d->key);
    if (cJSON_Compare(now, was, true))
        return EXIT_OK;
    char old[160], new[160];
    value_text(was, old, sizeof old);
    value_text(now, new, sizeof new);
    if (!changes_on_resume(d->key))
        return fail(EXIT_USAGE, "train", "--%s cannot change on --resume (the run has %.60s, "
                    "given %.60s): only --epochs, --lr, --threads, --patience and --clip-norm "
                    "can; start a new run for another --%s (--init-from %s/model.safetensors "
                    "starts from this one's weights)", d->flag, old, new, d->flag, c->resume);
    gd_error err;
    if (gd_settings_set(saved, d->key, new, &err) != GD_OK)
        return fail(EXIT_USAGE, "train", "%s", err.message);
    printf("resuming with --%s %s (was %s)\n", d->flag, new, old);
    c->changed++;
    return EXIT_OK;
}

int train_config_load(train_config *c, const char *run_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    if (access(path, F_OK) != 0)
        return fail(EXIT_USAGE, "train", "--resume %s is not a gradus run folder: it has no "
                    "config.json", run_dir);
    int rc;
    char *text = settings_flags_read_text("train", "--resume", path, &rc);
    if (!text)
        return rc;
    gd_settings saved;
    gd_settings_defaults(&saved);
    gd_error err;
    gd_status st = gd_settings_from_json(&saved, text, &err);
    free(text);
    if (st != GD_OK) {
        gd_settings_free(&saved);
        return fail(EXIT_BAD_DATA, "train", "%s: not a valid gradus config: %s", path, err.message);
    }
    cJSON *given_json = settings_json(&c->s), *saved_json = settings_json(&saved);
    rc = given_json && saved_json ? EXIT_OK : fail(EXIT_FAILURE_RUN, "train", "out of memory");
    for (size_t i = 0; rc == EXIT_OK && i < gd_setting_count(); i++)
        if (c->given[i])
            rc = reconcile(c, &saved, given_json, saved_json, i);
    cJSON_Delete(given_json);
    cJSON_Delete(saved_json);
    gd_settings_free(rc == EXIT_OK ? &c->s : &saved);
    if (rc == EXIT_OK)
        c->s = saved;
    return rc;
}

/* path made absolute against the working folder, without resolving links (the folder
 * the user named stays the one config.json names); NULL when out of memory. */
static char *absolute(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        return strdup(path); /* a working folder too deep to name: kept as given */
    size_t len = strlen(cwd) + strlen(path) + 2;
    char *out = malloc(len);
    if (out)
        snprintf(out, len, "%s/%s", cwd, path);
    return out;
}

static int set_absolute(train_config *c, const char *key, const char *prefix, const char *a,
                        const char *b)
{
    char *pa = absolute(a), *pb = b ? absolute(b) : NULL;
    size_t len = strlen(prefix) + (pa ? strlen(pa) : 0) + (pb ? strlen(pb) : 0) + 2;
    char *text = pa && (pb || !b) ? malloc(len) : NULL;
    int rc = text ? EXIT_OK : fail(EXIT_FAILURE_RUN, "train", "out of memory");
    if (text) {
        snprintf(text, len, "%s%s%s%s", prefix, pa, pb ? "," : "", pb ? pb : "");
        rc = set_setting(c, key, text);
    }
    free(pa);
    free(pb);
    free(text);
    return rc;
}

int train_config_absolute_paths(train_config *c)
{
    gd_settings *s = &c->s;
    int rc = EXIT_OK;
    if (strncmp(s->data, "csv:", 4) == 0) {
        char *paths = strdup(s->data + 4);
        if (!paths)
            return fail(EXIT_FAILURE_RUN, "train", "out of memory");
        char *comma = strchr(paths, ',');
        if (comma)
            *comma = '\0';
        rc = set_absolute(c, "data", "csv:", paths, comma ? comma + 1 : NULL);
        free(paths);
    } else if (strncmp(s->data, "cifar10:", 8) == 0) {
        rc = set_absolute(c, "data", "cifar10:", s->data + 8, NULL);
    } else if (strcmp(s->data, "fashion-mnist") != 0) {
        rc = set_absolute(c, "data", "", s->data, NULL);
    }
    if (rc == EXIT_OK && s->init_from[0])
        rc = set_absolute(c, "init_from", "", s->init_from, NULL);
    return rc;
}

void train_config_free(train_config *c)
{
    gd_settings_free(&c->s);
    free(c->out);
    free(c->resume);
}
