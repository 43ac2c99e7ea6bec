/* The learning-rate range test (include/gradus.h states the schedule, the smoothing, the
 * stop, the rules and the default), its SVG figure, and the loader over a run's training
 * split that it shares with the batch picture. Written on public calls only: what it puts
 * back is what those calls can read and write. */
#include "../core/internal.h"
#include "../model/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

gd_lr_range_options gd_lr_range_defaults(void)
{
    return (gd_lr_range_options){.lr_min = 1e-7, .lr_max = 10, .steps = 300, .beta = 0.98,
                                 .diverge_factor = 4, .skip_start = 0.1, .skip_end = 5,
                                 .disagreement = 10, .min_fall = 0.02};
}

const char *gd_lr_rule_name(gd_lr_rule rule)
{
    switch (rule) {
    case GD_LR_RULE_STEEPEST: return "steepest";
    case GD_LR_RULE_VALLEY: return "valley";
    case GD_LR_RULE_MINIMUM: return "minimum/10";
    default: return "none";
    }
}

const char *gd_lr_range_stop_name(gd_lr_range_stop stop)
{
    switch (stop) {
    case GD_LR_STOP_COMPLETED: return "completed";
    case GD_LR_STOP_DIVERGED: return "diverged";
    case GD_LR_STOP_NON_FINITE: return "non-finite";
    }
    return "unknown";
}

void gd_lr_range_result_free(gd_lr_range_result *r)
{
    if (!r)
        return;
    free(r->lr);
    free(r->loss);
    free(r->smoothed);
    *r = (gd_lr_range_result){0};
}

/* The steps bound keeps the three curve arrays small whatever a caller asks for. */
#define GD_LR_MAX_STEPS 1000000

static gd_status check_options(const gd_lr_range_options *o, char *msg)
{
    if (!(o->lr_min > 0 && o->lr_max > o->lr_min && isfinite(o->lr_max)))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "lr range test: need 0 < lr_min < lr_max, finite (got %g and %g)",
                       o->lr_min, o->lr_max);
    if (o->steps < 2 || o->steps > GD_LR_MAX_STEPS)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "lr range test: steps %lld outside [2, %d]", (long long)o->steps,
                       GD_LR_MAX_STEPS);
    if (!(o->beta >= 0 && o->beta < 1) || !(o->diverge_factor > 1) ||
        !(o->skip_start >= 0 && o->skip_start < 1) || o->skip_end < 0 ||
        !(o->disagreement > 1) || !(o->min_fall >= 0 && o->min_fall < 1) ||
        !isfinite(o->diverge_factor) || !isfinite(o->disagreement))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "lr range test: need beta and skip_start and min_fall in [0, 1), "
                       "skip_end >= 0, diverge_factor and disagreement finite and > 1");
    return GD_OK;
}

/* ------------------------------------------------ what the test puts back */

/* Everything of the caller's that a step changes, copied out before the first. Buffers
 * are copied in gd_model_tensor_at order, float32 and int64 alike. */
typedef struct snapshot {
    float *params, *grads, *optim;
    unsigned char *buffers;
    size_t nparams, nstate, buffer_bytes;
    int64_t optim_steps;
    double lr;
    bool training;
    uint64_t rng[GD_RNG_STATE_WORDS];
} snapshot;


/* The optimiser's named state tensors, one after another, out (save) or back. */
static void copy_optim_state(gd_optimizer *opt, float *block, size_t nparams, bool save)
{
    for (size_t k = 0; k < gd_optim_state_count(opt); k++) {
        const char *name;
        gd_tensor v;
        if (gd_optim_state_at(opt, k, &name, &v) != GD_OK)
            continue;
        size_t n = (size_t)gd_tensor_numel(&v);
        memcpy(save ? block : v.data, save ? v.data : block, n * sizeof(float));
        block += nparams;
    }
}

static void snapshot_free(snapshot *s)
{
    free(s->params);
    free(s->grads);
    free(s->optim);
    free(s->buffers);
}

