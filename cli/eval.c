/* gradus eval: accuracy, per-class accuracy and confusion matrix of a saved model. */
#include "cli.h"
#include "load_model.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *const HELP =
    "usage: gradus eval --model FILE [--data SOURCE] [--split test|train]\n"
    "\n"
    "Evaluates a model file (model.safetensors of a run) on a data set, applying the\n"
    "preprocessing stored in the file, and prints accuracy, per-class accuracy and\n"
    "the confusion matrix (rows: true class, columns: predicted).\n"
    "\n"
    "  --model FILE         the model (required)\n"
    "  --data SOURCE        fashion-mnist, a folder of IDX files, or csv:TRAIN,TEST\n"
    "                                                                 [fashion-mnist]\n"
    "  --split NAME         test or train                                      [test]\n"
    "  --label-column N     CSV: 0-based column of the label                      [0]\n"
    "  --csv-header         CSV: the first row is a header\n"
    "  -h, --help           this text\n";

enum { OPT_MODEL = 256, OPT_DATA, OPT_SPLIT, OPT_LABEL_COLUMN, OPT_CSV_HEADER };

static const struct option options[] = {
    {"model", required_argument, 0, OPT_MODEL},   {"data", required_argument, 0, OPT_DATA},
    {"split", required_argument, 0, OPT_SPLIT},   {"label-column", required_argument, 0, OPT_LABEL_COLUMN},
    {"csv-header", no_argument, 0, OPT_CSV_HEADER}, {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static void print_report(const int64_t *confusion, int classes, double accuracy, int64_t n)
{
    printf("accuracy %.4f on %lld samples\n\nper class:\n", accuracy, (long long)n);
    for (int c = 0; c < classes; c++) {
        int64_t total = 0;
        for (int g = 0; g < classes; g++)
            total += confusion[c * classes + g];
        printf("  class %2d  %.4f  (%lld samples)\n", c,
               total ? (double)confusion[c * classes + c] / (double)total : 0.0, (long long)total);
    }
    printf("\nconfusion matrix (row: true class, column: predicted):\n      ");
    for (int g = 0; g < classes; g++)
        printf("%6d", g);
    printf("\n");
    for (int c = 0; c < classes; c++) {
        printf("  %2d  ", c);
        for (int g = 0; g < classes; g++)
            printf("%6lld", (long long)confusion[c * classes + g]);
        printf("\n");
    }
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *split = "test";
    data_source src = {.name = "fashion-mnist"};
    int64_t column;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(HELP, stdout);
            print_common_help(stdout);
            return EXIT_OK;
        case OPT_MODEL: model_path = optarg; break;
        case OPT_DATA: src.name = optarg; break;
        case OPT_SPLIT: split = optarg; break;
        case OPT_CSV_HEADER: src.csv_header = true; break;
        case OPT_LABEL_COLUMN:
            if (!parse_int64(optarg, &column) || column < 0)
                return fail(EXIT_USAGE, "eval", "--label-column %s: expected a non-negative integer", optarg);
            src.label_column = (int)column;
            break;
        default:
            return fail(EXIT_USAGE, "eval", "unknown or incomplete flag '%s' (gradus eval --help lists them)",
                        argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail(EXIT_USAGE, "eval", "unexpected argument '%s'", argv[optind]);
    if (!model_path)
        return fail(EXIT_USAGE, "eval", "--model FILE is required");
    bool train = strcmp(split, "train") == 0;
    if (!train && strcmp(split, "test") != 0)
        return fail(EXIT_USAGE, "eval", "--split %s: expected test or train", split);

    gd_model *m = NULL;
    gd_preprocess *pre = NULL;
    gd_dataset *ds = NULL;
    gd_error err;
    gd_status st = GD_OK;
    /* The data first: a model file PyTorch wrote may record no input shape, and then the
     * samples' shape is the model's (gd_model_load_as). */
    int rc = EXIT_OK;
    gd_data_options data_opt = {src.label_column, src.csv_header, NULL};
    if ((st = gd_data_load(src.name, &data_opt, train ? &ds : NULL, train ? NULL : &ds, &err)) !=
        GD_OK)
        rc = fail_status("eval", st, err.message);
    if (rc == EXIT_OK)
        rc = load_model_for("eval", model_path, ds, &m, &pre);
    if (rc == EXIT_OK && pre && (st = gd_preprocess_apply_dataset(pre, ds, &err)) != GD_OK)
        rc = fail_status("eval", st, err.message);
    /* The model's outputs are the classes (the data may not use every one of them). */
    int64_t out[GD_MAX_DIMS] = {0};
    if (m)
        gd_model_output_shape(m, out);
    int classes = (int)out[0];
    int64_t *confusion = rc == EXIT_OK ? calloc((size_t)classes * (size_t)classes, sizeof *confusion) : NULL;
    gd_evaluation ev = {0};
    if (rc == EXIT_OK && (st = gd_evaluate(m, ds, confusion, &ev, &err)) != GD_OK)
        rc = fail_status("eval", st, err.message);
    if (rc == EXIT_OK)
        print_report(confusion, classes, ev.accuracy, gd_dataset_size(ds));
    free(confusion);
    gd_dataset_free(ds);
    gd_preprocess_free(pre);
    gd_model_free(m);
    return rc;
}
