/* What each fuzz target does with one input, shared by the targets (fuzz/fuzz_*.c) and by
 * tests/test_fuzz_regressions.c, so that a saved crash is replayed through exactly the
 * code that found it. Header-only (static functions): the Makefile compiles the .c files of
 * tests/ and nothing from fuzz/, and the targets are built by fuzz/run.sh.
 *
 * Readers take paths, so the bytes go to a file named for the process (the fuzzers and
 * Criterion's forked tests never share one) under $TMPDIR, else /dev/shm, else /tmp.
 *
 * Inputs made of two files (IDX images and labels, two CIFAR-10 batches) are split by
 * fuzz_split: a 4-byte big-endian length L of the first file, that file, then the second;
 * an input whose L does not fit is one file, whole. Every fuzz_read_* returns the first
 * status that was not GD_OK (GD_OK when every read succeeded) with its message in err,
 * and aborts on a result that breaks the reader's contract, which libFuzzer reports as a
 * crash. */
#ifndef GD_FUZZ_READERS_H
#define GD_FUZZ_READERS_H

#include <gradus.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Small enough that a hostile header is refused at once, large enough for every seed. */
#define FUZZ_MEMORY_LIMIT ((uint64_t)64 << 20)

/* The model that checkpoints are loaded onto (fuzz/make_corpus.c saves its seeds from
 * the same). */
#define FUZZ_CHECKPOINT_SPEC "linear(4) bn relu dropout(0.25) linear(3)"
#define FUZZ_CHECKPOINT_FEATURES 5
#define FUZZ_CHECKPOINT_BATCH 4

/* Sample shapes that specs are built for, and that model files without
 * gradus.input_shape are loaded as: images and flat vectors. */
static const int64_t fuzz_image_shape[3] = {1, 8, 8};
static const int64_t fuzz_flat_shape[1] = {16};

/* Aborts with a message: a broken contract is a finding. */
#define FUZZ_REQUIRE(cond)                                                                \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: fuzz contract broken: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

static inline const char *fuzz_path(const char *name, char *buf, size_t len)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(buf, len, "%s/gradus-fuzz-%ld-%s", dir, (long)getpid(), name);
    return buf;
}

static inline void fuzz_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    FUZZ_REQUIRE(f != NULL);
    FUZZ_REQUIRE(len == 0 || fwrite(data, 1, len, f) == len);
    FUZZ_REQUIRE(fclose(f) == 0);
}

typedef struct fuzz_parts {
    int count;
    const uint8_t *data[2];
    size_t size[2];
} fuzz_parts;

static inline fuzz_parts fuzz_split(const uint8_t *data, size_t size)
{
    if (size >= 4) {
        uint32_t first = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                         (uint32_t)data[2] << 8 | data[3];
        if (first <= size - 4)
            return (fuzz_parts){2, {data + 4, data + 4 + first}, {first, size - 4 - first}};
    }
    return (fuzz_parts){1, {data, NULL}, {size, 0}};
}

/* ----------------------------------------------------------------- data sets */

/* What every data set a reader returns must satisfy. */
static inline void fuzz_check_dataset(gd_dataset *ds)
{
    int64_t dims[GD_MAX_DIMS], n = gd_dataset_size(ds), per = 1;
    int ndim = gd_dataset_sample_shape(ds, dims), classes = gd_dataset_num_classes(ds);
    FUZZ_REQUIRE(ndim >= 1 && ndim < GD_MAX_DIMS && n >= 1);
    for (int i = 0; i < ndim; i++) {
        FUZZ_REQUIRE(dims[i] >= 1);
        per *= dims[i];
    }
    FUZZ_REQUIRE(per == gd_dataset_sample_size(ds));
    FUZZ_REQUIRE(classes >= 1 && classes <= 256);
    const int32_t *labels = gd_dataset_labels(ds);
    for (int64_t i = 0; i < n; i++)
        FUZZ_REQUIRE(labels[i] >= 0 && labels[i] < classes);
    /* NULL is allowed: floats four times the size of the pixels may pass the limit. */
    const float *x = gd_dataset_features(ds);
    for (int64_t i = 0; x && i < n * per; i++)
        FUZZ_REQUIRE(isfinite(x[i]));
}

