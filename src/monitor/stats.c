/* What the monitor computes from a layer's output or a tensor: every step, which ReLU
 * units fired; at a record, the mean, the standard deviation, the histogram and the
 * saturated or dead fractions; norms in double. */
#include "monitor.h"

#include <math.h>
#include <string.h>

/* A ReLU unit fired when its output was > 0 for some sample: only then does a gradient
 * reach its weights (the derivative is 1 for x > 0, 0 elsewhere). */
void gd_monitor_mark_fired(mon_layer *l, const gd_tensor *out)
{
    int64_t units = l->pub.units, n = out->dims[0];
    uint8_t *fired = l->fired;
    for (int64_t i = 0; i < n; i++) {
        const float *row = out->data + i * units;
        for (int64_t u = 0; u < units; u++)
            fired[u] |= row[u] > 0.0f;
    }
}

/* Saturated where the derivative is below about 1% of its peak: sigmoid's s(1 - s) at
 * s = 0.01 is 0.0099 against 0.25; tanh's 1 - t^2 at |t| = 0.99 is 0.0199 against 1. */
static bool saturated(mon_act act, float x)
{
    return act == MON_SIGMOID ? (x < 0.01f || x > 0.99f) : fabsf(x) > 0.99f;
}

static void histogram_add(int64_t *h, double lo, double scale, double hi, float x)
{
    if (x < lo)
        h[0]++;
    else if (x >= hi)
        h[GD_MONITOR_BINS + 1]++;
    else if (x >= lo) { /* NaN falls through every test and counts nowhere */
        int b = (int)((x - lo) * scale);
        h[1 + (b < GD_MONITOR_BINS ? b : GD_MONITOR_BINS - 1)]++;
    }
}

/* Two passes over the batch's outputs: the mean, then the deviation about it (a one-pass
 * sum of squares loses the spread of a layer whose mean is large against it), the
 * histogram and the saturated count. The standard deviation is the population's (divided
 * by the count, as numpy's default). */
void gd_monitor_layer_stats(mon_layer *l, const gd_tensor *out, int64_t steps)
{
    gd_monitor_layer *p = &l->pub;
    int64_t count = out->dims[0] * p->units;
    const float *x = out->data;
    double sum = 0;
    for (int64_t i = 0; i < count; i++)
        sum += x[i];
    double mean = count ? sum / (double)count : NAN, squares = 0, scale = GD_MONITOR_BINS / (p->hi - p->lo);
    int64_t sat = 0;
    memset(p->histogram, 0, sizeof p->histogram);
    for (int64_t i = 0; i < count; i++) {
        double d = x[i] - mean;
        squares += d * d;
        histogram_add(p->histogram, p->lo, scale, p->hi, x[i]);
        sat += l->act != MON_OTHER && l->act != MON_RELU && saturated(l->act, x[i]);
    }
    p->mean = mean;
    p->std = count ? sqrt(squares / (double)count) : NAN;
    p->saturated = l->act == MON_SIGMOID || l->act == MON_TANH ? (double)sat / (double)count : NAN;
    p->dead = NAN;
    if (l->act == MON_RELU && steps > 0) {
        int64_t silent = 0;
        for (int64_t u = 0; u < p->units; u++)
            silent += !l->fired[u];
        p->dead = (double)silent / (double)p->units;
    }
}

double gd_monitor_norm(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s);
}

double gd_monitor_distance(const float *a, const float *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        s += d * d;
    }
    return sqrt(s);
}
