/* Convolution, pooling and flatten against PyTorch (tests/reference/gen_conv.py ->
 * conv.json): one training forward and backward per case through the public API. Each case
 * loads PyTorch's parameters by state_dict name, runs x forward, writes PyTorch's upstream
 * gradient dy into gd_model_output_grad, runs backward and compares the output, the input
 * gradient and every parameter gradient. Models are built for a larger batch than the
 * case's, so that a layer which used max_batch where it meant the batch would show.
 *
 * Tolerance. The goldens are float64 computations on float32 values, so the difference is
 * gradus's float32 rounding alone. Each output or gradient is a sum of up to K products
 * (K = 27 for an output, 3 x 36 = 108 positions for a weight gradient) summed in an order
 * of OpenBLAS's choosing: the error is at most K u sum|terms| (u = 6e-8), 6.5e-6 of the
 * terms' size for K = 108, and typically sqrt(K) u, under 1e-6. An element much smaller
 * than its terms (a sum that nearly cancels) carries the terms' absolute error, so the
 * absolute floor is ATOL_OF_SCALE = 1e-5 of the tensor's largest value and elements are
 * held to RTOL = 1e-5 beyond it. A wrong tap, a missing
 * padding zero or a gradient sent to the wrong window moves values by ~1e-2 of the scale
 * or more, a thousand times the tolerance. Measured: errors at most 1.4e-7 of the scale on
 * the single layers and 1.9e-7 on the network (whose batch norm divides by a batch
 * standard deviation), at most 6.7e-7 relative on elements above a tenth of the scale;
 * pooling is exact or within an ulp. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "gradcheck.h"

#define RTOL 1e-5
#define ATOL_OF_SCALE 1e-5

static const char *GOLDEN = "conv.json";

static void expect_golden(const float *got, const cJSON *obj, const char *key)
{
    expect_close_golden_scaled(got, obj, key, RTOL, ATOL_OF_SCALE);
}


static gd_model *new_model(void)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    return m;
}

/* Builds m for the samples of golden tensor x (C x H x W), max_batch 3 above the case's. */
static void build_for(gd_model *m, const gd_tensor *x)
{
    cr_assert_eq(gd_model_build(m, x->ndim - 1, x->dims + 1, x->dims[0] + 3), GD_OK, "%s",
                 gd_model_error(m));
}

/* The model's state_dict names, in order, are PyTorch's; every float tensor of `key` is
 * copied into gradus's tensor of that name. */
static void load_state(gd_model *m, const cJSON *c, const char *key)
{
    const cJSON *names = golden_field(c, "names"), *values = golden_field(c, key);
    cr_assert_eq(gd_model_tensor_count(m), (size_t)cJSON_GetArraySize(names));
    size_t i = 0;
    const cJSON *name;
    cJSON_ArrayForEach(name, names)
    {
        const gd_named_tensor *t = gd_model_tensor_at(m, i++);
        cr_expect_str_eq(t->name, name->valuestring);
        if (t->dtype == GD_DTYPE_F32)
            golden_copy(values, t->name, t->value.data, gd_tensor_numel(&t->value));
    }
}

/* Runs case `name` through m (layers added, not built) and compares output and gradients,
 * all but the gradient named skip (NULL: none). */
static void expect_case_but(gd_model *m, const char *name, const char *skip)
{
    cJSON *root = golden_load(GOLDEN);
    const cJSON *c = golden_case(root, name);
    gd_tensor x = golden_tensor(c, "x");
    build_for(m, &x);
    load_state(m, c, "params");
    expect_step_as_golden(m, c, &x, RTOL, ATOL_OF_SCALE, skip);
    free(x.data);
    cJSON_Delete(root);
}

static void expect_case(gd_model *m, const char *name) { expect_case_but(m, name, NULL); }

typedef struct conv_args {
    int64_t in, out;
    int kh, kw, stride, padding, dilation, groups;
    bool bias;
} conv_args;

static gd_status add_conv(gd_model *m, conv_args a)
{
    return gd_model_add_conv2d(m, a.in, a.out, a.kh, a.kw, a.stride, a.padding, a.dilation,
                               a.groups, a.bias);
}

static void expect_conv_case(const char *name, conv_args a)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, a), GD_OK, "%s", gd_model_error(m));
    expect_case(m, name);
    gd_model_free(m);
}

