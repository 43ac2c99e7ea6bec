/* gradus report's charts, drawn as SVG text: axes with "nice" ticks (steps of 1, 2 or 5
 * times a power of ten, or decades on a log axis), lines, hover targets, heat maps. */
#include "report_chart.h"
#include "report_axis.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the buffer */

static bool sb_reserve(sbuf *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void sb_put(sbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && sb_reserve(b, (size_t)n)) {
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void sb_html(sbuf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_put(b, s, 1);
        }
    }
}

void sb_base64(sbuf *b, const unsigned char *p, size_t n)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!sb_reserve(b, (n + 2) / 3 * 4))
        return;
    char *o = b->s + b->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = digits[v >> 18], *o++ = digits[(v >> 12) & 63];
        *o++ = digits[(v >> 6) & 63], *o++ = digits[v & 63];
    }
    if (i < n) { /* one or two bytes left: padded with '=' */
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
        *o++ = digits[v >> 18], *o++ = digits[(v >> 12) & 63];
        *o++ = i + 1 < n ? digits[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->s);
    b->s[b->len] = '\0';
}

/* ------------------------------------------------------------ line charts */

static void data_range(const chart *c, double *xlo, double *xhi, double *ylo, double *yhi)
{
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    for (size_t s = 0; s < c->nseries; s++)
        for (size_t i = 0; i < c->series[s].n; i++) {
            double x = c->series[s].x[i], y = c->series[s].y[i];
            if (!isfinite(x) || !isfinite(y) || (c->ylog && y <= 0))
                continue;
            *xlo = fmin(*xlo, x), *xhi = fmax(*xhi, x);
            *ylo = fmin(*ylo, y), *yhi = fmax(*yhi, y);
        }
}

static void draw_refs(sbuf *b, const chart *c, const axis *x, const axis *y)
{
    const double pw = W - ML - MR, ph = H - MT - MB;
    for (size_t i = 0; i < c->nhrefs; i++) {
        const chart_ref *r = &c->hrefs[i];
        double p = axis_at(y, r->lo, 0, ph);
        if (!isfinite(p))
            continue;
        if (r->kind == REF_GOOD_BAND) {
            double q = axis_at(y, r->hi, 0, ph);
            sb_printf(b, "<rect class=\"band\" x=\"%d\" width=\"%g\" y=\"%.1f\" height=\"%.1f\">"
                         "<title>", ML, pw, MT + ph - q, q - p);
        } else {
            sb_printf(b, "<line class=\"%s\" x1=\"%d\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\"><title>",
                      r->kind == REF_WARN_LINE ? "warnline" : "refline", ML, ML + pw, MT + ph - p,
                      MT + ph - p);
        }
        sb_html(b, r->label);
        sb_puts(b, r->kind == REF_GOOD_BAND ? "</title></rect>\n" : "</title></line>\n");
        sb_printf(b, "<text class=\"reflabel\" x=\"%g\" y=\"%.1f\" text-anchor=\"end\">", ML + pw - 4,
                  MT + ph - (r->kind == REF_GOOD_BAND ? axis_at(y, r->hi, 0, ph) : p) - 3);
        sb_html(b, r->label);
        sb_puts(b, "</text>\n");
    }
    for (size_t i = 0; i < c->nvrefs; i++) {
        double p = axis_at(x, c->vrefs[i].lo, ML, pw);
        if (!isfinite(p))
            continue;
        sb_printf(b, "<line class=\"epochline\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%g\"/>"
                     "<text class=\"reflabel\" x=\"%.1f\" y=\"%d\">", p, p, MT, MT + ph, p + 3, MT + 10);
        sb_html(b, c->vrefs[i].label);
        sb_puts(b, "</text>\n");
    }
}

/* The line, in pieces between points it cannot draw. */
static void draw_polyline(sbuf *b, const chart_series *s, const axis *x, const axis *y, int k)
{
    const double pw = W - ML - MR, ph = H - MT - MB;
    bool open = false;
    for (size_t i = 0; i < s->n; i++) {
        double px = axis_at(x, s->x[i], ML, pw), py = axis_at(y, s->y[i], 0, ph);
        if (!isfinite(px) || !isfinite(py)) {
            if (open)
                sb_puts(b, "\"/>\n");
            open = false;
            continue;
        }
        if (!open)
            sb_printf(b, "<polyline class=\"mark%s\" stroke=\"%s\"%s points=\"",
                      s->faint ? " faint" : "", chart_color(s->color), chart_dash(k));
        sb_printf(b, "%s%.1f,%.1f", open ? " " : "", px, MT + ph - py);
        open = true;
    }
    if (open)
        sb_puts(b, "\"/>\n");
}

