/* gradus train: data, preprocessing, model and optimiser from flags; the epoch loop with
 * validation, early stopping, checkpoints and resume; the run's files. */
#include "progress.h"
#include "run_dir.h"
#include "train_config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a checkpoint must carry beyond the library's state to resume bit for bit. */
typedef struct run_state {
    int64_t epoch, best_epoch, bad_epochs, samples;
    double best_val_accuracy, train_seconds, loop_seconds, final_train_loss;
} run_state;

typedef struct trainer {
    train_config cfg;
    const char *dir;
    int lock_fd; /* the run folder's lock, held until the process ends */
    gd_dataset *train, *val, *test;
    gd_preprocess *pre;
    gd_model *model;
    gd_optimizer *opt;
    gd_schedule schedule;
    gd_loader *loader;
    metrics_log metrics;
    run_state state;
} trainer;

/* ------------------------------------------------------------------ data */

static int library_error(gd_status st, const char *message)
{
    return fail_status("train", st, message);
}

static int prepare_data(trainer *t)
{
    data_source src = train_config_data(&t->cfg);
    gd_dataset *all = NULL;
    int rc = load_data("train", &src, &all, &t->test);
    if (rc != EXIT_OK)
        return rc;
    gd_error err;
    gd_status st = GD_OK;
    if (t->cfg.limit > 0) {
        gd_dataset *head = NULL;
        st = gd_dataset_head(all, t->cfg.limit, &head, &err);
        gd_dataset_free(all);
        all = head;
    }
    if (st == GD_OK && t->cfg.val_size > 0)
        st = gd_dataset_split(all, t->cfg.val_size, t->cfg.seed, &t->train, &t->val, &err);
    else if (st == GD_OK) {
        t->train = all;
        all = NULL;
    }
    gd_dataset_free(all);
    return st == GD_OK ? EXIT_OK : library_error(st, err.message);
}

/* Fits (fresh run) or has restored (resume) the preprocessing, then applies it to every
 * split: statistics come from the training split only. */
static int preprocess_data(trainer *t)
{
    gd_error err;
    gd_status st = GD_OK;
    if (!t->pre && strcmp(t->cfg.preprocess, "none") != 0)
        st = gd_preprocess_fit(&t->pre, t->cfg.preprocess, t->cfg.preprocess_eps, t->train, &err);
    if (st != GD_OK)
        return fail(EXIT_USAGE, "train", "--preprocess %s: %s", t->cfg.preprocess, err.message);
    gd_dataset *sets[] = {t->train, t->val, t->test};
    for (int i = 0; t->pre && i < 3 && st == GD_OK; i++)
        if (sets[i])
            st = gd_preprocess_apply_dataset(t->pre, sets[i], &err);
    return st == GD_OK ? EXIT_OK : library_error(st, err.message);
}

/* --crop-padding, --hflip and --random-erasing, on the training loader only: validation
 * and test data are evaluated as they are. They act on the data set's C x H x W samples
 * (after preprocessing, so padding and erasing write the preprocessed zero), which an MLP
 * then sees flattened. */
static int set_augmentation(trainer *t)
{
    gd_augment aug = {.crop_padding = t->cfg.crop_padding, .horizontal_flip = t->cfg.hflip,
                      .erase_probability = t->cfg.random_erasing};
    gd_error err;
    gd_status st = gd_loader_set_augment(t->loader, &aug, &err);
    if (st == GD_ERR_SHAPE)
        return fail(EXIT_USAGE, "train", "--crop-padding, --hflip and --random-erasing need image data "
                    "(C x H x W samples, as IDX or CIFAR; pca and whiten flatten them): %s", err.message);
    return st == GD_OK ? EXIT_OK : fail(EXIT_USAGE, "train", "%s", err.message);
}

/* ----------------------------------------------------------------- model */

/* Flat samples first (an MLP on images sees their pixels as one vector), then the data's
 * own shape (convolutions need C x H x W). */
