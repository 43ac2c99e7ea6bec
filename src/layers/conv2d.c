/* Convolution as torch.nn.Conv2d (a cross-correlation, zero padding). Output channel o of
 * group g (Cg = in/groups input channels, Og = out/groups outputs per group) at (a, b):
 *   y[i,o,a,b] = bias[o] + sum over c < Cg, ki, kj of
 *                w[o,c,ki,kj] x[i, g Cg + c, a s - p + ki d, b s - p + kj d]   (0 outside x).
 * As matrices (im2col): row (c, ki, kj) of cols holds, in column (i, a, b), the input value
 * that weight multiplies, so each group is one product over the whole batch,
 *   Y_g = W_g cols_g   (W_g: Og x K, K = Cg kh kw; cols_g: K x (n OH OW)),
 * whose rows are reordered into NCHW with the bias added. Backward, with dY put in the
 * same row layout: dW_g = dY_g cols_g^T, dbias = sums of dY over batch and positions,
 * dcols_g = W_g^T dY_g, and dx = col2im(dcols): every input value gathers the gradients of
 * all the patch entries that copied it.
 *
 * cols is kept from forward for dW (saving an im2col per step), then reused for dcols when
 * dx is wanted; it costs no extra memory, since the products need that buffer anyway. A
 * second backward of the same forward rebuilds the patches first.
 *
 * A 1x1 kernel with stride 1 and no padding makes cols_g the input's own channel rows:
 * that case skips im2col and runs one product per sample, Y_i = W_g x_i (already NCHW),
 * dW_g = sum_i dY_i x_i^T, dx_i = W_g^T dY_i. */
#include "layer.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv2d {
    gd_layer base;
    int64_t in, out; /* channels */
    int kh, kw, stride, pad, dil, groups;
    gd_named_tensor *weight, *bias; /* bias NULL when the layer has none */
    int64_t h, w, oh, ow;           /* input and output plane sizes, from infer */
    float *cols;                    /* (in kh kw) x (max_batch oh ow); NULL for 1x1 */
    float *rows;                    /* out x (max_batch oh ow): Y before reordering, dY */
    bool cols_are_patches;          /* cols holds the last forward's patches */
} conv2d;

/* One task per plane or row segment; `work` (elements touched) in scope decides threading. */
#define PARALLEL_FOR \
    _Pragma("omp parallel for num_threads(gd_threads()) if (work > GD_PARALLEL_MIN) schedule(static)")

static bool pointwise(const conv2d *c)
{
    return c->kh == 1 && c->kw == 1 && c->stride == 1 && c->pad == 0;
}

/* floor((size + 2p - d (k - 1) - 1) / s) + 1, or 0 and below when the kernel does not fit. */
static int64_t out_size(int64_t size, int k, int s, int p, int d)
{
    int64_t span = size + 2 * (int64_t)p - (int64_t)d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
}

static gd_status conv_infer(gd_layer *l, gd_shape *out, char *msg)
{
    conv2d *c = GD_IMPL(conv2d, l);
    const gd_shape *s = &l->in_shape;
    char str[64];
    if (s->ndim != 3)
        return gd_fail(msg, GD_ERR_SHAPE, "conv2d %s: expects samples of (channels, height, width), got %s",
                       l->name, gd_shape_str(s, str, sizeof str));
    if (s->dims[0] != c->in)
        return gd_fail(msg, GD_ERR_SHAPE, "conv2d %s: input has %lld channels, layer expects %lld",
                       l->name, (long long)s->dims[0], (long long)c->in);
    c->h = s->dims[1];
    c->w = s->dims[2];
    /* cblas takes int sizes: a plane (the 1x1 case's columns) must fit one. */
    if (c->h * c->w > INT32_MAX)
        return gd_fail(msg, GD_ERR_SHAPE, "conv2d %s: plane of %lldx%lld exceeds 2^31-1 values",
                       l->name, (long long)c->h, (long long)c->w);
    c->oh = out_size(c->h, c->kh, c->stride, c->pad, c->dil);
    c->ow = out_size(c->w, c->kw, c->stride, c->pad, c->dil);
    if (c->oh < 1 || c->ow < 1)
        return gd_fail(msg, GD_ERR_SHAPE,
                       "conv2d %s: kernel %dx%d (dilation %d) does not fit input %lldx%lld padded by %d",
                       l->name, c->kh, c->kw, c->dil, (long long)c->h, (long long)c->w, c->pad);
    *out = (gd_shape){.ndim = 3, .dims = {c->out, c->oh, c->ow}};
    return GD_OK;
}

