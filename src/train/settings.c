/* The settings of a training run, each defined once: its key (config.json's), its flag,
 * its default, its range and its help line live in one row of the table below, which
 * gd_settings_set, the JSON reader and writer, and the command line's parser and --help
 * all read. A new setting is a field of gd_settings and a row here. */
#include "train.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* JSON numbers are doubles: integers below 2^53 are exact, and nothing larger converts
 * to int64_t safely; flags are held to the same bound so that every value survives a
 * round trip through config.json. 2^53 itself is out: "2^53 + 1" reads as it. */
#define COUNT_MAX 9007199254740991.0

/* The most threads a run may ask for: a fixed bound rather than a multiple of this
 * machine's cores, so that a config.json means the same everywhere; far above any core
 * count gradus will meet, it catches a typo (--threads 80000) before thread creation. */
#define THREADS_MAX 4096

/* The values a number may take: min to max, each end in or out of the range. */
typedef struct range {
    double min, max;
    bool min_open, max_open;
} range;

#define CLOSED(lo, hi) {(lo), (hi), false, false}   /* [lo, hi] */
#define HALF_OPEN(lo, hi) {(lo), (hi), false, true} /* [lo, hi) */
#define OPEN(lo, hi) {(lo), (hi), true, true}       /* (lo, hi) */
#define NO_RANGE CLOSED(0, 0)                       /* text and seeds */

/* The default of a number that depends on --optim (torch.optim's own for each): the field
 * holds NaN, JSON null, until gd_run_create puts the chosen optimiser's value there. */
#define BY_OPTIMISER "optimiser's"

typedef struct setting {
    gd_setting_info info;
    size_t offset;
    range range;
} setting;

#define AT(field) offsetof(gd_settings, field)

