/* The results of a study: its configurations ranked by mean best validation accuracy
 * (with a 95% interval over their repeats), warnings in the lecture's words (a best value
 * at the edge of its range, most trials diverged, intervals that overlap), and the best
 * trial's `gradus train` command line. */
#include "search.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD "search"
#define SHOWN 10

typedef struct config {
    int64_t index;
    const gd_trial_record *best; /* its repeat with the best validation accuracy */
    double mean, half;           /* over its finished repeats; half: the 95% interval's */
    int scored, trials;
    gd_trial_state state;        /* the first repeat's */
} config;

/* Student's t quantile 0.975 for df = 1..30, then the normal's. */
static double t975(int df)
{
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                               2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                               2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                               2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    return df >= 1 && df <= 30 ? t[df - 1] : 1.960;
}

static void score(config *c, const double *v, int n)
{
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    c->mean = n ? sum / n : NAN;
    for (int i = 0; i < n; i++)
        sq += (v[i] - c->mean) * (v[i] - c->mean);
    c->half = n > 1 ? t975(n - 1) * sqrt(sq / (n - 1)) / sqrt(n) : NAN;
    c->scored = n;
}

static int by_mean(const void *a, const void *b)
{
    const config *x = a, *y = b;
    if (isnan(x->mean) != isnan(y->mean))
        return isnan(x->mean) ? 1 : -1;
    if (x->mean != y->mean && !isnan(x->mean))
        return x->mean > y->mean ? -1 : 1;
    return x->index < y->index ? -1 : 1;
}

/* The study's configurations, best first; their count in *n (malloc'd). */
static config *rank_configs(const study_def *d, const gd_study *st, int64_t *n)
{
    int64_t total = gd_search_total_trials(&d->opt), configs = total / d->opt.repeats;
    config *c = calloc((size_t)configs + 1, sizeof *c);
    double *v = malloc(((size_t)d->opt.repeats + 1) * sizeof *v);
    *n = 0;
    for (int64_t k = 0; c && v && k < configs; k++) {
        config *cf = &c[*n];
        *cf = (config){.index = k, .mean = NAN, .half = NAN};
        int got = 0;
        for (int r = 0; r < d->opt.repeats; r++) {
            const gd_trial_record *rec = gd_study_find(st, (uint64_t)(k * d->opt.repeats + r));
            if (!rec)
                continue;
            if (cf->trials++ == 0)
                cf->state = rec->state;
            if (rec->state == GD_TRIAL_FINISHED && !isnan(rec->best_val_accuracy))
                v[got++] = rec->best_val_accuracy;
            if (!cf->best || rec->best_val_accuracy > cf->best->best_val_accuracy ||
                isnan(cf->best->best_val_accuracy))
                cf->best = rec;
        }
        if (cf->trials == 0)
            continue;
        score(cf, v, got);
        if (got == 0 && cf->best) /* pruned and unfinished trials rank by what they reached */
            cf->mean = cf->best->best_val_accuracy;
        (*n)++;
    }
    free(v);
    if (c)
        qsort(c, (size_t)*n, sizeof *c, by_mean);
    return c;
}

static const char *state_word(gd_trial_state s)
{
    static const char *const w[] = {"running", "finished", "pruned", "diverged", "failed"};
    return w[s];
}

/* "lr=0.0012 weight_decay=1e-05" of a trial, cut to fit room columns. */
static void params_text(const gd_trial_record *r, char *out, size_t room)
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

static void print_table(const config *c, int64_t n, int repeats)
{
    printf("rank  trial  state     epochs  val acc%s  parameters\n",
           repeats > 1 ? "          " : "");
    for (int64_t i = 0; i < n && i < SHOWN; i++) {
        const gd_trial_record *r = c[i].best;
        char acc[32], params[81];
        if (isnan(c[i].mean))
            snprintf(acc, sizeof acc, "%-6s", "-");
        else
            snprintf(acc, sizeof acc, "%.4f", c[i].mean);
        if (repeats > 1) {
            size_t l = strlen(acc);
            if (!isnan(c[i].half))
                snprintf(acc + l, sizeof acc - l, " +-%.4f", c[i].half);
            else
                snprintf(acc + l, sizeof acc - l, " (%d run%s)", c[i].scored,
                         c[i].scored == 1 ? "" : "s");
        }
        int used = printf("%4lld  %04llu  %-8s  %6lld  %-*s  ", (long long)i + 1,
                          (unsigned long long)r->trial, state_word(c[i].state),
                          (long long)r->epoch, repeats > 1 ? 17 : 7, acc);
        params_text(r, params, (size_t)(80 - used > 8 ? 80 - used : 8));
        printf("%s\n", params);
    }
}