static int build_model(trainer *t)
{
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_dataset_sample_shape(t->train, dims);
    int64_t flat = gd_dataset_sample_size(t->train);
    gd_error err;
    gd_status st = gd_model_from_spec(&t->model, t->cfg.model, t->cfg.seed, 1, &flat,
                                      t->cfg.batch_size, &err);
    if (st == GD_ERR_SHAPE && ndim > 1)
        st = gd_model_from_spec(&t->model, t->cfg.model, t->cfg.seed, ndim, dims,
                                t->cfg.batch_size, &err);
    if (st == GD_ERR_LIMIT) /* the spec is fine; the machine or the limit is too small */
        return fail_status("train", st, err.message);
    return st == GD_OK ? EXIT_OK : fail(EXIT_USAGE, "train", "--model: %s", err.message);
}

static bool has_batchnorm(const gd_model *m)
{
    gd_layer_info info;
    for (size_t i = 0; i < gd_model_layer_count(m); i++)
        if (gd_model_layer_at(m, i, &info) == GD_OK && strncmp(info.kind, "batchnorm", 9) == 0)
            return true;
    return false;
}

/* Batch norm in training normalises by the batch's own mean and variance, which a single
 * sample does not have (its variance is 0): with batch norm, a last batch of one sample is
 * skipped, and a run whose every batch would be a single sample is refused before it
 * trains on nothing (its losses would be NaN, 0/0 samples). */
static int make_loader(trainer *t)
{
    int64_t n = gd_dataset_size(t->train), b = t->cfg.batch_size;
    bool bn = has_batchnorm(t->model);
    if (bn && b == 1)
        return fail(EXIT_USAGE, "train", "no usable training batch: batch norm (bn in --model) cannot train on "
                    "a batch of one sample, and --batch-size 1 makes every batch one; give a --batch-size "
                    "of 2 or more, or a model without bn");
    if (bn && n == 1)
        return fail(EXIT_USAGE, "train", "no usable training batch: the training split has 1 sample, and batch "
                    "norm (bn in --model) cannot train on a batch of one; give more training samples "
                    "(--limit, --val-size) or a model without bn");
    gd_error err;
    if (gd_loader_create(&t->loader, t->train, b, true, bn && n % b == 1, t->cfg.seed, &err) != GD_OK)
        return fail(EXIT_USAGE, "train", "%s", err.message);
    if (gd_loader_batches(t->loader) == 0) /* the readers and the split leave none empty: a guard */
        return fail(EXIT_USAGE, "train", "no usable training batch in a training split of %lld samples; "
                    "give more training samples (--limit, --val-size)", (long long)n);
    return EXIT_OK;
}

static int make_optimizer(trainer *t)
{
    static const struct { const char *name; gd_optim_kind kind; } kinds[] = {
        {"sgd", GD_OPTIM_SGD}, {"adam", GD_OPTIM_ADAM}, {"adamw", GD_OPTIM_ADAMW},
        {"rmsprop", GD_OPTIM_RMSPROP}, {"adagrad", GD_OPTIM_ADAGRAD}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(t->cfg.optim, kinds[i].name) != 0)
            continue;
        gd_optim_config c = gd_optim_defaults(kinds[i].kind);
        c.lr = t->cfg.lr;
        c.weight_decay = t->cfg.weight_decay;
        if (kinds[i].kind == GD_OPTIM_SGD || kinds[i].kind == GD_OPTIM_RMSPROP)
            c.momentum = t->cfg.momentum;
        if (gd_optim_create(&t->opt, t->model, &c) != GD_OK)
            return fail(EXIT_USAGE, "train", "--optim %s: %s", t->cfg.optim, gd_optim_error(t->opt));
        return EXIT_OK;
    }
    return fail(EXIT_USAGE, "train", "--optim %s: expected sgd, adam, adamw, rmsprop or adagrad", t->cfg.optim);
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