static gd_status snapshot_take(snapshot *s, gd_model *m, gd_optimizer *opt, char *msg)
{
    *s = (snapshot){0};
    gd_tensor p = gd_model_parameters_flat(m), g = gd_model_gradients_flat(m);
    s->nparams = (size_t)gd_tensor_numel(&p);
    s->nstate = gd_optim_state_count(opt);
    s->buffer_bytes = gd_model_buffers_bytes(m);
    size_t bytes = s->nparams * sizeof(float);
    s->params = malloc(bytes + 1);
    s->grads = malloc(bytes + 1);
    s->optim = malloc(bytes * s->nstate + 1);
    s->buffers = malloc(s->buffer_bytes + 1);
    if (!s->params || !s->grads || !s->optim || !s->buffers) {
        snapshot_free(s);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "lr range test: out of memory for the copy "
                       "of the model and its optimiser");
    }
    memcpy(s->params, p.data, bytes);
    memcpy(s->grads, g.data, bytes);
    copy_optim_state(opt, s->optim, s->nparams, true);
    gd_model_copy_buffers(m, s->buffers, true);
    s->optim_steps = gd_optim_step_count(opt);
    s->lr = gd_optim_lr(opt);
    s->training = gd_model_is_training(m);
    gd_rng_get_state(gd_model_rng(m), s->rng);
    return GD_OK;
}

static void snapshot_restore(snapshot *s, gd_model *m, gd_optimizer *opt)
{
    gd_tensor p = gd_model_parameters_flat(m), g = gd_model_gradients_flat(m);
    memcpy(p.data, s->params, s->nparams * sizeof(float));
    memcpy(g.data, s->grads, s->nparams * sizeof(float));
    copy_optim_state(opt, s->optim, s->nparams, false);
    gd_model_copy_buffers(m, s->buffers, false);
    gd_optim_set_step_count(opt, s->optim_steps);
    gd_optim_set_lr(opt, s->lr);
    gd_model_set_training(m, s->training);
    gd_rng_set_state(gd_model_rng(m), s->rng);
    snapshot_free(s);
}

/* ------------------------------------------------------------- the sweep */

typedef struct sweep {
    gd_model *m;
    gd_optimizer *optim;
    gd_loader *loader;
    const gd_loss *loss;
    double clip_norm;
    const gd_lr_range_options *o;
    gd_lr_range_result *r;
    int64_t epoch;
    char *msg;
} sweep;

/* The next batch, starting the loader's next epoch when one ends. */
static gd_status next_batch(sweep *w, gd_tensor *x, const int32_t **labels)
{
    if (gd_loader_next(w->loader, x, labels))
        return GD_OK;
    gd_loader_start_epoch(w->loader, ++w->epoch);
    if (gd_loader_next(w->loader, x, labels))
        return GD_OK;
    return gd_fail(w->msg, GD_ERR_STATE, "lr range test: the loader gives no batch");
}

/* One step at rate lr: the loss of the forward before the update, recorded with its
 * smoothing; *stop is set (and the loop ends) on a stop rule. */
static gd_status sweep_step(sweep *w, int64_t i, double lr, double *avg, double *best,
                            bool *stop)
{
    gd_lr_range_result *r = w->r;
    gd_tensor x;
    const int32_t *labels;
    gd_status st = next_batch(w, &x, &labels);
    if (st != GD_OK)
        return st;
    gd_optim_set_lr(w->optim, lr);
    gd_tensor in = gd_model_input_view(w->m, x);
    double v = NAN;
    st = gd_model_forward(w->m, &in);
    if (st == GD_OK)
        st = gd_model_loss(w->m, w->loss, labels, NULL, &v);
    *avg = w->o->beta * *avg + (1 - w->o->beta) * v;
    double s = *avg / (1 - pow(w->o->beta, (double)(i + 1)));
    if (st == GD_ERR_NUMERIC || (st == GD_OK && !(isfinite(v) && isfinite(s)))) {
        r->stop = GD_LR_STOP_NON_FINITE;
        *stop = true;
        return GD_OK;
    }
    if (st != GD_OK)
        return gd_fail(w->msg, st, "lr range test: %s", gd_model_error(w->m));
    r->lr[i] = lr, r->loss[i] = v, r->smoothed[i] = s;
    r->points = i + 1;
    if (s < *best) {
        *best = s;
        r->best_index = i;
    }
    if (s > w->o->diverge_factor * *best) {
        r->stop = GD_LR_STOP_DIVERGED;
        *stop = true;
        return GD_OK;
    }
    st = gd_model_backward(w->m);
    if (st == GD_OK && w->clip_norm > 0)
        st = gd_model_clip_grad_norm(w->m, w->clip_norm, NULL);
    if (st == GD_ERR_NUMERIC) { /* an infinite gradient norm: the next loss would be */
        r->stop = GD_LR_STOP_NON_FINITE;
        *stop = true;
        return GD_OK;
    }
    if (st == GD_OK)
        st = gd_optim_step(w->optim);
    return st == GD_OK ? GD_OK : gd_fail(w->msg, st, "lr range test: %s", gd_model_error(w->m));
}

