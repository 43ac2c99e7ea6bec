/* The model as a whole: building, naming, errors, modes, reading layers by name, and
 * determinism. */
#include "gradcheck.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static gd_model *mlp(uint64_t seed)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, seed), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 6, 8, true), GD_OK);
    cr_assert_eq(gd_model_add_batchnorm1d(m, 8, 1e-5, 0.1), GD_OK);
    cr_assert_eq(gd_model_add_activation(m, GD_ACT_RELU), GD_OK);
    cr_assert_eq(gd_model_add_dropout(m, 0.2), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 8, 3, true), GD_OK);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){6}, 16), GD_OK, "%s", gd_model_error(m));
    return m;
}

Test(model, names_tensors_as_pytorch_state_dict)
{
    gd_model *m = mlp(1);
    const char *want[] = {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                          "1.running_var", "1.num_batches_tracked", "4.weight", "4.bias"};
    size_t n = sizeof want / sizeof want[0];
    cr_assert_eq(gd_model_tensor_count(m), n);
    for (size_t i = 0; i < n; i++)
        cr_expect_str_eq(gd_model_tensor_at(m, i)->name, want[i]);
    cr_expect_eq(gd_model_tensor(m, "1.num_batches_tracked")->dtype, GD_DTYPE_I64);
    cr_expect_eq(gd_model_tensor(m, "1.running_mean")->role, GD_ROLE_BUFFER);
    cr_expect_null(gd_model_param(m, "9.weight"));
    gd_model_free(m);
}

Test(model, names_layers_inside_residual_blocks)
{
    gd_model *m;
    gd_model_create(&m, 1);
    gd_model_add_linear(m, 4, 4, true);
    gd_model_begin_residual(m);
    gd_model_add_linear(m, 4, 4, true);
    gd_model_add_activation(m, GD_ACT_RELU);
    gd_model_end_residual(m);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){4}, 2), GD_OK, "%s", gd_model_error(m));
    const char *want[] = {"0", "1", "1.0", "1.1"};
    cr_assert_eq(gd_model_layer_count(m), 4);
    gd_layer_info info;
    for (size_t i = 0; i < 4; i++) {
        gd_model_layer_at(m, i, &info);
        cr_expect_str_eq(info.name, want[i]);
    }
    cr_expect_not_null(gd_model_param(m, "1.0.weight"));
    cr_expect_eq(gd_model_layer(m, "1", &info), GD_OK);
    cr_expect_str_eq(info.kind, "residual");
    cr_expect_eq(gd_model_layer(m, "7", &info), GD_ERR_NOT_FOUND);
    gd_model_free(m);
}

Test(model, flat_buffers_hold_every_parameter_in_order)
{
    gd_model *m = mlp(1);
    gd_tensor flat = gd_model_parameters_flat(m);
    /* 6*8+8 + 8+8 + 8*3+3 parameters; buffers are not parameters. */
    cr_expect_eq(flat.dims[0], 56 + 16 + 27);
    cr_expect_eq(gd_model_param(m, "0.weight")->data, flat.data);
    cr_expect_eq(gd_model_param(m, "4.bias")->data, flat.data + 56 + 16 + 24);
    cr_expect_eq(gd_model_grad(m, "0.weight")->data, gd_model_gradients_flat(m).data);
    gd_model_free(m);
}

Test(model, layer_views_expose_activations_of_the_last_forward)
{
    gd_model *m = mlp(1);
    gd_tensor x = random_tensor(5, -1, 1, 2, (int64_t[]){5, 6});
    cr_assert_eq(gd_model_forward(m, &x), GD_OK);
    gd_layer_info relu, linear;
    cr_assert_eq(gd_model_layer(m, "2", &relu), GD_OK);
    cr_assert_eq(gd_model_layer(m, "0", &linear), GD_OK);
    cr_expect_str_eq(relu.kind, "relu");
    cr_expect_eq(relu.output.dims[0], 5);
    cr_expect_eq(relu.output.dims[1], 8);
    for (int64_t i = 0; i < 40; i++)
        cr_expect_geq(relu.output.data[i], 0.0f);
    cr_expect_eq(memcmp(linear.input.data, x.data, sizeof(float) * 30), 0, "the input is copied in");
    free(x.data);
    gd_model_free(m);
}

Test(model, same_seed_gives_same_bits_and_another_seed_does_not)
{
    gd_model *a = mlp(42), *b = mlp(42), *c = mlp(43);
    gd_tensor pa = gd_model_parameters_flat(a), pb = gd_model_parameters_flat(b),
              pc = gd_model_parameters_flat(c);
    size_t bytes = (size_t)pa.dims[0] * sizeof(float);
    cr_expect_eq(memcmp(pa.data, pb.data, bytes), 0);
    cr_expect_neq(memcmp(pa.data, pc.data, bytes), 0);
    gd_tensor x = random_tensor(5, -1, 1, 2, (int64_t[]){16, 6});
    gd_model_forward(a, &x);
    gd_model_forward(b, &x);
    cr_expect_eq(memcmp(gd_model_output(a)->data, gd_model_output(b)->data, 48 * sizeof(float)), 0);
    free(x.data);
    gd_model_free(a);
    gd_model_free(b);
    gd_model_free(c);
}

