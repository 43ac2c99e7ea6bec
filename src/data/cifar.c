/* CIFAR-10, binary version (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html):
 * records of 1 label byte (0 to 9) and 3072 pixel bytes, the red, green and blue 32 x 32
 * planes row-major. That is already channel-major, so a record becomes a 3 x 32 x 32
 * sample as it stands, pixels x / 255 in float32 as torchvision's ToTensor. The files of a
 * set (data_batch_1.bin to data_batch_5.bin) are read in the order given, as one. */
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_PIXELS 3072
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_CLASSES 10

/* The number of records in path, from its size, which must be a whole number of them. */
static gd_status count_records(const char *path, int64_t *n, char *msg)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return gd_fail(msg, GD_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return gd_fail(msg, GD_ERR_IO, "%s: not a regular file", path);
    if (sb.st_size == 0 || sb.st_size % CIFAR_RECORD)
        return gd_fail(msg, GD_ERR_FORMAT,
                       "%s: size %lld is not a positive multiple of the %d-byte record", path,
                       (long long)sb.st_size, CIFAR_RECORD);
    *n = sb.st_size / CIFAR_RECORD;
    return GD_OK;
}

/* Records [0, count) of f into samples first, first + 1, ... of ds. */
static gd_status read_records(FILE *f, const char *path, int64_t count, gd_dataset *ds,
                              int64_t first, char *msg)
{
    unsigned char rec[CIFAR_RECORD];
    for (int64_t r = 0; r < count; r++) {
        if (fread(rec, 1, sizeof rec, f) != sizeof rec)
            return ferror(f) ? gd_fail(msg, GD_ERR_IO, "%s: %s", path, strerror(errno))
                             : gd_fail(msg, GD_ERR_FORMAT,
                                       "%s: truncated: file ends in record %lld of %lld", path,
                                       (long long)r, (long long)count);
        if (rec[0] >= CIFAR_CLASSES)
            return gd_fail(msg, GD_ERR_FORMAT,
                           "%s: record %lld (byte %lld): label %d, CIFAR-10's are 0 to %d", path,
                           (long long)r, (long long)(r * CIFAR_RECORD), rec[0],
                           CIFAR_CLASSES - 1);
        float *x = ds->features + (first + r) * CIFAR_PIXELS;
        for (int i = 0; i < CIFAR_PIXELS; i++)
            x[i] = (float)rec[1 + i] / 255.0f;
        ds->labels[first + r] = rec[0];
    }
    return GD_OK;
}

static gd_status read_file(const char *path, int64_t count, gd_dataset *ds, int64_t first,
                           char *msg)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return gd_fail(msg, GD_ERR_IO, "%s: %s", path, strerror(errno));
    gd_status st = read_records(f, path, count, ds, first, msg);
    fclose(f);
    return st;
}

/* counts[i] records from paths[i], one after another. */
static gd_status read_files(const char *const *paths, int npaths, const int64_t *counts,
                            int64_t total, gd_dataset **out, char *msg)
{
    gd_shape s = {.ndim = 3, .dims = {3, 32, 32}};
    char what[GD_MSG_MAX / 2];
    snprintf(what, sizeof what, "%s%s: %lld images of 3 x 32 x 32 as floats", paths[0],
             npaths > 1 ? " and the files after it" : "", (long long)total);
    gd_status st = gd_dataset_check_memory(total, &s, false, what, msg);
    if (!st)
        st = gd_dataset_alloc(out, total, &s, false, msg);
    for (int64_t i = 0, first = 0; i < npaths && !st; first += counts[i++])
        st = read_file(paths[i], counts[i], *out, first, msg);
    if (st) {
        gd_dataset_free(*out);
        *out = NULL;
        return st;
    }
    (*out)->num_classes = CIFAR_CLASSES;
    return GD_OK;
}

gd_status gd_dataset_read_cifar10(gd_dataset **out, const char *const *paths, int npaths,
                                  gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!out || !paths || npaths < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "read_cifar10: no files given");
    *out = NULL;
    int64_t *counts = malloc((size_t)npaths * sizeof *counts), total = 0;
    if (!counts)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "read_cifar10: out of memory");
    /* Sizes first, so that one allocation holds every file. */
    gd_status st = GD_OK;
    for (int i = 0; i < npaths && !st; i++) {
        st = count_records(paths[i], &counts[i], msg);
        total += st ? 0 : counts[i];
    }
    if (!st)
        st = read_files(paths, npaths, counts, total, out, msg);
    free(counts);
    return st;
}

/* The folder that holds the batches: dir itself, or the cifar-10-batches-bin folder that
 * the archive (cifar-10-binary.tar.gz) unpacks into it. */
static bool holds_batches(const char *dir)
{
    char path[4096];
    struct stat sb;
    return snprintf(path, sizeof path, "%s/test_batch.bin", dir) < (int)sizeof path &&
           stat(path, &sb) == 0;
}

#define CIFAR_DIR_FILES \
    "data_batch_1.bin to data_batch_5.bin and test_batch.bin (CIFAR-10's binary version)"

/* paths[i] = base/names[i]; each must exist, else the message names it. */
static gd_status batch_paths(const char *base, bool train, char *paths[5], int *n, char *msg)
{
    *n = train ? 5 : 1;
    for (int i = 0; i < *n; i++) {
        char name[32];
        snprintf(name, sizeof name, train ? "data_batch_%d.bin" : "test_batch.bin", i + 1);
        size_t len = strlen(base) + sizeof name + 2;
        if (!(paths[i] = malloc(len)))
            return gd_fail(msg, GD_ERR_NO_MEMORY, "read_cifar10_dir: out of memory");
        snprintf(paths[i], len, "%s/%s", base, name);
        struct stat sb;
        if (stat(paths[i], &sb) != 0)
            return gd_fail(msg, GD_ERR_IO, "%.80s: %s; the folder must hold " CIFAR_DIR_FILES,
                           paths[i], strerror(errno));
    }
    return GD_OK;
}

gd_status gd_dataset_read_cifar10_dir(gd_dataset **out, const char *dir, bool train,
                                      gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!out || !dir)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "read_cifar10_dir: NULL argument");
    *out = NULL;
    char nested[4096];
    bool fits = snprintf(nested, sizeof nested, "%s/cifar-10-batches-bin", dir) <
                (int)sizeof nested;
    const char *base = fits && !holds_batches(dir) && holds_batches(nested) ? nested : dir;
    char *paths[5] = {0};
    int n = 0;
    gd_status st = batch_paths(base, train, paths, &n, msg);
    if (!st)
        st = gd_dataset_read_cifar10(out, (const char *const *)paths, n, err);
    for (int i = 0; i < 5; i++)
        free(paths[i]);
    return st;
}
