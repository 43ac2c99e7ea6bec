/* A run's setup from its settings: data, split, preprocessing, model, loader with its
 * augmentation, optimiser and schedule, in the order each needs the one before; on a
 * resume the model and preprocessing come from the checkpoint instead. Messages name the
 * command line's flags, which are the settings' names (settings.c). */
#include "train.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double gd_now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------------------------------ data */

/* The splits as gd_data_splits cuts them, the one place `gradus eval --split val` uses too. */
static gd_status prepare_data(gd_run *run, gd_data_cache *cache)
{
    gd_error err;
    gd_status st = gd_data_splits_from(&run->settings, cache, &run->train, &run->val,
                                       &run->test, &err);
    return st == GD_OK ? GD_OK : gd_fail(run->msg, st, "%s", err.message);
}

/* Fits the preprocessing of a fresh run on the training split (a resume has its
 * checkpoint's): statistics come from the training split only. */
static gd_status fit_preprocessing(gd_run *run)
{
    const gd_settings *s = &run->settings;
    gd_error err;
    gd_status st = GD_OK;
    if (!run->pre && strcmp(s->preprocess, "none") != 0 &&
        (st = gd_preprocess_fit(&run->pre, s->preprocess, s->preprocess_eps, run->train, &err))) {
        if (st == GD_ERR_LIMIT || st == GD_ERR_NO_MEMORY) /* memory decided, not the setting */
            return gd_fail(run->msg, st, "%s", err.message);
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT, "--preprocess %s: %s", s->preprocess,
                       err.message);
    }
    return GD_OK;
}

static gd_status apply_preprocessing(gd_run *run)
{
    gd_dataset *sets[] = {run->train, run->val, run->test};
    gd_error err;
    gd_status st = GD_OK;
    for (int i = 0; run->pre && i < 3 && st == GD_OK; i++)
        if (sets[i])
            st = gd_preprocess_apply_dataset(run->pre, sets[i], &err);
    return st == GD_OK ? GD_OK : gd_fail(run->msg, st, "%s", err.message);
}

/* ----------------------------------------------------------------- model */

/* Flat samples first (an MLP on images sees their pixels as one vector), then the data's
 * own shape (convolutions need C x H x W). */
static gd_status build_model(gd_run *run)
{
    const gd_settings *s = &run->settings;
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_dataset_sample_shape(run->train, dims);
    int64_t flat = gd_dataset_sample_size(run->train);
    gd_error err;
    gd_status st = gd_model_from_spec(&run->model, s->model, s->seed, 1, &flat, s->batch_size, &err);
    if (st == GD_ERR_SHAPE && ndim > 1)
        st = gd_model_from_spec(&run->model, s->model, s->seed, ndim, dims, s->batch_size, &err);
    if (st == GD_ERR_LIMIT) /* the spec is fine; the machine or the limit is too small */
        return gd_fail(run->msg, st, "%s", err.message);
    return st == GD_OK ? GD_OK : gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT, "--model: %s", err.message);
}

static int64_t parameter_count(gd_model *m) { return gd_model_parameters_flat(m).dims[0]; }

/* The model against the data: a classifier's outputs are the classes' scores, one each.
 * The classes are the most either split has (a training split may lack the highest label
 * by chance). Fewer outputs cannot score every class; more are no classifier of this data
 * (e.g. "linear(256) relu" with no last linear), which would train on scores nothing
 * reads. A model without parameters has nothing to train. */
static gd_status check_model_fits(gd_run *run)
{
    const char *spec = run->settings.model;
    if (parameter_count(run->model) == 0)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "the model has no parameters: nothing to train (--model %s); add a "
                       "layer that learns, e.g. linear(10)", spec);
    int classes = gd_dataset_num_classes(run->train);
    if (run->test && gd_dataset_num_classes(run->test) > classes)
        classes = gd_dataset_num_classes(run->test);
    int64_t dims[GD_MAX_DIMS], outputs = 1;
    int ndim = gd_model_output_shape(run->model, dims);
    for (int i = 0; i < ndim; i++)
        outputs *= dims[i];
    if (classes > 1 && outputs != classes)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "the data has %d classes but the model outputs %lld: end --model with "
                       "linear(%d)", classes, (long long)outputs, classes);
    return GD_OK;
}