static gd_status run_sweep(sweep *w)
{
    const gd_lr_range_options *o = w->o;
    double log_ratio = log(o->lr_max / o->lr_min), avg = 0, best = INFINITY;
    bool stop = false;
    w->r->stop = GD_LR_STOP_COMPLETED;
    gd_model_set_training(w->m, true);
    gd_loader_start_epoch(w->loader, w->epoch = 0);
    gd_status st = GD_OK;
    for (int64_t i = 0; i < o->steps && !stop && st == GD_OK; i++) {
        double lr = i == o->steps - 1 ? o->lr_max
                                       : o->lr_min * exp(log_ratio * (double)i / (double)(o->steps - 1));
        st = sweep_step(w, i, lr, &avg, &best, &stop);
    }
    return st;
}

/* ------------------------------------------------------------- the rules */

static gd_lr_suggestion at(const gd_lr_range_result *r, int64_t i)
{
    return (gd_lr_suggestion){.lr = r->lr[i], .index = i, .loss = r->smoothed[i]};
}

static const gd_lr_suggestion none = {.lr = NAN, .index = -1, .loss = NAN};

/* d s / d log(lr) at i by central differences (one-sided at the curve's ends), as
 * numpy.gradient on the whole curve: the window's edges see their neighbours. */
static double slope(const gd_lr_range_result *r, int64_t i)
{
    int64_t a = i > 0 ? i - 1 : i, b = i + 1 < r->points ? i + 1 : i;
    return (r->smoothed[b] - r->smoothed[a]) / (log(r->lr[b]) - log(r->lr[a]));
}

static gd_lr_suggestion steepest(const gd_lr_range_result *r, int64_t end)
{
    int64_t best = -1;
    double best_slope = 0; /* only a descent counts */
    for (int64_t i = r->window_start; i < end; i++) {
        double d = slope(r, i);
        if (d < best_slope)
            best_slope = d, best = i;
    }
    return best < 0 ? none : at(r, best);
}

/* The longest strictly decreasing subsequence of s over the window (patience sorting:
 * tail[k] ends the decreasing subsequence of length k + 1 whose last value is the
 * largest, so any later smaller value can extend it), followed back to its first point;
 * the suggestion is the middle of the span from its first point to its last. */
