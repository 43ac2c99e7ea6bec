/* Convolution, pooling, flatten and BatchNorm2d backward against central differences of
 * their forward (tests/gradcheck.h: tolerance GRADCHECK_TOL, step GRADCHECK_STEP = 1e-2,
 * both justified there), for the input gradient and every parameter gradient. Shapes are
 * small: the check runs four forwards per input and parameter element.
 *
 * Max pooling is smooth only while no window's winner changes within +-h: its inputs are a
 * permutation of a grid of values DISTINCT_GAP = 0.025 apart, and the check moves one
 * element at a time by at most h = 0.01, so no two ever swap places. */
#include "gradcheck.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#define DISTINCT_GAP 0.025

static gd_model *new_model(void)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 3), GD_OK);
    return m;
}

static void build_and_check(gd_model *m, const gd_tensor *x)
{
    cr_assert_eq(gd_model_build(m, x->ndim - 1, x->dims + 1, x->dims[0]), GD_OK, "%s",
                 gd_model_error(m));
    expect_gradcheck(m, x);
}

/* n x c x h x w values ((37 i mod count) - count / 2) DISTINCT_GAP: a permutation of a
 * grid around 0 as long as 37 does not divide the count. */
static gd_tensor distinct_input(int64_t n, int64_t c, int64_t h, int64_t w)
{
    int64_t count = n * c * h * w;
    cr_assert(count % 37 != 0);
    gd_tensor x = gd_tensor_view(malloc((size_t)count * sizeof(float)), 4, (int64_t[]){n, c, h, w});
    for (int64_t i = 0; i < count; i++)
        x.data[i] = (float)((double)(i * 37 % count - count / 2) * DISTINCT_GAP);
    return x;
}

/* --------------------------------------------------------------- convolution */

typedef struct conv_args {
    int64_t in, out;
    int kh, kw, stride, padding, dilation, groups;
    bool bias;
} conv_args;

static void check_conv(conv_args a, int64_t n, int64_t h, int64_t w)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_conv2d(m, a.in, a.out, a.kh, a.kw, a.stride, a.padding, a.dilation,
                                     a.groups, a.bias),
                 GD_OK, "%s", gd_model_error(m));
    gd_tensor x = random_tensor(21, -2, 2, 4, (int64_t[]){n, a.in, h, w});
    build_and_check(m, &x);
    free(x.data);
    gd_model_free(m);
}

Test(conv_gradcheck, conv2d_stride1_padding1)
{
    check_conv((conv_args){2, 3, 3, 3, 1, 1, 1, 1, true}, 2, 5, 4);
}

Test(conv_gradcheck, conv2d_stride2_dilation2_groups2_without_bias)
{
    check_conv((conv_args){4, 2, 3, 2, 2, 1, 2, 2, false}, 2, 7, 6);
}

Test(conv_gradcheck, conv2d_1x1)
{
    check_conv((conv_args){3, 2, 1, 1, 1, 0, 1, 1, true}, 2, 3, 4);
}

/* ------------------------------------------------------------------- pooling */

/* A pool on samples of 2 x h x w. */
static void check_pool_on(gd_status (*add)(gd_model *, int, int, int), int kernel, int stride,
                          int padding, int64_t h, int64_t w)
{
    gd_model *m = new_model();
    cr_assert_eq(add(m, kernel, stride, padding), GD_OK, "%s", gd_model_error(m));
    gd_tensor x = distinct_input(2, 2, h, w);
    build_and_check(m, &x);
    free(x.data);
    gd_model_free(m);
}

static void check_pool(gd_status (*add)(gd_model *, int, int, int), int kernel, int stride,
                       int padding)
{
    check_pool_on(add, kernel, stride, padding, 5, 6);
}

Test(conv_gradcheck, maxpool2) { check_pool(gd_model_add_maxpool2d, 2, 0, 0); }
Test(conv_gradcheck, maxpool3_stride2_padding1) { check_pool(gd_model_add_maxpool2d, 3, 2, 1); }
Test(conv_gradcheck, avgpool2) { check_pool(gd_model_add_avgpool2d, 2, 0, 0); }
Test(conv_gradcheck, avgpool3_stride2_padding1) { check_pool(gd_model_add_avgpool2d, 3, 2, 1); }

/* A 3x3 window on 2x2 planes: every window is clamped on some side. */
Test(conv_gradcheck, pools_on_planes_smaller_than_the_kernel)
{
    check_pool_on(gd_model_add_maxpool2d, 3, 1, 1, 2, 2);
    check_pool_on(gd_model_add_avgpool2d, 3, 1, 1, 2, 2);
}

Test(conv_gradcheck, global_avgpool)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_global_avgpool(m), GD_OK);
    gd_tensor x = random_tensor(22, -2, 2, 4, (int64_t[]){2, 3, 3, 4});
    build_and_check(m, &x);
    free(x.data);
    gd_model_free(m);
}

/* Flatten then a Linear layer, so that a reordered backward copy would mismatch the weights. */
Test(conv_gradcheck, flatten_then_linear)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_flatten(m), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 12, 3, true), GD_OK);
    gd_tensor x = random_tensor(23, -2, 2, 4, (int64_t[]){2, 2, 2, 3});
    build_and_check(m, &x);
    free(x.data);
    gd_model_free(m);
}

/* Training mode: statistics over N H W = 3 x 3 x 3 values per channel. */
Test(conv_gradcheck, batchnorm2d)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_batchnorm2d(m, 2, 1e-5, 0.1), GD_OK);
    gd_tensor x = random_tensor(24, -2, 2, 4, (int64_t[]){3, 2, 3, 3});
    cr_assert_eq(gd_model_build(m, 3, x.dims + 1, 3), GD_OK, "%s", gd_model_error(m));
    gd_tensor gamma = random_tensor(25, 0.5, 2, 1, (int64_t[]){2});
    for (int i = 0; i < 2; i++)
        gd_model_param(m, "0.weight")->data[i] = gamma.data[i];
    expect_gradcheck(m, &x);
    free(gamma.data);
    free(x.data);
    gd_model_free(m);
}

/* ------------------------------------------------------------------- network */

/* conv-bn2d-tanh-avgpool-flatten-linear in training mode. (A max pool stays out of the
 * chain: behind a conv its winners are not under the test's control, and in front of one
 * the distinct grid's spread makes the input gradients small against float32 noise.) */
Test(conv_gradcheck, small_cnn)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_conv2d(m, 2, 3, 3, 3, 1, 1, 1, 1, true), GD_OK);
    cr_assert_eq(gd_model_add_batchnorm2d(m, 3, 1e-5, 0.1), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_TANH), GD_OK);
    cr_assert_eq(gd_model_add_avgpool2d(m, 2, 0, 0), GD_OK);
    cr_assert_eq(gd_model_add_flatten(m), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 3 * 2 * 2, 2, true), GD_OK);
    gd_tensor x = random_tensor(26, -2, 2, 4, (int64_t[]){2, 2, 4, 4});
    build_and_check(m, &x);
    free(x.data);
    gd_model_free(m);
}
