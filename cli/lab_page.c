/* gradus lab's page: one experiment's JSON document (docs/lab.md) drawn in the report's
 * self-contained style: the claim, each verdict with its evidence, every figure (lines
 * as they are; a histogram as its shares over the bins' centres, one line per series),
 * every table, and the command that measures it again. */
#include "lab.h"
#include "report_chart.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CMD "lab"

/* The page's language: "en" or "ko" (lab_ko.c), English where no translation is. */
static const char *say(const char *lang, const char *key, const char *english)
{
    const char *ko = lang && strcmp(lang, "ko") == 0 ? lab_ko(key) : NULL;
    return ko ? ko : english;
}

static const char *word(const char *lang, const char *english)
{
    char key[64];
    snprintf(key, sizeof key, "@%s", english);
    return say(lang, key, english);
}

static const char *text_of(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "";
}

static double number_of(const cJSON *v) { return cJSON_IsNumber(v) ? v->valuedouble : NAN; }

/* A JSON array of numbers (null: NaN) as doubles; NULL when out of memory. */
static double *numbers(const cJSON *a, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(a);
    double *v = malloc((*n ? *n : 1) * sizeof *v);
    const cJSON *x;
    size_t i = 0;
    cJSON_ArrayForEach(x, a) if (v) v[i++] = number_of(x);
    return v;
}

static const char *verdict_class(const char *verdict)
{
    return strcmp(verdict, "held") == 0 ? "PASS" : strcmp(verdict, "did not hold") == 0 ? "FAIL" : "WARN";
}

static double num_of(const cJSON *o, const char *key)
{
    return number_of(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The evidence in the page's language: English as the library wrote it, else built from
 * the same numbers. */
static void evidence(sbuf *b, const cJSON *c, const char *lang)
{
    if (!lang || strcmp(lang, "ko") != 0) {
        sb_html(b, text_of(c, "evidence"));
        return;
    }
    char key[96];
    snprintf(key, sizeof key, "%s:metric", text_of(c, "id"));
    sb_html(b, say(lang, key, text_of(c, "metric")));
    sb_printf(b, ": %.4g (%s %.4g ~ %.4g, %s %d); ", num_of(c, "mean"), word(lang, "interval"),
              num_of(c, "ci95_lo"), num_of(c, "ci95_hi"), word(lang, "seeds"),
              cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "values")));
    sb_html(b, word(lang, strcmp(text_of(c, "expect"), "below") == 0 ? "expects below"
                                                                      : "expects above"));
    sb_printf(b, " %.4g", num_of(c, "threshold"));
}

static void verdicts(sbuf *b, const cJSON *doc, const char *lang)
{
    sb_printf(b, "<h3>%s</h3>\n<table class=\"list verdicts\">\n<tr><th>%s</th><th>%s</th>"
                 "<th>%s</th></tr>\n", word(lang, "verdicts"), word(lang, "claim"),
              word(lang, "verdict"), word(lang, "evidence"));
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "claims")) {
        const char *v = text_of(c, "verdict");
        sb_puts(b, "<tr><td>");
        sb_html(b, say(lang, text_of(c, "id"), text_of(c, "claim")));
        sb_printf(b, "</td><td><span class=\"v v-%s\">", verdict_class(v));
        sb_html(b, word(lang, v));
        sb_puts(b, "</span></td><td>");
        evidence(b, c, lang);
        sb_puts(b, "</td></tr>\n");
    }
    sb_puts(b, "</table>\n");
}

/* A histogram's n + 1 edges as its n bins' centres, in place. */
static void centres(double *x, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        x[i] = (x[i] + x[i + 1]) / 2;
}

