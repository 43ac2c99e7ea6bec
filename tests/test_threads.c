/* Results at 1, 2 and 3 threads against PyTorch (tests/reference/gen_threads.py ->
 * threads.json). The other golden cases are small enough that every loop runs on one
 * thread; these are sized so that every OpenMP loop of their layers runs on a team and the
 * convolution splits its batch into more chunks than threads, so a thread's share of a
 * reduction that went missing (or was counted twice) changes the result. Each test builds
 * its model after setting the thread count, as a caller would.
 *
 * Tolerances. One layer ("conv"): each output or gradient is a sum of at most K = 864
 * products (the weight gradient: 6 samples x 144 positions), in OpenBLAS's order: at most
 * K u sum|terms| (u = 6e-8), 5e-5 of the terms' size, and typically sqrt(K) u ~ 2e-6;
 * CONV_RTOL = 1e-5 with a floor of CONV_ATOL_OF_SCALE = 1e-5 of the tensor's largest value
 * (elements that cancel carry their terms' error). The net ("cnn"): three steps compound
 * the float32 rounding of every layer, and batch norm divides by deviations of as few as
 * 18 values, so NET_RTOL = 1e-4 with a floor of NET_ATOL_OF_SCALE = 1e-4 of the scale. The
 * largest difference measured (AMD EPYC, 1 to 3 threads, every case) is 2.7e-6 of a
 * tensor's scale. Leaving out every thread's share of the convolution's weight gradient
 * but the first fails both cases at 2 and 3 threads (tests/mutate.sh lists it). */
#include "golden.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CONV_RTOL 1e-5
#define CONV_ATOL_OF_SCALE 1e-5
#define NET_RTOL 1e-4
#define NET_ATOL_OF_SCALE 1e-4

static const char *GOLDEN = "threads.json";

/* Overwrites every float tensor (parameters and running statistics) by its golden value. */
static void load_state(gd_model *m, const cJSON *state)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, state)
    {
        gd_tensor *p = gd_model_param(m, t->string);
        cr_assert_not_null(p, "gradus has no tensor named '%s'", t->string);
        golden_copy(state, t->string, p->data, gd_tensor_numel(p));
    }
}

/* The "conv" case on a model built at build_threads and run at run_threads. */
static void expect_conv_built_and_run_at(int build_threads, int run_threads)
{
    gd_set_num_threads(build_threads);
    cJSON *root = golden_load(GOLDEN);
    const cJSON *c = golden_case(root, "conv");
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    cr_assert_eq(gd_model_add_conv2d(m, 4, 8, 3, 3, 1, 1, 1, 1, true), GD_OK);
    cr_assert_eq(gd_model_build(m, 3, (int64_t[]){4, 12, 12}, 6), GD_OK, "%s", gd_model_error(m));
    load_state(m, golden_field(c, "params"));
    gd_set_num_threads(run_threads);
    gd_tensor x = golden_tensor(c, "x");
    expect_step_as_golden(m, c, &x, CONV_RTOL, CONV_ATOL_OF_SCALE, NULL);
    free(x.data);
    gd_model_free(m);
    cJSON_Delete(root);
}

static void expect_conv_at(int threads) { expect_conv_built_and_run_at(threads, threads); }

Test(threads, conv2d_forward_and_backward_match_pytorch_at_1_thread) { expect_conv_at(1); }
Test(threads, conv2d_forward_and_backward_match_pytorch_at_2_threads) { expect_conv_at(2); }
Test(threads, conv2d_forward_and_backward_match_pytorch_at_3_threads) { expect_conv_at(3); }

/* Forward, loss and backward of the net on the golden batch; *loss gets its loss. */
static void forward_backward(gd_model *m, const gd_tensor *x, const int32_t *labels, double *loss)
{
    gd_loss ce = {.kind = GD_LOSS_CROSS_ENTROPY};
    cr_assert_eq(gd_model_forward(m, x), GD_OK, "%s", gd_model_error(m));
    cr_assert_eq(gd_model_loss(m, &ce, labels, NULL, loss), GD_OK, "%s", gd_model_error(m));
    cr_assert_eq(gd_model_backward(m), GD_OK, "%s", gd_model_error(m));
}

