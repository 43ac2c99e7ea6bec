/* What the subcommands share: errors, number parsing, data sources, evaluation. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

int fail(int code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gradus %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* Malformed files, and files too large for the memory limit, are bad data; shapes or
 * values that do not fit are the caller's usage. */
int exit_code_for(gd_status st)
{
    if (st == GD_ERR_FORMAT || st == GD_ERR_LIMIT)
        return EXIT_BAD_DATA;
    return st == GD_ERR_SHAPE || st == GD_ERR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE_RUN;
}

bool parse_int64(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return false;
    *out = v;
    return true;
}

bool parse_double(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool parse_size(const char *text, uint64_t *out)
{
    static const char units[] = "KMGT";
    if (!isdigit((unsigned char)text[0])) /* strtoull would take a sign or spaces */
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    int shift = 0;
    if (*end) { /* strchr finds the terminator too: *end is not it here */
        const char *unit = strchr(units, toupper((unsigned char)*end));
        if (!unit || end[1])
            return false;
        shift = 10 * (int)(unit - units + 1);
    }
    if (errno || v > UINT64_MAX >> shift)
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

#define MEMORY_LIMIT_ENV "GRADUS_MEMORY_LIMIT"
#define SIZE_WANTED "expected a positive size in bytes, with an optional K, M, G or T (powers of 1024), e.g. 512M"

/* source and text as the user wrote them: "--memory-limit 12X", "GRADUS_MEMORY_LIMIT=12X". */
static int set_memory_limit(const char *cmd, const char *source, char separator, const char *text)
{
    uint64_t bytes;
    if (!parse_size(text, &bytes) || bytes == 0) /* 0 would silently mean "the default" */
        return fail(EXIT_USAGE, cmd, "%s%c%s: " SIZE_WANTED, source, separator, text);
    gd_set_memory_limit(bytes);
    return EXIT_OK;
}

int take_common_flags(const char *cmd, int *argc, char **argv)
{
    static const char flag[] = "--memory-limit";
    const size_t len = sizeof flag - 1;
    const char *given = NULL;
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) { /* getopt's end of flags: keep the rest as it is */
            while (i < *argc)
                argv[kept++] = argv[i++];
            break;
        }
        if (strncmp(argv[i], flag, len) != 0 || (argv[i][len] != '\0' && argv[i][len] != '=')) {
            argv[kept++] = argv[i];
            continue;
        }
        if (argv[i][len] == '=')
            given = argv[i] + len + 1;
        else if (i + 1 < *argc)
            given = argv[++i];
        else
            return fail(EXIT_USAGE, cmd, "%s needs a SIZE (gradus %s --help)", flag, cmd);
    }
    argv[kept] = NULL;
    *argc = kept;
    const char *env = getenv(MEMORY_LIMIT_ENV);
    if (given) /* the flag wins over the environment */
        return set_memory_limit(cmd, flag, ' ', given);
    return env && *env ? set_memory_limit(cmd, MEMORY_LIMIT_ENV, '=', env) : EXIT_OK;
}

void print_common_help(FILE *out)
{
    fprintf(out, "\nevery command:\n"
                 "  --memory-limit SIZE  the most memory one data set, model or file may take, in\n"
                 "                       bytes or with K, M, G or T (powers of 1024: 512M, 4G);\n"
                 "                       beyond it the command exits 3      [half the physical RAM]\n"
                 "                       (also " MEMORY_LIMIT_ENV "=SIZE; the flag wins)\n");
}

int fail_status(const char *cmd, gd_status st, const char *message)
{
    if (st == GD_ERR_LIMIT)
        return fail(exit_code_for(st), cmd, "%s (raise it with --memory-limit SIZE or %s)", message,
                    MEMORY_LIMIT_ENV);
    return fail(exit_code_for(st), cmd, "%s", message);
}

static int read_status(const char *cmd, gd_status st, const gd_error *err)
{
    return st == GD_OK ? EXIT_OK : fail_status(cmd, st, err->message);
}

static int load_csv_pair(const char *cmd, const data_source *src, gd_dataset **train, gd_dataset **test)
{
    char *paths = strdup(src->name + 4);
    char *comma = strchr(paths, ',');
    if (comma)
        *comma = '\0';
    gd_error err;
    int rc = EXIT_OK;
    if (train)
        rc = read_status(cmd, gd_dataset_read_csv(train, paths, src->label_column, src->csv_header, &err), &err);
    if (rc == EXIT_OK && test) {
        if (!comma)
            rc = fail(EXIT_USAGE, cmd, "--data %s names no test file (csv:TRAIN,TEST)", src->name);
        else
            rc = read_status(cmd, gd_dataset_read_csv(test, comma + 1, src->label_column, src->csv_header, &err), &err);
    }
    free(paths);
    return rc;
}

