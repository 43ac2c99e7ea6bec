/* The model specification language (docs/spec.md): every layer kind builds the layers and
 * tensors it names, sizes are inferred through every layer (maxout, residual blocks,
 * convolutions and pools), init options take effect on the tensors they name, comments
 * and newlines are whitespace, the text is kept, and every class of error reports its
 * line:column, what was expected and what was found.
 *
 * Statistical tolerance (the init tests): n = 10^6 draws from a normal leave the sample
 * std within SE = sigma / sqrt(2n) = 0.07% of sigma; the tests allow 2% (28 SE), which
 * no fixed seed misses, while a wrong fan, gain or mode moves the std by 40% or more. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gradus.h"

static const int64_t FLAT[] = {784};
static const int64_t IMAGE[] = {1, 28, 28};

static gd_model *build(const char *spec, int ndim, const int64_t *dims, uint64_t seed)
{
    gd_model *m = NULL;
    gd_error err;
    gd_status st = gd_model_from_spec(&m, spec, seed, ndim, dims, 4, &err);
    cr_assert_eq(st, GD_OK, "spec \"%s\": %s", spec, err.message);
    cr_assert_not_null(m);
    return m;
}

static gd_model *build_flat(const char *spec) { return build(spec, 1, FLAT, 1); }

/* The layer names and kinds, depth-first, against want ("name kind" each). */
static void expect_layers(const gd_model *m, const char *const *want, size_t n)
{
    cr_assert_eq(gd_model_layer_count(m), n, "%zu layers, want %zu", gd_model_layer_count(m), n);
    for (size_t i = 0; i < n; i++) {
        gd_layer_info info;
        char got[128];
        cr_assert_eq(gd_model_layer_at(m, i, &info), GD_OK);
        snprintf(got, sizeof got, "%s %s", info.name, info.kind);
        cr_expect_str_eq(got, want[i]);
    }
}

static void expect_shape(const gd_model *m, const char *name, int ndim, const int64_t *dims)
{
    const gd_named_tensor *t = gd_model_tensor(m, name);
    cr_assert_not_null(t, "no tensor %s", name);
    cr_assert_eq(t->value.ndim, ndim, "%s has %d dimensions, want %d", name, t->value.ndim, ndim);
    for (int i = 0; i < ndim; i++)
        cr_expect_eq(t->value.dims[i], dims[i], "%s dimension %d is %lld, want %lld", name, i,
                     (long long)t->value.dims[i], (long long)dims[i]);
}

/* The status and the message's start (position) and a phrase it must contain. */
static void expect_error_in(const char *spec, int ndim, const int64_t *dims, gd_status want,
                            const char *position, const char *phrase)
{
    gd_model *m = (gd_model *)&m; /* a failure must set it to NULL */
    gd_error err;
    gd_status st = gd_model_from_spec(&m, spec, 1, ndim, dims, 4, &err);
    cr_expect_eq(st, want, "spec \"%s\": status %d (%s), want %d", spec, st, err.message, want);
    cr_expect_null(m);
    cr_expect(strncmp(err.message, position, strlen(position)) == 0,
              "\"%s\" does not start with \"%s\"", err.message, position);
    cr_expect(strstr(err.message, phrase) != NULL, "\"%s\" does not say \"%s\"", err.message,
              phrase);
}

static void expect_error(const char *spec, gd_status want, const char *position, const char *phrase)
{
    expect_error_in(spec, 1, FLAT, want, position, phrase);
}

/* The text's fault: syntax, names, values. */
static void expect_invalid(const char *spec, const char *position, const char *phrase)
{
    expect_error(spec, GD_ERR_INVALID_ARGUMENT, position, phrase);
}

static double mean_of(const gd_tensor *t)
{
    double s = 0;
    for (int64_t i = 0; i < gd_tensor_numel(t); i++)
        s += t->data[i];
    return s / (double)gd_tensor_numel(t);
}

static double std_of(const gd_tensor *t)
{
    double mean = mean_of(t), s = 0;
    for (int64_t i = 0; i < gd_tensor_numel(t); i++)
        s += (t->data[i] - mean) * (t->data[i] - mean);
    return sqrt(s / (double)gd_tensor_numel(t));
}

static bool all_equal(const gd_tensor *t, float value)
{
    for (int64_t i = 0; i < gd_tensor_numel(t); i++)
        if (t->data[i] != value)
            return false;
    return true;
}

