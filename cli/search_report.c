/* gradus report STUDY_DIR: a study's page, from study.json and journal.jsonl as
 * search_rank.c ranks them: the best so far by trial, every trial's validation curve,
 * each parameter against the score (slices), pairs of parameters coloured by it, parallel
 * coordinates, the warnings, and every trial in a table linked to its own run page,
 * which this writes too. docs/report.md describes the page. */
#include "report.h"
#include "report_chart.h"
#include "search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CMD "report"
#define PAIRS_MAX 6      /* pair charts: the first six of the numeric parameters' pairs */
#define CURVES_MAX 400   /* validation curves drawn (trials beyond are in the table) */
#define TIP_MAX 600

/* The study as the page draws it: per trial (in trial order) its score and each
 * parameter's value as a number (a choice's option index; NaN where inactive). */
typedef struct study_view {
    const char *dir;
    study_def def;
    gd_study *st;
    search_config *ranked;
    int64_t configs;
    size_t n;            /* trials in the journal */
    const gd_trial_record **trial;
    double *number, *score, *best_so_far;
    double *value;       /* n x params */
    char (*tip)[TIP_MAX];
    const char **tips;
    int params;
    int pages, pages_failed; /* trials' own pages written, and those that could not be */
} study_view;

static const gd_param_info *param(const study_view *v, int k)
{
    return gd_space_param(v->def.space, k);
}

static bool log_axis(const gd_param_info *q)
{
    return q->kind == GD_PARAM_LOGUNIFORM || q->kind == GD_PARAM_LOGINT;
}

/* ------------------------------------------------------------ reading */

/* r's value of parameter q as a number: the option's index for a choice, NaN when r has
 * none (a condition left it inactive). */
static double value_of(const gd_trial_record *r, const gd_param_info *q)
{
    for (int k = 0; k < r->params; k++) {
        if (strcmp(r->name[k], q->name) != 0 || !r->value[k])
            continue;
        if (q->kind != GD_PARAM_CHOICE)
            return strtod(r->value[k], NULL);
        for (int o = 0; o < q->options; o++)
            if (strcmp(q->option[o], r->value[k]) == 0)
                return o;
    }
    return NAN;
}

static void tip_of(study_view *v, size_t i)
{
    const gd_trial_record *r = v->trial[i];
    char params[TIP_MAX / 2];
    search_params_text(r, params, sizeof params);
    char acc[64] = "no validation accuracy yet";
    if (!isnan(r->best_val_accuracy))
        snprintf(acc, sizeof acc, "best val accuracy %.4f at epoch %lld", r->best_val_accuracy,
                 (long long)r->best_epoch);
    snprintf(v->tip[i], TIP_MAX, "trial %04llu: %s, %lld epoch%s\n%s\n%s",
             (unsigned long long)r->trial, search_state_word(r->state), (long long)r->epoch,
             r->epoch == 1 ? "" : "s", acc, params);
    v->tips[i] = v->tip[i];
}

static int view_alloc(study_view *v)
{
    size_t n = v->n ? v->n : 1, p = v->params ? (size_t)v->params : 1;
    v->trial = calloc(n, sizeof *v->trial);
    v->number = calloc(n, sizeof *v->number);
    v->score = calloc(n, sizeof *v->score);
    v->best_so_far = calloc(n, sizeof *v->best_so_far);
    v->value = calloc(n * p, sizeof *v->value);
    v->tip = calloc(n, sizeof *v->tip);
    v->tips = calloc(n, sizeof *v->tips);
    if (!v->trial || !v->number || !v->score || !v->best_so_far || !v->value || !v->tip ||
        !v->tips)
        return fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    return EXIT_OK;
}

