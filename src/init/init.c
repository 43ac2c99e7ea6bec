/* torch.nn.init's fillers: uniform, normal, constant, Xavier, Kaiming and truncated
 * normal. The public header's comment states the error contract; each function's comment
 * lists the codes it returns, since these free functions have no handle for a message.
 *
 * Every draw comes from the caller's generator, one per element in row-major order, so a
 * fill depends on the seed alone and never on the thread count; the loops stay serial for
 * that reason (initialisation runs once, outside the training step). Bounds and standard
 * deviations are computed in double, as PyTorch computes them in Python floats. */
#include "init.h"

#include <float.h>
#include <math.h>

#define SQRT2 1.41421356237309504880

/* GD_ERR_INVALID_ARGUMENT for a NULL tensor, data or generator; GD_ERR_SHAPE for a
 * malformed shape. */
static gd_status check_random(const gd_tensor *t, const gd_rng *rng)
{
    return rng ? gd_init_check_tensor(t) : GD_ERR_INVALID_ARGUMENT;
}

/* U(a, b) as a + (b - a) u with u in [0, 1). GD_ERR_INVALID_ARGUMENT, where PyTorch's
 * uniform_ raises, unless a <= b (so NaN fails) and a, b and b - a fit a float. */
gd_status gd_init_uniform_(gd_tensor *t, double a, double b, gd_rng *rng)
{
    gd_status status = check_random(t, rng);
    if (status != GD_OK)
        return status;
    if (!(a <= b) || a < -FLT_MAX || b > FLT_MAX || b - a > FLT_MAX)
        return GD_ERR_INVALID_ARGUMENT;
    int64_t n = gd_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        t->data[i] = (float)(a + (b - a) * gd_rng_uniform(rng));
    return GD_OK;
}

/* N(mean, std^2). GD_ERR_INVALID_ARGUMENT unless std >= 0 (PyTorch's normal_ check; NaN
 * fails it too); std = 0 fills mean. */
gd_status gd_init_normal_(gd_tensor *t, double mean, double std, gd_rng *rng)
{
    gd_status status = check_random(t, rng);
    if (status != GD_OK)
        return status;
    if (!(std >= 0))
        return GD_ERR_INVALID_ARGUMENT;
    int64_t n = gd_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        t->data[i] = (float)(mean + std * gd_rng_normal(rng));
    return GD_OK;
}

/* GD_ERR_INVALID_ARGUMENT or GD_ERR_SHAPE only for a malformed tensor. */
gd_status gd_init_constant_(gd_tensor *t, double value)
{
    gd_status status = gd_init_check_tensor(t);
    if (status != GD_OK)
        return status;
    int64_t n = gd_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        t->data[i] = (float)value;
    return GD_OK;
}

/* As gd_init_constant_. */
gd_status gd_init_zeros_(gd_tensor *t) { return gd_init_constant_(t, 0.0); }

/* As gd_init_constant_. */
gd_status gd_init_ones_(gd_tensor *t) { return gd_init_constant_(t, 1.0); }

/* U(-sqrt(3) std, sqrt(3) std) or N(0, std^2): Xavier's and Kaiming's two shapes of one
 * variance. Like PyTorch, the uniform bound is computed from the standard deviation. */
static gd_status fill_zero_mean(gd_tensor *t, double std, bool uniform, gd_rng *rng)
{
    double bound = sqrt(3.0) * std;
    return uniform ? gd_init_uniform_(t, -bound, bound, rng) : gd_init_normal_(t, 0.0, std, rng);
}

/* Glorot and Bengio (2010) keep the variance of activations and of gradients equal
 * across layers with Var(w) = 2 / (fan_in + fan_out), times gain^2. */
static gd_status xavier_std(const gd_tensor *t, double gain, const gd_rng *rng, double *std)
{
    int64_t fan_in, fan_out;
    gd_status status = check_random(t, rng);
    if (status == GD_OK)
        status = gd_calculate_fan_in_and_fan_out(t, &fan_in, &fan_out);
    if (status != GD_OK)
        return status;
    if (fan_in + fan_out == 0)
        return GD_ERR_SHAPE; /* PyTorch divides by zero */
    *std = gain * sqrt(2.0 / (double)(fan_in + fan_out));
    return GD_OK;
}

/* U(-b, b), b = gain sqrt(6 / (fan_in + fan_out)). GD_ERR_INVALID_ARGUMENT for a NULL
 * tensor, data or generator, or a negative or NaN gain (PyTorch's uniform_ then sees
 * a > b); GD_ERR_SHAPE for fewer than two dimensions or fan_in + fan_out = 0. */
gd_status gd_init_xavier_uniform_(gd_tensor *t, double gain, gd_rng *rng)
{
    double std = 0;
    gd_status status = xavier_std(t, gain, rng, &std);
    return status != GD_OK ? status : fill_zero_mean(t, std, true, rng);
}

