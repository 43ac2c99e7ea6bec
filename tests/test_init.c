/* torch.nn.init's counterparts: gains and fans against PyTorch and erfinv against mpmath
 * (gen_init.py), every random initialiser's distribution against its formula, orthogonal's
 * factorisation, seeded determinism and every documented failure.
 *
 * Statistical tolerance: each distribution test draws n >= 10^5 values (400 x 250) and
 * allows 5 standard errors of the formula's sigma: SE(mean) = sigma / sqrt(n) and, by the
 * delta method, SE(std) = sigma sqrt((kurtosis - 1) / (4n)), the kurtosis measured on the
 * sample (9/5 for a uniform, 3 for a normal). At n = 10^5 that is 0.0158 sigma on the mean,
 * 0.0112 sigma on a normal's std and 0.0071 sigma on a uniform's. A 5-SE miss has
 * probability 6e-7 per check; the seeds are fixed, so each outcome is the same on every
 * run, while a wrong formula (the other fan, a lost sqrt(3) or gain) moves the std by 10%
 * or more: 9 times a normal's tolerance, 14 times a uniform's. */
#include "../src/init/init.h"
#include "golden.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
#define SQRT2 1.41421356237309504880
#define ROWS 400
#define COLS 250
#define BUF_FLOATS (128 * 64 * 4 * 4) /* the largest tensor below, a conv weight */
#define SEED 20240601u

static float buf[BUF_FLOATS];

static gd_rng *new_rng(uint64_t seed)
{
    gd_rng *rng;
    cr_assert_eq(gd_rng_create(&rng, seed), GD_OK);
    return rng;
}

static gd_tensor matrix(int64_t rows, int64_t cols)
{
    return gd_tensor_view(buf, 2, (int64_t[]){rows, cols});
}

/* ------------------------------------------------------------- statistics */

typedef struct moments {
    double mean, std, kurtosis, min, max;
} moments;

static moments moments_of(const float *x, int64_t n)
{
    moments m = {.min = INFINITY, .max = -INFINITY};
    for (int64_t i = 0; i < n; i++) {
        m.mean += x[i];
        m.min = fmin(m.min, x[i]);
        m.max = fmax(m.max, x[i]);
    }
    m.mean /= (double)n;
    double m2 = 0, m4 = 0;
    for (int64_t i = 0; i < n; i++) {
        double d2 = (x[i] - m.mean) * (x[i] - m.mean);
        m2 += d2;
        m4 += d2 * d2;
    }
    m2 /= (double)n;
    m.std = sqrt(m2);
    m.kurtosis = m4 / (double)n / (m2 * m2);
    return m;
}

/* Mean and standard deviation within 5 standard errors of the formula's (see the top). */
static moments expect_mean_std(const float *x, int64_t n, double mean, double std,
                               const char *what)
{
    moments m = moments_of(x, n);
    double mean_tol = 5 * std / sqrt((double)n);
    double std_tol = 5 * std * sqrt((m.kurtosis - 1) / (4.0 * (double)n));
    cr_expect(fabs(m.mean - mean) <= mean_tol, "%s: mean %.6g, formula %.6g (5 SE = %.3g)",
              what, m.mean, mean, mean_tol);
    cr_expect(fabs(m.std - std) <= std_tol, "%s: std %.6g, formula %.6g (5 SE = %.3g)", what,
              m.std, std, std_tol);
    return m;
}

/* U(lo, hi): its mean and std, every value inside (float rounding is monotonic, so the
 * rounded bounds hold), and both ends reached to within 1e-4 of the width: missing one
 * has probability (1 - 1e-4)^(10^5) = e^-10. */
static void expect_uniform(const float *x, int64_t n, double lo, double hi, const char *what)
{
    moments m = expect_mean_std(x, n, (lo + hi) / 2, (hi - lo) / sqrt(12.0), what);
    cr_expect(m.min >= (float)lo && m.max <= (float)hi,
              "%s: range [%.9g, %.9g] leaves [%.9g, %.9g]", what, m.min, m.max, lo, hi);
    cr_expect(m.min <= lo + 1e-4 * (hi - lo) && m.max >= hi - 1e-4 * (hi - lo),
              "%s: range [%.9g, %.9g] falls short of [%.9g, %.9g]", what, m.min, m.max, lo, hi);
}

