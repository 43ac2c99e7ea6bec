/* Layers against PyTorch: one forward and one backward per case of
 * tests/reference/layers.json (written by tests/reference/gen_layers.py), through the public
 * API only. Each case loads PyTorch's parameters by state_dict name, runs x forward, writes
 * PyTorch's upstream gradient dy into gd_model_output_grad, runs backward, and compares the
 * output, the input gradient and every parameter gradient.
 *
 * Tolerances. Activations: PyTorch computed them in float32 with its vectorised kernels and
 * gradus with glibc's float32 libm; each is within an ulp or two of the true value (the
 * largest difference measured is 1.3e-7 relative, about 2 ulp), so ACT_RTOL = 1e-5 leaves
 * room while a wrong formula (a 1e-3 relative change or more) fails. ACT_ATOL = 1e-7
 * covers results that are differences of nearly equal numbers, where one ulp of the terms
 * is a large part of the result: GELU at x = -3 is 0.5 x (1 + erf(x / sqrt 2)) with
 * 1 + erf ~ 2.7e-3 carrying one ulp of 1 (6e-8), times |x| / 2 gives 9e-8.
 * Layers with sums (Linear, PReLU's slopes, the networks): the goldens are float64, so the
 * difference is gradus's float32 rounding alone. Each value is a dot product of at most 8
 * terms of size <= ~2, off by a few ulp of sum|terms| (<= ~6), i.e. <= ~1e-6: SUM_RTOL =
 * 1e-5 with SUM_ATOL = 1e-6 (the largest difference measured is 2.4e-7, one ulp of a
 * value near 3). A wrong weight, bias, index or gradient moves values by 1e-2 or more. */
#include "golden.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#define ACT_RTOL 1e-5
#define ACT_ATOL 1e-7
#define SUM_RTOL 1e-5
#define SUM_ATOL 1e-6

static const char *GOLDEN = "layers.json";

/* Compares got against golden tensor key of obj, element count first (so a shape mix-up
 * cannot pass by reading past either end). */
static void expect_matches(const gd_tensor *got, const cJSON *obj, const char *key, double rtol,
                           double atol)
{
    cr_assert(got && got->data, "%s: gradus has no such tensor", key);
    gd_tensor want = golden_tensor(obj, key);
    cr_assert_eq(gd_tensor_numel(got), gd_tensor_numel(&want),
                 "%s: gradus has %lld elements, PyTorch %lld", key, (long long)gd_tensor_numel(got),
                 (long long)gd_tensor_numel(&want));
    expect_close(got->data, want.data, gd_tensor_numel(&want), rtol, atol, key);
    free(want.data);
}

/* Overwrites gradus's initialisation with PyTorch's parameters, found by state_dict name. */
static void load_params(gd_model *m, const cJSON *c)
{
    const cJSON *name;
    cJSON_ArrayForEach(name, golden_field(c, "names"))
    {
        gd_tensor *p = gd_model_param(m, name->valuestring);
        cr_assert_not_null(p, "gradus has no parameter named '%s'", name->valuestring);
        golden_copy(golden_field(c, "params"), name->valuestring, p->data, gd_tensor_numel(p));
    }
}

/* Runs golden case `name` through m (built, parameters not yet loaded) and compares the
 * output, the input gradient and every parameter gradient. */
static void expect_case(gd_model *m, const char *name, double rtol, double atol)
{
    cJSON *root = golden_load(GOLDEN);
    const cJSON *c = golden_case(root, name);
    load_params(m, c);
    gd_model_set_input_grad(m, true);

    gd_tensor x = golden_tensor(c, "x");
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    expect_matches(gd_model_output(m), c, "y", rtol, atol);

    gd_tensor *dy = gd_model_output_grad(m);
    golden_copy(c, "dy", dy->data, gd_tensor_numel(dy));
    cr_assert_eq(gd_model_backward(m), GD_OK, "%s", gd_model_error(m));
    gd_layer_info first;
    cr_assert_eq(gd_model_layer(m, "0", &first), GD_OK);
    expect_matches(&first.input_grad, c, "dx", rtol, atol);

    const cJSON *grads = golden_field(c, "grads");
    const cJSON *g;
    cJSON_ArrayForEach(g, grads) expect_matches(gd_model_grad(m, g->string), grads, g->string, rtol, atol);

    free(x.data);
    cJSON_Delete(root);
}

