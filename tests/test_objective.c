/* What training minimises beyond the loss: L2 weight decay as a loss term, gradient
 * clipping by global norm (torch.nn.utils.clip_grad_norm_), and run-to-run determinism of
 * whole training steps. */
#include "golden.h"
#include "gradcheck.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gd_model *linear_3_4(void)
{
    gd_model *m;
    gd_model_create(&m, 1);
    gd_model_add_linear(m, 3, 4, true);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){3}, 2), GD_OK);
    return m;
}

/* PyTorch's clip_grad_norm_ on the same 16 gradients (weight then bias, the flat order):
 * the returned norm and the scaled gradients agree to float32 rounding (rtol 1e-6: one
 * norm in double, one multiplication in float). */
static void expect_clip_as_pytorch(const char *name)
{
    cJSON *root = golden_load("objective.json");
    const cJSON *c = golden_case(root, name);
    gd_model *m = linear_3_4();
    gd_tensor g = gd_model_gradients_flat(m);
    golden_copy(c, "grads", g.data, g.dims[0]);
    double norm = 0;
    cr_assert_eq(gd_model_clip_grad_norm(m, golden_number(c, "max_norm"), &norm), GD_OK);
    cr_expect_float_eq(norm, golden_number(c, "total_norm"), 1e-6 * golden_number(c, "total_norm"));
    expect_close_golden(g.data, c, "clipped", 1e-6, 0);
    gd_model_free(m);
    cJSON_Delete(root);
}

Test(objective, clipping_scales_gradients_above_the_norm_as_pytorch) { expect_clip_as_pytorch("clip_above"); }
Test(objective, clipping_leaves_gradients_below_the_norm_as_pytorch) { expect_clip_as_pytorch("clip_below"); }

Test(objective, clipping_rejects_a_non_positive_norm_and_a_nan_gradient)
{
    gd_model *m = linear_3_4();
    cr_expect_eq(gd_model_clip_grad_norm(m, 0.0, NULL), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(gd_model_error(m), "max_norm"), "%s", gd_model_error(m));
    gd_model_gradients_flat(m).data[5] = NAN;
    cr_expect_eq(gd_model_clip_grad_norm(m, 1.0, NULL), GD_ERR_NUMERIC);
    gd_model_free(m);
}

/* L2 decay adds lambda/2 sum(w^2) over Linear weights only (not biases, not batch-norm
 * scales) and lambda w to those weights' gradients; exact up to float rounding. */
Test(objective, l2_penalty_decays_linear_weights_only)
{
    gd_model *m;
    gd_model_create(&m, 1);
    gd_model_add_linear(m, 3, 4, true);
    gd_model_add_batchnorm1d(m, 4, 1e-5, 0.1);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){3}, 2), GD_OK);
    gd_tensor *w = gd_model_param(m, "0.weight");
    gd_tensor grads = gd_model_gradients_flat(m);
    memset(grads.data, 0, (size_t)grads.dims[0] * sizeof(float));
    double sum = 0;
    for (int i = 0; i < 12; i++)
        sum += (double)w->data[i] * w->data[i];
    double value = 1.0;
    cr_assert_eq(gd_model_l2_penalty(m, 0.1, &value), GD_OK);
    cr_expect_float_eq(value, 1.0 + 0.05 * sum, 1e-9);
    for (int i = 0; i < 12; i++)
        cr_expect_float_eq(gd_model_grad(m, "0.weight")->data[i], 0.1f * w->data[i], 1e-7);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(gd_model_grad(m, "0.bias")->data[i], 0.0f);
        cr_expect_eq(gd_model_grad(m, "1.weight")->data[i], 0.0f);
    }
    cr_expect_eq(gd_model_l2_penalty(m, -1.0, &value), GD_ERR_INVALID_ARGUMENT);
    gd_model_free(m);
}

/* Whether tensor `name` is a weight of a linear or convolutional layer (a residual's
 * projection too), read from the layer's kind through the public API. */