static int view_read(study_view *v)
{
    int rc = study_def_load(&v->def, v->dir, CMD);
    if (rc != EXIT_OK)
        return rc;
    char path[4096];
    snprintf(path, sizeof path, "%s/journal.jsonl", v->dir);
    gd_error err;
    gd_status s = gd_study_load(&v->st, path, &err);
    if (s != GD_OK)
        return fail_status(CMD, s, err.message);
    v->ranked = search_rank(&v->def, v->st, &v->configs);
    v->n = gd_study_trial_count(v->st);
    v->params = gd_space_count(v->def.space);
    if (!v->ranked || (rc = view_alloc(v)) != EXIT_OK)
        return v->ranked ? rc : fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    double best = NAN;
    for (size_t i = 0; i < v->n; i++) {
        const gd_trial_record *r = v->trial[i] = gd_study_trial(v->st, i);
        v->number[i] = (double)r->trial;
        v->score[i] = r->best_val_accuracy;
        if (!isnan(r->best_val_accuracy) && (isnan(best) || r->best_val_accuracy > best))
            best = r->best_val_accuracy;
        v->best_so_far[i] = best;
        for (int k = 0; k < v->params; k++)
            v->value[i * (size_t)v->params + (size_t)k] = value_of(r, param(v, k));
        tip_of(v, i);
    }
    return EXIT_OK;
}

static void view_free(study_view *v)
{
    study_def_free(&v->def);
    gd_study_free(v->st);
    free(v->ranked), free(v->trial), free(v->number), free(v->score);
    free(v->best_so_far), free(v->value), free(v->tip), free(v->tips);
}

/* ------------------------------------------------------------ the trials' pages */

/* Each trial folder that holds a run gets its own page (quietly: the study's line says
 * how many), so that the table's links lead somewhere. */
static void trial_pages(study_view *v)
{
    for (size_t i = 0; i < v->n; i++) {
        char dir[4096], path[4200];
        struct stat sb;
        gd_search_trial_dir(v->dir, v->trial[i]->trial, dir, sizeof dir);
        snprintf(path, sizeof path, "%s/config.json", dir);
        if (stat(path, &sb) != 0)
            continue; /* it failed before its run began: the table says why */
        if (run_report(dir, NULL, true) == EXIT_OK)
            v->pages++;
        else
            v->pages_failed++;
    }
}

/* ------------------------------------------------------------ the page */

static void header(sbuf *b, const study_view *v)
{
    const gd_search_options *o = &v->def.opt;
    int64_t counts[5] = {0}, epochs = 0;
    for (size_t i = 0; i < v->n; i++)
        counts[v->trial[i]->state]++, epochs += v->trial[i]->epoch;
    sb_puts(b, "<h1>Study report: ");
    sb_html(b, v->dir);
    sb_printf(b, "</h1>\n<p class=\"status\">%s: %zu of %lld trials", strategy_name(o->strategy),
              v->n, (long long)gd_search_total_trials(o));
    static const gd_trial_state order[] = {GD_TRIAL_FINISHED, GD_TRIAL_PRUNED, GD_TRIAL_DIVERGED,
                                           GD_TRIAL_FAILED, GD_TRIAL_RUNNING};
    for (int k = 0, first = 1; k < 5; k++)
        if (counts[order[k]] > 0) {
            sb_printf(b, "%s %lld %s", first ? ":" : ",", (long long)counts[order[k]],
                      search_state_word(order[k]));
            first = 0;
        }
    sb_printf(b, "; %lld epochs in all</p>\n<table class=\"facts\">\n", (long long)epochs);
    char text[128];
    snprintf(text, sizeof text, "%llu", (unsigned long long)o->seed);
    report_fact(b, "study seed", text);
    report_fact_num(b, "repeats per configuration", "%.0f", o->repeats);
    report_fact_num(b, "epochs per trial (at most)", "%.0f", (double)o->epochs);
    report_fact(b, "model", v->def.fixed.model);
    report_fact(b, "data", v->def.fixed.data);
    for (int k = 0; k < v->def.count; k++)
        report_fact(b, k ? "" : "search space", v->def.texts[k]);
    sb_puts(b, "</table>\n");
}

static void best_section(sbuf *b, const study_view *v)
{
    if (v->configs == 0 || isnan(v->ranked[0].mean)) {
        report_absent(b, "best", "No trial has a validation accuracy yet.",
                      "Trials report one at the end of each epoch; give a validation split "
                      "(<code>--val-size</code>) and let the study run.");
        return;
    }
    const search_config *c = &v->ranked[0];
    sb_printf(b, "<h2>Best configuration</h2>\n<p>Trial <a href=\"trials/%04llu/report.html\">"
                 "%04llu</a>: validation accuracy <b>%.4f</b>",
              (unsigned long long)c->best->trial, (unsigned long long)c->best->trial, c->mean);
    if (!isnan(c->half))
        sb_printf(b, " &plusmn; %.4f (95%% interval over %d repeats)", c->half, c->scored);
    sb_puts(b, ".</p>\n");
    char *line = search_trial_command(&v->def, c->best);
    if (line) {
        sb_puts(b, "<p>To train it again: <code>");
        sb_html(b, line);
        sb_puts(b, "</code></p>\n");
    }
    free(line);
}

