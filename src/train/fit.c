/* Training: the composition of a step (forward, loss, backward, clipping, the optimiser's
 * step) with the observers at its fixed points, the end of an epoch (validation, the
 * best model, early stopping's count, the run's files), and the test of the best model. */
#include "train.h"

#include "../model/model.h"

#include <math.h>
#include <stdlib.h>

#define EACH_OBSERVER(run, hook, ...)                                     \
    for (int o_ = 0; o_ < (run)->nobservers; o_++)                        \
        if ((run)->observers[o_].hook)                                    \
            (run)->observers[o_].hook((run)->observers[o_].ctx, (run), __VA_ARGS__)

static void start_epoch(gd_run *run)
{
    gd_epoch_progress *p = &run->progress;
    *p = (gd_epoch_progress){.started = true, .start = gd_now_seconds()};
    p->wall_start = p->start;
    p->lr = gd_schedule_lr(&run->schedule, gd_optim_step_count(run->opt));
    gd_model_set_training(run->model, true);
    gd_loader_start_epoch(run->loader, run->state.epoch);
}

static gd_status diverged(gd_run *run)
{
    run->stop = GD_STOP_DIVERGED;
    run->diverged_epoch = run->state.epoch + 1;
    run->diverged_step = run->progress.batch;
    return gd_fail(run->msg, GD_ERR_NUMERIC,
                   "the loss became NaN or infinite at epoch %lld, step %lld",
                   (long long)run->diverged_epoch, (long long)run->diverged_step);
}

static int64_t count_correct(gd_run *run, int64_t rows, const int32_t *labels)
{
    const gd_tensor *y = gd_model_output(run->model);
    int64_t correct = 0;
    for (int64_t i = 0; i < rows; i++)
        correct += gd_argmax(y->data + i * y->dims[1], (int)y->dims[1]) == labels[i];
    return correct;
}

/* A stop every rank takes at the same step: data-parallel ranks stop once the step's
 * exchange has told them all; alone, at the request. */
static bool stopping(const gd_run *run)
{
    return run->par ? run->stop_agreed : run->stop_requested;
}

/* Forward and loss of this rank's shard of the batch (the whole batch alone), then the
 * step's figures, which data-parallel ranks exchange: a NaN on any rank is a divergence
 * on all. */
static gd_status forward_and_loss(gd_run *run, gd_tensor x, const int32_t *labels,
                                  gd_step_info *info, gd_parallel_step *figures)
{
    gd_model *m = run->model;
    int64_t first, total, rows = x.dims[0];
    gd_loader_shard(run->loader, &first, &total);
    gd_model_set_shard(m, first, run->par ? total : 0);
    gd_tensor in = gd_model_input_view(m, x);
    gd_status st = gd_model_forward(m, &in);
    if (st == GD_OK)
        st = gd_model_loss(m, &run->loss, labels, NULL, &info->loss);
    bool failed = st == GD_ERR_NUMERIC || (st == GD_OK && !isfinite(info->loss));
    if (st != GD_OK && !failed && !run->par)
        return gd_fail(run->msg, st, "%s", gd_model_error(m));
    *figures = (gd_parallel_step){.loss_sum = failed ? 0 : info->loss * (double)rows,
                                  .correct = failed ? 0 : count_correct(run, rows, labels),
                                  .samples = rows, .failed = st != GD_OK || failed};
    gd_status ex = gd_parallel_step_figures(run, figures);
    if (ex != GD_OK)
        return ex;
    if (st != GD_OK && !failed)
        return gd_fail(run->msg, st, "%s", gd_model_error(m));
    if (figures->failed)
        return diverged(run);
    if (run->par) { /* the global batch's loss, and each rank's share of its gradient */
        info->loss = figures->loss_sum / (double)figures->samples;
        gd_parallel_scale_loss_gradient(run, rows, total);
    }
    return GD_OK;
}

/* Forward and loss, then the observers that read them, backward, the ranks' gradients
 * summed, the observers that read the gradients, clipping and the optimiser's step. */
static gd_status train_batch(gd_run *run, gd_tensor x, const int32_t *labels, gd_step_info *info)
{
    gd_model *m = run->model;
    gd_epoch_progress *p = &run->progress;
    gd_optim_set_lr(run->opt, info->lr);
    double momentum = gd_schedule_momentum(&run->schedule, info->step);
    if (!isnan(momentum))
        gd_optim_set_momentum(run->opt, momentum);
    gd_parallel_step figures;
    gd_status st = forward_and_loss(run, x, labels, info, &figures);
    if (st != GD_OK || stopping(run)) /* a stop agreed on here comes before the update */
        return st;
    p->correct += figures.correct;
    p->loss_sum += figures.loss_sum;
    p->seen += figures.samples;
    info->epoch_loss = p->loss_sum / (double)p->seen;
    info->samples_per_sec = (double)p->seen / (gd_now_seconds() - p->start);
    EACH_OBSERVER(run, after_forward, info);
    st = gd_model_backward(m);
    if (st == GD_OK && (st = gd_parallel_sum_gradients(run)) != GD_OK)
        return st;
    if (st == GD_OK)
        EACH_OBSERVER(run, after_backward, info);
    if (st == GD_OK && run->settings.clip_norm > 0)
        st = gd_model_clip_grad_norm(m, run->settings.clip_norm, NULL);
    if (st == GD_OK)
        st = gd_optim_step(run->opt);
    if (st != GD_OK)
        return gd_fail(run->msg, st, "%s", gd_model_error(m));
    EACH_OBSERVER(run, after_step, info);
    return GD_OK;
}

