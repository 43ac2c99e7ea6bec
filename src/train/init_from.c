/* --init-from MODEL: a fresh run's weights taken from an existing model file, tensor by
 * tensor by name, as PyTorch's load_state_dict(strict=False) does for fine-tuning. The
 * file is read as safetensors only (no spec is built from it), so any file whose names
 * are state_dict keys serves: a gradus model file, a checkpoint, PyTorch's own saved with
 * safetensors.torch.save_file. Only the tensors are taken: the preprocessing is fitted
 * afresh on the run's training split, as for any fresh run. */
#include "train.h"

#include "../io/model_file.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Names listed in the report, per list: the count says the rest. */
#define LISTED 3

/* What the file holds beside a model's tensors: preprocessing, a checkpoint's state. */
static bool not_a_model_tensor(const char *name)
{
    return strncmp(name, GD_FILE_PREPROCESS_PREFIX, strlen(GD_FILE_PREPROCESS_PREFIX)) == 0 ||
           strncmp(name, GD_FILE_OPTIM_PREFIX, strlen(GD_FILE_OPTIM_PREFIX)) == 0 ||
           strcmp(name, GD_FILE_RNG_STATE) == 0;
}

static bool same_layout(const gd_st_entry *e, const gd_named_tensor *t)
{
    bool same = e->dtype == t->dtype && e->ndim == t->value.ndim;
    for (int i = 0; same && i < e->ndim; i++)
        same = e->dims[i] == t->value.dims[i];
    return same;
}

/* Appends to the report's text, which stops short rather than overflow. */
static void say(gd_init_report *r, const char *fmt, ...)
{
    size_t at = strlen(r->text);
    if (at + 1 >= sizeof r->text)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text + at, sizeof r->text - at, fmt, ap);
    va_end(ap);
}

/* "; LABEL: a, b, c and 2 more" over the names for which pick(i) holds. */
typedef const char *(*pick_fn)(const void *ctx, size_t i, char *extra, size_t len);
static void list(gd_init_report *r, const char *label, int64_t count, size_t n, pick_fn pick,
                 const void *ctx)
{
    if (count == 0)
        return;
    say(r, "; %s: ", label);
    int64_t shown = 0;
    for (size_t i = 0; i < n && shown < LISTED; i++) {
        char extra[128] = "";
        const char *name = pick(ctx, i, extra, sizeof extra);
        if (name)
            say(r, "%s%s%s", shown++ ? ", " : "", name, extra);
    }
    if (count > shown)
        say(r, " and %lld more", (long long)(count - shown));
}

/* The matching's state: the model, the file, and per file entry whether a model tensor
 * took it (or was refused it for its shape). */
typedef struct matching {
    const gd_model *m;
    const gd_st_file *f;
    bool *claimed;
} matching;

static const char *pick_missing(const void *ctx, size_t i, char *extra, size_t len)
{
    const matching *x = ctx;
    (void)extra, (void)len;
    const gd_named_tensor *t = gd_model_tensor_at(x->m, i);
    return gd_st_find(x->f, t->name) ? NULL : t->name;
}

static const char *pick_reshaped(const void *ctx, size_t i, char *extra, size_t len)
{
    const matching *x = ctx;
    const gd_named_tensor *t = gd_model_tensor_at(x->m, i);
    const gd_st_entry *e = gd_st_find(x->f, t->name);
    if (!e || same_layout(e, t))
        return NULL;
    char here[40], there[40];
    gd_st_shape_str(t->value.ndim, t->value.dims, here, sizeof here);
    gd_st_shape_str(e->ndim, e->dims, there, sizeof there);
    snprintf(extra, len, " %s (file %s%s)", here, there,
             e->dtype != t->dtype ? " of another dtype" : "");
    return t->name;
}

static const char *pick_unused(const void *ctx, size_t i, char *extra, size_t len)
{
    const matching *x = ctx;
    (void)extra, (void)len;
    const char *name = x->f->entries[i].name;
    return x->claimed[i] || not_a_model_tensor(name) ? NULL : name;
}

