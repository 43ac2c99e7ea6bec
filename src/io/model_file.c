/* Model files: a model's state_dict and preprocessing in safetensors, with the spec and the
 * input shape as metadata, so that loading rebuilds the model and then fills it. */
#include "model_file.h"

#include "../model/model.h"
#include "../preprocess/preprocess.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "784" or "1,28,28": the metadata form of a per-sample shape. */
static const char *dims_text(int ndim, const int64_t *dims, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndim && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, i ? ",%lld" : "%lld", (long long)dims[i]);
    return buf;
}

/* Parses dims_text's form strictly; returns the number of dimensions, or 0 when text is
 * not 1 to GD_MAX_DIMS - 1 positive integers separated by commas. A file could name any
 * size, so a sample is capped at GD_SAMPLE_MAX values before a model is built for it. */
#define GD_SAMPLE_MAX INT32_MAX
static int parse_dims(const char *text, int64_t dims[GD_MAX_DIMS])
{
    int ndim = 0;
    int64_t numel = 1;
    for (const char *p = text;; p++) {
        if (ndim == GD_MAX_DIMS - 1 || !isdigit((unsigned char)*p))
            return 0;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 1 || v > GD_SAMPLE_MAX / numel)
            return 0;
        numel *= v;
        dims[ndim++] = v;
        p = end;
        if (*p == '\0')
            return ndim;
        if (*p != ',')
            return 0;
    }
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int64_t product(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    return n;
}

/* Whether the preprocessing turns raw samples into the model's input; if not, why says
 * so. The values must agree in number, not in shape: an MLP reads 1 x 28 x 28 images as
 * vectors of 784. */
static bool preprocess_fits(const gd_model *m, const gd_preprocess *pre, char *why, size_t len)
{
    int64_t want[GD_MAX_DIMS], got[GD_MAX_DIMS];
    int nw = gd_model_input_shape(m, want), ng = gd_preprocess_output_shape(pre, got);
    if (product(nw, want) == product(ng, got))
        return true;
    char a[64], b[64];
    snprintf(why, len, "preprocessing %s gives samples of shape %s; the model takes %s",
             gd_preprocess_spec(pre), dims_text(ng, got, a, sizeof a), dims_text(nw, want, b, sizeof b));
    return false;
}

static void add_preprocess(gd_st_writer *w, const gd_preprocess *pre)
{
    char shape[64];
    int64_t dims[GD_MAX_DIMS];
    int ndim = pre ? gd_preprocess_input_shape(pre, dims) : 0;
    for (size_t i = 0; pre && i < gd_preprocess_tensor_count(pre); i++) {
        const gd_named_tensor *t = gd_preprocess_tensor_at(pre, i);
        gd_st_add(w, t->name, GD_DTYPE_F32, t->value.ndim, t->value.dims, t->value.data);
    }
    gd_st_add_metadata(w, "gradus.preprocess", pre ? gd_preprocess_spec(pre) : "none");
    /* The raw data's shape: pca and whitening change it, and a loader needs both. */
    if (pre)
        gd_st_add_metadata(w, "gradus.preprocess_input_shape", dims_text(ndim, dims, shape, sizeof shape));
}

gd_status gd_model_file_add(gd_st_writer *w, const gd_model *m, const gd_preprocess *pre,
                            const char *path)
{
    if (w->status != GD_OK)
        return w->status;
    if (!gd_model_spec(m))
        return w->status = gd_fail(w->msg, GD_ERR_STATE,
                                   "%s: the model was not built from a spec; saving needs one", path);
    char why[GD_MSG_MAX];
    if (pre && !preprocess_fits(m, pre, why, sizeof why))
        return w->status = gd_fail(w->msg, GD_ERR_SHAPE, "%s: %s", path, why);
    for (size_t i = 0; i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        const void *data = t->dtype == GD_DTYPE_I64 ? (const void *)t->i64 : t->value.data;
        gd_st_add(w, t->name, t->dtype, t->value.ndim, t->value.dims, data);
    }
    char shape[64];
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_model_input_shape(m, dims);
    gd_st_add_metadata(w, "format", "pt"); /* what PyTorch's own files say */
    gd_st_add_metadata(w, "gradus.version", GD_VERSION_STRING);
    gd_st_add_metadata(w, "gradus.spec", gd_model_spec(m));
    gd_st_add_metadata(w, "gradus.input_shape", dims_text(ndim, dims, shape, sizeof shape));
    add_preprocess(w, pre);
    return w->status;
}