/* ------------------------------------------------------------------ layers */

Test(spec, builds_a_perceptron_layer_by_layer)
{
    gd_model *m = build_flat("linear(256) bn relu dropout(0.2) linear(10)");
    const char *want[] = {"0 linear", "1 batchnorm1d", "2 relu", "3 dropout", "4 linear"};
    expect_layers(m, want, 5);
    expect_shape(m, "0.weight", 2, (int64_t[]){256, 784});
    expect_shape(m, "1.running_var", 1, (int64_t[]){256});
    expect_shape(m, "4.weight", 2, (int64_t[]){10, 256});
    expect_shape(m, "4.bias", 1, (int64_t[]){10});
    gd_model_free(m);
}

Test(spec, names_every_activation)
{
    gd_model *m = build_flat("relu sigmoid tanh gelu silu leaky_relu elu softplus");
    const char *want[] = {"0 relu", "1 sigmoid",    "2 tanh", "3 gelu",
                          "4 silu", "5 leaky_relu", "6 elu",  "7 softplus"};
    expect_layers(m, want, 8);
    cr_expect_eq(gd_model_tensor_count(m), 0);
    gd_model_free(m);
}

/* The first output of a model of 1-feature samples run on the batch x (n samples). */
static float first_output(const char *spec, const float *x, int64_t n)
{
    gd_model *m = build(spec, 1, (int64_t[]){1}, 1);
    gd_tensor in = gd_tensor_view((float *)x, 2, (int64_t[]){n, 1});
    cr_assert_eq(gd_model_forward(m, &in), GD_OK, "%s", gd_model_error(m));
    float y = gd_model_output(m)->data[0];
    gd_model_free(m);
    return y;
}

/* Tolerance 1e-6: one float operation on values near 1. */
Test(spec, activation_arguments_reach_the_layer)
{
    const float x[] = {-1.0f};
    cr_expect_float_eq(first_output("leaky_relu", x, 1), -0.01f, 1e-6, "default slope 0.01");
    cr_expect_float_eq(first_output("leaky_relu(0.2)", x, 1), -0.2f, 1e-6);
    cr_expect_float_eq(first_output("leaky_relu(slope=0.3)", x, 1), -0.3f, 1e-6);
    cr_expect_float_eq(first_output("elu(alpha=2)", x, 1), 2 * expm1(-1.0), 1e-6);
    cr_expect_float_eq(first_output("softplus(beta=2)", x, 1), log1p(exp(-2.0)) / 2, 1e-6);
}

/* BatchNorm on the batch {3, 1}: mean 2, biased variance 1, so the first output is
 * 1 / sqrt(1 + eps) = 1 / 1.1 for eps 0.21. Tolerance 1e-6 (float rounding). */
Test(spec, batchnorm_eps_reaches_the_layer)
{
    cr_expect_float_eq(first_output("bn(eps=0.21, momentum=0.5)", (const float[]){3, 1}, 2),
                       1 / 1.1, 1e-6);
    cr_expect_float_eq(first_output("batchnorm(0.21)", (const float[]){3, 1}, 2), 1 / 1.1, 1e-6);
}

Test(spec, batchnorm_momentum_sets_the_running_mean)
{
    gd_model *m = build("bn(momentum=0.5)", 1, (int64_t[]){1}, 1);
    float x[] = {1, 3};
    gd_tensor in = gd_tensor_view(x, 2, (int64_t[]){2, 1});
    cr_assert_eq(gd_model_forward(m, &in), GD_OK);
    cr_expect_float_eq(gd_model_param(m, "0.running_mean")->data[0], 1.0f, 1e-7);
    gd_model_free(m);
}

/* Bernoulli zeros over 10^5 units: the fraction's SE is sqrt(p(1 - p) / n) < 0.0016; the
 * tolerance 0.02 (12 SE) still tells p = 0.5 from 0.2 by 15 tolerances. */
static double dropped_fraction(const char *spec)
{
    gd_model *m = build(spec, 1, (int64_t[]){100000}, 1);
    static float ones[100000];
    for (int i = 0; i < 100000; i++)
        ones[i] = 1;
    gd_tensor in = gd_tensor_view(ones, 2, (int64_t[]){1, 100000});
    cr_assert_eq(gd_model_forward(m, &in), GD_OK);
    int64_t zeros = 0;
    for (int i = 0; i < 100000; i++)
        zeros += gd_model_output(m)->data[i] == 0;
    gd_model_free(m);
    return (double)zeros / 100000;
}

