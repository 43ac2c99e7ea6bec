/* Residual blocks whose block changes the shape: y = block(x) + proj(x), proj a bias-free
 * 1x1 convolution with the block's stride (C x H x W samples) or a bias-free linear map
 * (flat samples), named "<residual>.proj" after the block's tensors, as a PyTorch
 * nn.Sequential subclass with a `proj` attribute names it (tests/reference/gen_residual.py
 * -> residual.json). A block that keeps the shape adds its input, as before.
 *
 * Golden tolerance. The goldens are float64 computations on float32 values, so the
 * difference is gradus's float32 rounding alone. Each output or gradient is a sum of at
 * most K = 108 products (the first convolution's weight gradient: 3 samples x 36
 * positions), summed in an order of OpenBLAS's choosing: at most K u sum|terms| (u = 6e-8),
 * 6.5e-6 of the terms' size, and typically sqrt(K) u, under 1e-6; batch norm divides by a
 * standard deviation of 27 values, which adds a few u. Elements that nearly cancel carry
 * the terms' absolute error, so the floor is ATOL_OF_SCALE = 1e-5 of the tensor's largest
 * value, with RTOL = 1e-5 beyond it. A missing shortcut, a projection with the wrong
 * stride or its gradient left out of dL/dx moves values by the size of the shortcut's
 * share, ~1e-1 of the scale, ten thousand times the tolerance.
 *
 * Gradient checks use tests/gradcheck.h (GRADCHECK_TOL, justified there); their blocks use
 * tanh rather than ReLU, so that no input sits within the step of a kink. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "gradcheck.h"
#include "scratch.h"

TestSuite(residual, .init = scratch_make, .fini = scratch_remove);

#define RTOL 1e-5
#define ATOL_OF_SCALE 1e-5

static const char *GOLDEN = "residual.json";

static gd_model *new_model(void)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    return m;
}

static void add_conv(gd_model *m, int64_t in, int64_t out, int kernel, int stride, int pad,
                     bool bias)
{
    cr_assert_eq(gd_model_add_conv2d(m, in, out, kernel, kernel, stride, pad, 1, 1, bias), GD_OK,
                 "%s", gd_model_error(m));
}

static void build(gd_model *m, int ndim, const int64_t *dims, int64_t max_batch)
{
    cr_assert_eq(gd_model_build(m, ndim, dims, max_batch), GD_OK, "%s", gd_model_error(m));
}

/* ------------------------------------------------------------------ models */

/* conv(4, 3, pad=1) relu residual(conv(8, 3, stride=2, pad=1, bias=false) bn relu
 * conv(8, 3, pad=1)) on 4 x 6 x 6: the block maps 4x6x6 to 8x3x3, so "2.proj" is a 1x1
 * convolution 4 -> 8 with stride 2. */
static gd_model *conv_projection_model(void)
{
    gd_model *m = new_model();
    add_conv(m, 4, 4, 3, 1, 1, true);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_RELU), GD_OK);
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    add_conv(m, 4, 8, 3, 2, 1, false);
    cr_assert_eq(gd_model_add_batchnorm2d(m, 8, 1e-5, 0.1), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_RELU), GD_OK);
    add_conv(m, 8, 8, 3, 1, 1, true);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    return m;
}

/* residual(linear(6) relu linear(5)) on 4 features: "0.proj" is Linear(4, 5), no bias. */
static gd_model *linear_projection_model(void)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 4, 6, true), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_RELU), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 6, 5, true), GD_OK);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    return m;
}

/* ----------------------------------------------------------------- goldens */


/* The model's tensor names, in order, are PyTorch's state_dict keys; every float tensor is
 * then given PyTorch's value. */
