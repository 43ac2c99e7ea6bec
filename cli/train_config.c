/* The flags of `gradus train`, made from the library's settings table: each setting's
 * flag, metavar, help line and default come from there, so a new setting needs no edit
 * here. Only the run folder's flags (--out, --resume) and --monitor, which watches a run
 * without changing what it computes (it is not a setting: config.json does not keep it,
 * and a resume takes it again), are the command's own. */
#include "train_config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_OUT = 1000, OPT_RESUME, OPT_MONITOR, OPT_SETTING = 2000 /* + the setting's index */ };

static const char *const INTRO =
    "usage: gradus train [FLAGS]\n"
    "\n"
    "Trains a network, prints one line per epoch (a progress bar on a terminal), and\n"
    "writes RUN_DIR/{model.safetensors, checkpoint.safetensors, metrics.jsonl,\n"
    "summary.json, config.json}. With no flags: the default MLP on Fashion-MNIST.\n";

static const char *const RUN_HELP =
    "  --out RUN_DIR        where to write the run (a new or empty folder)\n"
    "                                                                [runs/DATE-TIME]\n"
    "  --resume RUN_DIR     continue a run from its last checkpoint, with its\n"
    "                       settings (--epochs and --threads may be given again)\n"
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
static int print_wrapped(FILE *out, const char *text, int col)
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
    col = print_wrapped(out, d->help, col);
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
    size_t n = gd_setting_count();
    struct option *o = calloc(n + 5, sizeof *o);
    for (size_t i = 0; o && i < n; i++) {
        const gd_setting_info *d = gd_setting_at(i);
        o[i] = (struct option){d->flag, d->metavar ? required_argument : no_argument, 0,
                               OPT_SETTING + (int)i};
    }
    if (o) {
        o[n] = (struct option){"out", required_argument, 0, OPT_OUT};
        o[n + 1] = (struct option){"resume", required_argument, 0, OPT_RESUME};
        o[n + 2] = (struct option){"monitor", optional_argument, 0, OPT_MONITOR};
        o[n + 3] = (struct option){"help", no_argument, 0, 'h'};
    }
    return o;
}

#define TEXT_MAX (1 << 20)

/* A small text file (a spec, config.json) whole, or NULL with a message naming it. */
static char *read_text(const char *path, const char *what)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(EXIT_USAGE, "train", "%s: cannot open %s", what, path);
        return NULL;
    }
    char *text = calloc(1, TEXT_MAX + 1);
    size_t len = text ? fread(text, 1, TEXT_MAX + 1, f) : 0;
    fclose(f);
    if (!text || len > TEXT_MAX) {
        fail(EXIT_USAGE, "train", "%s: %s is larger than %d bytes", what, path, TEXT_MAX);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

static int set_setting(train_config *c, const char *key, const char *value)
{
    gd_error err;
    if (gd_settings_set(&c->s, key, value, &err) != GD_OK)
        return fail(EXIT_USAGE, "train", "%s", err.message);
    return EXIT_OK;
}

/* A setting's flag: a switch turns on; --model @FILE reads the spec from FILE. */
static int apply_setting(train_config *c, const gd_setting_info *d, const char *v)
{
    if (!d->metavar)
        return set_setting(c, d->key, "true");
    c->threads_given |= strcmp(d->key, "threads") == 0;
    c->epochs_given |= strcmp(d->key, "epochs") == 0;
    c->lr_given |= strcmp(d->key, "lr") == 0;
    if (strcmp(d->key, "model") != 0 || v[0] != '@')
        return set_setting(c, d->key, v);
    char *text = read_text(v + 1, "--model");
    int rc = text ? set_setting(c, d->key, text) : EXIT_USAGE;
    free(text);
    return rc;
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
        else
            rc = apply_setting(c, gd_setting_at((size_t)(opt - OPT_SETTING)), optarg);
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
    struct option *options = make_options();
    if (!options)
        return fail(EXIT_FAILURE_RUN, "train", "out of memory");
    optind = 1;
    opterr = 0;
    int rc = parse_flags(c, options, argc, argv);
    free(options);
    return rc;
}

int train_config_load(train_config *c, const char *run_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    char *text = read_text(path, "--resume (is it a gradus run folder?)");
    if (!text)
        return EXIT_USAGE;
    int64_t epochs = c->s.epochs;
    int threads = c->s.threads;
    double lr = c->s.lr;
    gd_error err;
    gd_status st = gd_settings_from_json(&c->s, text, &err);
    free(text);
    if (st != GD_OK)
        return fail(EXIT_BAD_DATA, "train", "%s: not a valid gradus config: %s", path, err.message);
    c->s.epochs = c->epochs_given ? epochs : c->s.epochs;
    c->s.threads = c->threads_given ? threads : c->s.threads;
    c->saved_lr = c->s.lr;
    c->s.lr = c->lr_given ? lr : c->s.lr;
    return EXIT_OK;
}

void train_config_free(train_config *c)
{
    gd_settings_free(&c->s);
    free(c->out);
    free(c->resume);
}
