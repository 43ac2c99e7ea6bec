/* The data sets a --data source names. Fashion-MNIST is where Debian's
 * dataset-fashion-mnist puts it, so that "fashion-mnist" works on any Debian machine
 * with the package (Keras's datasets.fashion_mnist.load_data() downloads instead). */
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
    if (opt->csv_shape && *opt->csv_shape) /* issue 9 item 19: replaced by its reader */
        return gd_fail(err->message, GD_ERR_INVALID_ARGUMENT, "--csv-shape: not supported yet");
    if (strncmp(source, "csv:", 4) == 0) {
        st = load_csv_pair(source, opt->label_column, opt->csv_header, train, test, err);
    } else {
        const char *dir = strcmp(source, "fashion-mnist") == 0 ? FASHION_MNIST_DIR : source;
        struct stat sb;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return dir == source
                       ? gd_fail(err->message, GD_ERR_INVALID_ARGUMENT,
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
    return st;
}