Test(spec, dropout_takes_p_and_defaults_to_one_half)
{
    cr_expect_float_eq(dropped_fraction("dropout"), 0.5, 0.02);
    cr_expect_float_eq(dropped_fraction("dropout(0.2)"), 0.2, 0.02);
    cr_expect_float_eq(dropped_fraction("dropout(p=0.8)"), 0.8, 0.02);
}

Test(spec, prelu_is_shared_unless_per_channel)
{
    gd_model *m = build_flat("linear(16) prelu prelu(per_channel=true, init=0.1) prelu(true)");
    expect_shape(m, "1.weight", 1, (int64_t[]){1});
    expect_shape(m, "2.weight", 1, (int64_t[]){16});
    expect_shape(m, "3.weight", 1, (int64_t[]){16});
    cr_expect(all_equal(gd_model_param(m, "1.weight"), 0.25f), "PyTorch's default init 0.25");
    cr_expect(all_equal(gd_model_param(m, "2.weight"), 0.1f));
    gd_model_free(m);
}

Test(spec, maxout_divides_the_features_for_the_next_layer)
{
    gd_model *m = build_flat("linear(30) maxout(3) linear(5)");
    const char *want[] = {"0 linear", "1 maxout", "2 linear"};
    expect_layers(m, want, 3);
    expect_shape(m, "2.weight", 2, (int64_t[]){5, 10});
    gd_model_free(m);
}

Test(spec, residual_blocks_nest_and_are_named_as_pytorch)
{
    gd_model *m =
        build_flat("linear(64) residual(linear(64) relu residual(bn linear(64))) linear(10)");
    const char *want[] = {"0 linear",     "1 residual",        "1.0 linear",   "1.1 relu",
                          "1.2 residual", "1.2.0 batchnorm1d", "1.2.1 linear", "2 linear"};
    expect_layers(m, want, 8);
    expect_shape(m, "1.0.weight", 2, (int64_t[]){64, 64});
    expect_shape(m, "1.2.1.weight", 2, (int64_t[]){64, 64});
    expect_shape(m, "2.weight", 2, (int64_t[]){10, 64});
    gd_model_free(m);
}

Test(spec, sizes_inside_a_residual_block_follow_its_layers)
{
    gd_model *m = build_flat("residual(linear(32) relu linear(784))");
    expect_shape(m, "0.0.weight", 2, (int64_t[]){32, 784});
    expect_shape(m, "0.2.weight", 2, (int64_t[]){784, 32});
    gd_model_free(m);
}

/* 1x28x28 -> conv 8x28x28 -> pool 8x14x14 -> conv stride 2: 16x7x7 -> avgpool 16x3x3
 * -> gap 16x1x1 -> flatten 16. */
Test(spec, convolutions_and_pools_infer_channels_and_sizes)
{
    gd_model *m =
        build("conv(8, 3, pad=1) bn relu maxpool(2) "
              "conv(16, kernel=3, stride=2, padding=1, bias=false) avgpool(2) gap flatten "
              "linear(10)",
              3, IMAGE, 1);
    const char *want[] = {"0 conv2d",    "1 batchnorm2d",    "2 relu",    "3 maxpool2d", "4 conv2d",
                          "5 avgpool2d", "6 global_avgpool", "7 flatten", "8 linear"};
    expect_layers(m, want, 9);
    expect_shape(m, "0.weight", 4, (int64_t[]){8, 1, 3, 3});
    expect_shape(m, "1.weight", 1, (int64_t[]){8});
    expect_shape(m, "4.weight", 4, (int64_t[]){16, 8, 3, 3});
    cr_expect_null(gd_model_tensor(m, "4.bias"), "bias=false");
    expect_shape(m, "8.weight", 2, (int64_t[]){10, 16});
    gd_model_free(m);
}

/* 4x9x9: groups=2 halves the weight's input channels; dilation 2 widens a 3-kernel to 5
 * (9 -> 5); maxpool(3, stride=1) 5 -> 3; so flatten gives 8 * 3 * 3 = 72. */
