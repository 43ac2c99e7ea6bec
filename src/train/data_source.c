/* The data sets a --data source names, and the shape --csv-shape gives CSV samples.
 * Fashion-MNIST is where Debian's dataset-fashion-mnist puts it, so that "fashion-mnist"
 * works on any Debian machine with the package (Keras's
 * datasets.fashion_mnist.load_data() downloads instead). */
#include "train.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

static gd_status load_csv_pair(const char *source, int label_column, bool header,
                               gd_dataset **train, gd_dataset **test, gd_error *err)
{
    char *paths = strdup(source + 4);
    if (!paths)
        return gd_fail(err->message, GD_ERR_NO_MEMORY, "--data: out of memory");
    char *comma = strchr(paths, ',');
    if (comma)
        *comma = '\0';
    gd_status st = GD_OK;
    if (train)
        st = gd_dataset_read_csv(train, paths, label_column, header, err);
    if (st == GD_OK && test && !comma)
        st = gd_fail(err->message, GD_ERR_INVALID_ARGUMENT,
                     "--data %s names no test file (csv:TRAIN,TEST)", source);
    else if (st == GD_OK && test)
        st = gd_dataset_read_csv(test, comma + 1, label_column, header, err);
    free(paths);
    return st;
}

/* "LEAD: " before err's message, which the readers wrote without a flag. */
static gd_status lead(gd_error *err, gd_status st, const char *text)
{
    char why[GD_MSG_MAX];
    snprintf(why, sizeof why, "%s", err->message);
    return gd_fail(err->message, st, "%s: %s", text, why);
}

/* --csv-shape's text as a sample shape: CxHxW, or HxW for a grey 1xHxW image. Layers
 * read images as C x H x W, so one number (what a row already is) or four are refused. */
static gd_status csv_sample_shape(const char *text, int64_t dims[3], gd_error *err)
{
    int ndim = 0;
    int64_t got[GD_MAX_DIMS - 1];
    gd_status st = gd_parse_shape(text, &ndim, got, err);
    if (st == GD_OK && (ndim < 2 || ndim > 3))
        st = gd_fail(err->message, GD_ERR_INVALID_ARGUMENT, "expected CxHxW or HxW");
    if (st != GD_OK) {
        char flag[64];
        snprintf(flag, sizeof flag, "--csv-shape %.40s", text);
        return lead(err, st, flag);
    }
    dims[0] = ndim == 3 ? got[0] : 1;
    dims[1] = got[ndim - 2];
    dims[2] = got[ndim - 1];
    return GD_OK;
}

static gd_status reshape_csv(gd_dataset *ds, const char *text, const int64_t dims[3],
                             gd_error *err)
{
    if (!ds || gd_dataset_reshape(ds, 3, dims, err) == GD_OK)
        return GD_OK;
    return gd_fail(err->message, GD_ERR_SHAPE,
                   "--csv-shape %.40s: %lld values a sample, but the CSV rows hold %lld "
                   "features", text, (long long)(dims[0] * dims[1] * dims[2]),
                   (long long)gd_dataset_sample_size(ds));
}

static gd_status load_csv(const char *source, const gd_data_options *opt, gd_dataset **train,
                          gd_dataset **test, gd_error *err)
{
    const char *shape = opt->csv_shape;
    int64_t dims[3];
    gd_status st = shape ? csv_sample_shape(shape, dims, err) : GD_OK;
    if (!st)
        st = load_csv_pair(source, opt->label_column, opt->csv_header, train, test, err);
    if (!st && shape && !(st = reshape_csv(train ? *train : NULL, shape, dims, err)))
        st = reshape_csv(test ? *test : NULL, shape, dims, err);
    return st;
}

/* cifar10:DIR, as gd_dataset_read_cifar10_dir reads it; "--data" leads its messages. */
static gd_status load_cifar10(const char *source, gd_dataset **train, gd_dataset **test,
                              gd_error *err)
{
    const char *dir = source + strlen("cifar10:");
    struct stat sb;
    /* A folder that is not there cannot be read (an I/O failure); a file is a usage error. */
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return gd_fail(err->message, stat(dir, &sb) != 0 ? GD_ERR_IO : GD_ERR_INVALID_ARGUMENT,
                       "--data %.80s: no such folder (cifar10:DIR names the folder of "
                       "CIFAR-10's binary version)", source);
    gd_status st = GD_OK;
    if (train)
        st = gd_dataset_read_cifar10_dir(train, dir, true, err);
    if (!st && test)
        st = gd_dataset_read_cifar10_dir(test, dir, false, err);
    return st ? lead(err, st, "--data cifar10:DIR") : GD_OK;
}

gd_status gd_data_load(const char *source, const gd_data_options *opt, gd_dataset **train,
                       gd_dataset **test, gd_error *err)
{
    static const gd_data_options flat_csv = {0};
    opt = opt ? opt : &flat_csv;
    gd_error scratch;
    err = err ? err : &scratch;
    if (train)
        *train = NULL;
    if (test)
        *test = NULL;
    if (!source)
        return gd_fail(err->message, GD_ERR_INVALID_ARGUMENT, "--data: no source");
    gd_status st = GD_OK;
    bool csv = strncmp(source, "csv:", 4) == 0, shaped = opt->csv_shape && *opt->csv_shape;
    gd_data_options csv_opt = *opt;
    csv_opt.csv_shape = shaped ? opt->csv_shape : NULL;
    if (shaped && !csv)
        return gd_fail(err->message, GD_ERR_INVALID_ARGUMENT,
                       "--csv-shape %.40s: only for --data csv:TRAIN,TEST (--data %.80s "
                       "has its own shape)", opt->csv_shape, source);
    if (csv) {
        st = load_csv(source, &csv_opt, train, test, err);
    } else if (strncmp(source, "cifar10:", 8) == 0) {
        st = load_cifar10(source, train, test, err);
    } else {
        const char *dir = strcmp(source, "fashion-mnist") == 0 ? FASHION_MNIST_DIR : source;
        struct stat sb;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return dir == source
                       ? gd_fail(err->message,
                                 stat(dir, &sb) != 0 ? GD_ERR_IO : GD_ERR_INVALID_ARGUMENT,
                                 "--data %s: no such folder (give fashion-mnist, a folder of "
                                 "IDX files, or csv:TRAIN,TEST)", source)
                       : gd_fail(err->message, GD_ERR_IO,
                                 "%s not found: install Debian's dataset-fashion-mnist "
                                 "(scripts/install-deps.sh dataset-fashion-mnist, or make "
                                 "train)", FASHION_MNIST_DIR);
        if (train)
            st = gd_dataset_read_idx_dir(train, dir, true, err);
        if (st == GD_OK && test)
            st = gd_dataset_read_idx_dir(test, dir, false, err);
    }
    if (st != GD_OK && train) {
        gd_dataset_free(*train);
        *train = NULL;
    }
    if (st != GD_OK && test) {
        gd_dataset_free(*test);
        *test = NULL;
    }
    return st;
}
