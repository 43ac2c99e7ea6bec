/* gradus eval: loss, accuracy, per-class accuracy and confusion matrix of a saved model,
 * as text or as one JSON object. */
#include "cli.h"
#include "load_model.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *const HELP =
    "usage: gradus eval --model FILE|RUN_DIR [--data SOURCE] [--split test|train|val]\n"
    "                   [--json]\n"
    "\n"
    "Evaluates a model on a data set, applying the preprocessing stored with it, and\n"
    "prints the loss (mean cross-entropy) and accuracy, the accuracy of each class\n"
    "(by name for Fashion-MNIST and CIFAR-10) and the confusion matrix (rows: true\n"
    "class, columns: predicted). IDX and CIFAR pixels are divided by 255; CSV values\n"
    "are used as they are (a warning says when they look like raw 0-255 pixels).\n"
    "\n"
    "  --model FILE|RUN_DIR a model file, or a run folder: its model.safetensors,\n"
    "                       and its config.json's --data, CSV flags, --limit,\n"
    "                       --val-size and --seed as the defaults here (required)\n"
    "  --data SOURCE        fashion-mnist, a folder of IDX files, csv:TRAIN,TEST or\n"
    "                       cifar10:DIR               [the run's, else fashion-mnist]\n"
    "  --split NAME         test: the test set; train: the training set (a run's: its\n"
    "                       first --limit examples less validation); val: the run's\n"
    "                       validation examples (needs a run folder)           [test]\n"
    "  --label-column N     CSV: 0-based column of the label                      [0]\n"
    "  --csv-header         CSV: the first row is a header\n"
    "  --csv-shape SHAPE    CSV: the samples' shape, e.g. 1x28x28              [flat]\n"
    "  --json               one JSON object on standard output instead of the text:\n"
    "                       loss, accuracy, samples, per_class, confusion\n"
    "  -h, --help           this text\n"
    "\n"
    "exit status: 0 done; 1 a file that cannot be read (the model, data, a run's\n"
    "files) or written; 2 a bad flag or value, or data that does not fit the model\n"
    "(sizes); 3 a malformed file (truncated, wrong magic, bad CSV or config.json) or\n"
    "one beyond the memory limit\n";

enum { OPT_MODEL = 256, OPT_DATA, OPT_SPLIT, OPT_LABEL_COLUMN, OPT_CSV_HEADER, OPT_CSV_SHAPE,
       OPT_JSON };

static const struct option options[] = {
    {"model", required_argument, 0, OPT_MODEL},
    {"data", required_argument, 0, OPT_DATA},
    {"split", required_argument, 0, OPT_SPLIT},
    {"label-column", required_argument, 0, OPT_LABEL_COLUMN},
    {"csv-header", no_argument, 0, OPT_CSV_HEADER},
    {"csv-shape", required_argument, 0, OPT_CSV_SHAPE},
    {"json", no_argument, 0, OPT_JSON},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef enum { SPLIT_TEST, SPLIT_TRAIN, SPLIT_VAL } split_kind;
static const char *const SPLIT_NAMES[] = {"test", "train", "val"};

/* The flags as given; NULL where not given (the run's or the default then applies). */
typedef struct eval_opts {
    const char *model, *data, *label_column, *csv_shape;
    bool csv_header, json;
    split_kind split;
} eval_opts;

static int parse_split(const char *text, split_kind *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(text, SPLIT_NAMES[i]) == 0) {
            *out = (split_kind)i;
            return EXIT_OK;
        }
    return fail(EXIT_USAGE, "eval", "--split %s: expected test, train or val", text);
}

/* EXIT_OK, -1 after --help, or the exit code after a message. */
static int parse(eval_opts *o, int argc, char **argv)
{
    int opt, rc = EXIT_OK;
    optind = 1;
    opterr = 0;
    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(HELP, stdout);
            print_common_help(stdout);
            return -1;
        case OPT_MODEL: o->model = optarg; break;
        case OPT_DATA: o->data = optarg; break;
        case OPT_SPLIT: rc = parse_split(optarg, &o->split); break;
        case OPT_LABEL_COLUMN: o->label_column = optarg; break;
        case OPT_CSV_HEADER: o->csv_header = true; break;
        case OPT_CSV_SHAPE: o->csv_shape = optarg; break;
        case OPT_JSON: o->json = true; break;
        default:
            return fail(EXIT_USAGE, "eval", "unknown or incomplete flag '%s' (gradus eval --help "
                                            "lists them)", argv[optind - 1]);
        }
    }
    if (rc != EXIT_OK)
        return rc;
    if (optind < argc)
        return fail(EXIT_USAGE, "eval", "unexpected argument '%s'", argv[optind]);
    if (!o->model)
        return fail(EXIT_USAGE, "eval", "--model FILE or RUN_DIR is required");
    return EXIT_OK;
}

