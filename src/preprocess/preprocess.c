/* The preprocessing object: its spec, its tensors, fitting and restoring it.
 *
 * Every kind is (x - mean) followed by nothing, a division or a matrix, so a transform is
 * its kind, the raw sample shape and a few named statistics; fitting computes them from
 * the training set and restoring reads them back from a model file, through the same
 * tensor plan, so the two can never disagree on names or shapes. */
#include "../data/data.h"
#include "transform.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALID_FORMS \
    "valid forms: none, center, center-channel, standardize, pca:K, whiten, whiten:K, zca"

/* The eigendecomposition's workspace (1 + 6d + 2d^2 doubles for dsyevd) must stay within
 * LAPACK's 32-bit index, and the d x d matrices within reason. */
#define MAX_MATRIX_FEATURES 16384

typedef enum count_rule { NO_COUNT, COUNT_REQUIRED, COUNT_OPTIONAL } count_rule;

static const struct {
    const char *name;
    gd_pre_kind kind;
    count_rule count;
} g_kinds[] = {
    {"none", GD_PRE_NONE, NO_COUNT},
    {"center", GD_PRE_CENTER, NO_COUNT},
    {"center-channel", GD_PRE_CENTER_CHANNEL, NO_COUNT},
    {"standardize", GD_PRE_STANDARDIZE, NO_COUNT},
    {"pca", GD_PRE_PCA, COUNT_REQUIRED},
    {"whiten", GD_PRE_WHITEN, COUNT_OPTIONAL},
    {"zca", GD_PRE_ZCA, NO_COUNT},
};

/* K of "pca:K": decimal digits only (no sign, no spaces), 1 <= K <= d. */
static bool parse_count(const char *text, int64_t d, int64_t *k)
{
    size_t len = strlen(text);
    if (len == 0 || len > 18 || strspn(text, "0123456789") != len)
        return false;
    *k = strtoll(text, NULL, 10);
    return *k >= 1 && *k <= d;
}

/* The kind and component count a spec names, for samples of d features. */
static gd_status parse_spec(const char *spec, int64_t d, gd_pre_kind *kind, int64_t *k,
                            char *msg)
{
    if (!spec)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "no preprocessing spec given; " VALID_FORMS);
    const char *colon = strchr(spec, ':');
    size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
    for (size_t i = 0; i < sizeof g_kinds / sizeof g_kinds[0]; i++) {
        if (strlen(g_kinds[i].name) != name_len || strncmp(spec, g_kinds[i].name, name_len))
            continue;
        *kind = g_kinds[i].kind;
        *k = d;
        if (!colon && g_kinds[i].count != COUNT_REQUIRED)
            return GD_OK;
        if (colon && g_kinds[i].count == NO_COUNT)
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                           "preprocessing \"%.40s\": %s takes no number; " VALID_FORMS, spec,
                           g_kinds[i].name);
        if (colon && parse_count(colon + 1, d, k))
            return GD_OK;
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "preprocessing \"%.40s\": %s:K needs K, a whole number of components "
                       "from 1 to %lld (the sample's features); " VALID_FORMS,
                       spec, g_kinds[i].name, (long long)d);
    }
    return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "unknown preprocessing \"%.40s\"; " VALID_FORMS,
                   spec);
}

static const char *kind_name(gd_pre_kind kind)
{
    for (size_t i = 0; i < sizeof g_kinds / sizeof g_kinds[0]; i++)
        if (g_kinds[i].kind == kind)
            return g_kinds[i].name;
    return "?";
}

static gd_status check_shape(int ndim, const int64_t *dims, gd_shape *s, char *msg)
{
    if (ndim < 1 || ndim > GD_MAX_DIMS - 1 || !dims)
        return gd_fail(msg, GD_ERR_SHAPE, "preprocessing needs samples of 1 to %d dimensions, "
                                          "got %d", GD_MAX_DIMS - 1, ndim);
    s->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 1 || dims[i] > (INT64_C(1) << 31))
            return gd_fail(msg, GD_ERR_SHAPE, "preprocessing: sample dimension %d is %lld", i,
                           (long long)dims[i]);
        s->dims[i] = dims[i];
    }
    return GD_OK;
}

static float *add_tensor(gd_preprocess *p, gd_arena *a, const char *name, const gd_shape *s)
{
    float *data = gd_arena_take(a, (size_t)gd_shape_numel(s));
    gd_named_tensor *t = &p->tensors[p->ntensors++];
    *t = (gd_named_tensor){.name = name, .role = GD_ROLE_BUFFER, .dtype = GD_DTYPE_F32};
    t->value = gd_tensor_view(data, s->ndim, s->dims);
    return data;
}

/* The kind's tensors in their fixed order, carved from the arena (measuring when its
 * base is NULL, as gd_arena does). */