static const setting table[] = {
    {{"data", "data", "SOURCE", "data",
      "fashion-mnist (Debian's dataset-fashion-mnist), a folder with the four IDX files, "
      "csv:TRAIN,TEST, or cifar10:DIR (CIFAR-10's binary batches)", "fashion-mnist",
      GD_SETTING_TEXT}, AT(data), NO_RANGE},
    {{"label_column", "label-column", "N", "data", "CSV: 0-based column of the label", "0",
      GD_SETTING_INT}, AT(label_column), CLOSED(0, INT_MAX)},
    {{"csv_header", "csv-header", NULL, "data", "CSV: the first row is a header", "off",
      GD_SETTING_SWITCH}, AT(csv_header), CLOSED(0, 1)},
    {{"csv_shape", "csv-shape", "CxHxW", "data",
      "CSV: each row's features as an image of this shape, e.g. 1x28x28 (default: flat)", "",
      GD_SETTING_TEXT}, AT(csv_shape), NO_RANGE},
    {{"limit", "limit", "N", "data", "use only the first N training examples (0: all)", "all",
      GD_SETTING_COUNT}, AT(limit), CLOSED(0, COUNT_MAX)},
    {{"val_size", "val-size", "N", "data",
      "validation examples split off the training set (0: none; the last epoch's model "
      "is then kept)", "5000", GD_SETTING_COUNT}, AT(val_size), CLOSED(0, COUNT_MAX)},
    {{"preprocess", "preprocess", "KIND", "data",
      "none, center, center-channel, standardize, pca:K, whiten[:K], zca (fitted on the "
      "training split only)", "standardize", GD_SETTING_TEXT}, AT(preprocess), NO_RANGE},
    {{"preprocess_eps", "preprocess-eps", "E", "data",
      "floor of standardize's deviation; whitening's eigenvalue regulariser (pixels in "
      "[0, 1] have variances near 0.1)", "0.01", GD_SETTING_REAL}, AT(preprocess_eps),
     HALF_OPEN(0, INFINITY)},
    {{"crop_padding", "crop-padding", "N", "data",
      "augment: crop at a random offset of the image zero-padded by N pixels (0: off)", "0",
      GD_SETTING_INT}, AT(crop_padding), CLOSED(0, INT_MAX)},
    {{"hflip", "hflip", NULL, "data", "augment: mirror left-right with probability 1/2",
      "off", GD_SETTING_SWITCH}, AT(hflip), CLOSED(0, 1)},
    {{"random_erasing", "random-erasing", "P", "data",
      "augment: zero a random rectangle with probability P (augmentation: training split "
      "only, C x H x W images only)", "0", GD_SETTING_REAL}, AT(random_erasing),
     CLOSED(0, 1)},
    {{"model", "model", "SPEC|@FILE", "model",
      "the network, e.g. 'linear(256) bn relu linear(10)'", GD_DEFAULT_MODEL,
      GD_SETTING_TEXT}, AT(model), NO_RANGE},
    {{"init_from", "init-from", "MODEL", "model",
      "start from this model file's weights, tensor by tensor by name (fine-tuning); "
      "the preprocessing is fitted afresh on the training split", "",
      GD_SETTING_TEXT}, AT(init_from), NO_RANGE},
    {{"optim", "optim", "NAME", "optimisation", "sgd, adam, adamw, rmsprop, adagrad", "adam",
      GD_SETTING_TEXT}, AT(optim), NO_RANGE},
    {{"lr", "lr", "RATE", "optimisation",
      "learning rate; PyTorch's default for --optim: adam, adamw 0.001; sgd, rmsprop, "
      "adagrad 0.01", BY_OPTIMISER, GD_SETTING_REAL}, AT(lr), OPEN(0, INFINITY)},
    {{"momentum", "momentum", "M", "optimisation",
      "SGD and RMSprop momentum (adam, adamw and adagrad have none; onecycle cycles it)",
      "0", GD_SETTING_REAL}, AT(momentum), HALF_OPEN(0, 1)},
    {{"weight_decay", "weight-decay", "W", "optimisation",
      "as the optimiser defines it; PyTorch's default: adamw 0.01 (decoupled), others 0",
      BY_OPTIMISER, GD_SETTING_REAL}, AT(weight_decay), HALF_OPEN(0, INFINITY)},
    {{"schedule", "schedule", "KIND", "optimisation",
      "constant, cosine, linear, step:EPOCHS[:GAMMA], exp:GAMMA, onecycle (peak --lr; "
      "momentum or beta1 0.95-0.85), plateau[:FACTOR[:PATIENCE]] (x0.1 after 10 epochs "
      "without an --early-stop improvement)", "cosine", GD_SETTING_TEXT},
     AT(schedule), NO_RANGE},
    {{"warmup", "warmup", "EPOCHS", "optimisation", "linear learning-rate warm-up", "0",
      GD_SETTING_COUNT}, AT(warmup), CLOSED(0, COUNT_MAX)},
    {{"label_smoothing", "label-smoothing", "E", "optimisation",
      "cross-entropy label smoothing", "0", GD_SETTING_REAL}, AT(label_smoothing),
     HALF_OPEN(0, 1)},
    {{"clip_norm", "clip-norm", "N", "optimisation",
      "clip gradients to this global L2 norm (0: off)", "0", GD_SETTING_REAL},
     AT(clip_norm), HALF_OPEN(0, INFINITY)},
    {{"epochs", "epochs", "N", "optimisation", "at most N epochs", "30", GD_SETTING_COUNT},
     AT(epochs), CLOSED(1, COUNT_MAX)},
    {{"patience", "patience", "N", "optimisation",
      "stop after N epochs without a better --early-stop metric (0: never); the best "
      "model is the one kept", "8", GD_SETTING_COUNT}, AT(patience), CLOSED(0, COUNT_MAX)},
    {{"early_stop", "early-stop", "METRIC", "optimisation",
      "what --patience, the kept model and plateau watch: val_accuracy or val_loss",
      "val_accuracy", GD_SETTING_TEXT}, AT(early_stop), NO_RANGE},
    {{"min_delta", "min-delta", "D", "optimisation",
      "an --early-stop improvement must exceed D (Keras's min_delta)", "0", GD_SETTING_REAL},
     AT(min_delta), HALF_OPEN(0, INFINITY)},
    {{"batch_size", "batch-size", "N", "optimisation",
      "mini-batch size; the last partial batch is used, except a single leftover sample "
      "when the model has batch norm (which needs two)", "128", GD_SETTING_COUNT},
     AT(batch_size), CLOSED(1, COUNT_MAX)},
    {{"seed", "seed", "N", "run", "seeds initialisation, the split (unless --split-seed), "
      "shuffling and dropout", "1", GD_SETTING_SEED}, AT(seed), NO_RANGE},
    {{"split_seed", "split-seed", "N", "run", "seeds the validation split alone (0: --seed "
      "does), so that runs of other seeds share one", "0", GD_SETTING_SEED}, AT(split_seed),
     NO_RANGE},
    {{"threads", "threads", "N", "run", "threads (0: all cores); same seed + threads = same "
      "bits", "0", GD_SETTING_INT}, AT(threads), CLOSED(0, THREADS_MAX)},
    {{"sync_bn", "sync-bn", NULL, "run", "under mpirun: batch norm's statistics over the "
      "global batch, as PyTorch's SyncBatchNorm (default: each rank's own shard)", "off",
      GD_SETTING_SWITCH}, AT(sync_bn), CLOSED(0, 1)},
    {{"deterministic_reduce", "deterministic-reduce", NULL, "run", "under mpirun: add the "
      "ranks' gradients in rank order, the same bits whatever MPI's algorithm", "off",
      GD_SETTING_SWITCH}, AT(deterministic_reduce), CLOSED(0, 1)},
};