/* N(mean, std^2): its mean and std, and its shape: P(|x - mean| < std) = 0.682689 with
 * SE sqrt(p (1 - p) / n) = 0.00147 at n = 10^5, so 5 SE = 0.0074, where a uniform of the
 * same std gives 0.577 and a clamped normal less. */
static void expect_normal(const float *x, int64_t n, double mean, double std, const char *what)
{
    expect_mean_std(x, n, mean, std, what);
    int64_t inside = 0;
    for (int64_t i = 0; i < n; i++)
        inside += fabs(x[i] - mean) < std;
    double p = 0.682689492137086, got = (double)inside / (double)n;
    double tol = 5 * sqrt(p * (1 - p) / (double)n);
    cr_expect(fabs(got - p) <= tol, "%s: %.5f within one std, a normal has %.5f (5 SE = %.4f)",
              what, got, p, tol);
}

/* ------------------------------------------------------- gains and fans */

static const char *const NONLINEARITY_NAMES[] = {
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"};

static gd_nonlinearity nonlinearity_named(const char *name)
{
    for (int i = 0; i <= GD_NONLIN_SELU; i++)
        if (strcmp(NONLINEARITY_NAMES[i], name) == 0)
            return (gd_nonlinearity)i;
    cr_assert_fail("unknown nonlinearity %s in init.json", name);
    return GD_NONLIN_LINEAR;
}

/* Runs check on every case of init.json whose name starts with prefix; returns how many,
 * so that a test also fails when the file lost its cases. */
static int for_each_case(const char *prefix, void (*check)(const cJSON *c, const char *name))
{
    cJSON *root = golden_load("init.json");
    int count = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, golden_field(root, "cases"))
    {
        const char *name = golden_field(c, "name")->valuestring;
        if (strncmp(name, prefix, strlen(prefix)) == 0) {
            check(c, name);
            count++;
        }
    }
    cJSON_Delete(root);
    return count;
}

/* Both sides evaluate the same double expressions (5.0 / 3, sqrt(2 / (1 + s * s))), so they
 * agree to the last bit; 1 ulp (2.3e-16 relative) is allowed for libm's sqrt. */
static void check_gain(const cJSON *c, const char *name)
{
    const cJSON *param = golden_field(c, "param");
    gd_nonlinearity nl = nonlinearity_named(golden_field(c, "nonlinearity")->valuestring);
    double got = gd_calculate_gain(nl, cJSON_IsNull(param) ? -1 : param->valuedouble);
    double want = golden_number(c, "gain");
    cr_expect(fabs(got - want) <= 2.3e-16 * want, "%s: %.17g, PyTorch says %.17g", name, got,
              want);
}

Test(init, calculate_gain_matches_pytorch)
{
    int checked = for_each_case("gain_", check_gain);
    cr_expect_eq(checked, 14, "12 nonlinearities and 2 leaky slopes, found %d", checked);
}

Test(init, calculate_gain_of_unknown_nonlinearity_is_nan)
{
    cr_expect(isnan(gd_calculate_gain((gd_nonlinearity)(GD_NONLIN_SELU + 1), -1)));
}

static void check_fans(const cJSON *c, const char *name)
{
    const cJSON *shape = golden_field(c, "shape");
    gd_tensor t = {.ndim = cJSON_GetArraySize(shape)};
    for (int i = 0; i < t.ndim; i++)
        t.dims[i] = (int64_t)cJSON_GetArrayItem(shape, i)->valuedouble;
    int64_t fan_in = -1, fan_out = -1;
    cr_expect_eq(gd_calculate_fan_in_and_fan_out(&t, &fan_in, &fan_out), GD_OK, "%s", name);
    cr_expect_eq(fan_in, (int64_t)golden_number(c, "fan_in"), "%s: fan_in", name);
    cr_expect_eq(fan_out, (int64_t)golden_number(c, "fan_out"), "%s: fan_out", name);
}

Test(init, fans_match_pytorch)
{
    int checked = for_each_case("fan_", check_fans);
    cr_expect_eq(checked, 8, "8 shapes in init.json, found %d", checked);
}

