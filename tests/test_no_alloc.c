/* A training step allocates nothing: forward, loss, backward, clipping and every
 * optimiser's step run on memory planned by gd_model_build and gd_optim_create
 * (alloc_watch.h counts the library's allocations). */
#include "alloc_watch.h"
#include "gradcheck.h"

#include <criterion/criterion.h>
#include <stdlib.h>

static gd_model *every_layer(void)
{
    gd_model *m;
    gd_model_create(&m, 1);
    gd_model_add_linear(m, 6, 8, true);
    gd_model_add_batchnorm1d(m, 8, 1e-5, 0.1);
    gd_model_add_prelu(m, 8, 0.25);
    gd_model_add_dropout(m, 0.2);
    gd_model_begin_residual(m);
    gd_model_add_linear(m, 8, 8, true);
    gd_model_add_activation(m, GD_ACT_GELU);
    gd_model_end_residual(m);
    gd_model_add_linear(m, 8, 12, true);
    gd_model_add_maxout(m, 2);
    gd_model_add_activation(m, GD_ACT_TANH);
    gd_model_add_linear(m, 6, 3, true);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){6}, 16), GD_OK, "%s", gd_model_error(m));
    return m;
}

static gd_model *every_conv_layer(void)
{
    gd_model *m;
    gd_model_create(&m, 1);
    gd_model_add_conv2d(m, 2, 4, 3, 3, 1, 1, 1, 1, true);
    gd_model_add_batchnorm2d(m, 4, 1e-5, 0.1);
    gd_model_add_activation(m, GD_ACT_RELU);
    gd_model_add_maxpool2d(m, 2, 0, 0);
    gd_model_add_conv2d(m, 4, 4, 1, 1, 1, 0, 1, 2, false);
    gd_model_add_avgpool2d(m, 2, 0, 0);
    gd_model_add_global_avgpool(m);
    gd_model_add_flatten(m);
    gd_model_add_linear(m, 4, 3, true);
    cr_assert_eq(gd_model_build(m, 3, (int64_t[]){2, 8, 8}, 16), GD_OK, "%s", gd_model_error(m));
    return m;
}

static void expect_steps_allocate_nothing_in(gd_model *m, gd_optim_kind kind)
{
    gd_optim_config cfg = gd_optim_defaults(kind);
    cfg.momentum = kind == GD_OPTIM_SGD ? 0.9 : cfg.momentum;
    gd_optimizer *opt;
    cr_assert_eq(gd_optim_create(&opt, m, &cfg), GD_OK, "%s", gd_optim_error(opt));
    int64_t dims[GD_MAX_DIMS + 1] = {16};
    int ndim = gd_model_input_shape(m, dims + 1);
    gd_tensor x = random_tensor(1, -1, 1, ndim + 1, dims);
    int32_t labels[16];
    for (int i = 0; i < 16; i++)
        labels[i] = i % 3;
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY, .label_smoothing = 0.1};
    double value;
    for (int step = 0; step < 3; step++) {
        if (step == 1) /* the first step may touch lazily set-up libraries */
            alloc_watch_start();
        cr_assert_eq(gd_model_forward(m, &x), GD_OK);
        cr_assert_eq(gd_model_loss(m, &loss, labels, NULL, &value), GD_OK);
        cr_assert_eq(gd_model_backward(m), GD_OK);
        cr_assert_eq(gd_model_l2_penalty(m, 1e-4, &value), GD_OK);
        cr_assert_eq(gd_model_clip_grad_norm(m, 1.0, NULL), GD_OK);
        cr_assert_eq(gd_optim_step(opt), GD_OK);
    }
    alloc_watch_stop();
    cr_expect_eq(alloc_watch_calls(), 0, "%d allocations in two training steps",
                 alloc_watch_calls());
    free(x.data);
    gd_optim_free(opt);
    gd_model_free(m);
}

static void expect_steps_allocate_nothing(gd_optim_kind kind)
{
    expect_steps_allocate_nothing_in(every_layer(), kind);
}

Test(no_alloc, sgd_step) { expect_steps_allocate_nothing(GD_OPTIM_SGD); }
Test(no_alloc, convolutional_step) { expect_steps_allocate_nothing_in(every_conv_layer(), GD_OPTIM_ADAM); }
Test(no_alloc, adagrad_step) { expect_steps_allocate_nothing(GD_OPTIM_ADAGRAD); }
Test(no_alloc, rmsprop_step) { expect_steps_allocate_nothing(GD_OPTIM_RMSPROP); }
Test(no_alloc, adam_step) { expect_steps_allocate_nothing(GD_OPTIM_ADAM); }
Test(no_alloc, adamw_step) { expect_steps_allocate_nothing(GD_OPTIM_ADAMW); }

/* The counters do count: building a model allocates. */
Test(no_alloc, the_counter_sees_allocations)
{
    alloc_watch_start();
    gd_model *m = every_layer();
    alloc_watch_stop();
    cr_expect_gt(alloc_watch_calls(), 0);
    gd_model_free(m);
}