/* --schedule in epochs, turned into a per-step gd_schedule. */
static int make_schedule(trainer *t)
{
    int64_t batches = gd_loader_batches(t->loader);
    int64_t warmup = t->cfg.warmup * batches, total = t->cfg.epochs * batches;
    int64_t main_steps = total - warmup > 1 ? total - warmup : 1;
    gd_schedule *s = &t->schedule;
    *s = (gd_schedule){.kind = GD_SCHEDULE_CONSTANT, .base_lr = t->cfg.lr, .warmup_steps = warmup,
                       .warmup_start_factor = 0.1};
    const char *text = t->cfg.schedule;
    double a = 0, b = 0.1, unused = 0;
    if (strcmp(text, "cosine") == 0) {
        s->kind = GD_SCHEDULE_COSINE;
        s->t_max = main_steps;
    } else if (strcmp(text, "linear") == 0) {
        s->kind = GD_SCHEDULE_LINEAR;
        s->start_factor = 1.0, s->end_factor = 0.01, s->total_iters = main_steps;
    } else if (parse_schedule_args(text, "step", &a, &b) && a >= 1) {
        s->kind = GD_SCHEDULE_STEP;
        s->step_size = (int64_t)a * batches;
        s->gamma = b;
    } else if (parse_schedule_args(text, "exp", &a, &unused) && unused == 0 && a > 0) {
        s->kind = GD_SCHEDULE_EXPONENTIAL;
        s->gamma = pow(a, 1.0 / (double)batches); /* a per epoch */
    } else if (strcmp(text, "constant") != 0)
        return fail(EXIT_USAGE, "train", "--schedule %s: expected constant, cosine, linear, step:EPOCHS[:GAMMA] or exp:GAMMA", text);
    if (gd_schedule_check(s) != GD_OK)
        return fail(EXIT_USAGE, "train", "--schedule %s: impossible settings for this run", text);
    return EXIT_OK;
}

/* ------------------------------------------------------------ checkpoints */

static char *run_state_text(const run_state *s, const metrics_log *metrics)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "metrics", metrics->text ? metrics->text : "");
    cJSON_AddNumberToObject(j, "best_epoch", (double)s->best_epoch);
    cJSON_AddNumberToObject(j, "bad_epochs", (double)s->bad_epochs);
    cJSON_AddNumberToObject(j, "samples", (double)s->samples);
    cJSON_AddNumberToObject(j, "best_val_accuracy", s->best_val_accuracy);
    cJSON_AddNumberToObject(j, "train_seconds", s->train_seconds);
    cJSON_AddNumberToObject(j, "loop_seconds", s->loop_seconds);
    cJSON_AddNumberToObject(j, "final_train_loss", s->final_train_loss);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