gd_status gd_model_save(gd_model *m, const gd_preprocess *pre, const char *path, gd_error *err)
{
    char local[GD_MSG_MAX];
    char *msg = err ? err->message : local;
    if (!m || !path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gd_model_save: the %s is NULL",
                       m ? "path" : "model");
    gd_st_writer w;
    gd_st_writer_init(&w, msg);
    gd_status st = gd_model_file_add(&w, m, pre, path);
    if (st == GD_OK)
        st = gd_st_write(&w, path);
    gd_st_writer_free(&w);
    return st;
}

/* ------------------------------------------------------------------ loading */

static const char *dtype_str(gd_dtype d) { return d == GD_DTYPE_I64 ? "I64" : "F32"; }

static bool allowed_extra(const gd_st_file *f, const char *name)
{
    if (has_prefix(name, GD_FILE_PREPROCESS_PREFIX))
        return true;
    return gd_st_metadata(f, GD_FILE_OPTIM_KIND) &&
           (has_prefix(name, GD_FILE_OPTIM_PREFIX) || strcmp(name, GD_FILE_RNG_STATE) == 0);
}

static gd_status check_tensor(const gd_st_file *f, const gd_named_tensor *t)
{
    const gd_st_entry *e = gd_st_find(f, t->name);
    if (!e)
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s is missing (the spec has it)", t->name);
    if (e->dtype != t->dtype)
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s has dtype %s; the spec gives %s", t->name,
                          dtype_str(e->dtype), dtype_str(t->dtype));
    bool same = e->ndim == t->value.ndim;
    for (int i = 0; same && i < e->ndim; i++)
        same = e->dims[i] == t->value.dims[i];
    if (same)
        return GD_OK;
    char got[96], want[96];
    return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s has shape %s; the spec gives %s", t->name,
                      gd_st_shape_str(e->ndim, e->dims, got, sizeof got),
                      gd_st_shape_str(t->value.ndim, t->value.dims, want, sizeof want));
}

gd_status gd_model_file_check(const gd_st_file *f, const gd_model *m)
{
    /* Which entries the model claims, so that each side is looked up once: with
     * thousands of tensors, a search of the model for every entry took seconds. */
    bool *claimed = calloc(f->count + 1, sizeof *claimed);
    if (!claimed)
        return gd_st_fail(f, GD_ERR_NO_MEMORY, "out of memory for %zu tensors", f->count);
    gd_status st = GD_OK;
    for (size_t i = 0; st == GD_OK && i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        if ((st = check_tensor(f, t)) == GD_OK)
            claimed[gd_st_find(f, t->name) - f->entries] = true;
    }
    for (size_t i = 0; st == GD_OK && i < f->count; i++) {
        const char *name = f->entries[i].name;
        if (!claimed[i] && !allowed_extra(f, name))
            st = gd_st_fail(f, GD_ERR_FORMAT, "tensor %s is not in the model its spec describes",
                            name);
    }
    free(claimed);
    return st;
}

void gd_model_file_copy(const gd_st_file *f, const gd_model *m)
{
    for (size_t i = 0; i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        const gd_st_entry *e = gd_st_find(f, t->name);
        if (t->dtype == GD_DTYPE_I64)
            memcpy(t->i64, e->data, sizeof *t->i64);
        else
            memcpy(t->value.data, e->data, (size_t)e->numel * sizeof(float));
    }
}

/* Reads a shape from the metadata; a missing key or a malformed value fails. */
static gd_status metadata_dims(const gd_st_file *f, const char *key, int64_t dims[GD_MAX_DIMS],
                               int *ndim)
{
    const char *text = gd_st_metadata(f, key);
    if (!text)
        return gd_st_fail(f, GD_ERR_FORMAT, "no %s in its metadata", key);
    if (!(*ndim = parse_dims(text, dims)))
        return gd_st_fail(f, GD_ERR_FORMAT, "%s is \"%.40s\"; it must be a shape like 784 or 1,28,28 "
                          "(fewer than 2^31 values)",
                          key, text);
    return GD_OK;
}