/* A reader's result: a data set exactly when GD_OK, a message when not. */
static inline gd_status fuzz_dataset_result(gd_status st, gd_dataset *ds, const gd_error *err)
{
    if (st == GD_OK)
        fuzz_check_dataset(ds);
    else
        FUZZ_REQUIRE(ds == NULL && err->message[0] != '\0');
    gd_dataset_free(ds);
    return st;
}

/* Keeps the first failure of several reads, with its message, in *first and err. */
static inline void fuzz_keep(gd_status *first, gd_error *err, gd_status st, const gd_error *e)
{
    if (*first == GD_OK && st != GD_OK) {
        *first = st;
        *err = *e;
    }
}

/* IDX images (part 1) and labels (part 2, when there is one). */
static inline gd_status fuzz_read_idx_files(const fuzz_parts *p, const char *suffix, gd_error *err)
{
    char images[256], labels[256], name[32];
    snprintf(name, sizeof name, "images%s", suffix);
    fuzz_path(name, images, sizeof images);
    snprintf(name, sizeof name, "labels%s", suffix);
    fuzz_path(name, labels, sizeof labels);
    gd_dataset *ds = NULL;
    gd_status st = gd_dataset_read_idx(&ds, images, p->count == 2 ? labels : NULL, err);
    st = fuzz_dataset_result(st, ds, err);
    unlink(images);
    if (p->count == 2)
        unlink(labels);
    return st;
}

static inline gd_status fuzz_read_idx(const uint8_t *data, size_t size, gd_error *err)
{
    fuzz_parts p = fuzz_split(data, size);
    char path[256];
    fuzz_write(fuzz_path("images", path, sizeof path), p.data[0], p.size[0]);
    if (p.count == 2)
        fuzz_write(fuzz_path("labels", path, sizeof path), p.data[1], p.size[1]);
    return fuzz_read_idx_files(&p, "", err);
}

/* A part that is already gzip (it starts with the magic 1f 8b) is written as it is, so
 * that the fuzzer can corrupt the stream itself; any other part is compressed here, so
 * that mutations reach the IDX header and body behind the decompression. */
static inline void fuzz_write_gzip(const char *path, const uint8_t *data, size_t size)
{
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        fuzz_write(path, data, size);
        return;
    }
    z_stream z = {0};
    FUZZ_REQUIRE(deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    uLong cap = deflateBound(&z, (uLong)size);
    unsigned char *out = malloc(cap);
    FUZZ_REQUIRE(out != NULL);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    FUZZ_REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    fuzz_write(path, out, z.total_out);
    deflateEnd(&z);
    free(out);
}

static inline gd_status fuzz_read_idx_gz(const uint8_t *data, size_t size, gd_error *err)
{
    fuzz_parts p = fuzz_split(data, size);
    char path[256];
    fuzz_write_gzip(fuzz_path("images.gz", path, sizeof path), p.data[0], p.size[0]);
    if (p.count == 2)
        fuzz_write_gzip(fuzz_path("labels.gz", path, sizeof path), p.data[1], p.size[1]);
    return fuzz_read_idx_files(&p, ".gz", err);
}

/* The whole input as one CSV file, read with the label first, with none and a header,
 * and with the label third. */