static gd_status end_epoch(gd_run *run, gd_epoch_metrics *out);

gd_status gd_run_step(gd_run *run, bool *epoch_done)
{
    *epoch_done = false;
    if (run->released)
        return gd_fail(run->msg, GD_ERR_STATE, "run: a step after gd_run_test");
    if (!run->progress.started)
        start_epoch(run);
    gd_tensor x;
    const int32_t *labels;
    if (!gd_loader_next(run->loader, &x, &labels))
        return gd_fail(run->msg, GD_ERR_STATE, "run: the epoch has no batch left");
    gd_epoch_progress *p = &run->progress;
    int64_t first, total;
    gd_loader_shard(run->loader, &first, &total);
    gd_step_info info = {.epoch = run->state.epoch, .batch = ++p->batch,
                         .batches = gd_loader_batches(run->loader),
                         .step = gd_optim_step_count(run->opt), .batch_size = total,
                         .lr = gd_schedule_lr(&run->schedule, gd_optim_step_count(run->opt))};
    gd_status st = train_batch(run, x, labels, &info);
    if (st == GD_OK && !stopping(run) && p->batch == info.batches) {
        *epoch_done = true;
        return end_epoch(run, NULL);
    }
    return st;
}

/* ------------------------------------------------------------ epoch ends */

static gd_status validate(gd_run *run, gd_epoch_metrics *m)
{
    m->validated = run->val != NULL;
    m->val_loss = m->val_accuracy = NAN;
    if (!m->validated)
        return GD_OK;
    gd_evaluation ev;
    gd_error err;
    gd_status st = gd_parallel_evaluate(run, run->val, &ev, &err);
    m->val_loss = ev.loss;
    m->val_accuracy = ev.accuracy;
    return st == GD_OK ? GD_OK : gd_fail(run->msg, st, "%s", err.message);
}

static double monitored(const gd_run *run, const gd_epoch_metrics *m)
{
    return run->maximize ? m->val_accuracy : m->val_loss;
}

/* Keras's EarlyStopping test: better than the best by more than min_delta (NaN never). */
static bool improved(const gd_run *run, double value)
{
    double d = run->settings.min_delta, best = run->state.best_metric;
    return run->maximize ? value - d > best : value + d < best;
}

/* Without a validation set nothing measures a better epoch: each epoch replaces the kept
 * model, so the last one is kept and early stopping never triggers. */
static gd_status keep_best(gd_run *run, gd_epoch_metrics *m)
{
    gd_run_state *s = &run->state;
    m->best = !m->validated || improved(run, monitored(run, m));
    if (!m->best) {
        s->bad_epochs++;
        return GD_OK;
    }
    if (m->validated)
        s->best_metric = monitored(run, m);
    s->best_val_accuracy = m->validated ? m->val_accuracy : NAN;
    s->best_epoch = m->epoch;
    s->bad_epochs = 0;
    return run->dir && run->writes ? gd_run_save_best(run) : GD_OK;
}

/* The epoch's figures, validation, the best model, then the checkpoint (which carries the
 * history) and metrics.jsonl: a kill between any two leaves files that a resume from the
 * last checkpoint makes consistent again. Observers see the epoch once its files are. */
static gd_status end_epoch(gd_run *run, gd_epoch_metrics *out)
{
    gd_epoch_progress *p = &run->progress;
    gd_run_state *s = &run->state;
    gd_epoch_metrics m = {.epoch = s->epoch + 1, .lr = p->lr};
    m.seconds = gd_now_seconds() - p->start;
    m.train_loss = p->loss_sum / (double)p->seen;
    m.train_accuracy = (double)p->correct / (double)p->seen;
    m.samples_per_sec = (double)p->seen / m.seconds;
    s->samples += p->seen;
    s->loop_seconds += m.seconds;
    p->started = false;
    s->epoch = m.epoch;
    /* Ranks that normalised by their own shards hold their own running statistics:
     * rank 0's are the model's (as DistributedDataParallel's broadcast_buffers). */
    gd_status st = run->settings.sync_bn ? GD_OK : gd_parallel_share_buffers(run);
    if (st == GD_OK)
        st = validate(run, &m);
    if (st == GD_OK)
        st = keep_best(run, &m);
    if (st == GD_OK && run->plateau_on && m.validated) { /* the next epoch's rate */
        gd_plateau_step(&run->plateau, monitored(run, &m));
        run->schedule.base_lr = run->plateau.lr;
    }
    s->final_train_loss = m.train_loss;
    s->train_seconds += gd_now_seconds() - p->wall_start;
    if (st == GD_OK)
        st = gd_run_history_add(run, &m);
    if (st == GD_OK && run->dir && run->writes && (st = gd_run_save_checkpoint(run)) == GD_OK)
        st = gd_run_write_metrics(run);
    st = gd_parallel_agree(run, st); /* rank 0's files written, or every rank stops */
    if (out)
        *out = m;
    if (st == GD_OK)
        EACH_OBSERVER(run, epoch_end, &m);
    return st;
}