/* ------------------------------------------------------------- convolution */

Test(conv, conv2d_stride1_padding1_matches_pytorch)
{
    expect_conv_case("conv_s1_p1", (conv_args){3, 4, 3, 3, 1, 1, 1, 1, true});
}

Test(conv, conv2d_stride2_rectangular_kernel_matches_pytorch)
{
    expect_conv_case("conv_s2_p0", (conv_args){2, 3, 3, 2, 2, 0, 1, 1, true});
}

Test(conv, conv2d_dilation2_matches_pytorch)
{
    expect_conv_case("conv_dilation2", (conv_args){2, 3, 3, 3, 1, 2, 2, 1, true});
}

Test(conv, conv2d_groups2_matches_pytorch)
{
    expect_conv_case("conv_groups2", (conv_args){4, 6, 3, 3, 1, 1, 1, 2, true});
}

Test(conv, conv2d_1x1_matches_pytorch)
{
    expect_conv_case("conv_1x1", (conv_args){3, 5, 1, 1, 1, 0, 1, 1, true});
}

Test(conv, conv2d_1x1_with_groups_and_no_bias_matches_pytorch)
{
    expect_conv_case("conv_1x1_groups3_nobias", (conv_args){6, 3, 1, 1, 1, 0, 1, 3, false});
}

Test(conv, conv2d_stride_padding_dilation_and_groups_together_match_pytorch)
{
    expect_conv_case("conv_s3_p2_d2_g3_nobias", (conv_args){3, 6, 3, 2, 3, 2, 2, 3, false});
}

/* Stride 1 with an output narrower than the input copies patches row by row (a same-width
 * output takes one contiguous run instead): both directions of that copy. */
Test(conv, conv2d_stride1_without_padding_matches_pytorch)
{
    expect_conv_case("conv_s1_valid", (conv_args){2, 3, 3, 3, 1, 0, 1, 1, true});
}

Test(conv, conv2d_stride1_kernel_wider_than_its_padding_matches_pytorch)
{
    expect_conv_case("conv_s1_p1_wide_kernel", (conv_args){2, 3, 3, 5, 1, 1, 1, 1, true});
}

/* ----------------------------------------------------------------- pooling */

static void expect_pool_case(const char *name, gd_status (*add)(gd_model *, int, int, int),
                             int kernel, int stride, int padding)
{
    gd_model *m = new_model();
    cr_assert_eq(add(m, kernel, stride, padding), GD_OK, "%s", gd_model_error(m));
    expect_case(m, name);
    gd_model_free(m);
}

Test(conv, maxpool2_with_default_stride_matches_pytorch)
{
    expect_pool_case("maxpool2", gd_model_add_maxpool2d, 2, 0, 0);
}

/* Every input is negative, so a padding that counted as 0 would win some windows. */
Test(conv, maxpool3_stride2_padding1_pads_with_minus_infinity)
{
    expect_pool_case("maxpool3_s2_p1", gd_model_add_maxpool2d, 3, 2, 1);
}

/* Inputs 0..3 tie within most windows; PyTorch sends the gradient to the first maximum in
 * row-major window order, and so must gradus. */
Test(conv, maxpool_gradient_goes_to_the_first_of_tied_maxima)
{
    expect_pool_case("maxpool2_ties", gd_model_add_maxpool2d, 2, 0, 0);
}

Test(conv, avgpool2_matches_pytorch)
{
    expect_pool_case("avgpool2", gd_model_add_avgpool2d, 2, 0, 0);
}

/* Border windows hold padding zeros, which count in the divisor (count_include_pad). */
Test(conv, avgpool3_stride2_padding1_counts_padding)
{
    expect_pool_case("avgpool3_s2_p1", gd_model_add_avgpool2d, 3, 2, 1);
}

Test(conv, global_avgpool_matches_pytorch)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_global_avgpool(m), GD_OK);
    expect_case(m, "global_avgpool");
    gd_model_free(m);
}

/* ----------------------------------------------------------------- network */

static gd_model *small_cnn(void)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, (conv_args){2, 4, 3, 3, 1, 1, 1, 1, true}), GD_OK);
    cr_assert_eq(gd_model_add_batchnorm2d(m, 4, 1e-5, 0.1), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_RELU), GD_OK);
    cr_assert_eq(gd_model_add_maxpool2d(m, 2, 0, 0), GD_OK);
    cr_assert_eq(gd_model_add_flatten(m), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 36, 5, true), GD_OK);
    return m;
}