static void figure(sbuf *b, const cJSON *f, const char *prefix)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(f, "series"), *s;
    bool hist = strcmp(text_of(f, "kind"), "histograms") == 0;
    size_t n = (size_t)cJSON_GetArraySize(list), k = 0;
    chart_series *series = calloc(n ? n : 1, sizeof *series);
    double **owned = calloc(2 * (n ? n : 1), sizeof *owned);
    if (!series || !owned) {
        free(series), free(owned);
        b->failed = true;
        return;
    }
    cJSON_ArrayForEach(s, list) {
        size_t nx, ny;
        double *x = owned[2 * k] = numbers(cJSON_GetObjectItemCaseSensitive(s, "x"), &nx);
        double *y = owned[2 * k + 1] = numbers(cJSON_GetObjectItemCaseSensitive(s, "y"), &ny);
        if (hist && x)
            centres(x, nx);
        series[k] = (chart_series){.name = text_of(s, "name"), .x = x, .y = y,
                                   .n = x && y ? (nx < ny ? nx : ny) : 0, .color = (int)k,
                                   .dots = !hist};
        k++;
    }
    char id[128];
    snprintf(id, sizeof id, "%.20s%.100s", prefix, text_of(f, "id"));
    const cJSON *log_y = cJSON_GetObjectItemCaseSensitive(f, "log_y");
    chart c = {.id = id, .title = text_of(f, "title"), .xlabel = text_of(f, "x_label"),
               .ylabel = text_of(f, "y_label"), .ylog = cJSON_IsTrue(log_y), .xint = !hist,
               .percent = hist, .ylo = NAN, .yhi = NAN, .series = series, .nseries = k};
    chart_lines(b, &c);
    for (size_t i = 0; i < 2 * k; i++)
        free(owned[i]);
    free(owned), free(series);
}

static void value_cell(sbuf *b, const cJSON *v)
{
    double x = number_of(v);
    if (isnan(x))
        sb_puts(b, "<td class=\"num\">&ndash;</td>");
    else if (x != 0 && (fabs(x) < 1e-3 || fabs(x) >= 1e5))
        sb_printf(b, "<td class=\"num\">%.3e</td>", x);
    else
        sb_printf(b, "<td class=\"num\">%.4g</td>", x);
}

static void table(sbuf *b, const cJSON *t)
{
    sb_puts(b, "<h3>");
    sb_html(b, text_of(t, "title"));
    sb_printf(b, "</h3>\n<table class=\"list\" id=\"table-");
    sb_html(b, text_of(t, "id"));
    sb_puts(b, "\">\n<tr>");
    const cJSON *c, *r;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(t, "columns")) {
        sb_puts(b, "<th>");
        sb_html(b, cJSON_GetStringValue(c) ? cJSON_GetStringValue(c) : "");
        sb_puts(b, "</th>");
    }
    sb_puts(b, "</tr>\n");
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(t, "rows")) {
        sb_puts(b, "<tr>");
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(r, "values")) value_cell(b, c);
        sb_puts(b, "</tr>\n");
    }
    sb_puts(b, "</table>\n");
}

/* The command line that measures the same numbers again. */
static void again(sbuf *b, const cJSON *doc, const char *lang)
{
    sb_printf(b, "<p>%s <code>gradus lab ", word(lang, "again"));
    sb_html(b, text_of(doc, "experiment"));
    sb_printf(b, "%s --seeds %.0f --seed %.0f</code></p>\n",
              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "quick")) ? " --quick" : "",
              num_of(doc, "seeds"), num_of(doc, "seed"));
}

/* One experiment: its claim, command, verdicts, figures and tables; figure ids start
 * with prefix (a notebook's are each experiment's own). */
static void section(sbuf *b, const cJSON *doc, const char *prefix, const char *lang, bool tables)
{
    const cJSON *f;
    again(b, doc, lang);
    verdicts(b, doc, lang);
    sb_printf(b, "<h3>%s</h3>\n<div class=\"grid\">\n", word(lang, "figures"));
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "figures")) figure(b, f, prefix);
    sb_puts(b, "</div>\n");
    if (!tables)
        return;
    sb_printf(b, "<h3>%s</h3>\n", word(lang, "tables"));
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "tables")) table(b, f);
}

static void facts(sbuf *b, const cJSON *doc, const char *lang, bool seconds)
{
    sb_puts(b, "<table class=\"facts\">\n");
    report_fact_num(b, word(lang, "seeds"), "%.0f", num_of(doc, "seeds"));
    report_fact(b, word(lang, "size"),
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "quick")) ? "--quick"
                                                                             : word(lang, "full"));
    report_fact(b, "CPU", text_of(doc, "cpu"));
    if (seconds)
        report_fact_num(b, word(lang, "seconds"), "%.1f", num_of(doc, "seconds"));
    report_fact(b, "gradus", text_of(doc, "gradus_version"));
    sb_puts(b, "</table>\n");
}

