/* Preprocessing: the lecture's zero-centring, normalisation, PCA and whitening, fitted on
 * training data only (numpy goldens: tests/reference/gen_preprocess.py ->
 * preprocess.json). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/preprocess/preprocess.h"
#include "golden.h"

/* Synthetic training data: N samples of D correlated Gaussian features far from the
 * origin, x = A z + mu with a fixed random A whose columns have scales 3, 2, 1, 0.5, 0.3,
 * 0.2 (covariance eigenvalues between about 0.01 and 15). */
#define N 2000
#define D 6
#define EPS 1e-5

static void correlated(float *x, int64_t n, uint64_t seed, double shift)
{
    static const double scales[D] = {3, 2, 1, 0.5, 0.3, 0.2};
    gd_rng *rng;
    cr_assert_eq(gd_rng_create(&rng, 7), GD_OK);
    double a[D][D], mu[D];
    for (int i = 0; i < D; i++) {
        mu[i] = 3 * gd_rng_normal(rng) + shift;
        for (int j = 0; j < D; j++)
            a[i][j] = gd_rng_normal(rng) * scales[j] / sqrt(D);
    }
    gd_rng_seed(rng, seed);
    for (int64_t s = 0; s < n; s++) {
        double z[D];
        for (int j = 0; j < D; j++)
            z[j] = gd_rng_normal(rng);
        for (int i = 0; i < D; i++) {
            double v = mu[i];
            for (int j = 0; j < D; j++)
                v += a[i][j] * z[j];
            x[s * D + i] = (float)v;
        }
    }
    gd_rng_free(rng);
}

static gd_dataset *dataset(const float *x, int64_t n, int ndim, const int64_t *dims)
{
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, n, ndim, dims, x, NULL, 1, &err), GD_OK, "%s",
                 err.message);
    return ds;
}

static gd_dataset *correlated_set(int64_t n, uint64_t seed)
{
    float *x = malloc((size_t)(n * D) * sizeof *x);
    correlated(x, n, seed, 0);
    gd_dataset *ds = dataset(x, n, 1, (int64_t[]){D});
    free(x);
    return ds;
}

static gd_preprocess *fit(const char *spec, double eps, const gd_dataset *train)
{
    gd_preprocess *p;
    gd_error err;
    cr_assert_eq(gd_preprocess_fit(&p, spec, eps, train, &err), GD_OK, "%s: %s", spec,
                 err.message);
    return p;
}

static int64_t output_features(const gd_preprocess *p)
{
    int64_t dims[GD_MAX_DIMS], k = 1;
    int ndim = gd_preprocess_output_shape(p, dims);
    for (int i = 0; i < ndim; i++)
        k *= dims[i];
    return k;
}

/* The transform of all of ds's samples, in a new array. */
static float *apply_all(const gd_preprocess *p, gd_dataset *ds)
{
    int64_t n = gd_dataset_size(ds);
    float *y = malloc((size_t)(n * output_features(p)) * sizeof *y);
    cr_assert_eq(gd_preprocess_apply(p, gd_dataset_features(ds), n, y), GD_OK);
    return y;
}

/* Population mean and covariance (over n rows of k features), in double. */
static void moments(const float *y, int64_t n, int64_t k, double *mean, double *cov)
{
    for (int64_t j = 0; j < k; j++) {
        mean[j] = 0;
        for (int64_t i = 0; i < n; i++)
            mean[j] += y[i * k + j];
        mean[j] /= (double)n;
    }
    for (int64_t a = 0; a < k; a++)
        for (int64_t b = 0; b < k; b++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++)
                s += (y[i * k + a] - mean[a]) * (y[i * k + b] - mean[b]);
            cov[a * k + b] = s / (double)n;
        }
}

static const gd_named_tensor *tensor_named(const gd_preprocess *p, const char *name)
{
    for (size_t i = 0; i < gd_preprocess_tensor_count(p); i++)
        if (strcmp(gd_preprocess_tensor_at(p, i)->name, name) == 0)
            return gd_preprocess_tensor_at(p, i);
    return NULL;
}

/* ------------------------------------------------------------ zero-centring */

/* Each output is x - mean with the mean rounded to float32 (half an ulp of |mu| <= ~10,
 * 5e-7) and one float32 subtraction, whose rounding errors average out over 2000 samples:
 * 1e-6 bounds the centred mean. Without centring the means are of order 3. */