static void load_state(gd_model *m, const cJSON *c)
{
    const cJSON *names = golden_field(c, "names"), *values = golden_field(c, "params");
    cr_assert_eq(gd_model_tensor_count(m), (size_t)cJSON_GetArraySize(names));
    size_t i = 0;
    const cJSON *name;
    cJSON_ArrayForEach(name, names)
    {
        const gd_named_tensor *t = gd_model_tensor_at(m, i++);
        cr_assert_str_eq(t->name, name->valuestring);
        if (t->dtype == GD_DTYPE_F32) {
            expect_golden_shape(&t->value, values, t->name);
            golden_copy(values, t->name, t->value.data, gd_tensor_numel(&t->value));
        }
    }
}

/* Builds m (layers added) for case `name`'s samples, max_batch 3 above the case's batch (a
 * layer that used max_batch for the batch would show), runs one training forward and
 * backward and compares output, input gradient and every parameter gradient. */
static void expect_case(gd_model *m, const char *name)
{
    cJSON *root = golden_load(GOLDEN);
    const cJSON *c = golden_case(root, name);
    gd_tensor x = golden_tensor(c, "x");
    build(m, x.ndim - 1, x.dims + 1, x.dims[0] + 3);
    load_state(m, c);
    expect_step_as_golden(m, c, &x, RTOL, ATOL_OF_SCALE, NULL);
    free(x.data);
    cJSON_Delete(root);
}

Test(residual, conv_block_with_strided_projection_matches_pytorch)
{
    gd_model *m = conv_projection_model();
    expect_case(m, "conv_projection");
    gd_model_free(m);
}

Test(residual, flat_block_with_linear_projection_matches_pytorch)
{
    gd_model *m = linear_projection_model();
    expect_case(m, "linear_projection");
    gd_model_free(m);
}

/* Names and values: the golden's state_dict has the block's two tensors and no proj. */
Test(residual, block_that_keeps_the_shape_adds_its_input_without_projection)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    add_conv(m, 4, 4, 3, 1, 1, true);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_TANH), GD_OK);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    expect_case(m, "identity");
    gd_layer_info info;
    cr_expect_eq(gd_model_layer(m, "0.proj", &info), GD_ERR_NOT_FOUND);
    cr_expect_eq(gd_model_layer_count(m), 3);
    gd_model_free(m);
}

/* ------------------------------------------------------------------ layers */

Test(residual, projection_is_listed_after_its_block_as_a_layer_named_proj)
{
    gd_model *m = conv_projection_model();
    build(m, 3, (int64_t[]){4, 6, 6}, 2);
    const char *want[] = {"0", "1", "2", "2.0", "2.1", "2.2", "2.3", "2.proj"};
    cr_assert_eq(gd_model_layer_count(m), 8);
    gd_layer_info info;
    for (size_t i = 0; i < 8; i++) {
        cr_assert_eq(gd_model_layer_at(m, i, &info), GD_OK);
        cr_expect_str_eq(info.name, want[i]);
    }
    cr_expect_str_eq(info.kind, "conv2d");
    cr_expect_eq(info.input.ndim, 4);
    cr_expect_arr_eq(info.input.dims + 1, ((int64_t[]){4, 6, 6}), 3 * sizeof(int64_t));
    cr_expect_arr_eq(info.output.dims + 1, ((int64_t[]){8, 3, 3}), 3 * sizeof(int64_t));
    const gd_tensor *w = gd_model_param(m, "2.proj.weight");
    cr_assert_not_null(w);
    cr_expect_arr_eq(w->dims, ((int64_t[]){8, 4, 1, 1}), 4 * sizeof(int64_t));
    cr_expect_null(gd_model_param(m, "2.proj.bias"), "the shortcut has no bias");
    gd_model_free(m);
}

/* The block's parameters draw first, then the projection's, each as PyTorch initialises
 * its layer: the same layers in a plain chain, with a bias-free 1x1 convolution of the
 * projection's shape last, draw the same values from the same seed. */