/* Hover targets with the values: every point up to 300, else 300 spread evenly. */
static void draw_points(sbuf *b, const chart *c, const chart_series *s, const axis *x,
                        const axis *y)
{
    enum { MAX_HITS = 300 };
    const double pw = W - ML - MR, ph = H - MT - MB;
    size_t hits = s->n < MAX_HITS ? s->n : MAX_HITS;
    for (size_t k = 0; k < hits; k++) {
        size_t i = hits == s->n ? k : (size_t)llround((double)k * (double)(s->n - 1) / (double)(hits - 1));
        double px = axis_at(x, s->x[i], ML, pw), py = axis_at(y, s->y[i], 0, ph);
        if (!isfinite(px) || !isfinite(py))
            continue;
        char xv[32], yv[32];
        value_text(xv, sizeof xv, s->x[i], false);
        value_text(yv, sizeof yv, s->y[i], c->percent);
        sb_printf(b, "<circle class=\"mark %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"><title>",
                  s->dots || s->points_only ? "dot" : "hit", px, MT + ph - py,
                  s->dots || s->points_only ? "3.5" : "5",
                  chart_color(s->color));
        sb_html(b, s->name);
        sb_printf(b, "\n");
        sb_html(b, c->xlabel);
        sb_printf(b, " %s: ", xv);
        sb_html(b, c->ylabel);
        sb_printf(b, " %s</title></circle>\n", yv);
    }
}

static bool drawable(const chart_series *s, bool ylog)
{
    for (size_t i = 0; i < s->n; i++)
        if (isfinite(s->x[i]) && isfinite(s->y[i]) && (!ylog || s->y[i] > 0))
            return true;
    return false;
}

static void legend(sbuf *b, const chart *c)
{
    sb_puts(b, "<div class=\"legend\">");
    for (size_t s = 0; s < c->nseries; s++) {
        if ((c->series[s].faint && c->nseries > 1) || !drawable(&c->series[s], c->ylog))
            continue; /* its solid partner names it; or nothing of it is drawn */
        sb_printf(b, "<span class=\"key\" data-key=\"%s-%zu\" title=\"click to hide or show\">"
                     "<i style=\"background:%s\"></i>", c->id, s, chart_color(c->series[s].color));
        sb_html(b, c->series[s].name);
        sb_puts(b, "</span>");
    }
    sb_puts(b, "</div>\n");
}

bool chart_lines(sbuf *b, const chart *c)
{
    double xlo, xhi, ylo, yhi;
    data_range(c, &xlo, &xhi, &ylo, &yhi);
    if (!(xlo <= xhi))
        return false;
    if (isfinite(c->ylo))
        ylo = fmin(ylo, c->ylo);
    if (isfinite(c->yhi))
        yhi = fmax(yhi, c->yhi);
    axis x, y;
    axis_fit(&x, xlo, xhi, false, c->xint);
    axis_fit(&y, ylo, yhi, c->ylog, false);
    y.percent = c->percent;
    sb_printf(b, "<figure class=\"chart\" id=\"%s\"><figcaption>", c->id);
    sb_html(b, c->title);
    sb_printf(b, "</figcaption>\n<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", W, H);
    sb_html(b, c->title);
    sb_printf(b, "\">\n<defs><clipPath id=\"%s-clip\"><rect x=\"%d\" y=\"%d\" width=\"%d\" "
                 "height=\"%d\"/></clipPath></defs>\n", c->id, ML - 6, MT - 6, W - ML - MR + 12,
              H - MT - MB + 12);
    draw_axes(b, &x, &y, c->xlabel, c->ylabel);
    draw_refs(b, c, &x, &y);
    /* One group per legend entry, a faint line with its solid partner, so that a click on
     * the key hides both. */
    for (size_t s = 0; s < c->nseries; s++) {
        size_t key = s;
        if (c->series[s].faint && s + 1 < c->nseries)
            key = s + 1;
        sb_printf(b, "<g data-key=\"%s-%zu\" clip-path=\"url(#%s-clip)\">\n", c->id, key, c->id);
        if (!c->series[s].points_only)
            draw_polyline(b, &c->series[s], &x, &y, (int)s);
        if (!c->series[s].faint)
            draw_points(b, c, &c->series[s], &x, &y);
        sb_puts(b, "</g>\n");
    }
    sb_puts(b, "</svg>\n");
    if (!c->no_legend)
        legend(b, c);
    sb_puts(b, "</figure>\n");
    return true;
}

