/* gradus predict: classify inputs with a saved model and write CSV. */
#include "cli.h"
#include "load_model.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const HELP =
    "usage: gradus predict --model FILE --input FILE [--probs] [--output FILE]\n"
    "\n"
    "Reads inputs from IDX images (plain or .gz) or a CSV of numbers, applies the\n"
    "model file's preprocessing, and writes CSV: one row per input, the predicted\n"
    "class, then the class probabilities with --probs.\n"
    "\n"
    "  --model FILE         the model (required)\n"
    "  --input FILE         IDX images or CSV rows of features (required)\n"
    "  --probs              add the softmax probability of every class\n"
    "  --output FILE        write there (atomically) instead of to standard output\n"
    "  --label-column N     CSV: a label column to skip                        [none]\n"
    "  --csv-header         CSV: the first row is a header\n"
    "  -h, --help           this text\n";

enum { OPT_MODEL = 256, OPT_INPUT, OPT_PROBS, OPT_OUTPUT, OPT_LABEL_COLUMN, OPT_CSV_HEADER };

static const struct option options[] = {
    {"model", required_argument, 0, OPT_MODEL},     {"input", required_argument, 0, OPT_INPUT},
    {"probs", no_argument, 0, OPT_PROBS},           {"output", required_argument, 0, OPT_OUTPUT},
    {"label-column", required_argument, 0, OPT_LABEL_COLUMN},
    {"csv-header", no_argument, 0, OPT_CSV_HEADER}, {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef struct predict_opts {
    const char *model, *input, *output;
    bool probs, header;
    int label_column;
} predict_opts;

static int parse(predict_opts *o, int argc, char **argv)
{
    int opt;
    int64_t column;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(HELP, stdout);
            print_common_help(stdout);
            return -1;
        case OPT_MODEL: o->model = optarg; break;
        case OPT_INPUT: o->input = optarg; break;
        case OPT_PROBS: o->probs = true; break;
        case OPT_OUTPUT: o->output = optarg; break;
        case OPT_CSV_HEADER: o->header = true; break;
        case OPT_LABEL_COLUMN:
            if (!parse_int64(optarg, &column) || column < 0)
                return fail(EXIT_USAGE, "predict", "--label-column %s: expected a non-negative integer", optarg);
            o->label_column = (int)column;
            break;
        default:
            return fail(EXIT_USAGE, "predict", "unknown or incomplete flag '%s' (gradus predict --help lists them)",
                        argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail(EXIT_USAGE, "predict", "unexpected argument '%s'", argv[optind]);
    if (!o->model || !o->input)
        return fail(EXIT_USAGE, "predict", "--model FILE and --input FILE are required");
    return EXIT_OK;
}

/* Appends one CSV row: the class, then the softmax probabilities if asked. */
static void append_row(char **text, size_t *len, size_t *cap, const float *scores, int classes, bool probs)
{
    if (*len + 32 * ((size_t)classes + 1) > *cap) {
        *cap = 2 * *cap + 32 * ((size_t)classes + 1);
        *text = realloc(*text, *cap);
    }
    int best = gd_argmax(scores, classes);
    *len += (size_t)sprintf(*text + *len, "%d", best);
    if (probs) {
        double sum = 0;
        for (int c = 0; c < classes; c++)
            sum += exp((double)scores[c] - scores[best]);
        for (int c = 0; c < classes; c++)
            *len += (size_t)sprintf(*text + *len, ",%.6g", exp((double)scores[c] - scores[best]) / sum);
    }
    (*text)[(*len)++] = '\n';
}

static int predict_all(const predict_opts *o, gd_model *m, gd_dataset *ds, char **text, size_t *len)
{
    gd_error err;
    gd_loader *loader;
    if (gd_loader_create(&loader, ds, gd_model_max_batch(m), false, false, 0, &err) != GD_OK)
        return fail(EXIT_FAILURE_RUN, "predict", "%s", err.message);
    gd_model_set_training(m, false);
    gd_loader_start_epoch(loader, 0);
    gd_tensor x;
    const int32_t *labels;
    size_t cap = 0;
    int rc = EXIT_OK;
    while (rc == EXIT_OK && gd_loader_next(loader, &x, &labels)) {
        gd_tensor in = gd_model_input_view(m, x);
        if (gd_model_forward(m, &in) != GD_OK) {
            rc = fail(EXIT_FAILURE_RUN, "predict", "%s", gd_model_error(m));
            break;
        }
        const gd_tensor *y = gd_model_output(m);
        for (int64_t i = 0; i < y->dims[0]; i++)
            append_row(text, len, &cap, y->data + i * y->dims[1], (int)y->dims[1], o->probs);
    }
    gd_loader_free(loader);
    return rc;
}

static int write_output(const predict_opts *o, const char *text, size_t len)
{
    gd_error err;
    if (!o->output)
        return fwrite(text, 1, len, stdout) == len ? EXIT_OK : fail(EXIT_FAILURE_RUN, "predict", "cannot write to standard output");
    if (gd_write_file_atomic(o->output, text, len, &err) != GD_OK)
        return fail(EXIT_FAILURE_RUN, "predict", "%s", err.message);
    return EXIT_OK;
}

int cmd_predict(int argc, char **argv)
{
    predict_opts o = {.label_column = -1};
    int rc = parse(&o, argc, argv);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    gd_model *m = NULL;
    gd_preprocess *pre = NULL;
    gd_dataset *ds = NULL;
    gd_error err;
    gd_status st = GD_OK;
    /* The inputs first: a model file PyTorch wrote may record no input shape, and then
     * the samples' shape is the model's (gd_model_load_as). */
    rc = load_inputs("predict", o.input, o.label_column, o.header, &ds);
    if (rc == EXIT_OK)
        rc = load_model_for("predict", o.model, ds, &m, &pre);
    if (rc == EXIT_OK && pre && (st = gd_preprocess_apply_dataset(pre, ds, &err)) != GD_OK)
        rc = fail_status("predict", st, err.message);
    char *text = NULL;
    size_t len = 0;
    if (rc == EXIT_OK)
        rc = check_input_size("predict", m, ds);
    if (rc == EXIT_OK)
        rc = predict_all(&o, m, ds, &text, &len);
    if (rc == EXIT_OK)
        rc = write_output(&o, text ? text : "", len);
    free(text);
    gd_dataset_free(ds);
    gd_preprocess_free(pre);
    gd_model_free(m);
    return rc;
}