Test(init, fans_need_two_dimensions)
{
    int64_t fan_in, fan_out;
    gd_tensor vector = gd_tensor_view(NULL, 1, (int64_t[]){10});
    gd_tensor scalar = gd_tensor_view(NULL, 0, NULL);
    cr_expect_eq(gd_calculate_fan_in_and_fan_out(&vector, &fan_in, &fan_out), GD_ERR_SHAPE);
    cr_expect_eq(gd_calculate_fan_in_and_fan_out(&scalar, &fan_in, &fan_out), GD_ERR_SHAPE);
    cr_expect_eq(gd_calculate_fan_in_and_fan_out(NULL, &fan_in, &fan_out),
                 GD_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ erfinv */

/* Within 1e-15 relative (4.5 ulps) of mpmath's exact value, in both branches and the far
 * tail: the brief asked for ~1e-12; 3e4 random points measured at most 2.0e-16. */
Test(init, erfinv_matches_mpmath)
{
    cJSON *root = golden_load("init.json");
    const cJSON *c = golden_case(root, "erfinv");
    const cJSON *ys = golden_field(c, "y"), *xs = golden_field(c, "x");
    cr_assert_eq(cJSON_GetArraySize(ys), cJSON_GetArraySize(xs));
    for (int i = 0; i < cJSON_GetArraySize(ys); i++) {
        double y = cJSON_GetArrayItem(ys, i)->valuedouble;
        double want = cJSON_GetArrayItem(xs, i)->valuedouble;
        double got = gd_erfinv(y);
        cr_expect(fabs(got - want) <= 1e-15 * fabs(want), "erfinv(%.17g) = %.17g, mpmath %.17g",
                  y, got, want);
    }
    cJSON_Delete(root);
}

Test(init, erfinv_is_infinite_at_one_and_nan_beyond)
{
    cr_expect(isinf(gd_erfinv(1.0)) && gd_erfinv(1.0) > 0);
    cr_expect(isinf(gd_erfinv(-1.0)) && gd_erfinv(-1.0) < 0);
    cr_expect(isnan(gd_erfinv(1.0000000000000002)));
    cr_expect(isnan(gd_erfinv(NAN)));
}

/* ------------------------------------------------------ uniform and normal */

Test(init, uniform_fills_its_interval)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(ROWS, COLS);
    cr_assert_eq(gd_init_uniform_(&t, -0.5, 2.0, rng), GD_OK);
    expect_uniform(buf, ROWS * COLS, -0.5, 2.0, "uniform(-0.5, 2)");
    gd_rng_free(rng);
}

Test(init, uniform_rejects_reversed_infinite_or_nan_bounds)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(2, 3);
    cr_expect_eq(gd_init_uniform_(&t, 1.0, 0.0, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_uniform_(&t, NAN, 1.0, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_uniform_(&t, -INFINITY, 0.0, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_uniform_(&t, -3e38, 3e38, rng), GD_ERR_INVALID_ARGUMENT);
    gd_rng_free(rng);
}

Test(init, normal_matches_its_distribution)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(ROWS, COLS);
    cr_assert_eq(gd_init_normal_(&t, 1.5, 0.3, rng), GD_OK);
    expect_normal(buf, ROWS * COLS, 1.5, 0.3, "normal(1.5, 0.3)");
    gd_rng_free(rng);
}

Test(init, normal_rejects_negative_or_nan_std)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(2, 3);
    cr_expect_eq(gd_init_normal_(&t, 0.0, -0.1, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_normal_(&t, 0.0, NAN, rng), GD_ERR_INVALID_ARGUMENT);
    gd_rng_free(rng);
}

static void expect_all(const float *x, int64_t n, float value, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (x[i] != value)
            cr_assert_fail("%s: element %lld is %.9g, not %.9g", what, (long long)i, x[i], value);
}

Test(init, normal_with_zero_std_fills_the_mean)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(20, 30);
    cr_assert_eq(gd_init_normal_(&t, 0.75, 0.0, rng), GD_OK);
    expect_all(buf, 600, 0.75f, "normal(0.75, 0)");
    gd_rng_free(rng);
}

/* -------------------------------------------------------------- constants */

/* Each fill starts from NaN, so an element left untouched shows. */
static gd_tensor nan_filled(int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        buf[i] = NAN;
    return gd_tensor_view(buf, 3, (int64_t[]){2, 3, n / 6});
}

Test(init, constant_fills_every_element)
{
    gd_tensor t = nan_filled(600);
    cr_assert_eq(gd_init_constant_(&t, -2.5), GD_OK);
    expect_all(buf, 600, -2.5f, "constant(-2.5)");
}

Test(init, zeros_fills_every_element)
{
    gd_tensor t = nan_filled(600);
    cr_assert_eq(gd_init_zeros_(&t), GD_OK);
    expect_all(buf, 600, 0.0f, "zeros");
}

Test(init, ones_fills_every_element)
{
    gd_tensor t = nan_filled(600);
    cr_assert_eq(gd_init_ones_(&t), GD_OK);
    expect_all(buf, 600, 1.0f, "ones");
}

/* ------------------------------------------------------------------ Xavier */

/* 400 x 250: fan_in 250, fan_out 400, so a formula with either fan alone is 26-61% off. */
Test(init, xavier_uniform_bound_is_gain_sqrt6_over_fan_sum)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(ROWS, COLS);
    cr_assert_eq(gd_init_xavier_uniform_(&t, 2.0, rng), GD_OK);
    double bound = 2.0 * sqrt(6.0 / (COLS + ROWS));
    expect_uniform(buf, ROWS * COLS, -bound, bound, "xavier_uniform(gain 2)");
    gd_rng_free(rng);
}