Test(preprocess, center_makes_the_training_mean_zero)
{
    gd_dataset *ds = correlated_set(N, 1);
    gd_preprocess *p = fit("center", EPS, ds);
    float *y = apply_all(p, ds);
    double mean[D], cov[D * D];
    moments(y, N, D, mean, cov);
    for (int j = 0; j < D; j++)
        cr_expect_leq(fabs(mean[j]), 1e-6, "feature %d has mean %g", j, mean[j]);
    const gd_named_tensor *t = tensor_named(p, "preprocess.mean");
    cr_assert(t);
    cr_expect_eq(t->value.ndim, 1);
    cr_expect_eq(t->value.dims[0], D);
    free(y);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
}

/* Samples of 3 channels x 4 x 5 with channel offsets 5, -3, 0.5 and a pattern that varies
 * from pixel to pixel: one mean per channel removes the offsets (mean over N*H*W ~ 0,
 * the same 1e-6 as center) but leaves the pattern (a pixel's mean stays ~ its pattern
 * value, which per-pixel centring would remove). */
Test(preprocess, center_channel_subtracts_one_mean_per_channel)
{
    enum { C = 3, H = 4, W = 5, S = 400 };
    static const double offset[C] = {5, -3, 0.5};
    float *x = malloc(S * C * H * W * sizeof *x);
    gd_rng *rng;
    gd_rng_create(&rng, 3);
    for (int s = 0; s < S; s++)
        for (int i = 0; i < C * H * W; i++)
            x[s * C * H * W + i] =
                (float)(offset[i / (H * W)] + 0.1 * (i % (H * W)) + 0.01 * gd_rng_normal(rng));
    gd_rng_free(rng);
    gd_dataset *ds = dataset(x, S, 3, (int64_t[]){C, H, W});
    gd_preprocess *p = fit("center-channel", EPS, ds);
    const gd_named_tensor *t = tensor_named(p, "preprocess.mean");
    cr_assert(t);
    cr_expect(t->value.ndim == 1 && t->value.dims[0] == C);
    float *y = apply_all(p, ds);
    for (int c = 0; c < C; c++) {
        double sum = 0, first_pixel = 0;
        for (int s = 0; s < S; s++) {
            for (int i = 0; i < H * W; i++)
                sum += y[s * C * H * W + c * H * W + i];
            first_pixel += y[s * C * H * W + c * H * W];
        }
        cr_expect_leq(fabs(sum / (S * H * W)), 1e-6, "channel %d", c);
        /* pattern 0.1 * i has mean 0.95 over a channel, so pixel 0 sits at -0.95 */
        cr_expect_float_eq(first_pixel / S, -0.95, 1e-2, "channel %d", c);
    }
    free(y);
    free(x);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
}

Test(preprocess, center_channel_needs_channels_height_width)
{
    gd_dataset *ds = correlated_set(10, 1);
    gd_preprocess *p;
    gd_error err;
    cr_expect_eq(gd_preprocess_fit(&p, "center-channel", EPS, ds, &err), GD_ERR_SHAPE);
    cr_expect(strstr(err.message, "channels x height x width"), "%s", err.message);
    cr_expect_null(p);
    gd_dataset_free(ds);
}

/* ----------------------------------------------------------- normalisation */

/* The output's standard deviation is std(x) / float32(std(x)): 1 within a few float32
 * roundings (1e-6); 1e-5 leaves room, while a sample (n - 1) deviation would miss by
 * 1 / (2n) = 2.5e-4. */
Test(preprocess, standardize_gives_zero_mean_and_unit_std)
{
    gd_dataset *ds = correlated_set(N, 1);
    gd_preprocess *p = fit("standardize", EPS, ds);
    float *y = apply_all(p, ds);
    double mean[D], cov[D * D];
    moments(y, N, D, mean, cov);
    for (int j = 0; j < D; j++) {
        cr_expect_leq(fabs(mean[j]), 1e-6, "feature %d has mean %g", j, mean[j]);
        cr_expect_leq(fabs(sqrt(cov[j * D + j]) - 1), 1e-5, "feature %d has std %.9g", j,
                      sqrt(cov[j * D + j]));
    }
    free(y);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
}

/* ---------------------------------------------------------------------- PCA */

