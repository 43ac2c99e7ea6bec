/* The numerical gradient check: backpropagation against Richardson-extrapolated central
 * differences of a scalar objective (include/gradus.h states the method, the relative
 * error and the float32 floor). Written on the public model calls, plus the model's
 * private input-gradient switch so that the check can put it back. */
#include "../core/internal.h"
#include "../model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The relative error's floor is opt->floor times the tensor's largest analytic entry, or
 * times this share of the model's largest, whichever is more (include/gradus.h says why). */
#define GD_GRADCHECK_MODEL_SHARE 0.2

gd_gradcheck_options gd_gradcheck_defaults(void)
{
    return (gd_gradcheck_options){.objective = GD_GRADCHECK_PROBE,
                                  .step = GD_GRADCHECK_DEFAULT_STEP,
                                  .floor = 0.1,
                                  .seed = 7,
                                  .check_input = true};
}

gd_gradcheck_verdict gd_gradcheck_classify(double relative_error)
{
    double e = relative_error;
    if (!(e <= 1e-2))
        return GD_GRADCHECK_WRONG; /* NaN included */
    if (e > GD_GRADCHECK_FLOAT32_TOL)
        return GD_GRADCHECK_UNCOMFORTABLE;
    if (e > 1e-4)
        return GD_GRADCHECK_FLOAT32_NOISE;
    return e >= 1e-7 ? GD_GRADCHECK_KINKS_ONLY : GD_GRADCHECK_GOOD;
}

const char *gd_gradcheck_verdict_name(gd_gradcheck_verdict verdict)
{
    switch (verdict) {
    case GD_GRADCHECK_GOOD: return "good";
    case GD_GRADCHECK_KINKS_ONLY: return "fine only with kinks";
    case GD_GRADCHECK_FLOAT32_NOISE: return "float32 noise";
    case GD_GRADCHECK_UNCOMFORTABLE: return "uncomfortable";
    case GD_GRADCHECK_WRONG: return "wrong";
    }
    return "unknown verdict";
}

static bool checked_parameter(const gd_named_tensor *t)
{
    return t->role == GD_ROLE_PARAMETER && t->dtype == GD_DTYPE_F32;
}

size_t gd_gradcheck_tensor_count(const gd_model *m, bool check_input)
{
    size_t n = check_input ? 1 : 0;
    for (size_t i = 0; i < gd_model_tensor_count(m); i++)
        n += checked_parameter(gd_model_tensor_at(m, i));
    return n;
}

/* A NaN error is worse than any number, so that a non-finite gradient is what the report
 * shows. */
static bool worse(double e, double than)
{
    return isnan(e) ? !isnan(than) : e > than;
}

/* ------------------------------------------------- what the check puts back */
/* The model's buffers go into a block and back (gd_model_copy_buffers). */

/* The model's buffers (batch norm's running statistics move with every training forward),
 * copied into one block in gd_model_tensor_at order. */

/* ------------------------------------------------------------- the objective */

typedef struct check {
    gd_model *m;
    const gd_gradcheck_options *opt;
    const gd_tensor *x; /* the check's own copy of the input, which it perturbs */
    const float *r;     /* the probe's weights */
    double model_scale; /* the largest analytic entry of every tensor checked */
    uint64_t rng_state[GD_RNG_STATE_WORDS];
    char *msg;
} check;

/* L at the current input and parameters, dL/doutput left in the model's output gradient;
 * the generator is rewound first, so every evaluation draws the same dropout masks. */
static gd_status objective(check *c, double *value)
{
    gd_model *m = c->m;
    const gd_gradcheck_options *opt = c->opt;
    gd_rng_set_state(gd_model_rng(m), c->rng_state);
    gd_status st = gd_model_forward(m, c->x);
    if (st == GD_OK) {
        switch (opt->objective) {
        case GD_GRADCHECK_PROBE: {
            const gd_tensor *y = gd_model_output(m);
            int64_t n = gd_tensor_numel(y);
            double sum = 0;
            for (int64_t i = 0; i < n; i++)
                sum += (double)y->data[i] * c->r[i];
            memcpy(gd_model_output_grad(m)->data, c->r, (size_t)n * sizeof(float));
            *value = sum;
            break;
        }
        case GD_GRADCHECK_LOSS:
            st = gd_model_loss(m, opt->loss, opt->labels, opt->targets, value);
            break;
        case GD_GRADCHECK_CALLBACK:
            st = opt->fn(m, opt->ctx, value);
            break;
        }
    }
    return st == GD_OK ? GD_OK : gd_fail(c->msg, st, "gradient check: %s", gd_model_error(m));
}