Test(residual, projection_is_initialised_after_the_block_from_the_model_generator)
{
    gd_model *res = new_model(), *chain = new_model();
    cr_assert_eq(gd_model_begin_residual(res), GD_OK);
    add_conv(res, 4, 4, 3, 2, 1, true);
    cr_assert_eq(gd_model_end_residual(res), GD_OK);
    build(res, 3, (int64_t[]){4, 6, 6}, 2);
    add_conv(chain, 4, 4, 3, 2, 1, true);
    add_conv(chain, 4, 4, 1, 1, 0, false);
    build(chain, 3, (int64_t[]){4, 6, 6}, 2);
    const char *pairs[][2] = {{"0.0.weight", "0.weight"}, {"0.0.bias", "0.bias"},
                              {"0.proj.weight", "1.weight"}};
    for (int i = 0; i < 3; i++) {
        const gd_tensor *a = gd_model_param(res, pairs[i][0]);
        const gd_tensor *b = gd_model_param(chain, pairs[i][1]);
        cr_assert(a && b && gd_tensor_numel(a) == gd_tensor_numel(b), "%s", pairs[i][0]);
        cr_expect(memcmp(a->data, b->data, (size_t)gd_tensor_numel(a) * sizeof(float)) == 0,
                  "%s differs from %s", pairs[i][0], pairs[i][1]);
    }
    gd_model_free(res);
    gd_model_free(chain);
}

/* dL/dW of the projection and the block come from dL/dy alone: skipping the input gradient
 * (the residual being the first layer) changes no bit of them. */
Test(residual, parameter_gradients_do_not_need_the_input_gradient)
{
    gd_tensor x = random_tensor(4, -2, 2, 4, (int64_t[]){3, 4, 6, 6});
    float *grads[2];
    int64_t np = 0;
    for (int with = 0; with < 2; with++) {
        gd_model *m = new_model();
        cr_assert_eq(gd_model_begin_residual(m), GD_OK);
        add_conv(m, 4, 8, 3, 2, 1, true);
        cr_assert_eq(gd_model_end_residual(m), GD_OK);
        build(m, 3, (int64_t[]){4, 6, 6}, 3);
        gd_model_set_input_grad(m, with);
        cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
        gd_tensor *dy = gd_model_output_grad(m);
        for (int64_t i = 0; i < gd_tensor_numel(dy); i++)
            dy->data[i] = (float)((i % 7) - 3) * 0.25f;
        cr_assert_eq(gd_model_backward(m), GD_OK, "%s", gd_model_error(m));
        gd_tensor g = gd_model_gradients_flat(m);
        np = g.dims[0];
        grads[with] = malloc((size_t)np * sizeof(float));
        memcpy(grads[with], g.data, (size_t)np * sizeof(float));
        gd_model_free(m);
    }
    cr_expect(memcmp(grads[0], grads[1], (size_t)np * sizeof(float)) == 0);
    free(grads[0]);
    free(grads[1]);
    free(x.data);
}

/* ---------------------------------------------------------- gradient checks */

/* 3 x 7 x 7 -> 6 x 4 x 4: odd planes, so the projection's stride 2 must round up as the
 * block's padded 3x3 convolution does. */
Test(residual, gradients_through_a_strided_convolution_projection_match_differences)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    add_conv(m, 3, 6, 3, 2, 1, false);
    cr_assert_eq(gd_model_add_batchnorm2d(m, 6, 1e-5, 0.1), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_TANH), GD_OK);
    add_conv(m, 6, 6, 3, 1, 1, true);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    build(m, 3, (int64_t[]){3, 7, 7}, 2);
    gd_tensor x = random_tensor(17, -2, 2, 4, (int64_t[]){2, 3, 7, 7});
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

Test(residual, gradients_through_a_linear_projection_match_differences)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_linear(m, 3, 4, true), GD_OK);
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 4, 6, true), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_TANH), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 6, 5, true), GD_OK);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    build(m, 1, (int64_t[]){3}, 4);
    gd_tensor x = random_tensor(19, -2, 2, 2, (int64_t[]){4, 3});
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

/* ------------------------------------------------------------------- errors */