/* pca:D rotates the centred data onto the principal axes: the component variances are
 * the covariance's eigenvalues, so they decrease, add up to its trace (total variance,
 * which a rotation keeps), and the components are uncorrelated. Float32 projections carry
 * relative errors of ~1e-7 of the largest variance (~15), hence 1e-5 absolute on the
 * covariance entries; a missing sort, a wrong sign convention mixing axes or a
 * non-orthogonal basis miss by orders of magnitude more. */
Test(preprocess, pca_variances_decrease_and_components_are_uncorrelated)
{
    gd_dataset *ds = correlated_set(N, 1);
    gd_preprocess *p = fit("pca:6", EPS, ds);
    float *y = apply_all(p, ds);
    double mean[D], cov[D * D], xmean[D], xcov[D * D], trace = 0, total = 0;
    moments(y, N, D, mean, cov);
    moments(gd_dataset_features(ds), N, D, xmean, xcov);
    for (int a = 0; a < D; a++) {
        trace += xcov[a * D + a];
        total += cov[a * D + a];
        if (a > 0)
            cr_expect_gt(cov[(a - 1) * D + a - 1], cov[a * D + a], "variance %d", a);
        for (int b = 0; b < a; b++)
            cr_expect_leq(fabs(cov[a * D + b]), 1e-5, "covariance (%d, %d) = %g", a, b,
                          cov[a * D + b]);
    }
    cr_expect_float_eq(total, trace, 1e-5 * trace);
    free(y);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
}

/* The first component's variance is the largest over all directions and the last's the
 * smallest (the Rayleigh quotient's extremes are the extreme eigenvalues): no random unit
 * direction may beat them by more than float rounding (1e-6 relative). */
Test(preprocess, pca_components_hold_the_extreme_variances)
{
    gd_dataset *ds = correlated_set(N, 1);
    gd_preprocess *p = fit("pca:6", EPS, ds);
    float *y = apply_all(p, ds);
    double mean[D], cov[D * D], xmean[D], xcov[D * D];
    moments(y, N, D, mean, cov);
    moments(gd_dataset_features(ds), N, D, xmean, xcov);
    gd_rng *rng;
    gd_rng_create(&rng, 11);
    for (int trial = 0; trial < 1000; trial++) {
        double u[D], norm = 0, var = 0;
        for (int j = 0; j < D; j++) {
            u[j] = gd_rng_normal(rng);
            norm += u[j] * u[j];
        }
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++)
                var += u[a] * xcov[a * D + b] * u[b] / norm;
        cr_expect_leq(var, cov[0] * (1 + 1e-6));
        cr_expect_geq(var, cov[D * D - 1] * (1 - 1e-6));
    }
    gd_rng_free(rng);
    free(y);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
}

/* The components (rows of preprocess.components) are orthonormal, to float32 rounding of
 * unit vectors (1e-6); pca:K keeps the first K of pca:D's outputs. */
Test(preprocess, pca_components_are_orthonormal_and_truncation_keeps_the_leading_ones)
{
    gd_dataset *ds = correlated_set(N, 1);
    gd_preprocess *full = fit("pca:6", EPS, ds), *top = fit("pca:2", EPS, ds);
    const float *c = tensor_named(full, "preprocess.components")->value.data;
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++) {
            double dot = 0;
            for (int j = 0; j < D; j++)
                dot += (double)c[a * D + j] * c[b * D + j];
            cr_expect_float_eq(dot, a == b, 1e-6, "rows %d and %d", a, b);
        }
    int64_t dims[GD_MAX_DIMS];
    cr_assert_eq(gd_preprocess_output_shape(top, dims), 1);
    cr_expect_eq(dims[0], 2);
    float *yf = apply_all(full, ds), *yt = apply_all(top, ds);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 2; k++)
            cr_expect_float_eq(yt[i * 2 + k], yf[i * D + k], 1e-5, "sample %d", i);
    free(yf);
    free(yt);
    gd_preprocess_free(full);
    gd_preprocess_free(top);
    gd_dataset_free(ds);
}

/* ---------------------------------------------------------------- whitening */

/* Whitening leaves covariance U diag(S / (S + eps)) U^T (ZCA) or its diagonal (PCA
 * whitening): short of the identity by eps / (S_k + eps) <= eps / S_min along each axis,
 * about 7e-3 for these data (S_min ~ 1.4e-3), which ZCA's rotation spreads over off-diagonal entries (each
 * bounded by that spectral norm), plus float32 rounding (1e-5). Whitening without the
 * square root would put variances 1 / S_k far off 1. */
