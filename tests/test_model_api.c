/* What a C user reads from a model: layers by name (and what a failed lookup says),
 * predictions for a data set, and the summary `gradus summary` prints. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gradus.h"

static gd_model *from_spec(const char *spec, int ndim, const int64_t *dims, int64_t batch)
{
    gd_model *m = NULL;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, spec, 7, ndim, dims, batch, &err), GD_OK, "%s",
                 err.message);
    return m;
}

/* ------------------------------------------------------------ layers by name */

Test(model_api, a_missing_layer_name_is_named_with_the_layers_there_are)
{
    gd_model *m = from_spec("linear(8) bn relu linear(3)", 1, (int64_t[]){4}, 2);
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, "7", &info), GD_ERR_NOT_FOUND);
    const char *msg = gd_model_error(m);
    cr_expect(strstr(msg, "\"7\""), "%s", msg);
    cr_expect(strstr(msg, "0 (linear), 1 (batchnorm1d), 2 (relu), 3 (linear)"), "%s", msg);
    gd_model_free(m);
}

/* Layers are named by index, as nn.Sequential's; a kind given as a name is pointed at. */
Test(model_api, a_kind_given_as_a_layer_name_says_which_layer_has_it)
{
    gd_model *m = from_spec("linear(8) bn relu linear(3)", 1, (int64_t[]){4}, 2);
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, "relu", &info), GD_ERR_NOT_FOUND);
    cr_expect(strstr(gd_model_error(m), "layer 2 is a relu"), "%s", gd_model_error(m));
    gd_model_free(m);
}

/* The message is the failed lookup's, not what an earlier failure left. */
Test(model_api, a_failed_lookup_leaves_no_stale_message)
{
    gd_model *m = from_spec("linear(3)", 1, (int64_t[]){4}, 2);
    gd_layer_info info;
    gd_model_layer(m, "first", &info);
    cr_assert_eq(gd_model_layer(m, "second", &info), GD_ERR_NOT_FOUND);
    cr_expect(strstr(gd_model_error(m), "\"second\""), "%s", gd_model_error(m));
    cr_expect_null(strstr(gd_model_error(m), "first"), "%s", gd_model_error(m));
    gd_model_free(m);
}

Test(model_api, a_long_list_of_layers_is_cut_with_a_count_of_the_rest)
{
    gd_model *m = from_spec("linear(4) relu linear(4) relu linear(4) relu linear(4) relu", 1,
                            (int64_t[]){4}, 2);
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, "8", &info), GD_ERR_NOT_FOUND);
    cr_expect(strstr(gd_model_error(m), "5 (relu) and 2 more"), "%s", gd_model_error(m));
    cr_expect_lt(strlen(gd_model_error(m)), 250);
    gd_model_free(m);
}

Test(model_api, an_index_past_the_last_layer_says_how_many_there_are)
{
    gd_model *m = from_spec("linear(8) relu linear(3)", 1, (int64_t[]){4}, 2);
    gd_layer_info info;
    cr_assert_eq(gd_model_layer_at(m, 3, &info), GD_ERR_NOT_FOUND);
    cr_expect(strstr(gd_model_error(m), "no layer at index 3: the model has 3"), "%s",
              gd_model_error(m));
    gd_model_free(m);
}

Test(model_api, a_lookup_before_the_build_says_the_model_is_not_built)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    cr_assert_eq(gd_model_add_linear(m, 4, 3, true), GD_OK);
    gd_layer_info info;
    cr_assert_eq(gd_model_layer(m, "0", &info), GD_ERR_NOT_FOUND);
    cr_expect(strstr(gd_model_error(m), "not built"), "%s", gd_model_error(m));
    gd_model_free(m);
}

/* ------------------------------------------------------------------ predict */

#define N 5
#define D 4

static gd_dataset *small_set(void)
{
    float x[N * D];
    for (int i = 0; i < N * D; i++)
        x[i] = (float)sin(0.7 * i) * 2.0f;
    gd_dataset *ds = NULL;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, N, 1, (int64_t[]){D}, x, NULL, 3, &err), GD_OK, "%s",
                 err.message);
    return ds;
}

/* The probabilities are the softmax of the evaluation-mode outputs of one forward of all
 * samples, which the predictions take in batches of 2 (the model's size): exp(s - max) /
 * sum in double either way, so within 1e-12 (the float scores are the same bits when the
 * batch does not change a sample's arithmetic; 1e-6 allows for a BLAS that does). */