#define NSETTINGS (sizeof table / sizeof table[0])

size_t gd_setting_count(void) { return NSETTINGS; }

const gd_setting_info *gd_setting_at(size_t index)
{
    return index < NSETTINGS ? &table[index].info : NULL;
}

static const setting *find(const char *key)
{
    for (size_t i = 0; key && i < NSETTINGS; i++)
        if (strcmp(table[i].info.key, key) == 0)
            return &table[i];
    return NULL;
}

const gd_setting_info *gd_setting_find(const char *key)
{
    const setting *d = find(key);
    return d ? &d->info : NULL;
}

static void *field(gd_settings *s, const setting *d) { return (char *)s + d->offset; }
static const void *cfield(const gd_settings *s, const setting *d)
{
    return (const char *)s + d->offset;
}

/* ---------------------------------------------------------------- values */

/* A bound as a message writes it: exact digits, "inf" for an unbounded end. */
static void write_bound(char *buf, size_t len, double v)
{
    if (isinf(v))
        snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
    else
        snprintf(buf, len, "%.17g", v);
}

/* What a setting's values are, for messages (buf: WANTED_LEN bytes): every number says
 * its range the same way, "a number in [0, 1)", "an integer in [1, 9007199254740991]". */
enum { WANTED_LEN = 96 };
static const char *wanted(const setting *d, char *buf)
{
    switch (d->info.type) {
    case GD_SETTING_TEXT: return "text";
    case GD_SETTING_SWITCH: return "true or false";
    case GD_SETTING_SEED: return "an unsigned integer";
    case GD_SETTING_REAL:
    case GD_SETTING_INT:
    case GD_SETTING_COUNT: break;
    }
    const range *r = &d->range;
    char lo[32], hi[32];
    write_bound(lo, sizeof lo, r->min);
    write_bound(hi, sizeof hi, r->max);
    snprintf(buf, WANTED_LEN, "%s in %c%s, %s%c",
             d->info.type == GD_SETTING_REAL ? "a number" : "an integer", r->min_open ? '(' : '[',
             lo, hi, r->max_open ? ')' : ']');
    return buf;
}

static bool in_range(const range *r, double v)
{
    return (r->min_open ? v > r->min : v >= r->min) && (r->max_open ? v < r->max : v <= r->max);
}

static bool parse_real(const char *text, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    return !errno && end != text && !*end && isfinite(*v);
}