int load_data(const char *cmd, const data_source *src, gd_dataset **train, gd_dataset **test)
{
    if (strncmp(src->name, "csv:", 4) == 0)
        return load_csv_pair(cmd, src, train, test);
    const char *dir = strcmp(src->name, "fashion-mnist") == 0 ? FASHION_MNIST_DIR : src->name;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (dir == src->name)
            return fail(EXIT_USAGE, cmd, "--data %s: no such folder (give fashion-mnist, a folder of IDX files, or csv:TRAIN,TEST)",
                        src->name);
        return fail(EXIT_FAILURE_RUN, cmd, "%s not found: install Debian's dataset-fashion-mnist "
                    "(scripts/install-deps.sh dataset-fashion-mnist, or make train)", FASHION_MNIST_DIR);
    }
    gd_error err;
    int rc = EXIT_OK;
    if (train)
        rc = read_status(cmd, gd_dataset_read_idx_dir(train, dir, true, &err), &err);
    if (rc == EXIT_OK && test)
        rc = read_status(cmd, gd_dataset_read_idx_dir(test, dir, false, &err), &err);
    return rc;
}

/* IDX files begin with two zero bytes, a type byte and a dimension count. */
static bool looks_like_idx(const char *path)
{
    size_t len = strlen(path);
    if (len > 3 && strcmp(path + len - 3, ".gz") == 0)
        return true;
    FILE *f = fopen(path, "rb");
    unsigned char magic[4] = {1, 1, 1, 1};
    if (f) {
        size_t got = fread(magic, 1, 4, f);
        (void)got;
        fclose(f);
    }
    return magic[0] == 0 && magic[1] == 0 && (magic[2] == 0x08 || magic[2] == 0x0D);
}

int load_inputs(const char *cmd, const char *path, int label_column, bool header, gd_dataset **out)
{
    gd_error err;
    gd_status st = looks_like_idx(path) ? gd_dataset_read_idx(out, path, NULL, &err)
                                        : gd_dataset_read_csv(out, path, label_column, header, &err);
    return read_status(cmd, st, &err);
}

int argmax(const float *scores, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (scores[i] > scores[best])
            best = i;
    return best;
}

gd_tensor model_view(const gd_model *m, gd_tensor batch)
{
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_model_input_shape(m, dims);
    gd_tensor v = {.data = batch.data, .ndim = ndim + 1};
    v.dims[0] = batch.dims[0];
    for (int i = 0; i < ndim; i++)
        v.dims[i + 1] = dims[i];
    return v;
}

static int64_t model_input_size(const gd_model *m)
{
    int64_t dims[GD_MAX_DIMS], n = 1;
    int ndim = gd_model_input_shape(m, dims);
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    return n;
}

int check_input_size(const char *cmd, const gd_model *m, gd_dataset *ds)
{
    if (gd_dataset_sample_size(ds) != model_input_size(m))
        return fail(EXIT_USAGE, cmd, "the data has %lld values per sample; the model takes %lld",
                    (long long)gd_dataset_sample_size(ds), (long long)model_input_size(m));
    return EXIT_OK;
}

int evaluate(const char *cmd, gd_model *m, gd_dataset *ds, int64_t *confusion, double *accuracy,
             double *loss)
{
    if (check_input_size(cmd, m, ds) != EXIT_OK)
        return EXIT_USAGE;
    gd_error err;
    gd_loader *loader;
    gd_status st = gd_loader_create(&loader, ds, gd_model_max_batch(m), false, false, 0, &err);
    if (st != GD_OK)
        return fail(EXIT_FAILURE_RUN, cmd, "%s", err.message);
    bool was_training = gd_model_is_training(m);
    gd_model_set_training(m, false);
    gd_loss ce = {.kind = GD_LOSS_CROSS_ENTROPY};
    gd_tensor x;
    const int32_t *labels;
    int64_t correct = 0, seen = 0;
    double loss_sum = 0;
    gd_loader_start_epoch(loader, 0);
    while (st == GD_OK && gd_loader_next(loader, &x, &labels)) {
        gd_tensor in = model_view(m, x);
        double batch_loss = 0;
        if ((st = gd_model_forward(m, &in)) != GD_OK || (st = gd_model_loss(m, &ce, labels, NULL, &batch_loss)) != GD_OK)
            break;
        const gd_tensor *y = gd_model_output(m);
        int classes = (int)y->dims[1];
        for (int64_t i = 0; i < x.dims[0]; i++) {
            int guess = argmax(y->data + i * classes, classes);
            correct += guess == labels[i];
            if (confusion)
                confusion[(int64_t)labels[i] * classes + guess]++;
        }
        loss_sum += batch_loss * (double)x.dims[0];
        seen += x.dims[0];
    }
    gd_loader_free(loader);
    gd_model_set_training(m, was_training);
    if (st != GD_OK)
        return fail_status(cmd, st, gd_model_error(m));
    *accuracy = seen ? (double)correct / (double)seen : 0;
    *loss = seen ? loss_sum / (double)seen : 0;
    return EXIT_OK;
}