Test(spec, convolution_options_reach_the_layer)
{
    gd_model *m = build("conv(8, 3, groups=2, dilation=2) maxpool(3, stride=1) flatten linear(2)",
                        3, (int64_t[]){4, 9, 9}, 1);
    expect_shape(m, "0.weight", 4, (int64_t[]){8, 2, 3, 3});
    expect_shape(m, "3.weight", 2, (int64_t[]){2, 72});
    gd_model_free(m);
}

/* ------------------------------------------------------------ initialisers */

Test(spec, init_zeros_and_bias_init_ones_fill_the_named_tensors)
{
    gd_model *m = build_flat("linear(10, init=zeros, bias_init=ones) linear(3)");
    cr_expect(all_equal(gd_model_param(m, "0.weight"), 0.0f));
    cr_expect(all_equal(gd_model_param(m, "0.bias"), 1.0f));
    cr_expect(!all_equal(gd_model_param(m, "1.weight"), 0.0f), "only the layer named");
    gd_model_free(m);
}

Test(spec, bias_init_constant_leaves_the_default_weight)
{
    gd_model *m = build_flat("linear(10, bias_init=constant(0.5))");
    cr_expect(all_equal(gd_model_param(m, "0.bias"), 0.5f));
    /* PyTorch's default weight init is U(-1/sqrt(fan_in), 1/sqrt(fan_in)): std bound/sqrt(3). */
    cr_expect_float_eq(std_of(gd_model_param(m, "0.weight")), 1 / sqrt(3 * 784.0),
                       0.1 / sqrt(3 * 784.0));
    gd_model_free(m);
}

Test(spec, init_normal_gives_the_requested_std)
{
    gd_model *m = build(" linear(1000, init=normal(std=0.01))", 1, (int64_t[]){1000}, 3);
    gd_tensor *w = gd_model_param(m, "0.weight");
    cr_expect_float_eq(std_of(w), 0.01, 0.02 * 0.01);
    cr_expect_float_eq(mean_of(w), 0.0, 1e-4, "SE of the mean is 1e-5");
    gd_model_free(m);
}

Test(spec, initialiser_arguments_may_be_positional)
{
    gd_model *m = build("linear(1000, init=normal(0.5, 0.01))", 1, (int64_t[]){1000}, 3);
    gd_tensor *w = gd_model_param(m, "0.weight");
    cr_expect_float_eq(mean_of(w), 0.5, 1e-4);
    cr_expect_float_eq(std_of(w), 0.01, 0.02 * 0.01);
    gd_model_free(m);
}

static double weight_std(const char *spec)
{
    gd_model *m = build(spec, 1, (int64_t[]){2000}, 5);
    double std = std_of(gd_model_param(m, "0.weight"));
    gd_model_free(m);
    return std;
}

/* Weight 500 x 2000: the default kaiming_normal (fan_in, leaky_relu with a = 0, gain
 * sqrt(2)) has std sqrt(2 / 2000) = 0.0316; fan_out with a linear gain 1 / sqrt(500) =
 * 0.0447; tanh's gain 5/3 on fan_in 0.0373. */
Test(spec, kaiming_mode_and_nonlinearity_are_words)
{
    double want = sqrt(2.0 / 2000);
    cr_expect_float_eq(weight_std("linear(500, init=kaiming_normal)"), want, 0.02 * want);
    want = 1 / sqrt(500.0);
    cr_expect_float_eq(
        weight_std("linear(500, init=kaiming_normal(mode=fan_out, nonlinearity=linear))"), want,
        0.02 * want);
    want = 5.0 / 3 / sqrt(2000.0);
    cr_expect_float_eq(weight_std("linear(500, init=kaiming_normal(nonlinearity=tanh))"), want,
                       0.02 * want);
}

static bool all_within(const gd_tensor *t, double lo, double hi)
{
    for (int64_t i = 0; i < gd_tensor_numel(t); i++)
        if (t->data[i] < lo || t->data[i] > hi)
            return false;
    return true;
}