static double number(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void parse_run_state(run_state *s, metrics_log *metrics, const char *text)
{
    cJSON *j = cJSON_Parse(text);
    const cJSON *lines = cJSON_GetObjectItemCaseSensitive(j, "metrics");
    metrics_set(metrics, cJSON_IsString(lines) ? lines->valuestring : "");
    s->best_epoch = (int64_t)number(j, "best_epoch");
    s->bad_epochs = (int64_t)number(j, "bad_epochs");
    s->samples = (int64_t)number(j, "samples");
    s->best_val_accuracy = number(j, "best_val_accuracy");
    s->train_seconds = number(j, "train_seconds");
    s->loop_seconds = number(j, "loop_seconds");
    s->final_train_loss = number(j, "final_train_loss");
    cJSON_Delete(j);
}

static int save_checkpoint(trainer *t)
{
    char path[4096];
    char *state = run_state_text(&t->state, &t->metrics);
    gd_error err;
    gd_status st = gd_checkpoint_save(t->model, t->opt, t->pre, t->state.epoch, state,
                                      run_path(path, sizeof path, t->dir, "checkpoint.safetensors"), &err);
    free(state);
    return st == GD_OK ? EXIT_OK : library_error(st, err.message);
}

/* Loads the model (and its preprocessing) from the checkpoint; the optimiser follows in
 * restore_checkpoint once it exists. A run killed before its first checkpoint starts over. */
static int load_checkpoint_model(trainer *t, bool *found)
{
    char path[4096];
    run_path(path, sizeof path, t->dir, "checkpoint.safetensors");
    *found = access(path, F_OK) == 0;
    if (!*found)
        return EXIT_OK;
    gd_error err;
    gd_status st = gd_model_load(&t->model, &t->pre, path, t->cfg.batch_size, &err);
    return st == GD_OK ? EXIT_OK : library_error(st, err.message);
}

#define RUN_STATE_MAX (1 << 22) /* metrics of thousands of epochs */

static int restore_checkpoint(trainer *t)
{
    char path[4096], *state = calloc(1, RUN_STATE_MAX);
    gd_error err;
    gd_status st = gd_checkpoint_load(t->model, t->opt, &t->state.epoch, state, RUN_STATE_MAX,
                                      run_path(path, sizeof path, t->dir, "checkpoint.safetensors"), &err);
    if (st == GD_OK)
        parse_run_state(&t->state, &t->metrics, state);
    free(state);
    return st == GD_OK ? EXIT_OK : library_error(st, err.message);
}

/* ------------------------------------------------------------------ epochs */

static int diverged(trainer *t, int64_t step)
{
    return fail(EXIT_DIVERGED, "train",
                "the loss became NaN or infinite at epoch %lld, step %lld; try a lower learning rate "
                "(--lr %g now); the last good checkpoint is %s/checkpoint.safetensors",
                (long long)t->state.epoch + 1, (long long)step, t->cfg.lr, t->dir);
}

/* One training step on a batch; counts correct guesses for the training accuracy. */
static int train_step(trainer *t, gd_tensor x, const int32_t *labels, double *loss, int64_t *correct)
{
    gd_model *m = t->model;
    gd_loss ce = {.kind = GD_LOSS_CROSS_ENTROPY, .label_smoothing = t->cfg.label_smoothing};
    gd_tensor in = model_view(m, x);
    gd_optim_set_lr(t->opt, gd_schedule_lr(&t->schedule, gd_optim_step_count(t->opt)));
    gd_status st = gd_model_forward(m, &in);
    if (st == GD_OK)
        st = gd_model_loss(m, &ce, labels, NULL, loss);
    if (st == GD_ERR_NUMERIC || (st == GD_OK && !isfinite(*loss)))
        return EXIT_DIVERGED;
    const gd_tensor *y = gd_model_output(m);
    for (int64_t i = 0; st == GD_OK && i < x.dims[0]; i++)
        *correct += argmax(y->data + i * y->dims[1], (int)y->dims[1]) == labels[i];
    if (st == GD_OK)
        st = gd_model_backward(m);
    if (st == GD_OK && t->cfg.clip_norm > 0)
        st = gd_model_clip_grad_norm(m, t->cfg.clip_norm, NULL);
    if (st == GD_OK)
        st = gd_optim_step(t->opt);
    return st == GD_OK ? EXIT_OK : library_error(st, gd_model_error(m));
}

static int run_epoch(trainer *t, progress *bar, epoch_stats *s)
{
    gd_tensor x;
    const int32_t *labels;
    int64_t batch = 0, seen = 0, correct = 0;
    double loss_sum = 0, start = now_seconds();
    gd_model_set_training(t->model, true);
    gd_loader_start_epoch(t->loader, t->state.epoch);
    progress_start_epoch(bar, t->state.epoch + 1, t->cfg.epochs, gd_loader_batches(t->loader));
    s->lr = gd_schedule_lr(&t->schedule, gd_optim_step_count(t->opt));
    while (gd_loader_next(t->loader, &x, &labels)) {
        double loss = 0;
        int rc = train_step(t, x, labels, &loss, &correct);
        if (rc == EXIT_DIVERGED)
            return diverged(t, batch + 1);
        if (rc != EXIT_OK)
            return rc;
        loss_sum += loss * (double)x.dims[0];
        seen += x.dims[0];
        progress_batch(bar, ++batch, loss_sum / (double)seen, (double)seen / (now_seconds() - start));
    }
    s->seconds = now_seconds() - start;
    s->train_loss = loss_sum / (double)seen;
    s->train_accuracy = (double)correct / (double)seen;
    s->samples_per_sec = (double)seen / s->seconds;
    t->state.samples += seen;
    t->state.loop_seconds += s->seconds;
    return EXIT_OK;
}

static int save_best(trainer *t)
{
    char path[4096];
    gd_error err;
    gd_status st = gd_model_save(t->model, t->pre, run_path(path, sizeof path, t->dir, "model.safetensors"), &err);
    return st == GD_OK ? EXIT_OK : library_error(st, err.message);
}

/* Validation, best-model bookkeeping and the epoch's files: the best model, then the
 * checkpoint (which carries the metrics), then metrics.jsonl. A kill between any two
 * leaves files that a resume from the last checkpoint makes consistent again. */
static int end_epoch(trainer *t, progress *bar, epoch_stats *s, double epoch_start)
{
    int rc = EXIT_OK;
    s->epoch = ++t->state.epoch;
    s->validated = t->val != NULL;
    if (s->validated)
        rc = evaluate("train", t->model, t->val, NULL, &s->val_accuracy, &s->val_loss);
    if (rc != EXIT_OK)
        return rc;
    /* Without a validation set, the last epoch's model is the one kept (say_no_validation_rule). */
    s->best = !s->validated || s->val_accuracy > t->state.best_val_accuracy;
    if (s->best) {
        t->state.best_val_accuracy = t->val ? s->val_accuracy : NAN;
        t->state.best_epoch = s->epoch;
        t->state.bad_epochs = 0;
        rc = save_best(t);
    } else
        t->state.bad_epochs++;
    t->state.final_train_loss = s->train_loss;
    t->state.train_seconds += now_seconds() - epoch_start;
    progress_end_epoch(bar, s);
    metrics_add(&t->metrics, s);
    char path[4096];
    if (rc == EXIT_OK)
        rc = save_checkpoint(t);
    return rc == EXIT_OK ? metrics_write(&t->metrics, run_path(path, sizeof path, t->dir, "metrics.jsonl")) : rc;
}

/* With --val-size 0 nothing measures a better epoch: every epoch replaces the kept model,
 * so the last one is kept and early stopping, which waits for no better validation
 * accuracy, never triggers. Said once, before the epochs. */
static void say_no_validation_rule(const trainer *t)
{
    if (!t->val)
        printf("no validation split (--val-size 0): the model kept is the last epoch's, "
               "and --patience does not apply\n");
}

static int train_epochs(trainer *t)
{
    progress bar = {0};
    say_no_validation_rule(t);
    while (t->state.epoch < t->cfg.epochs) {
        if (t->val && t->cfg.patience > 0 && t->state.bad_epochs >= t->cfg.patience) {
            printf("early stop: no better validation accuracy for %lld epochs\n", (long long)t->cfg.patience);
            break;
        }
        double start = now_seconds();
        epoch_stats s = {0};
        int rc = run_epoch(t, &bar, &s);
        if (rc == EXIT_OK)
            rc = end_epoch(t, &bar, &s, start);
        if (rc != EXIT_OK)
            return rc;
    }
    return EXIT_OK;
}

/* ----------------------------------------------------------------- finish */

static int write_summary(trainer *t, double test_accuracy, int64_t parameters)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "test_accuracy", test_accuracy);
    cJSON_AddStringToObject(j, "validation", t->val ? "split" : "none");
    cJSON_AddNumberToObject(j, "val_size", t->val ? (double)gd_dataset_size(t->val) : 0);
    if (t->val)
        cJSON_AddNumberToObject(j, "best_val_accuracy", t->state.best_val_accuracy);
    else
        cJSON_AddNullToObject(j, "best_val_accuracy");
    /* Which rule chose model.safetensors (and best_epoch, the epoch it comes from). */
    cJSON_AddStringToObject(j, "model_kept", t->val ? "best_val_accuracy" : "last_epoch");
    cJSON_AddNumberToObject(j, "best_epoch", (double)t->state.best_epoch);
    cJSON_AddNumberToObject(j, "final_train_loss", t->state.final_train_loss);
    cJSON_AddNumberToObject(j, "epochs", (double)t->state.epoch);
    cJSON_AddNumberToObject(j, "train_seconds", t->state.train_seconds);
    cJSON_AddNumberToObject(j, "train_samples_per_sec",
                            t->state.loop_seconds > 0 ? (double)t->state.samples / t->state.loop_seconds : 0);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->cfg.seed);
    cJSON_AddRawToObject(j, "seed", seed);
    cJSON_AddNumberToObject(j, "threads", gd_get_num_threads());
    cJSON_AddStringToObject(j, "model", t->cfg.model);
    cJSON_AddStringToObject(j, "preprocess", t->cfg.preprocess);
    cJSON_AddStringToObject(j, "optim", t->cfg.optim);
    cJSON_AddNumberToObject(j, "lr", t->cfg.lr);
    cJSON_AddNumberToObject(j, "batch_size", (double)t->cfg.batch_size);
    cJSON_AddNumberToObject(j, "parameters", (double)parameters);
    char path[4096];
    return write_json(run_path(path, sizeof path, t->dir, "summary.json"), j);
}