/* ------------------------------------------------------------- warnings */

static bool log_kind(const gd_param_info *q)
{
    return q->kind == GD_PARAM_LOGUNIFORM || q->kind == GD_PARAM_LOGINT;
}

/* The lecture's warning: a best value in the outer tenth of its range suggests that the
 * best lies beyond it. */
static int warn_edges(const study_def *d, const gd_trial_record *best)
{
    int warned = 0;
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
            printf("warning: the best %s, %.4g, lies in the %s tenth of its range\n"
                   "         [%g, %g]: the best may be beyond it; try a range %s %g\n", q->name, v,
                   high ? "top" : "bottom", q->lo, q->hi, high ? "up to" : "down to", wider);
            warned++;
        }
    }
    return warned;
}

static void warn_all(const study_def *d, const gd_study *st, const config *c, int64_t n)
{
    int64_t trials = (int64_t)gd_study_trial_count(st), diverged = 0;
    for (size_t i = 0; i < gd_study_trial_count(st); i++)
        diverged += gd_study_trial(st, i)->state == GD_TRIAL_DIVERGED;
    if (trials > 0 && 2 * diverged > trials)
        printf("warning: %lld of %lld trials diverged: lower the learning rate's range, or "
               "check the data's scaling\n", (long long)diverged, (long long)trials);
    if (n > 0 && !isnan(c[0].mean))
        warn_edges(d, c[0].best);
    if (n > 1 && !isnan(c[0].half) && !isnan(c[1].half) &&
        c[0].mean - c[0].half <= c[1].mean + c[1].half)
        printf("warning: the 95%% intervals of the best two configurations overlap "
               "(%.4f +-%.4f, %.4f +-%.4f): their order may be chance; more --repeats "
               "would tell\n", c[0].mean, c[0].half, c[1].mean, c[1].half);
}

/* ------------------------------------------------------------- export */

/* Trial r's settings: the fixed part with r's parameters and seed. */
static int trial_settings(const study_def *d, const gd_trial_record *r, gd_settings *s)
{
    gd_trial_point p = {.trial = r->trial, .seed = r->seed, .count = gd_space_count(d->space)};
    for (int i = 0; i < p.count; i++) {
        const char *name = gd_space_param(d->space, i)->name;
        for (int k = 0; k < r->params; k++)
            if (strcmp(r->name[k], name) == 0 && r->value[k]) {
                p.active[i] = true;
                snprintf(p.text[i], sizeof p.text[i], "%s", r->value[k]);
                p.value[i] = strtod(r->value[k], NULL);
            }
    }
    gd_error err;
    if (gd_settings_copy(s, &d->fixed) != GD_OK || gd_space_apply(d->space, &p, s, &err) != GD_OK)
        return fail(EXIT_FAILURE_RUN, CMD, "the best trial's settings: %s", err.message);
    return EXIT_OK;
}

