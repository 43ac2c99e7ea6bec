/* A model loaded for inference (gd_model_load_for_inference): each chain's outputs take
 * turns in two buffers and nothing is planned for gradients. Its outputs must be the bits
 * of the same file loaded for training, in evaluation mode, for chains, convolutions and
 * residual blocks (whose skip path needs its input through the block); it must plan less
 * memory; and backward must fail with a message rather than write through no buffer. */
#include <criterion/criterion.h>
#include <gradus.h>
#include <stdlib.h>
#include <string.h>

#include "../src/model/model.h"
#include "gradcheck.h"
#include "scratch.h"

#define BATCH 16

/* The spec's model (seeded), saved, then loaded back both ways. */
static void load_both(const char *spec, int ndim, const int64_t *dims, gd_model **train,
                      gd_model **infer)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, spec, 3, ndim, dims, BATCH, &err), GD_OK, "%s",
                 err.message);
    const char *path = scratch_path("inference.safetensors");
    cr_assert_eq(gd_model_save(m, NULL, path, &err), GD_OK, "%s", err.message);
    gd_model_free(m);
    cr_assert_eq(gd_model_load_as(train, NULL, path, ndim, dims, BATCH, &err), GD_OK, "%s",
                 err.message);
    cr_assert_eq(gd_model_load_for_inference(infer, NULL, path, ndim, dims, BATCH, &err), GD_OK,
                 "%s", err.message);
}

static void expect_same_outputs(const char *spec, int ndim, const int64_t *dims)
{
    gd_model *train, *infer;
    load_both(spec, ndim, dims, &train, &infer);
    int64_t xdims[GD_MAX_DIMS] = {BATCH};
    for (int i = 0; i < ndim; i++)
        xdims[i + 1] = dims[i];
    gd_tensor x = random_tensor(11, -1, 1, ndim + 1, xdims);
    gd_model_set_training(train, false);
    gd_model_set_training(infer, false);
    for (int round = 0; round < 2; round++) { /* a second forward reuses the turns */
        cr_assert_eq(gd_model_forward(train, &x), GD_OK, "%s", gd_model_error(train));
        cr_assert_eq(gd_model_forward(infer, &x), GD_OK, "%s", gd_model_error(infer));
        const gd_tensor *a = gd_model_output(train), *b = gd_model_output(infer);
        cr_assert_eq(gd_tensor_numel(a), gd_tensor_numel(b));
        cr_expect_arr_eq(a->data, b->data, sizeof(float) * (size_t)gd_tensor_numel(a),
                         "%s: the inference plan's outputs differ", spec);
    }
    cr_expect_lt(infer->activation_floats, train->activation_floats, "%s: %zu floats, not fewer "
                 "than the training plan's %zu", spec, infer->activation_floats,
                 train->activation_floats);
    cr_expect_eq(gd_model_backward(infer), GD_ERR_STATE);
    cr_expect(strstr(gd_model_error(infer), "inference") != NULL, "%s", gd_model_error(infer));
    gd_model_free(train);
    gd_model_free(infer);
    free(x.data);
}

Test(inference_plan, a_chain_gives_the_training_plans_outputs)
{
    expect_same_outputs("linear(32) bn relu dropout(0.5) linear(16) tanh linear(10)", 1,
                        (int64_t[]){20});
}

Test(inference_plan, a_cnn_gives_the_training_plans_outputs)
{
    expect_same_outputs("conv(8,3,pad=1) bn relu maxpool(2) conv(4,3) relu flatten linear(10)",
                        3, (int64_t[]){2, 10, 10});
}

Test(inference_plan, residual_blocks_keep_their_input_through_the_block)
{
    expect_same_outputs("linear(16) residual(linear(16) bn relu linear(16)) relu "
                        "residual(linear(8) relu) linear(10)", 1, (int64_t[]){12});
}
