/* Element-wise activations. Each kind is a forward and a backward loop side by side;
 * backward reads whichever of the input x or the output y its derivative needs. */
#include "layer.h"

#include <math.h>
#include <stdlib.h>

typedef void (*act_forward_fn)(const float *x, float *y, int64_t n, float p);
typedef void (*act_backward_fn)(const float *x, const float *y, const float *dy, float *dx,
                                int64_t n, float p);

typedef struct act_kind {
    act_forward_fn forward;
    act_backward_fn backward;
    double default_param; /* slope, alpha or beta; NAN when the kind has none */
} act_kind;

typedef struct activation {
    gd_layer base;
    const act_kind *kind;
    float param;
} activation;

#define EACH(n) _Pragma("omp parallel for num_threads(gd_threads()) if (n > GD_PARALLEL_MIN) schedule(static)") \
    for (int64_t i = 0; i < n; i++)

/* Sigmoid, written so that exp never overflows: for x < 0, e^x / (1 + e^x).
 * dy/dx = y (1 - y), from the output. */
static inline float stable_sigmoid(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}
static void sigmoid_fwd(const float *x, float *y, int64_t n, float p)
{
    (void)p;
    EACH(n) y[i] = stable_sigmoid(x[i]);
}
static void sigmoid_bwd(const float *x, const float *y, const float *dy, float *dx, int64_t n, float p)
{
    (void)x, (void)p;
    EACH(n) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

/* tanh; dy/dx = 1 - y^2, from the output. */
static void tanh_fwd(const float *x, float *y, int64_t n, float p)
{
    (void)p;
    EACH(n) y[i] = tanhf(x[i]);
}
static void tanh_bwd(const float *x, const float *y, const float *dy, float *dx, int64_t n, float p)
{
    (void)x, (void)p;
    EACH(n) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

/* ReLU: max(0, x), written out so that negative inputs give +0 as PyTorch's, not
 * 0 * x = -0; the gradient at 0 is 0, as PyTorch's. */
static void relu_fwd(const float *x, float *y, int64_t n, float p)
{
    (void)p;
    EACH(n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
static void relu_bwd(const float *x, const float *y, const float *dy, float *dx, int64_t n, float p)
{
    (void)y, (void)p;
    EACH(n) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

/* LeakyReLU(p): slope 1 for x > 0, else p; at 0 the gradient is the negative side's. */
static void leaky_fwd(const float *x, float *y, int64_t n, float p)
{
    EACH(n) y[i] = x[i] > 0.0f ? x[i] : p * x[i];
}
static void leaky_bwd(const float *x, const float *y, const float *dy, float *dx, int64_t n, float p)
{
    (void)y;
    EACH(n) dx[i] = x[i] > 0.0f ? dy[i] : p * dy[i];
}

/* ELU(alpha): alpha (e^x - 1) for x <= 0; its derivative alpha e^x, from the input (y +
 * alpha would cancel badly for very negative x). */
static void elu_fwd(const float *x, float *y, int64_t n, float p)
{
    EACH(n) y[i] = x[i] > 0.0f ? x[i] : p * expm1f(x[i]);
}
static void elu_bwd(const float *x, const float *y, const float *dy, float *dx, int64_t n, float p)
{
    (void)y;
    EACH(n) dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * p * expf(x[i]);
}

/* Exact GELU: x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2; derivative
 * Phi(x) + x phi(x), phi the standard normal density. */
static void gelu_fwd(const float *x, float *y, int64_t n, float p)
{
    (void)p;
    EACH(n) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}
static void gelu_bwd(const float *x, const float *y, const float *dy, float *dx, int64_t n, float p)
{
    (void)y, (void)p;
    const float inv_sqrt_2pi = 0.3989422804014327f;
    EACH(n)
    {
        float cdf = 0.5f * (1.0f + erff(x[i] * 0.70710678118654752f));
        dx[i] = dy[i] * (cdf + x[i] * inv_sqrt_2pi * expf(-0.5f * x[i] * x[i]));
    }
}

/* SiLU: x sigmoid(x); derivative s (1 + x (1 - s)). */
static void silu_fwd(const float *x, float *y, int64_t n, float p)
{
    (void)p;
    EACH(n) y[i] = x[i] * stable_sigmoid(x[i]);
}
static void silu_bwd(const float *x, const float *y, const float *dy, float *dx, int64_t n, float p)
{
    (void)y, (void)p;
    EACH(n)
    {
        float s = stable_sigmoid(x[i]);
        dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

/* Softplus(beta), PyTorch's threshold 20: linear where beta x > 20, where log1p(e^(beta x))
 * equals beta x in float; derivative sigmoid(beta x). */
#define SOFTPLUS_THRESHOLD 20.0f
static void softplus_fwd(const float *x, float *y, int64_t n, float p)
{
    EACH(n) y[i] = p * x[i] > SOFTPLUS_THRESHOLD ? x[i] : log1pf(expf(p * x[i])) / p;
}
static void softplus_bwd(const float *x, const float *y, const float *dy, float *dx, int64_t n, float p)
{
    (void)y;
    EACH(n) dx[i] = p * x[i] > SOFTPLUS_THRESHOLD ? dy[i] : dy[i] * stable_sigmoid(p * x[i]);
}

static const act_kind kinds[] = {
    [GD_ACT_SIGMOID] = {sigmoid_fwd, sigmoid_bwd, NAN},
    [GD_ACT_TANH] = {tanh_fwd, tanh_bwd, NAN},
    [GD_ACT_RELU] = {relu_fwd, relu_bwd, NAN},
    [GD_ACT_LEAKY_RELU] = {leaky_fwd, leaky_bwd, 0.01},
    [GD_ACT_ELU] = {elu_fwd, elu_bwd, 1.0},
    [GD_ACT_GELU] = {gelu_fwd, gelu_bwd, NAN},
    [GD_ACT_SILU] = {silu_fwd, silu_bwd, NAN},
    [GD_ACT_SOFTPLUS] = {softplus_fwd, softplus_bwd, 1.0},
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

static gd_status activation_infer(gd_layer *l, gd_shape *out, char *msg)
{
    (void)msg;
    *out = l->in_shape;
    return GD_OK;
}

static gd_status activation_forward(gd_layer *l, const gd_pass *run)
{
    activation *a = GD_IMPL(activation, l);
    a->kind->forward(l->in, l->out, run->n * gd_shape_numel(&l->in_shape), a->param);
    return GD_OK;
}

static void activation_backward(gd_layer *l, const gd_pass *run)
{
    activation *a = GD_IMPL(activation, l);
    if (l->in_grad)
        a->kind->backward(l->in, l->out, l->out_grad, l->in_grad,
                          run->n * gd_shape_numel(&l->in_shape), a->param);
}

#define ACTIVATION_OPS(name)                                                               \
    {.kind = name, .infer = activation_infer, .forward = activation_forward,               \
     .backward = activation_backward}
static const gd_layer_ops activation_ops[] = {
    [GD_ACT_SIGMOID] = ACTIVATION_OPS("sigmoid"),       [GD_ACT_TANH] = ACTIVATION_OPS("tanh"),
    [GD_ACT_RELU] = ACTIVATION_OPS("relu"),             [GD_ACT_LEAKY_RELU] = ACTIVATION_OPS("leaky_relu"),
    [GD_ACT_ELU] = ACTIVATION_OPS("elu"),               [GD_ACT_GELU] = ACTIVATION_OPS("gelu"),
    [GD_ACT_SILU] = ACTIVATION_OPS("silu"),             [GD_ACT_SOFTPLUS] = ACTIVATION_OPS("softplus"),
};

double gd_activation_default_param(gd_activation kind)
{
    return (int)kind >= 0 && (int)kind < NKINDS ? kinds[kind].default_param : NAN;
}

gd_status gd_activation_create(gd_layer **out, gd_activation kind, double param, char *msg)
{
    if ((int)kind < 0 || (int)kind >= NKINDS)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "activation: unknown kind %d", (int)kind);
    const act_kind *k = &kinds[kind];
    if (isnan(k->default_param) && !isnan(param))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s takes no parameter", activation_ops[kind].kind);
    if (isnan(param))
        param = k->default_param;
    if ((!isnan(k->default_param) && !isfinite(param)) || (kind == GD_ACT_SOFTPLUS && param <= 0))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s: parameter %g is out of range", activation_ops[kind].kind, param);
    activation *a = calloc(1, sizeof *a);
    if (!a)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%s: out of memory", activation_ops[kind].kind);
    a->base.ops = &activation_ops[kind];
    a->kind = k;
    a->param = (float)param;
    *out = &a->base;
    return GD_OK;
}
