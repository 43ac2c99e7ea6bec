/* Model files (safetensors): a PyTorch state_dict loads and computes what PyTorch computes;
 * save then load gives back every tensor, the preprocessing and the outputs bit for bit;
 * every malformed file is rejected with a message naming the file and the problem.
 *
 * Malformed files are crafted byte by byte here: an 8-byte length, a header written out as
 * JSON text, and data bytes of 0x01 (tiny floats, never all zeros).
 *
 * With GRADUS_KEEP_MODEL=FOLDER set, the round-trip tests also leave their model files in
 * FOLDER (NAME.safetensors, plus NAME.json with an input batch and gradus's eval output)
 * for tests/reference/check_gradus_model.py, which compares them with PyTorch. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <gradus.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "golden.h"
#include "scratch.h"

TestSuite(safetensors, .init = scratch_make, .fini = scratch_remove);

#define BATCH 6

/* ------------------------------------------------------------------ helpers */

static gd_tensor random_batch(gd_rng *rng, int64_t n, int ndim, const int64_t *dims)
{
    int64_t shape[GD_MAX_DIMS] = {n};
    int64_t numel = n;
    for (int i = 0; i < ndim; i++)
        numel *= shape[i + 1] = dims[i];
    float *x = malloc((size_t)numel * sizeof *x);
    cr_assert_not_null(x);
    for (int64_t i = 0; i < numel; i++)
        x[i] = (float)gd_rng_normal(rng);
    return gd_tensor_view(x, ndim + 1, shape);
}

/* A model from spec whose parameters, running statistics and num_batches_tracked have all
 * moved from their initial values: a few SGD steps on random data in training mode. */
static gd_model *trained(const char *spec, int ndim, const int64_t *dims)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, spec, 3, ndim, dims, BATCH, &err), GD_OK, "%s",
                 err.message);
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cfg.lr = 0.05;
    cfg.momentum = 0.9;
    gd_optimizer *opt;
    cr_assert_eq(gd_optim_create(&opt, m, &cfg), GD_OK, "%s", gd_optim_error(opt));
    gd_rng *rng;
    gd_rng_create(&rng, 11);
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY};
    for (int step = 0; step < 3; step++) {
        gd_tensor x = random_batch(rng, BATCH, ndim, dims);
        cr_assert_eq(gd_model_forward(m, &x), GD_OK, "%s", gd_model_error(m));
        int32_t labels[BATCH];
        for (int i = 0; i < BATCH; i++)
            labels[i] = (int32_t)(gd_rng_next_u64(rng) % (uint64_t)gd_model_output(m)->dims[1]);
        double value;
        cr_assert_eq(gd_model_loss(m, &loss, labels, NULL, &value), GD_OK, "%s", gd_model_error(m));
        cr_assert_eq(gd_model_backward(m), GD_OK, "%s", gd_model_error(m));
        cr_assert_eq(gd_optim_step(opt), GD_OK);
        free(x.data);
    }
    gd_rng_free(rng);
    gd_optim_free(opt);
    return m;
}

static gd_model *load_ok(const char *path, gd_preprocess **pre)
{
    gd_model *m = NULL;
    gd_error err;
    cr_assert_eq(gd_model_load(&m, pre, path, BATCH, &err), GD_OK, "%s", err.message);
    cr_assert_not_null(m);
    return m;
}

static void save_ok(gd_model *m, const gd_preprocess *pre, const char *path)
{
    gd_error err;
    cr_assert_eq(gd_model_save(m, pre, path, &err), GD_OK, "%s", err.message);
}

static void expect_same_tensors(const gd_model *a, const gd_model *b)
{
    cr_assert_eq(gd_model_tensor_count(a), gd_model_tensor_count(b));
    for (size_t i = 0; i < gd_model_tensor_count(a); i++) {
        const gd_named_tensor *x = gd_model_tensor_at(a, i), *y = gd_model_tensor_at(b, i);
        cr_expect_str_eq(x->name, y->name);
        cr_assert_eq(x->dtype, y->dtype, "%s", x->name);
        if (x->dtype == GD_DTYPE_I64) {
            cr_expect_eq(*x->i64, *y->i64, "%s", x->name);
            continue;
        }
        int64_t n = gd_tensor_numel(&x->value);
        cr_assert_eq(n, gd_tensor_numel(&y->value), "%s", x->name);
        cr_expect(memcmp(x->value.data, y->value.data, (size_t)n * sizeof(float)) == 0,
                  "%s differs after the round trip", x->name);
    }
}

/* Eval-mode output of m for x, copied. */
static float *eval_output(gd_model *m, const gd_tensor *x, int64_t *numel)
{
    gd_model_set_training(m, false);
    cr_assert_eq(gd_model_forward(m, x), GD_OK, "%s", gd_model_error(m));
    const gd_tensor *y = gd_model_output(m);
    *numel = gd_tensor_numel(y);
    float *copy = malloc((size_t)*numel * sizeof *copy);
    memcpy(copy, y->data, (size_t)*numel * sizeof *copy);
    return copy;
}