static inline gd_status fuzz_read_csv(const uint8_t *data, size_t size, gd_error *err)
{
    char path[256];
    fuzz_write(fuzz_path("data.csv", path, sizeof path), data, size);
    static const struct { int label_column; bool header; } modes[] = {{0, false}, {-1, true}, {2, false}};
    gd_status first = GD_OK;
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        gd_dataset *ds = NULL;
        gd_error e;
        gd_status st = gd_dataset_read_csv(&ds, path, modes[i].label_column, modes[i].header, &e);
        fuzz_keep(&first, err, fuzz_dataset_result(st, ds, &e), &e);
    }
    unlink(path);
    return first;
}

/* One or two CIFAR-10 batch files, read as one set. */
static inline gd_status fuzz_read_cifar10(const uint8_t *data, size_t size, gd_error *err)
{
    fuzz_parts p = fuzz_split(data, size);
    char a[256], b[256];
    const char *paths[2] = {fuzz_path("batch1.bin", a, sizeof a), fuzz_path("batch2.bin", b, sizeof b)};
    for (int i = 0; i < p.count; i++)
        fuzz_write(paths[i], p.data[i], p.size[i]);
    gd_dataset *ds = NULL;
    gd_status st = gd_dataset_read_cifar10(&ds, paths, p.count, err);
    st = fuzz_dataset_result(st, ds, err);
    for (int i = 0; i < p.count; i++)
        unlink(paths[i]);
    return st;
}

/* -------------------------------------------------------------------- models */

/* What every built model must satisfy; a small one also runs forward and backward on a
 * batch of 2 (shapes a builder got wrong show there as out-of-bounds accesses). */
static inline void fuzz_check_model(gd_model *m, bool run)
{
    int64_t in[GD_MAX_DIMS], out[GD_MAX_DIMS], per = 1;
    int ndim = gd_model_input_shape(m, in);
    FUZZ_REQUIRE(ndim >= 1 && ndim < GD_MAX_DIMS);
    FUZZ_REQUIRE(gd_model_output_shape(m, out) >= 1);
    for (int i = 0; i < ndim; i++)
        per *= in[i];
    gd_tensor params = gd_model_parameters_flat(m);
    int64_t batch = gd_model_max_batch(m) < 2 ? gd_model_max_batch(m) : 2;
    if (!run || per > 4096 || gd_tensor_numel(&params) > 20000)
        return;
    float *x = calloc((size_t)(batch * per), sizeof *x);
    FUZZ_REQUIRE(x != NULL);
    for (int64_t i = 0; i < batch * per; i++)
        x[i] = (float)(i % 7) - 3.0f;
    int64_t dims[GD_MAX_DIMS] = {batch};
    memcpy(dims + 1, in, (size_t)ndim * sizeof *in);
    gd_tensor input = gd_tensor_view(x, ndim + 1, dims);
    gd_status st = gd_model_forward(m, &input);
    if (st == GD_OK) {
        gd_tensor *g = gd_model_output_grad(m);
        for (int64_t i = 0; i < gd_tensor_numel(g); i++)
            g->data[i] = 1.0f;
        st = gd_model_backward(m);
    }
    FUZZ_REQUIRE(st == GD_OK || gd_model_error(m)[0] != '\0');
    free(x);
}

/* Builds spec text (NUL-terminated here) for images and for flat samples. */
static inline gd_status fuzz_read_spec(const uint8_t *data, size_t size, gd_error *err)
{
    char *text = malloc(size + 1);
    FUZZ_REQUIRE(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    const struct { int ndim; const int64_t *dims; } shapes[] = {{3, fuzz_image_shape}, {1, fuzz_flat_shape}};
    gd_status first = GD_OK;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        gd_model *m = NULL;
        gd_error e;
        gd_status st = gd_model_from_spec(&m, text, 1, shapes[i].ndim, shapes[i].dims, 2, &e);
        if (st == GD_OK) {
            FUZZ_REQUIRE(m != NULL && gd_model_spec(m) && strcmp(gd_model_spec(m), text) == 0);
            fuzz_check_model(m, true);
        } else {
            FUZZ_REQUIRE(m == NULL && e.message[0] != '\0');
        }
        gd_model_free(m);
        fuzz_keep(&first, err, st, &e);
    }
    free(text);
    return first;
}

