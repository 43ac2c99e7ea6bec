/* The charts' common ground: the palette and colour ramps, and axes with "nice" ticks
 * (steps of 1, 2 or 5 times a power of ten, or decades on a log axis). */
#include "report_axis.h"

#include <math.h>
#include <stdio.h>

/* ------------------------------------------------------------ colours */

/* Tableau 10: distinct for most colour vision, legible on white. */
static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#7f7f7f"};

const char *chart_color(int i) { return PALETTE[(unsigned)i % CHART_PALETTE]; }

/* Series past the palette's ten are told apart by a dash pattern. */
const char *chart_dash(int i)
{
    static const char *const dashes[] = {"", " stroke-dasharray=\"6 3\"", " stroke-dasharray=\"2 2\""};
    return dashes[((unsigned)i / CHART_PALETTE) % 3];
}

/* Linear in each channel: a ramp for counts and shares, not for perceived order. */
void chart_ramp(char out[8], double t, const int mid[3], const int dark[3])
{
    t = fmin(1, fmax(0, t));
    int c[3];
    for (int k = 0; k < 3; k++) {
        double a = t < 0.5 ? 255 : mid[k], z = t < 0.5 ? mid[k] : dark[k];
        double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
        c[k] = (int)lround(a + (z - a) * u);
    }
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

const int CHART_BLUE_MID[3] = {107, 174, 214}, CHART_BLUE_DARK[3] = {8, 48, 107};
const int CHART_RED_MID[3] = {252, 146, 114}, CHART_RED_DARK[3] = {153, 0, 13};

/* ------------------------------------------------------------ axes */



/* Values come from files anyone may edit: an axis spans finite values within 1e300 (on a
 * log axis, positive ones), so that its ticks and labels stay numbers an int holds. */
#define AXIS_MAX 1e300
static void axis_bounds(double *lo, double *hi, bool log)
{
    double floor_ = log ? 1 / AXIS_MAX : -AXIS_MAX;
    *lo = isfinite(*lo) ? fmin(fmax(*lo, floor_), AXIS_MAX) : (log ? 1e-3 : 0);
    *hi = isfinite(*hi) ? fmin(fmax(*hi, floor_), AXIS_MAX) : (log ? *lo * 10 : *lo + 1);
    if (!(*hi >= *lo))
        *hi = *lo;
    if (!log && !isfinite(*hi - *lo)) /* -1e300 to 1e300 */
        *lo /= 2, *hi /= 2;
}

void axis_fit(axis *a, double lo, double hi, bool log, bool integer)
{
    *a = (axis){.log = log};
    axis_bounds(&lo, &hi, log);
    if (log) {
        a->lo = floor(log10(lo));
        a->hi = ceil(log10(hi));
        if (a->hi <= a->lo)
            a->hi = a->lo + 1;
        int every = (int)ceil((a->hi - a->lo) / 10); /* at most about ten decade ticks */
        a->step = every;
        for (double k = a->lo; k <= a->hi + 1e-9 && a->nticks < MAX_TICKS; k += every)
            a->ticks[a->nticks++] = k;
        return;
    }
    if (!(hi > lo)) { /* one value: a range around it */
        double d = lo != 0 ? fabs(lo) * 0.1 : 1;
        lo -= d, hi += d;
    }
    double raw = (hi - lo) / 5, mag = pow(10, floor(log10(raw))), n = raw / mag;
    double step = (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
    if (integer && step < 1)
        step = 1;
    a->step = step;
    a->lo = floor(lo / step + 1e-9) * step;
    a->hi = ceil(hi / step - 1e-9) * step;
    for (double t = a->lo; t <= a->hi + step * 1e-6 && a->nticks < MAX_TICKS; t += step)
        a->ticks[a->nticks++] = fabs(t) < step * 1e-9 ? 0 : t;
}

/* A value's place on an axis drawn from p0 over len pixels (NaN when it has none). */
double axis_at(const axis *a, double v, double p0, double len)
{
    if (!isfinite(v) || (a->log && v <= 0))
        return NAN;
    double u = a->log ? log10(v) : v;
    return p0 + (u - a->lo) / (a->hi - a->lo) * len;
}

void tick_label(char *out, size_t n, const axis *a, double t)
{
    if (a->log) {
        int k = (int)lround(t);
        if (k >= -3 && k <= 4)
            snprintf(out, n, "%g", pow(10, k));
        else
            snprintf(out, n, "1e%d", k);
        return;
    }
    double v = a->percent ? t * 100 : t, step = a->percent ? a->step * 100 : a->step;
    double top = fmax(fabs(a->lo), fabs(a->hi)) * (a->percent ? 100 : 1);
    if (top >= 1e6 || top < 1e-3) { /* as many significant digits as the step needs */
        int digits = (int)fmax(1, floor(log10(top)) - floor(log10(step)) + 1);
        snprintf(out, n, "%.*g%s", digits, v, a->percent ? "%" : "");
        return;
    }
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(out, n, "%.*f%s", decimals, v, a->percent ? "%" : "");
}

/* A value for a tooltip: four significant digits, or a percentage. */
void value_text(char *out, size_t n, double v, bool percent)
{
    if (!isfinite(v))
        snprintf(out, n, "none");
    else if (percent)
        snprintf(out, n, "%.2f%%", v * 100);
    else
        snprintf(out, n, "%.4g", v);
}

void draw_axes(sbuf *b, const axis *x, const axis *y, const char *xlabel,
                      const char *ylabel)
{
    const double pw = W - ML - MR, ph = H - MT - MB;
    sb_printf(b, "<rect class=\"plotarea\" x=\"%d\" y=\"%d\" width=\"%g\" height=\"%g\"/>\n", ML,
              MT, pw, ph);
    char text[32];
    sb_puts(b, "<g class=\"axis\">\n");
    for (int i = 0; i < y->nticks; i++) {
        double py = MT + ph - (y->ticks[i] - y->lo) / (y->hi - y->lo) * ph;
        tick_label(text, sizeof text, y, y->ticks[i]);
        sb_printf(b, "<line class=\"grid\" x1=\"%d\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\"/>"
                     "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dy=\"0.32em\">%s</text>\n",
                  ML, ML + pw, py, py, ML - 6, py, text);
    }
    for (int i = 0; i < x->nticks; i++) {
        double px = ML + (x->ticks[i] - x->lo) / (x->hi - x->lo) * pw;
        tick_label(text, sizeof text, x, x->ticks[i]);
        sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%g\"/>"
                     "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%s</text>\n",
                  px, px, MT, MT + ph, px, MT + ph + 17, text);
    }
    sb_printf(b, "<text class=\"label\" x=\"%g\" y=\"%d\" text-anchor=\"middle\">", ML + pw / 2, H - 8);
    sb_html(b, xlabel);
    sb_printf(b, "</text>\n<text class=\"label\" transform=\"translate(16 %g) rotate(-90)\" "
                 "text-anchor=\"middle\">", MT + ph / 2);
    sb_html(b, ylabel);
    sb_puts(b, "</text>\n</g>\n");
}