Test(init, xavier_normal_std_is_gain_sqrt2_over_fan_sum)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(ROWS, COLS);
    cr_assert_eq(gd_init_xavier_normal_(&t, 0.5, rng), GD_OK);
    double std = 0.5 * sqrt(2.0 / (COLS + ROWS));
    expect_normal(buf, ROWS * COLS, 0.0, std, "xavier_normal(gain 0.5)");
    gd_rng_free(rng);
}

Test(init, xavier_rejects_zero_fans_and_negative_gain)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor empty = matrix(0, 0), wide = matrix(0, 3), t = matrix(2, 3);
    cr_expect_eq(gd_init_xavier_uniform_(&empty, 1.0, rng), GD_ERR_SHAPE);
    cr_expect_eq(gd_init_xavier_normal_(&empty, 1.0, rng), GD_ERR_SHAPE);
    cr_expect_eq(gd_init_xavier_uniform_(&wide, 1.0, rng), GD_OK, "fan_out 0 alone is fine");
    cr_expect_eq(gd_init_xavier_uniform_(&t, -1.0, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_xavier_normal_(&t, -1.0, rng), GD_ERR_INVALID_ARGUMENT);
    gd_rng_free(rng);
}

/* ----------------------------------------------------------------- Kaiming */

Test(init, kaiming_uniform_fan_in_relu_bound_is_sqrt6_over_fan_in)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(ROWS, COLS);
    cr_assert_eq(gd_init_kaiming_uniform_(&t, 0.0, GD_FAN_IN, GD_NONLIN_RELU, rng), GD_OK);
    double bound = sqrt(3.0) * sqrt(2.0) / sqrt(COLS);
    expect_uniform(buf, ROWS * COLS, -bound, bound, "kaiming_uniform(fan_in, relu)");
    gd_rng_free(rng);
}

Test(init, kaiming_uniform_fan_out_uses_leaky_slope)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(ROWS, COLS);
    cr_assert_eq(gd_init_kaiming_uniform_(&t, 0.2, GD_FAN_OUT, GD_NONLIN_LEAKY_RELU, rng), GD_OK);
    double bound = sqrt(3.0) * sqrt(2.0 / (1 + 0.2 * 0.2)) / sqrt(ROWS);
    expect_uniform(buf, ROWS * COLS, -bound, bound, "kaiming_uniform(0.2, fan_out, leaky_relu)");
    gd_rng_free(rng);
}

/* A conv weight 128 x 64 x 4 x 4 (131072 draws): fan_out = 128 * 16 = 2048, so the ReLU
 * std is sqrt(2 / 2048) = 1/32; fan_in (1024) would give 1.41 times that. */
Test(init, kaiming_normal_conv_fan_out_counts_the_kernel)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = gd_tensor_view(buf, 4, (int64_t[]){128, 64, 4, 4});
    cr_assert_eq(gd_init_kaiming_normal_(&t, 0.0, GD_FAN_OUT, GD_NONLIN_RELU, rng), GD_OK);
    expect_normal(buf, BUF_FLOATS, 0.0, 1.0 / 32, "kaiming_normal(fan_out, relu), 128x64x4x4");
    gd_rng_free(rng);
}

Test(init, kaiming_normal_fan_in_tanh_std_is_gain_over_sqrt_fan_in)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(ROWS, COLS);
    cr_assert_eq(gd_init_kaiming_normal_(&t, 0.0, GD_FAN_IN, GD_NONLIN_TANH, rng), GD_OK);
    expect_normal(buf, ROWS * COLS, 0.0, 5.0 / 3 / sqrt(COLS), "kaiming_normal(fan_in, tanh)");
    gd_rng_free(rng);
}

