/* A study's results on the terminal (gradus search at its end and --show): the table of
 * the best configurations as search_rank.c ranks them, its warnings, and the best
 * trial's `gradus train` command line (--export-best). */
#include "search.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD "search"
#define SHOWN 10

static void print_table(const search_config *c, int64_t n, int repeats)
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
                          (unsigned long long)r->trial, search_state_word(c[i].state),
                          (long long)r->epoch, repeats > 1 ? 17 : 7, acc);
        search_params_text(r, params, (size_t)(80 - used > 8 ? 80 - used : 8));
        printf("%s\n", params);
    }
}

static void print_warnings(const study_def *d, const gd_study *st, const search_config *c,
                           int64_t n)
{
    char text[8][SEARCH_WARNING_MAX];
    int k = search_warnings(d, st, c, n, text, 8);
    for (int i = 0; i < k; i++)
        print_wrapped(stdout, 0, "warning: ", text[i], 80);
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

char *search_trial_command(const study_def *d, const gd_trial_record *r)
{
    gd_settings s = {0};
    int rc = trial_settings(d, r, &s);
    char *line = rc == EXIT_OK ? command_line(&s) : NULL;
    gd_settings_free(&s);
    if (!line && rc == EXIT_OK)
        fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    return line;
}

static int export_best(const study_def *d, const gd_trial_record *best, const char *path)
{
    char *line = search_trial_command(d, best);
    if (!line)
        return EXIT_FAILURE_RUN;
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
    search_config *c = search_rank(d, st, &n);
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
            printf("%s %lld %s", first ? ":" : ",", (long long)counts[state],
                   search_state_word(state));
        first = first && counts[state] == 0;
    }
    printf("; %lld epochs in all\n", (long long)epochs);
    int rc = EXIT_OK;
    if (c && n > 0) {
        print_table(c, n, d->opt.repeats);
        print_warnings(d, st, c, n);
        if (export_path && !isnan(c[0].mean))
            rc = export_best(d, c[0].best, export_path);
    }
    if (export_path && (!c || n == 0 || isnan(c[0].mean)))
        rc = fail(EXIT_USAGE, CMD, "--export-best: no trial has a validation accuracy yet");
    free(c);
    gd_study_free(st);
    return rc;
}