static void page(sbuf *b, const cJSON *doc, const char *lang)
{
    char title[160];
    const char *name = text_of(doc, "experiment");
    snprintf(title, sizeof title, "lab %.100s", name);
    report_page_open(b, title);
    sb_puts(b, "<h1>Lab: ");
    sb_html(b, name);
    sb_puts(b, "</h1>\n<p class=\"status\">");
    sb_html(b, say(lang, name, text_of(doc, "claim")));
    sb_puts(b, "</p>\n");
    facts(b, doc, lang, true);
    section(b, doc, "fig-", lang, true);
    sb_puts(b, "<footer>Made by <code>gradus lab</code> from the numbers it measured; every "
               "number is also in the JSON file beside this page (docs/lab.md).</footer>\n");
    report_page_close(b);
}

int lab_page(const cJSON *doc, const char *path, const char *lang)
{
    sbuf b = {0};
    page(&b, doc, lang);
    return report_save(&b, path, CMD);
}

/* The notebook's first table: each experiment's verdicts counted, linked to its section. */
static void summary(sbuf *b, cJSON *const *docs, int n, const char *lang)
{
    sb_printf(b, "<h2>%s</h2>\n<table class=\"list\" id=\"summary\">\n<tr><th>%s</th>"
                 "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>\n", word(lang, "summary"),
              word(lang, "experiment"), word(lang, "held"), word(lang, "did not hold"),
              word(lang, "inconclusive"), word(lang, "seconds"));
    for (int i = 0; i < n; i++) {
        int count[3] = {0};
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(docs[i], "claims")) {
            const char *v = text_of(c, "verdict");
            count[strcmp(v, "held") == 0 ? 0 : strcmp(v, "did not hold") == 0 ? 1 : 2]++;
        }
        const char *name = text_of(docs[i], "experiment");
        sb_puts(b, "<tr><td><a href=\"#exp-");
        sb_html(b, name);
        sb_puts(b, "\">");
        sb_html(b, name);
        sb_printf(b, "</a></td><td class=\"num\">%d</td><td class=\"num\">%d</td>"
                     "<td class=\"num\">%d</td><td class=\"num\">%.1f</td></tr>\n", count[0],
                  count[1], count[2], num_of(docs[i], "seconds"));
    }
    sb_puts(b, "</table>\n");
}

int lab_notebook(cJSON *const *docs, int n, const char *path, const char *lang)
{
    sbuf b = {0};
    const char *title = say(lang, "@title", "The lecture notebook: Training Neural Networks, "
                                            "measured on this machine");
    report_page_open(&b, title);
    sb_puts(&b, "<h1>");
    sb_html(&b, title);
    sb_puts(&b, "</h1>\n<p class=\"status\">");
    sb_html(&b, say(lang, "@intro", "Each section measures one claim of the lecture on this "
                                    "machine: the claim, the figures, the measured numbers, "
                                    "the verdict, and the command that measures them again."));
    sb_puts(&b, "</p>\n");
    if (n > 0) /* the machine and the size, every experiment's; their times: the summary */
        facts(&b, docs[0], lang, false);
    summary(&b, docs, n, lang);
    for (int i = 0; i < n; i++) {
        const char *name = text_of(docs[i], "experiment");
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%.40s-", name);
        sb_puts(&b, "<h2 id=\"exp-");
        sb_html(&b, name);
        sb_puts(&b, "\">");
        sb_html(&b, name);
        sb_puts(&b, "</h2>\n<p>");
        sb_html(&b, say(lang, name, text_of(docs[i], "claim")));
        sb_puts(&b, "</p>\n");
        section(&b, docs[i], prefix, lang, false);
    }
    sb_puts(&b, "<footer>Made by <code>gradus lab all</code>; each experiment's page and JSON "
                "file (every number, its tables included) lie beside this one.</footer>\n");
    report_page_close(&b);
    return report_save(&b, path, CMD);
}
