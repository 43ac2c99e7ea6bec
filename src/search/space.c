/* The search space: its parameters in the order given, and their roles against the
 * trainer's settings and the model spec (gd_space_bind). The text is parsed in
 * space_parse.c; the placeholders of a spec are found and filled in placeholders.c. */
#include "search.h"

#include <stdlib.h>
#include <string.h>

gd_status gd_space_create(gd_space **out)
{
    if (!out)
        return GD_ERR_INVALID_ARGUMENT;
    *out = calloc(1, sizeof **out);
    return *out ? GD_OK : GD_ERR_NO_MEMORY;
}

void gd_param_release(gd_param *p)
{
    for (int i = 0; p->option && i < p->info.options; i++)
        free(p->option[i]);
    free(p->option);
    free(p->name);
    free(p->origin);
    memset(p, 0, sizeof *p);
}

void gd_space_free(gd_space *sp)
{
    if (!sp)
        return;
    for (int i = 0; i < sp->count; i++)
        gd_param_release(&sp->param[i]);
    free(sp);
}

gd_status gd_space_take(gd_space *sp, gd_param *p, char *msg)
{
    if (sp->count == GD_SPACE_MAX_PARAMS) {
        gd_param_release(p);
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "more than 32 parameters");
    }
    p->info.name = p->name;
    p->info.origin = p->origin;
    sp->param[sp->count++] = *p;
    sp->bound = false; /* a new parameter has no role yet */
    return GD_OK;
}

int gd_space_count(const gd_space *sp) { return sp ? sp->count : 0; }

const gd_param_info *gd_space_param(const gd_space *sp, int index)
{
    return sp && index >= 0 && index < sp->count ? &sp->param[index].info : NULL;
}

int gd_space_find(const gd_space *sp, const char *name)
{
    for (int i = 0; sp && name && i < sp->count; i++)
        if (strcmp(sp->param[i].name, name) == 0)
            return i;
    return -1;
}

bool gd_param_active(const gd_space *sp, int i, const gd_trial_point *p)
{
    const gd_param_info *q = &sp->param[i].info;
    if (q->parent < 0)
        return true;
    return p->active[q->parent] && (q->when >> (int)p->value[q->parent] & 1);
}

/* ------------------------------------------------------------------- binding */

static gd_status fail_param(const gd_param *p, char *msg, const char *fmt, const char *a,
                            const char *b)
{
    char what[GD_MSG_MAX];
    snprintf(what, sizeof what, fmt, a, b);
    return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%.80s, column %d: %s", p->origin,
                   p->name_column, what);
}

/* Whether the kind can give the setting's type at all. */
static const char *kind_misfit(gd_setting_type type, gd_param_kind kind)
{
    bool choice = kind == GD_PARAM_CHOICE;
    bool whole = kind == GD_PARAM_INT || kind == GD_PARAM_LOGINT || choice;
    switch (type) {
    case GD_SETTING_TEXT: return choice ? NULL : "%s is text: give it as a choice(...)%s";
    case GD_SETTING_SWITCH: return choice ? NULL : "%s is a switch: give choice(true, false)%s";
    case GD_SETTING_INT:
    case GD_SETTING_COUNT:
        return whole ? NULL : "%s takes whole numbers: use int, logint or choice%s";
    case GD_SETTING_REAL: return NULL;
    case GD_SETTING_SEED: return "%s cannot be searched%s";
    }
    return "%s cannot be searched%s";
}

/* Every value the parameter can take passes the setting's own check: both ends of a
 * range (a grid reaches them), each option. */
static gd_status check_values(const gd_param *p, const gd_setting_info *info, char *msg)
{
    const gd_param_info *q = &p->info;
    const char *misfit = kind_misfit(info->type, q->kind);
    if (misfit)
        return fail_param(p, msg, misfit, q->name, "");
    gd_settings s;
    gd_settings_defaults(&s);
    gd_status st = GD_OK;
    gd_error e;
    int n = q->kind == GD_PARAM_CHOICE ? q->options : 2;
    for (int i = 0; st == GD_OK && i < n; i++) {
        char text[GD_PARAM_TEXT_MAX];
        if (q->kind == GD_PARAM_CHOICE)
            snprintf(text, sizeof text, "%s", q->option[i]);
        else
            gd_param_number_text(q, i == 0 ? q->lo : q->hi, text);
        st = gd_settings_set(&s, q->name, text, &e);
    }
    gd_settings_free(&s);
    return st == GD_OK ? GD_OK : fail_param(p, msg, "%s cannot take every value: %.160s", q->name,
                                            e.message);
}

/* A parameter's role: a {name} of the spec, or a setting of the trainer. */
static gd_status bind_param(gd_param *p, const char *spec, char *msg)
{
    const char *name = p->name;
    const gd_setting_info *info = gd_setting_find(name);
    bool placeholder = false;
    gd_status st = gd_spec_uses(spec, name, &placeholder, msg);
    if (st != GD_OK)
        return st;
    p->info.placeholder = placeholder;
    if (placeholder && info)
        return fail_param(p, msg, "%s is both a setting and a {%s} placeholder of --model: "
                                  "rename the placeholder", name, name);
    if (placeholder)
        return p->info.parent < 0 ? GD_OK :
               fail_param(p, msg, "{%s} has a condition, but --model needs a value for it in "
                                  "every trial%s", name, "");
    if (!info)
        return fail_param(p, msg, "no setting and no {%s} placeholder of --model is named "
                                  "%s", name, name);
    if (strcmp(name, "model") == 0)
        return fail_param(p, msg, "%s cannot be searched: put {name} placeholders in "
                                  "--model%s", name, "");
    if (strcmp(name, "seed") == 0)
        return fail_param(p, msg, "%s cannot be searched: each trial has its own, from the "
                                  "study's seed%s", name, "");
    return check_values(p, info, msg);
}

gd_status gd_space_bind(gd_space *sp, const char *model_spec, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!sp)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "space: NULL argument");
    sp->bound = false;
    gd_status st = gd_spec_check_placeholders(sp, model_spec, msg);
    for (int i = 0; st == GD_OK && i < sp->count; i++)
        st = bind_param(&sp->param[i], model_spec, msg);
    sp->bound = st == GD_OK;
    return st;
}
