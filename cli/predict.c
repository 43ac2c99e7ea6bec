/* gradus predict: classify inputs with a saved model and write CSV with a header row. */
#include "cli.h"
#include "load_model.h"

#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const HELP =
    "usage: gradus predict --model FILE|RUN_DIR --input FILE|- [--probs] [--top-k K]\n"
    "                      [--output FILE|-]\n"
    "\n"
    "Reads inputs from IDX images (plain or .gz) or a CSV of numbers, applies the\n"
    "model's preprocessing, and writes CSV: a header row, then one row per input:\n"
    "its id (the 0-based row or image number), the predicted label, its class name\n"
    "when the run's data names them (Fashion-MNIST, CIFAR-10), the probability of\n"
    "every class with --probs, the K best classes with --top-k.\n"
    "  id,label[,class][,p_0,...][,top1,p_top1,...]\n"
    "Input scaling: IDX pixels are divided by 255, as training on IDX did; CSV values\n"
    "are used as they are (a warning says when they look like raw 0-255 pixels for a\n"
    "model trained on [0, 1]: divide them by 255 first).\n"
    "\n"
    "  --model FILE|RUN_DIR the model file, or a run folder (its model.safetensors)\n"
    "                       (required)\n"
    "  --input FILE|-       IDX images or CSV rows of features; - reads CSV from\n"
    "                       standard input (required)\n"
    "  --probs              add the softmax probability of every class\n"
    "  --top-k K            add the K most probable classes and their probabilities\n"
    "  --output FILE|-      write there (atomically: a temporary file renamed)    [-]\n"
    "  --label-column N     CSV: a label column to skip                        [none]\n"
    "  --csv-header         CSV: the first row is a header\n"
    "  --csv-shape SHAPE    CSV: the samples' shape, e.g. 1x28x28              [flat]\n"
    "  -h, --help           this text\n"
    "\n"
    "exit status: 0 done; 1 a file that cannot be read or written; 2 a bad flag or\n"
    "value, or inputs that do not fit the model (sizes); 3 a malformed file\n"
    "(truncated IDX, bad CSV, a bad model file) or one beyond the memory limit\n";

enum { OPT_MODEL = 256, OPT_INPUT, OPT_PROBS, OPT_TOP_K, OPT_OUTPUT, OPT_LABEL_COLUMN,
       OPT_CSV_HEADER, OPT_CSV_SHAPE };

static const struct option options[] = {
    {"model", required_argument, 0, OPT_MODEL},
    {"input", required_argument, 0, OPT_INPUT},
    {"probs", no_argument, 0, OPT_PROBS},
    {"top-k", required_argument, 0, OPT_TOP_K},
    {"output", required_argument, 0, OPT_OUTPUT},
    {"label-column", required_argument, 0, OPT_LABEL_COLUMN},
    {"csv-header", no_argument, 0, OPT_CSV_HEADER},
    {"csv-shape", required_argument, 0, OPT_CSV_SHAPE},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef struct predict_opts {
    const char *model, *input, *output, *csv_shape;
    bool probs, header;
    int label_column;
    int64_t top_k;
} predict_opts;

static bool is_stdio(const char *path) { return path && strcmp(path, "-") == 0; }

static int parse_count(const char *flag, const char *text, int64_t min, int64_t *out)
{
    if (!parse_int64(text, out) || *out < min || *out > INT32_MAX)
        return fail(EXIT_USAGE, "predict", "%s %s: expected a whole number from %lld", flag, text,
                    (long long)min);
    return EXIT_OK;
}

/* EXIT_OK, -1 after --help, or the exit code after a message. */
static int parse(predict_opts *o, int argc, char **argv)
{
    int opt, rc = EXIT_OK;
    int64_t column = 0;
    optind = 1;
    opterr = 0;
    while (rc == EXIT_OK && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(HELP, stdout);
            print_common_help(stdout);
            return -1;
        case OPT_MODEL: o->model = optarg; break;
        case OPT_INPUT: o->input = optarg; break;
        case OPT_PROBS: o->probs = true; break;
        case OPT_TOP_K: rc = parse_count("--top-k", optarg, 1, &o->top_k); break;
        case OPT_OUTPUT: o->output = optarg; break;
        case OPT_CSV_HEADER: o->header = true; break;
        case OPT_CSV_SHAPE: o->csv_shape = optarg; break;
        case OPT_LABEL_COLUMN:
            rc = parse_count("--label-column", optarg, 0, &column);
            o->label_column = (int)column;
            break;
        default:
            return fail(EXIT_USAGE, "predict", "unknown or incomplete flag '%s' (gradus predict "
                                               "--help lists them)", argv[optind - 1]);
        }
    }
    if (rc != EXIT_OK)
        return rc;
    if (optind < argc)
        return fail(EXIT_USAGE, "predict", "unexpected argument '%s'", argv[optind]);
    if (!o->model || !o->input)
        return fail(EXIT_USAGE, "predict", "--model FILE and --input FILE are required");
    return EXIT_OK;
}