static void conv_reserve(gd_layer *l, gd_arena *a, int64_t max_batch)
{
    conv2d *c = GD_IMPL(conv2d, l);
    if (pointwise(c))
        return;
    size_t columns = (size_t)(max_batch * c->oh * c->ow);
    c->cols = gd_arena_take(a, (size_t)(c->in * c->kh * c->kw) * columns);
    c->rows = gd_arena_take(a, (size_t)c->out * columns);
    c->cols_are_patches = false;
}

/* The outputs o in [lo, hi) for which o s + off lies in [0, size): the part of a patch row
 * that reads the input rather than the padding. */
static void valid_range(int64_t off, int s, int64_t size, int64_t outs, int64_t *lo, int64_t *hi)
{
    *lo = off >= 0 ? 0 : (-off + s - 1) / s;
    *hi = size - 1 - off < 0 ? 0 : (size - 1 - off) / s + 1;
    *lo = *lo < outs ? *lo : outs;
    *hi = *hi < *lo ? *lo : *hi < outs ? *hi : outs;
}

/* Kernel tap (ki, kj) = (t / kw, t % kw): output (a, b) reads input (a s + oi, b s + oj),
 * oi = ki d - p, oj = kj d - p; columns b in [lo, hi) read the input, the others padding. */
typedef struct tap {
    int64_t oi, oj, lo, hi;
} tap;

static tap tap_at(const conv2d *c, int64_t t)
{
    tap k = {.oi = t / c->kw * c->dil - c->pad, .oj = t % c->kw * c->dil - c->pad};
    valid_range(k.oj, c->stride, c->w, c->ow, &k.lo, &k.hi);
    return k;
}

/* One patch row of one input plane: dst[a, b] = x[a s + oi, b s + oj], zero in the padding. */
static void im2col_plane(const conv2d *c, const float *x, float *dst, tap k)
{
    int s = c->stride;
    for (int64_t a = 0; a < c->oh; a++, dst += c->ow) {
        int64_t row = a * s + k.oi;
        if (row < 0 || row >= c->h) {
            memset(dst, 0, (size_t)c->ow * sizeof(float));
            continue;
        }
        const float *src = x + row * c->w + k.oj;
        memset(dst, 0, (size_t)k.lo * sizeof(float));
        if (s == 1)
            memcpy(dst + k.lo, src + k.lo, (size_t)(k.hi - k.lo) * sizeof(float));
        else
            for (int64_t b = k.lo; b < k.hi; b++)
                dst[b] = src[b * s];
        memset(dst + k.hi, 0, (size_t)(c->ow - k.hi) * sizeof(float));
    }
}

/* The transpose of im2col_plane: x[a s + oi, b s + oj] += src[a, b]. */
static void col2im_plane(const conv2d *c, const float *src, float *x, tap k)
{
    int s = c->stride;
    for (int64_t a = 0; a < c->oh; a++, src += c->ow) {
        int64_t row = a * s + k.oi;
        if (row < 0 || row >= c->h)
            continue;
        float *dst = x + row * c->w + k.oj;
        if (s == 1) /* the common case, which vectorises */
            for (int64_t b = k.lo; b < k.hi; b++)
                dst[b] += src[b];
        else
            for (int64_t b = k.lo; b < k.hi; b++)
                dst[b * s] += src[b];
    }
}