static void expect_white(const float *y, int64_t n, int64_t k, double s_min)
{
    double mean[D], cov[D * D];
    moments(y, n, k, mean, cov);
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++)
            cr_expect_leq(fabs(cov[a * k + b] - (a == b)), EPS / s_min + 1e-5,
                          "covariance (%d, %d) = %.9g", a, b, cov[a * k + b]);
}

/* The smallest eigenvalue, as the last principal component's variance. */
static double smallest_variance(gd_dataset *ds)
{
    gd_preprocess *p = fit("pca:6", EPS, ds);
    float *y = apply_all(p, ds);
    double mean[D], cov[D * D];
    moments(y, N, D, mean, cov);
    free(y);
    gd_preprocess_free(p);
    return cov[D * D - 1];
}

Test(preprocess, whiten_gives_identity_covariance)
{
    gd_dataset *ds = correlated_set(N, 1);
    gd_preprocess *p = fit("whiten", EPS, ds);
    float *y = apply_all(p, ds);
    expect_white(y, N, D, smallest_variance(ds));
    free(y);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
}

/* Mean over samples of the squared distance between two n x D arrays. */
static double mean_squared_change(const float *a, const float *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n * D; i++)
        s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return s / (double)n;
}

/* ZCA is a whitening (identity covariance, as above) and, of all whitenings, the one that
 * moves the centred data least (Kessy et al., 2018): PCA whitening, the same whitening
 * followed by a rotation into the eigenbasis, must move it further. A ZCA implemented as
 * PCA whitening (no rotation back) would tie. */
Test(preprocess, zca_whitens_and_stays_closest_to_the_input)
{
    gd_dataset *ds = correlated_set(N, 1);
    gd_preprocess *zca = fit("zca", EPS, ds), *white = fit("whiten", EPS, ds),
                  *center = fit("center", EPS, ds);
    float *yz = apply_all(zca, ds), *yw = apply_all(white, ds), *xc = apply_all(center, ds);
    expect_white(yz, N, D, smallest_variance(ds));
    double zca_change = mean_squared_change(yz, xc, N);
    double pca_change = mean_squared_change(yw, xc, N);
    cr_expect_lt(zca_change, pca_change, "ZCA moves %g, PCA whitening %g", zca_change,
                 pca_change);
    free(yz);
    free(yw);
    free(xc);
    gd_preprocess_free(zca);
    gd_preprocess_free(white);
    gd_preprocess_free(center);
    gd_dataset_free(ds);
}

/* A data set whose feature 2 is constant: its covariance has one direction without
 * variance, whose computed eigenvalue is rounding noise (exactly 0 on one machine, 9e-17
 * on another). */
static gd_dataset *with_constant_feature(void)
{
    float *x = malloc(N * D * sizeof *x);
    correlated(x, N, 1, 0);
    for (int i = 0; i < N; i++)
        x[i * D + 2] = 0.5f;
    gd_dataset *ds = dataset(x, N, 1, (int64_t[]){D});
    free(x);
    return ds;
}

/* With eps 0, a direction without variance cannot be whitened, whatever rounding left of
 * its eigenvalue; the message names the component (the last, the smallest) and an eps. */
static void expect_needs_eps(const char *spec)
{
    gd_dataset *ds = with_constant_feature();
    gd_preprocess *p;
    gd_error err;
    cr_expect_eq(gd_preprocess_fit(&p, spec, 0, ds, &err), GD_ERR_NUMERIC, "%s", spec);
    cr_expect(strstr(err.message, "component 5 has no variance"), "%s", err.message);
    cr_expect(strstr(err.message, "needs eps > 0, e.g."), "%s", err.message);
    cr_expect_eq(gd_preprocess_fit(&p, spec, EPS, ds, &err), GD_OK, "%s", err.message);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
}

Test(preprocess, zca_of_a_constant_feature_needs_eps) { expect_needs_eps("zca"); }
Test(preprocess, pca_whitening_of_a_constant_feature_needs_eps) { expect_needs_eps("whiten"); }

/* Projecting without whitening scales nothing, so a constant feature needs no eps; and
 * whitening only the leading components never meets the null direction. */
