/* Convolution as torch.nn.Conv2d (a cross-correlation, zero padding). Output channel o of
 * group g (Cg = in/groups input channels, Og = out/groups outputs per group) at (a, b):
 *   y[i,o,a,b] = bias[o] + sum over c < Cg, ki, kj of
 *                w[o,c,ki,kj] x[i, g Cg + c, a s - p + ki d, b s - p + kj d]   (0 outside x).
 * As matrices (im2col): row (c, ki, kj) of cols holds, in column (i, a, b), the input value
 * that weight multiplies, so each group is one product,
 *   Y_g = W_g cols_g   (W_g: Og x K, K = Cg kh kw; cols_g: K x (samples OH OW)),
 * whose rows are reordered into NCHW with the bias added. Backward, with dY put in the
 * same row layout: dW_g = dY_g cols_g^T, dbias = sums of dY over samples and positions,
 * dcols_g = W_g^T dY_g, and dx = col2im(dcols): every input value gathers the gradients of
 * all the patch entries that copied it.
 *
 * Speed: the batch is cut into chunks of `chunk` samples, just enough for CONV_MIN_COLS
 * columns, and each thread runs whole chunks, im2col to col2im, with one-thread products:
 * a chunk's patches (a few hundred KB) are used while they sit in cache, where patches of
 * the whole batch (29 MB for the 32 -> 64 channel layer of a 28x28 CNN at batch 128) went
 * out to memory and back, twice. Patches are rebuilt in backward rather than kept. With one
 * sample per chunk the products read dY and write Y in place (NCHW is then the row layout)
 * and a 1x1 kernel with stride 1 and no padding reads x itself as its patches.
 * Each thread adds its chunks' weight gradients into its own buffer (the first thread into
 * the gradient itself) and the buffers are summed in thread order: the static schedule
 * gives a thread the same chunks every time, so results repeat bit for bit at a fixed
 * thread count. When the batch has fewer chunks than threads, the chunks run one after
 * another and OpenBLAS threads each product instead. */
#include "layer.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Columns a chunk's products need to run near full speed: measured on this CNN, products
 * of one sample's 196 columns ran as fast as one over the whole batch's 25,088. */
#define CONV_MIN_COLS 128

typedef struct conv2d {
    gd_layer base;
    int64_t in, out; /* channels */
    int kh, kw, stride, pad, dil, groups;
    gd_named_tensor *weight, *bias; /* bias NULL when the layer has none */
    int64_t h, w, oh, ow;           /* input and output plane sizes, from infer */
    int64_t chunk;                  /* samples per task */
    int slots;                      /* chunks that may run at once, each with its scratch: */
    float *cols;    /* (in kh kw) x (chunk oh ow) patches, then their gradient, per slot */
    float *rows;    /* out x (chunk oh ow): Y or dY in the products' layout, per slot */
    float *dw_part; /* a weight gradient per slot but the first */
    double *db_part; /* bias gradient sums per slot */
} conv2d;

/* An element-wise loop; `work` (elements touched) in scope decides threading. */
#define PARALLEL_FOR \
    _Pragma("omp parallel for num_threads(gd_threads()) if (work > GD_PARALLEL_MIN) schedule(static)")

static bool pointwise(const conv2d *c)
{
    return c->kh == 1 && c->kw == 1 && c->stride == 1 && c->pad == 0;
}

/* A chunk of one sample of a pointwise layer needs no patches: they are x itself. */
static bool direct(const conv2d *c)
{
    return pointwise(c) && c->chunk == 1;
}

