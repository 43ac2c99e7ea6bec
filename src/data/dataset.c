/* A labelled data set in memory, its copies (head, split) and its getters. A data set owns
 * two arrays: features (n x sample_size floats, sample after sample) and labels. Images
 * read as uint8 are held as bytes instead (pixels) and turned into floats, p / 255 as
 * torchvision's ToTensor, as batches are gathered, or all at once when a caller asks for
 * the features array (preprocessing does): the same values, a quarter of the memory. */
#include "data.h"

#include <stdlib.h>
#include <string.h>

/* The most floats one array may hold: their byte count must fit a signed 64-bit size. */
#define MAX_FLOATS (INT64_MAX / (int64_t)sizeof(float))

bool gd_mul_within(int64_t a, int64_t b, int64_t limit, int64_t *product)
{
    if (a < 0 || b < 0 || (b > 0 && a > limit / b))
        return false;
    *product = a * b;
    return true;
}

/* The floats per sample of shape s and for n samples, checked to fit. */
static gd_status check_sizes(const gd_shape *s, int64_t n, int64_t *size, int64_t *total,
                             char *msg)
{
    if (s->ndim < 1 || s->ndim > GD_MAX_DIMS - 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "dataset: a sample has 1 to %d dimensions, not %d", GD_MAX_DIMS - 1,
                       s->ndim);
    *size = 1;
    for (int i = 0; i < s->ndim; i++)
        if (s->dims[i] < 1 || !gd_mul_within(*size, s->dims[i], MAX_FLOATS, size))
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                           "dataset: sample dimension %d is %lld", i, (long long)s->dims[i]);
    if (n < 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "dataset: n is %lld, must be >= 0",
                       (long long)n);
    if (!gd_mul_within(n, *size, MAX_FLOATS, total))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "dataset: %lld samples of %lld floats do not fit in memory", (long long)n,
                       (long long)*size);
    return GD_OK;
}

/* What n samples of size values (bytes or floats) and their labels take. */
static uint64_t dataset_bytes(int64_t n, int64_t total, bool as_pixels)
{
    return (uint64_t)total * (as_pixels ? 1 : sizeof(float)) + (uint64_t)n * sizeof(int32_t);
}

gd_status gd_dataset_check_memory(int64_t n, const gd_shape *s, bool as_pixels, const char *what,
                                  char *msg)
{
    int64_t size = 0, total = 0;
    gd_status st = check_sizes(s, n, &size, &total, msg);
    return st ? st : gd_check_memory(msg, what, dataset_bytes(n, total, as_pixels));
}

gd_status gd_dataset_adopt(gd_dataset **out, int64_t n, const gd_shape *s, bool as_pixels,
                           void *values, char *msg)
{
    *out = NULL;
    int64_t size = 0, total = 0;
    gd_status st = check_sizes(s, n, &size, &total, msg);
    if (st)
        return st;
    gd_dataset *ds = calloc(1, sizeof *ds);
    /* +1: an empty set (a zero-sized split) still gets a real pointer. */
    int32_t *labels = ds ? calloc((size_t)n + 1, sizeof(int32_t)) : NULL;
    if (!labels) {
        free(ds);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "dataset: out of memory for %lld labels",
                       (long long)n);
    }
    *ds = (gd_dataset){.n = n, .shape = *s, .sample_size = size, .num_classes = 1,
                       .labels = labels};
    if (as_pixels)
        ds->pixels = values;
    else
        ds->features = values;
    *out = ds;
    return GD_OK;
}

gd_status gd_dataset_alloc(gd_dataset **out, int64_t n, const gd_shape *s, bool as_pixels,
                           char *msg)
{
    *out = NULL;
    int64_t size = 0, total = 0;
    gd_status st = check_sizes(s, n, &size, &total, msg);
    char what[96];
    snprintf(what, sizeof what, "a data set of %lld samples of %lld values", (long long)n,
             (long long)size);
    if (st || (st = gd_check_memory(msg, what, dataset_bytes(n, total, as_pixels))))
        return st;
    void *values = malloc((size_t)total * (as_pixels ? 1 : sizeof(float)) + 1);
    if (!values)
        return gd_fail(msg, GD_ERR_NO_MEMORY,
                       "dataset: out of memory for %lld samples of %lld values", (long long)n,
                       (long long)size);
    if ((st = gd_dataset_adopt(out, n, s, as_pixels, values, msg)))
        free(values);
    return st;
}

gd_status gd_dataset_replace_features(gd_dataset *ds, int ndim, const int64_t *dims,
                                      float *features, char *msg)
{
    gd_shape s = {.ndim = ndim};
    for (int i = 0; i < ndim && i < GD_MAX_DIMS - 1; i++)
        s.dims[i] = dims[i];
    int64_t size = 0, total = 0;
    gd_status st = check_sizes(&s, ds->n, &size, &total, msg);
    if (st)
        return st;
    free(ds->features);
    free(ds->pixels);
    ds->features = features;
    ds->pixels = NULL;
    ds->shape = s;
    ds->sample_size = size;
    return GD_OK;
}