/* cols[(ch, t), (i, a, b)] for the n samples of x; each task writes one row segment. */
static void im2col(conv2d *c, int64_t n)
{
    int64_t hw = c->h * c->w, ohw = c->oh * c->ow, taps = c->kh * c->kw;
    int64_t tasks = c->in * taps * n, ld = n * ohw;
    int64_t work = tasks * ohw;
    PARALLEL_FOR
    for (int64_t t = 0; t < tasks; t++) {
        int64_t r = t / n, i = t % n;
        im2col_plane(c, c->base.in + (i * c->in + r / taps) * hw, c->cols + r * ld + i * ohw,
                     tap_at(c, r % taps));
    }
}

/* dx = col2im(dcols), one input plane (i, ch) per task: each plane sums its kh kw patch
 * rows in a fixed order, so no two threads touch one value and the sums do not depend on
 * the thread count. */
static void col2im(conv2d *c, int64_t n)
{
    int64_t hw = c->h * c->w, ohw = c->oh * c->ow, taps = c->kh * c->kw, ld = n * ohw;
    int64_t work = n * c->in * hw;
    PARALLEL_FOR
    for (int64_t t = 0; t < n * c->in; t++) {
        int64_t i = t / c->in, ch = t % c->in;
        float *x = c->base.in_grad + t * hw;
        memset(x, 0, (size_t)hw * sizeof(float));
        for (int64_t k = 0; k < taps; k++)
            col2im_plane(c, c->cols + (ch * taps + k) * ld + i * ohw, x, tap_at(c, k));
    }
}

/* out[i, o] = rows[o, i] + bias[o], one output plane per task. */
static void rows_to_output(conv2d *c, int64_t n)
{
    int64_t ohw = c->oh * c->ow, ld = n * ohw;
    const float *b = c->bias ? c->bias->value.data : NULL;
    int64_t work = n * c->out * ohw;
    PARALLEL_FOR
    for (int64_t t = 0; t < n * c->out; t++) {
        int64_t i = t / c->out, o = t % c->out;
        const float *src = c->rows + o * ld + i * ohw;
        float *dst = c->base.out + t * ohw, bo = b ? b[o] : 0.0f;
        for (int64_t p = 0; p < ohw; p++)
            dst[p] = src[p] + bo;
    }
}

/* The sum of n floats in double, as 8 interleaved partial sums added at the end: a fixed
 * order (the same at any thread count) whose 8 chains run side by side and vectorise, where
 * one running sum would wait on every add. */
static double sum_floats(const float *x, int64_t n)
{
    double part[8] = {0}, sum = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            part[k] += x[i + k];
    for (; i < n; i++)
        sum += x[i];
    for (int k = 0; k < 8; k++)
        sum += part[k];
    return sum;
}

/* dbias[o] = sum of dY[i, o] over samples and positions, plane by plane in sample order
 * (one channel per task: the same sums at any thread count); with to != NULL, dY also goes
 * to the row layout to[o, i]. */
static void output_grad_to_rows(conv2d *c, int64_t n, float *to)
{
    int64_t ohw = c->oh * c->ow, ld = n * ohw;
    float *db = c->bias ? c->bias->grad.data : NULL;
    if (!db && !to)
        return;
    int64_t work = n * c->out * ohw;
    PARALLEL_FOR
    for (int64_t o = 0; o < c->out; o++) {
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            const float *dy = c->base.out_grad + (i * c->out + o) * ohw;
            if (to)
                memcpy(to + o * ld + i * ohw, dy, (size_t)ohw * sizeof(float));
            if (db)
                sum += sum_floats(dy, ohw);
        }
        if (db)
            db[o] = (float)sum;
    }
}

static void conv_forward_im2col(conv2d *c, int64_t n)
{
    int64_t og = c->out / c->groups, k = c->in / c->groups * c->kh * c->kw;
    int ld = (int)(n * c->oh * c->ow);
    const float *w = c->weight->value.data;
    im2col(c, n);
    c->cols_are_patches = true;
    for (int g = 0; g < c->groups; g++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)og, ld, (int)k, 1.0f,
                    w + g * og * k, (int)k, c->cols + g * k * ld, ld, 0.0f, c->rows + g * og * ld,
                    ld);
    rows_to_output(c, n);
}