/* conv-bn-relu-maxpool-flatten-linear: PyTorch's state_dict names in order (checked by
 * load_state), one training step's output and gradients, then the running statistics.
 * The conv's bias gradient is exactly 0 (batch norm subtracts each channel's mean, which
 * the bias only shifts), so it has no scale of its own: it is the sum of the conv's output
 * gradient dY over a channel, whose float32 rounding is at most K u sum|dY| (K = 3 x 36 =
 * 108 terms, u = 6e-8: 6.5e-6 sum|dY|); the test allows ATOL_OF_SCALE sum|dY|. */
Test(conv, small_cnn_training_step_matches_pytorch)
{
    gd_model *m = small_cnn();
    expect_case_but(m, "cnn", "0.bias");
    gd_layer_info conv;
    cr_assert_eq(gd_model_layer(m, "0", &conv), GD_OK);
    const float *db = gd_model_grad(m, "0.bias")->data, *dy = conv.output_grad.data;
    for (int64_t ch = 0; ch < 4; ch++) {
        double sum_abs = 0;
        for (int64_t i = 0; i < 3; i++)
            for (int64_t p = 0; p < 36; p++)
                sum_abs += fabs(dy[(i * 4 + ch) * 36 + p]);
        cr_expect(fabs(db[ch]) <= ATOL_OF_SCALE * sum_abs, "0.bias[%lld] = %g, sum|dY| = %g",
                  (long long)ch, (double)db[ch], sum_abs);
    }
    cJSON *root = golden_load(GOLDEN);
    const cJSON *c = golden_case(root, "cnn"), *after = golden_field(c, "params_after");
    expect_golden(gd_model_param(m, "1.running_mean")->data, after, "1.running_mean");
    expect_golden(gd_model_param(m, "1.running_var")->data, after, "1.running_var");
    cr_expect_eq(*gd_model_tensor(m, "1.num_batches_tracked")->i64,
                 (int64_t)golden_number(c, "num_batches_tracked"));
    gd_model_free(m);
    cJSON_Delete(root);
}

Test(conv, layers_report_their_kinds_and_output_shapes)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, (conv_args){1, 2, 3, 3, 1, 1, 1, 1, true}), GD_OK);
    cr_assert_eq(gd_model_add_batchnorm2d(m, 2, 1e-5, 0.1), GD_OK);
    cr_assert_eq(gd_model_add_maxpool2d(m, 2, 0, 0), GD_OK);
    cr_assert_eq(gd_model_add_avgpool2d(m, 2, 0, 0), GD_OK);
    cr_assert_eq(gd_model_add_global_avgpool(m), GD_OK);
    cr_assert_eq(gd_model_add_flatten(m), GD_OK);
    cr_assert_eq(gd_model_build(m, 3, (int64_t[]){1, 8, 8}, 4), GD_OK, "%s", gd_model_error(m));
    gd_tensor x = random_tensor(1, -1, 1, 4, (int64_t[]){2, 1, 8, 8});
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    static const char *kinds[] = {"conv2d", "batchnorm2d", "maxpool2d", "avgpool2d",
                                  "global_avgpool", "flatten"};
    static const int64_t shapes[][4] = {{2, 2, 8, 8}, {2, 2, 8, 8}, {2, 2, 4, 4},
                                        {2, 2, 2, 2}, {2, 2, 1, 1}, {2, 2}};
    for (size_t i = 0; i < 6; i++) {
        gd_layer_info info;
        cr_assert_eq(gd_model_layer_at(m, i, &info), GD_OK);
        cr_expect_str_eq(info.kind, kinds[i]);
        cr_expect_eq(info.output.ndim, i < 5 ? 4 : 2, "layer %zu", i);
        for (int d = 0; d < info.output.ndim; d++)
            cr_expect_eq(info.output.dims[d], shapes[i][d], "layer %zu dim %d", i, d);
    }
    free(x.data);
    gd_model_free(m);
}

/* ----------------------------------------------------------- initialisation */