Test(preprocess, pca_and_leading_whitening_need_no_eps_for_a_constant_feature)
{
    gd_dataset *ds = with_constant_feature();
    gd_preprocess *p = fit("pca:6", 0, ds), *w = fit("whiten:5", 0, ds);
    gd_preprocess_free(p);
    gd_preprocess_free(w);
    gd_dataset_free(ds);
}

/* ------------------------------------------------------ fitting and applying */

/* Statistics come from the training set alone: applying to a shifted set leaves the
 * transform as it was (same tensors, same output on the training set, bit for bit), and
 * the shifted set's output is off-centre by its shift (5 / std per feature). */
Test(preprocess, statistics_come_from_the_training_set_only)
{
    gd_dataset *train = correlated_set(N, 1);
    float *shifted = malloc(N * D * sizeof *shifted);
    correlated(shifted, N, 2, 5.0);
    gd_dataset *other = dataset(shifted, N, 1, (int64_t[]){D});
    gd_preprocess *p = fit("standardize", EPS, train);
    float before[2 * D];
    memcpy(before, tensor_named(p, "preprocess.mean")->value.data, D * sizeof(float));
    memcpy(before + D, tensor_named(p, "preprocess.std")->value.data, D * sizeof(float));
    float *y_train = apply_all(p, train), *y_other = apply_all(p, other);
    float *y_again = apply_all(p, train);

    cr_expect_eq(memcmp(y_train, y_again, N * D * sizeof(float)), 0);
    cr_expect_eq(memcmp(before, tensor_named(p, "preprocess.mean")->value.data,
                        D * sizeof(float)), 0);
    cr_expect_eq(memcmp(before + D, tensor_named(p, "preprocess.std")->value.data,
                        D * sizeof(float)), 0);
    double mean[D], cov[D * D];
    moments(y_other, N, D, mean, cov);
    for (int j = 0; j < D; j++) /* the other set's own noise: its mean is off by ~ 0.03 std */
        cr_expect_float_eq(mean[j], 5.0 / before[D + j], 0.1, "feature %d", j);
    free(y_train);
    free(y_other);
    free(y_again);
    free(shifted);
    gd_preprocess_free(p);
    gd_dataset_free(train);
    gd_dataset_free(other);
}

/* The matrix kinds work through a scratch of 256 centred rows; in place (out == in) over
 * 600 samples (three chunks) must give exactly the out-of-place result. */
Test(preprocess, apply_in_place_matches_out_of_place)
{
    static const char *specs[] = {"center", "standardize", "pca:6", "pca:3", "zca"};
    gd_dataset *ds = correlated_set(600, 1);
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        gd_preprocess *p = fit(specs[s], EPS, ds);
        float *y = apply_all(p, ds);
        float *x = malloc(600 * D * sizeof *x);
        memcpy(x, gd_dataset_features(ds), 600 * D * sizeof *x);
        cr_assert_eq(gd_preprocess_apply(p, x, 600, x), GD_OK);
        cr_expect_eq(memcmp(x, y, (size_t)(600 * output_features(p)) * sizeof *x), 0, "%s",
                     specs[s]);
        free(x);
        free(y);
        gd_preprocess_free(p);
    }
    gd_dataset_free(ds);
}

Test(preprocess, bad_specs_are_rejected_with_the_valid_forms)
{
    static const char *bad[] = {"pca", "pca:0", "pca:7", "pca:-1", "pca:3x", "pca: 3", "foo",
                                "", "whiten:0", "zca:2", "center:1", "PCA:2"};
    gd_dataset *ds = correlated_set(10, 1);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        gd_preprocess *p = (gd_preprocess *)1;
        gd_error err = {{0}};
        cr_expect_eq(gd_preprocess_fit(&p, bad[i], EPS, ds, &err), GD_ERR_INVALID_ARGUMENT,
                     "\"%s\" accepted", bad[i]);
        cr_expect_null(p);
        cr_expect(strstr(err.message, bad[i]), "message does not name \"%s\": %s", bad[i],
                  err.message);
        cr_expect(strstr(err.message, "pca:K") && strstr(err.message, "zca"),
                  "message does not list the valid forms: %s", err.message);
    }
    gd_dataset_free(ds);
}