static gd_model *new_model(void)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    return m;
}

static void build(gd_model *m, int64_t features, int64_t max_batch)
{
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){features}, max_batch), GD_OK, "%s",
                 gd_model_error(m));
}

/* ------------------------------------------------------------------- linear */

static void expect_linear(const char *name, int64_t in, int64_t out, bool bias, int64_t batch)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_linear(m, in, out, bias), GD_OK);
    build(m, in, batch);
    expect_case(m, name, SUM_RTOL, SUM_ATOL);
    gd_model_free(m);
}

Test(layers_golden, linear_with_bias_matches_pytorch)
{
    expect_linear("linear_5x3_bias", 5, 3, true, 4);
}

Test(layers_golden, linear_without_bias_matches_pytorch)
{
    expect_linear("linear_5x3_nobias", 5, 3, false, 4);
}

Test(layers_golden, linear_on_a_batch_of_one_matches_pytorch)
{
    expect_linear("linear_7x2_batch1", 7, 2, true, 1);
}

/* -------------------------------------------------------------- activations */

/* The cases evaluate x = 0, +-1, +-50, +-1000 and random values in [-3, 3], 16 in all. */
static void expect_activation(const char *name, gd_activation kind, double param)
{
    gd_model *m = new_model();
    gd_status st = isnan(param) ? gd_model_add_activation(m, kind)
                                : gd_model_add_activation_with(m, kind, param);
    cr_assert_eq(st, GD_OK, "%s", gd_model_error(m));
    build(m, 8, 2);
    expect_case(m, name, ACT_RTOL, ACT_ATOL);

    /* Saturation at +-1000 must give numbers, not inf - inf or 0 * inf. */
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, "0", &info), GD_OK);
    for (int64_t i = 0; i < 16; i++) {
        cr_expect(isfinite(info.output.data[i]), "%s: output %lld is %g", name, (long long)i,
                  (double)info.output.data[i]);
        cr_expect(isfinite(info.input_grad.data[i]), "%s: gradient %lld is %g", name,
                  (long long)i, (double)info.input_grad.data[i]);
    }
    gd_model_free(m);
}

Test(layers_golden, sigmoid_matches_pytorch) { expect_activation("sigmoid", GD_ACT_SIGMOID, NAN); }
Test(layers_golden, tanh_matches_pytorch) { expect_activation("tanh", GD_ACT_TANH, NAN); }
Test(layers_golden, relu_matches_pytorch) { expect_activation("relu", GD_ACT_RELU, NAN); }
Test(layers_golden, leaky_relu_default_slope_matches_pytorch)
{
    expect_activation("leaky_relu", GD_ACT_LEAKY_RELU, NAN);
}
Test(layers_golden, leaky_relu_slope_0_2_matches_pytorch)
{
    expect_activation("leaky_relu_0.2", GD_ACT_LEAKY_RELU, 0.2);
}
Test(layers_golden, elu_default_alpha_matches_pytorch) { expect_activation("elu", GD_ACT_ELU, NAN); }
Test(layers_golden, elu_alpha_0_5_matches_pytorch) { expect_activation("elu_0.5", GD_ACT_ELU, 0.5); }
Test(layers_golden, gelu_exact_matches_pytorch) { expect_activation("gelu", GD_ACT_GELU, NAN); }
Test(layers_golden, silu_matches_pytorch) { expect_activation("silu", GD_ACT_SILU, NAN); }
Test(layers_golden, softplus_default_beta_matches_pytorch)
{
    expect_activation("softplus", GD_ACT_SOFTPLUS, NAN);
}
Test(layers_golden, softplus_beta_2_matches_pytorch)
{
    expect_activation("softplus_beta2", GD_ACT_SOFTPLUS, 2.0);
}

