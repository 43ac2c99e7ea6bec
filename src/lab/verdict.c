/* A claim's verdict from a metric measured once per seed: the mean's 95% interval
 * (Student's t with n - 1 degrees of freedom) against the claim's threshold. The claim's
 * own words and the evidence go into the document's "claims" list. */
#include "lab.h"
#include "../train/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

void gd_lab_interval(const double *v, int n, double *mean, double *lo, double *hi)
{
    double half;
    gd_mean_interval95(v, n, mean, &half);
    half = n > 1 ? half : 0; /* one seed: the value itself */
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
