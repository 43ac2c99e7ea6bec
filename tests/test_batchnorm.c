/* BatchNorm1d/2d against PyTorch (tests/reference/gen_batchnorm.py -> batchnorm.json). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/layers/layer.h"
#include "../src/model/model.h"
#include "golden.h"
#include "gradcheck.h"

/* The goldens are float64 computations on float32 inputs, so the tolerance covers gradus's
 * float32 arithmetic alone. Its statistics are summed in double (within an ulp of the
 * truth); each output then takes about four float32 roundings, a relative error of a few
 * 1e-7 per term, hence RTOL 1e-5 with room to spare. An element that is the small difference
 * of larger terms (gamma xhat + beta near 0, dy - mean(dy) - xhat mean(dy xhat) near 0)
 * carries the terms' absolute rounding instead: ATOL is 1e-6 of the tensor's largest value.
 * Measured over every case: errors at most 1.2e-7 of that scale, and at most 6.2e-7
 * relative on elements above a tenth of it; eps outside the sqrt, a biased running
 * variance or a missing mean term in backward miss by orders of magnitude more. */
#define RTOL 1e-5
#define ATOL_OF_SCALE 1e-6

static void expect_golden(const float *got, const cJSON *obj, const char *key)
{
    expect_close_golden_scaled(got, obj, key, RTOL, ATOL_OF_SCALE);
}

/* A model of one BatchNorm1d for the case's input shape, with the case's gamma and beta. */
static gd_model *golden_model(const cJSON *c, const char *x_key)
{
    gd_tensor x = golden_tensor(c, x_key);
    free(x.data);
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    cr_assert_eq(gd_model_add_batchnorm1d(m, x.dims[1], golden_number(c, "eps"),
                                          golden_number(c, "momentum")),
                 GD_OK, "%s", gd_model_error(m));
    gd_model_set_input_grad(m, true);
    cr_assert_eq(gd_model_build(m, x.ndim - 1, x.dims + 1, x.dims[0]), GD_OK, "%s",
                 gd_model_error(m));
    golden_copy(c, "weight", gd_model_param(m, "0.weight")->data, x.dims[1]);
    golden_copy(c, "bias", gd_model_param(m, "0.bias")->data, x.dims[1]);
    return m;
}

static void forward_golden(gd_model *m, const cJSON *c, const char *x_key)
{
    gd_tensor x = golden_tensor(c, x_key);
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    free(x.data);
}

static void backward_golden(gd_model *m, const cJSON *c, const char *dy_key)
{
    gd_tensor *dy = gd_model_output_grad(m);
    golden_copy(c, dy_key, dy->data, gd_tensor_numel(dy));
    cr_assert_eq(gd_model_backward(m), GD_OK, "%s", gd_model_error(m));
}

static const float *input_grad(gd_model *m)
{
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, "0", &info), GD_OK);
    return info.input_grad.data;
}

static void expect_running_stats(gd_model *m, const cJSON *c)
{
    expect_golden(gd_model_param(m, "0.running_mean")->data, c, "running_mean");
    expect_golden(gd_model_param(m, "0.running_var")->data, c, "running_var");
    cr_expect_eq(*gd_model_tensor(m, "0.num_batches_tracked")->i64,
                 (int64_t)golden_number(c, "num_batches_tracked"));
}

/* Forward of the case's x<suffix> and backward of dy<suffix>, compared with y<suffix>,
 * dx<suffix>, dweight<suffix> and dbias<suffix>. */
static void expect_step(gd_model *m, const cJSON *c, const char *suffix)
{
    static const char *names[] = {"x", "y", "dy", "dx", "dweight", "dbias"};
    char key[6][32];
    for (int i = 0; i < 6; i++)
        snprintf(key[i], sizeof key[i], "%s%s", names[i], suffix);
    forward_golden(m, c, key[0]);
    expect_golden(gd_model_output(m)->data, c, key[1]);
    backward_golden(m, c, key[2]);
    expect_golden(input_grad(m), c, key[3]);
    expect_golden(gd_model_grad(m, "0.weight")->data, c, key[4]);
    expect_golden(gd_model_grad(m, "0.bias")->data, c, key[5]);
}