static void plan_tensors(gd_preprocess *p, gd_arena *a)
{
    p->ntensors = 0;
    if (p->kind == GD_PRE_NONE)
        return;
    gd_shape channels = {1, {p->in.dims[0]}};
    p->mean = add_tensor(p, a, "preprocess.mean",
                         p->kind == GD_PRE_CENTER_CHANNEL ? &channels : &p->in);
    if (p->kind == GD_PRE_STANDARDIZE)
        p->std = add_tensor(p, a, "preprocess.std", &p->in);
    if (p->kind == GD_PRE_PCA || p->kind == GD_PRE_WHITEN)
        p->components = add_tensor(p, a, "preprocess.components", &(gd_shape){2, {p->k, p->d}});
    if (p->kind == GD_PRE_WHITEN)
        p->scale = add_tensor(p, a, "preprocess.scale", &(gd_shape){1, {p->k}});
    if (p->kind == GD_PRE_ZCA)
        p->zca = add_tensor(p, a, "preprocess.zca", &(gd_shape){2, {p->d, p->d}});
}

static bool is_matrix_kind(gd_pre_kind kind)
{
    return kind == GD_PRE_PCA || kind == GD_PRE_WHITEN || kind == GD_PRE_ZCA;
}

static gd_status check_kind_fits_shape(const gd_preprocess *p, const char *spec, char *msg)
{
    char buf[64];
    if (p->kind == GD_PRE_CENTER_CHANNEL && p->in.ndim != 3)
        return gd_fail(msg, GD_ERR_SHAPE, "preprocessing \"center-channel\" needs samples of "
                                          "channels x height x width, got %s",
                       gd_shape_str(&p->in, buf, sizeof buf));
    if (is_matrix_kind(p->kind) && p->d > MAX_MATRIX_FEATURES)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "preprocessing \"%.40s\" needs a %lld x %lld covariance; at most %d "
                       "features are supported", spec, (long long)p->d, (long long)p->d,
                       MAX_MATRIX_FEATURES);
    return GD_OK;
}

/* A transform with its tensors allocated (not yet filled) for samples of shape dims. */
static gd_status create(gd_preprocess **out, const char *spec, int ndim, const int64_t *dims,
                        char *msg)
{
    gd_shape in;
    gd_pre_kind kind = GD_PRE_NONE;
    int64_t k = 0;
    gd_status status = check_shape(ndim, dims, &in, msg);
    if (status == GD_OK)
        status = parse_spec(spec, gd_shape_numel(&in), &kind, &k, msg);
    if (status != GD_OK)
        return status;
    gd_preprocess *p = calloc(1, sizeof *p);
    if (!p)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "preprocessing: out of memory");
    *p = (gd_preprocess){.kind = kind, .in = in, .d = gd_shape_numel(&in), .k = k};
    if (kind == GD_PRE_PCA || (kind == GD_PRE_WHITEN && strchr(spec, ':')))
        snprintf(p->spec, sizeof p->spec, "%s:%lld", kind_name(kind), (long long)k);
    else
        snprintf(p->spec, sizeof p->spec, "%s", kind_name(kind));
    status = check_kind_fits_shape(p, spec, msg);
    if (status != GD_OK) {
        free(p);
        return status;
    }

    gd_arena a = {0};
    plan_tensors(p, &a);
    p->stats = gd_alloc_aligned(a.used * sizeof(float));
    a = (gd_arena){.base = p->stats};
    plan_tensors(p, &a);
    if (is_matrix_kind(kind))
        p->scratch = gd_alloc_aligned((size_t)(GD_PRE_CHUNK * p->d) * sizeof(float));
    if ((p->ntensors && !p->stats) || (is_matrix_kind(kind) && !p->scratch)) {
        status = gd_fail(msg, GD_ERR_NO_MEMORY, "preprocessing \"%s\": no memory for %zu "
                                                "floats of statistics", p->spec, a.used);
        gd_preprocess_free(p);
        return status;
    }
    *out = p;
    return GD_OK;
}

void gd_preprocess_free(gd_preprocess *p)
{
    if (!p)
        return;
    free(p->stats);
    free(p->scratch);
    free(p);
}

gd_status gd_preprocess_fit(gd_preprocess **out, const char *spec, double eps,
                            const gd_dataset *train, gd_error *err)
{
    char local[GD_MSG_MAX];
    char *msg = err ? err->message : local;
    if (!out || !train)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gd_preprocess_fit: %s is NULL",
                       out ? "the training set" : "out");
    *out = NULL;
    if (!isfinite(eps) || eps < 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "preprocessing: eps must be finite and "
                                                     ">= 0, got %g", eps);
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_dataset_sample_shape(train, dims);
    gd_preprocess *p;
    gd_status status = create(&p, spec, ndim, dims, msg);
    if (status != GD_OK)
        return status;
    int64_t n = gd_dataset_size(train);
    /* Floats from pixels change the set's storage, not its values: fitting only reads. */
    float *x = NULL;
    if (n < 1)
        status = gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                         "cannot fit preprocessing \"%s\" on an empty data set", p->spec);
    else if ((status = gd_dataset_as_floats((gd_dataset *)train, &x, msg)) != GD_OK)
        ; /* the message says what the floats would need */
    else if (is_matrix_kind(p->kind))
        status = gd_pre_fit_pca(p, x, n, eps, msg);
    else if (p->kind != GD_PRE_NONE)
        status = gd_pre_fit_moments(p, x, n, eps, msg);
    if (status != GD_OK) {
        gd_preprocess_free(p);
        return status;
    }
    *out = p;
    return GD_OK;
}

