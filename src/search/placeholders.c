/* The {name} placeholders of a model spec, which parameters of the space fill:
 * 'linear({width}) bn relu dropout({dropout}) linear(10)'. The spec language itself has
 * no braces, so a '{' always opens a placeholder and one that opens no {name} is a
 * mistake worth naming rather than text for the spec parser to puzzle over. */
#include "search.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The placeholder at spec[at] == '{': its name's length (0: none), the name at at + 1. */
static size_t placeholder_length(const char *spec, size_t at)
{
    const char *t = spec + at + 1;
    size_t n = 0;
    if (isalpha((unsigned char)t[0]) || t[0] == '_')
        while (isalnum((unsigned char)t[n]) || t[n] == '_')
            n++;
    return t[n] == '}' && n < GD_PARAM_TEXT_MAX ? n : 0;
}

typedef gd_status (*placeholder_fn)(void *ctx, const char *name, size_t at, char *msg);

/* Calls fn for each {name} of spec in order, with its position (0-based). */
static gd_status each_placeholder(const char *spec, placeholder_fn fn, void *ctx, char *msg)
{
    for (size_t at = 0; spec && spec[at]; at++) {
        if (spec[at] != '{')
            continue;
        size_t n = placeholder_length(spec, at);
        if (n == 0)
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--model, position %zu: '{' opens "
                           "no placeholder {name} (a letter or '_', then letters, digits, "
                           "'_', and '}')", at + 1);
        char name[GD_PARAM_TEXT_MAX];
        memcpy(name, spec + at + 1, n);
        name[n] = '\0';
        gd_status st = fn(ctx, name, at, msg);
        if (st != GD_OK)
            return st;
        at += n + 1;
    }
    return GD_OK;
}

typedef struct uses_ctx {
    const char *name;
    bool found;
} uses_ctx;

static gd_status note_use(void *ctx, const char *name, size_t at, char *msg)
{
    (void)at, (void)msg;
    uses_ctx *u = ctx;
    u->found |= strcmp(name, u->name) == 0;
    return GD_OK;
}

gd_status gd_spec_uses(const char *spec, const char *name, bool *uses, char *msg)
{
    uses_ctx u = {name, false};
    gd_status st = each_placeholder(spec, note_use, &u, msg);
    *uses = u.found;
    return st;
}

static gd_status check_known(void *ctx, const char *name, size_t at, char *msg)
{
    if (gd_space_find(ctx, name) >= 0)
        return GD_OK;
    return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--model, position %zu: {%s} is no "
                   "parameter of the space (add --param %s=...)", at + 1, name, name);
}

gd_status gd_spec_check_placeholders(const gd_space *sp, const char *spec, char *msg)
{
    return each_placeholder(spec, check_known, (void *)sp, msg);
}

/* Filling: the text grows into a buffer sized by a first pass that only measures. */
typedef struct fill_ctx {
    const gd_space *sp;
    const gd_trial_point *p;
    const char *spec;
    char *out;       /* NULL: measuring */
    size_t len, from; /* bytes written; where the spec's text not yet copied begins */
} fill_ctx;

static void put(fill_ctx *f, const char *text, size_t n)
{
    if (f->out)
        memcpy(f->out + f->len, text, n);
    f->len += n;
}

static gd_status fill_one(void *ctx, const char *name, size_t at, char *msg)
{
    fill_ctx *f = ctx;
    int i = gd_space_find(f->sp, name);
    if (i < 0 || i >= f->p->count)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--model, position %zu: {%s} is no "
                       "parameter of the space", at + 1, name);
    if (!f->p->active[i])
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--model, position %zu: {%s} has no "
                       "value in trial %llu (its condition does not hold)", at + 1, name,
                       (unsigned long long)f->p->trial);
    put(f, f->spec + f->from, at - f->from);
    put(f, f->p->text[i], strlen(f->p->text[i]));
    f->from = at + strlen(name) + 2;
    return GD_OK;
}

static gd_status fill_pass(fill_ctx *f, char *msg)
{
    f->len = f->from = 0;
    gd_status st = each_placeholder(f->spec, fill_one, f, msg);
    put(f, f->spec + f->from, strlen(f->spec + f->from) + 1);
    return st;
}

gd_status gd_space_fill_spec(const gd_space *sp, const gd_trial_point *p, const char *spec,
                             char **out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (out)
        *out = NULL;
    if (!sp || !p || !spec || !out)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "fill spec: NULL argument");
    fill_ctx f = {sp, p, spec, NULL, 0, 0};
    gd_status st = fill_pass(&f, msg);
    if (st != GD_OK)
        return st;
    if (!(f.out = malloc(f.len)))
        return gd_fail(msg, GD_ERR_NO_MEMORY, "--model: out of memory");
    fill_pass(&f, msg);
    *out = f.out;
    return GD_OK;
}

/* ------------------------------------------------------------ a trial's settings */

static gd_status apply_to(const gd_space *sp, const gd_trial_point *p, gd_settings *s,
                          gd_error *err)
{
    gd_status st = GD_OK;
    for (int i = 0; st == GD_OK && i < sp->count; i++)
        if (p->active[i] && !sp->param[i].info.placeholder)
            st = gd_settings_set(s, sp->param[i].name, p->text[i], err);
    char *model = NULL;
    if (st == GD_OK)
        st = gd_space_fill_spec(sp, p, s->model, &model, err);
    if (st == GD_OK)
        st = gd_settings_set(s, "model", model, err);
    free(model);
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    return st == GD_OK ? gd_settings_set(s, "seed", seed, err) : st;
}

gd_status gd_space_apply(const gd_space *sp, const gd_trial_point *p, gd_settings *s,
                         gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!sp || !p || !s)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "apply: NULL argument");
    if (!sp->bound)
        return gd_fail(msg, GD_ERR_STATE, "apply: the space is not bound (gd_space_bind)");
    if (p->count != sp->count)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "apply: a point of %d parameters for a "
                       "space of %d", p->count, sp->count);
    gd_settings trial;
    gd_error e;
    gd_status st = gd_settings_copy(&trial, s); /* which frees its copy on failure */
    if (st != GD_OK)
        return gd_fail(msg, st, "trial %llu: out of memory", (unsigned long long)p->trial);
    st = apply_to(sp, p, &trial, &e);
    if (st != GD_OK) {
        gd_settings_free(&trial);
        return gd_fail(msg, st, "trial %llu: %s", (unsigned long long)p->trial, e.message);
    }
    gd_settings_free(s);
    *s = trial;
    return GD_OK;
}
