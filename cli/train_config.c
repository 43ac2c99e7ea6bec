/* Flags of `gradus train`, their defaults, and config.json. */
#include "train_config.h"

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const HELP =
    "usage: gradus train [FLAGS]\n"
    "\n"
    "Trains a network, prints one line per epoch (a progress bar on a terminal), and writes\n"
    "RUN_DIR/{model.safetensors, checkpoint.safetensors, metrics.jsonl, summary.json,\n"
    "config.json}. With no flags: the default MLP on Fashion-MNIST.\n"
    "\n"
    "data:\n"
    "  --data SOURCE        fashion-mnist (Debian's dataset-fashion-mnist), a folder with the\n"
    "                       four IDX files, or csv:TRAIN,TEST            [fashion-mnist]\n"
    "  --label-column N     CSV: 0-based column of the label                          [0]\n"
    "  --csv-header         CSV: the first row is a header\n"
    "  --limit N            use only the first N training examples               [all]\n"
    "  --val-size N         validation examples split off the training set        [5000]\n"
    "  --preprocess KIND    none, center, center-channel, standardize, pca:K, whiten[:K],\n"
    "                       zca (fitted on the training split only)           [standardize]\n"
    "  --preprocess-eps E   floor of standardize's deviation; whitening's eigenvalue\n"
    "                       regulariser (pixels in [0, 1] have variances near 0.1)   [0.01]\n"
    "  --crop-padding N     augment: crop at a random offset of the image zero-padded by\n"
    "                       N pixels (0: off)                                         [0]\n"
    "  --hflip              augment: mirror left-right with probability 1/2         [off]\n"
    "  --random-erasing P   augment: zero a random rectangle with probability P       [0]\n"
    "                       (augmentation: training split only, C x H x W images only)\n"
    "model:\n"
    "  --model SPEC|@FILE   the network, e.g. 'linear(256) bn relu linear(10)'\n"
    "                       [" DEFAULT_SPEC "]\n"
    "optimisation:\n"
    "  --optim NAME         sgd, adam, adamw, rmsprop, adagrad                     [adam]\n"
    "  --lr RATE            learning rate                                        [0.001]\n"
    "  --momentum M         SGD and RMSprop momentum                               [0.9]\n"
    "  --weight-decay W     as the optimiser defines it (AdamW: decoupled)           [0]\n"
    "  --schedule KIND      constant, cosine, linear, step:EPOCHS[:GAMMA], exp:GAMMA\n"
    "                                                                          [cosine]\n"
    "  --warmup EPOCHS      linear learning-rate warm-up                             [0]\n"
    "  --label-smoothing E  cross-entropy label smoothing                            [0]\n"
    "  --clip-norm N        clip gradients to this global L2 norm (0: off)           [0]\n"
    "  --epochs N           at most N epochs                                        [30]\n"
    "  --patience N         stop after N epochs without a better validation accuracy\n"
    "                       (0: never); the best model is the one kept            [8]\n"
    "  --batch-size N       mini-batch size; the last partial batch is used, except a\n"
    "                       single leftover sample (batch norm needs two)         [128]\n"
    "run:\n"
    "  --seed N             seeds initialisation, split, shuffling and dropout       [1]\n"
    "  --threads N          threads (0: all cores); same seed + threads = same bits  [0]\n"
    "  --out RUN_DIR        where to write the run (must not exist)  [runs/DATE-TIME]\n"
    "  --resume RUN_DIR     continue a run from its last checkpoint, with its settings\n"
    "                       (--epochs and --threads may be given again)\n"
    "  -h, --help           this text\n";