static void conv_backward_im2col(conv2d *c, int64_t n)
{
    int64_t og = c->out / c->groups, k = c->in / c->groups * c->kh * c->kw;
    int ld = (int)(n * c->oh * c->ow);
    const float *w = c->weight->value.data;
    float *dw = c->weight->grad.data;
    output_grad_to_rows(c, n, c->rows);
    if (!c->cols_are_patches)
        im2col(c, n);
    for (int g = 0; g < c->groups; g++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)og, (int)k, ld, 1.0f,
                    c->rows + g * og * ld, ld, c->cols + g * k * ld, ld, 0.0f, dw + g * og * k,
                    (int)k);
    if (!c->base.in_grad)
        return;
    for (int g = 0; g < c->groups; g++)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, ld, (int)og, 1.0f,
                    w + g * og * k, (int)k, c->rows + g * og * ld, ld, 0.0f, c->cols + g * k * ld,
                    ld);
    c->cols_are_patches = false;
    col2im(c, n);
}

/* The 1x1 case: per sample and group, Y = W_g x (Og x hw = (Og x Cg)(Cg x hw)). */
static void conv_forward_pointwise(conv2d *c, int64_t n)
{
    int64_t og = c->out / c->groups, cg = c->in / c->groups;
    int hw = (int)(c->h * c->w);
    const float *w = c->weight->value.data;
    for (int64_t i = 0; i < n; i++)
        for (int g = 0; g < c->groups; g++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)og, hw, (int)cg, 1.0f,
                        w + g * og * cg, (int)cg, c->base.in + (i * c->in + g * cg) * hw, hw,
                        0.0f, c->base.out + (i * c->out + g * og) * hw, hw);
    if (!c->bias)
        return;
    const float *b = c->bias->value.data;
    int64_t work = n * c->out * hw;
    PARALLEL_FOR
    for (int64_t t = 0; t < n * c->out; t++) {
        float bo = b[t % c->out], *y = c->base.out + t * hw;
        for (int64_t p = 0; p < hw; p++)
            y[p] += bo;
    }
}

static void conv_backward_pointwise(conv2d *c, int64_t n)
{
    int64_t og = c->out / c->groups, cg = c->in / c->groups;
    int hw = (int)(c->h * c->w);
    const float *w = c->weight->value.data, *dy = c->base.out_grad, *x = c->base.in;
    float *dw = c->weight->grad.data, *dx = c->base.in_grad;
    output_grad_to_rows(c, n, NULL);
    for (int64_t i = 0; i < n; i++)
        for (int g = 0; g < c->groups; g++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)og, (int)cg, hw, 1.0f,
                        dy + (i * c->out + g * og) * hw, hw, x + (i * c->in + g * cg) * hw, hw,
                        i ? 1.0f : 0.0f, dw + g * og * cg, (int)cg);
    for (int64_t i = 0; dx && i < n; i++)
        for (int g = 0; g < c->groups; g++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cg, hw, (int)og, 1.0f,
                        w + g * og * cg, (int)cg, dy + (i * c->out + g * og) * hw, hw, 0.0f,
                        dx + (i * c->in + g * cg) * hw, hw);
}

static gd_status conv_forward(gd_layer *l, const gd_run *run)
{
    conv2d *c = GD_IMPL(conv2d, l);
    /* cblas takes int sizes: the batch's columns must fit one. */
    if (run->n * c->oh * c->ow > INT32_MAX)
        return gd_fail(run->msg, GD_ERR_SHAPE,
                       "conv2d %s: %lld samples of %lldx%lld outputs exceed 2^31-1 columns",
                       l->name, (long long)run->n, (long long)c->oh, (long long)c->ow);
    if (pointwise(c))
        conv_forward_pointwise(c, run->n);
    else
        conv_forward_im2col(c, run->n);
    return GD_OK;
}