static gd_status valley(const gd_lr_range_result *r, int64_t end, gd_lr_suggestion *out,
                        char *msg)
{
    int64_t n = end - r->window_start, len = 0;
    int64_t *tail = malloc(sizeof(int64_t) * (size_t)n + 1);
    int64_t *prev = malloc(sizeof(int64_t) * (size_t)n + 1);
    if (!tail || !prev) {
        free(tail);
        free(prev);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "lr range test: out of memory");
    }
    const double *s = r->smoothed + r->window_start;
    for (int64_t i = 0; i < n; i++) {
        int64_t lo = 0, hi = len; /* the first k whose tail is not above s[i] */
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (s[tail[mid]] > s[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        prev[i] = lo > 0 ? tail[lo - 1] : -1;
        tail[lo] = i;
        if (lo == len)
            len++;
    }
    *out = none;
    if (len >= 2) {
        int64_t last = tail[len - 1], first = last;
        while (prev[first] >= 0)
            first = prev[first];
        *out = at(r, r->window_start + (first + last) / 2);
    }
    free(tail);
    free(prev);
    return GD_OK;
}

static int64_t window_minimum(const gd_lr_range_result *r)
{
    int64_t best = r->window_start;
    for (int64_t i = r->window_start; i < r->window_end; i++)
        if (r->smoothed[i] < r->smoothed[best])
            best = i;
    return best;
}

/* The window's lowest point's rate / 10, marked at the curve's point nearest that rate. */
static gd_lr_suggestion minimum_tenth(const gd_lr_range_result *r, int64_t best)
{
    double target = r->lr[best] / 10;
    int64_t near = 0;
    for (int64_t i = 1; i <= best; i++)
        if (fabs(log(r->lr[i] / target)) < fabs(log(r->lr[near] / target)))
            near = i;
    gd_lr_suggestion sug = at(r, near);
    sug.lr = target;
    return sug;
}

/* The median of the rules that found a point, in lr: of two, the lower (the safer
 * mistake), of one, it. */
static void choose(gd_lr_range_result *r)
{
    gd_lr_rule found[GD_LR_RULES];
    int nfound = 0;
    for (int k = 0; k < GD_LR_RULES; k++)
        if (r->rules[k].index >= 0)
            found[nfound++] = (gd_lr_rule)k;
    for (int a = 1; a < nfound; a++) /* insertion sort by lr */
        for (int b = a; b > 0 && r->rules[found[b]].lr < r->rules[found[b - 1]].lr; b--) {
            gd_lr_rule t = found[b];
            found[b] = found[b - 1], found[b - 1] = t;
        }
    r->chosen = nfound == 0 ? GD_LR_RULES : found[nfound == 3 ? 1 : 0];
    r->suggestion = nfound == 0 ? none : r->rules[r->chosen];
    r->spread = nfound == 0 ? NAN : r->rules[found[nfound - 1]].lr / r->rules[found[0]].lr;
}

static gd_status read_curve(gd_lr_range_result *r, const gd_lr_range_options *o, char *msg)
{
    for (int k = 0; k < GD_LR_RULES; k++)
        r->rules[k] = none;
    r->window_start = (int64_t)floor(o->skip_start * (double)r->points);
    r->window_end = r->points - o->skip_end;
    if (r->window_end - r->window_start >= 3) {
        /* The descent that leads to the minimum: past it, a diverging loss bounces, and a
         * fall from one of its jumps is steeper than any real descent. */
        int64_t low = window_minimum(r);
        r->rules[GD_LR_RULE_STEEPEST] = steepest(r, low + 1);
        gd_status st = valley(r, low + 1, &r->rules[GD_LR_RULE_VALLEY], msg);
        if (st != GD_OK)
            return st;
        r->rules[GD_LR_RULE_MINIMUM] = minimum_tenth(r, low);
    } else
        r->window_end = r->window_start;
    choose(r);
    r->loss_fell = r->points > 0 && r->smoothed[r->best_index] < (1 - o->min_fall) * r->smoothed[0];
    int found = 0;
    for (int k = 0; k < GD_LR_RULES; k++)
        found += r->rules[k].index >= 0;
    r->low_confidence = found < GD_LR_RULES || !(r->spread <= o->disagreement) || !r->loss_fell;
    return GD_OK;
}

/* ------------------------------------------------------------- the calls */

gd_status gd_lr_range_test_model(gd_model *m, gd_optimizer *optim, gd_loader *loader,
                                 const gd_loss *loss, double clip_norm,
                                 const gd_lr_range_options *opt, gd_lr_range_result *result,
                                 gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!result)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "lr range test: no result");
    *result = (gd_lr_range_result){0};
    if (!m || !optim || !loader || !loss)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "lr range test: a NULL model, optimiser, "
                       "loader or loss");
    gd_lr_range_options o = opt ? *opt : gd_lr_range_defaults();
    gd_status st = check_options(&o, msg);
    if (st != GD_OK)
        return st;
    gd_lr_range_result *r = result;
    size_t bytes = sizeof(double) * (size_t)o.steps;
    r->lr = malloc(bytes), r->loss = malloc(bytes), r->smoothed = malloc(bytes);
    snapshot snap;
    if (!r->lr || !r->loss || !r->smoothed)
        st = gd_fail(msg, GD_ERR_NO_MEMORY, "lr range test: out of memory for %lld points",
                     (long long)o.steps);
    else
        st = snapshot_take(&snap, m, optim, msg);
    if (st != GD_OK) {
        gd_lr_range_result_free(r);
        return st;
    }
    sweep w = {.m = m, .optim = optim, .loader = loader, .loss = loss, .clip_norm = clip_norm,
               .o = &o, .r = r, .msg = msg};
    st = run_sweep(&w);
    snapshot_restore(&snap, m, optim);
    if (st == GD_OK)
        st = read_curve(r, &o, msg);
    if (st != GD_OK)
        gd_lr_range_result_free(r);
    return st;
}

