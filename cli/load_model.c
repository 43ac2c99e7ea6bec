/* What eval and predict share: the model --model names (a file or a run folder), the
 * run's data settings, the classes' names, and the check of the inputs' scale. */
#include "load_model.h"

#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Batches of evaluation and prediction: large enough to keep the matrix products
 * efficient, small enough for any model's activations. */
#define EVAL_BATCH 256
/* config.json is a few hundred bytes; a megabyte is no run's. */
#define CONFIG_MAX (1 << 20)
#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

static bool is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* RUN/config.json whole, or NULL after a message (I/O failures 1, too large 3). */
static char *read_config(const char *cmd, const char *path, int *rc)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *rc = fail(EXIT_FAILURE_RUN, cmd, "--model: %s: cannot open: %s (is the folder a gradus "
                                          "run?)", path, strerror(errno));
        return NULL;
    }
    char *text = calloc(1, CONFIG_MAX + 1);
    size_t len = text ? fread(text, 1, CONFIG_MAX + 1, f) : 0;
    bool failed = ferror(f);
    fclose(f);
    if (!text || failed || len > CONFIG_MAX) {
        *rc = !text || failed ? fail(EXIT_FAILURE_RUN, cmd, "--model: cannot read %s", path)
                              : fail(EXIT_BAD_DATA, cmd, "--model: %s is larger than %d bytes: "
                                                         "no run's config.json", path, CONFIG_MAX);
        free(text);
        return NULL;
    }
    return text;
}

static int read_run(const char *cmd, const char *dir, model_source *src)
{
    char config[PATH_MAX];
    int rc = EXIT_OK;
    if (snprintf(src->path, sizeof src->path, "%s/model.safetensors", dir) >= (int)sizeof src->path ||
        snprintf(config, sizeof config, "%s/config.json", dir) >= (int)sizeof config)
        return fail(EXIT_USAGE, cmd, "--model %s: the path is too long", dir);
    struct stat sb;
    if (stat(src->path, &sb) != 0)
        return fail(EXIT_FAILURE_RUN, cmd, "--model %s: the run folder has no model.safetensors "
                                           "(%s); a run writes it after its first epoch", dir,
                    strerror(errno));
    char *text = read_config(cmd, config, &rc);
    if (!text)
        return rc;
    gd_error err;
    gd_status st = gd_settings_from_json(&src->settings, text, &err);
    free(text);
    if (st != GD_OK)
        return fail(st == GD_ERR_NO_MEMORY ? EXIT_FAILURE_RUN : EXIT_BAD_DATA, cmd, "--model: %s: %s",
                    config, err.message);
    src->run = true;
    return EXIT_OK;
}

int model_source_open(const char *cmd, const char *arg, model_source *src)
{
    *src = (model_source){0};
    gd_settings_defaults(&src->settings);
    if (is_dir(arg))
        return read_run(cmd, arg, src);
    if (snprintf(src->path, sizeof src->path, "%s", arg) >= (int)sizeof src->path)
        return fail(EXIT_USAGE, cmd, "--model %.40s...: the path is too long", arg);
    return EXIT_OK;
}

void model_source_free(model_source *src) { gd_settings_free(&src->settings); }

int load_model_for(const char *cmd, const char *path, const gd_dataset *ds, gd_model **m,
                   gd_preprocess **pre)
{
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_dataset_sample_shape(ds, dims);
    gd_error err;
    gd_status st = gd_model_load_for_inference(m, pre, path, ndim, dims, EVAL_BATCH, &err);
    return st == GD_OK ? EXIT_OK : fail_status(cmd, st, err.message);
}

/* Keras's and torchvision's names, in label order. */
static const char *const FASHION_MNIST[] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                            "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};
static const char *const CIFAR10[] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                      "dog",      "frog",       "horse", "ship", "truck"};

/* Debian's Fashion-MNIST folder however it is written (a trailing slash, a link): the
 * same device and inode. */
static bool is_fashion_mnist_dir(const char *data)
{
    struct stat given, known;
    return stat(data, &given) == 0 && stat(FASHION_MNIST_DIR, &known) == 0 &&
           given.st_dev == known.st_dev && given.st_ino == known.st_ino;
}

const char *const *class_names(const char *data, int classes)
{
    if (!data || classes != 10)
        return NULL;
    if (strcmp(data, "fashion-mnist") == 0 || is_fashion_mnist_dir(data))
        return FASHION_MNIST;
    return strncmp(data, "cifar10:", 8) == 0 ? CIFAR10 : NULL;
}

static float largest_value(gd_dataset *ds)
{
    const float *x = gd_dataset_features(ds);
    int64_t n = x ? gd_dataset_size(ds) * gd_dataset_sample_size(ds) : 0;
    float max = 0;
    for (int64_t i = 0; i < n; i++)
        max = x[i] > max ? x[i] : max;
    return max;
}

/* Data in [0, 1] has every per-feature (or per-channel) mean in [0, 1], so fitted means
 * there say the training data most likely lay in [0, 1] (IDX pixels divided by 255 do),
 * while raw 0-255 pixels give means far above 1 wherever images are not black. An input
 * beyond 1.5 is then out of the training range by more than rounding or a brighter image
 * explains: most likely raw pixels that were never divided by 255. A model without
 * preprocessing stores no means, and nothing is said. */
void warn_if_unscaled(const char *cmd, const char *what, const gd_preprocess *pre,
                      gd_dataset *ds)
{
    double lo, hi;
    if (!pre || !gd_preprocess_mean_range(pre, &lo, &hi) || lo < 0 || hi > 1)
        return;
    float max = largest_value(ds);
    if (max > 1.5f)
        fprintf(stderr, "gradus %s: warning: %s holds values up to %g, but the model was "
                        "trained on data in [0, 1] (its preprocessing's means lie in [%.3g, "
                        "%.3g]); CSV values are used as they are: divide raw 0-255 pixels by "
                        "255, as gradus does for IDX images\n",
                cmd, what, (double)max, lo, hi);
}
