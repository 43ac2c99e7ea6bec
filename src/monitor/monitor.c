/* The training monitor: an observer on a gd_run, built only on public calls. Every step
 * (after forward) it writes the loss, checks it against the first loss and marks the ReLU
 * units that fired; on the step that ends an interval it also takes every layer's figures
 * (after forward), every tensor's gradient norm and a copy of the weights (after backward,
 * before clipping and the step), then the update's norm (after the step), writes the
 * record and judges it. Everything it needs is allocated at creation. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

gd_monitor_options gd_monitor_defaults(void)
{
    return (gd_monitor_options){.interval = GD_MONITOR_DEFAULT_INTERVAL,
                                .saturated_fraction = 0.5, .dead_fraction = 0.5,
                                .ratio_low = 1e-5, .ratio_high = 1e-1, .gradient_jump = 10,
                                .loss_stop_factor = 3};
}

/* ------------------------------------------------------------ the judgements */

static double percent(double fraction) { return 100 * fraction; }

/* A condition reported when it starts and again only after it has cleared. */
static bool starts(bool *warned, bool now)
{
    bool fire = now && !*warned;
    *warned = now;
    return fire;
}

static void judge_layer(gd_monitor *m, mon_layer *l, const gd_step_info *step)
{
    const gd_monitor_layer *p = &l->pub;
    const gd_monitor_options *o = &m->opt;
    if (l->act == MON_SIGMOID || l->act == MON_TANH) {
        if (starts(&l->warned, p->saturated > o->saturated_fraction))
            gd_monitor_warn(m, step, GD_WARN_SATURATED, p->name, p->saturated,
                            o->saturated_fraction,
                            "layer %s (%s): %.0f%% of units saturated (threshold %.0f%%); "
                            "gradients vanish there: try ReLU, a smaller initialisation or "
                            "batch norm", p->name, p->kind, percent(p->saturated),
                            percent(o->saturated_fraction));
    } else if (l->act == MON_RELU) {
        if (starts(&l->warned, p->dead > o->dead_fraction))
            gd_monitor_warn(m, step, GD_WARN_DEAD_UNITS, p->name, p->dead, o->dead_fraction,
                            "layer %s (relu): %.0f%% of units never fired in the last %lld "
                            "steps (threshold %.0f%%); they pass no gradient and stop "
                            "learning: try a lower learning rate, a smaller negative bias or "
                            "leaky_relu", p->name, percent(p->dead), (long long)m->since,
                            percent(o->dead_fraction));
    }
}

static void judge_tensor(gd_monitor *m, mon_tensor *t, const gd_step_info *step)
{
    const gd_monitor_tensor *p = &t->pub;
    const gd_monitor_options *o = &m->opt;
    if (t->ndim < 2)
        return; /* biases and scales start at or near 0 or 1 and a bias's gradient (a sum
                   over the batch) may nearly cancel: their ratios and jumps say little */
    double jump = p->grad_norm / t->grad_level;
    if (t->grad_level > 0 && jump > o->gradient_jump)
        gd_monitor_warn(m, step, GD_WARN_GRADIENT_JUMP, p->name, jump, o->gradient_jump,
                        "gradient norm of %s jumped %.0fx over its recent level (%.3g to "
                        "%.3g; threshold %gx): the loss may be about to diverge: try a lower "
                        "learning rate or gradient clipping", p->name, jump, t->grad_level,
                        p->grad_norm, o->gradient_jump);
    /* Averaged over records, so that one small batch's gradient sets no low baseline. */
    t->grad_level = isnan(t->grad_level) ? p->grad_norm : 0.7 * t->grad_level + 0.3 * p->grad_norm;
    if (isnan(p->update_ratio))
        return;
    /* A schedule's warm-up or annealed end makes small updates by design. */
    bool full_rate = step->lr >= 0.1 * m->base_lr;
    if (starts(&t->warned_low, full_rate && p->update_ratio < o->ratio_low))
        gd_monitor_warn(m, step, GD_WARN_UPDATE_RATIO_LOW, p->name, p->update_ratio, o->ratio_low,
                        "%s: update/weight ratio %.2g (threshold %.2g; about 1e-3 is healthy): "
                        "the learning rate is probably too low", p->name, p->update_ratio,
                        o->ratio_low);
    if (starts(&t->warned_high, p->update_ratio > o->ratio_high))
        gd_monitor_warn(m, step, GD_WARN_UPDATE_RATIO_HIGH, p->name, p->update_ratio,
                        o->ratio_high,
                        "%s: update/weight ratio %.2g (threshold %.2g; about 1e-3 is healthy): "
                        "the learning rate is probably too high", p->name, p->update_ratio,
                        o->ratio_high);
}