/* The training's own memory, given back before the best model is loaded for the test: a
 * model held four times over (weights, gradients, Adam's moments) and a second copy
 * loaded beside it made a wide input's run peak at twice what training needed. */
static int64_t release_training(trainer *t)
{
    int64_t parameters = gd_model_parameters_flat(t->model).dims[0];
    gd_loader_free(t->loader);
    gd_optim_free(t->opt);
    gd_model_free(t->model);
    gd_dataset_free(t->train);
    t->loader = NULL;
    t->opt = NULL;
    t->model = NULL;
    t->train = NULL;
    return parameters;
}

/* Test accuracy of the best model, as saved. */
static int finish(trainer *t)
{
    char path[4096];
    int64_t parameters = release_training(t);
    gd_model *best = NULL;
    gd_error err;
    gd_status st = gd_model_load(&best, NULL, run_path(path, sizeof path, t->dir, "model.safetensors"), 256, &err);
    if (st != GD_OK)
        return library_error(st, err.message);
    double accuracy = 0, loss = 0;
    int rc = evaluate("train", best, t->test, NULL, &accuracy, &loss);
    gd_model_free(best);
    if (rc == EXIT_OK)
        rc = write_summary(t, accuracy, parameters);
    if (rc != EXIT_OK)
        return rc;
    printf("test accuracy %.4f ", accuracy);
    if (t->val)
        printf("(best epoch %lld, validation %.4f)", (long long)t->state.best_epoch, t->state.best_val_accuracy);
    else
        printf("(last epoch %lld, no validation split)", (long long)t->state.best_epoch);
    printf("; %.1f s; model in %s\n", t->state.train_seconds, path);
    return EXIT_OK;
}