Test(model, evaluation_mode_is_deterministic_and_training_mode_draws_dropout)
{
    gd_model *m = mlp(1);
    gd_tensor x = random_tensor(5, -1, 1, 2, (int64_t[]){16, 6});
    float first[48];
    gd_model_forward(m, &x);
    memcpy(first, gd_model_output(m)->data, sizeof first);
    gd_model_forward(m, &x);
    cr_expect_neq(memcmp(first, gd_model_output(m)->data, sizeof first), 0,
                  "two training passes draw different dropout masks");
    gd_model_set_training(m, false);
    cr_expect_not(gd_model_is_training(m));
    gd_model_forward(m, &x);
    memcpy(first, gd_model_output(m)->data, sizeof first);
    gd_model_forward(m, &x);
    cr_expect_eq(memcmp(first, gd_model_output(m)->data, sizeof first), 0);
    free(x.data);
    gd_model_free(m);
}

Test(model, rejects_a_feature_mismatch_naming_the_layer)
{
    gd_model *m;
    gd_model_create(&m, 1);
    gd_model_add_linear(m, 784, 256, true);
    gd_model_add_activation(m, GD_ACT_RELU);
    gd_model_add_linear(m, 128, 10, true);
    cr_expect_eq(gd_model_build(m, 1, (int64_t[]){784}, 4), GD_ERR_SHAPE);
    cr_expect(strstr(gd_model_error(m), "linear 2"), "message: %s", gd_model_error(m));
    cr_expect(strstr(gd_model_error(m), "256"), "message: %s", gd_model_error(m));
    gd_model_free(m);
}

Test(model, rejects_calls_out_of_order)
{
    gd_model *m;
    gd_model_create(&m, 1);
    gd_tensor x = random_tensor(5, -1, 1, 2, (int64_t[]){2, 3});
    cr_expect_eq(gd_model_build(m, 1, (int64_t[]){3}, 2), GD_ERR_STATE, "no layers");
    gd_model_add_linear(m, 3, 2, true);
    cr_expect_eq(gd_model_forward(m, &x), GD_ERR_STATE);
    cr_expect_eq(gd_model_backward(m), GD_ERR_STATE);
    gd_model_begin_residual(m);
    gd_model_add_linear(m, 2, 2, true);
    cr_expect_eq(gd_model_build(m, 1, (int64_t[]){3}, 2), GD_ERR_STATE, "residual still open");
    cr_expect_eq(gd_model_end_residual(m), GD_OK);
    cr_expect_eq(gd_model_end_residual(m), GD_ERR_STATE);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){3}, 2), GD_OK, "%s", gd_model_error(m));
    cr_expect_eq(gd_model_add_linear(m, 2, 2, true), GD_ERR_STATE, "built models take no layers");
    free(x.data);
    gd_model_free(m);
}

Test(model, rejects_bad_sizes_and_batches)
{
    gd_model *m;
    gd_model_create(&m, 1);
    cr_expect_eq(gd_model_add_linear(m, 0, 3, true), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(gd_model_error(m), "in=0"), "message: %s", gd_model_error(m));
    cr_expect_eq(gd_model_add_dropout(m, 1.0), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_model_add_maxout(m, 0), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_model_add_activation_with(m, GD_ACT_TANH, 2.0), GD_ERR_INVALID_ARGUMENT);
    gd_model_add_linear(m, 3, 2, true);
    cr_expect_eq(gd_model_build(m, 1, (int64_t[]){3}, 0), GD_ERR_INVALID_ARGUMENT);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){3}, 4), GD_OK);
    gd_tensor big = random_tensor(5, -1, 1, 2, (int64_t[]){5, 3});
    cr_expect_eq(gd_model_forward(m, &big), GD_ERR_SHAPE);
    cr_expect(strstr(gd_model_error(m), "1..4"), "message: %s", gd_model_error(m));
    big.dims[0] = 3;
    big.dims[1] = 5;
    cr_expect_eq(gd_model_forward(m, &big), GD_ERR_SHAPE);
    free(big.data);
    gd_model_free(m);
}