static void conv_backward(gd_layer *l, const gd_run *run)
{
    conv2d *c = GD_IMPL(conv2d, l);
    if (pointwise(c))
        conv_backward_pointwise(c, run->n);
    else
        conv_backward_im2col(c, run->n);
}

/* nn.Conv2d.reset_parameters: kaiming_uniform_(a = sqrt(5)), bound 1/sqrt(fan_in) with
 * fan_in = in/groups kh kw (the weight's dims[1] times its receptive field); the bias is
 * uniform in +-1/sqrt(fan_in) too. */
static void conv_reset(gd_layer *l, gd_rng *rng)
{
    conv2d *c = GD_IMPL(conv2d, l);
    gd_init_kaiming_uniform_(&c->weight->value, sqrt(5.0), GD_FAN_IN, GD_NONLIN_LEAKY_RELU, rng);
    if (c->bias) {
        int64_t fan_in, fan_out;
        gd_calculate_fan_in_and_fan_out(&c->weight->value, &fan_in, &fan_out);
        double bound = 1.0 / sqrt((double)fan_in);
        gd_init_uniform_(&c->bias->value, -bound, bound, rng);
    }
}

static const gd_layer_ops conv_ops = {
    .kind = "conv2d",
    .infer = conv_infer,
    .reserve = conv_reserve,
    .forward = conv_forward,
    .backward = conv_backward,
    .reset_parameters = conv_reset,
};

static gd_status check_args(int64_t in, int64_t out, int kh, int kw, int stride, int padding,
                            int dilation, int groups, char *msg)
{
    /* cblas takes int sizes: channels and a weight row (in/groups kh kw) must fit one. */
    if (in < 1 || out < 1 || in > INT32_MAX || out > INT32_MAX)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "conv2d: channels must be between 1 and 2^31-1, got in=%lld out=%lld",
                       (long long)in, (long long)out);
    if (kh < 1 || kw < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "conv2d: kernel %dx%d must be at least 1x1",
                       kh, kw);
    if (in * kh * kw > INT32_MAX)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "conv2d: in_channels %lld times kernel %dx%d exceeds 2^31-1", (long long)in,
                       kh, kw);
    if (stride < 1 || padding < 0 || dilation < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "conv2d: stride %d and dilation %d must be >= 1, padding %d >= 0", stride,
                       dilation, padding);
    if (groups < 1 || in % groups || out % groups)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "conv2d: groups %d must divide in_channels %lld and out_channels %lld",
                       groups, (long long)in, (long long)out);
    return GD_OK;
}

gd_status gd_conv2d_create(gd_layer **out, int64_t in_channels, int64_t out_channels, int kernel_h,
                           int kernel_w, int stride, int padding, int dilation, int groups,
                           bool bias, char *msg)
{
    gd_status st = check_args(in_channels, out_channels, kernel_h, kernel_w, stride, padding,
                              dilation, groups, msg);
    if (st != GD_OK)
        return st;
    conv2d *c = calloc(1, sizeof *c);
    if (!c)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "conv2d: out of memory");
    c->base.ops = &conv_ops;
    c->in = in_channels;
    c->out = out_channels;
    c->kh = kernel_h;
    c->kw = kernel_w;
    c->stride = stride;
    c->pad = padding;
    c->dil = dilation;
    c->groups = groups;
    c->weight = gd_layer_declare(&c->base, "weight", GD_ROLE_PARAMETER, GD_DTYPE_F32, 4,
                                 (int64_t[]){out_channels, in_channels / groups, kernel_h, kernel_w});
    if (bias)
        c->bias = gd_layer_declare(&c->base, "bias", GD_ROLE_PARAMETER, GD_DTYPE_F32, 1,
                                   (int64_t[]){out_channels});
    *out = &c->base;
    return GD_OK;
}