static void expect_grads(gd_model *m, const cJSON *grads)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, grads)
    {
        gd_tensor *got = gd_model_grad(m, g->string);
        cr_assert_not_null(got, "gradus has no gradient for %s", g->string);
        expect_close_golden_scaled(got->data, grads, g->string, NET_RTOL, NET_ATOL_OF_SCALE);
    }
}

static void expect_state(gd_model *m, const cJSON *state)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, state)
        expect_close_golden_scaled(gd_model_param(m, t->string)->data, state, t->string,
                                   NET_RTOL, NET_ATOL_OF_SCALE);
}

static gd_optimizer *golden_optimizer(gd_model *m, const cJSON *c)
{
    bool adam = strcmp(golden_field(c, "optimizer")->valuestring, "adam") == 0;
    gd_optim_config cfg = gd_optim_defaults(adam ? GD_OPTIM_ADAM : GD_OPTIM_SGD);
    cfg.lr = golden_number(c, "lr");
    cfg.momentum = golden_number(c, "momentum");
    gd_optimizer *opt;
    cr_assert_eq(gd_optim_create(&opt, m, &cfg), GD_OK);
    return opt;
}

/* Three steps of golden net `name` on samples of sample_dims: the losses, the first step's
 * logits and every parameter gradient, and the state after the last step (parameters and
 * running statistics). */
static void expect_net_at(const char *name, int ndim, const int64_t *sample_dims, int threads)
{
    gd_set_num_threads(threads);
    cJSON *root = golden_load(GOLDEN);
    const cJSON *c = golden_case(root, name);
    gd_tensor x = golden_tensor(c, "x");
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, golden_field(c, "spec")->valuestring, 1, ndim,
                                    sample_dims, x.dims[0], &err),
                 GD_OK, "%s", err.message);
    load_state(m, golden_field(c, "params"));
    gd_optimizer *opt = golden_optimizer(m, c);
    int64_t n;
    int32_t *labels = golden_labels(c, "labels", &n);
    cr_assert_eq(n, x.dims[0]);
    const cJSON *losses = golden_field(c, "losses");
    for (int step = 0; step < 3; step++) {
        double loss;
        forward_backward(m, &x, labels, &loss);
        double want = cJSON_GetArrayItem(losses, step)->valuedouble;
        cr_expect(fabs(loss - want) <= NET_RTOL * fabs(want), "step %d: loss %.9g, PyTorch %.9g",
                  step, loss, want);
        if (step == 0) {
            expect_close_golden_scaled(gd_model_output(m)->data, c, "y1", NET_RTOL,
                                       NET_ATOL_OF_SCALE);
            expect_grads(m, golden_field(c, "grads1"));
        }
        cr_assert_eq(gd_optim_step(opt), GD_OK, "%s", gd_optim_error(opt));
    }
    expect_state(m, golden_field(c, "params_after"));
    free(labels);
    free(x.data);
    gd_optim_free(opt);
    gd_model_free(m);
    cJSON_Delete(root);
}

static void expect_cnn_at(int threads) { expect_net_at("cnn", 3, (int64_t[]){3, 16, 16}, threads); }
static void expect_mlp_at(int threads) { expect_net_at("mlp", 1, (int64_t[]){16}, threads); }

Test(threads, three_cnn_training_steps_match_pytorch_at_1_thread) { expect_cnn_at(1); }
Test(threads, three_cnn_training_steps_match_pytorch_at_2_threads) { expect_cnn_at(2); }
Test(threads, three_cnn_training_steps_match_pytorch_at_3_threads) { expect_cnn_at(3); }
Test(threads, three_mlp_training_steps_match_pytorch_at_1_thread) { expect_mlp_at(1); }
Test(threads, three_mlp_training_steps_match_pytorch_at_2_threads) { expect_mlp_at(2); }
Test(threads, three_mlp_training_steps_match_pytorch_at_3_threads) { expect_mlp_at(3); }

/* A model planned at one thread count runs at another: a convolution's scratch was sized
 * for the threads at build, and a re-plan (asking for the input gradient) after
 * gd_set_num_threads(16) must fit the block already allocated; more threads than slots
 * share them. Under AddressSanitizer a plan that grew overflowed the block. */
Test(threads, a_thread_count_set_after_build_never_needs_more_memory)
{
    expect_conv_built_and_run_at(1, 16);
}