/* -------------------------------------------------------------------- prelu */

/* The slopes' gradient is a sum over the batch (and, when shared, over the features). */
static void expect_prelu(const char *name, int64_t num_parameters)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_prelu(m, num_parameters, 0.25), GD_OK);
    build(m, 5, 4);
    expect_case(m, name, SUM_RTOL, SUM_ATOL);
    gd_model_free(m);
}

Test(layers_golden, prelu_with_one_shared_slope_matches_pytorch) { expect_prelu("prelu_shared", 1); }
Test(layers_golden, prelu_with_a_slope_per_feature_matches_pytorch)
{
    expect_prelu("prelu_per_channel", 5);
}

Test(layers_golden, prelu_init_0_25_gives_pytorchs_default_slope)
{
    cJSON *root = golden_load(GOLDEN);
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_prelu(m, 1, 0.25), GD_OK);
    build(m, 5, 4);
    expect_matches(gd_model_param(m, "0.weight"), golden_field(golden_case(root, "prelu_shared"), "params"),
                   "0.weight", 0, 0);
    gd_model_free(m);
    cJSON_Delete(root);
}

/* ------------------------------------------------------------------- maxout */

/* PyTorch's reference is x.view(N, F / k, k).max(-1): groups of k consecutive features. */
static void expect_maxout(const char *name, int64_t k, int64_t features)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_maxout(m, k), GD_OK);
    build(m, features, 3);
    /* A max copies one input and routes dy to it: exact, whatever the tolerance. */
    expect_case(m, name, 0, 0);
    gd_model_free(m);
}

Test(layers_golden, maxout_k2_matches_pytorch) { expect_maxout("maxout_k2", 2, 8); }
Test(layers_golden, maxout_k3_matches_pytorch) { expect_maxout("maxout_k3", 3, 9); }

/* ----------------------------------------------------------------- networks */

/* Linear(4,6), ReLU, [residual: Linear(6,6), Tanh, Linear(6,6)], Linear(6,2). */
static gd_model *residual_model(void)
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
    return m;
}

/* Linear(6,8), ReLU, Linear(8,8), GELU, Linear(8,3). */
static gd_model *mlp_model(void)
{
    gd_model *m = new_model();
    cr_assert_eq(gd_model_add_linear(m, 6, 8, true), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_RELU), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 8, 8, true), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_GELU), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 8, 3, true), GD_OK);
    build(m, 6, 5);
    return m;
}

/* gradus lists its tensors exactly as PyTorch's state_dict keys, in the same order. */
static void expect_state_dict_names(gd_model *m, const char *name)
{
    cJSON *root = golden_load(GOLDEN);
    const cJSON *names = golden_field(golden_case(root, name), "names");
    cr_assert_eq(gd_model_tensor_count(m), (size_t)cJSON_GetArraySize(names),
                 "gradus has %zu tensors, PyTorch's state_dict %d", gd_model_tensor_count(m),
                 cJSON_GetArraySize(names));
    size_t i = 0;
    const cJSON *want;
    cJSON_ArrayForEach(want, names)
    {
        cr_expect_str_eq(gd_model_tensor_at(m, i)->name, want->valuestring, "tensor %zu", i);
        i++;
    }
    cJSON_Delete(root);
}

Test(layers_golden, residual_block_names_tensors_as_pytorch_state_dict)
{
    gd_model *m = residual_model();
    expect_state_dict_names(m, "residual");
    gd_model_free(m);
}

Test(layers_golden, residual_network_matches_pytorch)
{
    gd_model *m = residual_model();
    expect_case(m, "residual", SUM_RTOL, SUM_ATOL);
    gd_model_free(m);
}

Test(layers_golden, mlp_names_tensors_as_pytorch_state_dict)
{
    gd_model *m = mlp_model();
    expect_state_dict_names(m, "mlp");
    gd_model_free(m);
}

Test(layers_golden, mlp_matches_pytorch)
{
    gd_model *m = mlp_model();
    expect_case(m, "mlp", SUM_RTOL, SUM_ATOL);
    gd_model_free(m);
}