static void warnings_section(sbuf *b, const study_view *v)
{
    char text[8][SEARCH_WARNING_MAX];
    int k = search_warnings(&v->def, v->st, v->ranked, v->configs, text, 8);
    size_t journal = gd_study_warning_count(v->st);
    if (k == 0 && journal == 0 && v->pages_failed == 0)
        return;
    sb_puts(b, "<h2>Warnings</h2>\n<ul class=\"notes\" id=\"warnings\">\n");
    for (int i = 0; i < k; i++) {
        sb_puts(b, "<li>");
        sb_html(b, text[i]);
        sb_puts(b, "</li>\n");
    }
    for (size_t i = 0; i < journal && i < 20; i++) {
        sb_puts(b, "<li>"); /* the journal's own words name it and the line */
        sb_html(b, gd_study_warning(v->st, i));
        sb_puts(b, "</li>\n");
    }
    if (journal > 20)
        sb_printf(b, "<li>journal.jsonl: %zu more warnings</li>\n", journal - 20);
    if (v->pages_failed)
        sb_printf(b, "<li>%d trials' own pages could not be written (gradus report TRIAL_DIR "
                     "says why)</li>\n", v->pages_failed);
    sb_puts(b, "</ul>\n");
}

static void progress_charts(sbuf *b, const study_view *v)
{
    chart_series s[2] = {
        {.name = "trial", .x = v->number, .y = v->score, .n = v->n, .color = 0, .points_only = true},
        {.name = "best so far", .x = v->number, .y = v->best_so_far, .n = v->n, .color = 1}};
    chart c = {.id = "study-best", .title = "Best validation accuracy of each trial, and the best so far",
               .xlabel = "trial", .ylabel = "val accuracy", .xint = true, .percent = true,
               .ylo = NAN, .yhi = NAN, .series = s, .nseries = 2};
    sb_puts(b, "<h2>Progress</h2>\n<div class=\"grid\">\n");
    if (!chart_lines(b, &c))
        report_absent(b, "study-best", "No trial has a validation accuracy yet.", "");
    size_t drawn = v->n < CURVES_MAX ? v->n : CURVES_MAX;
    chart_series *curves = calloc(drawn ? drawn : 1, sizeof *curves);
    double *epochs = NULL;
    int64_t longest = 0;
    for (size_t i = 0; i < drawn; i++)
        longest = v->trial[i]->curve_len > longest ? v->trial[i]->curve_len : longest;
    epochs = calloc((size_t)longest + 1, sizeof *epochs);
    for (int64_t e = 0; epochs && e < longest; e++)
        epochs[e] = (double)(e + 1);
    for (size_t i = 0; curves && epochs && i < drawn; i++)
        curves[i] = (chart_series){.name = v->tips[i], .x = epochs, .y = v->trial[i]->curve,
                                   .n = (size_t)v->trial[i]->curve_len, .color = (int)i,
                                   .dots = true};
    chart cc = {.id = "study-curves", .title = "Validation accuracy per epoch, every trial",
                .xlabel = "epoch", .ylabel = "val accuracy", .xint = true, .percent = true,
                .ylo = NAN, .yhi = NAN, .series = curves, .nseries = curves && epochs ? drawn : 0,
                .no_legend = true};
    chart_lines(b, &cc);
    free(curves);
    free(epochs);
    sb_puts(b, "</div>\n");
}

/* Parameter k's values, one per trial (a column of the view). */
static double *column(const study_view *v, int k)
{
    double *c = malloc((v->n ? v->n : 1) * sizeof *c);
    for (size_t i = 0; c && i < v->n; i++)
        c[i] = v->value[i * (size_t)v->params + (size_t)k];
    return c;
}