/* One training step of the case, then its running statistics. */
static void expect_training_step(const char *name)
{
    cJSON *root = golden_load("batchnorm.json");
    const cJSON *c = golden_case(root, name);
    gd_model *m = golden_model(c, "x");
    expect_step(m, c, "");
    expect_running_stats(m, c);
    gd_model_free(m);
    cJSON_Delete(root);
}

/* The same step with the statistics synchronised over a group of one rank (the path a
 * data-parallel job with --sync-bn takes: moments merged across ranks, sums gathered in
 * backward): it must meet the same goldens. The scratch is sized for 1024 channels. */
static void expect_synced_training_step(const char *name)
{
    cJSON *root = golden_load("batchnorm.json");
    const cJSON *c = golden_case(root, name);
    gd_model *m = golden_model(c, "x");
    gd_stat_sync sync = {.comm = gd_dist_world(),
                         .scratch = malloc(gd_stat_sync_scratch(1, 1024) * sizeof(double))};
    gd_model_set_stat_sync(m, &sync);
    expect_step(m, c, "");
    expect_running_stats(m, c);
    gd_model_free(m);
    free(sync.scratch);
    cJSON_Delete(root);
}

Test(batchnorm, synchronised_statistics_of_one_rank_match_pytorch)
{
    expect_synced_training_step("bn1d_train");
    expect_synced_training_step("bn1d_train_3d");
    expect_synced_training_step("bn1d_momentum_eps");
}

/* A model of one BatchNorm1d(features) with PyTorch's defaults, built for samples of dims;
 * asserts that the build returns `built`. */
static gd_model *default_model(int64_t features, int ndim, const int64_t *dims, int64_t max_batch,
                               gd_status built)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    cr_assert_eq(gd_model_add_batchnorm1d(m, features, 1e-5, 0.1), GD_OK, "%s", gd_model_error(m));
    cr_assert_eq(gd_model_build(m, ndim, dims, max_batch), built, "%s", gd_model_error(m));
    return m;
}

Test(batchnorm, declares_pytorch_state_dict_with_default_values)
{
    gd_model *m = default_model(3, 1, (int64_t[]){3}, 4, GD_OK);
    static const char *names[] = {"0.weight", "0.bias", "0.running_mean", "0.running_var",
                                  "0.num_batches_tracked"};
    static const float values[] = {1, 0, 0, 1};
    cr_assert_eq(gd_model_tensor_count(m), 5);
    for (size_t i = 0; i < 5; i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        cr_expect_str_eq(t->name, names[i]);
        cr_expect_eq(t->role, i < 2 ? GD_ROLE_PARAMETER : GD_ROLE_BUFFER, "%s", t->name);
        if (i == 4)
            break;
        cr_expect_eq(t->dtype, GD_DTYPE_F32);
        for (int64_t k = 0; k < 3; k++)
            cr_expect_eq(t->value.data[k], values[i], "%s[%lld]", t->name, (long long)k);
    }
    const gd_named_tensor *tracked = gd_model_tensor_at(m, 4);
    cr_expect_eq(tracked->dtype, GD_DTYPE_I64);
    cr_expect_null(tracked->value.data);
    cr_assert_not_null(tracked->i64);
    cr_expect_eq(*tracked->i64, 0);
    gd_model_free(m);
}

Test(batchnorm, training_step_matches_pytorch)
{
    expect_training_step("bn1d_train");
}

Test(batchnorm, training_step_with_length_dimension_matches_pytorch)
{
    expect_training_step("bn1d_train_3d");
}

/* Variances near eps = 1e-3: eps outside the sqrt, or momentum applied the other way round,
 * moves the outputs and the running statistics by far more than the tolerance. */
