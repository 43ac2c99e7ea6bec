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

static void verdicts(sbuf *b, const cJSON *doc)
{
    sb_puts(b, "<h2>Verdicts</h2>\n<table class=\"list\" id=\"verdicts\">\n<tr><th>claim</th>"
               "<th>verdict</th><th>evidence</th></tr>\n");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "claims")) {
        const char *v = text_of(c, "verdict");
        sb_puts(b, "<tr><td>");
        sb_html(b, text_of(c, "claim"));
        sb_printf(b, "</td><td><span class=\"v v-%s\">", verdict_class(v));
        sb_html(b, v);
        sb_puts(b, "</span></td><td>");
        sb_html(b, text_of(c, "evidence"));
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

static void figure(sbuf *b, const cJSON *f)
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
    snprintf(id, sizeof id, "fig-%.100s", text_of(f, "id"));
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
static void again(sbuf *b, const cJSON *doc)
{
    sb_puts(b, "<p>To measure it again: <code>gradus lab ");
    sb_html(b, text_of(doc, "experiment"));
    sb_printf(b, "%s --seeds %.0f --seed %.0f</code></p>\n",
              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "quick")) ? " --quick" : "",
              number_of(cJSON_GetObjectItemCaseSensitive(doc, "seeds")),
              number_of(cJSON_GetObjectItemCaseSensitive(doc, "seed")));
}

static void page(sbuf *b, const cJSON *doc)
{
    char title[160];
    snprintf(title, sizeof title, "lab %.100s", text_of(doc, "experiment"));
    report_page_open(b, title);
    sb_puts(b, "<h1>Lab: ");
    sb_html(b, text_of(doc, "experiment"));
    sb_puts(b, "</h1>\n<p class=\"status\">");
    sb_html(b, text_of(doc, "claim"));
    sb_puts(b, "</p>\n<table class=\"facts\">\n");
    report_fact_num(b, "seeds", "%.0f", number_of(cJSON_GetObjectItemCaseSensitive(doc, "seeds")));
    report_fact(b, "size", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "quick")) ? "--quick" : "full");
    report_fact(b, "CPU", text_of(doc, "cpu"));
    report_fact_num(b, "seconds", "%.1f", number_of(cJSON_GetObjectItemCaseSensitive(doc, "seconds")));
    report_fact(b, "gradus", text_of(doc, "gradus_version"));
    sb_puts(b, "</table>\n");
    again(b, doc);
    verdicts(b, doc);
    sb_puts(b, "<h2>Figures</h2>\n<div class=\"grid\">\n");
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "figures")) figure(b, f);
    sb_puts(b, "</div>\n<h2>Tables</h2>\n");
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "tables")) table(b, f);
    sb_puts(b, "<footer>Made by <code>gradus lab</code> from the numbers it measured; every "
               "number is also in the JSON file beside this page (docs/lab.md).</footer>\n");
    report_page_close(b);
}

int lab_page(const cJSON *doc, const char *path)
{
    sbuf b = {0};
    page(&b, doc);
    return report_save(&b, path, CMD);
}