/* One central difference with step h, divided by the step actually taken after rounding. */
static gd_status difference(check *c, float *v, float h, double *d)
{
    float saved = *v;
    double up = 0, down = 0;
    *v = saved + h;
    gd_status st = objective(c, &up);
    *v = saved - h;
    if (st == GD_OK)
        st = objective(c, &down);
    *v = saved;
    *d = (up - down) / ((double)(saved + h) - (double)(saved - h));
    return st;
}

/* Richardson extrapolation of the differences at h and h/2: (4 D(h/2) - D(h)) / 3 cancels
 * their common h^2 error term. */
static gd_status numeric_gradient(check *c, float *v, double *half, double *full)
{
    float h = (float)c->opt->step;
    *half = *full = 0;
    gd_status st = difference(c, v, 0.5f * h, half);
    if (st == GD_OK)
        st = difference(c, v, h, full);
    return st;
}

static double largest(const float *v, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* Compares one tensor's analytic gradient with the numeric one at min(samples, n)
 * elements. They are chosen by selection sampling (Knuth's Algorithm S): element i is
 * taken with probability (wanted - taken) / (n - i), which draws exactly `wanted` distinct
 * elements, uniformly, in index order, in one pass and no memory. */
static gd_status check_tensor(check *c, const char *name, float *value, const float *grad,
                              int64_t n, uint64_t seed, gd_gradcheck_tensor *out)
{
    *out = (gd_gradcheck_tensor){.name = name, .numel = n, .worst_index = -1};
    double floor = c->opt->floor * fmax(largest(grad, n), GD_GRADCHECK_MODEL_SHARE * c->model_scale);
    floor = fmax(floor, 1e-30); /* 0 / 0 when both gradients are exactly zero */
    int64_t samples = c->opt->samples, wanted = samples > 0 && samples < n ? samples : n;
    gd_rng *pick = NULL;
    if (wanted < n && gd_rng_create(&pick, seed) != GD_OK)
        return gd_fail(c->msg, GD_ERR_NO_MEMORY, "gradient check: no memory for a generator");
    gd_status st = GD_OK;
    for (int64_t i = 0; i < n && out->checked < wanted && st == GD_OK; i++) {
        if (pick && (double)(n - i) * gd_rng_uniform(pick) >= (double)(wanted - out->checked))
            continue;
        double half, full, a = grad[i];
        st = numeric_gradient(c, &value[i], &half, &full);
        out->checked++;
        double num = (4.0 * half - full) / 3.0;
        double spread = fabs(half - full) / fmax(fmax(fabs(half), fabs(full)), floor);
        if (c->opt->kink_tolerance > 0 && spread > c->opt->kink_tolerance) {
            out->kinks++;
            continue;
        }
        double e = fabs(a - num) / fmax(fmax(fabs(a), fabs(num)), floor);
        if (out->worst_index < 0 || worse(e, out->worst_error)) {
            out->worst_index = i;
            out->worst_error = e;
            out->analytic = a;
            out->numeric = num;
        }
    }
    gd_rng_free(pick);
    return st;
}

/* Each tensor samples from its own stream, so that one tensor's choice does not depend on
 * the sizes of those before it. */
static uint64_t tensor_seed(uint64_t seed, size_t index)
{
    return seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(index + 1));
}

/* -------------------------------------------------------------------- check */

static gd_status check_options(const gd_model *m, const gd_tensor *input,
                               const gd_gradcheck_options *opt, gd_gradcheck_result *result,
                               char *msg)
{
    if (!m || !input || !input->data || !result)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gradient check: no model, input or result");
    if (!m->built)
        return gd_fail(msg, GD_ERR_STATE, "gradient check before gd_model_build");
    if (!(opt->step > 0) || !isfinite(opt->step))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gradient check: the step must be > 0, got %g",
                       opt->step);
    if (!(opt->floor >= 0) || !isfinite(opt->floor))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gradient check: the floor must be >= 0, got %g",
                       opt->floor);
    if (opt->samples < 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "gradient check: samples must be >= 0 (0: all), got %lld",
                       (long long)opt->samples);
    if (opt->objective == GD_GRADCHECK_LOSS && !opt->loss)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gradient check: the loss objective needs a loss");
    if (opt->objective == GD_GRADCHECK_CALLBACK && !opt->fn)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "gradient check: the callback objective needs a function");
    if (opt->objective != GD_GRADCHECK_PROBE && opt->objective != GD_GRADCHECK_LOSS &&
        opt->objective != GD_GRADCHECK_CALLBACK)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gradient check: unknown objective %d",
                       (int)opt->objective);
    size_t need = gd_gradcheck_tensor_count(m, opt->check_input);
    result->count = need;
    if (!result->tensors || result->capacity < need)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "gradient check: the result holds %zu tensors, the model needs %zu",
                       result->tensors ? result->capacity : 0, need);
    result->count = 0;
    return GD_OK;
}