gd_status gd_run_epoch(gd_run *run, gd_epoch_metrics *metrics)
{
    bool done = false;
    gd_status st = GD_OK;
    int64_t before = run->history_len;
    while (st == GD_OK && !done && !stopping(run))
        st = gd_run_step(run, &done);
    if (metrics)
        *metrics = run->history_len > before ? run->history[run->history_len - 1]
                                             : (gd_epoch_metrics){0};
    return st;
}

/* ------------------------------------------------------------------- fit */

bool gd_run_patience_spent(const gd_run *run)
{
    const gd_settings *s = &run->settings;
    return run->val && s->patience > 0 && run->state.bad_epochs >= s->patience;
}

gd_status gd_run_fit(gd_run *run, gd_run_result *result)
{
    gd_status st = GD_OK;
    run->stop = GD_STOP_COMPLETED;
    while (st == GD_OK && run->state.epoch < run->settings.epochs) {
        if (gd_run_patience_spent(run)) {
            run->stop = GD_STOP_EARLY;
            break;
        }
        st = gd_run_epoch(run, NULL);
        if (st == GD_OK && stopping(run)) {
            run->stop = GD_STOP_REQUESTED;
            break;
        }
    }
    if (st == GD_OK && run->test && run->writes) /* data-parallel: rank 0 tests */
        st = gd_run_test(run, &run->test_result);
    if (result)
        gd_run_result_get(run, result);
    return st;
}

/* A zeroed matrix for the test's counts, sized by the tested model's outputs (its classes,
 * which the test labels may not all use). */
static gd_status test_confusion(gd_run *run, const gd_model *best, gd_error *err)
{
    int64_t dims[GD_MAX_DIMS] = {0};
    gd_model_output_shape(best, dims);
    size_t cells;
    free(run->confusion);
    run->confusion_classes = 0;
    if (!gd_size_mul(&cells, (size_t)dims[0], (size_t)dims[0]) ||
        !(run->confusion = calloc(cells, sizeof *run->confusion)))
        return gd_fail(err->message, GD_ERR_NO_MEMORY, "run: no memory for the confusion matrix");
    run->confusion_classes = (int)dims[0];
    return GD_OK;
}

gd_status gd_run_test(gd_run *run, gd_evaluation *out)
{
    if (!run->test)
        return gd_fail(run->msg, GD_ERR_STATE, "run: no test set");
    gd_run_release_training(run);
    gd_model *best = run->model;
    gd_error err;
    gd_status st = GD_OK;
    if (run->dir) { /* the best model, as saved; the last one's memory goes first */
        char path[GD_PATH_MAX];
        gd_model_free(run->model);
        run->model = NULL;
        /* Forward passes alone: a fraction of a training plan's memory, which at this
         * batch would be the run's peak. */
        st = gd_model_load_for_inference(&best, NULL, gd_run_path(run, "model.safetensors", path),
                                         0, NULL, 256, &err);
    }
    if (st == GD_OK)
        st = test_confusion(run, best, &err);
    if (st == GD_OK)
        st = gd_evaluate(best, run->test, run->confusion, out, &err);
    if (best != run->model)
        gd_model_free(best);
    if (st != GD_OK)
        return gd_fail(run->msg, st, "%s", err.message);
    run->tested = true;
    run->test_result = *out;
    return GD_OK;
}

const int64_t *gd_run_confusion(const gd_run *run, int *classes)
{
    bool have = run->tested && run->confusion;
    if (classes)
        *classes = have ? run->confusion_classes : 0;
    return have ? run->confusion : NULL;
}

void gd_run_result_get(const gd_run *run, gd_run_result *out)
{
    const gd_run_state *s = &run->state;
    *out = (gd_run_result){
        .stop = run->stop, .epochs = s->epoch, .best_epoch = s->best_epoch,
        .best_val_accuracy = run->val ? s->best_val_accuracy : NAN, .validated = run->val != NULL,
        .final_train_loss = s->final_train_loss, .train_seconds = s->train_seconds,
        .samples_per_sec = s->loop_seconds > 0 ? (double)s->samples / s->loop_seconds : 0,
        .diverged_epoch = run->diverged_epoch, .diverged_step = run->diverged_step,
        .tested = run->tested, .test = run->test_result, .history = run->history,
        .history_len = run->history_len};
}