static int set(gd_settings *s, const char *key, const char *text)
{
    gd_error err;
    if (gd_settings_set(s, key, text, &err) != GD_OK)
        return fail(EXIT_USAGE, "eval", "%s", err.message);
    return EXIT_OK;
}

/* The data settings: a run's config.json unless --data names other data, then the flags
 * given over them. */
static int data_settings(const eval_opts *o, model_source *src)
{
    gd_settings *s = &src->settings;
    int rc = EXIT_OK;
    if (o->data && src->run) { /* other data: the run's CSV layout is not its layout */
        rc = set(s, "label_column", "0");
        if (rc == EXIT_OK)
            rc = set(s, "csv_header", "false");
        if (rc == EXIT_OK)
            rc = set(s, "csv_shape", "");
    }
    if (rc == EXIT_OK && o->data)
        rc = set(s, "data", o->data);
    if (rc == EXIT_OK && o->label_column)
        rc = set(s, "label_column", o->label_column);
    if (rc == EXIT_OK && o->csv_header)
        rc = set(s, "csv_header", "true");
    if (rc == EXIT_OK && o->csv_shape)
        rc = set(s, "csv_shape", o->csv_shape);
    if (rc == EXIT_OK && !src->run) { /* a file's train split is the whole training set */
        rc = set(s, "limit", "0");
        if (rc == EXIT_OK)
            rc = set(s, "val_size", "0");
    }
    return rc;
}

static int load_split(const eval_opts *o, const model_source *src, gd_dataset **ds)
{
    const gd_settings *s = &src->settings;
    if (o->split == SPLIT_VAL && !src->run)
        return fail(EXIT_USAGE, "eval", "--split val needs a run folder as --model (the "
                                        "validation examples are the run's --limit, "
                                        "--val-size and --seed); %s is a file", o->model);
    if (o->split == SPLIT_VAL && s->val_size == 0)
        return fail(EXIT_USAGE, "eval", "--split val: the run %s has no validation split "
                                        "(it trained with --val-size 0)", o->model);
    gd_error err;
    gd_status st = gd_data_splits(s, o->split == SPLIT_TRAIN ? ds : NULL,
                                  o->split == SPLIT_VAL ? ds : NULL,
                                  o->split == SPLIT_TEST ? ds : NULL, &err);
    return st == GD_OK ? EXIT_OK : fail_status("eval", st, err.message);
}

/* ------------------------------------------------------------------ report */

typedef struct report {
    const eval_opts *o;
    const gd_settings *s;
    const int64_t *confusion;
    int classes;
    const char *const *names;
    gd_evaluation ev;
} report;

static int64_t class_total(const report *r, int c)
{
    int64_t total = 0;
    for (int g = 0; g < r->classes; g++)
        total += r->confusion[c * r->classes + g];
    return total;
}

/* Column widths of the confusion matrix: room for its largest count and label. */
static int count_width(const report *r)
{
    int64_t max = r->classes - 1;
    for (int i = 0; i < r->classes * r->classes; i++)
        max = r->confusion[i] > max ? r->confusion[i] : max;
    int digits = 1;
    for (; max >= 10; max /= 10)
        digits++;
    return digits + 1;
}

#define WIDTH 80

/* The matrix in blocks of as many columns as fit 80 columns (all of them for up to a
 * dozen classes of 10000 samples). */
static void print_confusion(const report *r)
{
    int width = count_width(r), label = 2 + width;
    int per_block = (WIDTH - label) / width;
    per_block = per_block < 1 ? 1 : per_block;
    printf("\nconfusion matrix (row: true class, column: predicted):\n");
    for (int first = 0; first < r->classes; first += per_block) {
        int last = first + per_block < r->classes ? first + per_block : r->classes;
        if (first > 0)
            printf("\n");
        printf("%*s", label, "");
        for (int g = first; g < last; g++)
            printf("%*d", width, g);
        printf("\n");
        for (int c = 0; c < r->classes; c++) {
            printf("  %*d", width, c);
            for (int g = first; g < last; g++)
                printf("%*lld", width, (long long)r->confusion[c * r->classes + g]);
            printf("\n");
        }
    }
}

static void print_text(const report *r)
{
    printf("accuracy %.4f on %lld samples (%s split)\n", r->ev.accuracy,
           (long long)r->ev.samples, SPLIT_NAMES[r->o->split]);
    printf("loss     %.4f (mean cross-entropy)\n", r->ev.loss);
    printf("data     %s\n", r->s->data); /* a path can be long: a line of its own */
    printf("\nper class:           accuracy  samples\n");
    for (int c = 0; c < r->classes; c++) {
        int64_t total = class_total(r, c);
        printf("  %2d %-14.14s", c, r->names ? r->names[c] : "");
        if (total)
            printf("  %8.4f", (double)r->confusion[c * r->classes + c] / (double)total);
        else
            printf("  %8s", "-");
        printf("  %7lld\n", (long long)total);
    }
    print_confusion(r);
}