/* The lecture's early stop: a loss beyond 3x where it started has diverged, and the rest of
 * the run would only waste time. */
static void check_loss(gd_monitor *m, gd_run *run, const gd_step_info *step)
{
    if (m->steps == 1)
        m->first_loss = step->loss;
    double limit = m->opt.loss_stop_factor * m->first_loss;
    if (m->stopped || m->opt.loss_stop_factor <= 0 || !(m->first_loss > 0) || !(step->loss > limit))
        return;
    m->stopped = true;
    gd_monitor_warn(m, step, GD_WARN_LOSS_EXPLODED, "loss", step->loss, limit,
                    "loss %.4g at step %lld is more than %gx the first loss %.4g (threshold "
                    "%.4g): stopping the run; the learning rate is probably too high",
                    step->loss, (long long)step->step + 1, m->opt.loss_stop_factor,
                    m->first_loss, limit);
    gd_run_stop(run);
}

/* --------------------------------------------------------------- the callbacks */

static gd_tensor layer_output(gd_model *model, const mon_layer *l)
{
    gd_layer_info info;
    gd_model_layer_at(model, l->index, &info);
    return info.output;
}

static void after_forward(void *ctx, gd_run *run, const gd_step_info *step)
{
    gd_monitor *m = ctx;
    gd_model *model = gd_run_model(run);
    m->steps++;
    m->since++;
    m->loss = step->loss;
    m->recording = m->since >= m->opt.interval;
    gd_monitor_line_begin(m, "loss", step);
    gd_monitor_put_number(m, "loss", step->loss);
    gd_monitor_put_number(m, "lr", step->lr);
    gd_monitor_line_end(m);
    check_loss(m, run, step);
    for (size_t i = 0; i < m->nlayers; i++) {
        mon_layer *l = &m->layers[i];
        if (l->act != MON_RELU && !m->recording)
            continue;
        gd_tensor out = layer_output(model, l);
        if (l->act == MON_RELU)
            gd_monitor_mark_fired(l, &out);
        if (m->recording)
            gd_monitor_layer_stats(l, &out, m->since);
    }
}

static void after_backward(void *ctx, gd_run *run, const gd_step_info *step)
{
    (void)run, (void)step;
    gd_monitor *m = ctx;
    if (!m->recording)
        return;
    for (size_t i = 0; i < m->ntensors; i++) {
        mon_tensor *t = &m->tensors[i];
        t->pub.grad_norm = gd_monitor_norm(t->grad, t->numel);
        memcpy(m->before + t->offset, t->value, (size_t)t->numel * sizeof(float));
    }
}

static void after_step(void *ctx, gd_run *run, const gd_step_info *step)
{
    (void)run;
    gd_monitor *m = ctx;
    if (!m->recording)
        return;
    for (size_t i = 0; i < m->ntensors; i++) {
        mon_tensor *t = &m->tensors[i];
        t->pub.weight_norm = gd_monitor_norm(t->value, t->numel);
        t->pub.update_norm = gd_monitor_distance(t->value, m->before + t->offset, t->numel);
        t->pub.update_ratio = t->pub.weight_norm > 0 ? t->pub.update_norm / t->pub.weight_norm : NAN;
    }
    m->records++;
    gd_monitor_write_record(m, step);
    for (size_t i = 0; i < m->nlayers; i++)
        judge_layer(m, &m->layers[i], step);
    for (size_t i = 0; i < m->ntensors; i++)
        judge_tensor(m, &m->tensors[i], step);
    for (size_t i = 0; i < m->nlayers; i++)
        if (m->layers[i].fired)
            memset(m->layers[i].fired, 0, (size_t)m->layers[i].pub.units);
    m->since = 0;
    m->recording = false;
}