/* A negative or NaN eps is refused: it would make deviations or scales meaningless. */
Test(preprocess, eps_must_be_finite_and_non_negative)
{
    gd_dataset *ds = correlated_set(10, 1);
    gd_preprocess *p;
    gd_error err;
    cr_expect_eq(gd_preprocess_fit(&p, "standardize", -1e-5, ds, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_preprocess_fit(&p, "zca", NAN, ds, &err), GD_ERR_INVALID_ARGUMENT);
    gd_dataset_free(ds);
}

Test(preprocess, fitting_on_an_empty_set_fails)
{
    float unused = 0;
    gd_dataset *ds = dataset(&unused, 0, 1, (int64_t[]){D});
    gd_preprocess *p;
    gd_error err;
    cr_expect_eq(gd_preprocess_fit(&p, "center", EPS, ds, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "empty"), "%s", err.message);
    cr_expect_null(p);
    gd_dataset_free(ds);
}

/* The recorded spec is canonical (no leading zeros); whiten without K keeps every
 * component and says so by its spec. */
Test(preprocess, spec_and_shapes_are_recorded)
{
    gd_dataset *ds = correlated_set(50, 1);
    gd_preprocess *pca = fit("pca:03", EPS, ds), *white = fit("whiten", EPS, ds);
    int64_t dims[GD_MAX_DIMS];
    cr_expect_str_eq(gd_preprocess_spec(pca), "pca:3");
    cr_expect_str_eq(gd_preprocess_spec(white), "whiten");
    cr_expect_eq(gd_preprocess_output_shape(white, dims), 1);
    cr_expect_eq(dims[0], D);
    cr_expect_eq(gd_preprocess_input_shape(pca, dims), 1);
    cr_expect_eq(dims[0], D);
    gd_preprocess_free(pca);
    gd_preprocess_free(white);
    gd_dataset_free(ds);
}

/* ------------------------------------------------------------- data sets */

/* pca:2 turns samples of 2 x 3 into samples of 2 features, holding exactly what apply
 * writes; center keeps the shape and works in place. */
Test(preprocess, apply_dataset_replaces_features_and_shape)
{
    float *x = malloc(N * D * sizeof *x);
    correlated(x, N, 1, 0);
    gd_dataset *ds = dataset(x, N, 2, (int64_t[]){2, 3});
    gd_preprocess *pca = fit("pca:2", EPS, ds), *center = fit("center", EPS, ds);
    float *want = apply_all(pca, ds), *want_c = apply_all(center, ds);
    gd_error err;
    gd_dataset *copy = dataset(x, N, 2, (int64_t[]){2, 3});
    cr_assert_eq(gd_preprocess_apply_dataset(pca, ds, &err), GD_OK, "%s", err.message);
    int64_t dims[GD_MAX_DIMS];
    cr_expect_eq(gd_dataset_sample_shape(ds, dims), 1);
    cr_expect_eq(dims[0], 2);
    cr_expect_eq(gd_dataset_sample_size(ds), 2);
    cr_expect_eq(memcmp(gd_dataset_features(ds), want, N * 2 * sizeof(float)), 0);
    cr_assert_eq(gd_preprocess_apply_dataset(center, copy, &err), GD_OK, "%s", err.message);
    cr_expect_eq(gd_dataset_sample_shape(copy, dims), 2);
    cr_expect_eq(memcmp(gd_dataset_features(copy), want_c, N * D * sizeof(float)), 0);
    /* ds now holds 2-feature samples, which the 2 x 3 transform must refuse */
    cr_expect_eq(gd_preprocess_apply_dataset(center, ds, &err), GD_ERR_SHAPE);
    cr_expect(strstr(err.message, "2x3"), "%s", err.message);
    free(want);
    free(want_c);
    free(x);
    gd_preprocess_free(pca);
    gd_preprocess_free(center);
    gd_dataset_free(ds);
    gd_dataset_free(copy);
}

/* --------------------------------------------------------------- restoring */

/* A lookup over a fitted transform's own tensors, as the model loader's over a file. */
static const gd_tensor *lookup_in(void *ctx, const char *name)
{
    const gd_named_tensor *t = tensor_named(ctx, name);
    return t ? &t->value : NULL;
}

Test(preprocess, restore_from_tensors_reproduces_apply_bit_for_bit)
{
    static const char *specs[] = {"none", "center", "standardize", "pca:4", "whiten:3",
                                  "whiten", "zca"};
    gd_dataset *train = correlated_set(N, 1), *other = correlated_set(300, 2);
    for (size_t s = 0; s < sizeof specs / sizeof *specs; s++) {
        gd_preprocess *p = fit(specs[s], EPS, train), *q;
        char msg[GD_MSG_MAX];
        cr_assert_eq(gd_preprocess_restore(&q, gd_preprocess_spec(p), 1, (int64_t[]){D},
                                           lookup_in, p, msg),
                     GD_OK, "%s: %s", specs[s], msg);
        cr_expect_str_eq(gd_preprocess_spec(q), gd_preprocess_spec(p));
        cr_expect_eq(gd_preprocess_tensor_count(q), gd_preprocess_tensor_count(p));
        float *yp = apply_all(p, other), *yq = apply_all(q, other);
        cr_expect_eq(memcmp(yp, yq, (size_t)(300 * output_features(p)) * sizeof(float)), 0,
                     "%s", specs[s]);
        free(yp);
        free(yq);
        gd_preprocess_free(p);
        gd_preprocess_free(q);
    }
    gd_dataset_free(train);
    gd_dataset_free(other);
}

/* A lookup that hides one tensor, or hands out a bad one, to test restore's checks. */
typedef struct {
    const gd_preprocess *p;
    const char *name;
    gd_tensor bad; /* data NULL: report the tensor absent */
} tampered;

static const gd_tensor *lookup_tampered(void *ctx, const char *name)
{
    tampered *t = ctx;
    if (strcmp(name, t->name) == 0)
        return t->bad.data ? &t->bad : NULL;
    return lookup_in((void *)t->p, name);
}

static gd_status restore_tampered(tampered *t, char *msg)
{
    gd_preprocess *q = (gd_preprocess *)1;
    gd_status st = gd_preprocess_restore(&q, gd_preprocess_spec(t->p), 1, (int64_t[]){D},
                                         lookup_tampered, t, msg);
    cr_expect_null(q);
    return st;
}

Test(preprocess, restore_rejects_missing_misshapen_and_invalid_tensors)
{
    gd_dataset *ds = correlated_set(50, 1);
    gd_preprocess *p = fit("standardize", EPS, ds);
    char msg[GD_MSG_MAX];
    float values[D] = {1, 1, 1, 1, 1, 1};
    tampered t = {.p = p, .name = "preprocess.std"};
    cr_expect_eq(restore_tampered(&t, msg), GD_ERR_NOT_FOUND);
    cr_expect(strstr(msg, "preprocess.std"), "%s", msg);

    t.bad = gd_tensor_view(values, 2, (int64_t[]){2, 3});
    cr_expect_eq(restore_tampered(&t, msg), GD_ERR_SHAPE);
    cr_expect(strstr(msg, "2x3") && strstr(msg, "6"), "%s", msg);

    t.bad = gd_tensor_view(values, 1, (int64_t[]){D});
    values[4] = 0; /* standardize would divide by it */
    cr_expect_eq(restore_tampered(&t, msg), GD_ERR_FORMAT);
    cr_expect(strstr(msg, "preprocess.std[4]"), "%s", msg);

    t.name = "preprocess.mean";
    values[4] = NAN;
    cr_expect_eq(restore_tampered(&t, msg), GD_ERR_FORMAT);
    cr_expect(strstr(msg, "preprocess.mean[4]"), "%s", msg);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
}

/* ------------------------------------------------------------ numpy goldens */

/* The goldens are float64 computations on float32 inputs (gen_preprocess.py). gradus fits
 * in double too and stores float32 statistics, so they agree to float32 rounding (RTOL
 * 1e-6; measured: bit-identical). Transformed values then take a float32 centring (half an
 * ulp of |x| ~ 5) and a float32 product, errors absolute on the scale of the inputs rather
 * than relative to each output, which whitening's 1/sqrt(S + eps) ~ 7 amplifies on the
 * smallest component: ATOL is 2e-6 of the output's largest value, RTOL 1e-5. Measured:
 * at most 3.8e-7 of the scale (whiten, zca) and 2e-6 relative on values above a tenth of
 * it. eps outside the square root or a sample (n - 1) covariance miss by percents. */
#define STAT_RTOL 1e-6
#define OUT_RTOL 1e-5
#define OUT_ATOL_OF_SCALE 2e-6

static void expect_output(const float *got, const cJSON *c, const char *key)
{
    gd_tensor want = golden_tensor(c, key);
    int64_t n = gd_tensor_numel(&want);
    double scale = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want.data[i]));
    expect_close(got, want.data, n, OUT_RTOL, OUT_ATOL_OF_SCALE * scale, key);
    free(want.data);
}