static inline gd_status fuzz_model_result(gd_status st, gd_model *m, gd_preprocess *pre,
                                          const gd_error *err)
{
    if (st == GD_OK) {
        FUZZ_REQUIRE(m != NULL);
        fuzz_check_model(m, false);
    } else {
        FUZZ_REQUIRE(m == NULL && pre == NULL && err->message[0] != '\0');
    }
    gd_model_free(m);
    gd_preprocess_free(pre);
    return st;
}

/* The input as a model file: loaded with its preprocessing, and loaded for images. */
static inline gd_status fuzz_read_model(const uint8_t *data, size_t size, gd_error *err)
{
    char path[256];
    fuzz_write(fuzz_path("model.safetensors", path, sizeof path), data, size);
    gd_model *m = NULL;
    gd_preprocess *pre = NULL;
    gd_error e;
    gd_status first = GD_OK, st = gd_model_load(&m, &pre, path, 2, &e);
    fuzz_keep(&first, err, fuzz_model_result(st, m, pre, &e), &e);
    m = NULL;
    st = gd_model_load_as(&m, NULL, path, 3, fuzz_image_shape, 2, &e);
    fuzz_keep(&first, err, fuzz_model_result(st, m, NULL, &e), &e);
    unlink(path);
    return first;
}

/* The model and the optimisers (Adam: two state tensors; SGD with momentum: one) that
 * checkpoints are loaded onto; built once per process. */
typedef struct fuzz_run {
    gd_model *m;
    gd_optimizer *opt[2];
} fuzz_run;

static inline fuzz_run *fuzz_checkpoint_run(void)
{
    static fuzz_run run;
    if (run.m)
        return &run;
    gd_error err;
    gd_status st = gd_model_from_spec(&run.m, FUZZ_CHECKPOINT_SPEC, 1, 1,
                                      (int64_t[]){FUZZ_CHECKPOINT_FEATURES}, FUZZ_CHECKPOINT_BATCH, &err);
    FUZZ_REQUIRE(st == GD_OK);
    gd_optim_config adam = gd_optim_defaults(GD_OPTIM_ADAM), sgd = gd_optim_defaults(GD_OPTIM_SGD);
    sgd.momentum = 0.9;
    FUZZ_REQUIRE(gd_optim_create(&run.opt[0], run.m, &adam) == GD_OK);
    FUZZ_REQUIRE(gd_optim_create(&run.opt[1], run.m, &sgd) == GD_OK);
    return &run;
}

/* The input as a checkpoint, loaded onto the Adam run and onto the SGD one; a refused
 * one must leave the parameters as they were ("everything is checked before anything
 * changes"). */
static inline gd_status fuzz_read_checkpoint(const uint8_t *data, size_t size, gd_error *err)
{
    fuzz_run *run = fuzz_checkpoint_run();
    char path[256], state[64];
    fuzz_write(fuzz_path("checkpoint.safetensors", path, sizeof path), data, size);
    gd_tensor params = gd_model_parameters_flat(run->m);
    size_t bytes = (size_t)gd_tensor_numel(&params) * sizeof(float);
    float *before = malloc(bytes);
    FUZZ_REQUIRE(before != NULL);
    gd_status first = GD_OK;
    for (int i = 0; i < 2; i++) {
        int64_t epoch = -1;
        gd_error e;
        memcpy(before, params.data, bytes);
        gd_status st = gd_checkpoint_load(run->m, run->opt[i], &epoch, state, sizeof state, path, &e);
        if (st == GD_OK)
            FUZZ_REQUIRE(memchr(state, '\0', sizeof state) != NULL);
        else
            FUZZ_REQUIRE(e.message[0] != '\0' && memcmp(before, params.data, bytes) == 0);
        fuzz_keep(&first, err, st, &e);
    }
    free(before);
    unlink(path);
    return first;
}

