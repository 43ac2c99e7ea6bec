/* The lab: the verdict rule (the 95% interval of the mean over the seeds against the
 * claim's threshold), the registry, and init-depth's --quick run, whose numbers must show
 * each claim's direction (the examples: at depth 10 with 0.01 N(0,1) weights the
 * last layer's std is below 1% of the first's; with He initialisation ReLU activations
 * keep their scale within a factor of 2) and match the closed forms. */
#include "../src/lab/lab.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

TestSuite(lab);

/* A document with only a claims list, as an experiment sees it. */
static gd_lab_doc doc_for_claims(void)
{
    gd_lab_doc d = {.root = cJSON_CreateObject()};
    d.claims = cJSON_AddArrayToObject(d.root, "claims");
    return d;
}

static const gd_lab_claim BELOW_ONE = {"t", "values stay below 1", "x", true, 1.0};

Test(lab, an_interval_wholly_on_the_expected_side_holds)
{
    gd_lab_doc d = doc_for_claims();
    cr_expect_eq(gd_lab_judge(&d, &BELOW_ONE, (double[]){0.2, 0.3, 0.25}, 3), GD_VERDICT_HELD);
    gd_lab_claim above = BELOW_ONE;
    above.below = false;
    cr_expect_eq(gd_lab_judge(&d, &above, (double[]){1.2, 1.3, 1.25}, 3), GD_VERDICT_HELD);
    cJSON_Delete(d.root);
}

Test(lab, an_interval_wholly_on_the_other_side_does_not_hold)
{
    gd_lab_doc d = doc_for_claims();
    cr_expect_eq(gd_lab_judge(&d, &BELOW_ONE, (double[]){1.2, 1.3, 1.25}, 3),
                 GD_VERDICT_NOT_HELD);
    const cJSON *c = cJSON_GetArrayItem(d.claims, 0);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "verdict")),
                     "did not hold");
    cJSON_Delete(d.root);
}

/* A mean below the threshold is not enough when the interval reaches across it. */
Test(lab, an_interval_across_the_threshold_is_inconclusive)
{
    gd_lab_doc d = doc_for_claims();
    cr_expect_eq(gd_lab_judge(&d, &BELOW_ONE, (double[]){0.1, 1.5, 0.6}, 3),
                 GD_VERDICT_INCONCLUSIVE);
    cr_expect_eq(gd_lab_judge(&d, &BELOW_ONE, (double[]){NAN, 0.5, 0.6}, 3),
                 GD_VERDICT_INCONCLUSIVE);
    cJSON_Delete(d.root);
}

/* 1, 2, 3: mean 2, sample std 1, half-width t(0.975, 2) / sqrt(3) = 4.303 / 1.732. */
Test(lab, the_interval_is_students_t_over_the_seeds)
{
    double mean, lo, hi;
    gd_lab_interval((double[]){1, 2, 3}, 3, &mean, &lo, &hi);
    cr_expect_float_eq(mean, 2.0, 1e-12);
    cr_expect_float_eq(hi - mean, 4.303 / sqrt(3.0), 1e-9);
    cr_expect_float_eq(mean - lo, 4.303 / sqrt(3.0), 1e-9);
    gd_lab_interval((double[]){0.5}, 1, &mean, &lo, &hi);
    cr_expect(mean == 0.5 && lo == 0.5 && hi == 0.5, "one seed: the value itself");
    double half;
    gd_mean_interval95((double[]){0.5}, 1, &mean, &half);
    cr_expect(mean == 0.5 && isnan(half), "the library's call has no interval for one value");
}

Test(lab, an_unknown_experiment_is_refused_naming_the_ones_there_are)
{
    char *json = NULL;
    gd_error err;
    cr_expect_eq(gd_lab_run("init-dpth", NULL, &json, &err), GD_ERR_NOT_FOUND);
    cr_expect_null(json);
    cr_expect(strstr(err.message, "init-dpth") && strstr(err.message, "init-depth"), "%s",
              err.message);
    cr_expect_not_null(gd_lab_find("init-depth"));
    cr_expect_null(gd_lab_find("nothing"));
    cr_expect_eq(gd_lab_at(gd_lab_count()), NULL);
}