static cJSON *tensor_json(const float *data, int ndim, const int64_t *dims)
{
    cJSON *t = cJSON_CreateObject(), *shape = cJSON_AddArrayToObject(t, "shape"),
          *values = cJSON_AddArrayToObject(t, "data");
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)dims[i]));
        n *= dims[i];
    }
    for (int64_t i = 0; i < n; i++)
        cJSON_AddItemToArray(values, cJSON_CreateNumber(data[i]));
    return t;
}

/* With GRADUS_KEEP_MODEL=FOLDER, leaves a copy of the model file and an input batch with
 * gradus's eval output there, for check_gradus_model.py. */
static void keep_for_pytorch(const char *name, const char *model_path, gd_model *m,
                             const gd_tensor *x)
{
    const char *folder = getenv("GRADUS_KEEP_MODEL");
    if (!folder)
        return;
    char path[512];
    size_t len;
    unsigned char *bytes = scratch_read(model_path, &len);
    snprintf(path, sizeof path, "%s/%s.safetensors", folder, name);
    scratch_write(path, bytes, len);
    free(bytes);
    int64_t n;
    float *y = eval_output(m, x, &n);
    const gd_tensor *out = gd_model_output(m);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "input", tensor_json(x->data, x->ndim, x->dims));
    cJSON_AddItemToObject(root, "output", tensor_json(y, out->ndim, out->dims));
    char *text = cJSON_Print(root);
    snprintf(path, sizeof path, "%s/%s.json", folder, name);
    scratch_write(path, text, strlen(text));
    free(text);
    free(y);
    cJSON_Delete(root);
}

/* Save, load, and compare tensors and eval outputs bit for bit. */
static void expect_round_trip(const char *name, const char *spec, int ndim, const int64_t *dims)
{
    gd_model *m = trained(spec, ndim, dims);
    const char *path = scratch_path("model.safetensors");
    save_ok(m, NULL, path);
    gd_model *back = load_ok(path, NULL);
    cr_expect_str_eq(gd_model_spec(back), spec);
    int64_t got[GD_MAX_DIMS];
    cr_assert_eq(gd_model_input_shape(back, got), ndim);
    cr_expect_arr_eq(got, dims, (size_t)ndim * sizeof *dims);
    expect_same_tensors(m, back);

    gd_rng *rng;
    gd_rng_create(&rng, 5);
    gd_tensor x = random_batch(rng, BATCH, ndim, dims);
    int64_t n1, n2;
    float *y1 = eval_output(m, &x, &n1), *y2 = eval_output(back, &x, &n2);
    cr_assert_eq(n1, n2);
    cr_expect(memcmp(y1, y2, (size_t)n1 * sizeof *y1) == 0, "eval outputs differ");
    keep_for_pytorch(name, path, back, &x);
    free(y1);
    free(y2);
    free(x.data);
    gd_rng_free(rng);
    gd_model_free(m);
    gd_model_free(back);
}

/* A file made of an 8-byte length (which may lie), header text and data_len bytes of 0x01. */
static const char *craft_raw(uint64_t header_len, const char *header, size_t data_len)
{
    size_t text_len = strlen(header), total = 8 + text_len + data_len;
    unsigned char *buf = malloc(total);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(header_len >> (8 * i));
    memcpy(buf + 8, header, text_len);
    memset(buf + 8 + text_len, 1, data_len);
    const char *path = scratch_path("crafted.safetensors");
    scratch_write(path, buf, total);
    free(buf);
    return path;
}

static const char *craft(const char *header, size_t data_len)
{
    return craft_raw(strlen(header), header, data_len);
}

/* One header entry, as JSON text. */
#define ENTRY(name, dtype, shape, offsets)                                                   \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offsets "}"
/* A valid file for linear(3) on 2 inputs: 0.weight [3, 2] then 0.bias [3], 36 bytes. */
#define LINEAR_META "\"__metadata__\":{\"gradus.spec\":\"linear(3)\",\"gradus.input_shape\":\"2\"}"
#define WEIGHT ENTRY("0.weight", "F32", "[3,2]", "[0,24]")
#define BIAS ENTRY("0.bias", "F32", "[3]", "[24,36]")

/* gd_model_load fails with status want, no model, and a message naming the file and
 * containing phrase. */
static void expect_rejected(const char *path, gd_status want, const char *phrase)
{
    gd_model *m = NULL;
    gd_error err;
    gd_status st = gd_model_load(&m, NULL, path, BATCH, &err);
    cr_expect_eq(st, want, "status %s, message: %s", gd_strerror(st), err.message);
    cr_expect_null(m);
    cr_expect(strstr(err.message, path), "message names the file: %s", err.message);
    cr_expect(strstr(err.message, phrase), "message says \"%s\": %s", phrase, err.message);
    gd_model_free(m);
}

/* ------------------------------------------------------- PyTorch interop */

