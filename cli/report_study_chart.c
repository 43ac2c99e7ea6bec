/* A study's charts: trials as points (a parameter against the score, or two parameters
 * against each other, coloured by the score) and as lines across parallel axes. Both
 * colour by one sequential scale (viridis: dark is low, yellow is high), which keeps its
 * order for readers with most kinds of colour blindness and in grey print. */
#include "report_axis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ colour */

static const int VIRIDIS[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98},
                                  {253, 231, 37}};

static void viridis(char out[8], double t)
{
    if (!isfinite(t)) {
        snprintf(out, 8, "#afb8c1");
        return;
    }
    t = fmin(1, fmax(0, t)) * 4;
    int k = t >= 4 ? 3 : (int)t;
    double u = t - k;
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = (int)lround(VIRIDIS[k][i] + (VIRIDIS[k + 1][i] - VIRIDIS[k][i]) * u);
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

typedef struct scale {
    double lo, hi;
} scale;

static scale scale_of(const double *c, size_t n)
{
    scale s = {INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++)
        if (isfinite(c[i]))
            s.lo = fmin(s.lo, c[i]), s.hi = fmax(s.hi, c[i]);
    return s;
}

static void color_at(char out[8], const scale *s, double v)
{
    viridis(out, !isfinite(v) ? NAN : s->hi > s->lo ? (v - s->lo) / (s->hi - s->lo) : 1);
}

/* The scale's key under a chart: its two ends and what the colour means. */
static void color_key(sbuf *b, const scale *s, const char *label, bool percent)
{
    if (!(s->lo <= s->hi))
        return;
    char lo[32], hi[32];
    value_text(lo, sizeof lo, s->lo, percent);
    value_text(hi, sizeof hi, s->hi, percent);
    sb_puts(b, "<div class=\"cbar\">colour: ");
    sb_html(b, label);
    sb_printf(b, " <span>%s</span><i style=\"background:linear-gradient(90deg", lo);
    for (int k = 0; k < 5; k++)
        sb_printf(b, ",#%02x%02x%02x", VIRIDIS[k][0], VIRIDIS[k][1], VIRIDIS[k][2]);
    sb_printf(b, ")\"></i><span>%s</span></div>\n", hi);
}

static void open_figure(sbuf *b, const char *id, const char *title, int width, int height)
{
    sb_printf(b, "<figure class=\"chart\" id=\"%s\"><figcaption>", id);
    sb_html(b, title);
    sb_printf(b, "</figcaption>\n<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
              width, height);
    sb_html(b, title);
    sb_puts(b, "\">\n");
}

/* ------------------------------------------------------------ scatter */

/* A choice's axis: one slot per category, no numeric ticks (draw_cats labels them). */
static void axis_cats(axis *a, size_t n)
{
    *a = (axis){.lo = -0.5, .hi = (double)n - 0.5, .step = 1};
}

static void draw_cats(sbuf *b, const axis *x, const char *const *cats, size_t n)
{
    const double pw = W - ML - MR, ph = H - MT - MB;
    for (size_t k = 0; k < n; k++) {
        double px = axis_at(x, (double)k, ML, pw);
        sb_printf(b, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">", px, MT + ph + 17);
        sb_html(b, cats[k]);
        sb_puts(b, "</text>\n");
    }
}

/* Sideways spread within a category's slot, the same for a trial on every chart. */
static double spread(size_t i) { return (fmod((double)i * 0.6180339887, 1.0) - 0.5) * 0.5; }

static bool scatter_range(const chart_points *p, double r[4])
{
    r[0] = r[2] = INFINITY, r[1] = r[3] = -INFINITY;
    for (size_t i = 0; i < p->n; i++) {
        double x = p->x[i], y = p->y[i];
        if (!isfinite(x) || !isfinite(y) || (p->xlog && x <= 0) || (p->ylog && y <= 0))
            continue;
        r[0] = fmin(r[0], x), r[1] = fmax(r[1], x), r[2] = fmin(r[2], y), r[3] = fmax(r[3], y);
    }
    return r[0] <= r[1];
}

/* Drawing order: the lowest score first, so that the best trials lie on top. */
static size_t *order_by(const double *c, size_t n)
{
    size_t *o = malloc((n ? n : 1) * sizeof *o);
    for (size_t i = 0; o && i < n; i++)
        o[i] = i;
    for (size_t i = 1; o && i < n; i++) /* insertion sort: stable, and n is trials */
        for (size_t j = i; j > 0; j--) {
            double a = c[o[j - 1]], z = c[o[j]];
            bool swap = isfinite(z) ? (!isfinite(a) || z < a) : false;
            if (!swap)
                break;
            size_t t = o[j - 1];
            o[j - 1] = o[j], o[j] = t;
        }
    return o;
}

bool chart_scatter(sbuf *b, const chart_points *p)
{
    double r[4];
    if (!scatter_range(p, r))
        return false;
    size_t *o = order_by(p->c, p->n);
    if (!o)
        return b->failed = true, false;
    axis x, y;
    if (p->xcats)
        axis_cats(&x, p->ncats);
    else
        axis_fit(&x, r[0], r[1], p->xlog, false);
    axis_fit(&y, r[2], r[3], p->ylog, false);
    y.percent = p->ypercent;
    scale s = scale_of(p->c, p->n);
    open_figure(b, p->id, p->title, W, H);
    draw_axes(b, &x, &y, p->xlabel, p->ylabel);
    if (p->xcats)
        draw_cats(b, &x, p->xcats, p->ncats);
    const double pw = W - ML - MR, ph = H - MT - MB;
    for (size_t k = 0; k < p->n; k++) {
        size_t i = o[k];
        double xv = p->xcats ? p->x[i] + spread(i) : p->x[i];
        double px = axis_at(&x, xv, ML, pw), py = axis_at(&y, p->y[i], 0, ph);
        if (!isfinite(px) || !isfinite(py))
            continue;
        char fill[8];
        color_at(fill, &s, p->c[i]);
        sb_printf(b, "<circle class=\"mark dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\">"
                     "<title>", px, MT + ph - py, fill);
        sb_html(b, p->tip[i]);
        sb_puts(b, "</title></circle>\n");
    }
    free(o);
    sb_puts(b, "</svg>\n");
    color_key(b, &s, p->clabel, p->cpercent);
    sb_puts(b, "</figure>\n");
    return true;
}

/* ------------------------------------------------------------ parallel */

/* Wider than the other charts: an axis per parameter needs room between them. */
#define PW 1200
#define PH 360
#define PT 34 /* room above the axes for their names */
#define PML 60 /* the first and last axes' names and labels */
#define PMR 80

static void fit_dim(axis *a, const chart_dim *d, size_t n)
{
    if (d->cats) {
        axis_cats(a, d->ncats);
        return;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(d->v[i]) && (!d->log || d->v[i] > 0))
            lo = fmin(lo, d->v[i]), hi = fmax(hi, d->v[i]);
    axis_fit(a, lo, hi, d->log, false);
    a->percent = d->percent;
}

/* One vertical axis at px: its name on top, labels at its ticks (or its categories). */
static void draw_dim(sbuf *b, const chart_dim *d, const axis *a, double px)
{
    const double ph = PH - PT - MB;
    sb_printf(b, "<line class=\"refline\" style=\"stroke:#57606a;stroke-dasharray:none\" "
                 "x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%g\"/>\n", px, px, PT, PT + ph);
    sb_printf(b, "<text class=\"label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", px, PT - 12);
    sb_html(b, d->name);
    sb_puts(b, "</text>\n");
    char text[32];
    size_t marks = d->cats ? d->ncats : (size_t)a->nticks;
    for (size_t k = 0; k < marks; k++) {
        double v = d->cats ? (double)k : a->ticks[k];
        double py = PT + ph - (v - a->lo) / (a->hi - a->lo) * ph;
        if (d->cats)
            snprintf(text, sizeof text, "%.31s", d->cats[k]);
        else
            tick_label(text, sizeof text, a, v);
        sb_printf(b, "<text class=\"reflabel\" x=\"%.1f\" y=\"%.1f\" dy=\"0.32em\">", px + 4, py);
        sb_html(b, text);
        sb_puts(b, "</text>\n");
    }
}

static void trial_line(sbuf *b, const chart_parallel_spec *p, const axis *axes, size_t i,
                       const scale *s)
{
    const double ph = PH - PT - MB, gap = (double)(PW - PML - PMR) / (double)(p->ndims - 1);
    char stroke[8];
    color_at(stroke, s, p->c[i]);
    int drawn = 0;
    for (size_t k = 0; k < p->ndims; k++) {
        const chart_dim *d = &p->dims[k];
        double v = d->cats && isfinite(d->v[i]) ? d->v[i] + spread(i) * 0.6 : d->v[i];
        double py = axis_at(&axes[k], v, 0, ph);
        if (!isfinite(py))
            continue;
        if (drawn++ == 0)
            sb_printf(b, "<polyline class=\"mark pline\" stroke=\"%s\" points=\"", stroke);
        sb_printf(b, "%s%.1f,%.1f", drawn > 1 ? " " : "", PML + gap * (double)k, PT + ph - py);
    }
    if (drawn == 0)
        return;
    sb_puts(b, "\"><title>");
    sb_html(b, p->tip[i]);
    sb_puts(b, "</title></polyline>\n");
}

bool chart_parallel(sbuf *b, const chart_parallel_spec *p)
{
    if (p->ndims < 2 || p->n == 0)
        return false;
    axis *axes = calloc(p->ndims, sizeof *axes);
    size_t *o = order_by(p->c, p->n);
    if (!axes || !o) {
        free(axes), free(o);
        return b->failed = true, false;
    }
    for (size_t k = 0; k < p->ndims; k++)
        fit_dim(&axes[k], &p->dims[k], p->n);
    scale s = scale_of(p->c, p->n);
    open_figure(b, p->id, p->title, PW, PH);
    const double gap = (double)(PW - PML - PMR) / (double)(p->ndims - 1);
    for (size_t k = 0; k < p->n; k++)
        trial_line(b, p, axes, o[k], &s);
    for (size_t k = 0; k < p->ndims; k++)
        draw_dim(b, &p->dims[k], &axes[k], PML + gap * (double)k);
    sb_puts(b, "</svg>\n");
    color_key(b, &s, p->clabel, p->cpercent);
    sb_puts(b, "</figure>\n");
    free(axes);
    free(o);
    return true;
}