Test(model, backward_skips_the_input_gradient_unless_asked)
{
    gd_model *m = mlp(1);
    gd_tensor x = random_tensor(5, -1, 1, 2, (int64_t[]){4, 6});
    gd_layer_info first;
    gd_model_forward(m, &x);
    gd_model_layer(m, "0", &first);
    cr_expect_null(first.input_grad.data);
    gd_model_set_input_grad(m, true);
    gd_model_forward(m, &x);
    gd_model_layer(m, "0", &first);
    cr_expect_not_null(first.input_grad.data);
    free(x.data);
    gd_model_free(m);
}

Test(model, smaller_batches_than_planned_run)
{
    gd_model *m = mlp(1);
    gd_tensor x = random_tensor(5, -1, 1, 2, (int64_t[]){3, 6});
    cr_expect_eq(gd_model_forward(m, &x), GD_OK);
    cr_expect_eq(gd_model_output(m)->dims[0], 3);
    free(x.data);
    gd_model_free(m);
}

Test(model, free_accepts_null)
{
    gd_model_free(NULL);
    gd_rng_free(NULL);
}

/* ------------------------------------------------- sizes that wrap, sizes over the limit */

static void restore_memory_limit(void) { gd_set_memory_limit(0); }

/* The build's status and that its message names what it must (a layer, the limit). */
static void expect_build_error(const char *spec, int ndim, const int64_t *dims, int64_t max_batch,
                               gd_status want, const char *phrase)
{
    gd_model *m = (gd_model *)&m; /* a failure sets it to NULL */
    gd_error err;
    gd_status st = gd_model_from_spec(&m, spec, 1, ndim, dims, max_batch, &err);
    cr_expect_eq(st, want, "\"%s\": status %d (%s), want %d", spec, st, err.message, want);
    cr_expect_null(m);
    cr_expect(strstr(err.message, phrase) != NULL, "\"%s\" does not say \"%s\"", err.message, phrase);
}

/* UBSan's find: 4611686018427387905 * 4 wrapped in the activation plan. */
Test(model, activations_whose_size_wraps_are_refused_naming_the_layer)
{
    expect_build_error("relu", 1, (int64_t[]){4611686018427387905}, 4, GD_ERR_LIMIT,
                       "batches of 4");
    expect_build_error("relu", 3, (int64_t[]){1 << 20, 1 << 21, 1 << 21}, 4, GD_ERR_LIMIT,
                       "the model's input");
    /* 2^31 - 1 channels of 2^15 x 2^15: 2^61 values a sample, 2^65 for 16 samples. */
    expect_build_error("conv(2147483647, 1)", 3, (int64_t[]){1, 1 << 15, 1 << 15}, 16,
                       GD_ERR_LIMIT, "conv2d 0");
}

Test(model, shapes_whose_values_wrap_64_bits_are_refused)
{
    expect_build_error("relu", 3, (int64_t[]){1 << 30, 1 << 30, 1 << 30}, 1, GD_ERR_SHAPE,
                       "more values than 64 bits");
    expect_build_error("conv(4, 1, pad=1000000)", 3, (int64_t[]){1, INT64_MAX / 2, 1}, 1,
                       GD_ERR_SHAPE, "conv2d 0");
}

/* 2^31 - 1 outputs of a 2^31 - 1 input: a weight of 2^62 values, 16 exabytes with its
 * gradient, far beyond any limit but no wrap in 64 bits: the limit refuses it, naming the
 * layer that holds it. */
Test(model, parameters_beyond_the_limit_name_the_largest_layer)
{
    expect_build_error("linear(2147483647)", 1, (int64_t[]){2147483647}, 1, GD_ERR_LIMIT,
                       "in layer 0 (linear)");
}

Test(model, a_build_over_a_lowered_memory_limit_fails_before_allocating, .fini = restore_memory_limit)
{
    /* linear(1000) on 784: 785000 parameters, 6.3 MB with their gradients (6.4 MB with the
     * activations). */
    gd_set_memory_limit(1000000);
    expect_build_error("linear(1000) relu", 1, (int64_t[]){784}, 4, GD_ERR_LIMIT,
                       "beyond the memory limit of 1.0 MB");
    expect_build_error("linear(1000) relu", 1, (int64_t[]){784}, 4, GD_ERR_LIMIT,
                       "785000 in layer 0 (linear)");
    gd_set_memory_limit(7000000);
    gd_model *m = NULL;
    gd_error err;
    cr_expect_eq(gd_model_from_spec(&m, "linear(1000) relu", 1, 1, (int64_t[]){784}, 4, &err), GD_OK,
                 "6.4 MB fits 7 MB: %s", err.message);
    gd_model_free(m);
}

/* Activations alone: a big batch of a small model. */
Test(model, activations_count_towards_the_memory_limit, .fini = restore_memory_limit)
{
    gd_set_memory_limit(1000000);
    expect_build_error("relu", 1, (int64_t[]){1000}, 1000, GD_ERR_LIMIT, "activation values for batches of 1000");
}