/* ------------------------------------------------------------------ setup */

static int setup(trainer *t, int argc, char **argv)
{
    int rc = train_config_parse(&t->cfg, argc, argv);
    if (rc != EXIT_OK)
        return rc;
    bool resume = t->cfg.resume != NULL;
    if (resume) {
        free(t->cfg.out);
        t->cfg.out = strdup(t->cfg.resume);
    } else if (!t->cfg.out && !(t->cfg.out = run_dir_create_default()))
        return EXIT_FAILURE_RUN;
    t->dir = t->cfg.out;
    /* The folder is locked before a resume reads its config.json: a run still writing it
     * is refused instead of joined. */
    if ((rc = run_dir_prepare(t->dir, resume, &t->lock_fd)) != EXIT_OK)
        return rc;
    if (resume && (rc = train_config_load(&t->cfg, t->cfg.resume)) != EXIT_OK)
        return rc;
    gd_set_num_threads(t->cfg.threads);
    if ((rc = prepare_data(t)) != EXIT_OK)
        return rc;
    bool checkpoint = false;
    if (resume && (rc = load_checkpoint_model(t, &checkpoint)) != EXIT_OK)
        return rc;
    if ((rc = preprocess_data(t)) != EXIT_OK)
        return rc;
    if (!checkpoint && (rc = build_model(t)) != EXIT_OK)
        return rc;
    if ((rc = make_loader(t)) != EXIT_OK || (rc = set_augmentation(t)) != EXIT_OK)
        return rc;
    if ((rc = make_optimizer(t)) != EXIT_OK || (rc = make_schedule(t)) != EXIT_OK)
        return rc;
    if (checkpoint)
        return restore_checkpoint(t);
    t->state.best_val_accuracy = -1;
    char path[4096];
    return write_json(run_path(path, sizeof path, t->dir, "config.json"), train_config_json(&t->cfg));
}

static void teardown(trainer *t)
{
    gd_loader_free(t->loader);
    gd_optim_free(t->opt);
    gd_model_free(t->model);
    gd_preprocess_free(t->pre);
    gd_dataset_free(t->train);
    gd_dataset_free(t->val);
    gd_dataset_free(t->test);
    metrics_free(&t->metrics);
    train_config_free(&t->cfg);
    if (t->lock_fd >= 0)
        close(t->lock_fd); /* the lock goes with it; the file stays (run_dir.c says why) */
}

int cmd_train(int argc, char **argv)
{
    trainer t = {.lock_fd = -1};
    int rc = setup(&t, argc, argv);
    if (rc < 0) /* --help was printed: the flags every command takes follow */
        print_common_help(stdout);
    if (rc == EXIT_OK)
        rc = train_epochs(&t);
    if (rc == EXIT_OK)
        rc = finish(&t);
    teardown(&t);
    return rc < 0 ? EXIT_OK : rc; /* -1: --help was printed */
}