/* tests/reference/gen_safetensors.py saved a trained nn.Sequential's state_dict (its own
 * writer, PyTorch's key order, num_batches_tracked a 0-d I64) and its eval output in
 * float64. gradus computes in float32: each output is a 16-term sum over batch-normed
 * 8-term sums, a few float32 roundings (6e-8 relative each) per term, so 1e-5 relative
 * leaves a wide margin; outputs that cancel to near zero carry the terms' absolute error,
 * hence 1e-6 of the largest output as the absolute floor. Measured: worst error 5.9e-8 of
 * the scale, 2.0e-7 relative on outputs above a tenth of it. Reading the weights
 * transposed, or ignoring BatchNorm's running statistics, misses by orders of magnitude. */
static void expect_pytorch_outputs(const char *name, const char *file)
{
    cJSON *root = golden_load("safetensors.json");
    const cJSON *c = golden_case(root, name);
    gd_model *m = load_ok(file, NULL);
    cr_expect_str_eq(gd_model_spec(m), golden_field(c, "spec")->valuestring);
    gd_tensor x = golden_tensor(c, "input"), want = golden_tensor(c, "output");
    int64_t n;
    float *y = eval_output(m, &x, &n);
    cr_assert_eq(n, gd_tensor_numel(&want));
    double scale = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want.data[i]));
    expect_close(y, want.data, n, 1e-5, 1e-6 * scale, "eval output");
    free(y);
    free(x.data);
    free(want.data);
    gd_model_free(m);
    cJSON_Delete(root);
}

Test(safetensors, loads_a_pytorch_state_dict_and_computes_its_outputs)
{
    expect_pytorch_outputs("torch_mlp", "reference/torch_mlp.safetensors");
    gd_model *m = load_ok("reference/torch_mlp.safetensors", NULL);
    cr_expect_eq(*gd_model_tensor(m, "1.num_batches_tracked")->i64, 3);
    gd_model_free(m);
}

/* The same for a convolutional nn.Sequential (conv with padding, grouped strided conv,
 * BatchNorm2d with running statistics, max and average pooling, flatten, linear): sums of
 * up to 27 terms per convolution output, so the same tolerance holds. */
Test(safetensors, loads_a_pytorch_convolutional_net_and_computes_its_outputs)
{
    expect_pytorch_outputs("torch_cnn", "reference/torch_cnn.safetensors");
}

/* ------------------------------------------- files a PyTorch user writes */

#define FASHION_TEST_IMAGES "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

/* The first n test images of Fashion-MNIST as gradus reads them (1 x 28 x 28, pixels / 255)
 * viewed as the model's input; loader holds the data until it is freed. */
static gd_tensor first_test_images(const gd_model *m, int64_t n, gd_dataset **ds, gd_loader **loader)
{
    gd_error err;
    const int32_t *labels;
    gd_tensor x;
    cr_assert_eq(gd_dataset_read_idx(ds, FASHION_TEST_IMAGES, NULL, &err), GD_OK, "%s", err.message);
    cr_assert_eq(gd_loader_create(loader, *ds, n, false, false, 0, &err), GD_OK, "%s", err.message);
    gd_loader_start_epoch(*loader, 0);
    cr_assert(gd_loader_next(*loader, &x, &labels));
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_model_input_shape(m, dims);
    gd_tensor v = gd_tensor_view(x.data, ndim + 1, (int64_t[]){n, dims[0], dims[1], dims[2]});
    cr_assert_eq(gd_tensor_numel(&v), gd_tensor_numel(&x), "the model takes the images' values");
    return v;
}

/* tests/reference/gen_pytorch_models.py trained the model in PyTorch and saved it with
 * docs/pytorch.md's snippet (no gradus.input_shape); its golden logits are the float64
 * forward of the float32 weights. Each logit sums 784 products (the MLP's first layer, 100
 * for the convolution): float32 accumulates about sqrt(784) * 6e-8 of the terms' size,
 * so 1e-5 of the largest logit is the absolute floor, with 1e-5 relative as for the other
 * PyTorch files. */
static void expect_pytorch_logits(gd_model *m, const char *name)
{
    cJSON *root = golden_load("pytorch.json");
    const cJSON *c = golden_case(root, name);
    cr_expect_str_eq(gd_model_spec(m), golden_field(c, "spec")->valuestring);
    int64_t n = (int64_t)golden_field(c, "images")->valuedouble;
    gd_dataset *ds;
    gd_loader *loader;
    gd_tensor x = first_test_images(m, n, &ds, &loader);
    int64_t count;
    float *y = eval_output(m, &x, &count);
    gd_tensor want = golden_tensor(c, "logits");
    cr_assert_eq(count, gd_tensor_numel(&want));
    expect_close_golden_scaled(y, c, "logits", 1e-5, 1e-5);
    free(y);
    free(want.data);
    gd_loader_free(loader);
    gd_dataset_free(ds);
    cJSON_Delete(root);
}

