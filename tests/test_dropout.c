/* Inverted dropout: identity in evaluation, keep-and-scale in training. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/model/model.h"
#include "gradcheck.h"

/* 10^5 units: 100 samples of 1000 features. */
#define N 100
#define F 1000

static gd_model *dropout_model(double p, uint64_t seed)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, seed), GD_OK);
    cr_assert_eq(gd_model_add_dropout(m, p), GD_OK, "%s", gd_model_error(m));
    gd_model_set_input_grad(m, true);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){F}, N), GD_OK, "%s", gd_model_error(m));
    return m;
}

/* Inputs in [1, 2): never zero, so a zero output means a dropped unit. */
static gd_tensor units(uint64_t seed) { return random_tensor(seed, 1, 2, 2, (int64_t[]){N, F}); }

static int64_t count_kept(const gd_tensor *y)
{
    int64_t kept = 0;
    for (int64_t i = 0; i < gd_tensor_numel(y); i++)
        kept += y->data[i] != 0.0f;
    return kept;
}

static const float *input_grad(gd_model *m)
{
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, "0", &info), GD_OK);
    return info.input_grad.data;
}

Test(dropout, evaluation_is_the_identity)
{
    gd_model *m = dropout_model(0.5, 1);
    gd_model_set_training(m, false);
    gd_tensor x = units(2), dy = random_tensor(3, -1, 1, 2, (int64_t[]){N, F});
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    cr_expect_arr_eq(gd_model_output(m)->data, x.data, sizeof(float) * N * F);
    memcpy(gd_model_output_grad(m)->data, dy.data, sizeof(float) * N * F);
    cr_assert_eq(gd_model_backward(m), GD_OK);
    cr_expect_arr_eq(input_grad(m), dy.data, sizeof(float) * N * F);
    free(x.data);
    free(dy.data);
    gd_model_free(m);
}

/* The kept count is Binomial(10^5, 0.7): mean 70000, standard deviation
 * sqrt(10^5 * 0.7 * 0.3) = 145. A bound of 6 deviations (870) fails correct code with
 * probability 2e-9, and fails p off by 0.01 (a shift of 1000), or dropping with probability
 * 1 - p instead of p (a shift of 40000). */
Test(dropout, training_keeps_about_one_minus_p_of_the_units)
{
    gd_model *m = dropout_model(0.3, 4);
    gd_tensor x = units(5);
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    int64_t kept = count_kept(gd_model_output(m));
    cr_expect(llabs(kept - 70000) <= 870, "kept %lld of 100000 units, expected 70000 +- 870",
              (long long)kept);
    free(x.data);
    gd_model_free(m);
}

Test(dropout, kept_units_are_scaled_by_exactly_one_over_keep_probability)
{
    gd_model *m = dropout_model(0.3, 6);
    gd_tensor x = units(7);
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    const float *y = gd_model_output(m)->data, scale = (float)(1.0 / 0.7);
    for (int64_t i = 0; i < N * F; i++)
        if (y[i] != 0.0f)
            cr_assert_eq(y[i], x.data[i] * scale, "unit %lld: %.9g from %.9g", (long long)i,
                         (double)y[i], (double)x.data[i]);
    free(x.data);
    gd_model_free(m);
}

Test(dropout, backward_in_training_applies_the_forward_mask)
{
    gd_model *m = dropout_model(0.3, 8);
    float *ones = malloc(sizeof(float) * N * F);
    for (int64_t i = 0; i < N * F; i++)
        ones[i] = 1.0f;
    gd_tensor x = gd_tensor_view(ones, 2, (int64_t[]){N, F});
    gd_tensor dy = random_tensor(9, -1, 1, 2, (int64_t[]){N, F});
    cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
    memcpy(gd_model_output_grad(m)->data, dy.data, sizeof(float) * N * F);
    cr_assert_eq(gd_model_backward(m), GD_OK);
    /* With x = 1 the output is the mask itself. */
    const float *mask = gd_model_output(m)->data, *dx = input_grad(m);
    for (int64_t i = 0; i < N * F; i++)
        cr_assert_eq(dx[i], dy.data[i] * mask[i], "unit %lld", (long long)i);
    free(ones);
    free(dy.data);
    gd_model_free(m);
}

static float *training_output(double p, uint64_t seed, const gd_tensor *x)
{
    gd_model *m = dropout_model(p, seed);
    cr_assert_eq(gd_model_forward(m, x), GD_OK, "%s", gd_model_error(m));
    float *y = malloc(sizeof(float) * N * F);
    memcpy(y, gd_model_output(m)->data, sizeof(float) * N * F);
    gd_model_free(m);
    return y;
}

