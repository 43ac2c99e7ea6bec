/* What a measurement says of itself: the machine it ran on, and the uncertainty of a
 * mean over repeats. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void gd_cpu_name(char *out, size_t len)
{
    if (!out || len == 0)
        return;
    snprintf(out, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(out, len, "%s", colon + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
}

/* Student's t quantile 0.975 for df = 1..30, then the normal's. */
static double t975(int df)
{
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                               2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                               2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                               2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    return df >= 1 && df <= 30 ? t[df - 1] : 1.960;
}

void gd_mean_interval95(const double *v, int n, double *mean, double *half)
{
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    *mean = n > 0 ? sum / n : NAN;
    for (int i = 0; i < n; i++)
        sq += (v[i] - *mean) * (v[i] - *mean);
    *half = n > 1 ? t975(n - 1) * sqrt(sq / (n - 1)) / sqrt(n) : NAN;
}