/* Counts what matches and marks the file entries the model's names claim. */
static void match(const matching *x, gd_init_report *r)
{
    r->tensors = (int64_t)gd_model_tensor_count(x->m);
    for (size_t i = 0; i < gd_model_tensor_count(x->m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(x->m, i);
        const gd_st_entry *e = gd_st_find(x->f, t->name);
        if (!e) {
            r->missing++;
            continue;
        }
        x->claimed[e - x->f->entries] = true;
        if (same_layout(e, t))
            r->copied++;
        else
            r->reshaped++;
    }
    for (size_t i = 0; i < x->f->count; i++)
        r->unused += !x->claimed[i] && !not_a_model_tensor(x->f->entries[i].name);
}

static void copy_matches(const matching *x)
{
    for (size_t i = 0; i < gd_model_tensor_count(x->m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(x->m, i);
        const gd_st_entry *e = gd_st_find(x->f, t->name);
        if (!e || !same_layout(e, t))
            continue;
        if (t->dtype == GD_DTYPE_I64)
            memcpy(t->i64, e->data, (size_t)e->numel * sizeof *t->i64);
        else
            memcpy(t->value.data, e->data, (size_t)e->numel * sizeof(float));
    }
}

static void describe(const matching *x, gd_init_report *r)
{
    size_t nt = gd_model_tensor_count(x->m);
    say(r, "%lld of %lld tensors copied", (long long)r->copied, (long long)r->tensors);
    list(r, "another shape", r->reshaped, nt, pick_reshaped, x);
    list(r, "not in the file", r->missing, nt, pick_missing, x);
    list(r, "unused in the file", r->unused, x->f->count, pick_unused, x);
}

/* Nothing matched: the first tensor says why, which is usually the whole story (another
 * architecture, or the same with other widths). */
static gd_status refuse(const gd_model *m, const gd_st_file *f, char *msg)
{
    const gd_named_tensor *t = gd_model_tensor_at(m, 0);
    const gd_st_entry *e = gd_st_find(f, t->name);
    char why[128], here[40], there[40];
    if (!e)
        snprintf(why, sizeof why, "%s: not in the file", t->name);
    else
        snprintf(why, sizeof why, "%s: %s here, %s in the file", t->name,
                 gd_st_shape_str(t->value.ndim, t->value.dims, here, sizeof here),
                 gd_st_shape_str(e->ndim, e->dims, there, sizeof there));
    return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                   "%s: no tensor of the model matches one of the file's by name and shape "
                   "(%s)", f->path, why);
}

static gd_status init_from_file(gd_model *m, const gd_st_file *f, gd_init_report *r, char *msg)
{
    matching x = {m, f, calloc(f->count + 1, sizeof(bool))};
    if (!x.claimed)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%s: out of memory for %zu tensors", f->path,
                       f->count);
    match(&x, r);
    describe(&x, r);
    free(x.claimed);
    if (r->copied == 0)
        return refuse(m, f, msg);
    copy_matches(&x);
    return GD_OK;
}

gd_status gd_model_init_from(gd_model *m, const char *path, gd_init_report *report,
                             gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_init_report unused_report, *r = report ? report : &unused_report;
    memset(r, 0, sizeof *r);
    if (!m || !path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "init_from: NULL argument");
    if (gd_model_tensor_count(m) == 0)
        return gd_fail(msg, GD_ERR_STATE,
                       "init_from: the model has no tensors (or is not built)");
    gd_st_file f = {0};
    gd_status st = gd_st_read(&f, path, msg);
    if (st == GD_OK)
        st = init_from_file(m, &f, r, msg);
    gd_st_close(&f);
    if (st != GD_OK)
        memset(r, 0, sizeof *r);
    return st;
}

gd_status gd_run_init_from(gd_run *run)
{
    gd_error err;
    gd_status st = gd_model_init_from(run->model, run->settings.init_from, &run->init_report,
                                      &err);
    if (st == GD_ERR_INVALID_ARGUMENT) /* nothing matched: the other side is --model */
        return gd_fail(run->msg, st, "--init-from %s; --model %.60s", err.message,
                       run->settings.model);
    if (st != GD_OK)
        return gd_fail(run->msg, st, "--init-from %s", err.message);
    run->initialised_from = true;
    return GD_OK;
}

const gd_init_report *gd_run_init_report(const gd_run *run)
{
    return run && run->initialised_from ? &run->init_report : NULL;
}