gd_status gd_dataset_create(gd_dataset **out, int64_t n, int ndim, const int64_t *sample_dims,
                            const float *features, const int32_t *labels, int num_classes,
                            gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!out || !sample_dims || (n > 0 && !features))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "dataset: NULL argument");
    *out = NULL;
    if (num_classes < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "dataset: num_classes is %d, must be >= 1",
                       num_classes);
    gd_shape s = {.ndim = ndim};
    for (int i = 0; i < ndim && i < GD_MAX_DIMS - 1; i++)
        s.dims[i] = sample_dims[i];
    for (int64_t i = 0; labels && i < n; i++)
        if (labels[i] < 0 || labels[i] >= num_classes)
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                           "dataset: label %lld is %d, outside [0, %d)", (long long)i, labels[i],
                           num_classes);
    gd_dataset *ds;
    gd_status st = gd_dataset_alloc(&ds, n, &s, false, msg);
    if (st)
        return st;
    memcpy(ds->features, features, (size_t)(n * ds->sample_size) * sizeof(float));
    if (labels)
        memcpy(ds->labels, labels, (size_t)n * sizeof(int32_t));
    ds->num_classes = num_classes;
    *out = ds;
    return GD_OK;
}

void gd_dataset_free(gd_dataset *ds)
{
    if (!ds)
        return;
    free(ds->features);
    free(ds->pixels);
    free(ds->labels);
    free(ds);
}

int64_t gd_dataset_size(const gd_dataset *ds) { return ds->n; }

int gd_dataset_sample_shape(const gd_dataset *ds, int64_t dims[GD_MAX_DIMS])
{
    for (int i = 0; i < ds->shape.ndim; i++)
        dims[i] = ds->shape.dims[i];
    return ds->shape.ndim;
}

int64_t gd_dataset_sample_size(const gd_dataset *ds) { return ds->sample_size; }
int gd_dataset_num_classes(const gd_dataset *ds) { return ds->num_classes; }
/* Pixels become floats here for good: a caller that asks for the array may write it. */
gd_status gd_dataset_as_floats(gd_dataset *ds, float **x, char *msg)
{
    *x = ds->features;
    if (!ds->pixels)
        return GD_OK;
    char what[96];
    snprintf(what, sizeof what, "%lld samples of %lld pixels as floats", (long long)ds->n,
             (long long)ds->sample_size);
    gd_status st = gd_check_memory(msg, what, (uint64_t)(ds->n * ds->sample_size) * sizeof(float));
    if (st)
        return st;
    if (!(*x = malloc((size_t)(ds->n * ds->sample_size) * sizeof(float) + 1)))
        return gd_fail(msg, GD_ERR_NO_MEMORY, "dataset: out of memory for %s", what);
    gd_dataset_gather(ds, NULL, ds->n, *x); /* rows NULL: every sample in order */
    free(ds->pixels);
    ds->pixels = NULL;
    ds->features = *x;
    return GD_OK;
}

float *gd_dataset_features(gd_dataset *ds)
{
    char scratch[GD_MSG_MAX];
    float *x;
    return gd_dataset_as_floats(ds, &x, scratch) ? NULL : x;
}

static void pixels_to_floats(const uint8_t *p, int64_t count, float *x)
{
    for (int64_t i = 0; i < count; i++)
        x[i] = (float)p[i] / 255.0f;
}

void gd_dataset_gather(const gd_dataset *ds, const int64_t *rows, int64_t m, float *x)
{
    int64_t size = ds->sample_size;
    /* Row copies are independent, so threads change nothing but the time. */
#pragma omp parallel for num_threads(gd_threads()) if (m * size > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < m; i++) {
        int64_t r = rows ? rows[i] : i;
        if (ds->pixels)
            pixels_to_floats(ds->pixels + r * size, size, x + i * size);
        else
            memcpy(x + i * size, ds->features + r * size, (size_t)size * sizeof(float));
    }
}
const int32_t *gd_dataset_labels(const gd_dataset *ds) { return ds->labels; }

/* A new data set of the m samples rows[0..m) of ds (rows NULL: the first m), with ds's
 * shape and classes. */
static gd_status copy_rows(const gd_dataset *ds, const int64_t *rows, int64_t m,
                           gd_dataset **out, char *msg)
{
    gd_status st = gd_dataset_alloc(out, m, &ds->shape, ds->pixels != NULL, msg);
    if (st)
        return st;
    int64_t size = ds->sample_size;
    for (int64_t i = 0; i < m; i++) {
        int64_t r = rows ? rows[i] : i;
        if (ds->pixels)
            memcpy((*out)->pixels + i * size, ds->pixels + r * size, (size_t)size);
        else
            memcpy((*out)->features + i * size, ds->features + r * size, (size_t)size * sizeof(float));
        (*out)->labels[i] = ds->labels[r];
    }
    (*out)->num_classes = ds->num_classes;
    return GD_OK;
}