/* nn.Linear's default: kaiming_uniform_(a = sqrt(5)) gives gain sqrt(1/3) and bound
 * sqrt(3) gain / sqrt(fan_in) = 1/sqrt(fan_in). The draw that reaches the bound is u = 0:
 * xoshiro256**'s output is rotl(s[1] * 5, 7) * 9, so the state {1, 0, 0, 0} yields 0 first,
 * and element 0 is then -bound itself. Exact float equality for every fan_in up to 2048:
 * in double the bound is 1 ulp off for most fans (sqrt(5)^2 is 5 + 1 ulp), but it rounds
 * to the same float. */
Test(init, linear_default_weight_bound_is_exactly_one_over_sqrt_fan_in)
{
    gd_rng *rng = new_rng(SEED);
    for (int64_t fan_in = 1; fan_in <= 2048; fan_in++) {
        cr_assert_eq(gd_rng_set_state(rng, (uint64_t[GD_RNG_STATE_WORDS]){1, 0, 0, 0}), GD_OK);
        gd_tensor t = matrix(1, fan_in);
        cr_assert_eq(gd_init_kaiming_uniform_(&t, sqrt(5.0), GD_FAN_IN, GD_NONLIN_LEAKY_RELU, rng),
                     GD_OK);
        float want = (float)(1.0 / sqrt((double)fan_in));
        if (fabsf(buf[0]) != want)
            cr_assert_fail("fan_in %lld: bound %.9g, 1/sqrt(fan_in) is %.9g", (long long)fan_in,
                           fabsf(buf[0]), want);
    }
    gd_rng_free(rng);
}

/* PyTorch passes kaiming's a to calculate_gain as a number, so a = -0.2 means slope -0.2
 * (gain sqrt(2 / 1.04)), not gd_calculate_gain's "negative = default 0.01". */
Test(init, kaiming_negative_slope_is_a_slope_not_the_default)
{
    static float positive[ROWS * COLS];
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(ROWS, COLS);
    cr_assert_eq(gd_init_kaiming_uniform_(&t, 0.2, GD_FAN_IN, GD_NONLIN_LEAKY_RELU, rng), GD_OK);
    memcpy(positive, buf, sizeof positive);
    gd_rng_seed(rng, SEED);
    cr_assert_eq(gd_init_kaiming_uniform_(&t, -0.2, GD_FAN_IN, GD_NONLIN_LEAKY_RELU, rng), GD_OK);
    cr_expect(memcmp(positive, buf, sizeof positive) == 0);
    gd_rng_free(rng);
}

Test(init, kaiming_rejects_unknown_mode_and_nonlinearity)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(2, 3);
    gd_fan_mode bad_mode = (gd_fan_mode)(GD_FAN_OUT + 1);
    gd_nonlinearity bad_nl = (gd_nonlinearity)(GD_NONLIN_SELU + 1);
    cr_expect_eq(gd_init_kaiming_uniform_(&t, 0, bad_mode, GD_NONLIN_RELU, rng),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_kaiming_normal_(&t, 0, bad_mode, GD_NONLIN_RELU, rng),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_kaiming_uniform_(&t, 0, GD_FAN_IN, bad_nl, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_kaiming_normal_(&t, 0, GD_FAN_IN, bad_nl, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_kaiming_uniform_(&t, NAN, GD_FAN_IN, GD_NONLIN_LEAKY_RELU, rng),
                 GD_ERR_INVALID_ARGUMENT);
    gd_rng_free(rng);
}

/* PyTorch returns a tensor with a zero in its shape untouched, before it computes fans. */
Test(init, kaiming_and_orthogonal_leave_empty_tensors_alone)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor empty = matrix(0, 5);
    gd_tensor empty_vector = gd_tensor_view(buf, 1, (int64_t[]){0});
    cr_expect_eq(gd_init_kaiming_uniform_(&empty, 0, GD_FAN_IN, GD_NONLIN_RELU, rng), GD_OK);
    cr_expect_eq(gd_init_kaiming_normal_(&empty_vector, 0, GD_FAN_IN, GD_NONLIN_RELU, rng), GD_OK);
    cr_expect_eq(gd_init_orthogonal_(&empty, 1.0, rng), GD_OK);
    gd_rng_free(rng);
}

/* -------------------------------------------------------------- orthogonal */

/* Where element (k, i) of the tall view of a rows x cols row-major matrix sits: the
 * matrix itself when rows >= cols, its transpose otherwise (orthogonal_ factors the tall
 * one). */