enum { OPT_DATA = 256, OPT_LABEL_COLUMN, OPT_CSV_HEADER, OPT_LIMIT, OPT_VAL_SIZE, OPT_PREPROCESS,
       OPT_MODEL, OPT_OPTIM, OPT_LR, OPT_MOMENTUM, OPT_WEIGHT_DECAY, OPT_SCHEDULE, OPT_WARMUP,
       OPT_LABEL_SMOOTHING, OPT_CLIP, OPT_EPOCHS, OPT_PATIENCE, OPT_BATCH, OPT_SEED, OPT_THREADS,
       OPT_OUT, OPT_RESUME, OPT_PREPROCESS_EPS, OPT_CROP_PADDING, OPT_HFLIP, OPT_RANDOM_ERASING };

static const struct option options[] = {
    {"data", required_argument, 0, OPT_DATA},
    {"label-column", required_argument, 0, OPT_LABEL_COLUMN},
    {"csv-header", no_argument, 0, OPT_CSV_HEADER},
    {"limit", required_argument, 0, OPT_LIMIT},
    {"val-size", required_argument, 0, OPT_VAL_SIZE},
    {"preprocess", required_argument, 0, OPT_PREPROCESS},
    {"preprocess-eps", required_argument, 0, OPT_PREPROCESS_EPS},
    {"crop-padding", required_argument, 0, OPT_CROP_PADDING},
    {"hflip", no_argument, 0, OPT_HFLIP},
    {"random-erasing", required_argument, 0, OPT_RANDOM_ERASING},
    {"model", required_argument, 0, OPT_MODEL},
    {"optim", required_argument, 0, OPT_OPTIM},
    {"lr", required_argument, 0, OPT_LR},
    {"momentum", required_argument, 0, OPT_MOMENTUM},
    {"weight-decay", required_argument, 0, OPT_WEIGHT_DECAY},
    {"schedule", required_argument, 0, OPT_SCHEDULE},
    {"warmup", required_argument, 0, OPT_WARMUP},
    {"label-smoothing", required_argument, 0, OPT_LABEL_SMOOTHING},
    {"clip-norm", required_argument, 0, OPT_CLIP},
    {"epochs", required_argument, 0, OPT_EPOCHS},
    {"patience", required_argument, 0, OPT_PATIENCE},
    {"batch-size", required_argument, 0, OPT_BATCH},
    {"seed", required_argument, 0, OPT_SEED},
    {"threads", required_argument, 0, OPT_THREADS},
    {"out", required_argument, 0, OPT_OUT},
    {"resume", required_argument, 0, OPT_RESUME},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static void set_text(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
}

static void defaults(train_config *c)
{
    memset(c, 0, sizeof *c);
    set_text(&c->data, "fashion-mnist");
    set_text(&c->model, DEFAULT_SPEC);
    set_text(&c->optim, "adam");
    set_text(&c->schedule, "cosine");
    set_text(&c->preprocess, "standardize");
    c->lr = 1e-3;
    c->preprocess_eps = 0.01;
    c->momentum = 0.9;
    c->epochs = 30;
    c->patience = 8;
    c->batch_size = 128;
    c->val_size = 5000;
    c->seed = 1;
}

#define TEXT_MAX (1 << 20)

/* A small text file (a spec, config.json) whole, or NULL with a message naming it. */
static char *read_text(const char *path, const char *what)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(EXIT_USAGE, "train", "%s: cannot open %s", what, path);
        return NULL;
    }
    char *text = calloc(1, TEXT_MAX + 1);
    size_t len = text ? fread(text, 1, TEXT_MAX + 1, f) : 0;
    fclose(f);
    if (!text || len > TEXT_MAX) {
        fail(EXIT_USAGE, "train", "%s: %s is larger than %d bytes", what, path, TEXT_MAX);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

/* --model @FILE reads the spec from FILE. */
static int read_spec(train_config *c, const char *arg)
{
    if (arg[0] != '@') {
        set_text(&c->model, arg);
        return EXIT_OK;
    }
    char *text = read_text(arg + 1, "--model");
    if (!text)
        return EXIT_USAGE;
    free(c->model);
    c->model = text;
    return EXIT_OK;
}

static int bad_value(const char *flag, const char *value, const char *want)
{
    return fail(EXIT_USAGE, "train", "--%s %s: expected %s", flag, value, want);
}

static int set_count(const char *flag, const char *v, int64_t min, int64_t *out)
{
    if (!parse_int64(v, out) || *out < min)
        return bad_value(flag, v, min > 0 ? "a positive integer" : "a non-negative integer");
    return EXIT_OK;
}

/* A count that must fit an int (a column, a padding, a thread count). */
static int set_int(const char *flag, const char *v, int *out)
{
    int64_t n = 0;
    int rc = set_count(flag, v, 0, &n);
    if (rc == EXIT_OK && n > INT_MAX)
        return bad_value(flag, v, "a non-negative integer that fits an int");
    if (rc == EXIT_OK)
        *out = (int)n;
    return rc;
}

static int set_real(const char *flag, const char *v, double *out)
{
    if (!parse_double(v, out) || *out < 0)
        return bad_value(flag, v, "a non-negative number");
    return EXIT_OK;
}

static int set_probability(const char *flag, const char *v, double *out)
{
    if (!parse_double(v, out) || !(*out >= 0 && *out <= 1))
        return bad_value(flag, v, "a probability in [0, 1]");
    return EXIT_OK;
}

static int apply_option(train_config *c, int opt, const char *v)
{
    int64_t n = 0;
    int rc;
    switch (opt) {
    case OPT_DATA: set_text(&c->data, v); return EXIT_OK;
    case OPT_LABEL_COLUMN: return set_int("label-column", v, &c->label_column);
    case OPT_CSV_HEADER: c->csv_header = true; return EXIT_OK;
    case OPT_LIMIT: return set_count("limit", v, 1, &c->limit);
    case OPT_VAL_SIZE: return set_count("val-size", v, 0, &c->val_size);
    case OPT_PREPROCESS: set_text(&c->preprocess, v); return EXIT_OK;
    case OPT_PREPROCESS_EPS: return set_real("preprocess-eps", v, &c->preprocess_eps);
    case OPT_CROP_PADDING: return set_int("crop-padding", v, &c->crop_padding);
    case OPT_HFLIP: c->hflip = true; return EXIT_OK;
    case OPT_RANDOM_ERASING: return set_probability("random-erasing", v, &c->random_erasing);
    case OPT_MODEL: return read_spec(c, v);
    case OPT_OPTIM: set_text(&c->optim, v); return EXIT_OK;
    case OPT_LR: return set_real("lr", v, &c->lr);
    case OPT_MOMENTUM: return set_real("momentum", v, &c->momentum);
    case OPT_WEIGHT_DECAY: return set_real("weight-decay", v, &c->weight_decay);
    case OPT_SCHEDULE: set_text(&c->schedule, v); return EXIT_OK;
    case OPT_WARMUP: return set_count("warmup", v, 0, &c->warmup);
    case OPT_LABEL_SMOOTHING: return set_real("label-smoothing", v, &c->label_smoothing);
    case OPT_CLIP: return set_real("clip-norm", v, &c->clip_norm);
    case OPT_EPOCHS: c->epochs_given = true; return set_count("epochs", v, 1, &c->epochs);
    case OPT_PATIENCE: return set_count("patience", v, 0, &c->patience);
    case OPT_BATCH: return set_count("batch-size", v, 1, &c->batch_size);
    case OPT_SEED:
        rc = set_count("seed", v, 0, &n);
        c->seed = (uint64_t)n;
        return rc;
    case OPT_THREADS: c->threads_given = true; return set_int("threads", v, &c->threads);
    case OPT_OUT: set_text(&c->out, v); return EXIT_OK;
    case OPT_RESUME: set_text(&c->resume, v); return EXIT_OK;
    }
    return EXIT_USAGE;
}

int train_config_parse(train_config *c, int argc, char **argv)
{
    defaults(c);
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(HELP, stdout);
            return -1;
        }
        if (opt == '?')
            return fail(EXIT_USAGE, "train", "unknown or incomplete flag '%s' (gradus train --help lists them)",
                        argv[optind - 1]);
        int rc = apply_option(c, opt, optarg);
        if (rc != EXIT_OK)
            return rc;
    }
    if (optind < argc)
        return fail(EXIT_USAGE, "train", "unexpected argument '%s'", argv[optind]);
    return EXIT_OK;
}