/* ------------------------------------------------------------------ output */

/* The CSV text being written, grown as rows come. */
typedef struct text_buf {
    char *data;
    size_t len, cap;
} text_buf;

/* Room for need more bytes; false when memory runs out. */
static bool reserve(text_buf *t, size_t need)
{
    if (t->len + need <= t->cap)
        return true;
    size_t cap = 2 * t->cap + need;
    char *grown = realloc(t->data, cap);
    if (!grown)
        return false;
    t->data = grown;
    t->cap = cap;
    return true;
}

#define APPEND(t, ...) ((t)->len += (size_t)sprintf((t)->data + (t)->len, __VA_ARGS__))

/* The columns, the same for the header and every row, and one row's scratch. */
typedef struct layout {
    const predict_opts *o;
    int classes;
    const char *const *names; /* NULL: no class column */
    int *order;               /* its classes, most probable first */
} layout;

/* The most one row (or the header) can take: the id, the label and its name; per class a
 * comma and "%.6g" of a probability (at most 12 bytes: "1.23457e-05") or "p_N"; per
 * top-k column pair a label and a probability. */
static size_t row_bytes(const layout *l)
{
    return 64 + 16 * (size_t)l->classes + 40 * (size_t)l->o->top_k;
}

static void append_header(const layout *l, text_buf *t)
{
    APPEND(t, "id,label%s", l->names ? ",class" : "");
    for (int c = 0; l->o->probs && c < l->classes; c++)
        APPEND(t, ",p_%d", c);
    for (int64_t k = 1; k <= l->o->top_k; k++)
        APPEND(t, ",top%lld,p_top%lld", (long long)k, (long long)k);
    t->data[t->len++] = '\n';
}

/* order = the classes by decreasing probability, the lower class first on ties (as
 * gd_argmax, so that top1 is the label). */
static void rank(const layout *l, const double *probs)
{
    int n = l->classes;
    for (int c = 0; c < n; c++)
        l->order[c] = c;
    for (int i = 1; i < n; i++) { /* insertion sort: stable, and n is a handful */
        int c = l->order[i], j = i;
        for (; j > 0 && probs[l->order[j - 1]] < probs[c]; j--)
            l->order[j] = l->order[j - 1];
        l->order[j] = c;
    }
}

/* One row: the id, the guess (gd_predict's, gd_argmax of the scores), its name, the
 * probabilities, the top k. */
static void append_row(const layout *l, int64_t id, int label, const double *probs, text_buf *t)
{
    rank(l, probs);
    APPEND(t, "%lld,%d", (long long)id, label);
    if (l->names)
        APPEND(t, ",%s", l->names[label]);
    for (int c = 0; l->o->probs && c < l->classes; c++)
        APPEND(t, ",%.6g", probs[c]);
    for (int64_t k = 0; k < l->o->top_k; k++)
        APPEND(t, ",%d,%.6g", l->order[k], probs[l->order[k]]);
    t->data[t->len++] = '\n';
}

