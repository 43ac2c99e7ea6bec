/* Every layer's backward against central differences of its forward (tests/gradcheck.h:
 * tolerance GRADCHECK_TOL, step GRADCHECK_STEP = 1e-2, both justified there). The check
 * covers the input gradient and every parameter gradient.
 *
 * Central differences are only valid where the function is smooth across x +- h, so the
 * inputs stay more than KINK_MARGIN = 0.1 (ten steps) from the kinks: 0 for ReLU,
 * LeakyReLU, PReLU and ELU with alpha != 1, ties for Maxout. Where a kink sits behind a
 * Linear layer (the networks), the test asserts that precondition on the pre-activations
 * instead of assuming it: moving one weight by h moves a pre-activation by h |x| <= 0.02
 * for inputs in [-2, 2], so a margin of 0.05 is enough there. */
#include "gradcheck.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KINK_MARGIN 0.1
#define HIDDEN_MARGIN 0.05

/* Uniform values in [-2, 2], each pushed out of (-KINK_MARGIN, KINK_MARGIN). */
static gd_tensor input_clear_of_zero(uint64_t seed, int64_t n, int64_t features)
{
    gd_tensor x = random_tensor(seed, -2, 2, 2, (int64_t[]){n, features});
    for (int64_t i = 0; i < n * features; i++)
        if (fabsf(x.data[i]) < KINK_MARGIN)
            x.data[i] += copysignf((float)KINK_MARGIN, x.data[i]);
    return x;
}

static gd_model *new_model(void)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 5), GD_OK);
    return m;
}

static void build(gd_model *m, int64_t features, int64_t max_batch)
{
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){features}, max_batch), GD_OK, "%s",
                 gd_model_error(m));
}

/* Redraws every parameter uniformly in [-0.5, 0.5) from seed, so that the networks' data (and
 * with it the kink precondition) does not depend on the initialisers, tested elsewhere. */
static void set_parameters(gd_model *m, uint64_t seed)
{
    gd_tensor flat = gd_model_parameters_flat(m);
    gd_tensor drawn = random_tensor(seed, -0.5, 0.5, 1, flat.dims);
    memcpy(flat.data, drawn.data, (size_t)flat.dims[0] * sizeof(float));
    free(drawn.data);
}

/* Asserts that layer `name`'s output (a ReLU's input) keeps clear of 0 on input x. */
static void assert_clear_of_kink(gd_model *m, const gd_tensor *x, const char *name)
{
    cr_assert_eq(gd_model_forward(m, x), GD_OK, "%s", gd_model_error(m));
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, name, &info), GD_OK);
    for (int64_t i = 0; i < gd_tensor_numel(&info.output); i++)
        cr_assert(fabsf(info.output.data[i]) > HIDDEN_MARGIN,
                  "precondition: pre-activation %lld of layer %s is %g, within %g of the ReLU "
                  "kink (choose another seed)",
                  (long long)i, name, (double)info.output.data[i], HIDDEN_MARGIN);
}

/* ------------------------------------------------------------------- linear */

static void check_linear(bool bias)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_linear(m, 5, 3, bias), GD_OK);
    build(m, 5, 4);
    gd_tensor x = random_tensor(21, -2, 2, 2, (int64_t[]){4, 5});
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

Test(layers_gradcheck, linear_with_bias) { check_linear(true); }
Test(layers_gradcheck, linear_without_bias) { check_linear(false); }

/* -------------------------------------------------------------- activations */

