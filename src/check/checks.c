/* What the setup checks share: their results, fresh models, the examples, a few plain
 * training steps and an evaluation. Written on the public calls only. */
#include "checks.h"
#include "../train/train.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

const char *gd_check_verdict_name(gd_check_verdict verdict)
{
    switch (verdict) {
    case GD_CHECK_PASS: return "PASS";
    case GD_CHECK_WARN: return "WARN";
    case GD_CHECK_FAIL: return "FAIL";
    case GD_CHECK_SKIP: return "SKIP";
    }
    return "unknown verdict";
}

/* ---------------------------------------------------------------- results */

void gd_check_begin(gd_check_result *out, int number, const char *name, const char *title)
{
    memset(out, 0, sizeof *out);
    out->number = number;
    out->name = name;
    out->title = title;
    out->verdict = GD_CHECK_PASS;
}

void gd_check_figure_add(gd_check_result *out, const char *name, double value)
{
    if (out->nfigures == GD_CHECK_MAX_FIGURES)
        return;
    gd_check_figure *f = &out->figures[out->nfigures++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->value = value;
}

static void append(char *buf, size_t size, const char *fmt, va_list ap)
{
    size_t used = strlen(buf);
    if (used + 1 < size)
        vsnprintf(buf + used, size - used, fmt, ap);
}

void gd_check_judge(gd_check_result *out, gd_check_verdict verdict, const char *fmt, ...)
{
    out->verdict = verdict;
    out->advice[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    append(out->advice, sizeof out->advice, fmt, ap);
    va_end(ap);
}

void gd_check_say(gd_check_result *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(out->summary, sizeof out->summary, fmt, ap);
    va_end(ap);
}

/* ----------------------------------------------------------------- models */

/* As gd_run_create builds: flat samples first (an MLP sees an image's pixels as one
 * vector), then the data's own shape (convolutions need C x H x W). Planned for the
 * overfit check's examples in one batch, or the settings' batch if larger. */
static gd_status model_from_settings(const gd_check_setup *s, gd_model **out, char *msg)
{
    int64_t dims[GD_MAX_DIMS], flat = gd_dataset_sample_size(s->data);
    int ndim = gd_dataset_sample_shape(s->data, dims);
    int64_t batch = s->settings->batch_size > GD_CHECK_OVERFIT_EXAMPLES
                        ? s->settings->batch_size
                        : GD_CHECK_OVERFIT_EXAMPLES;
    gd_error err;
    gd_status st = gd_model_from_spec(out, s->settings->model, s->settings->seed, 1, &flat,
                                      batch, &err);
    if (st == GD_ERR_SHAPE && ndim > 1)
        st = gd_model_from_spec(out, s->settings->model, s->settings->seed, ndim, dims, batch,
                                &err);
    return st == GD_OK ? GD_OK : gd_fail(msg, st, "--model: %s", err.message);
}

gd_status gd_check_model(const gd_check_setup *s, gd_model **out, char *msg)
{
    *out = NULL;
    if (!s || !s->data || (!s->make_model && (!s->settings || !s->settings->model)))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "check: no data, or neither settings nor a model maker");
    if (!s->make_model)
        return model_from_settings(s, out, msg);
    gd_error err;
    gd_status st = s->make_model(s->ctx, out, &err);
    if (st == GD_OK && !*out)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "check: the model maker made no model");
    return st == GD_OK ? GD_OK : gd_fail(msg, st, "%s", err.message);
}

gd_status gd_check_take(const gd_check_setup *s, int64_t n, gd_check_examples *out, char *msg)
{
    int64_t have = gd_dataset_size(s->data);
    out->n = n < have ? n : have;
    out->width = gd_dataset_sample_size(s->data);
    out->x = gd_dataset_features(s->data);
    out->labels = gd_dataset_labels(s->data);
    if (!out->x)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "check: the data's features do not fit in memory");
    if (out->n < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "check: the data set is empty");
    return GD_OK;
}

gd_tensor gd_check_rows(const gd_model *m, const float *x, int64_t width, int64_t first,
                        int64_t rows)
{
    gd_tensor flat = gd_tensor_view((float *)x + first * width, 2, (int64_t[]){rows, width});
    return gd_model_input_view(m, flat);
}

gd_loss gd_check_loss(const gd_check_setup *s)
{
    gd_loss loss = s->loss;
    loss.label_smoothing = 0;
    return loss;
}