/* Forward and backward once for the analytic gradients, then every tensor's comparison. */
static gd_status run_check(check *c, gd_tensor *x, float **r, float **dx,
                           gd_gradcheck_result *result)
{
    gd_model *m = c->m;
    const gd_gradcheck_options *opt = c->opt;
    gd_rng_set_state(gd_model_rng(m), c->rng_state);
    gd_status st = gd_model_forward(m, x);
    if (st != GD_OK)
        return gd_fail(c->msg, st, "gradient check: %s", gd_model_error(m));
    int64_t ny = gd_tensor_numel(gd_model_output(m)), nx = gd_tensor_numel(x);
    if (opt->objective == GD_GRADCHECK_PROBE) {
        gd_rng *rng;
        if (!(*r = malloc((size_t)ny * sizeof(float))) || gd_rng_create(&rng, opt->seed) != GD_OK)
            return gd_fail(c->msg, GD_ERR_NO_MEMORY, "gradient check: no memory for the probe");
        for (int64_t i = 0; i < ny; i++)
            (*r)[i] = (float)(-1.0 + 2.0 * gd_rng_uniform(rng));
        gd_rng_free(rng);
        c->r = *r;
    }
    double value;
    if ((st = objective(c, &value)) != GD_OK)
        return st;
    if ((st = gd_model_backward(m)) != GD_OK)
        return gd_fail(c->msg, st, "gradient check: %s", gd_model_error(m));

    gd_gradcheck_tensor *out = result->tensors;
    if (opt->check_input) {
        /* The input gradient lives among the activations, which the evaluations overwrite. */
        gd_layer_info first;
        if (gd_model_layer_at(m, 0, &first) != GD_OK || !first.input_grad.data)
            return gd_fail(c->msg, GD_ERR_STATE, "gradient check: the model has no input gradient");
        if (!(*dx = malloc((size_t)nx * sizeof(float))))
            return gd_fail(c->msg, GD_ERR_NO_MEMORY, "gradient check: no memory for the input gradient");
        memcpy(*dx, first.input_grad.data, (size_t)nx * sizeof(float));
        c->model_scale = largest(*dx, nx);
    }
    /* Forwards leave parameter gradients alone, so they are read in place. */
    for (size_t i = 0; i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        if (checked_parameter(t))
            c->model_scale = fmax(c->model_scale, largest(t->grad.data, gd_tensor_numel(&t->grad)));
    }
    if (opt->check_input &&
        (st = check_tensor(c, "input", x->data, *dx, nx, tensor_seed(opt->seed, 0), out++)) != GD_OK)
        return st;
    for (size_t i = 0; i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        if (!checked_parameter(t))
            continue;
        st = check_tensor(c, t->name, t->value.data, t->grad.data, gd_tensor_numel(&t->value),
                          tensor_seed(opt->seed, i + 1), out++);
        if (st != GD_OK)
            return st;
    }
    result->count = (size_t)(out - result->tensors);
    return GD_OK;
}

gd_status gd_gradcheck(gd_model *m, const gd_tensor *input, const gd_gradcheck_options *opt,
                       gd_gradcheck_result *result, gd_error *err)
{
    char local[GD_MSG_MAX];
    char *msg = err ? err->message : local;
    gd_gradcheck_options defaults = gd_gradcheck_defaults();
    opt = opt ? opt : &defaults;
    gd_status st = check_options(m, input, opt, result, msg);
    if (st != GD_OK)
        return st;

    size_t bytes = gd_model_buffers_bytes(m);
    gd_tensor x = *input;
    size_t nx = (size_t)gd_tensor_numel(input);
    x.data = malloc(nx * sizeof(float));
    unsigned char *buffers = malloc(bytes + 1);
    if (!x.data || !buffers) {
        free(x.data);
        free(buffers);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "gradient check: no memory for a copy of the input");
    }
    memcpy(x.data, input->data, nx * sizeof(float));
    gd_model_copy_buffers(m, buffers, true);
    bool input_grad_was = m->input_grad_wanted;
    if (opt->check_input && !input_grad_was)
        gd_model_set_input_grad(m, true);

    check c = {.m = m, .opt = opt, .x = &x, .msg = msg};
    gd_rng_get_state(gd_model_rng(m), c.rng_state);
    float *r = NULL, *dx = NULL;
    st = run_check(&c, &x, &r, &dx, result);

    gd_rng_set_state(gd_model_rng(m), c.rng_state);
    gd_model_copy_buffers(m, buffers, false);
    if (m->input_grad_wanted != input_grad_was)
        gd_model_set_input_grad(m, input_grad_was);
    free(r);
    free(dx);
    free(buffers);
    free(x.data);

    result->worst = 0;
    result->worst_error = 0;
    for (size_t i = 0; i < result->count; i++)
        if (i == 0 || worse(result->tensors[i].worst_error, result->worst_error)) {
            result->worst = i;
            result->worst_error = result->tensors[i].worst_error;
        }
    return st;
}