/* A build that fails with status want and a message containing every phrase. */
static void expect_build_error(gd_model *m, const int64_t *dims, const char *const *phrases,
                               int nphrases)
{
    cr_assert_eq(gd_model_build(m, 3, dims, 2), GD_ERR_SHAPE, "message: %s", gd_model_error(m));
    for (int i = 0; i < nphrases; i++)
        cr_expect(strstr(gd_model_error(m), phrases[i]), "\"%s\" is not in: %s", phrases[i],
                  gd_model_error(m));
}

/* 6x6 -> 4x4: stride 1 keeps 6, stride 2 gives 3; no 1x1 convolution matches. */
Test(residual, block_whose_planes_no_stride_maps_is_a_shape_error)
{
    gd_model *m = new_model();
    add_conv(m, 4, 4, 1, 1, 0, true);
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    add_conv(m, 4, 4, 3, 1, 0, true);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    expect_build_error(m, (int64_t[]){4, 6, 6},
                       (const char *[]){"residual 1", "4x6x6", "4x4x4"}, 3);
    gd_model_free(m);
}

/* 6 x 12 -> 4 x 4 (a 3 x 9 kernel): height would need stride 2, width stride 3. */
Test(residual, planes_needing_different_strides_are_a_shape_error)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    cr_assert_eq(gd_model_add_conv2d(m, 2, 2, 3, 9, 1, 0, 1, 1, true), GD_OK);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    expect_build_error(m, (int64_t[]){2, 6, 12},
                       (const char *[]){"residual 0", "2x6x12", "2x4x4"}, 3);
    gd_model_free(m);
}

Test(residual, block_that_flattens_its_input_is_a_shape_error)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    cr_assert_eq(gd_model_add_flatten(m), GD_OK);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    expect_build_error(m, (int64_t[]){2, 3, 3}, (const char *[]){"residual 0", "2x3x3", "18"}, 3);
    gd_model_free(m);
}

/* The first build makes a projection for 4 x 8 x 8 and then fails on the layer after the
 * block; the retry on 4 x 6 x 6 replaces it (LeakSanitizer sees the first one freed). */
Test(residual, build_retried_with_another_input_shape_fits_the_projection_again)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_begin_residual(m), GD_OK);
    add_conv(m, 4, 8, 3, 2, 1, true);
    cr_assert_eq(gd_model_end_residual(m), GD_OK);
    cr_assert_eq(gd_model_add_flatten(m), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 8 * 3 * 3, 2, true), GD_OK);
    cr_assert_eq(gd_model_build(m, 3, (int64_t[]){4, 8, 8}, 2), GD_ERR_SHAPE);
    build(m, 3, (int64_t[]){4, 6, 6}, 2);
    cr_expect_eq(gd_model_tensor_count(m), 5, "0.0.weight, 0.0.bias, 0.proj.weight, 2.*");
    cr_expect_str_eq(gd_model_tensor_at(m, 2)->name, "0.proj.weight");
    gd_layer_info proj;
    cr_assert_eq(gd_model_layer(m, "0.proj", &proj), GD_OK);
    cr_expect_arr_eq(proj.input.dims + 1, ((int64_t[]){4, 6, 6}), 3 * sizeof(int64_t));
    gd_model_free(m);
}

/* -------------------------------------------------------------------- spec */

Test(residual, spec_gives_a_strided_block_its_projection)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, "residual(conv(16, 3, stride=2, pad=1) bn relu)", 1, 3,
                                    (int64_t[]){3, 8, 8}, 2, &err),
                 GD_OK, "%s", err.message);
    const gd_tensor *w = gd_model_param(m, "0.proj.weight");
    cr_assert_not_null(w);
    cr_expect_arr_eq(w->dims, ((int64_t[]){16, 3, 1, 1}), 4 * sizeof(int64_t));
    int64_t out[GD_MAX_DIMS];
    cr_assert_eq(gd_model_output_shape(m, out), 3);
    cr_expect_arr_eq(out, ((int64_t[]){16, 4, 4}), 3 * sizeof(int64_t));
    gd_model_free(m);
}