Test(batchnorm, eps_and_momentum_match_pytorch)
{
    expect_training_step("bn1d_momentum_eps");
}

Test(batchnorm, running_statistics_after_three_steps_match_pytorch)
{
    cJSON *root = golden_load("batchnorm.json");
    const cJSON *c = golden_case(root, "bn1d_running");
    gd_model *m = golden_model(c, "x0");
    static const char *xs[] = {"x0", "x1", "x2"}, *ys[] = {"y0", "y1", "y2"};
    for (int k = 0; k < 3; k++) {
        forward_golden(m, c, xs[k]);
        expect_golden(gd_model_output(m)->data, c, ys[k]);
    }
    expect_running_stats(m, c);
    gd_model_free(m);
    cJSON_Delete(root);
}

Test(batchnorm, evaluation_uses_running_statistics)
{
    cJSON *root = golden_load("batchnorm.json");
    const cJSON *c = golden_case(root, "bn1d_running");
    gd_model *m = golden_model(c, "x0");
    forward_golden(m, c, "x0");
    forward_golden(m, c, "x1");
    forward_golden(m, c, "x2");
    gd_model_set_training(m, false);
    expect_step(m, c, "_eval");
    /* Evaluation leaves the running statistics alone. */
    expect_running_stats(m, c);
    gd_model_free(m);
    cJSON_Delete(root);
}

/* The model has no BatchNorm2d yet, so this drives the layer directly: memory for its
 * tensors, a plan over an arena, then forward and backward as a model would run them. */
Test(batchnorm, batchnorm2d_training_step_matches_pytorch)
{
    cJSON *root = golden_load("batchnorm.json");
    const cJSON *c = golden_case(root, "bn2d_train");
    gd_tensor x = golden_tensor(c, "x"), dy = golden_tensor(c, "dy");
    int64_t n = x.dims[0], numel = gd_tensor_numel(&x);
    char msg[GD_MSG_MAX];
    gd_layer *l;
    cr_assert_eq(gd_batchnorm_create(&l, 2, x.dims[1], golden_number(c, "eps"),
                                     golden_number(c, "momentum"), msg),
                 GD_OK, "%s", msg);
    cr_expect_str_eq(l->ops->kind, "batchnorm2d");
    float values[4][8], grads[2][8], *dx = malloc((size_t)numel * sizeof(float));
    cr_assert_leq(x.dims[1], 8, "the case has more channels than the test's arrays");
    for (int k = 0; k < 4; k++)
        l->tensors[k].value.data = values[k];
    for (int k = 0; k < 2; k++)
        l->tensors[k].grad.data = grads[k];
    l->ops->reset_parameters(l, NULL);
    golden_copy(c, "weight", values[0], x.dims[1]);
    golden_copy(c, "bias", values[1], x.dims[1]);

    gd_shape s = {.ndim = 3, .dims = {x.dims[1], x.dims[2], x.dims[3]}};
    gd_arena a = {0};
    cr_assert_eq(gd_layer_plan(l, &s, x.data, dx, &a, n, msg), GD_OK, "%s", msg);
    a = (gd_arena){.base = gd_alloc_aligned(a.used * sizeof(float))};
    cr_assert_eq(gd_layer_plan(l, &s, x.data, dx, &a, n, msg), GD_OK, "%s", msg);
    gd_pass run = {.n = n, .training = true, .msg = msg};
    cr_assert_eq(gd_layer_forward(l, &run), GD_OK, "%s", msg);
    expect_golden(l->out, c, "y");
    memcpy(l->out_grad, dy.data, (size_t)numel * sizeof(float));
    gd_layer_backward(l, &run);
    expect_golden(dx, c, "dx");
    expect_golden(grads[0], c, "dweight");
    expect_golden(grads[1], c, "dbias");
    expect_golden(values[2], c, "running_mean");
    expect_golden(values[3], c, "running_var");
    cr_expect_eq(*l->tensors[4].i64, 1);

    free(a.base);
    free(dx);
    free(x.data);
    free(dy.data);
    gd_layer_free(l);
    cJSON_Delete(root);
}