/* kaiming_uniform_(a = sqrt 5) gives bound 1/sqrt(fan_in) for the weight, as the bias's;
 * fan_in = in/groups kh kw = 4/2 * 3 * 2 = 12. With 6 * 2 * 3 * 2 = 72 draws, the largest
 * lies within 5% of the bound with probability 1 - 0.95^72 > 0.97 for one seed; the test
 * uses a fixed seed, so it is deterministic. A fan_in that ignored groups (24) would bound
 * the draws by 0.204 < 0.95 / sqrt(12) = 0.274. */
Test(conv, default_initialisation_is_bounded_by_fan_in)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, (conv_args){4, 6, 3, 2, 1, 0, 1, 2, true}), GD_OK);
    cr_assert_eq(gd_model_build(m, 3, (int64_t[]){4, 5, 5}, 1), GD_OK, "%s", gd_model_error(m));
    const gd_tensor *w = gd_model_param(m, "0.weight"), *b = gd_model_param(m, "0.bias");
    cr_assert_eq(w->ndim, 4);
    int64_t dims[4] = {6, 2, 3, 2};
    for (int i = 0; i < 4; i++)
        cr_expect_eq(w->dims[i], dims[i], "weight dim %d", i);
    cr_assert_eq(gd_tensor_numel(b), 6);
    double bound = 1 / sqrt(12.0), top = 0;
    for (int64_t i = 0; i < gd_tensor_numel(w); i++) {
        cr_expect(fabs(w->data[i]) <= bound, "weight %lld = %g", (long long)i, (double)w->data[i]);
        top = fmax(top, fabs(w->data[i]));
    }
    cr_expect(top > 0.95 * bound, "largest |weight| %g, bound %g", top, bound);
    for (int64_t i = 0; i < 6; i++)
        cr_expect(fabs(b->data[i]) <= bound, "bias %lld = %g", (long long)i, (double)b->data[i]);
    gd_model_free(m);
}

/* ------------------------------------------------------------- behaviours */

enum { N = 5, C = 3, H = 6, W = 5, OUT = 4 };

/* Conv2d(3, 4, 3, padding 1) with PyTorch's default initialisation, for N x 3 x 6 x 5. */
static gd_model *conv_model(bool input_grad)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, (conv_args){C, OUT, 3, 3, 1, 1, 1, 1, true}), GD_OK);
    cr_assert_eq(gd_model_build(m, 3, (int64_t[]){C, H, W}, N), GD_OK, "%s", gd_model_error(m));
    gd_model_set_input_grad(m, input_grad);
    return m;
}

/* The gradients of one backward: weight, bias and input. */
typedef struct conv_grads {
    float w[OUT * C * 9], b[OUT], x[N * C * H * W];
} conv_grads;

static void backward_into(gd_model *m, const gd_tensor *dy, conv_grads *g)
{
    memcpy(gd_model_output_grad(m)->data, dy->data, sizeof(float) * N * OUT * H * W);
    cr_assert_eq(gd_model_backward(m), GD_OK, "%s", gd_model_error(m));
    memcpy(g->w, gd_model_grad(m, "0.weight")->data, sizeof g->w);
    memcpy(g->b, gd_model_grad(m, "0.bias")->data, sizeof g->b);
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, "0", &info), GD_OK);
    if (info.input_grad.data)
        memcpy(g->x, info.input_grad.data, sizeof g->x);
}

/* Backward turns the patches forward kept into their gradient; a second backward of the same
 * forward must rebuild them and give the same gradients, bit for bit. */
Test(conv, a_second_backward_gives_the_same_gradients)
{
    gd_tensor x = random_tensor(1, -2, 2, 4, (int64_t[]){N, C, H, W});
    gd_tensor dy = random_tensor(2, -1, 1, 4, (int64_t[]){N, OUT, H, W});
    gd_model *m = conv_model(true);
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    static conv_grads first, second;
    backward_into(m, &dy, &first);
    backward_into(m, &dy, &second);
    cr_expect_arr_eq(first.w, second.w, sizeof first.w, "weight gradient");
    cr_expect_arr_eq(first.b, second.b, sizeof first.b, "bias gradient");
    cr_expect_arr_eq(first.x, second.x, sizeof first.x, "input gradient");
    gd_model_free(m);
    free(x.data);
    free(dy.data);
}

/* The first layer skips the input gradient (nobody needs it); its parameter gradients are the
 * same as when the input gradient is computed. */
