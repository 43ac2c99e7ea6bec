/* gradus summary: a model's layers as Keras's model.summary() lists them (name, kind,
 * output shape, parameters; a residual block's row counts its layers'), then the
 * totals and the memory the model plans: parameters, their gradients, buffers, and the
 * activations of a batch. It reads a model file or builds a spec; nothing is run. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WIDTH 80
#define DEFAULT_BATCH 128

static const char *const HELP =
    "usage: gradus summary [MODEL|SPEC] [FLAGS]\n"
    "\n"
    "Lists a model's layers, as Keras's model.summary() does: each layer's name,\n"
    "kind, output shape (per sample) and parameter count, then the total parameters\n"
    "and the memory the model plans (float32): parameters, their gradients, buffers\n"
    "(batch norm's running statistics) and the activations of one batch.\n"
    "MODEL is a model file (safetensors, as gradus train writes); anything else is a\n"
    "spec text ('linear(256) bn relu linear(10)', docs/spec.md). Without one: train's\n"
    "default model.\n"
    "\n"
    "summary:\n"
    "  --input SHAPE        the per-sample input shape, 784 or 1x28x28, for a spec\n"
    "                       (and a model file that does not record its own)\n"
    "                       [784: Fashion-MNIST's 28x28 images, flattened]\n"
    "  --batch-size N       the batch the activations are planned for          [128]\n"
    "  -h, --help           this text\n"
    "\n"
    "A residual block's row (1) counts the parameters of its layers (1.0, 1.1, ...).\n"
    "Activations count the distinct buffers of each layer's input, output and their\n"
    "gradients for a batch of N; a layer's own scratch (im2col, dropout masks, batch\n"
    "statistics) and the optimiser's state are not counted.\n"
    "Exit codes: 0, 2 a bad spec or flag, 3 a model file that cannot be read.\n";

enum { OPT_INPUT = 1000, OPT_BATCH };

static const struct option options[] = {
    {"input", required_argument, NULL, OPT_INPUT},
    {"batch-size", required_argument, NULL, OPT_BATCH},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *shape_text(char *buf, size_t size, int ndim, const int64_t *dims)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndim && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%lld", i ? "x" : "", (long long)dims[i]);
    return buf;
}

static const char *bytes_text(char *buf, size_t size, double b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, units[u]);
    return buf;
}

/* The spec, its words wrapped to the width (a word longer than a line is cut). */
static void print_spec(const char *spec)
{
    const int indent = 6, room = WIDTH - indent;
    int col = 0;
    printf("Spec: ");
    for (const char *p = spec; *p;) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
            continue;
        }
        int len = (int)strcspn(p, " \t\r\n");
        if (col > 0 && col + 1 + len > room) {
            printf("\n%*s", indent, "");
            col = 0;
        }
        int shown = len > room ? room : len;
        printf("%s%.*s", col ? " " : "", shown, p);
        col += shown + (col ? 1 : 0);
        p += len;
    }
    printf("\n");
}