Test(batchnorm, batchnorm2d_rejects_samples_without_height_and_width)
{
    char msg[GD_MSG_MAX];
    gd_layer *l;
    cr_assert_eq(gd_batchnorm_create(&l, 2, 3, 1e-5, 0.1, msg), GD_OK);
    l->in_shape = (gd_shape){.ndim = 2, .dims = {3, 5}};
    gd_shape out;
    cr_expect_eq(l->ops->infer(l, &out, msg), GD_ERR_SHAPE);
    cr_expect(strstr(msg, "3x5"), "message: %s", msg);
    gd_layer_free(l);
}

/* A batch of one sample of (features): one value per channel, no variance to estimate. */
Test(batchnorm, training_on_one_value_per_channel_is_a_numeric_error)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 4, 4, true), GD_OK);
    cr_assert_eq(gd_model_add_batchnorm1d(m, 4, 1e-5, 0.1), GD_OK);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){4}, 8), GD_OK, "%s", gd_model_error(m));
    float one[4] = {1, 2, 3, 4};
    gd_tensor x = gd_tensor_view(one, 2, (int64_t[]){1, 4});
    cr_expect_eq(gd_model_forward(m, &x), GD_ERR_NUMERIC);
    const char *msg = gd_model_error(m);
    cr_expect(strstr(msg, "batchnorm1d 1") && strstr(msg, "1x4"), "message: %s", msg);
    cr_expect_eq(*gd_model_tensor(m, "1.num_batches_tracked")->i64, 0);
    gd_model_free(m);
}

Test(batchnorm, evaluation_accepts_a_batch_of_one)
{
    gd_model *m = default_model(2, 1, (int64_t[]){2}, 8, GD_OK);
    gd_model_set_training(m, false);
    float one[2] = {3, -1};
    gd_tensor x = gd_tensor_view(one, 2, (int64_t[]){1, 2});
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    /* Fresh running statistics (mean 0, var 1): y = x / sqrt(1 + eps). */
    float want[2] = {(float)(3 / sqrt(1 + 1e-5)), (float)(-1 / sqrt(1 + 1e-5))};
    expect_close(gd_model_output(m)->data, want, 2, 1e-6, 0, "output");
    gd_model_free(m);
}

Test(batchnorm, feature_mismatch_at_build_is_a_shape_error)
{
    gd_model *m = default_model(4, 1, (int64_t[]){5}, 8, GD_ERR_SHAPE);
    const char *msg = gd_model_error(m);
    cr_expect(strstr(msg, "batchnorm1d 0") && strstr(msg, "5") && strstr(msg, "4"),
              "message: %s", msg);
    gd_model_free(m);
}

Test(batchnorm, three_dimensional_samples_are_a_shape_error)
{
    gd_model *m = default_model(4, 3, (int64_t[]){4, 2, 2}, 8, GD_ERR_SHAPE);
    const char *msg = gd_model_error(m);
    cr_expect(strstr(msg, "batchnorm1d 0") && strstr(msg, "4x2x2"), "message: %s", msg);
    gd_model_free(m);
}

Test(batchnorm, rejects_arguments_outside_their_domain)
{
    static const struct {
        int64_t features;
        double eps, momentum;
    } bad[] = {{0, 1e-5, 0.1}, {4, 0, 0.1}, {4, -1e-5, 0.1}, {4, NAN, 0.1},
               {4, 1e-5, -0.1}, {4, 1e-5, 1.5}, {4, 1e-5, NAN}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gd_model *m;
        cr_assert_eq(gd_model_create(&m, 1), GD_OK);
        cr_expect_eq(gd_model_add_batchnorm1d(m, bad[i].features, bad[i].eps, bad[i].momentum),
                     GD_ERR_INVALID_ARGUMENT, "case %zu", i);
        cr_expect(strstr(gd_model_error(m), "batchnorm1d"), "case %zu: %s", i, gd_model_error(m));
        gd_model_free(m);
    }
}

