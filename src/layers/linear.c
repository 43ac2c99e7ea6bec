/* Linear: y = x W^T + b, with W stored out x in as PyTorch stores it.
 * Backward: dW = dy^T x, db = sum over the batch of dy, dx = dy W. */
#include "layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct linear {
    gd_layer base;
    int64_t in, out;
    gd_named_tensor *weight, *bias; /* bias NULL when the layer has none */
} linear;

static gd_status linear_infer(gd_layer *l, gd_shape *out, char *msg)
{
    linear *lin = GD_IMPL(linear, l);
    char s[64];
    if (l->in_shape.ndim != 1)
        return gd_fail(msg, GD_ERR_SHAPE,
                       "linear %s: expects flat samples of %lld features, got %s (flatten first)",
                       l->name, (long long)lin->in, gd_shape_str(&l->in_shape, s, sizeof s));
    if (l->in_shape.dims[0] != lin->in)
        return gd_fail(msg, GD_ERR_SHAPE, "linear %s: input has %lld features, layer expects %lld",
                       l->name, (long long)l->in_shape.dims[0], (long long)lin->in);
    *out = (gd_shape){.ndim = 1, .dims = {lin->out}};
    return GD_OK;
}

static gd_status linear_forward(gd_layer *l, const gd_pass *run)
{
    linear *lin = GD_IMPL(linear, l);
    int64_t n = run->n;
    float beta = 0.0f;
    if (lin->bias) {
        for (int64_t i = 0; i < n; i++)
            memcpy(l->out + i * lin->out, lin->bias->value.data, (size_t)lin->out * sizeof(float));
        beta = 1.0f;
    }
    gd_sgemm(false, true, (int)n, (int)lin->out, (int)lin->in, 1.0f,
                l->in, (int)lin->in, lin->weight->value.data, (int)lin->in, beta, l->out,
                (int)lin->out);
    return GD_OK;
}

static void linear_backward(gd_layer *l, const gd_pass *run)
{
    linear *lin = GD_IMPL(linear, l);
    int n = (int)run->n, in = (int)lin->in, out = (int)lin->out;
    const float *dy = l->out_grad;
    gd_sgemm(true, false, out, in, n, 1.0f, dy, out, l->in, in, 0.0f,
                lin->weight->grad.data, in);
    if (lin->bias) {
        float *db = lin->bias->grad.data;
        memset(db, 0, (size_t)out * sizeof(float));
        for (int i = 0; i < n; i++)
            for (int j = 0; j < out; j++)
                db[j] += dy[(int64_t)i * out + j];
    }
    if (l->in_grad)
        gd_sgemm(false, false, n, in, out, 1.0f, dy, out,
                    lin->weight->value.data, in, 0.0f, l->in_grad, in);
}

/* nn.Linear.reset_parameters: kaiming_uniform_(a = sqrt(5)) gives bound 1/sqrt(fan_in);
 * the bias is uniform in +-1/sqrt(fan_in) too. */
static void linear_reset(gd_layer *l, gd_rng *rng)
{
    linear *lin = GD_IMPL(linear, l);
    gd_init_kaiming_uniform_(&lin->weight->value, sqrt(5.0), GD_FAN_IN, GD_NONLIN_LEAKY_RELU, rng);
    if (lin->bias) {
        double bound = 1.0 / sqrt((double)lin->in);
        gd_init_uniform_(&lin->bias->value, -bound, bound, rng);
    }
}

static const gd_layer_ops linear_ops = {
    .kind = "linear",
    .infer = linear_infer,
    .forward = linear_forward,
    .backward = linear_backward,
    .reset_parameters = linear_reset,
};

gd_status gd_linear_create(gd_layer **out, int64_t in_features, int64_t out_features, bool bias,
                           char *msg)
{
    /* the products take int sizes. */
    if (in_features < 1 || out_features < 1 || in_features > INT32_MAX || out_features > INT32_MAX)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "linear: features must be between 1 and 2^31-1, got in=%lld out=%lld",
                       (long long)in_features, (long long)out_features);
    linear *lin = calloc(1, sizeof *lin);
    if (!lin)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "linear: out of memory");
    lin->base.ops = &linear_ops;
    lin->in = in_features;
    lin->out = out_features;
    lin->weight = gd_layer_declare(&lin->base, "weight", GD_ROLE_PARAMETER, GD_DTYPE_F32, 2,
                                   (int64_t[]){out_features, in_features});
    if (bias)
        lin->bias = gd_layer_declare(&lin->base, "bias", GD_ROLE_PARAMETER, GD_DTYPE_F32, 1,
                                     (int64_t[]){out_features});
    *out = &lin->base;
    return GD_OK;
}