static void print_summary(gd_model *m, const char *source, int64_t batch)
{
    char a[64], b[64], c[64];
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_model_input_shape(m, dims);
    const char *spec = gd_model_spec(m);
    if (source)
        printf("Model file: %s\n", source);
    if (spec)
        print_spec(spec);
    printf("Input: %s per sample", shape_text(a, sizeof a, ndim, dims));
    ndim = gd_model_output_shape(m, dims);
    printf(", output %s; batch %lld\n", shape_text(a, sizeof a, ndim, dims), (long long)batch);

    const char *rule = "--------------------------------------------------------------------------------";
    const char *rule2 = "================================================================================";
    printf("%s\n%-10s %-20s %-24s %22s\n%s\n", rule2, "Layer", "Kind", "Output shape", "Parameters",
           rule2);
    for (size_t i = 0; i < gd_model_layer_count(m); i++) {
        gd_layer_summary l;
        if (gd_model_layer_summary(m, i, &l) != GD_OK)
            continue;
        printf("%-10.10s %-20.20s %-24.24s %22s\n", l.name, l.kind,
               shape_text(a, sizeof a, l.ndim, l.dims), group_digits(b, sizeof b, l.parameters));
    }
    gd_summary sum;
    if (gd_model_summary(m, &sum) != GD_OK) /* a built model always has its figures */
        return;
    int64_t params = sum.parameters, buffer_values = sum.buffer_values;
    double pbytes = (double)sum.parameter_bytes, buffer_bytes = (double)sum.buffer_bytes,
           abytes = (double)sum.activation_bytes;
    printf("%s\n", rule2);
    printf("Total parameters: %s (all trainable)\n", group_digits(a, sizeof a, params));
    printf("Buffers (not trained): %s values\n", group_digits(a, sizeof a, buffer_values));
    printf("%s\nMemory:\n", rule);
    printf("  %-34s %14s\n", "parameters (float32)", bytes_text(a, sizeof a, pbytes));
    printf("  %-34s %14s\n", "gradients", bytes_text(a, sizeof a, pbytes));
    printf("  %-34s %14s\n", "buffers", bytes_text(a, sizeof a, buffer_bytes));
    snprintf(c, sizeof c, "activations, batch %lld", (long long)batch);
    printf("  %-34s %14s\n", c, bytes_text(a, sizeof a, abytes));
    printf("  %-34s %14s\n", "total", bytes_text(a, sizeof a, 2 * pbytes + buffer_bytes + abytes));
    printf("(activations: the layers' inputs, outputs and their gradients; not the\n"
           " optimiser's state, nor a layer's scratch such as im2col or dropout masks)\n");
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cmd_summary(int argc, char **argv)
{
    const char *input = NULL;
    int64_t batch = DEFAULT_BATCH;
    int ndim = 1;
    int64_t dims[GD_MAX_DIMS] = {784};
    gd_error err = {{0}};
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(HELP, stdout);
            print_common_help(stdout);
            return EXIT_OK;
        case OPT_INPUT:
            input = optarg;
            if (gd_parse_shape(optarg, &ndim, dims, &err) != GD_OK)
                return fail(EXIT_USAGE, "summary", "--input %s: %s", optarg, err.message);
            break;
        case OPT_BATCH:
            if (!parse_int64(optarg, &batch) || batch <= 0)
                return fail(EXIT_USAGE, "summary", "--batch-size %s: expected a positive integer",
                            optarg);
            break;
        default:
            return fail(EXIT_USAGE, "summary",
                        "unknown or incomplete flag '%s' (gradus summary --help lists them)",
                        argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return fail(EXIT_USAGE, "summary", "unexpected argument '%s' (one MODEL or SPEC; quote a spec)",
                    argv[optind + 1]);
    const char *what = optind < argc ? argv[optind] : NULL;
    gd_model *m = NULL;
    int rc = EXIT_OK;
    size_t wlen = what ? strlen(what) : 0;
    if (what && !is_file(what) && wlen > 12 && strcmp(what + wlen - 12, ".safetensors") == 0)
        return fail(EXIT_FAILURE_RUN, "summary", "%s: no such model file", what);
    if (what && is_file(what)) {
        gd_status st = gd_model_load_as(&m, NULL, what, input ? ndim : 0, input ? dims : NULL, batch,
                                        &err);
        if (st == GD_ERR_IO || st == GD_ERR_FORMAT)
            return fail(EXIT_BAD_DATA, "summary", "%s", err.message);
        if (st != GD_OK)
            return fail_status("summary", st, err.message);
        print_summary(m, what, batch);
    } else {
        gd_settings s;
        gd_settings_defaults(&s);
        const char *spec = what ? what : s.model;
        gd_status st = gd_model_from_spec(&m, spec, 0, ndim, dims, batch, &err);
        if (st == GD_OK)
            print_summary(m, NULL, batch);
        else if (st == GD_ERR_LIMIT || st == GD_ERR_NO_MEMORY)
            rc = fail_status("summary", st, err.message);
        else
            rc = fail(EXIT_USAGE, "summary", "%s", err.message);
        gd_settings_free(&s);
    }
    gd_model_free(m);
    return rc;
}