Test(model_api, predict_gives_the_softmax_of_each_samples_scores_and_their_argmax)
{
    gd_dataset *ds = small_set();
    gd_model *batched = from_spec("linear(6) bn relu dropout(0.5) linear(3)", 1, (int64_t[]){D}, 2);
    gd_model *whole = from_spec("linear(6) bn relu dropout(0.5) linear(3)", 1, (int64_t[]){D}, N);
    int32_t classes[N];
    double probs[N * 3];
    gd_error err;
    cr_assert_eq(gd_predict(batched, ds, classes, probs, &err), GD_OK, "%s", err.message);
    cr_expect(gd_model_is_training(batched), "the model's mode is restored");

    gd_model_set_training(whole, false);
    gd_tensor in = gd_tensor_view(gd_dataset_features(ds), 2, (int64_t[]){N, D});
    cr_assert_eq(gd_model_forward(whole, &in), GD_OK, "%s", gd_model_error(whole));
    const float *y = gd_model_output(whole)->data;
    for (int i = 0; i < N; i++) {
        double sum = 0, most = y[i * 3];
        for (int c = 1; c < 3; c++)
            most = fmax(most, y[i * 3 + c]);
        for (int c = 0; c < 3; c++)
            sum += exp(y[i * 3 + c] - most);
        for (int c = 0; c < 3; c++)
            cr_expect(fabs(probs[i * 3 + c] - exp(y[i * 3 + c] - most) / sum) < 1e-6,
                      "sample %d class %d: %g", i, c, probs[i * 3 + c]);
        cr_expect_eq(classes[i], gd_argmax(y + i * 3, 3), "sample %d", i);
    }
    gd_model_free(batched);
    gd_model_free(whole);
    gd_dataset_free(ds);
}

Test(model_api, predict_takes_either_output_alone)
{
    gd_dataset *ds = small_set();
    gd_model *m = from_spec("linear(3)", 1, (int64_t[]){D}, 2);
    int32_t classes[N], again[N];
    double probs[N * 3];
    gd_error err;
    cr_assert_eq(gd_predict(m, ds, classes, NULL, &err), GD_OK, "%s", err.message);
    cr_assert_eq(gd_predict(m, ds, NULL, probs, &err), GD_OK, "%s", err.message);
    cr_assert_eq(gd_predict(m, ds, again, probs, &err), GD_OK, "%s", err.message);
    for (int i = 0; i < N; i++) {
        cr_expect_eq(classes[i], again[i]);
        cr_expect(fabs(probs[i * 3] + probs[i * 3 + 1] + probs[i * 3 + 2] - 1) < 1e-12);
    }
    gd_model_free(m);
    gd_dataset_free(ds);
}

Test(model_api, predict_refuses_data_of_another_size_naming_both)
{
    gd_dataset *ds = small_set();
    gd_model *m = from_spec("linear(3)", 1, (int64_t[]){D + 1}, 2);
    int32_t classes[N];
    gd_error err;
    cr_assert_eq(gd_predict(m, ds, classes, NULL, &err), GD_ERR_SHAPE);
    cr_expect(strstr(err.message, "4 values per sample; the model takes 5"), "%s", err.message);
    gd_model_free(m);
    gd_dataset_free(ds);
}

Test(model_api, predict_refuses_a_model_without_one_score_per_class)
{
    float x[2 * 16] = {0};
    gd_dataset *ds = NULL;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, 2, 3, (int64_t[]){1, 4, 4}, x, NULL, 2, &err), GD_OK);
    gd_model *m = from_spec("conv(2, 3)", 3, (int64_t[]){1, 4, 4}, 2);
    int32_t classes[2];
    cr_assert_eq(gd_predict(m, ds, classes, NULL, &err), GD_ERR_SHAPE);
    cr_expect(strstr(err.message, "2x2x2"), "%s", err.message);
    gd_model_free(m);
    gd_dataset_free(ds);
}

/* ------------------------------------------------------------------ summary */

/* Counts by the layers' formulas: linear in*out + out, bn 2 F (weight, bias), a 3x3 conv
 * out*in*9 + out, a 1x1 projection without bias out*in; a residual's row adds its layers'. */
Test(model_api, layer_summaries_give_output_shapes_and_parameters)
{
    gd_model *m = from_spec("conv(4, 3, pad=1) residual(conv(8, 3, stride=2, pad=1) bn relu) "
                            "gap flatten linear(10)", 3, (int64_t[]){1, 8, 8}, 2);
    struct { const char *name, *kind; int ndim; int64_t d0, d1, d2, params; } want[] = {
        {"0", "conv2d", 3, 4, 8, 8, 4 * 9 + 4},
        {"1", "residual", 3, 8, 4, 4, 8 * 4 * 9 + 8 + 16 + 8 * 4},
        {"1.0", "conv2d", 3, 8, 4, 4, 8 * 4 * 9 + 8},
        {"1.1", "batchnorm2d", 3, 8, 4, 4, 16},
        {"1.2", "relu", 3, 8, 4, 4, 0},
        {"1.proj", "conv2d", 3, 8, 4, 4, 8 * 4},
        {"2", "global_avgpool", 3, 8, 1, 1, 0},
        {"3", "flatten", 1, 8, 0, 0, 0},
        {"4", "linear", 1, 10, 0, 0, 8 * 10 + 10},
    };
    size_t n = sizeof want / sizeof want[0];
    cr_assert_eq(gd_model_layer_count(m), n);
    for (size_t i = 0; i < n; i++) {
        gd_layer_summary s;
        cr_assert_eq(gd_model_layer_summary(m, i, &s), GD_OK, "%s", gd_model_error(m));
        cr_expect_str_eq(s.name, want[i].name);
        cr_expect_str_eq(s.kind, want[i].kind, "layer %s", s.name);
        cr_expect_eq(s.ndim, want[i].ndim, "layer %s", s.name);
        int64_t dims[3] = {want[i].d0, want[i].d1, want[i].d2};
        for (int k = 0; k < s.ndim; k++)
            cr_expect_eq(s.dims[k], dims[k], "layer %s dim %d", s.name, k);
        cr_expect_eq(s.parameters, want[i].params, "layer %s", s.name);
    }
    gd_layer_summary s;
    cr_expect_eq(gd_model_layer_summary(m, n, &s), GD_ERR_NOT_FOUND);
    gd_model_free(m);
}