static int64_t tall_index(int64_t rows, int64_t cols, int64_t k, int64_t i)
{
    return rows >= cols ? k * cols + i : i * cols + k;
}

/* The tall view's columns are orthonormal times gain: each Gram entry within 1e-6 gain^2.
 * Storing Q gain in float perturbs each element by <= 2^-24 relative, so by Cauchy-Schwarz
 * a Gram entry by <= 2^-23 (1 + 2^-24) gain^2 = 1.2e-7 gain^2; the double QR adds ~1e-14.
 * A non-orthogonal Gaussian matrix is off by ~1/sqrt(rows) = 0.05. */
static void expect_orthonormal(const float *w, int64_t rows, int64_t cols, double gain)
{
    int64_t m = rows >= cols ? rows : cols, n = rows >= cols ? cols : rows;
    double worst = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++) {
            double dot = 0;
            for (int64_t k = 0; k < m; k++)
                dot += (double)w[tall_index(rows, cols, k, i)] * w[tall_index(rows, cols, k, j)];
            worst = fmax(worst, fabs(dot - (i == j ? gain * gain : 0)));
        }
    cr_expect(worst <= 1e-6 * gain * gain, "%lldx%lld: Gram matrix off gain^2 I by %.3g",
              (long long)rows, (long long)cols, worst);
}

/* Fills a tensor of that shape and checks its flattened rows x (the rest) matrix. */
static void expect_orthogonal_fill(int ndim, const int64_t *dims, double gain)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = gd_tensor_view(buf, ndim, dims);
    cr_assert_eq(gd_init_orthogonal_(&t, gain, rng), GD_OK);
    expect_orthonormal(buf, dims[0], gd_tensor_numel(&t) / dims[0], gain);
    gd_rng_free(rng);
}

Test(init, orthogonal_tall_has_orthonormal_columns)
{
    expect_orthogonal_fill(2, (int64_t[]){ROWS, COLS}, 1.5);
}

Test(init, orthogonal_wide_has_orthonormal_rows)
{
    expect_orthogonal_fill(2, (int64_t[]){COLS, ROWS}, 0.5);
}

/* A 16 x 8 x 3 x 3 conv weight flattens to 16 x 72 (wide), a 64 x 2 x 3 x 3 one to 64 x 18
 * (tall). */
Test(init, orthogonal_flattens_conv_weights)
{
    expect_orthogonal_fill(4, (int64_t[]){16, 8, 3, 3}, 1.0);
    expect_orthogonal_fill(4, (int64_t[]){64, 2, 3, 3}, 1.0);
}

/* The result is the Q of the QR factorisation of the Gaussian matrix the generator drew
 * (redrawn here from the same seed), with R's diagonal made positive: R = Q^T A is upper
 * triangular, each entry below the diagonal within 1e-6 |A_j| (Q's float rounding moves
 * entry (i, j) by <= 2^-24 |Q_i| |A_j| = 6e-8 |A_j|), and its diagonal is positive. LAPACK's
 * Householder R has diagonal -sign(a_jj) |.|, so skipping the sign fix fails here. */
static void expect_q_of_the_draw(int64_t rows, int64_t cols)
{
    static double drawn[ROWS * COLS];
    double gain = 2.0;
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(rows, cols);
    cr_assert_eq(gd_init_orthogonal_(&t, gain, rng), GD_OK);
    gd_rng_seed(rng, SEED);
    for (int64_t i = 0; i < rows * cols; i++)
        drawn[i] = gd_rng_normal(rng);
    int64_t m = rows >= cols ? rows : cols, n = rows >= cols ? cols : rows;
    for (int64_t j = 0; j < n; j++) {
        double norm2 = 0;
        for (int64_t k = 0; k < m; k++)
            norm2 += drawn[tall_index(rows, cols, k, j)] * drawn[tall_index(rows, cols, k, j)];
        for (int64_t i = j; i < n; i++) {
            double r = 0; /* R(i, j) = Q_i . A_j */
            for (int64_t k = 0; k < m; k++)
                r += buf[tall_index(rows, cols, k, i)] / gain * drawn[tall_index(rows, cols, k, j)];
            if (i == j)
                cr_expect(r > 0, "R(%lld, %lld) = %.6g is not positive", (long long)j,
                          (long long)j, r);
            else
                cr_expect(fabs(r) <= 1e-6 * sqrt(norm2), "R(%lld, %lld) = %.3g below the diagonal",
                          (long long)i, (long long)j, r);
        }
    }
    gd_rng_free(rng);
}

