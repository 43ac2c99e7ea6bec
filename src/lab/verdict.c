/* A claim's verdict from a metric measured once per seed: the mean's 95% interval
 * (Student's t with n - 1 degrees of freedom) against the claim's threshold. The claim's
 * own words and the evidence go into the document's "claims" list. */
#include "lab.h"
#include "../train/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

/* Student's t quantile 0.975 for df = 1..30, then the normal's. */
static double t975(int df)
{
    static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                               2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                               2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                               2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    return df >= 1 && df <= 30 ? t[df - 1] : 1.960;
}

void gd_lab_interval(const double *v, int n, double *mean, double *lo, double *hi)
{
    double sum = 0, sq = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    *mean = n ? sum / n : NAN;
    for (int i = 0; i < n; i++)
        sq += (v[i] - *mean) * (v[i] - *mean);
    double half = n > 1 ? t975(n - 1) * sqrt(sq / (n - 1)) / sqrt(n) : 0;
    *lo = *mean - half;
    *hi = *mean + half;
}

gd_verdict gd_lab_judge(gd_lab_doc *doc, const gd_lab_claim *c, const double *values, int n)
{
    double mean, lo, hi;
    gd_lab_interval(values, n, &mean, &lo, &hi);
    bool on_side = c->below ? hi < c->threshold : lo > c->threshold;
    bool off_side = c->below ? lo >= c->threshold : hi <= c->threshold;
    gd_verdict v = !isfinite(mean) ? GD_VERDICT_INCONCLUSIVE
                   : on_side       ? GD_VERDICT_HELD
                   : off_side      ? GD_VERDICT_NOT_HELD
                                   : GD_VERDICT_INCONCLUSIVE;
    char evidence[320];
    snprintf(evidence, sizeof evidence, "%s: %.4g (95%% interval %.4g to %.4g over %d seed%s); "
             "the claim expects %s %.4g", c->metric, mean, lo, hi, n, n == 1 ? "" : "s",
             c->below ? "below" : "above", c->threshold);
    cJSON *o = doc->failed ? NULL : cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(doc->claims, o)) {
        cJSON_Delete(o);
        doc->failed = true;
        return v;
    }
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "claim", c->text);
    cJSON_AddStringToObject(o, "metric", c->metric);
    cJSON_AddStringToObject(o, "expect", c->below ? "below" : "above");
    gd_lab_number(doc, o, "threshold", c->threshold);
    cJSON *vals = cJSON_AddArrayToObject(o, "values");
    for (int i = 0; vals && i < n; i++)
        cJSON_AddItemToArray(vals, gd_json_number(values[i]));
    gd_lab_number(doc, o, "mean", mean);
    gd_lab_number(doc, o, "ci95_lo", lo);
    gd_lab_number(doc, o, "ci95_hi", hi);
    cJSON_AddStringToObject(o, "verdict", gd_verdict_name(v));
    cJSON_AddStringToObject(o, "evidence", evidence);
    return v;
}