bool gd_check_has_batchnorm(const gd_model *m)
{
    gd_layer_info info;
    for (size_t i = 0; i < gd_model_layer_count(m); i++)
        if (gd_model_layer_at(m, i, &info) == GD_OK && strncmp(info.kind, "batchnorm", 9) == 0)
            return true;
    return false;
}

int64_t gd_check_classes(const gd_model *m)
{
    int64_t dims[GD_MAX_DIMS], n = 1;
    int ndim = gd_model_output_shape(m, dims);
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    return n;
}

/* ---------------------------------------------------------------- training */

gd_status gd_check_optimizer(const gd_check_setup *s, gd_model *m, double weight_decay,
                             gd_optimizer **out, char *msg)
{
    *out = NULL;
    const gd_settings *set = s->settings;
    const char *name = set && set->optim ? set->optim : "adam";
    gd_optim_config c;
    gd_status st = gd_optim_config_for(name, set ? set->lr : 1e-3, set ? set->momentum : 0,
                                       weight_decay, &c, msg);
    if (st != GD_OK)
        return st;
    if (!set) { /* no settings: Adam's own defaults */
        c = gd_optim_defaults(c.kind);
        c.weight_decay = weight_decay;
    }
    st = gd_optim_create(out, m, &c);
    if (st != GD_OK) {
        gd_fail(msg, st, "--optim %s: %s", name, *out ? gd_optim_error(*out) : "out of memory");
        gd_optim_free(*out);
        *out = NULL;
    }
    return st;
}

static gd_status model_failed(gd_model *m, gd_status st, char *msg)
{
    return gd_fail(msg, st, "check: %s", gd_model_error(m));
}

gd_status gd_check_train(gd_model *m, gd_optimizer *opt, const gd_loss *loss,
                         const gd_check_examples *ex, int64_t steps, double *losses, char *msg)
{
    int64_t batch = gd_model_max_batch(m), first = 0;
    bool bn = gd_check_has_batchnorm(m);
    gd_model_set_training(m, true);
    for (int64_t step = 0; step < steps; step++) {
        if (first >= ex->n || (bn && ex->n > 1 && ex->n - first == 1))
            first = 0; /* batch norm cannot train on one sample */
        int64_t rows = ex->n - first < batch ? ex->n - first : batch;
        gd_tensor x = gd_check_rows(m, ex->x, ex->width, first, rows);
        double value;
        gd_status st = gd_model_forward(m, &x);
        if (st == GD_OK)
            st = gd_model_loss(m, loss, ex->labels + first, NULL, &value);
        if (st == GD_OK && !isfinite(value))
            return gd_fail(msg, GD_ERR_NUMERIC, "check: the loss became NaN or infinite at step %lld",
                           (long long)step + 1);
        if (st == GD_OK)
            st = gd_model_backward(m);
        if (st != GD_OK)
            return model_failed(m, st, msg);
        if ((st = gd_optim_step(opt)) != GD_OK)
            return gd_fail(msg, st, "check: %s", gd_optim_error(opt));
        if (losses)
            losses[step] = value;
        first += rows;
    }
    return GD_OK;
}

gd_status gd_check_evaluate(gd_model *m, const gd_loss *loss, const gd_check_examples *ex,
                            double *mean_loss, double *accuracy, char *msg)
{
    bool was = gd_model_is_training(m);
    gd_model_set_training(m, false);
    int64_t batch = gd_model_max_batch(m), correct = 0;
    double sum = 0;
    gd_status st = GD_OK;
    for (int64_t first = 0; first < ex->n && st == GD_OK; first += batch) {
        int64_t rows = ex->n - first < batch ? ex->n - first : batch;
        gd_tensor x = gd_check_rows(m, ex->x, ex->width, first, rows);
        double value = 0;
        st = gd_model_forward(m, &x);
        if (st == GD_OK)
            st = gd_model_loss(m, loss, ex->labels + first, NULL, &value);
        if (st != GD_OK)
            break;
        sum += value * (double)rows;
        const gd_tensor *y = gd_model_output(m);
        int classes = (int)(gd_tensor_numel(y) / rows);
        for (int64_t i = 0; i < rows; i++)
            correct += gd_argmax(y->data + i * classes, classes) == ex->labels[first + i];
    }
    gd_model_set_training(m, was);
    if (st != GD_OK)
        return model_failed(m, st, msg);
    *mean_loss = sum / (double)ex->n;
    *accuracy = (double)correct / (double)ex->n;
    return GD_OK;
}