/* ------------------------------------------------------------ histograms */

#define HW 330
#define HH 230
#define HML 58
#define HMR 10
#define HMT 8
#define HMB 40

void chart_histogram(sbuf *b, const chart_heat *h)
{
    const double pw = HW - HML - HMR, ph = HH - HMT - HMB;
    const double cw = pw / (double)h->cols, rh = ph / (double)h->rows;
    const double bin = (h->hi - h->lo) / (double)(h->rows - 2);
    sb_printf(b, "<figure class=\"chart small\" id=\"%s\"><figcaption>", h->id);
    sb_html(b, h->title);
    sb_printf(b, "</figcaption>\n<svg viewBox=\"0 0 %d %d\" role=\"img\">\n"
                 "<rect class=\"plotarea\" x=\"%d\" y=\"%d\" width=\"%g\" height=\"%g\"/>\n",
              HW, HH, HML, HMT, pw, ph);
    for (size_t c = 0; c < h->cols; c++) {
        const double *col = h->v + c * h->rows;
        double total = 0, top = 0;
        for (size_t r = 0; r < h->rows; r++)
            total += col[r], top = fmax(top, col[r]);
        for (size_t r = 0; r < h->rows && total > 0; r++) {
            if (col[r] <= 0)
                continue;
            char fill[8], where[64];
            chart_ramp(fill, col[r] / top, CHART_BLUE_MID, CHART_BLUE_DARK);
            if (r == 0)
                snprintf(where, sizeof where, "below %g", h->lo);
            else if (r == h->rows - 1)
                snprintf(where, sizeof where, "%g or more", h->hi);
            else
                snprintf(where, sizeof where, "[%.3g, %.3g)", h->lo + (double)(r - 1) * bin,
                         h->lo + (double)r * bin);
            sb_printf(b, "<rect class=\"mark\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                         "fill=\"%s\"><title>step %.0f, %s: %.1f%% of outputs (mean %.4g, std %.4g)"
                         "</title></rect>\n",
                      HML + (double)c * cw, HMT + ph - (double)(r + 1) * rh, cw + 0.3, rh + 0.3, fill,
                      h->x[c], where, 100 * col[r] / total, h->mean[c], h->std[c]);
        }
    }
    /* The mean over the map, in the bins' coordinates (clamped to the outer rows). */
    sb_puts(b, "<polyline class=\"mark meanline\" points=\"");
    for (size_t c = 0; c < h->cols; c++) {
        double u = (h->mean[c] - h->lo) / bin + 1;
        u = fmin((double)h->rows - 0.5, fmax(0.5, isfinite(u) ? u : 0.5));
        sb_printf(b, "%s%.1f,%.1f", c ? " " : "", HML + ((double)c + 0.5) * cw, HMT + ph - u * rh);
    }
    sb_puts(b, "\"/>\n<g class=\"axis\">\n");
    /* Ticks at the range's ends and middle (the outer rows, below and above it, are in the
     * tooltips). */
    const double marks[3] = {h->lo, (h->lo + h->hi) / 2, h->hi};
    for (int i = 0; i < 3; i++) {
        double py = HMT + ph - (1 + (marks[i] - h->lo) / bin) * rh;
        sb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dy=\"0.32em\">%g</text>\n",
                  HML - 5, py, marks[i]);
    }
    sb_printf(b, "<text x=\"%d\" y=\"%g\">%.0f</text><text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.0f</text>\n",
              HML, HMT + ph + 15, h->x[0], HML + pw, HMT + ph + 15, h->x[h->cols - 1]);
    sb_printf(b, "<text class=\"label\" x=\"%g\" y=\"%d\" text-anchor=\"middle\">step</text>\n",
              HML + pw / 2, HH - 6);
    sb_printf(b, "<text class=\"label\" transform=\"translate(13 %g) rotate(-90)\" "
                 "text-anchor=\"middle\">output value</text>\n</g>\n</svg>\n</figure>\n", HMT + ph / 2);
}