/* The build's check: the file holds the spec's tensors, before the spec's sizes are
 * allocated (a 168-byte file could otherwise ask for gigabytes and only then be found
 * to lack them). The message, in the file's msg, is copied for the model. */
typedef struct file_check {
    const gd_st_file *f;
    bool failed;       /* its message is in f->msg */
    bool forward_only; /* the model is for inference: planned so before it allocates */
} file_check;

static gd_status check_before_allocating(void *ctx, const gd_model *m, char *msg)
{
    file_check *c = ctx;
    if (c->forward_only) /* the model being built, handed over as const for the check */
        gd_model_mark_forward_only((gd_model *)m);
    gd_status st = gd_model_file_check(c->f, m);
    c->failed = st != GD_OK;
    if (c->failed)
        snprintf(msg, GD_MSG_MAX, "%s", c->f->msg);
    return st;
}

/* The shape a sample given by the caller has (gd_model_load_as), or none (ndim 0). */
typedef struct given_shape {
    int ndim;
    const int64_t *dims;
} given_shape;

/* The input shape to build for: the file's gradus.input_shape; else, for a file without
 * it (PyTorch's state_dict knows no input shape), what the first layer's weight fixes (a
 * first linear's "0.weight" is out x in: samples of in features); else the caller's. A
 * first convolution's weight fixes the channels but not the planes, so it needs the
 * caller's shape, which the build then checks. */
static gd_status input_shape(const gd_st_file *f, const char *spec, given_shape given,
                             int64_t dims[GD_MAX_DIMS], int *ndim, bool *from_caller)
{
    *from_caller = false;
    if (gd_st_metadata(f, "gradus.input_shape"))
        return metadata_dims(f, "gradus.input_shape", dims, ndim);
    const gd_st_entry *w = gd_st_find(f, "0.weight");
    if (w && w->ndim == 2 && w->dims[1] >= 1 && w->dims[1] <= GD_SAMPLE_MAX &&
        gd_spec_starts_with_linear(spec)) {
        dims[0] = w->dims[1];
        *ndim = 1;
        return GD_OK;
    }
    if (given.ndim > 0) {
        for (int i = 0; i < given.ndim; i++)
            dims[i] = given.dims[i];
        *ndim = given.ndim;
        *from_caller = true;
        return GD_OK;
    }
    return gd_st_fail(f, GD_ERR_FORMAT,
                      "no gradus.input_shape in its metadata, and no first linear layer's 0.weight "
                      "to take it from (a file PyTorch wrote: give the data's sample shape, "
                      "gd_model_load_as; docs/pytorch.md)");
}

static gd_status build_model(const gd_st_file *f, given_shape given, int64_t max_batch,
                             bool forward_only, gd_model **m)
{
    const char *spec = gd_st_metadata(f, "gradus.spec");
    if (!spec)
        return gd_st_fail(f, GD_ERR_FORMAT, "no gradus.spec in its metadata (not a gradus model file?)");
    int64_t dims[GD_MAX_DIMS];
    int ndim = 0;
    bool from_caller;
    gd_status st = input_shape(f, spec, given, dims, &ndim, &from_caller);
    if (st != GD_OK)
        return st;
    gd_error e;
    file_check check = {.f = f, .forward_only = forward_only};
    if ((st = gd_model_from_spec_checked(m, spec, 0, ndim, dims, max_batch,
                                         check_before_allocating, &check, &e)) == GD_OK)
        return GD_OK;
    *m = NULL;
    if (check.failed) /* the file's fault, said whole in f->msg: no "gradus.spec:" in front */
        return st;
    /* A spec that does not build is the file's fault, unless memory ran out or the
     * model is beyond the memory limit (a caller may raise it). */
    bool memory = st == GD_ERR_NO_MEMORY || st == GD_ERR_LIMIT;
    char shape[64];
    if (from_caller && st == GD_ERR_SHAPE) /* the data's shape, not the file, may be wrong */
        return gd_st_fail(f, GD_ERR_FORMAT, "no gradus.input_shape in its metadata, and for the "
                          "data's samples of %s the spec fails: %.120s",
                          dims_text(ndim, dims, shape, sizeof shape), e.message);
    return gd_st_fail(f, memory ? st : GD_ERR_FORMAT, "gradus.spec: %s", e.message);
}