Test(conv, parameter_gradients_do_not_need_the_input_gradient)
{
    gd_tensor x = random_tensor(3, -2, 2, 4, (int64_t[]){N, C, H, W});
    gd_tensor dy = random_tensor(4, -1, 1, 4, (int64_t[]){N, OUT, H, W});
    static conv_grads with, without;
    for (int k = 0; k < 2; k++) {
        gd_model *m = conv_model(k == 0);
        cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
        backward_into(m, &dy, k == 0 ? &with : &without);
        gd_layer_info info;
        cr_assert_eq(gd_model_layer(m, "0", &info), GD_OK);
        if (k == 1)
            cr_expect_null(info.input_grad.data);
        gd_model_free(m);
    }
    cr_expect_arr_eq(with.w, without.w, sizeof with.w, "weight gradient");
    cr_expect_arr_eq(with.b, without.b, sizeof with.b, "bias gradient");
    free(x.data);
    free(dy.data);
}

/* Runs conv(8 -> 16, 3x3, padding 1) and maxpool(3, 2, 1), avgpool(3, 1, 1) (pools_only:
 * the pools alone) on fixed data with `threads` threads and returns copies of the last
 * output, the input gradient and (conv only) the weight gradient. The shapes put every
 * OpenMP loop above GD_PARALLEL_MIN. */
enum { BN = 8, BC = 8, BO = 16, BH = 20 };

typedef struct run_result {
    float *y, *dx, *dw;
    size_t ny, nx, nw;
} run_result;

static run_result run_threads(int threads, bool pools_only)
{
    gd_set_num_threads(threads);
    int64_t c = pools_only ? BC : BO;
    gd_model *m = new_model();
    if (!pools_only)
        cr_assert_eq(add_conv(m, (conv_args){BC, BO, 3, 3, 1, 1, 1, 1, true}), GD_OK);
    cr_assert_eq(gd_model_add_maxpool2d(m, 3, 2, 1), GD_OK);
    cr_assert_eq(gd_model_add_avgpool2d(m, 3, 1, 1), GD_OK);
    cr_assert_eq(gd_model_build(m, 3, (int64_t[]){BC, BH, BH}, BN), GD_OK, "%s", gd_model_error(m));
    gd_model_set_input_grad(m, true);
    gd_tensor x = random_tensor(5, -2, 2, 4, (int64_t[]){BN, BC, BH, BH});
    gd_tensor dy = random_tensor(6, -1, 1, 4, (int64_t[]){BN, c, BH / 2, BH / 2});
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    run_result r = {.ny = (size_t)gd_tensor_numel(gd_model_output(m)), .nx = BN * BC * BH * BH,
                    .nw = pools_only ? 0 : BO * BC * 9};
    cr_assert_eq(r.ny, (size_t)gd_tensor_numel(&dy));
    memcpy(gd_model_output_grad(m)->data, dy.data, r.ny * sizeof(float));
    cr_assert_eq(gd_model_backward(m), GD_OK);
    gd_layer_info first;
    cr_assert_eq(gd_model_layer(m, "0", &first), GD_OK);
    r.y = malloc(r.ny * sizeof(float));
    r.dx = malloc(r.nx * sizeof(float));
    r.dw = malloc((r.nw + 1) * sizeof(float));
    memcpy(r.y, gd_model_output(m)->data, r.ny * sizeof(float));
    memcpy(r.dx, first.input_grad.data, r.nx * sizeof(float));
    if (r.nw)
        memcpy(r.dw, gd_model_grad(m, "0.weight")->data, r.nw * sizeof(float));
    gd_model_free(m);
    free(x.data);
    free(dy.data);
    return r;
}

static void expect_same_results(run_result a, run_result b)
{
    cr_expect_arr_eq(a.y, b.y, a.ny * sizeof(float), "output");
    cr_expect_arr_eq(a.dx, b.dx, a.nx * sizeof(float), "input gradient");
    cr_expect_arr_eq(a.dw, b.dw, a.nw * sizeof(float), "weight gradient");
    run_result both[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        free(both[k].y);
        free(both[k].dx);
        free(both[k].dw);
    }
}

/* Each pooled value and each input-gradient plane belongs to one thread, summed in a fixed
 * order: 1 and 2 threads agree bit for bit. */
Test(conv, pooling_does_not_depend_on_the_thread_count)
{
    expect_same_results(run_threads(1, true), run_threads(2, true));
}

