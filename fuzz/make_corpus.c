/* Writes the seed corpora, fuzz/corpus/TARGET/NAME: small valid inputs of every reader,
 * model files and checkpoints saved by gradus itself and config.json written by
 * gd_settings_to_json from the command line's flags, so that the seeds follow the
 * formats as they change. Run by fuzz/make_corpus.sh; the outputs are checked in.
 *
 *   make_corpus OUT_DIR */
#include "../cli/train_config.h"
#include "readers.h"

#include <errno.h>
#include <sys/stat.h>

static const char *g_out;

#define CHECK(call)                                                                       \
    do {                                                                                  \
        gd_status st_ = (call);                                                           \
        if (st_ != GD_OK) {                                                               \
            fprintf(stderr, "make_corpus: %s failed: %s\n", #call, gd_strerror(st_));     \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static const char *seed_path(const char *target, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_out, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", g_out, target, name);
    return path;
}

static void seed(const char *target, const char *name, const void *data, size_t len)
{
    fuzz_write(seed_path(target, name), data, len);
}

static void seed_text(const char *target, const char *name, const char *text)
{
    seed(target, name, text, strlen(text));
}

/* ---------------------------------------------------------- byte buffers */

typedef struct bytes {
    unsigned char data[16384];
    size_t len;
} bytes;

static void put(bytes *b, const void *data, size_t len)
{
    FUZZ_REQUIRE(b->len + len <= sizeof b->data);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void put_be32(bytes *b, uint32_t v)
{
    unsigned char p[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    put(b, p, 4);
}

/* The two-file form of fuzz_split. */
static bytes pair(const bytes *first, const bytes *second)
{
    bytes b = {.len = 0};
    put_be32(&b, (uint32_t)first->len);
    put(&b, first->data, first->len);
    put(&b, second->data, second->len);
    return b;
}

static bytes gzip(const bytes *in)
{
    bytes out = {.len = sizeof out.data};
    z_stream z = {0};
    FUZZ_REQUIRE(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = out.data;
    z.avail_out = (uInt)out.len;
    FUZZ_REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.len = z.total_out;
    deflateEnd(&z);
    return out;
}

/* ------------------------------------------------------------------- IDX */

static bytes idx_images(uint32_t n, uint32_t h, uint32_t w, bool f32)
{
    bytes b = {.len = 0};
    put_be32(&b, f32 ? 0x00000d03 : 0x00000803);
    put_be32(&b, n);
    put_be32(&b, h);
    put_be32(&b, w);
    for (uint32_t i = 0; i < n * h * w; i++) {
        if (f32) {
            float v = (float)i * 0.25f - 1.0f;
            uint32_t bits;
            memcpy(&bits, &v, sizeof bits);
            put_be32(&b, bits);
        } else {
            unsigned char v = (unsigned char)(i * 37);
            put(&b, &v, 1);
        }
    }
    return b;
}

static bytes idx_labels(uint32_t n)
{
    bytes b = {.len = 0};
    put_be32(&b, 0x00000801);
    put_be32(&b, n);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char v = (unsigned char)(i % 3);
        put(&b, &v, 1);
    }
    return b;
}

static void idx_seeds(void)
{
    bytes u8 = idx_images(3, 4, 4, false), f32 = idx_images(2, 3, 3, true);
    bytes alone = idx_images(2, 2, 3, false), l3 = idx_labels(3), l2 = idx_labels(2);
    bytes u8_pair = pair(&u8, &l3), f32_pair = pair(&f32, &l2);
    seed("idx", "u8-images-labels", u8_pair.data, u8_pair.len);
    seed("idx", "f32-images-labels", f32_pair.data, f32_pair.len);
    /* One part: its first four bytes, the magic, read as a length beyond the input. */
    seed("idx", "u8-images-alone", alone.data, alone.len);

    bytes gz_u8 = gzip(&u8), gz_l3 = gzip(&l3), gz_f32 = gzip(&f32), gz_l2 = gzip(&l2);
    bytes gz_alone = gzip(&alone);
    bytes gz_u8_pair = pair(&gz_u8, &gz_l3), gz_f32_pair = pair(&gz_f32, &gz_l2);
    seed("idx_gz", "u8-images-labels.gz", gz_u8_pair.data, gz_u8_pair.len);
    seed("idx_gz", "f32-images-labels.gz", gz_f32_pair.data, gz_f32_pair.len);
    seed("idx_gz", "u8-images-alone.gz", gz_alone.data, gz_alone.len);
    /* Plain parts, which the target compresses: mutations reach the header. */
    seed("idx_gz", "u8-images-labels-plain", u8_pair.data, u8_pair.len);
    seed("idx_gz", "f32-images-alone-plain", f32.data, f32.len);
}

/* ------------------------------------------------------------ CSV, CIFAR */

static void csv_seeds(void)
{
    seed_text("csv", "label-first", "1,0.5,2\n0,1e-3,-4\n2,7,8.25\n");
    seed_text("csv", "header-crlf", "label,a,b,c\r\n3, 0.1 ,0.2,0.3\r\n1,-1,-2,-3\r\n\r\n");
    seed_text("csv", "label-third", "0.5,1.5,4,2\n-0.5,2.5,0,3\n");
    seed_text("csv", "one-column", "7\n8\n");
}

static void cifar_seeds(void)
{
    bytes one = {.len = 0}, two = {.len = 0};
    for (int r = 0; r < 2; r++) {
        bytes *b = r ? &two : &one;
        unsigned char label = (unsigned char)(3 + r * 5);
        put(b, &label, 1);
        for (int i = 0; i < 3072; i++) {
            unsigned char v = (unsigned char)(i * 11 + r);
            put(b, &v, 1);
        }
    }
    /* One part: the label byte 3 makes the split length larger than the input. */
    seed("cifar10", "one-record", one.data, one.len);
    bytes both = pair(&one, &two);
    seed("cifar10", "two-files", both.data, both.len);
}

/* --------------------------------------------------------- model files */

static gd_model *build(const char *spec, int ndim, const int64_t *dims)
{
    gd_model *m;
    gd_error err;
    if (gd_model_from_spec(&m, spec, 7, ndim, dims, 4, &err) != GD_OK) {
        fprintf(stderr, "make_corpus: %s: %s\n", spec, err.message);
        exit(1);
    }
    return m;
}

/* A data set of n samples of shape dims, values drawn from seed, labels 0 to 2. */
static gd_dataset *samples(int64_t n, int ndim, const int64_t *dims)
{
    int64_t per = 1;
    for (int i = 0; i < ndim; i++)
        per *= dims[i];
    float *x = malloc((size_t)(n * per) * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    FUZZ_REQUIRE(x && y);
    gd_rng *rng;
    CHECK(gd_rng_create(&rng, 3));
    for (int64_t i = 0; i < n * per; i++)
        x[i] = (float)gd_rng_normal(rng);
    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(i % 3);
    gd_rng_free(rng);
    gd_dataset *ds;
    gd_error err;
    CHECK(gd_dataset_create(&ds, n, ndim, dims, x, y, 3, &err));
    free(x);
    free(y);
    return ds;
}

/* A model for samples of dims, with preprocess (NULL: none) fitted on raw samples of
 * raw_dims, which differ from dims where it changes the shape (pca:K). */
static void save_model(const char *name, const char *spec, int ndim, const int64_t *dims,
                       const char *preprocess, int raw_ndim, const int64_t *raw_dims)
{
    gd_model *m = build(spec, ndim, dims);
    gd_preprocess *pre = NULL;
    gd_error err;
    if (preprocess) {
        gd_dataset *ds = samples(12, raw_ndim, raw_dims);
        CHECK(gd_preprocess_fit(&pre, preprocess, 0.01, ds, &err));
        gd_dataset_free(ds);
    }
    CHECK(gd_model_save(m, pre, seed_path("model", name), &err));
    gd_preprocess_free(pre);
    gd_model_free(m);
}

static void model_seeds(void)
{
    const int64_t flat[1] = {5}, image[3] = {1, 6, 6};
    save_model("mlp", "linear(3) relu linear(2)", 1, flat, NULL, 0, NULL);
    save_model("mlp-standardize", "linear(4) bn tanh dropout(0.5) linear(3)", 1, flat, "standardize",
               1, flat);
    save_model("mlp-pca", "linear(3, bias=false) prelu linear(2)", 1, (const int64_t[]){3}, "pca:3",
               1, flat);
    save_model("cnn-center", "conv(2, 3, pad=1) bn relu maxpool(2) flatten linear(3)", 3, image,
               "center", 3, image);
    save_model("residual", "residual(linear(5) relu) maxout(1) linear(2)", 1, flat, NULL, 0, NULL);
    save_model("cnn-gap", "conv(2, 3, stride=2) prelu(per_channel=true) avgpool(2, stride=1) gap flatten linear(2)",
               3, image, NULL, 0, NULL);
}

static void save_checkpoint(const char *name, gd_optim_config cfg, int64_t epoch, const char *state)
{
    gd_model *m = build(FUZZ_CHECKPOINT_SPEC, 1, (int64_t[]){FUZZ_CHECKPOINT_FEATURES});
    gd_optimizer *opt;
    gd_error err;
    CHECK(gd_optim_create(&opt, m, &cfg));
    CHECK(gd_checkpoint_save(m, opt, NULL, epoch, state, seed_path("checkpoint", name), &err));
    gd_optim_free(opt);
    gd_model_free(m);
}

static void checkpoint_seeds(void)
{
    gd_optim_config sgd = gd_optim_defaults(GD_OPTIM_SGD);
    sgd.momentum = 0.9;
    save_checkpoint("adam", gd_optim_defaults(GD_OPTIM_ADAM), 3, "{\"best\": 0.5}");
    save_checkpoint("sgd-momentum", sgd, 0, NULL);
}

/* ------------------------------------------------------- spec and config */

static void spec_seeds(void)
{
    seed_text("spec", "mlp", "linear(256) bn relu dropout(0.2) linear(10)");
    seed_text("spec", "options",
              "linear(16, init=kaiming_normal(mode=fan_out, nonlinearity=relu), bias_init=zeros)\n"
              "leaky_relu(0.2) elu(alpha=1) softplus(beta=2) # comment\n"
              "linear(out=4, bias=false, init=trunc_normal(std=0.02, a=-1, b=1)) sigmoid gelu silu");
    seed_text("spec", "cnn", "conv(4, 3, pad=1, init=xavier_uniform(gain=1)) batchnorm(eps=1e-5, momentum=0.1) relu "
                             "maxpool(2) conv2d(out_channels=4, kernel_size=3, stride=1, padding=1, dilation=1, groups=2) "
                             "avgpool(kernel=2, stride=1, padding=0) gap flatten linear(3)");
    seed_text("spec", "residual", "residual(conv(1, 3, pad=1) bn relu) flatten residual(linear(8) tanh) "
                                  "prelu(per_channel=true, init=0.1) maxout(k=2) linear(2, init=orthogonal(gain=1))");
    seed_text("spec", "inits", "linear(3, init=uniform(-0.1, 0.1), bias_init=constant(0.5)) "
                               "linear(3, init=normal(mean=0, std=0.01), bias_init=ones) "
                               "linear(3, init=xavier_normal, bias_init=zeros)");
}

static void config_seed(const char *name, int argc, char **argv)
{
    train_config c;
    FUZZ_REQUIRE(train_config_parse(&c, argc, argv) == EXIT_OK);
    char *text = NULL;
    gd_error err;
    CHECK(gd_settings_to_json(&c.s, &text, &err));
    seed_text("config", name, text);
    free(text);
    train_config_free(&c);
}

static void config_seeds(void)
{
    char *defaults[] = {"train", NULL};
    char *flags[] = {"train", "--data", "csv:a.csv,b.csv", "--label-column", "2", "--csv-header",
                     "--model", "conv(8, 3, pad=1) relu flatten linear(10)", "--optim", "sgd",
                     "--schedule", "step:5:0.5", "--warmup", "2", "--crop-padding", "4", "--hflip",
                     "--random-erasing", "0.25", "--seed", "12345", "--threads", "2",
                     "--limit", "100", "--val-size", "10", "--preprocess", "pca:20", NULL};
    config_seed("defaults.json", 1, defaults);
    config_seed("all-flags.json", (int)(sizeof flags / sizeof flags[0]) - 1, flags);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus OUT_DIR\n");
        return 2;
    }
    g_out = argv[1];
    gd_set_num_threads(1);
    idx_seeds();
    csv_seeds();
    cifar_seeds();
    model_seeds();
    checkpoint_seeds();
    spec_seeds();
    config_seeds();
    return 0;
}