static void slice_charts(sbuf *b, const study_view *v)
{
    if (v->params == 0)
        return;
    sb_puts(b, "<h2>Each parameter against the score</h2>\n<p class=\"figs\">One point per "
               "trial, coloured by its number: where the good values lie, and (for "
               "coarse-to-fine) how the stages narrowed.</p>\n<div class=\"grid\">\n");
    for (int k = 0; k < v->params; k++) {
        const gd_param_info *q = param(v, k);
        double *x = column(v, k);
        char id[64], title[160];
        snprintf(id, sizeof id, "slice-%d", k);
        snprintf(title, sizeof title, "%.60s%s", q->name, log_axis(q) ? " (log axis)" : "");
        chart_points p = {.id = id, .title = title, .xlabel = q->name, .ylabel = "val accuracy",
                          .clabel = "trial", .xlog = log_axis(q), .ypercent = true, .x = x,
                          .y = v->score, .c = v->number, .tip = v->tips, .n = x ? v->n : 0,
                          .xcats = q->kind == GD_PARAM_CHOICE ? q->option : NULL,
                          .ncats = q->kind == GD_PARAM_CHOICE ? (size_t)q->options : 0};
        chart_scatter(b, &p);
        free(x);
    }
    sb_puts(b, "</div>\n");
}

/* The pairs of numeric parameters, learning rate and weight decay first (the lecture's
 * pair: their best values depend on each other). */
static int numeric_pairs(const study_view *v, int pairs[][2], int max)
{
    int order[GD_SPACE_MAX_PARAMS], n = 0, count = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < v->params && n < GD_SPACE_MAX_PARAMS; k++) {
            const gd_param_info *q = param(v, k);
            bool lead = strcmp(q->name, "lr") == 0 || strcmp(q->name, "weight_decay") == 0;
            if (q->kind != GD_PARAM_CHOICE && lead == (pass == 0))
                order[n++] = k;
        }
    for (int i = 0; i < n && count < max; i++)
        for (int j = i + 1; j < n && count < max; j++)
            pairs[count][0] = order[i], pairs[count++][1] = order[j];
    return count;
}

static void pair_charts(sbuf *b, const study_view *v)
{
    int pairs[PAIRS_MAX][2];
    int n = numeric_pairs(v, pairs, PAIRS_MAX);
    if (n == 0)
        return;
    sb_puts(b, "<h2>Pairs of parameters</h2>\n<p class=\"figs\">One point per trial, "
               "coloured by its best validation accuracy (dark: low, yellow: high).</p>\n"
               "<div class=\"grid\">\n");
    for (int i = 0; i < n; i++) {
        const gd_param_info *qx = param(v, pairs[i][0]), *qy = param(v, pairs[i][1]);
        double *x = column(v, pairs[i][0]), *y = column(v, pairs[i][1]);
        char id[64], title[160];
        snprintf(id, sizeof id, "pair-%d-%d", pairs[i][0], pairs[i][1]);
        snprintf(title, sizeof title, "%.60s against %.60s", qy->name, qx->name);
        chart_points p = {.id = id, .title = title, .xlabel = qx->name, .ylabel = qy->name,
                          .clabel = "val accuracy", .xlog = log_axis(qx), .ylog = log_axis(qy),
                          .cpercent = true, .x = x, .y = y, .c = v->score, .tip = v->tips,
                          .n = x && y ? v->n : 0};
        chart_scatter(b, &p);
        free(x), free(y);
    }
    sb_puts(b, "</div>\n");
}

static void parallel_chart(sbuf *b, const study_view *v)
{
    if (v->params == 0)
        return;
    size_t nd = (size_t)v->params + 1;
    chart_dim *dims = calloc(nd, sizeof *dims);
    double **cols = calloc(nd, sizeof *cols);
    bool ok = dims && cols;
    for (int k = 0; ok && k < v->params; k++) {
        const gd_param_info *q = param(v, k);
        ok = (cols[k] = column(v, k)) != NULL;
        dims[k] = (chart_dim){.name = q->name, .log = log_axis(q), .v = cols[k],
                              .cats = q->kind == GD_PARAM_CHOICE ? q->option : NULL,
                              .ncats = q->kind == GD_PARAM_CHOICE ? (size_t)q->options : 0};
    }
    if (ok) {
        dims[nd - 1] = (chart_dim){.name = "val accuracy", .percent = true, .v = v->score};
        chart_parallel_spec p = {.id = "parallel", .title = "Parallel coordinates: every trial "
                                 "across its parameters to its score", .clabel = "val accuracy",
                                 .dims = dims, .ndims = nd, .c = v->score, .tip = v->tips,
                                 .n = v->n, .cpercent = true};
        sb_puts(b, "<h2>All parameters at once</h2>\n");
        chart_parallel(b, &p);
    }
    for (size_t k = 0; cols && k < nd; k++)
        free(cols[k]);
    free(cols), free(dims);
}

