/* Preprocessing across layouts (issue 9 item 15): a transform fitted on C x H x W images
 * applies to flat rows of C * H * W features (a CSV of the same images) and the other way
 * round, because both hold a sample's values in the same order; only a different number
 * of values is refused. Every comparison is bit for bit: the same statistics meet the
 * same numbers in the same order, whatever shape the set calls them. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "gradus.h"

enum { C = 2, H = 3, W = 4, D = C * H * W, N = 300 };

static const int64_t IMAGE[] = {C, H, W};
static const int64_t FLAT[] = {D};

/* N samples of D values, uniform in [0, 1) plus a per-feature offset, so that every
 * transform has statistics that differ from feature to feature. */
static float *samples(uint64_t seed)
{
    float *x = malloc((size_t)N * D * sizeof *x);
    gd_rng *rng;
    cr_assert_eq(gd_rng_create(&rng, seed), GD_OK);
    for (int s = 0; s < N; s++)
        for (int j = 0; j < D; j++)
            x[s * D + j] = (float)(gd_rng_uniform(rng) * (1 + j % 5) + 0.1 * j);
    gd_rng_free(rng);
    return x;
}

static gd_dataset *set_of(const float *x, int ndim, const int64_t *dims)
{
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, N, ndim, dims, x, NULL, 1, &err), GD_OK, "%s",
                 err.message);
    return ds;
}

static gd_preprocess *fit(const char *spec, const gd_dataset *train)
{
    gd_preprocess *p;
    gd_error err;
    cr_assert_eq(gd_preprocess_fit(&p, spec, 1e-5, train, &err), GD_OK, "%s: %s", spec,
                 err.message);
    return p;
}

static int64_t values_of(const gd_dataset *ds)
{
    return gd_dataset_size(ds) * gd_dataset_sample_size(ds);
}

/* Fits spec on samples of shape `fitted`, applies it to a set of the same values in
 * shape `other`, and expects the features the fitted shape's own set gets, with `other`
 * kept unless the transform changes the size (pca, whiten: K flat values). */
static void expect_same_transform(const char *spec, int fitted_ndim, const int64_t *fitted,
                                  int other_ndim, const int64_t *other, bool keeps_shape)
{
    float *x = samples(11);
    gd_dataset *train = set_of(x, fitted_ndim, fitted), *same = set_of(x, fitted_ndim, fitted);
    gd_dataset *relaid = set_of(x, other_ndim, other);
    gd_preprocess *p = fit(spec, train);
    gd_error err;
    cr_assert_eq(gd_preprocess_apply_dataset(p, same, &err), GD_OK, "%s: %s", spec, err.message);
    cr_assert_eq(gd_preprocess_apply_dataset(p, relaid, &err), GD_OK, "%s on the other layout: %s",
                 spec, err.message);
    cr_assert_eq(values_of(relaid), values_of(same), "%s", spec);
    cr_expect_eq(memcmp(gd_dataset_features(relaid), gd_dataset_features(same),
                        (size_t)values_of(same) * sizeof(float)), 0, "%s", spec);
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_dataset_sample_shape(relaid, dims);
    if (keeps_shape) {
        cr_expect_eq(ndim, other_ndim, "%s keeps the set's own shape", spec);
        for (int i = 0; i < ndim && i < other_ndim; i++)
            cr_expect_eq(dims[i], other[i], "%s: dimension %d", spec, i);
    }
    gd_preprocess_free(p);
    gd_dataset_free(train);
    gd_dataset_free(same);
    gd_dataset_free(relaid);
    free(x);
}

Test(preprocess_layout, image_fitted_transforms_apply_to_flat_rows_of_the_same_size)
{
    static const char *const keeping[] = {"center", "standardize", "center-channel", "zca"};
    for (size_t i = 0; i < sizeof keeping / sizeof keeping[0]; i++)
        expect_same_transform(keeping[i], 3, IMAGE, 1, FLAT, true);
    expect_same_transform("pca:5", 3, IMAGE, 1, FLAT, false);
    expect_same_transform("whiten", 3, IMAGE, 1, FLAT, false);
}

Test(preprocess_layout, flat_fitted_transforms_apply_to_images_of_the_same_size)
{
    static const char *const keeping[] = {"center", "standardize", "zca"};
    for (size_t i = 0; i < sizeof keeping / sizeof keeping[0]; i++)
        expect_same_transform(keeping[i], 1, FLAT, 3, IMAGE, true);
    expect_same_transform("pca:5", 1, FLAT, 3, IMAGE, false);
}

/* The same size in another split of the dimensions (6 x 4 against 2 x 3 x 4) is the same
 * order of values too. */
Test(preprocess_layout, any_shape_of_the_same_size_is_accepted)
{
    expect_same_transform("center-channel", 3, IMAGE, 2, (const int64_t[]){C * H, W}, true);
}

Test(preprocess_layout, a_different_size_is_refused_naming_both)
{
    float *x = samples(3);
    gd_dataset *train = set_of(x, 3, IMAGE);
    gd_dataset *fewer;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&fewer, N, 1, (const int64_t[]){D - 1}, x, NULL, 1, &err),
                 GD_OK);
    gd_preprocess *p = fit("center", train);
    cr_expect_eq(gd_preprocess_apply_dataset(p, fewer, &err), GD_ERR_SHAPE);
    cr_expect(strstr(err.message, "23 (23 values)"), "%s", err.message);
    cr_expect(strstr(err.message, "2x3x4 (24 values)"), "%s", err.message);
    gd_preprocess_free(p);
    gd_dataset_free(train);
    gd_dataset_free(fewer);
    free(x);
}
