/* gd_preprocess_mean_range: where the training data lay, read from the fitted means
 * (gradus predict warns from it when CSV inputs look like raw 0-255 pixels for a model
 * fitted on [0, 1]). The means are float32 sums of few exact values here, so the range is
 * compared exactly with the float32 mean of each column. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "gradus.h"

enum { N = 4 };

static gd_preprocess *fit(const char *spec, int ndim, const int64_t *dims, const float *x)
{
    gd_dataset *ds;
    gd_preprocess *p;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, N, ndim, dims, x, NULL, 1, &err), GD_OK, "%s",
                 err.message);
    cr_assert_eq(gd_preprocess_fit(&p, spec, 1e-5, ds, &err), GD_OK, "%s: %s", spec,
                 err.message);
    gd_dataset_free(ds);
    return p;
}

/* Columns with means 0.25, 0.5, 0.125: the range is [0.125, 0.5]. */
static const float COLUMNS[N * 3] = {0, 1, 0, 0.5f, 0, 0.5f, 0, 1, 0, 0.5f, 0, 0};

Test(preprocess_range, is_the_smallest_and_largest_feature_mean)
{
    static const char *const specs[] = {"center", "standardize", "pca:2", "zca"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        gd_preprocess *p = fit(specs[i], 1, (const int64_t[]){3}, COLUMNS);
        double lo = -1, hi = -1;
        cr_expect(gd_preprocess_mean_range(p, &lo, &hi), "%s", specs[i]);
        cr_expect_eq(lo, 0.125, "%s: %g", specs[i], lo);
        cr_expect_eq(hi, 0.5, "%s: %g", specs[i], hi);
        gd_preprocess_free(p);
    }
}

/* Raw 0-255 pixels give means far above 1, which is what tells them apart. */
Test(preprocess_range, of_raw_pixels_reaches_past_one)
{
    float x[N * 3];
    for (int i = 0; i < N * 3; i++)
        x[i] = 255 * COLUMNS[i];
    gd_preprocess *p = fit("center", 1, (const int64_t[]){3}, x);
    double lo, hi;
    cr_assert(gd_preprocess_mean_range(p, &lo, &hi));
    cr_expect_eq(hi, 127.5);
    gd_preprocess_free(p);
}

/* center-channel keeps one mean per channel: channel 0 holds 0 and 1 (mean 0.5), channel
 * 1 holds 0.25 only. */
Test(preprocess_range, of_center_channel_is_over_its_channel_means)
{
    float x[N * 4];
    for (int s = 0; s < N; s++) {
        x[s * 4 + 0] = (float)(s % 2);
        x[s * 4 + 1] = (float)((s + 1) % 2);
        x[s * 4 + 2] = x[s * 4 + 3] = 0.25f;
    }
    gd_preprocess *p = fit("center-channel", 3, (const int64_t[]){2, 1, 2}, x);
    double lo, hi;
    cr_assert(gd_preprocess_mean_range(p, &lo, &hi));
    cr_expect_eq(lo, 0.25);
    cr_expect_eq(hi, 0.5);
    gd_preprocess_free(p);
}

Test(preprocess_range, none_keeps_no_statistics)
{
    gd_preprocess *p = fit("none", 1, (const int64_t[]){3}, COLUMNS);
    double lo = 7, hi = 7;
    cr_expect_not(gd_preprocess_mean_range(p, &lo, &hi));
    cr_expect_eq(lo, 7);
    cr_expect_eq(hi, 7);
    cr_expect_not(gd_preprocess_mean_range(NULL, &lo, &hi));
    gd_preprocess_free(p);
}