cJSON *train_config_json(const train_config *c)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "data", c->data);
    cJSON_AddNumberToObject(j, "label_column", c->label_column);
    cJSON_AddBoolToObject(j, "csv_header", c->csv_header);
    cJSON_AddStringToObject(j, "model", c->model);
    cJSON_AddStringToObject(j, "optim", c->optim);
    cJSON_AddNumberToObject(j, "lr", c->lr);
    cJSON_AddNumberToObject(j, "momentum", c->momentum);
    cJSON_AddNumberToObject(j, "weight_decay", c->weight_decay);
    cJSON_AddNumberToObject(j, "label_smoothing", c->label_smoothing);
    cJSON_AddNumberToObject(j, "clip_norm", c->clip_norm);
    cJSON_AddStringToObject(j, "schedule", c->schedule);
    cJSON_AddNumberToObject(j, "warmup", (double)c->warmup);
    cJSON_AddNumberToObject(j, "epochs", (double)c->epochs);
    cJSON_AddNumberToObject(j, "batch_size", (double)c->batch_size);
    cJSON_AddNumberToObject(j, "val_size", (double)c->val_size);
    cJSON_AddNumberToObject(j, "limit", (double)c->limit);
    cJSON_AddNumberToObject(j, "patience", (double)c->patience);
    /* Seeds up to 2^53 survive a JSON number; larger ones are kept as text. */
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "threads", c->threads);
    cJSON_AddStringToObject(j, "preprocess", c->preprocess);
    cJSON_AddNumberToObject(j, "preprocess_eps", c->preprocess_eps);
    cJSON_AddNumberToObject(j, "crop_padding", c->crop_padding);
    cJSON_AddBoolToObject(j, "hflip", c->hflip);
    cJSON_AddNumberToObject(j, "random_erasing", c->random_erasing);
    return j;
}