static bool has_batchnorm(const gd_model *m)
{
    gd_layer_info info;
    for (size_t i = 0; i < gd_model_layer_count(m); i++)
        if (gd_model_layer_at(m, i, &info) == GD_OK && strncmp(info.kind, "batchnorm", 9) == 0)
            return true;
    return false;
}


/* ---------------------------------------------------------------- loader */

/* Batch norm in training normalises by the batch's own mean and variance, which a single
 * sample does not have (its variance is 0): with batch norm, a last batch of one sample is
 * skipped, and a run whose every batch would be a single sample is refused before it
 * trains on nothing (its losses would be NaN, 0/0 samples). */
static gd_status make_loader(gd_run *run)
{
    int64_t n = gd_dataset_size(run->train), b = run->settings.batch_size;
    bool bn = run->batchnorm;
    if (bn && b == 1)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "no usable training batch: batch norm (bn in --model) cannot train on "
                       "a batch of one sample, and --batch-size 1 makes every batch one; give "
                       "a --batch-size of 2 or more, or a model without bn");
    if (bn && n == 1)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "no usable training batch: the training split has 1 sample, and batch "
                       "norm (bn in --model) cannot train on a batch of one; give more "
                       "training samples (--limit, --val-size) or a model without bn");
    gd_error err;
    gd_status st = gd_loader_create(&run->loader, run->train, b, true, bn && n % b == 1,
                                    run->settings.seed, &err);
    if (st != GD_OK)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT, "%s", err.message);
    if (gd_loader_batches(run->loader) == 0) /* the readers and the split leave none empty: a guard */
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "no usable training batch in a training split of %lld samples; give "
                       "more training samples (--limit, --val-size)", (long long)n);
    return GD_OK;
}

/* --crop-padding, --hflip and --random-erasing, on the training loader only: validation
 * and test data are evaluated as they are. They act on the data set's C x H x W samples
 * (after preprocessing, so padding and erasing write the preprocessed zero), which an MLP
 * then sees flattened. */
static gd_status set_augmentation(gd_run *run)
{
    const gd_settings *s = &run->settings;
    gd_augment aug = {.crop_padding = s->crop_padding, .horizontal_flip = s->hflip,
                      .erase_probability = s->random_erasing};
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_dataset_sample_shape(run->train, dims);
    int64_t side = ndim == 3 ? (dims[1] < dims[2] ? dims[1] : dims[2]) : 0;
    if (ndim == 3 && s->crop_padding >= side) /* a crop would then see padding alone */
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "--crop-padding %d: expected an integer in [0, %lld] (below the "
                       "images' %lldx%lld)", s->crop_padding, (long long)side - 1,
                       (long long)dims[1], (long long)dims[2]);
    gd_error err;
    gd_status st = gd_loader_set_augment(run->loader, &aug, &err);
    if (st == GD_ERR_SHAPE)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "--crop-padding, --hflip and --random-erasing need image data (C x H x "
                       "W samples, as IDX or CIFAR; pca and whiten flatten them): %s",
                       err.message);
    return st == GD_OK ? GD_OK : gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT, "%s", err.message);
}

/* ------------------------------------------------------------- optimiser */

