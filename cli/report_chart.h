/* gradus report's drawing: a growing text buffer and the SVG charts the report draws
 * itself (line charts on linear or log axes, activation histograms over time, the
 * confusion matrix). Every chart is a <figure class="chart" id=...> whose data marks
 * (lines, points, cells) have class "mark" and carry their values in a <title>, which a
 * browser shows on hover. */
#ifndef GD_CLI_REPORT_CHART_H
#define GD_CLI_REPORT_CHART_H

#include <stdbool.h>
#include <stddef.h>

/* Text that grows; after a failed allocation `failed` is set and nothing more is added. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool failed;
} sbuf;

void sb_put(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with & < > " ' escaped, for HTML text and attribute values. */
void sb_html(sbuf *b, const char *s);
void sb_base64(sbuf *b, const unsigned char *p, size_t n);

/* One line of a chart: n points (x[i], y[i]); points that are not finite (or not
 * positive on a log axis) break the line. */
typedef struct chart_series {
    const char *name;
    const double *x, *y;
    size_t n;
    int color;  /* palette index: series of one colour belong together (raw, smoothed) */
    bool faint; /* a thin light line under another (the raw loss under its average) */
    bool dots;  /* a visible dot at every point (few points: epochs) */
    bool points_only; /* dots and no line: values that are not a sequence (trials) */
} chart_series;

enum { REF_LINE, REF_GOOD_BAND, REF_WARN_LINE, REF_EPOCH };

/* A reference drawn across the plot: a line at lo (hi ignored) or a band from lo to hi. */
typedef struct chart_ref {
    double lo, hi;
    const char *label;
    int kind; /* REF_* */
} chart_ref;

typedef struct chart {
    const char *id, *title, *xlabel, *ylabel;
    bool ylog;    /* log axis for y (decade ticks) */
    bool xint;    /* integer ticks on x (epochs) */
    bool percent; /* y is a fraction, shown as a percentage */
    double ylo, yhi; /* a range the y axis must include (NaN: the data's only) */
    const chart_series *series;
    size_t nseries;
    const chart_ref *hrefs, *vrefs; /* across y values, across x values */
    size_t nhrefs, nvrefs;
    bool no_legend; /* many series (a study's trials): their names show on hover */
} chart;

/* Draws c; false (and nothing drawn) when no series has a point to draw. */
bool chart_lines(sbuf *b, const chart *c);

/* One layer's activation histograms over time: cols records of rows counts each (the
 * monitor's: below lo, the bins over [lo, hi), at or above hi), column k at v + k rows,
 * drawn as a heat map (each column scaled to its own largest count) with the mean over it. */
typedef struct chart_heat {
    const char *id, *title;
    size_t cols, rows;
    const double *x;         /* each column's step */
    const double *v;         /* cols x rows counts */
    const double *mean, *std; /* per column (NaN: none) */
    double lo, hi;
} chart_heat;
void chart_histogram(sbuf *b, const chart_heat *h);

/* A classes x classes matrix of counts (row = truth), coloured by each row's share, with
 * each class's recall; names NULL: the class indices. */
void chart_confusion(sbuf *b, const char *id, int classes, const double *m,
                     const char *const *names);

/* report_study_chart.c: a study's charts. A scatter of n points (x[i], y[i]) coloured
 * by c[i] on a dark-to-light scale from the smallest to the largest finite c (NaN: grey),
 * each with tip[i] on hover; with xcats, x[i] is an index into those categories (a
 * choice parameter) and points are spread a little sideways so that they do not hide
 * each other. */
typedef struct chart_points {
    const char *id, *title, *xlabel, *ylabel, *clabel;
    bool xlog, ylog, ypercent, cpercent;
    const double *x, *y, *c;
    const char *const *tip;
    size_t n;
    const char *const *xcats;
    size_t ncats;
} chart_points;
/* False (nothing drawn) when no point has finite coordinates. */
bool chart_scatter(sbuf *b, const chart_points *p);

/* Parallel coordinates: one vertical axis per dimension, one line per trial through its
 * values (NaN: the trial has none there, and its line passes that axis by), coloured by
 * c on the scatter's scale. */
typedef struct chart_dim {
    const char *name;
    bool log, percent;
    const double *v; /* n values; an index into cats for a choice */
    const char *const *cats;
    size_t ncats;
} chart_dim;
typedef struct chart_parallel_spec {
    const char *id, *title, *clabel;
    const chart_dim *dims;
    size_t ndims;
    const double *c;
    const char *const *tip;
    size_t n;
    bool cpercent;
} chart_parallel_spec;
bool chart_parallel(sbuf *b, const chart_parallel_spec *p);

/* report_page.c: the page's head (its style sheet) up to <main>, and from </main> on
 * (its script: tooltips, legend keys that hide lines, each chart's count of drawn marks
 * for the report's test). */
void report_page_open(sbuf *b, const char *title);
void report_page_close(sbuf *b);
/* Writes the page to path atomically and frees its text (b->len stays, for the size to
 * say): an exit code, after a message naming the failure. */
int report_save(sbuf *b, const char *path, const char *cmd);
/* A dashed box saying what is absent (what, as text) and how to get it (how: our own
 * HTML, with <code>). */
void report_absent(sbuf *b, const char *id, const char *what, const char *how);
/* A row of a facts table: name and value as text (value NULL: no row). */
void report_fact(sbuf *b, const char *name, const char *value);
void report_fact_num(sbuf *b, const char *name, const char *fmt, double v);

/* The palette's colour for index i ("#4e79a7"). */
const char *chart_color(int i);

#endif