static bool is_decayed_weight(const gd_model *m, const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || strcmp(dot, ".weight") != 0)
        return false;
    char layer[64];
    snprintf(layer, sizeof layer, "%.*s", (int)(dot - name), name);
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, layer, &info), GD_OK, "no layer %s", layer);
    return strcmp(info.kind, "linear") == 0 || strcmp(info.kind, "conv2d") == 0;
}

/* The same rule on a convolutional net: every conv2d weight decays, the residual's 1x1
 * projection too, while conv biases, batch-norm scales and shifts, PReLU slopes and
 * running statistics do not (as weight_decay on a parameter group of weights only). */
Test(objective, l2_penalty_decays_convolution_and_projection_weights)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, "conv(4, 3, pad=1) bn prelu "
                                        "residual(conv(6, 3, stride=2, pad=1) relu) flatten linear(3)",
                                    1, 3, (int64_t[]){2, 6, 6}, 2, &err),
                 GD_OK, "%s", err.message);
    gd_tensor grads = gd_model_gradients_flat(m);
    memset(grads.data, 0, (size_t)grads.dims[0] * sizeof(float));
    double sum = 0;
    int decayed = 0;
    for (size_t i = 0; i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        if (t->role == GD_ROLE_PARAMETER && is_decayed_weight(m, t->name)) {
            decayed++;
            for (int64_t j = 0; j < gd_tensor_numel(&t->value); j++)
                sum += (double)t->value.data[j] * t->value.data[j];
        }
    }
    cr_assert_eq(decayed, 4, "conv 0, conv 3.0, projection 3.proj and linear 5");
    double value = 0;
    cr_assert_eq(gd_model_l2_penalty(m, 0.1, &value), GD_OK);
    cr_expect_float_eq(value, 0.05 * sum, 1e-9 * sum);
    for (size_t i = 0; i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        if (t->role != GD_ROLE_PARAMETER)
            continue;
        bool decays = is_decayed_weight(m, t->name);
        for (int64_t j = 0; j < gd_tensor_numel(&t->value); j++) {
            float want = decays ? 0.1f * t->value.data[j] : 0.0f;
            cr_expect_float_eq(t->grad.data[j], want, 1e-7, "%s[%lld]", t->name, (long long)j);
        }
    }
    gd_model_free(m);
}

/* Five Adam steps of a network with batch norm and dropout, twice from the same seed on 2
 * threads (batch large enough for the threaded loops to run): the same bits. */
static void train_five_steps(float *params_out, int64_t *count)
{
    gd_set_num_threads(2);
    gd_model *m;
    gd_model_create(&m, 9);
    gd_model_add_linear(m, 64, 256, true);
    gd_model_add_batchnorm1d(m, 256, 1e-5, 0.1);
    gd_model_add_activation(m, GD_ACT_RELU);
    gd_model_add_dropout(m, 0.3);
    gd_model_add_linear(m, 256, 10, true);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){64}, 256), GD_OK);
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_ADAM);
    gd_optimizer *opt;
    cr_assert_eq(gd_optim_create(&opt, m, &cfg), GD_OK);
    gd_tensor x = random_tensor(4, -1, 1, 2, (int64_t[]){256, 64});
    int32_t labels[256];
    for (int i = 0; i < 256; i++)
        labels[i] = i % 10;
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY};
    double value;
    for (int s = 0; s < 5; s++) {
        gd_model_forward(m, &x);
        gd_model_loss(m, &loss, labels, NULL, &value);
        gd_model_backward(m);
        gd_optim_step(opt);
    }
    gd_tensor p = gd_model_parameters_flat(m);
    *count = p.dims[0];
    memcpy(params_out, p.data, (size_t)p.dims[0] * sizeof(float));
    free(x.data);
    gd_optim_free(opt);
    gd_model_free(m);
}

Test(objective, training_steps_are_bit_identical_run_to_run)
{
    enum { MAX = 64 * 256 + 256 + 512 + 2570 + 16 };
    static float a[MAX], b[MAX];
    int64_t na, nb;
    train_five_steps(a, &na);
    train_five_steps(b, &nb);
    cr_assert_eq(na, nb);
    cr_expect_eq(memcmp(a, b, (size_t)na * sizeof(float)), 0);
}