Test(init, orthogonal_tall_is_q_of_the_draw_with_positive_r)
{
    expect_q_of_the_draw(ROWS, COLS);
}

Test(init, orthogonal_wide_is_q_of_the_transposed_draw_with_positive_r)
{
    expect_q_of_the_draw(COLS, ROWS);
}

/* ---------------------------------------------------------- truncated normal */

static double phi(double z) { return isinf(z) ? 0 : exp(-z * z / 2) / sqrt(2 * PI); }

/* N(mean, std^2) truncated to [a, b]: with alpha, beta the standardised bounds and
 * Z = Phi(beta) - Phi(alpha) (through erfc, exact in both tails), the mean is
 * mean + std (phi(alpha) - phi(beta)) / Z and the variance
 * std^2 (1 + (alpha phi(alpha) - beta phi(beta)) / Z - ((phi(alpha) - phi(beta)) / Z)^2).
 * Every value lies in [a, b], and each finite end is reached to within 0.01: the three
 * cases below put at least 5.6e-4 of their mass there, 56 expected draws, so missing
 * one has probability below e^-56. */
static void expect_trunc_normal(double mean, double std, double a, double b)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(ROWS, COLS);
    cr_assert_eq(gd_init_trunc_normal_(&t, mean, std, a, b, rng), GD_OK);
    double alpha = (a - mean) / std, beta = (b - mean) / std;
    double z = 0.5 * (erfc(alpha / SQRT2) - erfc(beta / SQRT2));
    double pa = phi(alpha), pb = phi(beta);
    double lambda = (pa - pb) / z;
    double a_term = isinf(alpha) ? 0 : alpha * pa, b_term = isinf(beta) ? 0 : beta * pb;
    double var = std * std * (1 + (a_term - b_term) / z - lambda * lambda);
    char what[96];
    snprintf(what, sizeof what, "trunc_normal(%g, %g, [%g, %g])", mean, std, a, b);
    moments m = expect_mean_std(buf, ROWS * COLS, mean + std * lambda, sqrt(var), what);
    cr_expect(m.min >= a && m.max <= b, "%s: range [%.9g, %.9g]", what, m.min, m.max);
    cr_expect(isinf(a) || m.min <= a + 0.01, "%s: min %.9g far from a", what, m.min);
    cr_expect(isinf(b) || m.max >= b - 0.01, "%s: max %.9g far from b", what, m.max);
    gd_rng_free(rng);
}

/* PyTorch's defaults: a = -2, b = 2 around N(0, 1). */
Test(init, trunc_normal_default_range_matches_the_truncated_moments)
{
    expect_trunc_normal(0.0, 1.0, -2.0, 2.0);
}

/* Bounds at -0.75 and 1.75 std: an asymmetric cut moves the mean. */
Test(init, trunc_normal_asymmetric_range_matches_the_truncated_moments)
{
    expect_trunc_normal(0.5, 2.0, -1.0, 4.0);
}

/* [6, inf) draws v within 2e-9 of 1, where erfinv runs on its asymptotic tail estimate and
 * erfc residual; in float, as PyTorch computes, that whole range rounds to 1 and gives inf. */
Test(init, trunc_normal_far_tail_matches_the_truncated_moments)
{
    expect_trunc_normal(0.0, 1.0, 6.0, INFINITY);
}