Test(spec, bounded_initialisers_stay_in_their_bounds)
{
    gd_model *m = build_flat("linear(100, init=uniform(-0.1, b=0.1)) "
                             "linear(100, init=trunc_normal(std=1, a=-0.5, b=0.5)) "
                             "linear(100, init=xavier_uniform(gain=2))");
    cr_expect(all_within(gd_model_param(m, "0.weight"), -0.1, 0.1));
    cr_expect(all_within(gd_model_param(m, "1.weight"), -0.5, 0.5));
    double bound = 2 * sqrt(6.0 / 200);
    cr_expect(all_within(gd_model_param(m, "2.weight"), -bound, bound));
    /* 10^4 draws of U(-b, b): the largest |w| falls below 0.99 b with chance 0.99^10^4. */
    double largest = 0;
    for (int i = 0; i < 10000; i++)
        largest = fmax(largest, fabs(gd_model_param(m, "2.weight")->data[i]));
    cr_expect_gt(largest, 0.99 * bound, "gain 2 reached");
    gd_model_free(m);
}

/* Rows of a 10 x 20 orthogonal weight are orthonormal: W W^T = I within float rounding
 * of a 20-term dot product (1e-5). */
Test(spec, orthogonal_init_gives_orthonormal_rows)
{
    gd_model *m = build("linear(10, init=orthogonal)", 1, (int64_t[]){20}, 1);
    const float *w = gd_model_param(m, "0.weight")->data;
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++) {
            double dot = 0;
            for (int k = 0; k < 20; k++)
                dot += (double)w[i * 20 + k] * w[j * 20 + k];
            cr_expect_float_eq(dot, i == j, 1e-5, "row %d . row %d", i, j);
        }
    gd_model_free(m);
}

Test(spec, init_options_reach_convolutions_and_layers_in_residual_blocks)
{
    gd_model *m = build("conv(4, 3, init=constant(0.25), bias_init=zeros) "
                        "residual(conv(4, 3, pad=1, init=ones))",
                        3, (int64_t[]){2, 8, 8}, 1);
    cr_expect(all_equal(gd_model_param(m, "0.weight"), 0.25f));
    cr_expect(all_equal(gd_model_param(m, "0.bias"), 0.0f));
    cr_expect(all_equal(gd_model_param(m, "1.0.weight"), 1.0f));
    gd_model_free(m);
}

static bool same_parameters(gd_model *a, gd_model *b)
{
    gd_tensor pa = gd_model_parameters_flat(a), pb = gd_model_parameters_flat(b);
    return pa.dims[0] == pb.dims[0] &&
           memcmp(pa.data, pb.data, (size_t)pa.dims[0] * sizeof(float)) == 0;
}

Test(spec, initialisers_draw_from_the_seeded_model_generator)
{
    const char *spec = "linear(50, init=normal(std=0.1)) linear(5, init=xavier_normal)";
    gd_model *a = build(spec, 1, FLAT, 7), *b = build(spec, 1, FLAT, 7),
             *c = build(spec, 1, FLAT, 8);
    cr_expect(same_parameters(a, b), "same seed, same parameters");
    cr_expect(!same_parameters(a, c), "another seed, other parameters");
    gd_model_free(a);
    gd_model_free(b);
    gd_model_free(c);
}

/* --------------------------------------------------------------- the text */

Test(spec, comments_and_newlines_are_whitespace)
{
    const char *commented = "# a perceptron\n"
                            "linear(64,   # hidden\n"
                            "       init=normal(std=0.1))\n"
                            "\trelu # then\n"
                            "linear(10)\n";
    gd_model *a = build(commented, 1, FLAT, 3);
    gd_model *b = build("linear(64, init=normal(std=0.1)) relu linear(10)", 1, FLAT, 3);
    const char *want[] = {"0 linear", "1 relu", "2 linear"};
    expect_layers(a, want, 3);
    cr_expect(same_parameters(a, b));
    gd_model_free(a);
    gd_model_free(b);
}

Test(spec, keeps_the_text_and_the_input_shape)
{
    const char *text = "conv(4, 3) # small\nflatten linear(10)";
    gd_model *m = build(text, 3, IMAGE, 1);
    cr_expect_str_eq(gd_model_spec(m), text);
    int64_t dims[GD_MAX_DIMS];
    cr_expect_eq(gd_model_input_shape(m, dims), 3);
    cr_expect_eq(dims[1], 28);
    gd_model_free(m);
    gd_model_create(&m, 1);
    cr_expect_null(gd_model_spec(m), "a model built by calls has no spec");
    gd_model_free(m);
}