const char *gd_preprocess_spec(const gd_preprocess *p) { return p ? p->spec : NULL; }

int gd_preprocess_output_shape(const gd_preprocess *p, int64_t dims[GD_MAX_DIMS])
{
    if (!p)
        return 0;
    if (p->kind == GD_PRE_PCA || p->kind == GD_PRE_WHITEN) {
        dims[0] = p->k;
        return 1;
    }
    return gd_preprocess_input_shape(p, dims);
}

bool gd_preprocess_mean_range(const gd_preprocess *p, double *lo, double *hi)
{
    if (!p || !p->mean || !lo || !hi)
        return false;
    int64_t n = p->kind == GD_PRE_CENTER_CHANNEL ? p->in.dims[0] : p->d;
    double min = p->mean[0], max = p->mean[0];
    for (int64_t j = 1; j < n; j++) {
        min = p->mean[j] < min ? p->mean[j] : min;
        max = p->mean[j] > max ? p->mean[j] : max;
    }
    *lo = min;
    *hi = max;
    return true;
}

int gd_preprocess_input_shape(const gd_preprocess *p, int64_t dims[GD_MAX_DIMS])
{
    for (int i = 0; i < p->in.ndim; i++)
        dims[i] = p->in.dims[i];
    return p->in.ndim;
}

size_t gd_preprocess_tensor_count(const gd_preprocess *p) { return p ? p->ntensors : 0; }

const gd_named_tensor *gd_preprocess_tensor_at(const gd_preprocess *p, size_t index)
{
    return p && index < p->ntensors ? &p->tensors[index] : NULL;
}

static bool same_shape(const gd_tensor *a, const gd_tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

/* "3x784", for messages (gd_shape_str's format, for a whole tensor). */
static const char *dims_str(const gd_tensor *t, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->ndim && i < GD_MAX_DIMS && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, i ? "x%lld" : "%lld", (long long)t->dims[i]);
    return buf;
}

/* Copies stored tensor `want` (its name, shape) from the lookup, refusing what a
 * transform could not use: absent, misshapen, NaN or infinite values, and a standard
 * deviation that is not positive (standardize divides by it). */
static gd_status restore_tensor(gd_named_tensor *want, gd_tensor_lookup lookup, void *ctx,
                                const char *spec, char *msg)
{
    char got_str[64], want_str[64];
    const gd_tensor *t = lookup ? lookup(ctx, want->name) : NULL;
    if (!t || !t->data)
        return gd_fail(msg, GD_ERR_NOT_FOUND, "preprocessing \"%s\" needs tensor %s, which is "
                                              "missing", spec, want->name);
    gd_tensor *v = &want->value;
    if (!same_shape(t, v))
        return gd_fail(msg, GD_ERR_SHAPE, "%s has shape %s, preprocessing \"%s\" expects %s",
                       want->name, dims_str(t, got_str, sizeof got_str), spec,
                       dims_str(v, want_str, sizeof want_str));
    bool positive = strcmp(want->name, "preprocess.std") == 0;
    int64_t n = gd_tensor_numel(v);
    for (int64_t i = 0; i < n; i++) {
        float x = t->data[i];
        if (!isfinite(x) || (positive && !(x > 0)))
            return gd_fail(msg, GD_ERR_FORMAT, "%s[%lld] is %g; it must be finite%s", want->name,
                           (long long)i, x, positive ? " and positive" : "");
        v->data[i] = x;
    }
    return GD_OK;
}

gd_status gd_preprocess_restore(gd_preprocess **out, const char *spec, int ndim,
                                const int64_t *in_dims, gd_tensor_lookup lookup, void *ctx,
                                char *msg)
{
    if (!out)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gd_preprocess_restore: out is NULL");
    *out = NULL;
    gd_preprocess *p = NULL;
    gd_status status = create(&p, spec, ndim, in_dims, msg);
    for (size_t i = 0; status == GD_OK && i < p->ntensors; i++)
        status = restore_tensor(&p->tensors[i], lookup, ctx, p->spec, msg);
    if (status != GD_OK) {
        gd_preprocess_free(p);
        return status;
    }
    *out = p;
    return GD_OK;
}

/* A copy's tensors are the original's, found by name. */
static const gd_tensor *own_tensor(void *ctx, const char *name)
{
    const gd_preprocess *p = ctx;
    for (size_t i = 0; i < p->ntensors; i++)
        if (strcmp(p->tensors[i].name, name) == 0)
            return &p->tensors[i].value;
    return NULL;
}

gd_status gd_preprocess_copy(gd_preprocess **out, const gd_preprocess *p, char *msg)
{
    if (!out || !p)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gd_preprocess_copy: NULL argument");
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_preprocess_input_shape(p, dims);
    return gd_preprocess_restore(out, p->spec, ndim, dims, own_tensor, (void *)p, msg);
}