Test(safetensors, a_pytorch_mlp_without_an_input_shape_takes_it_from_its_first_weight)
{
    gd_model *m = NULL;
    gd_error err;
    cr_assert_eq(gd_model_load(&m, NULL, "reference/pytorch_mlp.safetensors", 8, &err), GD_OK, "%s",
                 err.message);
    int64_t dims[GD_MAX_DIMS];
    cr_assert_eq(gd_model_input_shape(m, dims), 1);
    cr_expect_eq(dims[0], 784, "0.weight is 16 x 784");
    expect_pytorch_logits(m, "pytorch_mlp");
    gd_model_free(m);
}

/* A convolution's weight fixes the channels, not the planes: the caller's data decides. */
Test(safetensors, a_pytorch_cnn_without_an_input_shape_needs_the_data_shape)
{
    expect_rejected("reference/pytorch_cnn.safetensors", GD_ERR_FORMAT,
                    "no gradus.input_shape in its metadata");
    gd_model *m = NULL;
    gd_error err;
    cr_assert_eq(gd_model_load_as(&m, NULL, "reference/pytorch_cnn.safetensors", 3,
                                  (int64_t[]){1, 28, 28}, 8, &err),
                 GD_OK, "%s", err.message);
    expect_pytorch_logits(m, "pytorch_cnn");
    gd_model_free(m);
}

/* The file's own shape wins over the caller's, and a first linear's over the caller's. */
Test(safetensors, load_as_prefers_what_the_file_says)
{
    gd_model *m = NULL;
    gd_error err;
    int64_t dims[GD_MAX_DIMS];
    cr_assert_eq(gd_model_load_as(&m, NULL, "reference/torch_mlp.safetensors", 1, (int64_t[]){99},
                                  BATCH, &err),
                 GD_OK, "%s", err.message);
    cr_expect_eq(gd_model_input_shape(m, dims), 1);
    cr_expect_eq(dims[0], 8, "gradus.input_shape is 8");
    gd_model_free(m);
    cr_assert_eq(gd_model_load_as(&m, NULL, "reference/pytorch_mlp.safetensors", 3,
                                  (int64_t[]){1, 28, 28}, BATCH, &err),
                 GD_OK, "%s", err.message);
    cr_expect_eq(gd_model_input_shape(m, dims), 1);
    cr_expect_eq(dims[0], 784, "0.weight is 16 x 784");
    gd_model_free(m);
}

Test(safetensors, load_as_rejects_a_bad_shape_argument)
{
    gd_model *m = NULL;
    gd_error err;
    cr_expect_eq(gd_model_load_as(&m, NULL, "reference/pytorch_cnn.safetensors", 4,
                                  (int64_t[]){1, 1, 28, 28}, BATCH, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_model_load_as(&m, NULL, "reference/pytorch_cnn.safetensors", 3, NULL, BATCH, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_null(m);
}

/* ------------------------------------------------------------ round trips */

Test(safetensors, round_trip_of_an_mlp_is_bit_exact)
{
    expect_round_trip("mlp", "linear(16) bn relu dropout(0.3) linear(3)", 1, (int64_t[]){8});
}

Test(safetensors, round_trip_of_a_convolutional_net_is_bit_exact)
{
    expect_round_trip("conv",
                      "conv(4, 3, pad=1) bn relu maxpool(2) residual(conv(4, 3, pad=1) bn relu) "
                      "avgpool(2) flatten dropout(0.2) linear(5)",
                      3, (int64_t[]){2, 8, 8});
}

Test(safetensors, round_trip_of_leaky_and_prelu_layers_is_bit_exact)
{
    expect_round_trip("act", "linear(6) prelu(per_channel=true) linear(6) leaky_relu(0.2) "
                             "linear(6) elu(0.5) linear(4) gelu linear(3)",
                      1, (int64_t[]){5});
}

/* 2000 batch norms: 10000 tensors, each looked up by name on loading (a linear search
 * of the file for each made that quadratic). Asserts the round trip, not the time. */
Test(safetensors, round_trip_of_ten_thousand_tensors_is_bit_exact)
{
    char *spec = malloc(3 * 2000 + 1);
    for (int i = 0; i < 2000; i++)
        memcpy(spec + 3 * i, "bn ", 3);
    spec[3 * 2000] = '\0';
    expect_round_trip("many_tensors", spec, 1, (int64_t[]){4});
    free(spec);
}

static gd_dataset *correlated_data(int64_t n, int64_t d)
{
    float *x = malloc((size_t)(n * d) * sizeof *x);
    gd_rng *rng;
    gd_rng_create(&rng, 9);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) /* feature j mixes in feature 0: correlated */
            x[i * d + j] = (float)(gd_rng_normal(rng) * (j + 1) + (j ? 0.5 * x[i * d] : 3.0));
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, n, 1, &d, x, NULL, 1, &err), GD_OK, "%s", err.message);
    free(x);
    gd_rng_free(rng);
    return ds;
}