Test(spec, synonyms_build_the_same_layers)
{
    gd_model *a =
        build("conv2d(4, kernel_size=3, padding=1) batchnorm global_avgpool flatten", 3, IMAGE, 1);
    gd_model *b = build("conv(4, 3, pad=1) bn gap flatten", 3, IMAGE, 1);
    const char *want[] = {"0 conv2d", "1 batchnorm2d", "2 global_avgpool", "3 flatten"};
    expect_layers(a, want, 4);
    cr_expect(same_parameters(a, b));
    gd_model_free(a);
    gd_model_free(b);
}

/* ------------------------------------------------------------------ errors */

Test(spec, an_empty_spec_is_an_error)
{
    expect_invalid("", "spec 1:1: ", "empty");
    expect_invalid("  # nothing here\n", "spec 2:1: ", "empty");
}

Test(spec, an_unknown_layer_is_named_with_a_suggestion)
{
    expect_invalid("linear(10)\n    lienar(5)",
                   "spec 2:5: ", "unknown layer 'lienar' (did you mean 'linear'?)");
    expect_invalid("relu attention", "spec 1:6: ", "unknown layer 'attention'");
}

Test(spec, empty_parentheses_say_what_was_expected)
{
    expect_invalid("dropout()",
                   "spec 1:9: ", "expected a number in [0, 1) after 'dropout(', found ')'");
    expect_invalid("linear()", "spec 1:8: ", "expected a positive integer");
    expect_invalid("relu()", "spec 1:5: ", "expected no arguments after 'relu'");
}

Test(spec, syntax_errors_name_the_expected_and_the_found_token)
{
    expect_invalid("linear(10", "spec 1:10: ", "found end of spec");
    expect_invalid("linear(10 relu", "spec 1:11: ", "expected ',' or ')'");
    expect_invalid("linear(10,)", "spec 1:11: ", "found ')'");
    expect_invalid("relu )", "spec 1:6: ", "expected a layer name, found ')'");
    expect_invalid("linear(10), relu", "spec 1:11: ", "not commas");
    expect_invalid("linear 10", "spec 1:8: ", "parentheses");
    expect_invalid("linear(10, bias=)", "spec 1:17: ", "after 'bias='");
    expect_invalid("relu\n  linear(10) ;", "spec 2:14: ", "unexpected character ';'");
}

Test(spec, numbers_are_decimal_and_finite)
{
    expect_invalid("linear(0x10)", "spec 1:8: ", "expected a decimal number, found '0x10'");
    expect_invalid("linear(10abc)", "spec 1:8: ", "found '10abc'");
    expect_invalid("linear(1e999)", "spec 1:8: ", "out of range");
}

Test(spec, values_are_checked_against_their_type)
{
    expect_invalid("linear(2.5)",
                   "spec 1:8: ", "expected a positive integer for linear's out, found '2.5'");
    expect_invalid("linear(0)", "spec 1:8: ", "positive integer");
    expect_invalid("dropout(1)", "spec 1:9: ", "[0, 1)");
    expect_invalid("bn(momentum=1.5)", "spec 1:13: ", "[0, 1]");
    expect_invalid("linear(10, bias=ture)", "spec 1:17: ",
                   "expected true or false for linear's bias, found 'ture' (did you mean 'true'?)");
    expect_invalid("linear(10, init=3)", "spec 1:17: ", "an initialiser");
    expect_invalid("linear(10, init=kaiming_normal(mode=fanout))",
                   "spec 1:37: ", "did you mean 'fan_out'?");
}

Test(spec, arguments_are_bound_as_python_binds_them)
{
    expect_invalid("linear(10, bais=true)",
                   "spec 1:12: ", "linear has no option 'bais' (did you mean 'bias'?)");
    expect_invalid("linear(10, bias=true, bias=false)", "spec 1:23: ", "given twice");
    expect_invalid("linear(10, out=5)", "spec 1:12: ", "given twice");
    expect_invalid("linear(10, true, 3)", "spec 1:18: ", "at most 2 unnamed");
    expect_invalid("linear(bias=false, 10)", "spec 1:20: ", "expected name=value");
    expect_invalid("linear(bias=false)", "spec 1:1: ", "linear needs its out");
    expect_invalid("maxout", "spec 1:1: ", "e.g. 'maxout(2)'");
}