/* config.json is read with the flags' checks: a file edited by hand (or by anyone) must
 * not hold what no command line can give, such as a batch size of 0 or 1e300, whose
 * conversion to an integer is undefined. The first bad key is kept for the message. */
typedef struct json_reader {
    cJSON *j;
    const char *bad, *want;
} json_reader;

static bool reject(json_reader *r, const char *key, const char *want)
{
    if (!r->bad)
        r->bad = key, r->want = want;
    return false;
}

static bool take_text(json_reader *r, const char *key, char **field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->j, key);
    if (!cJSON_IsString(v))
        return reject(r, key, "a string");
    set_text(field, v->valuestring);
    return true;
}

/* cJSON reads 1e999 as infinity, hence the test. */
static bool take_real(json_reader *r, const char *key, double max, const char *want, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->j, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= max))
        return reject(r, key, want);
    *out = v->valuedouble;
    return true;
}

static bool take_number(json_reader *r, const char *key, double *out)
{
    return take_real(r, key, DBL_MAX, "a non-negative number", out);
}

/* JSON numbers are doubles: integers up to 2^53 are exact, and nothing larger converts
 * to int64_t safely. */
#define JSON_INT_MAX 9007199254740992.0

static bool take_count(json_reader *r, const char *key, int64_t min, double max, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->j, key);
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= (double)min && d <= max && d == floor(d)))
        return reject(r, key, min > 0 ? "a positive integer" : "a non-negative integer");
    *out = (int64_t)d;
    return true;
}

static bool take_int(json_reader *r, const char *key, int *out)
{
    int64_t n;
    if (!take_count(r, key, 0, INT_MAX, &n))
        return false;
    *out = (int)n;
    return true;
}

