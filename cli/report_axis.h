/* The ground every chart of gradus report stands on: the plot's size, the palette and
 * colour ramps, and axes with "nice" ticks. Shared by the run's charts (report_chart.c)
 * and the study's (report_study_chart.c). */
#ifndef GD_CLI_REPORT_AXIS_H
#define GD_CLI_REPORT_AXIS_H

#include "report_chart.h"

/* A chart's SVG size and the margins around its plot area (viewBox units). */
#define W 640
#define H 300
#define ML 70 /* room for the y ticks and label */
#define MR 18
#define MT 14
#define MB 48 /* the x ticks and label */
#define MAX_TICKS 24

#define CHART_PALETTE 10 /* chart_color's distinct colours */

typedef struct axis {
    double lo, hi; /* log: decades (log10 of the values) */
    bool log, percent;
    double step;
    double ticks[MAX_TICKS];
    int nticks;
} axis;

/* Ticks for values in [lo, hi] (non-finite or out-of-range ends are tamed). */
void axis_fit(axis *a, double lo, double hi, bool log, bool integer);
/* A value's place on an axis drawn from p0 over len pixels (NaN when it has none). */
double axis_at(const axis *a, double v, double p0, double len);
void tick_label(char *out, size_t n, const axis *a, double t);
/* A value for a tooltip: four significant digits, or a percentage. */
void value_text(char *out, size_t n, double v, bool percent);
/* The plot area, grid, ticks and both axis labels of a W x H chart. */
void draw_axes(sbuf *b, const axis *x, const axis *y, const char *xlabel, const char *ylabel);

/* A dash pattern that tells apart series past the palette's ten ("" for the first ten). */
const char *chart_dash(int i);
/* From white (t = 0) through mid to dark (t = 1), as "#rrggbb" into out. */
void chart_ramp(char out[8], double t, const int mid[3], const int dark[3]);
extern const int CHART_BLUE_MID[3], CHART_BLUE_DARK[3], CHART_RED_MID[3], CHART_RED_DARK[3];

#endif