Test(spec, initialiser_errors_point_at_the_option)
{
    expect_invalid("linear(10, init=kaiming)", "spec 1:17: ",
                   "unknown initialiser 'kaiming' (did you mean 'kaiming_uniform'?)");
    expect_invalid("linear(10, init=constant)", "spec 1:17: ", "constant needs its value");
    expect_invalid("linear(10, init=zeros(1))", "spec 1:22: ", "no arguments");
    expect_invalid("linear(10, init=normal(std=-1))", "spec 1:17: ", "0.weight");
    expect_error("relu linear(10, bias_init=xavier_uniform)", GD_ERR_SHAPE,
                 "spec 1:27: ", "cannot initialise 1.bias of shape 10");
    expect_invalid("linear(10, bias=false, bias_init=zeros)", "spec 1:34: ", "no bias");
}

Test(spec, linear_on_images_asks_for_flatten)
{
    expect_error_in("linear(10)", 3, IMAGE, GD_ERR_SHAPE, "spec 1:1: ", "put 'flatten' before it");
    expect_error_in("conv(4, 3) linear(10)", 3, IMAGE, GD_ERR_SHAPE, "spec 1:12: ", "4x26x26");
}

/* A shape error, not the groups check on 784 "channels": callers retry other shapes. */
Test(spec, conv_on_flat_samples_is_a_shape_error)
{
    expect_error("conv(8, 3, groups=3)", GD_ERR_SHAPE, "spec 1:1: ", "(channels, height, width)");
}

Test(spec, shape_errors_pass_the_model_message_on)
{
    expect_error("linear(10)\nmaxout(3)", GD_ERR_SHAPE,
                 "spec 2:1: ", "maxout 1: 10 input channels");
    expect_error_in("maxpool(5)", 3, (int64_t[]){1, 4, 4}, GD_ERR_SHAPE,
                    "spec 1:1: ", "maxpool2d 0");
}

Test(spec, a_residual_block_that_no_projection_joins_is_a_shape_error)
{
    expect_error_in("conv(8, 3) residual(conv(8, 3)\n relu)", 3, (int64_t[]){1, 28, 28},
                    GD_ERR_SHAPE, "spec 2:6: ", "residual 1: the block maps 8x26x26 to 8x24x24");
    expect_invalid("residual()", "spec 1:10: ", "expected a layer inside");
    expect_invalid("residual relu", "spec 1:10: ", "expected '(' after 'residual'");
    expect_invalid("residual(relu", "spec 1:14: ", "closing 'residual(' at 1:9");
}

Test(spec, nesting_is_bounded)
{
    char deep[512] = "";
    for (int i = 0; i < 16; i++)
        strcat(deep, "residual(");
    strcat(deep, "relu");
    for (int i = 0; i < 16; i++)
        strcat(deep, ")");
    expect_invalid(deep, "spec 1:136: ", "nest at most 15 deep");
    char init[512] = "linear(1, init=normal(";
    for (int i = 0; i < 40; i++)
        strcat(init, "a(");
    expect_invalid(init, "spec 1:", "nest more than 32 deep");
}