/* --------------------------------------------------------------- shape text */

/* The input (NUL-terminated here) as a shape: gd_parse_shape, then as --csv-shape through
 * gd_data_load on a CSV of two rows of 12 features (3x4, 1x3x4, 3x2x2 ... fit). What
 * parses must be digits joined by x whose product fits, and must read back the same from
 * its own printing; what --csv-shape accepts must give both sets a 3-d shape of 12 (""
 * leaves them flat). */
#define FUZZ_SHAPE_FEATURES 12

static inline void fuzz_check_shape(const char *text, int ndim, const int64_t *dims)
{
    FUZZ_REQUIRE(ndim >= 1 && ndim <= GD_MAX_DIMS - 1);
    FUZZ_REQUIRE(strspn(text, "0123456789x") == strlen(text));
    char printed[128];
    size_t at = 0;
    int64_t product = 1;
    for (int i = 0; i < ndim; i++) {
        FUZZ_REQUIRE(dims[i] >= 1 && product <= INT64_MAX / dims[i]);
        product *= dims[i];
        at += (size_t)snprintf(printed + at, sizeof printed - at, i ? "x%lld" : "%lld",
                               (long long)dims[i]);
    }
    int again = 0;
    int64_t back[GD_MAX_DIMS - 1];
    gd_error e;
    FUZZ_REQUIRE(gd_parse_shape(printed, &again, back, &e) == GD_OK && again == ndim);
    FUZZ_REQUIRE(memcmp(back, dims, (size_t)ndim * sizeof *dims) == 0);
}

static inline void fuzz_check_csv_shape(const char *text, gd_status st, gd_dataset *train,
                                        gd_dataset *test, const gd_error *e)
{
    if (st != GD_OK) {
        FUZZ_REQUIRE(train == NULL && test == NULL && e->message[0] != '\0');
        return;
    }
    gd_dataset *sets[2] = {train, test};
    for (int i = 0; i < 2; i++) {
        int64_t dims[GD_MAX_DIMS];
        int ndim = gd_dataset_sample_shape(sets[i], dims);
        if (text[0] == '\0') /* "": the rows stay flat */
            FUZZ_REQUIRE(ndim == 1 && dims[0] == FUZZ_SHAPE_FEATURES);
        else
            FUZZ_REQUIRE(ndim == 3 && dims[0] * dims[1] * dims[2] == FUZZ_SHAPE_FEATURES);
        fuzz_check_dataset(sets[i]);
        gd_dataset_free(sets[i]);
    }
}

