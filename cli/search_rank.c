/* A study's results, for the terminal (search_results.c) and the page (search_report.c):
 * its configurations ranked by mean best validation accuracy, with a 95% interval over
 * their repeats, and the warnings in the lecture's words (a best value at the edge of
 * its range, most trials diverged, intervals that overlap). */
#include "search.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void score(search_config *c, const double *v, int n)
{
    gd_mean_interval95(v, n, &c->mean, &c->half);
    c->scored = n;
}

static int by_mean(const void *a, const void *b)
{
    const search_config *x = a, *y = b;
    if (isnan(x->mean) != isnan(y->mean))
        return isnan(x->mean) ? 1 : -1;
    if (x->mean != y->mean && !isnan(x->mean))
        return x->mean > y->mean ? -1 : 1;
    return x->index < y->index ? -1 : 1;
}

/* Adds repeat rec to its configuration cf, keeping its finished scores in v. */
static void add_repeat(search_config *cf, const gd_trial_record *rec, double *v, int *got)
{
    if (cf->trials++ == 0)
        cf->state = rec->state;
    if (rec->state == GD_TRIAL_FINISHED && !isnan(rec->best_val_accuracy))
        v[(*got)++] = rec->best_val_accuracy;
    if (!cf->best || rec->best_val_accuracy > cf->best->best_val_accuracy ||
        isnan(cf->best->best_val_accuracy))
        cf->best = rec;
}

static void close_config(search_config *cf, const double *v, int got)
{
    score(cf, v, got);
    if (got == 0 && cf->best) /* pruned and unfinished trials rank by what they reached */
        cf->mean = cf->best->best_val_accuracy;
}

/* The journal's trials come in trial order, a configuration's repeats side by side: one
 * pass over what the journal holds (never over the study's planned size, which a
 * damaged study.json could make huge). */
search_config *search_rank(const study_def *d, const gd_study *st, int64_t *n)
{
    const uint64_t total = (uint64_t)gd_search_total_trials(&d->opt);
    const int repeats = d->opt.repeats > 0 ? d->opt.repeats : 1;
    size_t trials = gd_study_trial_count(st);
    search_config *c = calloc(trials + 1, sizeof *c);
    double *v = malloc(((size_t)repeats + 1) * sizeof *v);
    int got = 0;
    *n = 0;
    for (size_t i = 0; c && v && i < trials; i++) {
        const gd_trial_record *rec = gd_study_trial(st, i);
        if (rec->trial >= total)
            continue;
        int64_t k = (int64_t)(rec->trial / (uint64_t)repeats);
        if (*n == 0 || c[*n - 1].index != k) {
            if (*n > 0)
                close_config(&c[*n - 1], v, got);
            c[(*n)++] = (search_config){.index = k, .mean = NAN, .half = NAN};
            got = 0;
        }
        add_repeat(&c[*n - 1], rec, v, &got);
    }
    if (c && v && *n > 0)
        close_config(&c[*n - 1], v, got);
    free(v);
    if (c)
        qsort(c, (size_t)*n, sizeof *c, by_mean);
    return c;
}

const char *search_state_word(gd_trial_state s)
{
    static const char *const w[] = {"running", "finished", "pruned", "diverged", "failed"};
    return w[s];
}

void search_params_text(const gd_trial_record *r, char *out, size_t room)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < r->params && n + 1 < room; i++) {
        if (!r->value[i])
            continue;
        char shown[GD_PARAM_TEXT_MAX], *end;
        double v = strtod(r->value[i], &end); /* numbers to 4 digits: a table, not a record */
        if (end != r->value[i] && !*end)
            snprintf(shown, sizeof shown, "%.4g", v);
        else
            snprintf(shown, sizeof shown, "%s", r->value[i]);
        int w = snprintf(out + n, room - n, "%s%s=%s", n ? " " : "", r->name[i], shown);
        n = w < 0 || (size_t)w >= room - n ? room - 1 : n + (size_t)w;
    }
    if (n == room - 1 && room > 4)
        memcpy(out + room - 4, "...", 4);
}

/* ------------------------------------------------------------- warnings */

static bool log_kind(const gd_param_info *q)
{
    return q->kind == GD_PARAM_LOGUNIFORM || q->kind == GD_PARAM_LOGINT;
}

typedef struct warnings {
    char (*text)[SEARCH_WARNING_MAX];
    int n, max;
} warnings;

static void say(warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(warnings *w, const char *fmt, ...)
{
    if (w->n >= w->max)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->text[w->n++], SEARCH_WARNING_MAX, fmt, ap);
    va_end(ap);
}

/* The lecture's warning: a best value in the outer tenth of its range suggests that the
 * best lies beyond it. */
static void warn_edges(warnings *w, const study_def *d, const gd_trial_record *best)
{
    for (int i = 0; i < gd_space_count(d->space); i++) {
        const gd_param_info *q = gd_space_param(d->space, i);
        if (q->kind == GD_PARAM_CHOICE || !(q->hi > q->lo))
            continue;
        for (int k = 0; k < best->params; k++) {
            if (strcmp(best->name[k], q->name) != 0 || !best->value[k])
                continue;
            double v = strtod(best->value[k], NULL);
            double f = log_kind(q) ? log(v / q->lo) / log(q->hi / q->lo)
                                   : (v - q->lo) / (q->hi - q->lo);
            if (f > 0.1 && f < 0.9)
                continue;
            bool high = f >= 0.9;
            double wider = log_kind(q) ? (high ? q->hi * 10 : q->lo / 10)
                                       : (high ? q->hi + (q->hi - q->lo) : q->lo - (q->hi - q->lo));
            say(w, "the best %s, %.4g, lies in the %s tenth of its range [%g, %g]: the best "
                "may be beyond it; try a range %s %g", q->name, v, high ? "top" : "bottom", q->lo,
                q->hi, high ? "up to" : "down to", wider);
        }
    }
}

int search_warnings(const study_def *d, const gd_study *st, const search_config *c, int64_t n,
                    char (*out)[SEARCH_WARNING_MAX], int max)
{
    warnings w = {out, 0, max};
    int64_t trials = (int64_t)gd_study_trial_count(st), diverged = 0;
    for (size_t i = 0; i < gd_study_trial_count(st); i++)
        diverged += gd_study_trial(st, i)->state == GD_TRIAL_DIVERGED;
    if (trials > 0 && 2 * diverged > trials)
        say(&w, "%lld of %lld trials diverged: lower the learning rate's range, or check the "
            "data's scaling", (long long)diverged, (long long)trials);
    if (n > 0 && !isnan(c[0].mean))
        warn_edges(&w, d, c[0].best);
    if (n > 1 && !isnan(c[0].half) && !isnan(c[1].half) &&
        c[0].mean - c[0].half <= c[1].mean + c[1].half)
        say(&w, "the 95%% intervals of the best two configurations overlap (%.4f +-%.4f, "
            "%.4f +-%.4f): their order may be chance; more --repeats would tell", c[0].mean,
            c[0].half, c[1].mean, c[1].half);
    return w.n;
}