/* One linear(3) on 4 features, batches of 2: the input (8 floats), the output and its
 * gradient (6 each); the input's gradient only when asked for (8 more). */
Test(model_api, summary_counts_each_activation_buffer_once)
{
    gd_model *m = from_spec("linear(3)", 1, (int64_t[]){4}, 2);
    gd_summary s;
    cr_assert_eq(gd_model_summary(m, &s), GD_OK, "%s", gd_model_error(m));
    cr_expect_eq(s.parameters, 15);
    cr_expect_eq(s.parameter_bytes, 15 * sizeof(float));
    cr_expect_eq(s.buffer_values, 0);
    cr_expect_eq(s.batch, 2);
    cr_expect_eq(s.activation_bytes, (8 + 6 + 6) * sizeof(float));
    gd_model_set_input_grad(m, true);
    cr_assert_eq(gd_model_summary(m, &s), GD_OK, "%s", gd_model_error(m));
    cr_expect_eq(s.activation_bytes, (8 + 6 + 6 + 8) * sizeof(float));
    gd_model_free(m);
}

/* The distinct buffers of gd_model_layer_at's views (by address: in-place layers share),
 * as a caller would count them, for batches of max_batch. */
static size_t distinct_activation_bytes(gd_model *m)
{
    size_t nl = gd_model_layer_count(m), n = 0, bytes = 0;
    const float **seen = calloc(4 * nl, sizeof *seen);
    int64_t *floats = calloc(4 * nl, sizeof *floats);
    for (size_t i = 0; i < nl; i++) {
        gd_layer_info info;
        cr_assert_eq(gd_model_layer_at(m, i, &info), GD_OK);
        const gd_tensor *t[4] = {&info.input, &info.output, &info.input_grad, &info.output_grad};
        for (int k = 0; k < 4; k++) {
            if (!t[k]->data)
                continue;
            int64_t f = gd_model_max_batch(m);
            for (int d = 1; d < t[k]->ndim; d++)
                f *= t[k]->dims[d];
            size_t j = 0;
            while (j < n && seen[j] != t[k]->data)
                j++;
            if (j == n)
                seen[n++] = t[k]->data;
            floats[j] = f > floats[j] ? f : floats[j];
        }
    }
    for (size_t j = 0; j < n; j++)
        bytes += (size_t)floats[j] * sizeof(float);
    free(seen);
    free(floats);
    return bytes;
}

/* Batch norm keeps running_mean and running_var (F32) and num_batches_tracked (I64). */
Test(model_api, summary_totals_parameters_buffers_and_shared_activations)
{
    gd_model *m = from_spec("linear(6) bn relu dropout residual(linear(6) relu) linear(3)", 1,
                            (int64_t[]){4}, 16);
    gd_summary s;
    cr_assert_eq(gd_model_summary(m, &s), GD_OK, "%s", gd_model_error(m));
    cr_expect_eq(s.parameters, (4 * 6 + 6) + 12 + (6 * 6 + 6) + (6 * 3 + 3));
    cr_expect_eq(s.parameters, gd_model_parameters_flat(m).dims[0]);
    cr_expect_eq(s.buffer_values, 6 + 6 + 1);
    cr_expect_eq(s.buffer_bytes, 12 * sizeof(float) + sizeof(int64_t));
    cr_expect_eq(s.activation_bytes, distinct_activation_bytes(m));
    gd_model_free(m);
}

Test(model_api, summary_of_an_unbuilt_model_is_a_state_error)
{
    gd_model *m;
    cr_assert_eq(gd_model_create(&m, 1), GD_OK);
    gd_summary s;
    cr_expect_eq(gd_model_summary(m, &s), GD_ERR_STATE);
    cr_expect(strstr(gd_model_error(m), "not built"), "%s", gd_model_error(m));
    gd_model_free(m);
}