/* ------------------------------------------------------------ init-depth --quick */

static cJSON *quick_init_depth(void)
{
    gd_lab_options o;
    gd_lab_defaults(&o);
    o.quick = true;
    o.threads = 1;
    char *json = NULL;
    gd_error err;
    cr_assert_eq(gd_lab_run("init-depth", &o, &json, &err), GD_OK, "%s", err.message);
    cJSON *doc = cJSON_Parse(json);
    free(json);
    cr_assert_not_null(doc);
    return doc;
}

static const cJSON *by_id(const cJSON *list, const char *id)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "id")), id) == 0)
            return c;
    cr_assert_fail("no %s", id);
    return NULL;
}

static double field(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key)->valuedouble;
}

/* A layer table's cell: row (1-based layer), column index. */
static double cell(const cJSON *doc, const char *table, int layer, int column)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(by_id(cJSON_GetObjectItemCaseSensitive(doc, "tables"), table), "rows");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows, layer - 1), "values");
    const cJSON *x = cJSON_GetArrayItem(v, column);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

Test(lab, init_depth_shows_each_claims_direction, .timeout = 120)
{
    cJSON *doc = quick_init_depth();
    const cJSON *claims = cJSON_GetObjectItemCaseSensitive(doc, "claims");
    cr_expect_eq(field(doc, "seeds"), 3);
    cr_expect_lt(field(by_id(claims, "small-vanishes"), "mean"), 0.01);
    cr_expect_lt(field(by_id(claims, "he-keeps-relu"), "mean"), 2);
    cr_expect_gt(field(by_id(claims, "large-saturates"), "mean"), 0.5);
    cr_expect_lt(field(by_id(claims, "xavier-halves-relu"), "mean"), 0.1);
    cr_expect_gt(field(by_id(claims, "xavier-keeps-tanh"), "mean"), 0.1);
    const cJSON *c;
    cJSON_ArrayForEach(c, claims)
        cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "verdict")),
                         "held", "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "evidence")));
    cJSON_Delete(doc);
}

/* The closed forms beside the measurements: ReLU of N(0, 2) has std sqrt(1 - 1/pi) at
 * every layer under He, and 0.01 N(0,1) shrinks tanh's near-linear activations by
 * 0.01 sqrt(500) a layer. 1000 x 500 values per layer leave the measured std within a few
 * percent (ReLU's drift over layers is the finite width's: 500 units). */
Test(lab, init_depth_measures_what_the_closed_forms_say, .timeout = 120)
{
    cJSON *doc = quick_init_depth();
    for (int l = 1; l <= 3; l++) {
        double measured = cell(doc, "layers-relu-he", l, 2), closed = cell(doc, "layers-relu-he", l, 3);
        cr_expect(fabs(measured / closed - 1) < 0.05, "ReLU He layer %d: %g vs %g", l, measured, closed);
    }
    cr_expect_float_eq(cell(doc, "layers-relu-he", 1, 3), sqrt(1 - 1 / 3.14159265358979), 1e-9);
    for (int l = 1; l <= 3; l++) { /* ReLU of N(0, 2): mean 1/sqrt(pi) */
        double measured = cell(doc, "layers-relu-he", l, 1), closed = cell(doc, "layers-relu-he", l, 8);
        cr_expect(fabs(measured / closed - 1) < 0.05, "ReLU He layer %d mean: %g vs %g", l, measured, closed);
    }
    cr_expect_float_eq(cell(doc, "layers-relu-he", 1, 8), 1 / sqrt(3.14159265358979), 1e-9);
    cr_expect_float_eq(cell(doc, "layers-tanh-small", 2, 3), 0.05, 1e-12);
    double ratio = cell(doc, "layers-tanh-small", 1, 2) / cell(doc, "layers-tanh-small", 1, 3);
    cr_expect(ratio > 0.9 && ratio < 1.0, "tanh compresses a little below the linear form: %g", ratio);
    cJSON_Delete(doc);
}