static const gd_tensor *lookup(void *ctx, const char *name)
{
    const gd_st_entry *e = gd_st_find(ctx, name);
    return e && e->dtype == GD_DTYPE_F32 ? &e->view : NULL;
}

static gd_status restore_preprocess(const gd_st_file *f, const gd_model *m, gd_preprocess **pre)
{
    const char *spec = gd_st_metadata(f, "gradus.preprocess");
    if (!spec || strcmp(spec, "none") == 0)
        return GD_OK;
    int64_t dims[GD_MAX_DIMS];
    int ndim = 0;
    gd_status st = metadata_dims(f, "gradus.preprocess_input_shape", dims, &ndim);
    char why[GD_MSG_MAX];
    if (st == GD_OK &&
        (st = gd_preprocess_restore(pre, spec, ndim, dims, lookup, (void *)f, why)) != GD_OK)
        return gd_st_fail(f, st, "preprocessing: %s", why);
    if (st == GD_OK && !preprocess_fits(m, *pre, why, sizeof why))
        return gd_st_fail(f, GD_ERR_FORMAT, "%s", why);
    return st;
}

static gd_status load(gd_model **out, gd_preprocess **pre, const char *path, int ndim,
                      const int64_t *sample_dims, int64_t max_batch, bool forward_only,
                      gd_error *err);

gd_status gd_model_load(gd_model **out, gd_preprocess **pre, const char *path, int64_t max_batch,
                        gd_error *err)
{
    return load(out, pre, path, 0, NULL, max_batch, false, err);
}

gd_status gd_model_load_as(gd_model **out, gd_preprocess **pre, const char *path, int ndim,
                           const int64_t *sample_dims, int64_t max_batch, gd_error *err)
{
    return load(out, pre, path, ndim, sample_dims, max_batch, false, err);
}

gd_status gd_model_load_for_inference(gd_model **out, gd_preprocess **pre, const char *path,
                                      int ndim, const int64_t *sample_dims, int64_t max_batch,
                                      gd_error *err)
{
    return load(out, pre, path, ndim, sample_dims, max_batch, true, err);
}

static gd_status load(gd_model **out, gd_preprocess **pre, const char *path, int ndim,
                      const int64_t *sample_dims, int64_t max_batch, bool forward_only,
                      gd_error *err)
{
    char local[GD_MSG_MAX];
    char *msg = err ? err->message : local;
    if (out)
        *out = NULL;
    if (pre)
        *pre = NULL;
    if (!out || !path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gd_model_load: the %s is NULL",
                       out ? "path" : "output pointer");
    if (ndim < 0 || ndim > GD_MAX_DIMS - 1 || (ndim > 0 && !sample_dims))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "%s: a sample shape has 0 (none) to %d dimensions, got %d%s", path,
                       GD_MAX_DIMS - 1, ndim, ndim > 0 && !sample_dims ? " and no dims" : "");
    if (max_batch < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s: max_batch must be >= 1, got %lld", path,
                       (long long)max_batch);
    gd_st_file f;
    gd_model *m = NULL;
    gd_preprocess *p = NULL;
    gd_status st = gd_st_read(&f, path, msg);
    if (st == GD_OK)
        st = build_model(&f, (given_shape){ndim, sample_dims}, max_batch, forward_only, &m);
    if (st == GD_OK && pre)
        st = restore_preprocess(&f, m, &p);
    if (st == GD_OK) {
        gd_model_file_copy(&f, m);
        *out = m;
        if (pre)
            *pre = p;
    } else {
        gd_model_free(m);
        gd_preprocess_free(p);
    }
    gd_st_close(&f);
    return st;
}