/* What a checkpoint covers is on disk as well: the lines of its epoch. */
static void epoch_end(void *ctx, gd_run *run, const gd_epoch_metrics *epoch)
{
    (void)run, (void)epoch;
    gd_monitor *m = ctx;
    if (m->fd >= 0)
        fdatasync(m->fd);
}

/* ------------------------------------------------------------------ creation */

static mon_act act_of(const char *kind)
{
    return strcmp(kind, "sigmoid") == 0 ? MON_SIGMOID
           : strcmp(kind, "tanh") == 0  ? MON_TANH
           : strcmp(kind, "relu") == 0  ? MON_RELU
                                        : MON_OTHER;
}

/* The histogram's range: a bounded activation's own, else [-5, 5], which holds a unit
 * Gaussian (batch norm's output, a well-scaled pre-activation) to 5 standard deviations. */
static void set_range(mon_layer *l)
{
    l->pub.lo = l->act == MON_SIGMOID ? 0 : l->act == MON_TANH ? -1 : -5;
    l->pub.hi = l->act == MON_SIGMOID || l->act == MON_TANH ? 1 : 5;
}

static gd_status take_layers(gd_monitor *m, gd_model *model, char *msg)
{
    m->nlayers = gd_model_layer_count(model);
    m->layers = calloc(m->nlayers ? m->nlayers : 1, sizeof *m->layers);
    if (!m->layers)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "monitor: out of memory");
    for (size_t i = 0; i < m->nlayers; i++) {
        mon_layer *l = &m->layers[i];
        gd_layer_info info;
        gd_model_layer_at(model, i, &info);
        int64_t units = 1;
        for (int d = 1; d < info.output.ndim; d++)
            units *= info.output.dims[d];
        *l = (mon_layer){.index = i, .act = act_of(info.kind)};
        l->pub = (gd_monitor_layer){.name = info.name, .kind = info.kind, .units = units,
                                    .mean = NAN, .std = NAN, .saturated = NAN, .dead = NAN};
        set_range(l);
        if (l->act == MON_RELU && !(l->fired = calloc((size_t)units, 1)))
            return gd_fail(msg, GD_ERR_NO_MEMORY, "monitor: out of memory");
    }
    return GD_OK;
}

static gd_status take_tensors(gd_monitor *m, gd_model *model, char *msg)
{
    gd_tensor flat = gd_model_parameters_flat(model);
    m->param_count = (size_t)flat.dims[0];
    size_t n = gd_model_tensor_count(model);
    m->tensors = calloc(n ? n : 1, sizeof *m->tensors);
    m->before = malloc((m->param_count ? m->param_count : 1) * sizeof(float));
    if (!m->tensors || !m->before)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "monitor: out of memory");
    for (size_t i = 0; i < n; i++) {
        const gd_named_tensor *nt = gd_model_tensor_at(model, i);
        if (nt->role != GD_ROLE_PARAMETER || nt->dtype != GD_DTYPE_F32)
            continue;
        mon_tensor *t = &m->tensors[m->ntensors++];
        *t = (mon_tensor){.value = nt->value.data, .grad = nt->grad.data,
                          .offset = (size_t)(nt->value.data - flat.data),
                          .numel = gd_tensor_numel(&nt->value), .ndim = nt->value.ndim,
                          .grad_level = NAN};
        t->pub = (gd_monitor_tensor){.name = nt->name, .grad_norm = NAN, .weight_norm = NAN,
                                     .update_norm = NAN, .update_ratio = NAN};
    }
    return GD_OK;
}

/* The longest line: a record, whose layers and tensors are each bounded by their names
 * (GD_NAME_MAX-sized) and a fixed count of numbers at most 24 characters each. */
static size_t line_capacity(const gd_monitor *m)
{
    return 4096 + m->nlayers * (512 + (GD_MONITOR_BINS + 2) * 24 + 8 * 24) +
           m->ntensors * (512 + 6 * 32);
}

static gd_status check_options(const gd_monitor_options *o, char *msg)
{
    if (o->interval < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "monitor: interval %lld is below 1",
                       (long long)o->interval);
    const double t[] = {o->saturated_fraction, o->dead_fraction, o->ratio_low, o->ratio_high,
                        o->gradient_jump, o->loss_stop_factor};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!(t[i] >= 0))
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "monitor: a threshold of %g", t[i]);
    return GD_OK;
}