/* text as one shell word: as it is when it is plain, else in single quotes. */
static void shell_word(char *out, size_t len, const char *text)
{
    bool plain = *text;
    for (const char *c = text; *c; c++)
        plain = plain && (isalnum((unsigned char)*c) || strchr("-_.,:/=+@", *c));
    if (plain) {
        snprintf(out, len, "%s", text);
        return;
    }
    size_t n = 0;
    out[n++] = '\'';
    for (const char *c = text; *c && n + 5 < len; c++) {
        if (*c == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else
            out[n++] = *c;
    }
    out[n++] = '\'';
    out[n] = '\0';
}

/* "gradus train" and each flag whose value differs from the default, in the table's order. */
static char *command_line(const gd_settings *s)
{
    gd_settings def;
    gd_settings_defaults(&def);
    char *a = NULL, *b = NULL;
    gd_error err;
    gd_settings_to_json(s, &a, &err);
    gd_settings_to_json(&def, &b, &err);
    gd_settings_free(&def);
    cJSON *now = a ? cJSON_Parse(a) : NULL, *was = b ? cJSON_Parse(b) : NULL;
    free(a);
    free(b);
    size_t cap = 8192, n = 0;
    char *line = now && was ? malloc(cap) : NULL;
    if (line)
        n = (size_t)snprintf(line, cap, "gradus train");
    for (size_t i = 0; line && i < gd_setting_count(); i++) {
        const gd_setting_info *info = gd_setting_at(i);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(now, info->key);
        if (!v || cJSON_IsNull(v) || cJSON_Compare(v, cJSON_GetObjectItemCaseSensitive(was, info->key), true))
            continue;
        char value[4096], word[4200];
        if (cJSON_IsString(v))
            snprintf(value, sizeof value, "%s", v->valuestring);
        else if (cJSON_IsNumber(v))
            snprintf(value, sizeof value, "%.17g", v->valuedouble);
        else if (cJSON_IsTrue(v) && !info->metavar) {
            n += (size_t)snprintf(line + n, cap - n, " --%s", info->flag);
            continue;
        } else
            snprintf(value, sizeof value, "%s", cJSON_IsTrue(v) ? "true" : "false");
        if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
            fabs(v->valuedouble) < 1e15)
            snprintf(value, sizeof value, "%.0f", v->valuedouble);
        else if (cJSON_IsNumber(v)) /* the shortest text that reads back the same */
            for (int p = 1; p <= 17; p++) {
                snprintf(value, sizeof value, "%.*g", p, v->valuedouble);
                if (strtod(value, NULL) == v->valuedouble)
                    break;
            }
        shell_word(word, sizeof word, value);
        if (n + strlen(word) + strlen(info->flag) + 8 < cap)
            n += (size_t)snprintf(line + n, cap - n, " --%s %s", info->flag, word);
    }
    cJSON_Delete(now);
    cJSON_Delete(was);
    return line;
}

static int export_best(const study_def *d, const gd_trial_record *best, const char *path)
{
    gd_settings s = {0};
    int rc = trial_settings(d, best, &s);
    char *line = rc == EXIT_OK ? command_line(&s) : NULL;
    gd_settings_free(&s);
    if (!line)
        return rc == EXIT_OK ? fail(EXIT_FAILURE_RUN, CMD, "out of memory") : rc;
    strcat(line, "\n");
    gd_error err;
    gd_status st = gd_write_file_atomic(path, line, strlen(line), &err);
    if (st == GD_OK)
        printf("trial %04llu's gradus train command: %s\n", (unsigned long long)best->trial,
               path);
    free(line);
    return st == GD_OK ? EXIT_OK : fail_status(CMD, st, err.message);
}

/* ------------------------------------------------------------- the page */

int search_show(const study_def *d, const char *dir, const char *export_path)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/journal.jsonl", dir);
    gd_study *st = NULL;
    gd_error err;
    gd_status s = gd_study_load(&st, path, &err);
    if (s != GD_OK)
        return fail_status(CMD, s, err.message);
    for (size_t i = 0; i < gd_study_warning_count(st) && i < 5; i++)
        printf("journal: %s\n", gd_study_warning(st, i) ? gd_study_warning(st, i) : "?");
    int64_t n = 0, epochs = 0, counts[5] = {0};
    config *c = rank_configs(d, st, &n);
    for (size_t i = 0; i < gd_study_trial_count(st); i++) {
        const gd_trial_record *r = gd_study_trial(st, i);
        counts[r->state]++;
        epochs += r->epoch;
    }
    printf("%s: %zu of %lld trials", strategy_name(d->opt.strategy), gd_study_trial_count(st),
           (long long)gd_search_total_trials(&d->opt));
    for (int k = GD_TRIAL_FINISHED, first = 1; k <= GD_TRIAL_FAILED + 1; k++) {
        int state = k <= GD_TRIAL_FAILED ? k : GD_TRIAL_RUNNING; /* running last */
        if (counts[state] > 0)
            printf("%s %lld %s", first ? ":" : ",", (long long)counts[state], state_word(state));
        first = first && counts[state] == 0;
    }
    printf("; %lld epochs in all\n", (long long)epochs);
    int rc = EXIT_OK;
    if (c && n > 0) {
        print_table(c, n, d->opt.repeats);
        warn_all(d, st, c, n);
        if (export_path && !isnan(c[0].mean))
            rc = export_best(d, c[0].best, export_path);
    }
    if (export_path && (!c || n == 0 || isnan(c[0].mean)))
        rc = fail(EXIT_USAGE, CMD, "--export-best: no trial has a validation accuracy yet");
    free(c);
    gd_study_free(st);
    return rc;
}