/* im2col, col2im, the reorders and the bias sums give each element to one thread with a
 * fixed summation order, so two runs on 2 threads agree bit for bit (a race in col2im's
 * accumulation would lose updates at random). Across thread counts only the same-count
 * promise holds: OpenBLAS 0.3.21's sgemm rounds differently on 1 and 2 threads. */
Test(conv, conv2d_repeats_bit_for_bit_at_a_fixed_thread_count)
{
    expect_same_results(run_threads(2, false), run_threads(2, false));
}

/* -------------------------------------------------------------- error paths */

/* Builds a one-layer model for samples of dims and expects `status`, with the model's
 * message containing each of the strings in want (NULL-terminated). */
static void expect_build_error(gd_model *m, int ndim, const int64_t *dims, gd_status status,
                               const char *const *want)
{
    cr_expect_eq(gd_model_build(m, ndim, dims, 2), status, "%s", gd_model_error(m));
    for (; *want; want++)
        cr_expect(strstr(gd_model_error(m), *want), "message lacks '%s': %s", *want,
                  gd_model_error(m));
    gd_model_free(m);
}

Test(conv, kernel_larger_than_the_padded_input_is_a_shape_error)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, (conv_args){3, 4, 5, 5, 1, 0, 1, 1, true}), GD_OK);
    expect_build_error(m, 3, (int64_t[]){3, 4, 6}, GD_ERR_SHAPE,
                       (const char *[]){"conv2d 0", "5x5", "4x6", NULL});
}

/* Padding 1 makes room for a 5x5 kernel on 3x3 samples: 3 + 2 - 5 + 1 = 1 output. */
Test(conv, padding_can_make_room_for_the_kernel)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, (conv_args){1, 1, 5, 5, 1, 1, 1, 1, true}), GD_OK);
    cr_assert_eq(gd_model_build(m, 3, (int64_t[]){1, 3, 3}, 2), GD_OK, "%s", gd_model_error(m));
    float x[9] = {0};
    gd_tensor in = gd_tensor_view(x, 4, (int64_t[]){1, 1, 3, 3});
    cr_assert_eq(gd_model_forward(m, &in), GD_OK, "%s", gd_model_error(m));
    const gd_tensor *y = gd_model_output(m);
    cr_expect(y->ndim == 4 && y->dims[1] == 1 && y->dims[2] == 1 && y->dims[3] == 1,
              "output %lldx%lldx%lld", (long long)y->dims[1], (long long)y->dims[2],
              (long long)y->dims[3]);
    gd_model_free(m);
}

Test(conv, dilated_kernel_larger_than_the_input_is_a_shape_error)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, (conv_args){1, 1, 3, 3, 1, 0, 3, 1, true}), GD_OK);
    /* Span 3 (3 - 1) + 1 = 7 > 6. */
    expect_build_error(m, 3, (int64_t[]){1, 6, 8}, GD_ERR_SHAPE,
                       (const char *[]){"conv2d 0", "dilation 3", NULL});
}

Test(conv, groups_must_divide_both_channel_counts)
{
    static const conv_args bad[] = {{4, 6, 3, 3, 1, 1, 1, 3, true}, {6, 4, 3, 3, 1, 1, 1, 3, true}};
    for (size_t i = 0; i < 2; i++) {
        gd_model *m = new_model();
        cr_expect_eq(add_conv(m, bad[i]), GD_ERR_INVALID_ARGUMENT, "case %zu", i);
        cr_expect(strstr(gd_model_error(m), "conv2d") && strstr(gd_model_error(m), "groups 3"),
                  "case %zu: %s", i, gd_model_error(m));
        gd_model_free(m);
    }
}

Test(conv, conv2d_rejects_arguments_outside_their_domain)
{
    static const conv_args bad[] = {
        {0, 4, 3, 3, 1, 1, 1, 1, true}, {3, 0, 3, 3, 1, 1, 1, 1, true},
        {3, 4, 0, 3, 1, 1, 1, 1, true}, {3, 4, 3, 0, 1, 1, 1, 1, true},
        {3, 4, 3, 3, 0, 1, 1, 1, true}, {3, 4, 3, 3, 1, -1, 1, 1, true},
        {3, 4, 3, 3, 1, 1, 0, 1, true}, {3, 4, 3, 3, 1, 1, 1, 0, true}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gd_model *m = new_model();
        cr_expect_eq(add_conv(m, bad[i]), GD_ERR_INVALID_ARGUMENT, "case %zu", i);
        cr_expect(strstr(gd_model_error(m), "conv2d"), "case %zu: %s", i, gd_model_error(m));
        gd_model_free(m);
    }
}