Test(safetensors, round_trip_keeps_the_preprocessing_bit_exact)
{
    gd_dataset *ds = correlated_data(40, 6);
    gd_preprocess *pre, *back_pre = NULL;
    gd_error err;
    cr_assert_eq(gd_preprocess_fit(&pre, "pca:3", 1e-5, ds, &err), GD_OK, "%s", err.message);
    gd_model *m = trained("linear(4) relu linear(2)", 1, (int64_t[]){3});
    const char *path = scratch_path("model.safetensors");
    save_ok(m, pre, path);
    gd_model *back = load_ok(path, &back_pre);
    cr_assert_not_null(back_pre);
    cr_expect_str_eq(gd_preprocess_spec(back_pre), "pca:3");
    expect_same_tensors(m, back);

    float *y1 = malloc(40 * 3 * sizeof *y1), *y2 = malloc(40 * 3 * sizeof *y2);
    cr_assert_eq(gd_preprocess_apply(pre, gd_dataset_features(ds), 40, y1), GD_OK);
    cr_assert_eq(gd_preprocess_apply(back_pre, gd_dataset_features(ds), 40, y2), GD_OK);
    cr_expect(memcmp(y1, y2, 40 * 3 * sizeof *y1) == 0, "the restored pca transforms differently");
    free(y1);
    free(y2);
    gd_preprocess_free(pre);
    gd_preprocess_free(back_pre);
    gd_model_free(m);
    gd_model_free(back);
    gd_dataset_free(ds);
}

Test(safetensors, a_file_without_preprocessing_loads_none)
{
    gd_model *m = trained("linear(2)", 1, (int64_t[]){3});
    const char *path = scratch_path("model.safetensors");
    save_ok(m, NULL, path);
    gd_preprocess *pre = (gd_preprocess *)&pre; /* any non-NULL value: load must clear it */
    gd_model *back = load_ok(path, &pre);
    cr_expect_null(pre);
    gd_model_free(m);
    gd_model_free(back);
}

Test(safetensors, saving_needs_a_model_built_from_a_spec)
{
    gd_model *m;
    gd_model_create(&m, 1);
    gd_model_add_linear(m, 2, 2, true);
    cr_assert_eq(gd_model_build(m, 1, (int64_t[]){2}, 1), GD_OK);
    const char *path = scratch_path("model.safetensors");
    gd_error err;
    cr_expect_eq(gd_model_save(m, NULL, path, &err), GD_ERR_STATE);
    cr_expect(strstr(err.message, "not built from a spec"), "%s", err.message);
    cr_expect_eq(scratch_count(), 0, "nothing is written");
    gd_model_free(m);
}

Test(safetensors, saving_rejects_preprocessing_that_does_not_feed_the_model)
{
    gd_dataset *ds = correlated_data(40, 6);
    gd_preprocess *pre;
    gd_error err;
    cr_assert_eq(gd_preprocess_fit(&pre, "pca:3", 1e-5, ds, &err), GD_OK, "%s", err.message);
    gd_model *m = trained("linear(2)", 1, (int64_t[]){6});
    cr_expect_eq(gd_model_save(m, pre, scratch_path("model.safetensors"), &err), GD_ERR_SHAPE);
    cr_expect(strstr(err.message, "gives samples of shape 3; the model takes 6"), "%s", err.message);
    gd_preprocess_free(pre);
    gd_model_free(m);
    gd_dataset_free(ds);
}

/* The layout huggingface's readers expect: header padded to 8 bytes, "__metadata__" of
 * strings, tensors in state_dict order packed from offset 0, the 0-d num_batches_tracked. */
Test(safetensors, writes_the_documented_layout_and_metadata)
{
    const char *spec = "conv(2, 3) bn relu flatten linear(2)";
    gd_model *m = trained(spec, 3, (int64_t[]){1, 5, 5});
    const char *path = scratch_path("model.safetensors");
    save_ok(m, NULL, path);
    size_t len;
    unsigned char *bytes = scratch_read(path, &len);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n |= (uint64_t)bytes[i] << (8 * i);
    cr_assert_lt(n, len);
    cr_expect_eq(n % 8, 0, "header length %llu", (unsigned long long)n);
    cJSON *h = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)n);
    cr_assert_not_null(h);
    const cJSON *meta = cJSON_GetObjectItem(h, "__metadata__");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "gradus.spec")), spec);
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "gradus.input_shape")), "1,5,5");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "gradus.preprocess")), "none");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "format")), "pt");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(meta, "gradus.version")), gd_version());

    double at = 0;
    const cJSON *e = meta->next;
    for (size_t i = 0; i < gd_model_tensor_count(m); i++, e = e->next) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        cr_assert_not_null(e);
        cr_expect_str_eq(e->string, t->name);
        const cJSON *off = cJSON_GetObjectItem(e, "data_offsets");
        cr_expect_eq(cJSON_GetArrayItem(off, 0)->valuedouble, at, "%s starts at %g", t->name, at);
        at = cJSON_GetArrayItem(off, 1)->valuedouble;
    }
    cr_expect_eq(at, (double)(len - 8 - n), "the tensors fill the data exactly");
    const cJSON *nbt = cJSON_GetObjectItem(h, "1.num_batches_tracked");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(nbt, "dtype")), "I64");
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(nbt, "shape")), 0);
    cJSON_Delete(h);
    free(bytes);
    gd_model_free(m);
}