static bool parse_seed(const char *text, uint64_t *v)
{
    char *end;
    errno = 0;
    /* strtoull takes a sign and spaces, and wraps "-1" to 2^64 - 1. */
    if (!(text[0] >= '0' && text[0] <= '9'))
        return false;
    unsigned long long n = strtoull(text, &end, 10);
    *v = n;
    return !errno && !*end;
}

/* A number of a numeric setting from text, checked against its range and kind. */
static bool parse_number(const setting *d, const char *text, double *v)
{
    if (!parse_real(text, v) || !in_range(&d->range, *v))
        return false;
    return d->info.type == GD_SETTING_REAL || *v == floor(*v);
}

static void store_number(gd_settings *s, const setting *d, double v)
{
    void *f = field(s, d);
    if (d->info.type == GD_SETTING_REAL)
        *(double *)f = v;
    else if (d->info.type == GD_SETTING_INT)
        *(int *)f = (int)v;
    else if (d->info.type == GD_SETTING_COUNT)
        *(int64_t *)f = (int64_t)v;
    else
        *(bool *)f = v != 0;
}

static gd_status set_text(char **f, const char *text, char *msg, const char *key)
{
    char *copy = strdup(text);
    if (!copy)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%s: out of memory", key);
    free(*f);
    *f = copy;
    return GD_OK;
}

static gd_status bad_value(const setting *d, const char *text, char *msg)
{
    char want[WANTED_LEN];
    return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--%s %.80s: expected %s", d->info.flag, text,
                   wanted(d, want));
}

static gd_status set_from_text(gd_settings *s, const setting *d, const char *text, char *msg)
{
    if (d->info.type == GD_SETTING_TEXT)
        return set_text(field(s, d), text, msg, d->info.key);
    if (d->info.type == GD_SETTING_SEED) {
        uint64_t seed;
        if (!parse_seed(text, &seed))
            return bad_value(d, text, msg);
        *(uint64_t *)field(s, d) = seed;
        return GD_OK;
    }
    double v;
    if (d->info.type == GD_SETTING_SWITCH) {
        bool on = strcmp(text, "true") == 0;
        if (!on && strcmp(text, "false") != 0)
            return bad_value(d, text, msg);
        v = on;
    } else if (!parse_number(d, text, &v))
        return bad_value(d, text, msg);
    store_number(s, d, v);
    return GD_OK;
}

gd_status gd_settings_set(gd_settings *s, const char *key, const char *text, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    const setting *d = find(key);
    if (!s || !text)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "settings: NULL argument");
    if (!d)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "no setting is named \"%.64s\"",
                       key ? key : "(null)");
    return set_from_text(s, d, text, msg);
}

static bool has_momentum(const char *optim)
{
    return strcmp(optim, "sgd") == 0 || strcmp(optim, "rmsprop") == 0;
}

static bool is_plateau(const char *schedule)
{
    return strncmp(schedule, "plateau", 7) == 0 && (!schedule[7] || schedule[7] == ':');
}

/* A momentum that nothing would read is refused rather than ignored: Adam's counterpart is
 * beta1, and onecycle sets the momentum itself each step. */
static gd_status check_momentum(const gd_settings *s, char *msg)
{
    if (s->momentum == 0)
        return GD_OK;
    if (strcmp(s->schedule, "onecycle") == 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "--momentum %g: --schedule onecycle cycles the momentum itself (0.95 to "
                       "0.85 and back, as PyTorch's OneCycleLR); leave --momentum out",
                       s->momentum);
    if (strcmp(s->optim, "adam") == 0 || strcmp(s->optim, "adamw") == 0 ||
        strcmp(s->optim, "adagrad") == 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "--momentum %g: --optim %s has no momentum (only sgd and rmsprop take "
                       "--momentum)", s->momentum, s->optim);
    return GD_OK;
}

/* What no single setting's range can say: a warm-up is at most the run (refused in the
 * wording of a range, with --epochs's value as the bound), a momentum something reads, a
 * metric early stopping knows, and a validation split for plateau to watch. */