/* N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)). Codes as xavier_uniform_. */
gd_status gd_init_xavier_normal_(gd_tensor *t, double gain, gd_rng *rng)
{
    double std = 0;
    gd_status status = xavier_std(t, gain, rng, &std);
    return status != GD_OK ? status : fill_zero_mean(t, std, false, rng);
}

/* He et al. (2015): Var(w) = gain^2 / fan keeps the forward (fan_in) or backward
 * (fan_out) variance through rectifiers. *std stays unset, and the fill touches nothing,
 * for a tensor with no elements: PyTorch returns it unchanged before looking at fans. */
static gd_status kaiming_std(const gd_tensor *t, double a, gd_fan_mode mode,
                             gd_nonlinearity nonlinearity, const gd_rng *rng, double *std)
{
    gd_status status = check_random(t, rng);
    if (status != GD_OK)
        return status;
    if ((mode != GD_FAN_IN && mode != GD_FAN_OUT) ||
        !(nonlinearity >= GD_NONLIN_LINEAR && nonlinearity <= GD_NONLIN_SELU))
        return GD_ERR_INVALID_ARGUMENT;
    if (gd_tensor_numel(t) == 0)
        return GD_OK;
    int64_t fan_in, fan_out;
    status = gd_calculate_fan_in_and_fan_out(t, &fan_in, &fan_out);
    if (status != GD_OK)
        return status;
    /* PyTorch hands kaiming's a to calculate_gain as a number, never None, so a negative
     * slope must not select gd_calculate_gain's 0.01 default; the gain depends on a^2
     * alone, so |a| gives PyTorch's value. */
    double gain = gd_calculate_gain(nonlinearity, fabs(a));
    *std = gain / sqrt((double)(mode == GD_FAN_IN ? fan_in : fan_out));
    return GD_OK;
}

/* U(-b, b), b = sqrt(3) gain / sqrt(fan), gain = gd_calculate_gain(nonlinearity, a). With
 * a = sqrt(5) and leaky ReLU, b = 1/sqrt(fan_in): nn.Linear's default weight init.
 * GD_ERR_INVALID_ARGUMENT for a NULL tensor, data or generator, an unknown mode or
 * nonlinearity, or a NaN a; GD_ERR_SHAPE for fewer than two dimensions. A tensor with no
 * elements is left as it is, as in PyTorch. */
gd_status gd_init_kaiming_uniform_(gd_tensor *t, double a, gd_fan_mode mode,
                                   gd_nonlinearity nonlinearity, gd_rng *rng)
{
    double std = 0;
    gd_status status = kaiming_std(t, a, mode, nonlinearity, rng, &std);
    return status != GD_OK ? status : fill_zero_mean(t, std, true, rng);
}

/* N(0, std^2), std = gain / sqrt(fan). Codes as kaiming_uniform_. */
gd_status gd_init_kaiming_normal_(gd_tensor *t, double a, gd_fan_mode mode,
                                  gd_nonlinearity nonlinearity, gd_rng *rng)
{
    double std = 0;
    gd_status status = kaiming_std(t, a, mode, nonlinearity, rng, &std);
    return status != GD_OK ? status : fill_zero_mean(t, std, false, rng);
}

/* N(mean, std^2) truncated to [a, b] by PyTorch's inverse-CDF method: v uniform in
 * [erf(alpha / sqrt2), erf(beta / sqrt2)) with alpha = (a - mean) / std and beta likewise
 * (2 Phi(z) - 1 = erf(z / sqrt2), PyTorch's [2l - 1, 2u - 1] without the round trip), then
 * x = mean + std sqrt2 erfinv(v), clamped to [a, b] against rounding. Infinite a or b are
 * allowed. GD_ERR_INVALID_ARGUMENT for a NULL tensor, data or generator, a non-finite
 * mean, std <= 0 (PyTorch divides by it; a negative one reverses its uniform range) or
 * not a <= b. */
gd_status gd_init_trunc_normal_(gd_tensor *t, double mean, double std, double a, double b,
                                gd_rng *rng)
{
    gd_status status = check_random(t, rng);
    if (status != GD_OK)
        return status;
    if (!isfinite(mean) || !(std > 0) || !isfinite(std) || !(a <= b))
        return GD_ERR_INVALID_ARGUMENT;
    double lo = erf((a - mean) / std / SQRT2);
    double hi = erf((b - mean) / std / SQRT2);
    int64_t n = gd_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double x = mean + std * SQRT2 * gd_erfinv(lo + (hi - lo) * gd_rng_uniform(rng));
        t->data[i] = (float)fmin(fmax(x, a), b);
    }
    return GD_OK;
}