Test(dropout, same_seed_gives_the_same_mask)
{
    gd_tensor x = units(10);
    float *a = training_output(0.5, 42, &x), *b = training_output(0.5, 42, &x),
          *c = training_output(0.5, 43, &x);
    cr_expect_arr_eq(a, b, sizeof(float) * N * F);
    cr_expect(memcmp(a, c, sizeof(float) * N * F) != 0, "seeds 42 and 43 gave the same mask");
    free(a);
    free(b);
    free(c);
    free(x.data);
}

Test(dropout, successive_batches_draw_new_masks)
{
    gd_model *m = dropout_model(0.5, 11);
    gd_tensor x = units(12);
    cr_assert_eq(gd_model_forward(m, &x), GD_OK);
    float *first = malloc(sizeof(float) * N * F);
    memcpy(first, gd_model_output(m)->data, sizeof(float) * N * F);
    cr_assert_eq(gd_model_forward(m, &x), GD_OK);
    cr_expect(memcmp(first, gd_model_output(m)->data, sizeof(float) * N * F) != 0);
    free(first);
    free(x.data);
    gd_model_free(m);
}

Test(dropout, p_zero_is_the_identity_in_training)
{
    gd_tensor x = units(13);
    float *y = training_output(0.0, 14, &x);
    cr_expect_arr_eq(y, x.data, sizeof(float) * N * F);
    free(y);
    free(x.data);
}

Test(dropout, rejects_p_outside_zero_to_one)
{
    static const double bad[] = {1.0, 1.5, -0.1, NAN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gd_model *m;
        cr_assert_eq(gd_model_create(&m, 1), GD_OK);
        cr_expect_eq(gd_model_add_dropout(m, bad[i]), GD_ERR_INVALID_ARGUMENT, "p = %g", bad[i]);
        cr_expect(strstr(gd_model_error(m), "dropout"), "p = %g: %s", bad[i], gd_model_error(m));
        gd_model_free(m);
    }
}

/* Tolerance GRADCHECK_TOL (gradcheck.h); the check replays one mask for every evaluation.
 * A Linear in front makes the mask reach parameter gradients too. */
Test(dropout, gradients_in_training_match_finite_differences)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 15), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 5, 8, true), GD_OK);
    cr_assert_eq(gd_model_add_dropout(m, 0.3), GD_OK);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){5}, 4), GD_OK, "%s", gd_model_error(m));
    gd_tensor x = random_tensor(16, -1, 1, 2, (int64_t[]){4, 5});
    expect_gradcheck(m, &x);
    free(x.data);
    gd_model_free(m);
}

/* A data-parallel rank's shard of a batch: its masks are its rows of the one-process
 * batch's, and the generator ends where the one-process one does (the next batch's masks
 * agree too). 7 features a sample puts the shard's first element at an odd place, halfway
 * through a draw. */
Test(dropout, a_shard_draws_its_rows_of_the_whole_batchs_masks)
{
    enum { ROWS = 10, FEATURES = 7, FIRST = 3, COUNT = 4 };
    gd_model *whole, *shard;
    cr_assert_eq(gd_model_create(&whole, 9), GD_OK);
    cr_assert_eq(gd_model_create(&shard, 9), GD_OK);
    gd_model *both[] = {whole, shard};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(gd_model_add_dropout(both[i], 0.5), GD_OK);
        cr_assert_eq(gd_model_build(both[i], 1, (int64_t[]){FEATURES}, ROWS), GD_OK);
        gd_model_set_training(both[i], true);
    }
    gd_model_set_shard(shard, FIRST, ROWS);
    gd_tensor x = random_tensor(4, 1, 2, 2, (int64_t[]){ROWS, FEATURES});
    gd_tensor part = {.data = x.data + FIRST * FEATURES, .ndim = 2, .dims = {COUNT, FEATURES}};
    for (int batch = 0; batch < 2; batch++) {
        cr_assert_eq(gd_model_forward(whole, &x), GD_OK);
        cr_assert_eq(gd_model_forward(shard, &part), GD_OK);
        cr_expect_arr_eq(gd_model_output(shard)->data,
                         gd_model_output(whole)->data + FIRST * FEATURES,
                         sizeof(float) * COUNT * FEATURES, "batch %d", batch);
    }
    gd_model_free(whole);
    gd_model_free(shard);
    free(x.data);
}