gd_status gd_settings_check(const gd_settings *s, char *msg)
{
    if (s->warmup > s->epochs)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "--warmup %lld: expected an integer in [0, %lld] (at most --epochs)",
                       (long long)s->warmup, (long long)s->epochs);
    if (strcmp(s->early_stop, "val_accuracy") != 0 && strcmp(s->early_stop, "val_loss") != 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "--early-stop %.64s: expected val_accuracy or val_loss", s->early_stop);
    if (is_plateau(s->schedule) && s->val_size == 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "--schedule %.64s watches the validation split's %s, and --val-size 0 "
                       "leaves none: give a --val-size above 0 or another --schedule",
                       s->schedule, s->early_stop);
    return check_momentum(s, msg);
}

/* ------------------------------------------------------ defaults, copies */

void gd_settings_free(gd_settings *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (table[i].info.type == GD_SETTING_TEXT) {
            char **f = field(s, &table[i]);
            free(*f);
            *f = NULL;
        }
}

void gd_settings_defaults(gd_settings *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *d = &table[i];
        /* "all" (limit) and "off" (switches) stand for 0, which memset set. */
        const char *text = d->info.fallback;
        if (strcmp(text, BY_OPTIMISER) == 0)
            *(double *)field(s, d) = NAN;
        else if (strcmp(text, "all") != 0 && strcmp(text, "off") != 0)
            set_from_text(s, d, text, (char[GD_MSG_MAX]){0});
    }
}

gd_status gd_settings_copy(gd_settings *dst, const gd_settings *src)
{
    *dst = *src;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (table[i].info.type == GD_SETTING_TEXT)
            *(char **)field(dst, &table[i]) = NULL;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *d = &table[i];
        const char *text = d->info.type == GD_SETTING_TEXT ? *(char *const *)cfield(src, d) : NULL;
        if (text && !(*(char **)field(dst, d) = strdup(text))) {
            gd_settings_free(dst);
            return GD_ERR_NO_MEMORY;
        }
    }
    return GD_OK;
}

/* ------------------------------------------------------------------ JSON */

/* cJSON 1.7 prints a number in 15 digits whenever they come within DBL_EPSILON (relative)
 * of it, which is not the number: 0.1 + 0.2 prints as 0.3, 2^53 - 1 as
 * 9.00719925474099e+15, and about one loss in ten in [0.1, 2] comes back changed. Here a
 * number takes the fewest digits that read back as the same double; NaN and infinities,
 * which JSON cannot hold, are null. */
struct cJSON *gd_json_number(double v)
{
    if (!isfinite(v))
        return cJSON_CreateNull();
    char text[32];
    for (int digits = 15; digits <= 17; digits++)
        if (snprintf(text, sizeof text, "%.*g", digits, v) > 0 && strtod(text, NULL) == v)
            break;
    return cJSON_CreateRaw(text);
}

bool gd_json_add_number(struct cJSON *j, const char *key, double v)
{
    cJSON *item = gd_json_number(v);
    if (item && cJSON_AddItemToObject(j, key, item))
        return true;
    cJSON_Delete(item);
    return false;
}

static bool add_value(cJSON *j, const gd_settings *s, const setting *d)
{
    const void *f = cfield(s, d);
    const char *k = d->info.key;
    char seed[32];
    switch (d->info.type) {
    case GD_SETTING_TEXT: return cJSON_AddStringToObject(j, k, *(char *const *)f ? *(char *const *)f : "");
    case GD_SETTING_SWITCH: return cJSON_AddBoolToObject(j, k, *(const bool *)f);
    case GD_SETTING_INT: return gd_json_add_number(j, k, *(const int *)f);
    case GD_SETTING_COUNT: return gd_json_add_number(j, k, (double)*(const int64_t *)f);
    case GD_SETTING_REAL: return gd_json_add_number(j, k, *(const double *)f);
    case GD_SETTING_SEED:
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)*(const uint64_t *)f);
        return cJSON_AddStringToObject(j, k, seed);
    }
    return false;
}