/* Other writers need not pad the header; gradus moves the data to an aligned place. */
Test(safetensors, reads_a_header_without_padding)
{
    const char *header = "{" LINEAR_META ", " WEIGHT ", " BIAS "}"; /* 194 bytes */
    cr_assert_neq(strlen(header) % 4, 0, "the test needs an unaligned header");
    gd_model *m = load_ok(craft(header, 36), NULL);
    float want;
    memset(&want, 1, sizeof want);
    cr_expect_eq(gd_model_param(m, "0.bias")->data[2], want);
    gd_model_free(m);
}

/* ----------------------------------------------------- rejections: the file */

Test(safetensors, rejects_a_missing_file)
{
    expect_rejected(scratch_path("absent.safetensors"), GD_ERR_IO, "No such file");
}

Test(safetensors, rejects_a_folder)
{
    expect_rejected(scratch_dir(), GD_ERR_IO, "not a regular file");
}

Test(safetensors, rejects_a_file_shorter_than_8_bytes)
{
    const char *path = scratch_path("short.safetensors");
    scratch_write(path, "\x10\0\0", 3);
    expect_rejected(path, GD_ERR_FORMAT, "3 bytes");
}

Test(safetensors, rejects_a_header_longer_than_the_file)
{
    expect_rejected(craft_raw(1000, "{}", 0), GD_ERR_FORMAT,
                    "header length is 1000 bytes but only 2 bytes follow");
}

Test(safetensors, rejects_an_absurd_header_length)
{
    expect_rejected(craft_raw(200000000, "{}", 0), GD_ERR_FORMAT, "absurd");
}

Test(safetensors, rejects_a_header_that_is_not_json)
{
    expect_rejected(craft("{\"a\": [1, 2", 0), GD_ERR_FORMAT, "not valid JSON");
}

Test(safetensors, rejects_a_header_that_is_not_an_object)
{
    expect_rejected(craft("[1, 2]", 0), GD_ERR_FORMAT, "the header is an array");
}

Test(safetensors, rejects_text_after_the_header_object)
{
    expect_rejected(craft("{} {}", 0), GD_ERR_FORMAT, "text after its JSON");
}

/* ------------------------------------------------- rejections: the entries */

Test(safetensors, rejects_an_entry_that_is_not_an_object)
{
    expect_rejected(craft("{\"w\": 3}", 0), GD_ERR_FORMAT, "tensor w is a number");
}