static gd_dataset *golden_set(const cJSON *c)
{
    gd_tensor x = golden_tensor(c, "x");
    gd_dataset *ds = dataset(x.data, x.dims[0], x.ndim - 1, x.dims + 1);
    free(x.data);
    return ds;
}

static void expect_golden_output(const char *spec, const cJSON *c, const char *key)
{
    gd_dataset *ds = golden_set(c);
    gd_preprocess *p = fit(spec, golden_number(c, "eps"), ds);
    float *y = apply_all(p, ds);
    expect_output(y, c, key);
    free(y);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
}

static void expect_golden_stat(const gd_preprocess *p, const char *name, const cJSON *c,
                               const char *key)
{
    const gd_named_tensor *t = tensor_named(p, name);
    cr_assert(t, "no %s", name);
    expect_close_golden(t->value.data, c, key, STAT_RTOL, 0);
}

Test(preprocess, statistics_match_numpy)
{
    cJSON *root = golden_load("preprocess.json");
    const cJSON *c = golden_case(root, "correlated_200x6");
    gd_dataset *ds = golden_set(c);
    double eps = golden_number(c, "eps");
    gd_preprocess *std = fit("standardize", eps, ds), *pca = fit("pca:6", eps, ds),
                  *white = fit("whiten", eps, ds);
    expect_golden_stat(std, "preprocess.mean", c, "mean");
    expect_golden_stat(std, "preprocess.std", c, "std");
    /* components to float32 rounding of unit vectors' entries: absolute 1e-6 */
    const float *comp = tensor_named(pca, "preprocess.components")->value.data;
    expect_close_golden(comp, c, "components", 0, 1e-6);
    gd_tensor s = golden_tensor(c, "eigenvalues");
    const float *scale = tensor_named(white, "preprocess.scale")->value.data;
    for (int k = 0; k < D; k++)
        cr_expect_float_eq(scale[k], 1 / sqrt(s.data[k] + eps), 1e-6 / sqrt(s.data[k] + eps),
                           "scale %d", k);
    free(s.data);
    gd_preprocess_free(std);
    gd_preprocess_free(pca);
    gd_preprocess_free(white);
    gd_dataset_free(ds);
    cJSON_Delete(root);
}