gd_status gd_run_training_loader(gd_run *run, gd_loader **out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    *out = NULL;
    gd_dataset *train = run ? gd_run_dataset(run, "train") : NULL;
    if (!train || !gd_run_model(run) || !gd_run_optimizer(run))
        return gd_fail(msg, GD_ERR_STATE, "run: no training split (after gd_run_test)");
    const gd_settings *s = gd_run_settings(run);
    int64_t n = gd_dataset_size(train), b = s->batch_size;
    bool drop_last = gd_run_has_batchnorm(run) && n % b == 1; /* run.c's make_loader */
    gd_status st = gd_loader_create(out, train, b, true, drop_last, s->seed, err);
    gd_augment aug = {.crop_padding = s->crop_padding, .horizontal_flip = s->hflip,
                      .erase_probability = s->random_erasing};
    if (st == GD_OK && (st = gd_loader_set_augment(*out, &aug, err)) != GD_OK) {
        gd_loader_free(*out);
        *out = NULL;
    }
    return st;
}

gd_status gd_lr_range_test(gd_run *run, const gd_lr_range_options *opt,
                           gd_lr_range_result *result, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!result)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "lr range test: no result");
    *result = (gd_lr_range_result){0};
    gd_loader *loader;
    gd_status st = gd_run_training_loader(run, &loader, err);
    if (st != GD_OK)
        return st;
    const gd_settings *s = gd_run_settings(run);
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY, .label_smoothing = s->label_smoothing};
    st = gd_lr_range_test_model(gd_run_model(run), gd_run_optimizer(run), loader, &loss,
                                s->clip_norm, opt, result, err);
    gd_loader_free(loader);
    return st;
}

/* ------------------------------------------------------------ the figure */

typedef struct text {
    char *buf;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n + 256;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->failed = true;
            return;
        }
        t->buf = b, t->cap = cap;
    }
}

typedef struct frame {
    double left, top, w, h; /* the plot area, px */
    double x0, x1, y0, y1;  /* log10(lr) and loss at its edges */
} frame;

static double px(const frame *f, double lr) { return f->left + f->w * (log10(lr) - f->x0) / (f->x1 - f->x0); }
static double py(const frame *f, double v) { return f->top + f->h * (f->y1 - v) / (f->y1 - f->y0); }