/* The library's predictions (gd_predict), then the text. */
static int predict_all(layout *l, gd_model *m, gd_dataset *ds, text_buf *t)
{
    int64_t n = gd_dataset_size(ds);
    size_t cells = (size_t)n * (size_t)l->classes;
    bool fits = n > 0 && (size_t)n <= SIZE_MAX / sizeof(double) / (size_t)l->classes;
    double *probs = fits ? malloc(cells * sizeof *probs) : NULL;
    int32_t *classes = fits ? malloc((size_t)n * sizeof *classes) : NULL;
    int rc = probs && classes ? EXIT_OK : fail(EXIT_FAILURE_RUN, "predict", "out of memory");
    gd_error err;
    gd_status st;
    if (rc == EXIT_OK && (st = gd_predict(m, ds, classes, probs, &err)) != GD_OK)
        rc = fail_status("predict", st, err.message);
    if (rc == EXIT_OK && !reserve(t, row_bytes(l)))
        rc = fail(EXIT_FAILURE_RUN, "predict", "out of memory");
    if (rc == EXIT_OK)
        append_header(l, t);
    for (int64_t i = 0; rc == EXIT_OK && i < n; i++) {
        if (!reserve(t, row_bytes(l)))
            rc = fail(EXIT_FAILURE_RUN, "predict", "out of memory for the predictions");
        else
            append_row(l, i, classes[i], probs + (size_t)i * (size_t)l->classes, t);
    }
    free(probs);
    free(classes);
    return rc;
}

static int write_output(const predict_opts *o, const text_buf *t)
{
    gd_error err;
    if (!o->output || is_stdio(o->output)) {
        bool written = fwrite(t->data, 1, t->len, stdout) == t->len && fflush(stdout) == 0;
        return written ? EXIT_OK : fail(EXIT_FAILURE_RUN, "predict", "cannot write to standard output");
    }
    gd_status st = gd_write_file_atomic(o->output, t->data, t->len, &err);
    return st == GD_OK ? EXIT_OK : fail(EXIT_FAILURE_RUN, "predict", "--output: %s", err.message);
}

/* --------------------------------------------------------------- the command */

/* The model's classes, and the columns that the flags and the run's data ask for. */
static int make_layout(const predict_opts *o, const model_source *src, const gd_model *m,
                       layout *l)
{
    int64_t out[GD_MAX_DIMS] = {0};
    gd_model_output_shape(m, out);
    l->o = o;
    l->classes = (int)out[0];
    if (o->top_k > l->classes)
        return fail(EXIT_USAGE, "predict", "--top-k %lld: the model has %d classes",
                    (long long)o->top_k, l->classes);
    l->names = src->run ? class_names(src->settings.data, l->classes) : NULL;
    l->order = malloc((size_t)l->classes * sizeof *l->order);
    return l->order ? EXIT_OK : fail(EXIT_FAILURE_RUN, "predict", "out of memory");
}

/* The inputs first: a model file PyTorch wrote may record no input shape, and then the
 * samples' shape is the model's (gd_model_load_as). */
static int predict(const predict_opts *o, const model_source *src, gd_model **m,
                   gd_preprocess **pre, gd_dataset **ds, layout *l, text_buf *t)
{
    gd_data_options csv = {o->label_column, o->header, o->csv_shape};
    bool is_csv = false;
    gd_error err;
    gd_status st;
    int rc = load_inputs("predict", is_stdio(o->input) ? NULL : o->input, &csv, ds, &is_csv);
    if (rc == EXIT_OK)
        rc = load_model_for("predict", src->path, *ds, m, pre);
    if (rc != EXIT_OK)
        return rc;
    if (is_csv)
        warn_if_unscaled("predict", is_stdio(o->input) ? "standard input" : o->input, *pre, *ds);
    if (*pre && (st = gd_preprocess_apply_dataset(*pre, *ds, &err)) != GD_OK)
        return fail_status("predict", st, err.message);
    rc = check_input_size("predict", *m, *ds);
    if (rc == EXIT_OK)
        rc = make_layout(o, src, *m, l);
    return rc == EXIT_OK ? predict_all(l, *m, *ds, t) : rc;
}

int cmd_predict(int argc, char **argv)
{
    predict_opts o = {.label_column = -1};
    int rc = parse(&o, argc, argv);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    model_source src;
    gd_model *m = NULL;
    gd_preprocess *pre = NULL;
    gd_dataset *ds = NULL;
    layout l = {0};
    text_buf t = {0};
    rc = model_source_open("predict", o.model, &src);
    if (rc == EXIT_OK)
        rc = predict(&o, &src, &m, &pre, &ds, &l, &t);
    if (rc == EXIT_OK)
        rc = write_output(&o, &t);
    free(t.data);
    free(l.order);
    gd_dataset_free(ds);
    gd_preprocess_free(pre);
    gd_model_free(m);
    model_source_free(&src);
    return rc;
}