gd_status gd_optim_config_for(const char *optim, double lr, double momentum,
                              double weight_decay, gd_optim_config *out, char *msg)
{
    static const struct {
        const char *name;
        gd_optim_kind kind;
    } kinds[] = {{"sgd", GD_OPTIM_SGD}, {"adam", GD_OPTIM_ADAM}, {"adamw", GD_OPTIM_ADAMW},
                 {"rmsprop", GD_OPTIM_RMSPROP}, {"adagrad", GD_OPTIM_ADAGRAD}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(optim, kinds[i].name) != 0)
            continue;
        *out = gd_optim_defaults(kinds[i].kind);
        out->lr = isnan(lr) ? out->lr : lr;
        out->weight_decay = isnan(weight_decay) ? out->weight_decay : weight_decay;
        if (kinds[i].kind == GD_OPTIM_SGD || kinds[i].kind == GD_OPTIM_RMSPROP)
            out->momentum = momentum;
        return GD_OK;
    }
    return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                   "--optim %s: expected sgd, adam, adamw, rmsprop or adagrad", optim);
}

/* The numbers the run uses, in its settings (and so in config.json and gd_run_settings):
 * --lr and --weight-decay not given take the optimiser's PyTorch defaults. */
static gd_status resolve_optimizer(gd_run *run)
{
    gd_settings *s = &run->settings;
    gd_optim_config c = {0};
    gd_status st = gd_optim_config_for(s->optim, s->lr, s->momentum, s->weight_decay, &c, run->msg);
    if (st != GD_OK)
        return st;
    s->lr = c.lr;
    s->weight_decay = c.weight_decay;
    return GD_OK;
}

/* OneCycleLR's momentum cycle (PyTorch's base_momentum 0.85, max_momentum 0.95): it
 * starts at the maximum, which also gives SGD and RMSprop their momentum buffer. */
#define ONECYCLE_BASE_MOMENTUM 0.85
#define ONECYCLE_MAX_MOMENTUM 0.95

static bool is_onecycle(const gd_settings *s) { return strcmp(s->schedule, "onecycle") == 0; }

static gd_status make_optimizer(gd_run *run)
{
    const gd_settings *s = &run->settings;
    gd_optim_config c;
    gd_status st = gd_optim_config_for(s->optim, s->lr, s->momentum, s->weight_decay, &c, run->msg);
    if (st != GD_OK)
        return st;
    if (is_onecycle(s) && (c.kind == GD_OPTIM_SGD || c.kind == GD_OPTIM_RMSPROP))
        c.momentum = ONECYCLE_MAX_MOMENTUM;
    else if (is_onecycle(s) && (c.kind == GD_OPTIM_ADAM || c.kind == GD_OPTIM_ADAMW))
        c.beta1 = ONECYCLE_MAX_MOMENTUM;
    st = gd_optim_create(&run->opt, run->model, &c);
    if (st == GD_ERR_LIMIT || st == GD_ERR_NO_MEMORY)
        return gd_fail(run->msg, st, "%s", gd_optim_error(run->opt));
    if (st != GD_OK)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT, "--optim %s: %s", s->optim,
                       gd_optim_error(run->opt));
    return GD_OK;
}

/* "NAME:A[:B]" with numbers A and optional B (kept as given when absent). */
static bool parse_schedule_args(const char *text, const char *name, double *a, double *b)
{
    size_t len = strlen(name);
    if (strncmp(text, name, len) != 0 || text[len] != ':')
        return false;
    char *end;
    *a = strtod(text + len + 1, &end);
    if (end == text + len + 1)
        return false;
    if (*end == ':') {
        const char *second = end + 1;
        *b = strtod(second, &end);
        if (end == second)
            return false;
    }
    return *end == '\0';
}

/* Whole epochs (a fraction is dropped) as steps, false when they would not fit int64_t:
 * epochs < 2^63 / batches keeps both the conversion and the product defined. */
static bool epochs_to_steps(double epochs, int64_t batches, int64_t *steps)
{
    if (!(epochs >= 0 && epochs < (double)INT64_MAX / (double)batches))
        return false;
    *steps = (int64_t)epochs * batches;
    return true;
}

static gd_status too_many_steps(gd_run *run, const char *flag, double epochs, int64_t batches)
{
    return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                   "--%s %.17g: at %lld batches an epoch, that many steps do not fit a 64-bit "
                   "count", flag, epochs, (long long)batches);
}