static void trial_row(sbuf *b, const study_view *v, const gd_trial_record *r, int64_t rank)
{
    char dir[4096], page[4200], params[1024];
    struct stat sb;
    gd_search_trial_dir(v->dir, r->trial, dir, sizeof dir);
    snprintf(page, sizeof page, "%s/report.html", dir);
    bool linked = stat(page, &sb) == 0;
    search_params_text(r, params, sizeof params);
    sb_printf(b, "<tr%s><td class=\"num\">%lld</td><td>", rank == 1 ? " class=\"best\"" : "",
              (long long)rank);
    if (linked)
        sb_printf(b, "<a href=\"trials/%04llu/report.html\">%04llu</a>",
                  (unsigned long long)r->trial, (unsigned long long)r->trial);
    else
        sb_printf(b, "%04llu", (unsigned long long)r->trial);
    sb_printf(b, "</td><td class=\"s-%s\">%s</td><td class=\"num\">%lld</td><td class=\"num\">",
              search_state_word(r->state), search_state_word(r->state), (long long)r->epoch);
    if (!isnan(r->best_val_accuracy))
        sb_printf(b, "%.4f (epoch %lld)", r->best_val_accuracy, (long long)r->best_epoch);
    sb_printf(b, "</td><td class=\"num\">%llu</td><td><code>", (unsigned long long)r->seed);
    sb_html(b, params);
    sb_puts(b, "</code>");
    if (r->message && r->message[0]) {
        sb_puts(b, "<br>");
        sb_html(b, r->message);
    }
    sb_puts(b, "</td></tr>\n");
}

/* Every trial, its configurations in rank order and each one's repeats together. */
static void trials_table(sbuf *b, const study_view *v)
{
    sb_puts(b, "<h2>Trials</h2>\n<table class=\"list\" id=\"trials\">\n<tr><th>rank</th>"
               "<th>trial</th><th>state</th><th>epochs</th><th>best val accuracy</th>"
               "<th>seed</th><th>parameters</th></tr>\n");
    const int repeats = v->def.opt.repeats;
    for (int64_t i = 0; i < v->configs; i++)
        for (int r = 0; r < repeats; r++) {
            uint64_t t = (uint64_t)(v->ranked[i].index * repeats + r);
            const gd_trial_record *rec = gd_study_find(v->st, t);
            if (rec)
                trial_row(b, v, rec, i + 1);
        }
    sb_puts(b, "</table>\n");
}

static void footer(sbuf *b, const study_view *v)
{
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    sb_printf(b, "<footer>Made by gradus %s (<code>gradus report</code>) on %s from study.json "
                 "and journal.jsonl (%lld lines, %lld events); %d trials' own pages written "
                 "beside it.</footer>\n", gd_version(), when, (long long)gd_study_lines(v->st),
              (long long)gd_study_events(v->st), v->pages);
}

static void page(sbuf *b, const study_view *v)
{
    report_page_open(b, v->dir);
    header(b, v);
    best_section(b, v);
    warnings_section(b, v);
    progress_charts(b, v);
    slice_charts(b, v);
    pair_charts(b, v);
    parallel_chart(b, v);
    trials_table(b, v);
    footer(b, v);
    report_page_close(b);
}

int search_report(const char *dir, const char *out)
{
    study_view v = {.dir = dir};
    int rc = view_read(&v);
    if (rc == EXIT_OK) {
        trial_pages(&v);
        sbuf b = {0};
        page(&b, &v);
        char path[4096];
        snprintf(path, sizeof path, "%s/report.html", dir);
        const char *to = out ? out : path;
        if ((rc = report_save(&b, to, CMD)) == EXIT_OK)
            printf("report: %s (%.0f KB), with %d trials' own pages\n", to,
                   (double)b.len / 1024, v.pages);
    }
    view_free(&v);
    return rc;
}