static inline gd_status fuzz_read_shape(const uint8_t *data, size_t size, gd_error *err)
{
    char *text = malloc(size + 1);
    FUZZ_REQUIRE(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    int ndim = 0;
    int64_t dims[GD_MAX_DIMS - 1];
    gd_status first = gd_parse_shape(text, &ndim, dims, err);
    if (first == GD_OK)
        fuzz_check_shape(text, ndim, dims);
    else
        FUZZ_REQUIRE(err->message[0] != '\0');
    char path[256], source[600];
    fuzz_path("shape.csv", path, sizeof path);
    static const char rows[] = "0,1,2,3,4,5,6,7,8,9,10,11,12\n1,2,3,4,5,6,7,8,9,10,11,12,13\n";
    fuzz_write(path, rows, sizeof rows - 1);
    snprintf(source, sizeof source, "csv:%s,%s", path, path);
    gd_data_options opt = {.label_column = 0, .csv_shape = text};
    gd_dataset *train = NULL, *test = NULL;
    gd_error e;
    gd_status st = gd_data_load(source, &opt, &train, &test, &e);
    fuzz_check_csv_shape(text, st, train, test, &e);
    fuzz_keep(&first, err, st, &e);
    unlink(path);
    free(text);
    return first;
}

/* A search space's text: each line through gd_space_add, then bound against a spec with a
 * {width} placeholder; a bound space's first trials of each sampler lie in their ranges,
 * read back through gd_settings_set, and fill the spec. */
static inline void fuzz_check_point(const gd_space *sp, const gd_trial_point *p)
{
    for (int i = 0; i < p->count; i++) {
        const gd_param_info *q = gd_space_param(sp, i);
        if (!p->active[i] || q->kind == GD_PARAM_CHOICE)
            continue;
        FUZZ_REQUIRE(p->value[i] >= q->lo && p->value[i] <= q->hi);
        FUZZ_REQUIRE(strtod(p->text[i], NULL) == p->value[i]);
    }
}

static inline gd_status fuzz_read_space(const uint8_t *data, size_t size, gd_error *err)
{
    char path[256];
    fuzz_path("space.txt", path, sizeof path);
    fuzz_write(path, data, size);
    gd_space *sp = NULL;
    FUZZ_REQUIRE(gd_space_create(&sp) == GD_OK);
    gd_status st = gd_space_read(sp, path, err);
    if (st != GD_OK)
        FUZZ_REQUIRE(err->message[0] != '\0');
    static const char spec[] = "linear({width}) relu linear(3)";
    gd_status bound = gd_space_count(sp) > 0 ? gd_space_bind(sp, spec, err) : GD_ERR_STATE;
    for (int k = 0; bound == GD_OK && k < 3; k++) {
        gd_sampler_options opt = {.kind = (gd_sampler_kind)k, .seed = 7, .grid_points = 2};
        gd_trial_point p;
        gd_error e;
        if (gd_space_sample(sp, &opt, (uint64_t)k, &p, &e) != GD_OK)
            continue;
        fuzz_check_point(sp, &p);
        gd_settings s;
        gd_settings_defaults(&s);
        gd_status applied = gd_space_apply(sp, &p, &s, &e);
        FUZZ_REQUIRE(applied == GD_OK || e.message[0] != '\0');
        gd_settings_free(&s);
    }
    gd_space_free(sp);
    unlink(path);
    return st;
}

/* A study journal: gd_study_load always loads (warnings for what it skips), and every
 * trial it gives is whole: a known state, a curve no longer than its length, a best that
 * is on the curve. */
static inline gd_status fuzz_read_journal(const uint8_t *data, size_t size, gd_error *err)
{
    char path[256];
    fuzz_path("journal.jsonl", path, sizeof path);
    fuzz_write(path, data, size);
    gd_study *st = NULL;
    gd_status s = gd_study_load(&st, path, err);
    FUZZ_REQUIRE(s == GD_OK || s == GD_ERR_LIMIT || s == GD_ERR_NO_MEMORY);
    for (size_t i = 0; st && i < gd_study_trial_count(st); i++) {
        const gd_trial_record *r = gd_study_trial(st, i);
        FUZZ_REQUIRE(r->state >= GD_TRIAL_RUNNING && r->state <= GD_TRIAL_FAILED);
        FUZZ_REQUIRE(r->curve_len >= 0 && r->curve_len <= GD_STUDY_MAX_EPOCHS);
        FUZZ_REQUIRE(r->message != NULL);
        if (!isnan(r->best_val_accuracy))
            FUZZ_REQUIRE(r->best_epoch >= 1 && r->best_epoch <= r->curve_len &&
                         r->curve[r->best_epoch - 1] == r->best_val_accuracy);
        FUZZ_REQUIRE(i == 0 || gd_study_trial(st, i - 1)->trial < r->trial);
    }
    for (size_t i = 0; st && i < gd_study_warning_count(st) && i < GD_STUDY_MAX_WARNINGS; i++)
        FUZZ_REQUIRE(gd_study_warning(st, i) == NULL || gd_study_warning(st, i)[0] != '\0');
    gd_study_free(st);
    unlink(path);
    return s;
}

#endif