/* OneCycleLR's defaults over the steps after the warm-up, peaking at --lr; the momentum
 * cycles unless the optimiser has none (Adagrad, where PyTorch would refuse
 * cycle_momentum). */
static void set_onecycle(gd_run *run, int64_t steps)
{
    gd_schedule *s = &run->schedule;
    s->kind = GD_SCHEDULE_ONECYCLE;
    s->total_steps = steps, s->pct_start = 0.3, s->div_factor = 25, s->final_div_factor = 1e4;
    if (strcmp(run->settings.optim, "adagrad") != 0)
        s->base_momentum = ONECYCLE_BASE_MOMENTUM, s->max_momentum = ONECYCLE_MAX_MOMENTUM;
}

/* A count that survives config.json (settings.c's bound). */
#define PATIENCE_MAX 9007199254740991.0

/* ReduceLROnPlateau on the --early-stop metric, PyTorch's defaults unless
 * plateau:FACTOR[:PATIENCE] gives them. The text was checked to start with "plateau". */
static gd_status set_plateau(gd_run *run, const char *text)
{
    double factor = 0.1, patience = 10;
    if (strcmp(text, "plateau") != 0 && !parse_schedule_args(text, "plateau", &factor, &patience))
        factor = NAN;
    run->schedule.kind = GD_SCHEDULE_PLATEAU;
    run->plateau_on = true;
    run->plateau = gd_plateau_defaults(run->maximize, run->settings.lr);
    run->plateau.factor = factor;
    run->plateau.patience = patience >= 0 && patience <= PATIENCE_MAX && patience == floor(patience)
                                ? (int64_t)patience
                                : -1;
    if (gd_plateau_check(&run->plateau) != GD_OK)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "--schedule %s: expected plateau[:FACTOR[:PATIENCE]], FACTOR in (0, 1) "
                       "and PATIENCE a whole number of epochs", text);
    return GD_OK;
}

/* --schedule in epochs, turned into a per-step gd_schedule. */
static gd_status make_schedule(gd_run *run)
{
    const gd_settings *c = &run->settings;
    int64_t batches = gd_loader_batches(run->loader), warmup, total;
    if (!epochs_to_steps((double)c->warmup, batches, &warmup))
        return too_many_steps(run, "warmup", (double)c->warmup, batches);
    if (!epochs_to_steps((double)c->epochs, batches, &total))
        return too_many_steps(run, "epochs", (double)c->epochs, batches);
    int64_t main_steps = total - warmup > 1 ? total - warmup : 1;
    gd_schedule *s = &run->schedule;
    *s = (gd_schedule){.kind = GD_SCHEDULE_CONSTANT, .base_lr = c->lr, .warmup_steps = warmup,
                       .warmup_start_factor = 0.1};
    const char *text = c->schedule;
    double a = 0, b = 0.1, unused = 0;
    if (strcmp(text, "cosine") == 0) {
        s->kind = GD_SCHEDULE_COSINE;
        s->t_max = main_steps;
    } else if (strcmp(text, "linear") == 0) {
        s->kind = GD_SCHEDULE_LINEAR;
        s->start_factor = 1.0, s->end_factor = 0.01, s->total_iters = main_steps;
    } else if (parse_schedule_args(text, "step", &a, &b) && a >= 1) {
        s->kind = GD_SCHEDULE_STEP;
        if (!epochs_to_steps(a, batches, &s->step_size))
            return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                           "--schedule %s: %.17g epochs a step do not fit a 64-bit count of "
                           "steps", text, a);
        s->gamma = b;
    } else if (parse_schedule_args(text, "exp", &a, &unused) && unused == 0 && a > 0) {
        s->kind = GD_SCHEDULE_EXPONENTIAL;
        s->gamma = pow(a, 1.0 / (double)batches); /* a per epoch */
    } else if (strcmp(text, "onecycle") == 0)
        set_onecycle(run, main_steps);
    else if (strncmp(text, "plateau", 7) == 0 && (!text[7] || text[7] == ':')) {
        gd_status st = set_plateau(run, text);
        if (st != GD_OK)
            return st;
    } else if (strcmp(text, "constant") != 0)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "--schedule %s: expected constant, cosine, linear, step:EPOCHS[:GAMMA], "
                       "exp:GAMMA, onecycle or plateau[:FACTOR[:PATIENCE]]", text);
    if (gd_schedule_check(s) != GD_OK)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                       "--schedule %s: impossible settings for this run", text);
    return GD_OK;
}