Test(safetensors, rejects_an_entry_without_dtype)
{
    expect_rejected(craft("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), GD_ERR_FORMAT,
                    "tensor w has no dtype");
}

Test(safetensors, rejects_an_entry_without_shape)
{
    expect_rejected(craft("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), GD_ERR_FORMAT,
                    "tensor w has no shape");
}

Test(safetensors, rejects_an_entry_without_data_offsets)
{
    expect_rejected(craft("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), GD_ERR_FORMAT,
                    "tensor w has no data_offsets");
}

Test(safetensors, rejects_a_dtype_that_is_not_a_string)
{
    expect_rejected(craft("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                    GD_ERR_FORMAT, "tensor w: dtype is a number");
}

Test(safetensors, rejects_a_shape_that_is_not_an_array)
{
    expect_rejected(craft("{" ENTRY("w", "F32", "\"1\"", "[0,4]") "}", 4), GD_ERR_FORMAT,
                    "tensor w: shape is a string");
}

Test(safetensors, rejects_a_negative_size)
{
    expect_rejected(craft("{" ENTRY("w", "F32", "[2,-1]", "[0,4]") "}", 4), GD_ERR_FORMAT,
                    "tensor w: shape[1] is -1");
}

Test(safetensors, rejects_a_fractional_size)
{
    expect_rejected(craft("{" ENTRY("w", "F32", "[1.5]", "[0,4]") "}", 4), GD_ERR_FORMAT,
                    "shape[0] is 1.5");
}

Test(safetensors, rejects_offsets_that_are_not_two_numbers)
{
    expect_rejected(craft("{" ENTRY("w", "F32", "[1]", "[0,4,8]") "}", 8), GD_ERR_FORMAT,
                    "data_offsets has 3 numbers");
}

Test(safetensors, rejects_a_real_dtype_gradus_does_not_read)
{
    expect_rejected(craft("{" ENTRY("w", "F64", "[1]", "[0,8]") "}", 8), GD_ERR_FORMAT,
                    "tensor w has dtype F64; gradus reads F32 and I64");
}

Test(safetensors, rejects_an_unknown_dtype)
{
    expect_rejected(craft("{" ENTRY("w", "Q7", "[1]", "[0,8]") "}", 8), GD_ERR_FORMAT,
                    "tensor w has unknown dtype \"Q7\"");
}

Test(safetensors, rejects_more_than_four_dimensions)
{
    expect_rejected(craft("{" ENTRY("w", "F32", "[1,1,1,1,1]", "[0,4]") "}", 4), GD_ERR_FORMAT,
                    "tensor w has 5 dimensions");
}

Test(safetensors, rejects_a_shape_whose_size_overflows)
{
    expect_rejected(craft("{" ENTRY("w", "F32", "[4294967296,4294967296]", "[0,4]") "}", 4),
                    GD_ERR_FORMAT, "more elements than 64 bits count");
}

Test(safetensors, rejects_offsets_out_of_order)
{
    expect_rejected(craft("{" ENTRY("w", "F32", "[1]", "[4,0]") "}", 4), GD_ERR_FORMAT,
                    "data_offsets [4, 0] are not in order");
}

Test(safetensors, rejects_offsets_outside_the_data)
{
    expect_rejected(craft("{" ENTRY("w", "F32", "[2]", "[0,8]") "}", 4), GD_ERR_FORMAT,
                    "lie outside the 4 bytes of data");
}

Test(safetensors, rejects_offsets_that_disagree_with_the_shape)
{
    expect_rejected(craft("{" ENTRY("w", "F32", "[3]", "[0,8]") "}", 8), GD_ERR_FORMAT,
                    "hold 8 bytes; F32 [3] needs 12");
}

Test(safetensors, rejects_overlapping_tensors)
{
    expect_rejected(craft("{" ENTRY("a", "F32", "[2]", "[0,8]") "," ENTRY("b", "F32", "[2]", "[4,12]") "}",
                          12),
                    GD_ERR_FORMAT, "tensors a and b overlap");
}

Test(safetensors, rejects_a_gap_between_tensors)
{
    expect_rejected(craft("{" ENTRY("a", "F32", "[1]", "[0,4]") "," ENTRY("b", "F32", "[1]", "[8,12]") "}",
                          12),
                    GD_ERR_FORMAT, "bytes [4, 8) of the data belong to no tensor");
}

Test(safetensors, rejects_bytes_after_the_last_tensor)
{
    expect_rejected(craft("{" ENTRY("a", "F32", "[1]", "[0,4]") "}", 8), GD_ERR_FORMAT,
                    "the last 4 bytes of the data belong to no tensor");
}

Test(safetensors, rejects_a_name_used_twice)
{
    expect_rejected(craft("{" ENTRY("a", "F32", "[1]", "[0,4]") "," ENTRY("a", "F32", "[1]", "[4,8]") "}",
                          8),
                    GD_ERR_FORMAT, "tensor a appears twice");
}

Test(safetensors, rejects_metadata_that_is_not_strings)
{
    expect_rejected(craft("{\"__metadata__\":{\"gradus.spec\":[1]}}", 0), GD_ERR_FORMAT,
                    "metadata gradus.spec is an array");
}

/* ---------------------------------------------- rejections: the model */

Test(safetensors, rejects_a_file_without_a_spec)
{
    expect_rejected(craft("{\"__metadata__\":{\"gradus.input_shape\":\"2\"}}", 0), GD_ERR_FORMAT,
                    "no gradus.spec");
}

Test(safetensors, rejects_a_file_without_an_input_shape)
{
    expect_rejected(craft("{\"__metadata__\":{\"gradus.spec\":\"linear(3)\"}}", 0), GD_ERR_FORMAT,
                    "no gradus.input_shape");
}

Test(safetensors, rejects_a_malformed_input_shape)
{
    expect_rejected(craft("{\"__metadata__\":{\"gradus.spec\":\"linear(3)\",\"gradus.input_shape\":"
                          "\"2x3\"}}",
                          0),
                    GD_ERR_FORMAT, "gradus.input_shape is \"2x3\"");
}

/* Checked before a model is built for it: the file's tensors are not read yet. */
Test(safetensors, rejects_an_absurd_input_shape)
{
    expect_rejected(craft("{\"__metadata__\":{\"gradus.spec\":\"linear(3)\",\"gradus.input_shape\":"
                          "\"65536,65536\"}}",
                          0),
                    GD_ERR_FORMAT, "fewer than 2^31 values");
}

Test(safetensors, rejects_a_spec_that_does_not_build)
{
    expect_rejected(craft("{\"__metadata__\":{\"gradus.spec\":\"linear(\",\"gradus.input_shape\":"
                          "\"2\"}}",
                          0),
                    GD_ERR_FORMAT, "gradus.spec: spec 1:");
}

Test(safetensors, rejects_a_tensor_whose_shape_disagrees_with_the_spec)
{
    const char *header = "{" LINEAR_META "," ENTRY("0.weight", "F32", "[3,4]", "[0,48]") "," ENTRY(
        "0.bias", "F32", "[3]", "[48,60]") "}";
    expect_rejected(craft(header, 60), GD_ERR_FORMAT,
                    "tensor 0.weight has shape [3, 4]; the spec gives [3, 2]");
}

Test(safetensors, rejects_a_missing_tensor)
{
    expect_rejected(craft("{" LINEAR_META "," WEIGHT "}", 24), GD_ERR_FORMAT,
                    "tensor 0.bias is missing");
}

static void restore_memory_limit(void) { gd_set_memory_limit(0); }

/* A 168-byte file whose spec asks for two 16384 x 16384 weights (2 GB with gradients and
 * more) and that holds no tensor. Under a 1 MB limit the build could only fail on the
 * limit: the message names the missing tensor only if the file was checked against the
 * spec before the build measured and allocated the spec's sizes. */
Test(safetensors, a_tiny_file_asking_for_gigabytes_is_refused_before_allocating,
     .fini = restore_memory_limit)
{
    const char *header = "{\"__metadata__\":{\"gradus.spec\":\"linear(16384) linear(16384)\","
                         "\"gradus.input_shape\":\"16384\"}}";
    const char *path = craft(header, 0);
    gd_set_memory_limit(1000000);
    expect_rejected(path, GD_ERR_FORMAT, "tensor 0.weight is missing");
}

/* A model file's spec builds as fast as a spec does: each layer inferred once. */
Test(safetensors, a_file_whose_spec_has_four_thousand_layers_loads)
{
    static char header[64 + 5 * 4000];
    int at = snprintf(header, sizeof header, "{\"__metadata__\":{\"gradus.input_shape\":\"4\",\"gradus.spec\":\"");
    for (int i = 0; i < 4000; i++)
        at += snprintf(header + at, sizeof header - (size_t)at, "relu ");
    snprintf(header + at, sizeof header - (size_t)at, "\"}}");
    gd_model *m = load_ok(craft(header, 0), NULL);
    cr_expect_eq(gd_model_layer_count(m), 4000);
    gd_model_free(m);
}

Test(safetensors, a_file_beyond_the_memory_limit_is_not_read, .fini = restore_memory_limit)
{
    gd_set_memory_limit(100);
    const char *header = "{" LINEAR_META "," WEIGHT "," BIAS "}";
    expect_rejected(craft(header, 36), GD_ERR_LIMIT, "beyond the memory limit of 100 bytes");
}

Test(safetensors, rejects_a_tensor_of_the_wrong_dtype)
{
    const char *header = "{" LINEAR_META "," WEIGHT "," ENTRY("0.bias", "I64", "[3]", "[24,48]") "}";
    expect_rejected(craft(header, 48), GD_ERR_FORMAT, "tensor 0.bias has dtype I64; the spec gives F32");
}

Test(safetensors, rejects_a_tensor_the_model_does_not_have)
{
    const char *header =
        "{" LINEAR_META "," WEIGHT "," BIAS "," ENTRY("3.weight", "F32", "[1]", "[36,40]") "}";
    expect_rejected(craft(header, 40), GD_ERR_FORMAT, "tensor 3.weight is not in the model");
}

/* optim.* and rng.state belong to checkpoints, which say so in their metadata. */
Test(safetensors, rejects_optimizer_state_in_a_model_file)
{
    const char *header =
        "{" LINEAR_META "," WEIGHT "," BIAS "," ENTRY("optim.exp_avg", "F32", "[9]", "[36,72]") "}";
    expect_rejected(craft(header, 72), GD_ERR_FORMAT, "tensor optim.exp_avg is not in the model");
}

Test(safetensors, accepts_a_null_error_pointer)
{
    gd_model *m = NULL;
    cr_expect_eq(gd_model_load(&m, NULL, scratch_path("absent"), BATCH, NULL), GD_ERR_IO);
    cr_expect_null(m);
}

/* Files of other formats are named as such, PyTorch's with the conversion. */
Test(safetensors, names_a_pytorch_zip_file_and_its_conversion)
{
    const char *path = scratch_path("model.bin");
    scratch_write(path, "PK\x03\x04\x14\0\0\0\0\0\x08\0archive/data.pkl", 28);
    expect_rejected(path, GD_ERR_FORMAT, "not a safetensors file");
    expect_rejected(path, GD_ERR_FORMAT, "safetensors.torch.save_file");
}

Test(safetensors, names_a_pickle_and_a_pt_file_as_pytorch)
{
    const char *path = scratch_path("old.bin");
    scratch_write(path, "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
    expect_rejected(path, GD_ERR_FORMAT, "docs/pytorch.md");
    const char *pt = scratch_path("weights.pt");
    scratch_write(pt, "0123456789abcdef", 16);
    expect_rejected(pt, GD_ERR_FORMAT, "safetensors.torch.save_file");
}

Test(safetensors, names_a_json_file_as_no_safetensors_file)
{
    const char *path = scratch_path("config.json");
    const char *text = "{\"model\": \"linear(10)\", \"lr\": 0.1}\n";
    scratch_write(path, text, strlen(text));
    expect_rejected(path, GD_ERR_FORMAT, "not a safetensors file");
    expect_rejected(path, GD_ERR_FORMAT, "JSON");
}