static cJSON *per_class_json(const report *r)
{
    cJSON *list = cJSON_CreateArray();
    for (int c = 0; list && c < r->classes; c++) {
        int64_t total = class_total(r, c), right = r->confusion[c * r->classes + c];
        cJSON *one = cJSON_CreateObject();
        cJSON_AddItemToArray(list, one);
        cJSON_AddNumberToObject(one, "class", c);
        if (r->names)
            cJSON_AddStringToObject(one, "name", r->names[c]);
        cJSON_AddNumberToObject(one, "samples", (double)total);
        cJSON_AddNumberToObject(one, "correct", (double)right);
        if (total)
            cJSON_AddNumberToObject(one, "accuracy", (double)right / (double)total);
        else
            cJSON_AddNullToObject(one, "accuracy");
    }
    return list;
}

static cJSON *confusion_json(const report *r)
{
    cJSON *rows = cJSON_CreateArray();
    for (int c = 0; rows && c < r->classes; c++) {
        cJSON *row = cJSON_CreateArray();
        cJSON_AddItemToArray(rows, row);
        for (int g = 0; g < r->classes; g++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)r->confusion[c * r->classes + g]));
    }
    return rows;
}

static int print_json(const report *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", r->o->model);
    cJSON_AddStringToObject(j, "data", r->s->data);
    cJSON_AddStringToObject(j, "split", SPLIT_NAMES[r->o->split]);
    cJSON_AddNumberToObject(j, "samples", (double)r->ev.samples);
    cJSON_AddNumberToObject(j, "loss", r->ev.loss);
    cJSON_AddNumberToObject(j, "accuracy", r->ev.accuracy);
    cJSON_AddNumberToObject(j, "classes", r->classes);
    cJSON_AddItemToObject(j, "per_class", per_class_json(r));
    cJSON_AddItemToObject(j, "confusion", confusion_json(r));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return fail(EXIT_FAILURE_RUN, "eval", "out of memory");
    puts(text);
    free(text);
    return EXIT_OK;
}

/* --------------------------------------------------------------- the command */

/* Data, then model (a model file PyTorch wrote may record no input shape, and then the
 * samples' shape is the model's: gd_model_load_as), preprocessing, evaluation. */
static int evaluate(const eval_opts *o, const model_source *src, gd_model **m,
                    gd_preprocess **pre, gd_dataset **ds, report *r)
{
    gd_error err;
    gd_status st;
    int rc = load_split(o, src, ds);
    if (rc == EXIT_OK)
        rc = load_model_for("eval", src->path, *ds, m, pre);
    if (rc != EXIT_OK)
        return rc;
    if (strncmp(src->settings.data, "csv:", 4) == 0)
        warn_if_unscaled("eval", "the CSV data", *pre, *ds);
    if (*pre && (st = gd_preprocess_apply_dataset(*pre, *ds, &err)) != GD_OK)
        return fail_status("eval", st, err.message);
    /* The model's outputs are the classes (the data may not use every one of them). */
    int64_t out[GD_MAX_DIMS] = {0};
    gd_model_output_shape(*m, out);
    r->classes = (int)out[0];
    int64_t *confusion = calloc((size_t)r->classes * (size_t)r->classes, sizeof *confusion);
    if (!confusion)
        return fail(EXIT_FAILURE_RUN, "eval", "out of memory");
    r->confusion = confusion;
    if ((st = gd_evaluate(*m, *ds, confusion, &r->ev, &err)) != GD_OK)
        return fail_status("eval", st, err.message);
    r->names = class_names(src->settings.data, r->classes);
    return EXIT_OK;
}

int cmd_eval(int argc, char **argv)
{
    eval_opts o = {0};
    int rc = parse(&o, argc, argv);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    model_source src;
    gd_model *m = NULL;
    gd_preprocess *pre = NULL;
    gd_dataset *ds = NULL;
    report r = {.o = &o, .s = &src.settings};
    rc = model_source_open("eval", o.model, &src);
    if (rc == EXIT_OK)
        rc = data_settings(&o, &src);
    if (rc == EXIT_OK)
        rc = evaluate(&o, &src, &m, &pre, &ds, &r);
    if (rc == EXIT_OK && o.json)
        rc = print_json(&r);
    else if (rc == EXIT_OK)
        print_text(&r);
    if (rc == EXIT_OK && (fflush(stdout) != 0 || ferror(stdout)))
        rc = fail(EXIT_FAILURE_RUN, "eval", "cannot write to standard output");
    free((int64_t *)r.confusion);
    gd_dataset_free(ds);
    gd_preprocess_free(pre);
    gd_model_free(m);
    model_source_free(&src);
    return rc;
}