Test(spec, bad_calls_fail_without_a_model)
{
    gd_model *m = NULL;
    gd_error err;
    cr_expect_eq(gd_model_from_spec(&m, NULL, 1, 1, FLAT, 4, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_model_from_spec(&m, "relu", 1, 0, FLAT, 4, &err), GD_ERR_SHAPE);
    cr_expect_eq(gd_model_from_spec(&m, "relu", 1, 1, (int64_t[]){0}, 4, &err), GD_ERR_SHAPE);
    cr_expect_eq(gd_model_from_spec(&m, "relu", 1, 1, FLAT, 0, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "max_batch") != NULL, "%s", err.message);
    cr_expect_eq(gd_model_from_spec(&m, "lienar", 1, 1, FLAT, 4, NULL), GD_ERR_INVALID_ARGUMENT,
                 "err may be NULL");
    cr_expect_null(m);
}

/* ------------------------------------------------- reads past the text (fuzzer finds) */

/* A copy of text whose terminating NUL is the last byte before an inaccessible page, so
 * that a read past the end crashes the test even without AddressSanitizer. */
static char *at_page_end(const char *text, void **map, size_t *map_len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = strlen(text) + 1;
    cr_assert(len <= page);
    *map_len = 2 * page;
    char *base = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(base, MAP_FAILED);
    cr_assert_eq(mprotect(base + page, page, PROT_NONE), 0);
    *map = base;
    return memcpy(base + page - len, text, len);
}

/* strchr(".+-", c) is true for c == '\0': the lexer scanned a bad number past the end. */
Test(spec, a_bad_number_at_the_end_of_the_text_stops_at_its_end)
{
    void *map;
    size_t map_len;
    char *spec = at_page_end("linear(10o", &map, &map_len);
    expect_invalid(spec, "spec 1:8: ", "expected a decimal number, found '10o'");
    munmap(map, map_len);
}

/* The parser's hint for a misplaced number looked at the token before the first one. */
Test(spec, a_spec_that_begins_with_a_number_is_refused_without_a_hint)
{
    gd_model *m = NULL;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, "8, init=normal(std=0.01)) linear(3)", 1, 1, FLAT, 4, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(err.message, "spec 1:1: expected a layer name, found '8'");
    cr_expect_null(m);
}

/* ------------------------------------------------------------ many layers */

/* n relus, "relu relu ... relu" (free() it). */
static char *relus(int n)
{
    char *text = malloc(5 * (size_t)n + 1);
    cr_assert_not_null(text);
    for (int i = 0; i < n; i++)
        memcpy(text + 5 * i, "relu ", 5);
    text[5 * n] = '\0';
    return text;
}

/* Each layer's shape was inferred again for every layer after it: 4000 took > 10 s. The
 * test asserts the model, not the time; a quadratic build shows as a slow suite. */
Test(spec, four_thousand_layers_build_and_keep_the_shape)
{
    char *text = relus(4000);
    gd_model *m = build_flat(text);
    cr_expect_eq(gd_model_layer_count(m), 4000);
    int64_t out[GD_MAX_DIMS];
    cr_expect_eq(gd_model_output_shape(m, out), 1);
    cr_expect_eq(out[0], 784);
    gd_model_free(m);
    free(text);
}

Test(spec, a_layer_past_the_limit_is_refused_at_its_position)
{
    char *text = relus(GD_MAX_LAYERS + 1);
    char position[32];
    snprintf(position, sizeof position, "spec 1:%d: ", 5 * GD_MAX_LAYERS + 1);
    expect_invalid(text, position, "at most 4096 layers");
    free(text);
    text = relus(GD_MAX_LAYERS);
    gd_model *m = build_flat(text);
    cr_expect_eq(gd_model_layer_count(m), GD_MAX_LAYERS, "the limit itself is allowed");
    gd_model_free(m);
    free(text);
}

Test(spec, residual_blocks_count_towards_the_layer_limit)
{
    char *body = relus(GD_MAX_LAYERS - 1);
    size_t len = strlen(body) + 32;
    char *text = malloc(len);
    snprintf(text, len, "residual(%s)", body);
    gd_model *m = build_flat(text); /* the block and its 4095 layers: 4096 */
    gd_model_free(m);
    snprintf(text, len, "residual(%s) relu", body);
    expect_invalid(text, "spec 1:", "at most 4096 layers");
    free(text);
    free(body);
}

/* Softmax is not a layer on purpose: the model outputs logits and the loss applies
 * log-softmax itself; the error says so, at the name, instead of "unknown layer". */
Test(spec, softmax_is_refused_with_the_reason_at_its_position)
{
    const char *spec = "linear(128) relu linear(10) softmax";
    gd_model *m = (gd_model *)&m;
    gd_error err;
    cr_expect_eq(gd_model_from_spec(&m, spec, 1, 1, (int64_t[]){784}, 4, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_null(m);
    cr_expect_str_eq(err.message,
                     "spec 1:29: softmax: gradus models output logits; the loss applies softmax "
                     "itself (as PyTorch's CrossEntropyLoss), so leave it out; gradus predict "
                     "--probs prints probabilities");
    expect_invalid("linear(10)\n  log_softmax", "spec 2:3: ",
                   "log_softmax: gradus models output logits");
    expect_invalid("linear(10) logsoftmax(dim=1)", "spec 1:12: ",
                   "logsoftmax: gradus models output logits");
    expect_invalid("residual(linear(10) softmax)", "spec 1:21: ", "so leave it out");
    expect_invalid("linear(10) softmaxx", "spec 1:12: ", "unknown layer 'softmaxx'");
}