/* The seed is text: a uint64_t does not survive a JSON number. */
static bool take_seed(json_reader *r, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->j, "seed");
    const char *text = cJSON_GetStringValue(v);
    char *end = NULL;
    errno = 0;
    unsigned long long seed = text && text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
    if (!end || *end || errno)
        return reject(r, "seed", "an unsigned integer as a string");
    *out = seed;
    return true;
}

/* Augmentation came after the first config.json files: a config without it ran without. */
static bool load_augmentation(json_reader *r, train_config *c)
{
    c->crop_padding = 0;
    c->hflip = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->j, "hflip"));
    c->random_erasing = 0;
    bool ok = true;
    if (cJSON_GetObjectItemCaseSensitive(r->j, "crop_padding"))
        ok = take_int(r, "crop_padding", &c->crop_padding);
    if (ok && cJSON_GetObjectItemCaseSensitive(r->j, "random_erasing"))
        ok = take_real(r, "random_erasing", 1, "a probability in [0, 1]", &c->random_erasing);
    return ok;
}

/* Every setting of config.json into c, but the thread count and epochs given as flags. */
static bool load_settings(json_reader *r, train_config *c)
{
    int64_t epochs;
    int threads;
    bool ok = take_text(r, "model", &c->model) && take_text(r, "optim", &c->optim) &&
              take_text(r, "schedule", &c->schedule) && take_text(r, "preprocess", &c->preprocess) &&
              take_seed(r, &c->seed) && take_text(r, "data", &c->data) &&
              take_int(r, "label_column", &c->label_column) && take_number(r, "lr", &c->lr) &&
              take_number(r, "preprocess_eps", &c->preprocess_eps) &&
              take_number(r, "momentum", &c->momentum) && take_number(r, "weight_decay", &c->weight_decay) &&
              take_number(r, "label_smoothing", &c->label_smoothing) &&
              take_number(r, "clip_norm", &c->clip_norm) &&
              take_count(r, "warmup", 0, JSON_INT_MAX, &c->warmup) &&
              take_count(r, "epochs", 1, JSON_INT_MAX, &epochs) &&
              take_count(r, "batch_size", 1, JSON_INT_MAX, &c->batch_size) &&
              take_count(r, "val_size", 0, JSON_INT_MAX, &c->val_size) &&
              /* 0 is the default, all of them; --limit itself must be positive */
              take_count(r, "limit", 0, JSON_INT_MAX, &c->limit) &&
              take_count(r, "patience", 0, JSON_INT_MAX, &c->patience) &&
              take_int(r, "threads", &threads) && load_augmentation(r, c);
    if (!ok)
        return false;
    c->epochs = c->epochs_given ? c->epochs : epochs;
    c->threads = c->threads_given ? c->threads : threads;
    c->csv_header = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->j, "csv_header"));
    return true;
}

data_source train_config_data(const train_config *c)
{
    return (data_source){.name = c->data, .label_column = c->label_column, .csv_header = c->csv_header};
}

int train_config_load(train_config *c, const char *run_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", run_dir);
    char *text = read_text(path, "--resume (is it a gradus run folder?)");
    if (!text)
        return EXIT_USAGE;
    json_reader r = {.j = cJSON_Parse(text)};
    free(text);
    if (!cJSON_IsObject(r.j)) {
        cJSON_Delete(r.j);
        return fail(EXIT_BAD_DATA, "train", "%s: not a valid gradus config (not a JSON object)", path);
    }
    bool ok = load_settings(&r, c);
    cJSON_Delete(r.j);
    return ok ? EXIT_OK
              : fail(EXIT_BAD_DATA, "train", "%s: not a valid gradus config: %s must be %s", path,
                     r.bad, r.want);
}

void train_config_free(train_config *c)
{
    free(c->model);
    free(c->optim);
    free(c->schedule);
    free(c->preprocess);
    free(c->out);
    free(c->resume);
    free(c->data);
}