Test(conv, in_channels_mismatch_is_a_shape_error)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, (conv_args){3, 4, 3, 3, 1, 1, 1, 1, true}), GD_OK);
    expect_build_error(m, 3, (int64_t[]){2, 8, 8}, GD_ERR_SHAPE,
                       (const char *[]){"conv2d 0", "2 channels", "expects 3", NULL});
}

Test(conv, flat_input_to_conv2d_is_a_shape_error)
{
    gd_model *m = new_model();
    cr_assert_eq(add_conv(m, (conv_args){3, 4, 3, 3, 1, 1, 1, 1, true}), GD_OK);
    expect_build_error(m, 1, (int64_t[]){27}, GD_ERR_SHAPE,
                       (const char *[]){"conv2d 0", "27", NULL});
}

/* The error names the layer by its place: here the conv after a pool, "1". */
Test(conv, a_later_conv2d_is_named_in_its_error)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_maxpool2d(m, 2, 0, 0), GD_OK);
    cr_assert_eq(add_conv(m, (conv_args){3, 4, 3, 3, 1, 0, 1, 1, true}), GD_OK);
    expect_build_error(m, 3, (int64_t[]){3, 4, 4}, GD_ERR_SHAPE,
                       (const char *[]){"conv2d 1", "2x2", NULL});
}

Test(conv, pool_window_larger_than_the_padded_input_is_a_shape_error)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_avgpool2d(m, 4, 0, 1), GD_OK);
    expect_build_error(m, 3, (int64_t[]){2, 1, 5}, GD_ERR_SHAPE,
                       (const char *[]){"avgpool2d 0", "1x5", NULL});
}

Test(conv, flat_input_to_a_pool_is_a_shape_error)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_maxpool2d(m, 2, 0, 0), GD_OK);
    expect_build_error(m, 1, (int64_t[]){16}, GD_ERR_SHAPE,
                       (const char *[]){"maxpool2d 0", "16", NULL});
}

/* PyTorch rejects padding above half the kernel: a window could then lie wholly in it. */
Test(conv, pools_reject_arguments_outside_their_domain)
{
    static const int bad[][3] = {{0, 0, 0}, {2, -1, 0}, {2, 0, -1}, {2, 0, 2}, {3, 1, 2}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gd_model *m = new_model();
        cr_expect_eq(gd_model_add_maxpool2d(m, bad[i][0], bad[i][1], bad[i][2]),
                     GD_ERR_INVALID_ARGUMENT, "maxpool case %zu", i);
        cr_expect(strstr(gd_model_error(m), "maxpool2d"), "case %zu: %s", i, gd_model_error(m));
        cr_expect_eq(gd_model_add_avgpool2d(m, bad[i][0], bad[i][1], bad[i][2]),
                     GD_ERR_INVALID_ARGUMENT, "avgpool case %zu", i);
        cr_expect(strstr(gd_model_error(m), "avgpool2d"), "case %zu: %s", i, gd_model_error(m));
        gd_model_free(m);
    }
}

/* Flatten keeps the row-major order: feature c H W + h W + w is input (c, h, w). */
Test(conv, flatten_keeps_row_major_order)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_flatten(m), GD_OK);
    cr_assert_eq(gd_model_build(m, 3, (int64_t[]){2, 3, 4}, 2), GD_OK, "%s", gd_model_error(m));
    float x[2 * 24];
    for (int i = 0; i < 48; i++)
        x[i] = (float)i;
    gd_tensor in = gd_tensor_view(x, 4, (int64_t[]){2, 2, 3, 4});
    cr_assert_eq(gd_model_forward(m, &in), GD_OK, "%s", gd_model_error(m));
    const gd_tensor *y = gd_model_output(m);
    cr_assert_eq(y->ndim, 2);
    cr_expect_eq(y->dims[0], 2);
    cr_expect_eq(y->dims[1], 24);
    cr_expect_arr_eq(y->data, x, sizeof x);
    gd_model_free(m);
}
