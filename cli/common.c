/* What the subcommands share: errors, number parsing, data sources, evaluation. */
#include "cli.h"

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

static int read_status(const char *cmd, gd_status st, const gd_error *err)
{
    return st == GD_OK ? EXIT_OK : fail(exit_code_for(st), cmd, "%s", err->message);
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
        return fail(exit_code_for(st), cmd, "%s", gd_model_error(m));
    *accuracy = seen ? (double)correct / (double)seen : 0;
    *loss = seen ? loss_sum / (double)seen : 0;
    return EXIT_OK;
}