Test(init, trunc_normal_rejects_bad_arguments)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(2, 3);
    cr_expect_eq(gd_init_trunc_normal_(&t, 0, 0.0, -2, 2, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_trunc_normal_(&t, 0, -1.0, -2, 2, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_trunc_normal_(&t, 0, 1.0, 2, -2, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_trunc_normal_(&t, NAN, 1.0, -2, 2, rng), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_trunc_normal_(&t, INFINITY, 1.0, -2, 2, rng), GD_ERR_INVALID_ARGUMENT);
    gd_rng_free(rng);
}

/* -------------------------------------------- every random initialiser at once */

typedef gd_status (*filler)(gd_tensor *t, gd_rng *rng);

static gd_status fill_uniform(gd_tensor *t, gd_rng *rng)
{
    return gd_init_uniform_(t, -1, 1, rng);
}
static gd_status fill_normal(gd_tensor *t, gd_rng *rng)
{
    return gd_init_normal_(t, 0, 1, rng);
}
static gd_status fill_xavier_uniform(gd_tensor *t, gd_rng *rng)
{
    return gd_init_xavier_uniform_(t, 1, rng);
}
static gd_status fill_xavier_normal(gd_tensor *t, gd_rng *rng)
{
    return gd_init_xavier_normal_(t, 1, rng);
}
static gd_status fill_kaiming_uniform(gd_tensor *t, gd_rng *rng)
{
    return gd_init_kaiming_uniform_(t, sqrt(5.0), GD_FAN_IN, GD_NONLIN_LEAKY_RELU, rng);
}
static gd_status fill_kaiming_normal(gd_tensor *t, gd_rng *rng)
{
    return gd_init_kaiming_normal_(t, 0, GD_FAN_OUT, GD_NONLIN_RELU, rng);
}
static gd_status fill_orthogonal(gd_tensor *t, gd_rng *rng)
{
    return gd_init_orthogonal_(t, 1, rng);
}
static gd_status fill_trunc_normal(gd_tensor *t, gd_rng *rng)
{
    return gd_init_trunc_normal_(t, 0, 1, -2, 2, rng);
}

/* The first five need a fan, or a matrix to factor. */
static const struct {
    filler fn;
    const char *name;
} FILLERS[] = {{fill_xavier_uniform, "xavier_uniform"}, {fill_xavier_normal, "xavier_normal"},
               {fill_kaiming_uniform, "kaiming_uniform"}, {fill_kaiming_normal, "kaiming_normal"},
               {fill_orthogonal, "orthogonal"}, {fill_uniform, "uniform"},
               {fill_normal, "normal"}, {fill_trunc_normal, "trunc_normal"}};
#define N_FILLERS (sizeof FILLERS / sizeof FILLERS[0])
#define N_NEED_MATRIX 5

Test(init, same_seed_gives_same_bits_and_another_seed_does_not)
{
    enum { N = 40 * 25 };
    static float first[N];
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(40, 25);
    for (size_t f = 0; f < N_FILLERS; f++) {
        gd_rng_seed(rng, SEED);
        cr_assert_eq(FILLERS[f].fn(&t, rng), GD_OK, "%s", FILLERS[f].name);
        memcpy(first, buf, sizeof first);
        gd_rng_seed(rng, SEED);
        cr_assert_eq(FILLERS[f].fn(&t, rng), GD_OK, "%s", FILLERS[f].name);
        cr_expect(memcmp(first, buf, sizeof first) == 0, "%s: same seed, other bits",
                  FILLERS[f].name);
        gd_rng_seed(rng, SEED + 1);
        cr_assert_eq(FILLERS[f].fn(&t, rng), GD_OK, "%s", FILLERS[f].name);
        cr_expect(memcmp(first, buf, sizeof first) != 0, "%s: another seed, same bits",
                  FILLERS[f].name);
    }
    gd_rng_free(rng);
}

Test(init, one_dimensional_tensors_are_shape_errors_and_stay_untouched)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor vector = gd_tensor_view(buf, 1, (int64_t[]){10});
    for (size_t f = 0; f < N_NEED_MATRIX; f++) {
        for (int i = 0; i < 10; i++)
            buf[i] = 7.0f;
        cr_expect_eq(FILLERS[f].fn(&vector, rng), GD_ERR_SHAPE, "%s", FILLERS[f].name);
        expect_all(buf, 10, 7.0f, FILLERS[f].name);
    }
    gd_rng_free(rng);
}

Test(init, null_tensor_data_or_generator_is_invalid)
{
    gd_rng *rng = new_rng(SEED);
    gd_tensor t = matrix(4, 3), no_data = gd_tensor_view(NULL, 2, (int64_t[]){4, 3});
    for (size_t f = 0; f < N_FILLERS; f++) {
        cr_expect_eq(FILLERS[f].fn(NULL, rng), GD_ERR_INVALID_ARGUMENT, "%s", FILLERS[f].name);
        cr_expect_eq(FILLERS[f].fn(&no_data, rng), GD_ERR_INVALID_ARGUMENT, "%s",
                     FILLERS[f].name);
        cr_expect_eq(FILLERS[f].fn(&t, NULL), GD_ERR_INVALID_ARGUMENT, "%s", FILLERS[f].name);
    }
    cr_expect_eq(gd_init_constant_(NULL, 1), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_zeros_(&no_data), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_init_ones_(&no_data), GD_ERR_INVALID_ARGUMENT);
    gd_rng_free(rng);
}