/* ---------------------------------------------------------------- create */

/* Loads the model (and its preprocessing) from the checkpoint when there is one; the
 * optimiser's state follows once the optimiser exists. */
static gd_status load_checkpoint_model(gd_run *run, bool *found)
{
    char path[GD_PATH_MAX];
    gd_run_path(run, "checkpoint.safetensors", path);
    *found = access(path, F_OK) == 0;
    if (!*found)
        return GD_OK;
    gd_error err;
    gd_status st = gd_model_load(&run->model, &run->pre, path, run->settings.batch_size, &err);
    return st == GD_OK ? GD_OK : gd_fail(run->msg, st, "%s", err.message);
}

/* The model from the checkpoint on a resume, then the splits: a fresh run's ready to
 * train on from the cache when it holds this very preparation (a study's trials share
 * one split seed, *prepared), else cut here with the preprocessing fitted, for
 * prepare_data to apply. A resumed run's transform is its checkpoint's. */
static gd_status ready_data(gd_run *run, gd_data_cache *cache, bool resume, bool *checkpoint,
                            bool *prepared)
{
    gd_status st = resume ? load_checkpoint_model(run, checkpoint) : GD_OK;
    gd_error err;
    if (!st && cache && !*checkpoint &&
        (st = gd_data_cache_take_prepared(cache, &run->settings, prepared, &run->train,
                                          &run->val, &run->test, &run->pre, &err)))
        return gd_fail(run->msg, st, "%s", err.message);
    if (st || *prepared)
        return st;
    if ((st = prepare_data(run, cache)))
        return st;
    return fit_preprocessing(run);
}

/* Applies the fitted preprocessing, and keeps the result in the cache for the next fresh
 * run of the same preparation. Only a split seed of its own lets another seed's run share
 * it: without one the key holds this run's seed, and keeping copies would cost for
 * nothing. */
static gd_status finish_data(gd_run *run, gd_data_cache *cache, bool checkpoint)
{
    gd_status st = apply_preprocessing(run);
    if (!st && cache && !checkpoint && run->settings.split_seed)
        gd_data_cache_keep_prepared(cache, &run->settings, run->train, run->val, run->test,
                                    run->pre);
    return st;
}

/* Model, loader, optimiser and schedule, once the data is ready; a resume's state last. */
static gd_status make_trainer(gd_run *run, bool checkpoint)
{
    gd_status st = checkpoint ? GD_OK : build_model(run);
    if (!st && !checkpoint && run->settings.init_from[0])
        st = gd_run_init_from(run);
    if (st || (st = check_model_fits(run)))
        return st;
    run->batchnorm = has_batchnorm(run->model);
    run->parameters = parameter_count(run->model);
    run->loss = (gd_loss){.kind = GD_LOSS_CROSS_ENTROPY,
                          .label_smoothing = run->settings.label_smoothing};
    if ((st = make_loader(run)) || (st = set_augmentation(run)) || (st = make_optimizer(run)) ||
        (st = make_schedule(run)))
        return st;
    run->state.best_metric = run->maximize ? -INFINITY : INFINITY;
    run->state.best_val_accuracy = NAN;
    return checkpoint ? gd_run_restore_checkpoint(run) : GD_OK;
}

/* Data-parallel ranks agree twice, whatever failed where: once the preprocessing is
 * fitted (then rank 0's is everyone's), and at the end (then rank 0's weights are); a
 * failure on any rank fails every rank there, so none waits on another. Each rank's cache
 * hit (its own prepared copy of this preparation) skips the fit. */