Test(residual, spec_blames_the_closing_parenthesis_for_shapes_no_projection_joins)
{
    gd_model *m = NULL;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, "residual(conv(4, 3))", 1, 3, (int64_t[]){1, 6, 6}, 2,
                                    &err),
                 GD_ERR_SHAPE, "%s", err.message);
    cr_expect_null(m);
    cr_expect(strstr(err.message, "spec 1:20: residual 0: the block maps 1x6x6 to 4x4x4"),
              "message: %s", err.message);
}

/* --------------------------------------------------------------- model files */

static cJSON *tensor_json(const gd_tensor *t)
{
    cJSON *j = cJSON_CreateObject(), *shape = cJSON_AddArrayToObject(j, "shape"),
          *data = cJSON_AddArrayToObject(j, "data");
    for (int i = 0; i < t->ndim; i++)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->dims[i]));
    for (int64_t i = 0; i < gd_tensor_numel(t); i++)
        cJSON_AddItemToArray(data, cJSON_CreateNumber(t->data[i]));
    return j;
}

/* With GRADUS_KEEP_MODEL=FOLDER, leaves the file and an input batch with gradus's eval
 * output there for tests/reference/check_gradus_model.py (as tests/test_safetensors.c). */
static void keep_for_pytorch(const char *name, const char *path, const gd_tensor *x,
                             const gd_tensor *y)
{
    const char *folder = getenv("GRADUS_KEEP_MODEL");
    if (!folder)
        return;
    char to[512];
    size_t len;
    unsigned char *bytes = scratch_read(path, &len);
    snprintf(to, sizeof to, "%s/%s.safetensors", folder, name);
    scratch_write(to, bytes, len);
    free(bytes);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "input", tensor_json(x));
    cJSON_AddItemToObject(root, "output", tensor_json(y));
    char *text = cJSON_Print(root);
    snprintf(to, sizeof to, "%s/%s.json", folder, name);
    scratch_write(to, text, strlen(text));
    free(text);
    cJSON_Delete(root);
}

/* A loaded model rebuilds its projections from the spec and takes their weights from the
 * file: the eval outputs agree bit for bit. One training forward first moves the batch
 * norms' running statistics away from their initial values. */
Test(residual, model_with_projections_saves_and_loads_exactly)
{
    const char *spec = "conv(8, 3, pad=1) bn relu "
                       "residual(conv(16, 3, stride=2, pad=1) bn relu conv(16, 3, pad=1)) "
                       "gap flatten residual(linear(12) relu linear(6)) linear(3)";
    const int64_t dims[] = {3, 9, 9};
    gd_model *m, *back;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, spec, 5, 3, dims, 4, &err), GD_OK, "%s", err.message);
    gd_tensor x = random_tensor(23, -2, 2, 4, (int64_t[]){4, 3, 9, 9});
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    const char *path = scratch_path("proj.safetensors");
    cr_assert_eq(gd_model_save(m, NULL, path, &err), GD_OK, "%s", err.message);
    cr_assert_eq(gd_model_load(&back, NULL, path, 4, &err), GD_OK, "%s", err.message);
    cr_assert_not_null(gd_model_param(back, "3.proj.weight"));
    cr_assert_not_null(gd_model_param(back, "6.proj.weight"));

    gd_model_set_training(m, false);
    gd_model_set_training(back, false);
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    cr_assert_eq(gd_model_forward(back, &x), GD_OK, "%s", gd_model_error(back));
    const gd_tensor *y = gd_model_output(m), *y_back = gd_model_output(back);
    cr_assert_eq(gd_tensor_numel(y), 4 * 3);
    cr_expect(memcmp(y->data, y_back->data, 12 * sizeof(float)) == 0, "eval outputs differ");
    keep_for_pytorch("residual_proj", path, &x, y);
    free(x.data);
    gd_model_free(m);
    gd_model_free(back);
}