Test(preprocess, transforms_match_numpy)
{
    cJSON *root = golden_load("preprocess.json");
    const cJSON *c = golden_case(root, "correlated_200x6");
    expect_golden_output("standardize", c, "standardize");
    expect_golden_output("pca:3", c, "pca3");
    expect_golden_output("whiten:3", c, "whiten3");
    expect_golden_output("whiten", c, "whiten");
    expect_golden_output("zca", c, "zca");
    cJSON_Delete(root);
}

/* A constant feature's deviation is floored at eps (0.01 in the golden) and its
 * standardized value is 0. */
Test(preprocess, standardize_floors_a_constant_features_std_at_eps)
{
    cJSON *root = golden_load("preprocess.json");
    const cJSON *c = golden_case(root, "constant_feature_50x3");
    gd_dataset *ds = golden_set(c);
    gd_preprocess *p = fit("standardize", golden_number(c, "eps"), ds);
    expect_golden_stat(p, "preprocess.std", c, "std");
    cr_expect_eq(tensor_named(p, "preprocess.std")->value.data[1], (float)golden_number(c, "eps"));
    expect_golden_output("standardize", c, "standardize");
    gd_preprocess_free(p);
    gd_dataset_free(ds);
    cJSON_Delete(root);
}

Test(preprocess, center_channel_matches_numpy)
{
    cJSON *root = golden_load("preprocess.json");
    const cJSON *c = golden_case(root, "channels_20x2x3x4");
    gd_dataset *ds = golden_set(c);
    gd_preprocess *p = fit("center-channel", 0, ds);
    expect_golden_stat(p, "preprocess.mean", c, "mean");
    float *y = apply_all(p, ds);
    expect_output(y, c, "center_channel");
    free(y);
    gd_preprocess_free(p);
    gd_dataset_free(ds);
    cJSON_Delete(root);
}