static gd_status setup(gd_run *run, bool resume, gd_data_cache *cache, gd_comm *comm)
{
    gd_set_num_threads(run->settings.threads);
    bool checkpoint = false, prepared = false;
    /* Settings checked together (--warmup within --epochs): flags arrive one at a time. */
    gd_status st = gd_parallel_create(run, comm);
    if (!st)
        st = gd_settings_check(&run->settings, run->msg);
    if (!st)
        st = resolve_optimizer(run);
    run->maximize = strcmp(run->settings.early_stop, "val_accuracy") == 0;
    if (!st)
        st = ready_data(run, cache, resume, &checkpoint, &prepared);
    st = gd_parallel_agree(run, st);
    if (!st)
        st = gd_parallel_share_preprocessing(run);
    if (!st && !prepared)
        st = finish_data(run, cache, checkpoint);
    if (!st)
        st = make_trainer(run, checkpoint);
    st = gd_parallel_start(run, checkpoint, st);
    if (st || checkpoint)
        return st;
    return gd_run_write_config(run);
}

gd_status gd_run_create(gd_run **out, const gd_settings *s, const gd_run_options *opt,
                        gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    *out = NULL;
    if (!s)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "run: no settings");
    gd_run *run = calloc(1, sizeof *run);
    if (!run || gd_settings_copy(&run->settings, s) != GD_OK ||
        (opt && opt->dir && !(run->dir = strdup(opt->dir)))) {
        gd_run_free(run);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "run: out of memory");
    }
    gd_status st = setup(run, opt && opt->resume && opt->dir, opt ? opt->data_cache : NULL,
                         opt ? opt->comm : NULL);
    if (st != GD_OK) {
        snprintf(msg, GD_MSG_MAX, "%s", run->msg);
        gd_run_free(run);
        return st;
    }
    *out = run;
    return GD_OK;
}

/* The training's objects; the test set and preprocessing stay for gd_run_test. */
void gd_run_release_training(gd_run *run)
{
    gd_loader_free(run->loader);
    gd_optim_free(run->opt);
    gd_dataset_free(run->train);
    run->loader = NULL;
    run->opt = NULL;
    run->train = NULL;
    run->released = true;
}

void gd_run_free(gd_run *run)
{
    if (!run)
        return;
    gd_run_release_training(run);
    gd_model_free(run->model);
    gd_preprocess_free(run->pre);
    gd_dataset_free(run->val);
    gd_dataset_free(run->test);
    gd_settings_free(&run->settings);
    free(run->history);
    free(run->confusion);
    free(run->dir);
    gd_parallel_free(run->par);
    free(run);
}

const char *gd_run_error(const gd_run *run) { return run ? run->msg : "run: none"; }

gd_status gd_run_add_observer(gd_run *run, const gd_observer *observer)
{
    if (!observer)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT, "run: NULL observer");
    if (run->nobservers == GD_MAX_OBSERVERS)
        return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT, "run: at most %d observers",
                       GD_MAX_OBSERVERS);
    run->observers[run->nobservers++] = *observer;
    return GD_OK;
}

void gd_run_stop(gd_run *run) { run->stop_requested = true; }

gd_model *gd_run_model(gd_run *run) { return run->model; }
gd_optimizer *gd_run_optimizer(gd_run *run) { return run->opt; }
const gd_settings *gd_run_settings(const gd_run *run) { return &run->settings; }
int64_t gd_run_batches_per_epoch(const gd_run *run)
{
    return run->loader ? gd_loader_batches(run->loader) : 0;
}
int64_t gd_run_parameter_count(const gd_run *run) { return run->parameters; }
bool gd_run_has_batchnorm(const gd_run *run) { return run->batchnorm; }

gd_dataset *gd_run_dataset(gd_run *run, const char *split)
{
    if (strcmp(split, "train") == 0)
        return run->train;
    if (strcmp(split, "val") == 0)
        return run->val;
    return strcmp(split, "test") == 0 ? run->test : NULL;
}