gd_status gd_dataset_head(const gd_dataset *ds, int64_t n, gd_dataset **out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    *out = NULL;
    if (n < 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "dataset head: n is %lld, must be >= 0",
                       (long long)n);
    return copy_rows(ds, NULL, n < ds->n ? n : ds->n, out, msg);
}

/* Validation takes the first val_size positions of a Fisher-Yates permutation, in that
 * order (as torch.utils.data.random_split keeps its subsets); training keeps the others
 * in file order, so that a split changes nothing but which samples are held out. perm
 * holds n indices and held n flags, both scratch. */
static gd_status split_rows(const gd_dataset *ds, int64_t val_size, gd_rng *rng, int64_t *perm,
                            unsigned char *held, gd_dataset **train, gd_dataset **val,
                            char *msg)
{
    for (int64_t i = 0; i < ds->n; i++)
        perm[i] = i;
    gd_shuffle_prefix(perm, ds->n, val_size, rng);
    gd_status st = copy_rows(ds, perm, val_size, val, msg);
    if (st)
        return st;
    for (int64_t i = 0; i < val_size; i++)
        held[perm[i]] = 1;
    int64_t kept = 0;
    for (int64_t i = 0; i < ds->n; i++)
        if (!held[i])
            perm[kept++] = i;
    return copy_rows(ds, perm, kept, train, msg);
}

gd_status gd_dataset_split(const gd_dataset *ds, int64_t val_size, uint64_t seed,
                           gd_dataset **train, gd_dataset **val, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    *train = *val = NULL;
    if (val_size < 0 || val_size >= ds->n)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "dataset split: val_size is %lld, must be in [0, %lld) for %lld samples",
                       (long long)val_size, (long long)ds->n, (long long)ds->n);
    int64_t *perm = malloc((size_t)ds->n * sizeof *perm);
    unsigned char *held = calloc((size_t)ds->n, 1);
    gd_rng *rng = NULL;
    gd_status st = GD_ERR_NO_MEMORY;
    if (perm && held && gd_rng_create(&rng, seed) == GD_OK)
        st = split_rows(ds, val_size, rng, perm, held, train, val, msg);
    else
        gd_fail(msg, st, "dataset split: out of memory");
    gd_rng_free(rng);
    free(held);
    free(perm);
    if (st) {
        gd_dataset_free(*train);
        gd_dataset_free(*val);
        *train = *val = NULL;
    }
    return st;
}

/* Digits only: strtoll would also take spaces, a sign and "0x1f", which a shape never
 * means. Moves *p past the digits; 0 for none, -1 beyond INT64_MAX, else 1. */
static int parse_dim(const char **p, int64_t *v)
{
    const char *s = *p;
    bool overflow = false;
    for (*v = 0; *s >= '0' && *s <= '9'; s++) {
        int d = *s - '0';
        overflow = overflow || *v > (INT64_MAX - d) / 10;
        *v = overflow ? INT64_MAX : *v * 10 + d;
    }
    int got = s == *p ? 0 : overflow ? -1 : 1;
    *p = s;
    return got;
}

#define SHAPE_SYNTAX "expected positive whole numbers joined by x, e.g. 1x28x28"

gd_status gd_parse_shape(const char *text, int *ndim, int64_t dims[GD_MAX_DIMS - 1],
                         gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!text || !ndim || !dims)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "shape: NULL argument");
    *ndim = 0;
    const char *p = text;
    int64_t size = 1;
    for (;;) {
        int64_t v;
        int got = parse_dim(&p, &v);
        if (got == 0 || (got == 1 && v == 0))
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, SHAPE_SYNTAX);
        if (got < 0 || !gd_mul_within(size, v, MAX_FLOATS, &size))
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                           "more values a sample than fit in a 64-bit size");
        if (*ndim == GD_MAX_DIMS - 1)
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "at most %d dimensions",
                           GD_MAX_DIMS - 1);
        dims[(*ndim)++] = v;
        if (*p == '\0')
            return GD_OK;
        if (*p++ != 'x')
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, SHAPE_SYNTAX);
    }
}
gd_status gd_dataset_reshape(gd_dataset *ds, int ndim, const int64_t *dims, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!ds || !dims)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "dataset reshape: NULL argument");
    gd_shape s = {.ndim = ndim};
    for (int i = 0; i < ndim && i < GD_MAX_DIMS - 1; i++)
        s.dims[i] = dims[i];
    int64_t size = 0, total = 0;
    gd_status st = check_sizes(&s, ds->n, &size, &total, msg);
    if (st)
        return st;
    char text[96];
    if (size != ds->sample_size)
        return gd_fail(msg, GD_ERR_SHAPE,
                       "dataset reshape: %s holds %lld values, the samples have %lld",
                       gd_shape_str(&s, text, sizeof text), (long long)size,
                       (long long)ds->sample_size);
    ds->shape = s; /* the values stay where they are: a sample is row-major either way */
    return GD_OK;
}