/* A tick step of 1, 2 or 5 times a power of ten giving about five ticks over span. */
static double nice_step(double span)
{
    double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

/* Loss from the lowest value of either curve to the highest smoothed one: the raw loss's
 * last jumps (which can reach 1e30 before the cut) are clipped by the plot area rather
 * than squashing the curve into a line. */
static void fit_frame(frame *f, const gd_lr_range_result *r)
{
    f->x0 = log10(r->lr[0]), f->x1 = log10(r->lr[r->points - 1]);
    f->y0 = INFINITY, f->y1 = -INFINITY;
    for (int64_t i = 0; i < r->points; i++) {
        f->y0 = fmin(f->y0, fmin(r->loss[i], r->smoothed[i]));
        f->y1 = fmax(f->y1, r->smoothed[i]);
    }
    if (f->x1 - f->x0 < 1e-9)
        f->x0 -= 0.5, f->x1 += 0.5;
    double pad = 0.05 * (f->y1 - f->y0);
    if (pad < 1e-9 * fmax(1, fabs(f->y1)))
        pad = 0.5 * fmax(1e-3, fabs(f->y1) * 0.1);
    f->y0 -= pad, f->y1 += pad;
}

static void axes(text *t, const frame *f, int height)
{
    put(t, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
           "stroke=\"#333\"/>\n", f->left, f->top, f->w, f->h);
    put(t, "<g id=\"x-axis\" font-size=\"11\" text-anchor=\"middle\">\n");
    for (int d = (int)ceil(f->x0 - 1e-9); d <= (int)floor(f->x1 + 1e-9); d++) {
        double x = f->left + f->w * (d - f->x0) / (f->x1 - f->x0);
        put(t, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>"
               "<text x=\"%.2f\" y=\"%.2f\">1e%d</text>\n",
            x, f->top + f->h, x, f->top + f->h + 5, x, f->top + f->h + 18, d);
    }
    put(t, "<text x=\"%.2f\" y=\"%d\" font-size=\"13\">learning rate (log scale)</text>\n</g>\n",
        f->left + f->w / 2, height - 10);
    double step = nice_step(f->y1 - f->y0);
    put(t, "<g id=\"y-axis\" font-size=\"11\" text-anchor=\"end\">\n");
    for (double v = ceil(f->y0 / step) * step; v <= f->y1; v += step) {
        double y = py(f, v);
        put(t, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>"
               "<text x=\"%.2f\" y=\"%.2f\">%.4g</text>\n",
            f->left - 5, y, f->left, y, f->left - 8, y + 4, fabs(v) < step * 1e-6 ? 0 : v);
    }
    put(t, "<text transform=\"translate(16,%.2f) rotate(-90)\" font-size=\"13\" "
           "text-anchor=\"middle\">loss</text>\n</g>\n", f->top + f->h / 2);
}

static void curve(text *t, const frame *f, const gd_lr_range_result *r, const double *v,
                  const char *id, const char *style)
{
    put(t, "<path id=\"%s\" clip-path=\"url(#plot)\" fill=\"none\" %s d=\"", id, style);
    for (int64_t i = 0; i < r->points; i++)
        put(t, "%s%.2f,%.2f", i == 0 ? "M" : " L", px(f, r->lr[i]), py(f, v[i]));
    put(t, "\"/>\n");
}

/* The rules' points on the smoothed curve (the default larger), and a legend in the plot's
 * lower left, where a curve that starts high at small rates seldom is. */
static void marks(text *t, const frame *f, const gd_lr_range_result *r)
{
    static const char *colour[GD_LR_RULES] = {"#d62728", "#2ca02c", "#9467bd"};
    int lines = 1;
    for (int k = 0; k < GD_LR_RULES; k++)
        lines += r->rules[k].index >= 0;
    double y = f->top + f->h - 8 - 14.0 * (lines - 1);
    put(t, "<g id=\"suggestions\" font-size=\"11\">\n");
    for (int k = 0; k < GD_LR_RULES; k++) {
        const gd_lr_suggestion *s = &r->rules[k];
        if (s->index < 0)
            continue;
        bool chosen = k == (int)r->chosen;
        put(t, "<circle class=\"%s\" cx=\"%.2f\" cy=\"%.2f\" r=\"%d\" fill=\"%s\"/>\n",
            gd_lr_rule_name((gd_lr_rule)k), px(f, r->lr[s->index]), py(f, s->loss),
            chosen ? 6 : 4, colour[k]);
        put(t, "<text x=\"%.2f\" y=\"%.2f\" fill=\"%s\">%s %.3g%s</text>\n", f->left + 8, y,
            colour[k], gd_lr_rule_name((gd_lr_rule)k), s->lr, chosen ? " (default)" : "");
        y += 14;
    }
    put(t, "<text x=\"%.2f\" y=\"%.2f\" fill=\"#333\">stopped: %s%s</text>\n</g>\n",
        f->left + 8, y, gd_lr_range_stop_name(r->stop), r->low_confidence ? "; low confidence" : "");
}

gd_status gd_lr_range_svg(const gd_lr_range_result *r, int width, int height, char **svg,
                          size_t *len, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (svg)
        *svg = NULL;
    if (!r || !svg || (r->points > 0 && (!r->lr || !r->loss || !r->smoothed)))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "lr range svg: no result or no output");
    if (width == 0 && height == 0)
        width = 640, height = 400;
    if (width < 200 || height < 150 || width > 20000 || height > 20000)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "lr range svg: %d x %d px outside "
                       "200 x 150 to 20000 x 20000", width, height);
    text t = {0};
    put(&t, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
            "<title>learning-rate range test</title>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", width, height, width, height);
    frame f = {.left = 70, .top = 20, .w = width - 90, .h = height - 70};
    if (r->points > 0) {
        fit_frame(&f, r);
        put(&t, "<defs><clipPath id=\"plot\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                "height=\"%.2f\"/></clipPath></defs>\n", f.left, f.top, f.w, f.h);
        axes(&t, &f, height);
        curve(&t, &f, r, r->loss, "raw", "stroke=\"#9ecae1\" stroke-width=\"1\"");
        curve(&t, &f, r, r->smoothed, "smoothed", "stroke=\"#1f77b4\" stroke-width=\"2\"");
        marks(&t, &f, r);
    } else
        put(&t, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no point on the curve "
                "(stopped: %s)</text>\n", width / 2, height / 2, gd_lr_range_stop_name(r->stop));
    put(&t, "</svg>\n");
    if (t.failed) {
        free(t.buf);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "lr range svg: out of memory");
    }
    *svg = t.buf;
    if (len)
        *len = t.len;
    return GD_OK;
}

gd_status gd_lr_range_write_svg(const gd_lr_range_result *r, const char *path, gd_error *err)
{
    char *svg;
    size_t len;
    gd_status st = gd_lr_range_svg(r, 0, 0, &svg, &len, err);
    if (st != GD_OK)
        return st;
    st = gd_write_file_atomic(path, svg, len, err);
    free(svg);
    return st;
}