/* floor((size + 2p - d (k - 1) - 1) / s) + 1, or 0 and below when the kernel does not fit. */
static int64_t out_size(int64_t size, int k, int s, int p, int d)
{
    if (size > INT64_MAX - 2 * (int64_t)p) /* a caller's absurd sample: conv_infer refuses it */
        return INT64_MAX;
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
    c->oh = out_size(c->h, c->kh, c->stride, c->pad, c->dil);
    c->ow = out_size(c->w, c->kw, c->stride, c->pad, c->dil);
    if (c->oh < 1 || c->ow < 1)
        return gd_fail(msg, GD_ERR_SHAPE,
                       "conv2d %s: kernel %dx%d (dilation %d) does not fit input %lldx%lld padded by %d",
                       l->name, c->kh, c->kw, c->dil, (long long)c->h, (long long)c->w, c->pad);
    /* the products take int sizes: a chunk's columns (fewer than CONV_MIN_COLS + a plane) must
     * fit one. */
    if (c->oh > INT32_MAX || c->ow > INT32_MAX || c->oh * c->ow > INT32_MAX - CONV_MIN_COLS)
        return gd_fail(msg, GD_ERR_SHAPE,
                       "conv2d %s: output plane of %lldx%lld exceeds 2^31-1 values", l->name,
                       (long long)c->oh, (long long)c->ow);
    *out = (gd_shape){.ndim = 3, .dims = {c->out, c->oh, c->ow}};
    return GD_OK;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static int64_t slot_cols(const conv2d *c)
{
    /* chunk * oh * ow < CONV_MIN_COLS + a plane < 2^32 and in kh kw < 2^31, so grouped
     * this way the product fits int64; the slots' multiple is checked by the arena. */
    return direct(c) ? 0 : c->in * c->kh * c->kw * (c->chunk * c->oh * c->ow);
}

static int64_t slot_rows(const conv2d *c)
{
    return c->chunk > 1 ? c->out * (c->chunk * c->oh * c->ow) : 0;
}

/* A slot for every thread that could run at once (every core, or more threads if asked
 * when the model is built), but no more than a full batch has chunks. The count is fixed
 * by the first plan, the build's: a re-plan (gd_model_set_input_grad) must fit the block
 * already allocated, so a thread count set later may use fewer slots, never more. */
static void conv_reserve(gd_layer *l, gd_arena *a, int64_t max_batch)
{
    conv2d *c = GD_IMPL(conv2d, l);
    int64_t ohw = c->oh * c->ow, threads = omp_get_num_procs();
    c->chunk = min64((CONV_MIN_COLS + ohw - 1) / ohw, max_batch);
    threads = threads > gd_threads() ? threads : gd_threads();
    if (c->slots == 0)
        c->slots = (int)min64(threads, (max_batch + c->chunk - 1) / c->chunk);
    c->cols = gd_arena_take(a, gd_arena_count(a, c->slots, slot_cols(c)));
    c->rows = gd_arena_take(a, gd_arena_count(a, c->slots, slot_rows(c)));
    c->dw_part = gd_arena_take(a, gd_arena_count(a, c->slots - 1, gd_tensor_numel(&c->weight->value)));
    /* The arena hands out 64-byte aligned floats: two per double. */
    c->db_part = (double *)(void *)gd_arena_take(a, gd_arena_count(a, 2 * c->slots, c->out));
}

/* Threads for n samples: one per slot at most, none without a chunk, and one for small
 * work (elements of the patches and outputs). */
static int conv_team(const conv2d *c, int64_t n)
{
    int64_t chunks = (n + c->chunk - 1) / c->chunk;
    int64_t work = n * c->oh * c->ow * (c->in * c->kh * c->kw + c->out);
    int64_t team = min64(min64(gd_threads(), c->slots), chunks);
    return work > GD_PARALLEL_MIN ? (int)team : 1;
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

/* With stride 1 and a row as wide as the input's (ow == w, as "same" padding makes it), a
 * patch row is the input plane shifted by oi w + oj: its valid part is one contiguous run,
 * in flat indices p = a w + b from the first valid value to the last, except for the few
 * columns per row that fall in the side padding (the run wraps them onto a neighbouring
 * row's values). One copy per patch row then replaces three library calls per image row. */
static bool flat(const conv2d *c)
{
    return c->stride == 1 && c->ow == c->w;
}

/* The valid run [*p0, *p1) of tap k's patch row in flat indices (empty when no row of the
 * input is reached: then *p0 = *p1 = 0). */
static void flat_run(const conv2d *c, tap k, int64_t *p0, int64_t *p1)
{
    int64_t a0, a1;
    valid_range(k.oi, 1, c->h, c->oh, &a0, &a1);
    bool any = a0 < a1 && k.lo < k.hi;
    *p0 = any ? a0 * c->w + k.lo : 0;
    *p1 = any ? (a1 - 1) * c->w + k.hi : 0;
}

/* Zeroes the side-padding columns of the run's rows: b < lo and b >= hi. The index is
 * computed (not two loops) so that the compiler leaves a few scalar stores rather than
 * two library calls per row. */
static void zero_sides(const conv2d *c, float *dst, tap k, int64_t p0, int64_t p1)
{
    int64_t side = k.lo + (c->w - k.hi);
    for (int64_t row = p0 / c->w * c->w; row < p1; row += c->w)
        for (int64_t e = 0; e < side; e++)
            dst[row + (e < k.lo ? e : k.hi + e - k.lo)] = 0.0f;
}

/* One patch row of one input plane: dst[a, b] = x[a s + oi, b s + oj], zero in the padding. */
static void im2col_plane(const conv2d *c, const float *x, float *dst, tap k)
{
    int s = c->stride;
    if (flat(c)) {
        int64_t p0, p1, off = k.oi * c->w + k.oj;
        flat_run(c, k, &p0, &p1);
        memset(dst, 0, (size_t)p0 * sizeof(float));
        memcpy(dst + p0, x + p0 + off, (size_t)(p1 - p0) * sizeof(float));
        memset(dst + p1, 0, (size_t)(c->oh * c->ow - p1) * sizeof(float));
        zero_sides(c, dst, k, p0, p1);
        return;
    }
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

/* The transpose of im2col_plane: x[a s + oi, b s + oj] += src[a, b]. The flat case zeroes
 * src's side columns (scratch) so that one run adds them harmlessly. */
static void col2im_plane(const conv2d *c, float *src, float *x, tap k)
{
    int s = c->stride;
    if (flat(c)) {
        int64_t p0, p1, off = k.oi * c->w + k.oj;
        flat_run(c, k, &p0, &p1);
        zero_sides(c, src, k, p0, p1);
        for (int64_t p = p0; p < p1; p++)
            x[p + off] += src[p];
        return;
    }
    for (int64_t a = 0; a < c->oh; a++, src += c->ow) {
        int64_t row = a * s + k.oi;
        if (row < 0 || row >= c->h)
            continue;
        float *dst = x + row * c->w + k.oj;
        if (s == 1) /* vectorises */
            for (int64_t b = k.lo; b < k.hi; b++)
                dst[b] += src[b];
        else
            for (int64_t b = k.lo; b < k.hi; b++)
                dst[b * s] += src[b];
    }
}

/* The patches of samples i0 .. i0+count-1: cols[(ch, t), (i, a, b)], or x itself. */
static const float *patches(const conv2d *c, int64_t i0, int64_t count, int slot)
{
    int64_t hw = c->h * c->w, ohw = c->oh * c->ow, taps = c->kh * c->kw, ld = count * ohw;
    const float *x = c->base.in + i0 * c->in * hw;
    if (direct(c))
        return x;
    float *cols = c->cols + slot * slot_cols(c);
    for (int64_t r = 0; r < c->in * taps; r++) {
        tap k = tap_at(c, r % taps);
        for (int64_t i = 0; i < count; i++)
            im2col_plane(c, x + (i * c->in + r / taps) * hw, cols + r * ld + i * ohw, k);
    }
    return cols;
}

/* dx of samples i0 .. i0+count-1 = col2im(dcols): each plane sums its kh kw patch rows in
 * a fixed order. */
static void col2im(const conv2d *c, float *dcols, int64_t i0, int64_t count)
{
    int64_t hw = c->h * c->w, ohw = c->oh * c->ow, taps = c->kh * c->kw, ld = count * ohw;
    for (int64_t i = 0; i < count; i++)
        for (int64_t ch = 0; ch < c->in; ch++) {
            float *x = c->base.in_grad + ((i0 + i) * c->in + ch) * hw;
            memset(x, 0, (size_t)hw * sizeof(float));
            for (int64_t k = 0; k < taps; k++)
                col2im_plane(c, dcols + (ch * taps + k) * ld + i * ohw, x, tap_at(c, k));
        }
}

/* The chunk's outputs in the products' layout: its own NCHW slab for one sample. */
static float *chunk_rows(const conv2d *c, float *nchw, int64_t i0, int64_t count, int slot)
{
    return count > 1 ? c->rows + slot * slot_rows(c) : nchw + i0 * c->out * c->oh * c->ow;
}

/* out[i, o] = rows[o, i] + bias[o] for the chunk's samples (in place for one sample). */
static void rows_to_output(const conv2d *c, const float *rows, int64_t i0, int64_t count)
{
    int64_t ohw = c->oh * c->ow, ld = count * ohw;
    const float *b = c->bias ? c->bias->value.data : NULL;
    for (int64_t i = 0; i < count; i++)
        for (int64_t o = 0; o < c->out; o++) {
            const float *src = rows + o * ld + i * ohw;
            float *dst = c->base.out + ((i0 + i) * c->out + o) * ohw, bo = b ? b[o] : 0.0f;
            for (int64_t p = 0; p < ohw; p++)
                dst[p] = src[p] + bo;
        }
}

/* rows[o, i] = dY[i, o] for the chunk's samples, when it has more than one. */
static void output_grad_to_rows(const conv2d *c, float *rows, int64_t i0, int64_t count)
{
    int64_t ohw = c->oh * c->ow, ld = count * ohw;
    for (int64_t i = 0; count > 1 && i < count; i++)
        for (int64_t o = 0; o < c->out; o++)
            memcpy(rows + o * ld + i * ohw, c->base.out_grad + ((i0 + i) * c->out + o) * ohw,
                   (size_t)ohw * sizeof(float));
}

/* The sum of n floats in double, as 8 interleaved partial sums added at the end: a fixed
 * order whose 8 chains run side by side and vectorise, where one running sum would wait on
 * every add. */
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

static void forward_chunk(conv2d *c, int64_t i0, int64_t count, int slot)
{
    int64_t og = c->out / c->groups, k = c->in / c->groups * c->kh * c->kw;
    int ld = (int)(count * c->oh * c->ow);
    const float *w = c->weight->value.data, *cols = patches(c, i0, count, slot);
    float *rows = chunk_rows(c, c->base.out, i0, count, slot);
    for (int g = 0; g < c->groups; g++)
        gd_sgemm(false, false, (int)og, ld, (int)k, 1.0f,
                    w + g * og * k, (int)k, cols + g * k * ld, ld, 0.0f, rows + g * og * ld, ld);
    rows_to_output(c, rows, i0, count);
}

/* The chunk's parameter gradients go to the slot's buffers (set by the thread's first
 * chunk, added to by the others), its input gradient to dx. */
static void backward_chunk(conv2d *c, int64_t i0, int64_t count, int slot, bool first)
{
    int64_t og = c->out / c->groups, k = c->in / c->groups * c->kh * c->kw;
    int ld = (int)(count * c->oh * c->ow);
    const float *w = c->weight->value.data;
    float *rows = chunk_rows(c, c->base.out_grad, i0, count, slot);
    float *dw = slot ? c->dw_part + (slot - 1) * gd_tensor_numel(&c->weight->value)
                     : c->weight->grad.data;
    double *db = c->db_part + slot * c->out;
    output_grad_to_rows(c, rows, i0, count);
    for (int64_t o = 0; c->bias && o < c->out; o++)
        db[o] = (first ? 0.0 : db[o]) + sum_floats(rows + o * ld, ld);
    const float *cols = patches(c, i0, count, slot);
    for (int g = 0; g < c->groups; g++)
        gd_sgemm(false, true, (int)og, (int)k, ld, 1.0f,
                    rows + g * og * ld, ld, cols + g * k * ld, ld, first ? 0.0f : 1.0f,
                    dw + g * og * k, (int)k);
    if (!c->base.in_grad)
        return;
    float *dcols = direct(c) ? c->base.in_grad + i0 * c->in * c->h * c->w
                             : c->cols + slot * slot_cols(c);
    for (int g = 0; g < c->groups; g++)
        gd_sgemm(true, false, (int)k, ld, (int)og, 1.0f,
                    w + g * og * k, (int)k, rows + g * og * ld, ld, 0.0f, dcols + g * k * ld, ld);
    if (!direct(c))
        col2im(c, dcols, i0, count);
}

static gd_status conv_forward(gd_layer *l, const gd_pass *run)
{
    conv2d *c = GD_IMPL(conv2d, l);
    int64_t n = run->n, chunks = (n + c->chunk - 1) / c->chunk;
    int team = conv_team(c, n);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(static)
    for (int64_t q = 0; q < chunks; q++)
        forward_chunk(c, q * c->chunk, min64(c->chunk, n - q * c->chunk), omp_get_thread_num());
    return GD_OK;
}

/* The weight gradient: the first slot's plus the others', in slot order; the bias gradient
 * likewise from the double sums. */
static void sum_slots(conv2d *c, int team)
{
    float *dw = c->weight->grad.data;
    int64_t nw = gd_tensor_numel(&c->weight->value), work = nw * team;
    PARALLEL_FOR
    for (int64_t e = 0; e < nw; e++)
        for (int t = 1; t < team; t++)
            dw[e] += c->dw_part[(t - 1) * nw + e];
    for (int64_t o = 0; c->bias && o < c->out; o++) {
        double sum = 0;
        for (int t = 0; t < team; t++)
            sum += c->db_part[t * c->out + o];
        c->bias->grad.data[o] = (float)sum;
    }
}

static void conv_backward(gd_layer *l, const gd_pass *run)
{
    conv2d *c = GD_IMPL(conv2d, l);
    int64_t n = run->n, chunks = (n + c->chunk - 1) / c->chunk;
    int team = conv_team(c, n);
#pragma omp parallel num_threads(team) if (team > 1)
    {
        bool first = true;
#pragma omp for schedule(static)
        for (int64_t q = 0; q < chunks; q++) {
            backward_chunk(c, q * c->chunk, min64(c->chunk, n - q * c->chunk),
                           omp_get_thread_num(), first);
            first = false;
        }
    }
    sum_slots(c, team);
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
    /* the products take int sizes: channels and a weight row (in/groups kh kw) must fit one. */
    if (in < 1 || out < 1 || in > INT32_MAX || out > INT32_MAX)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "conv2d: channels must be between 1 and 2^31-1, got in=%lld out=%lld",
                       (long long)in, (long long)out);
    if (kh < 1 || kw < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "conv2d: kernel %dx%d must be at least 1x1",
                       kh, kw);
    /* Compared by division: in x kh x kw of ints up to 2^31 overflows int64 itself. */
    if ((int64_t)kh * kw > INT32_MAX || in > INT32_MAX / ((int64_t)kh * kw))
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