gd_status gd_settings_to_json(const gd_settings *s, char **json, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    cJSON *j = cJSON_CreateObject();
    bool ok = j && gd_json_add_number(j, "schema", GD_SETTINGS_SCHEMA) &&
              cJSON_AddStringToObject(j, "gradus_version", GD_VERSION_STRING);
    for (size_t i = 0; ok && i < NSETTINGS; i++)
        ok = add_value(j, s, &table[i]);
    *json = ok ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    return *json ? GD_OK : gd_fail(msg, GD_ERR_NO_MEMORY, "settings: out of memory for JSON");
}

/* The JSON value of d as the text a flag would give, or false when its type is wrong. */
static bool json_as_text(const cJSON *v, const setting *d, char *buf, size_t len, const char **text)
{
    *text = buf;
    if (d->info.type == GD_SETTING_TEXT || d->info.type == GD_SETTING_SEED) {
        *text = cJSON_GetStringValue(v);
        return *text != NULL;
    }
    if (d->info.type == GD_SETTING_SWITCH) {
        snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
        return cJSON_IsBool(v);
    }
    if (!cJSON_IsNumber(v))
        return false;
    snprintf(buf, len, "%.17g", v->valuedouble); /* exact: parsed back to the same double */
    return true;
}

static gd_status read_setting(gd_settings *s, const cJSON *j, const setting *d, char *msg)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, d->info.key);
    if (!v)
        return GD_OK; /* a key added since the file was written: its default */
    if (cJSON_IsNull(v) && strcmp(d->info.fallback, BY_OPTIMISER) == 0) {
        *(double *)field(s, d) = NAN; /* written before gd_run_create chose the number */
        return GD_OK;
    }
    char buf[64];
    const char *text;
    /* cJSON reads 1e999 as infinity, which parse_real then refuses. */
    gd_status st = json_as_text(v, d, buf, sizeof buf, &text) ? set_from_text(s, d, text, msg)
                                                              : GD_ERR_INVALID_ARGUMENT;
    char want[WANTED_LEN];
    if (st == GD_ERR_INVALID_ARGUMENT)
        return gd_fail(msg, st, "%s must be %s", d->info.key,
                       d->info.type == GD_SETTING_SEED ? "an unsigned integer as a string"
                                                       : wanted(d, want));
    return st;
}

gd_status gd_settings_from_json(gd_settings *s, const char *json, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    cJSON *j = cJSON_Parse(json);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return gd_fail(msg, GD_ERR_FORMAT, "not a JSON object");
    }
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(j, "schema");
    gd_status st = GD_OK;
    if (schema && !(cJSON_IsNumber(schema) && schema->valuedouble <= GD_SETTINGS_SCHEMA))
        st = gd_fail(msg, GD_ERR_FORMAT, "schema %g is newer than this gradus reads (%d)",
                     cJSON_IsNumber(schema) ? schema->valuedouble : NAN, GD_SETTINGS_SCHEMA);
    gd_settings next;
    if (!st && gd_settings_copy(&next, s) != GD_OK)
        st = gd_fail(msg, GD_ERR_NO_MEMORY, "settings: out of memory");
    for (size_t i = 0; !st && i < NSETTINGS; i++)
        if ((st = read_setting(&next, j, &table[i], msg)) != GD_OK)
            gd_settings_free(&next);
    /* Schema 1 gave every optimiser momentum 0.9, which Adam, AdamW and Adagrad never
     * read and schema 2 refuses for them: an old file's stands for nothing. */
    if (!st && !(schema && schema->valuedouble >= 2) && !has_momentum(next.optim))
        next.momentum = 0;
    if (!st && (st = gd_settings_check(&next, msg)) != GD_OK)
        gd_settings_free(&next);
    cJSON_Delete(j);
    if (st)
        return st == GD_ERR_INVALID_ARGUMENT ? GD_ERR_FORMAT : st;
    gd_settings_free(s);
    *s = next;
    return GD_OK;
}