static void check_activation(gd_activation kind, double param)
{
    gd_model *m = new_model();
    gd_status st = isnan(param) ? gd_model_add_activation(m, kind)
                                : gd_model_add_activation_with(m, kind, param);
    cr_assert_eq(st, GD_OK, "%s", gd_model_error(m));
    build(m, 8, 3);
    gd_tensor x = input_clear_of_zero(22, 3, 8);
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

Test(layers_gradcheck, sigmoid) { check_activation(GD_ACT_SIGMOID, NAN); }
Test(layers_gradcheck, tanh) { check_activation(GD_ACT_TANH, NAN); }
Test(layers_gradcheck, relu) { check_activation(GD_ACT_RELU, NAN); }
Test(layers_gradcheck, leaky_relu_default_slope) { check_activation(GD_ACT_LEAKY_RELU, NAN); }
Test(layers_gradcheck, leaky_relu_slope_0_2) { check_activation(GD_ACT_LEAKY_RELU, 0.2); }
Test(layers_gradcheck, elu_default_alpha) { check_activation(GD_ACT_ELU, NAN); }
Test(layers_gradcheck, elu_alpha_0_5) { check_activation(GD_ACT_ELU, 0.5); }
Test(layers_gradcheck, gelu) { check_activation(GD_ACT_GELU, NAN); }
Test(layers_gradcheck, silu) { check_activation(GD_ACT_SILU, NAN); }
Test(layers_gradcheck, softplus_default_beta) { check_activation(GD_ACT_SOFTPLUS, NAN); }
Test(layers_gradcheck, softplus_beta_2) { check_activation(GD_ACT_SOFTPLUS, 2.0); }

/* -------------------------------------------------------------------- prelu */

Test(layers_gradcheck, prelu_shared_slope)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_prelu(m, 1, 0.25), GD_OK);
    build(m, 5, 4);
    gd_tensor x = input_clear_of_zero(23, 4, 5);
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

Test(layers_gradcheck, prelu_slope_per_feature)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_prelu(m, 5, 0.25), GD_OK);
    build(m, 5, 4);
    /* Distinct slopes, so a gradient sent to the wrong slope shows. */
    const float slopes[5] = {0.1f, -0.3f, 0.25f, 0.05f, 1.5f};
    for (int i = 0; i < 5; i++)
        gd_model_param(m, "0.weight")->data[i] = slopes[i];
    gd_tensor x = input_clear_of_zero(24, 4, 5);
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

/* ------------------------------------------------------------------- maxout */

/* Asserts that within each group of k consecutive features the largest value leads the
 * runner-up by more than KINK_MARGIN, so that no step of +-h changes the winner. */
static void assert_no_near_ties(const gd_tensor *x, int64_t k)
{
    int64_t groups = gd_tensor_numel(x) / k;
    for (int64_t g = 0; g < groups; g++) {
        const float *v = x->data + g * k;
        float first = -INFINITY, second = -INFINITY;
        for (int64_t p = 0; p < k; p++) {
            second = fmaxf(second, fminf(first, v[p]));
            first = fmaxf(first, v[p]);
        }
        cr_assert(first - second > KINK_MARGIN,
                  "precondition: group %lld has a near tie (%g, %g); choose another seed",
                  (long long)g, (double)first, (double)second);
    }
}

static void check_maxout(int64_t k, int64_t features, uint64_t seed)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_maxout(m, k), GD_OK);
    build(m, features, 3);
    gd_tensor x = random_tensor(seed, -2, 2, 2, (int64_t[]){3, features});
    assert_no_near_ties(&x, k);
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

Test(layers_gradcheck, maxout_k2) { check_maxout(2, 8, 25); }
Test(layers_gradcheck, maxout_k3) { check_maxout(3, 9, 30); }

/* ----------------------------------------------------------------- networks */

Test(layers_gradcheck, residual_block)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_linear(m, 4, 6, true), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_RELU), GD_OK);
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 6, 6, true), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_TANH), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 6, 6, true), GD_OK);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 6, 2, true), GD_OK);
    build(m, 4, 3);
    set_parameters(m, 29);
    /* Input seed 7 keeps every pre-activation of layer 0 beyond HIDDEN_MARGIN (checked below). */
    gd_tensor x = random_tensor(7, -2, 2, 2, (int64_t[]){3, 4});
    assert_clear_of_kink(m, &x, "0");
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

Test(layers_gradcheck, linear_relu_linear_mlp)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_linear(m, 5, 8, true), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_RELU), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 8, 3, true), GD_OK);
    build(m, 5, 4);
    set_parameters(m, 30);
    /* Input seed 19 keeps every pre-activation of layer 0 beyond HIDDEN_MARGIN (checked below). */
    gd_tensor x = random_tensor(19, -2, 2, 2, (int64_t[]){4, 5});
    assert_clear_of_kink(m, &x, "0");
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}