/* ------------------------------------------------------------ confusion */

void chart_confusion(sbuf *b, const char *id, int classes, const double *m,
                     const char *const *names)
{
    const double cell = fmin(44, 480.0 / classes);
    const int left = names ? 104 : 40, top = 10, right = 78;
    const int bottom = names ? 88 : 44;
    const double side = cell * classes;
    const int width = (int)(left + side + right), height = (int)(top + side + bottom);
    const bool numbers = cell >= 22;
    sb_printf(b, "<figure class=\"chart\" id=\"%s\"><figcaption>Confusion matrix on the test set "
                 "(rows: true class, columns: predicted; colour: share of the row)</figcaption>\n"
                 "<svg viewBox=\"0 0 %d %d\" role=\"img\" style=\"max-width:%dpx\">\n",
              id, width, height, width * 5 / 4);
    char label[64];
    for (int r = 0; r < classes; r++) {
        double total = 0;
        for (int c = 0; c < classes; c++)
            total += m[r * classes + c];
        const char *rn = names ? names[r] : NULL;
        for (int c = 0; c < classes; c++) {
            double v = m[r * classes + c], share = total > 0 ? v / total : 0;
            char fill[8];
            /* The diagonal in blue by its share; mistakes in red, three times as strong, so
             * that a 10% confusion stands out. */
            if (r == c)
                chart_ramp(fill, share, CHART_BLUE_MID, CHART_BLUE_DARK);
            else
                chart_ramp(fill, fmin(1, 3 * share), CHART_RED_MID, CHART_RED_DARK);
            double x = left + c * cell, y = top + r * cell;
            sb_printf(b, "<rect class=\"mark cell\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                         "fill=\"%s\"><title>true ", x, y, cell, cell, fill);
            if (rn)
                sb_html(b, rn);
            else
                sb_printf(b, "%d", r);
            sb_puts(b, ", predicted ");
            if (names)
                sb_html(b, names[c]);
            else
                sb_printf(b, "%d", c);
            sb_printf(b, ": %.0f of %.0f (%.1f%%)</title></rect>\n", v, total, 100 * share);
            if (numbers && v > 0)
                sb_printf(b, "<text class=\"count\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                             "dy=\"0.32em\" style=\"fill:%s\">%.0f</text>\n",
                          x + cell / 2, y + cell / 2, (r == c ? share : 3 * share) > 0.55 ? "#fff" : "#222", v);
        }
        double recall = total > 0 ? m[r * classes + r] / total : NAN;
        sb_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dy=\"0.32em\">", left - 6,
                  top + (r + 0.5) * cell);
        if (rn)
            sb_html(b, rn);
        else
            sb_printf(b, "%d", r);
        sb_printf(b, "</text><text x=\"%.1f\" y=\"%.1f\" dy=\"0.32em\">%.1f%%</text>\n", left + side + 6,
                  top + (r + 0.5) * cell, 100 * recall);
    }
    for (int c = 0; c < classes; c++) {
        double x = left + (c + 0.5) * cell, y = top + side + 8;
        if (names)
            sb_printf(b, "<text transform=\"translate(%.1f %.1f) rotate(-40)\" text-anchor=\"end\" "
                         "dy=\"0.32em\">", x, y);
        else
            sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" dy=\"0.7em\">", x, y);
        snprintf(label, sizeof label, "%d", c);
        sb_html(b, names ? names[c] : label);
        sb_puts(b, "</text>\n");
    }
    sb_printf(b, "<text class=\"label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">predicted</text>\n"
                 "<text class=\"label\" x=\"%.1f\" y=\"%d\" text-anchor=\"start\">recall</text>\n"
                 "</svg>\n</figure>\n",
              left + side / 2, height - 4, left + side + 4, top + (int)side + 16);
}