/* Gradient checks (tolerance GRADCHECK_TOL, justified in gradcheck.h). Inputs have unit
 * spread, so a step of 1e-2 is small against the batch's standard deviation. */
static gd_model *gradcheck_model_of(int ndim, const int64_t *dims, int64_t n)
{
    gd_model *m = default_model(dims[0], ndim, dims, n, GD_OK);
    gd_tensor gamma = random_tensor(11, 0.5, 2, 1, dims), beta = random_tensor(12, -1, 1, 1, dims);
    memcpy(gd_model_param(m, "0.weight")->data, gamma.data, (size_t)dims[0] * sizeof(float));
    memcpy(gd_model_param(m, "0.bias")->data, beta.data, (size_t)dims[0] * sizeof(float));
    free(gamma.data);
    free(beta.data);
    return m;
}

Test(batchnorm, gradients_in_training_match_finite_differences)
{
    gd_model *m = gradcheck_model_of(1, (int64_t[]){3}, 6);
    gd_tensor x = random_tensor(5, -2, 2, 2, (int64_t[]){6, 3});
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

Test(batchnorm, gradients_with_length_dimension_match_finite_differences)
{
    gd_model *m = gradcheck_model_of(2, (int64_t[]){2, 3}, 3);
    gd_tensor x = random_tensor(6, -2, 2, 3, (int64_t[]){3, 2, 3});
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

Test(batchnorm, gradients_in_evaluation_match_finite_differences)
{
    gd_model *m = gradcheck_model_of(1, (int64_t[]){3}, 4);
    float mean[3] = {0.5f, -1, 0}, var[3] = {2, 0.5f, 1.5f};
    memcpy(gd_model_param(m, "0.running_mean")->data, mean, sizeof mean);
    memcpy(gd_model_param(m, "0.running_var")->data, var, sizeof var);
    gd_model_set_training(m, false);
    gd_tensor x = random_tensor(7, -2, 2, 2, (int64_t[]){4, 3});
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

/* Each channel's sums run serially in a fixed order, so the thread count (here above the
 * GD_PARALLEL_MIN threshold) cannot change a bit of the result. */
Test(batchnorm, results_do_not_depend_on_the_thread_count)
{
    enum { N = 64, C = 1024 };
    gd_tensor x = random_tensor(8, -3, 3, 2, (int64_t[]){N, C});
    gd_tensor dy = random_tensor(9, -1, 1, 2, (int64_t[]){N, C});
    float *got[2][3];
    for (int t = 0; t < 2; t++) {
        gd_set_num_threads(t + 1);
        gd_model *m = gradcheck_model_of(1, (int64_t[]){C}, N);
        gd_model_set_input_grad(m, true);
        cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
        memcpy(gd_model_output_grad(m)->data, dy.data, sizeof(float) * N * C);
        cr_assert_eq(gd_model_backward(m), GD_OK);
        const float *src[3] = {gd_model_output(m)->data, input_grad(m),
                               gd_model_grad(m, "0.weight")->data};
        size_t len[3] = {N * C, N * C, C};
        for (int k = 0; k < 3; k++) {
            got[t][k] = malloc(len[k] * sizeof(float));
            memcpy(got[t][k], src[k], len[k] * sizeof(float));
        }
        gd_model_free(m);
    }
    cr_expect_arr_eq(got[0][0], got[1][0], sizeof(float) * N * C, "output");
    cr_expect_arr_eq(got[0][1], got[1][1], sizeof(float) * N * C, "input gradient");
    cr_expect_arr_eq(got[0][2], got[1][2], sizeof(float) * C, "weight gradient");
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 3; k++)
            free(got[t][k]);
    free(x.data);
    free(dy.data);
}