static gd_status open_file(gd_monitor *m, char *msg)
{
    if (!m->opt.dir)
        return GD_OK;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/monitor.jsonl", m->opt.dir) >= (int)sizeof path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "monitor: the folder's name is too long");
    m->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m->fd < 0)
        return gd_fail(msg, GD_ERR_IO, "monitor: cannot open %s: %s", path, strerror(errno));
    return GD_OK;
}

static gd_status setup(gd_monitor *m, gd_run *run, char *msg)
{
    gd_model *model = gd_run_model(run);
    if (!model || !gd_run_optimizer(run))
        return gd_fail(msg, GD_ERR_STATE, "monitor: the run has no model left to train (after gd_run_test)");
    gd_status st = check_options(&m->opt, msg);
    if (st == GD_OK)
        st = take_layers(m, model, msg);
    if (st == GD_OK)
        st = take_tensors(m, model, msg);
    if (st != GD_OK)
        return st;
    m->base_lr = gd_run_settings(run)->lr;
    m->line_cap = line_capacity(m);
    if (!(m->line = malloc(m->line_cap)))
        return gd_fail(msg, GD_ERR_NO_MEMORY, "monitor: out of memory");
    if ((st = open_file(m, msg)) != GD_OK)
        return st;
    gd_monitor_write_start(m, gd_optim_step_count(gd_run_optimizer(run)));
    if (m->status != GD_OK)
        return gd_fail(msg, m->status, "%s", m->msg);
    gd_observer obs = {.ctx = m, .after_forward = after_forward, .after_backward = after_backward,
                       .after_step = after_step, .epoch_end = epoch_end};
    if ((st = gd_run_add_observer(run, &obs)) != GD_OK)
        return gd_fail(msg, st, "monitor: %s", gd_run_error(run));
    return GD_OK;
}

gd_status gd_monitor_create(gd_monitor **out, gd_run *run, const gd_monitor_options *opt,
                            gd_error *err)
{
    char msg[GD_MSG_MAX] = "";
    *out = NULL;
    gd_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return gd_fail(err ? err->message : msg, GD_ERR_NO_MEMORY, "monitor: out of memory");
    m->run = run;
    m->opt = opt ? *opt : gd_monitor_defaults();
    m->fd = -1;
    m->first_loss = NAN;
    m->loss = NAN;
    gd_status st = setup(m, run, msg);
    if (st != GD_OK) {
        if (err)
            snprintf(err->message, sizeof err->message, "%s", msg);
        gd_monitor_free(m);
        return st;
    }
    m->opt.dir = NULL; /* the caller's string need not outlive the call */
    *out = m;
    return GD_OK;
}

void gd_monitor_free(gd_monitor *m)
{
    if (!m)
        return;
    if (m->fd >= 0)
        close(m->fd);
    for (size_t i = 0; m->layers && i < m->nlayers; i++)
        free(m->layers[i].fired);
    free(m->layers);
    free(m->tensors);
    free(m->before);
    free(m->line);
    free(m);
}

/* ------------------------------------------------------------------ reading */

gd_status gd_monitor_status(const gd_monitor *m) { return m->status; }
const char *gd_monitor_error(const gd_monitor *m) { return m->msg; }
int64_t gd_monitor_records(const gd_monitor *m) { return m->records; }
int64_t gd_monitor_steps(const gd_monitor *m) { return m->steps; }
int64_t gd_monitor_warning_count(const gd_monitor *m) { return m->warnings; }
size_t gd_monitor_layer_count(const gd_monitor *m) { return m->nlayers; }
size_t gd_monitor_tensor_count(const gd_monitor *m) { return m->ntensors; }

bool gd_monitor_stopped(const gd_monitor *m, gd_monitor_warning *warning)
{
    if (m->stopped && warning)
        *warning = m->stop_warning;
    return m->stopped;
}

const gd_monitor_layer *gd_monitor_layer_at(const gd_monitor *m, size_t index)
{
    return index < m->nlayers ? &m->layers[index].pub : NULL;
}

const gd_monitor_tensor *gd_monitor_tensor_at(const gd_monitor *m, size_t index)
{
    return index < m->ntensors ? &m->tensors[index].pub : NULL;
}
