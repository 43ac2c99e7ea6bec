/* Batch normalisation (Ioffe and Szegedy, 2015), as torch.nn.BatchNorm1d/2d, over an input
 * viewed as (N, C, S): S = 1 for (N, C), L for (N, C, L), H*W for (N, C, H, W). Channel c's
 * statistics are taken over its M = N*S values.
 *
 * Forward: xhat = (x - mu) rstd with rstd = 1/sqrt(var + eps); y = gamma xhat + beta.
 *   Training: mu and var are the batch's mean and BIASED variance; the running statistics
 *   move toward mu and the UNBIASED variance var M/(M-1), running = (1 - momentum) running +
 *   momentum stat, exactly as PyTorch. Evaluation: mu, var = running_mean, running_var.
 * Backward, from xhat recomputed with the mu and rstd cached by forward (backward replays
 * the forward's run, so run->training says which statistics those were):
 *   dgamma = sum(dy xhat), dbeta = sum(dy);
 *   batch statistics (mu and var depend on x):
 *     dx = rstd/M (M dxhat - sum(dxhat) - xhat sum(dxhat xhat)), dxhat = dy gamma,
 *        = gamma rstd (dy - dbeta/M - xhat dgamma/M);
 *   running statistics (constants): dx = gamma rstd dy. */
#include "layer.h"
#include "../dist/dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Channels per task when a channel's values are short runs (S < BN_BLOCK): a (N, C) input is
 * then read one 64-byte row segment at a time instead of one float per cache line. */
#define BN_BLOCK 16
/* Partial sums per channel: chains that run side by side and vectorise, where one running
 * sum would wait on every add. */
#define BN_LANES 16

typedef struct batchnorm {
    gd_layer base;
    int spatial_dims;
    int64_t features;
    int64_t spatial; /* S, from the input shape */
    double eps, momentum;
    int64_t num_batches_tracked;
    gd_named_tensor *weight, *bias, *running_mean, *running_var;
    float *mean, *rstd; /* per channel, as the last forward normalised */
    double synced_count; /* values per channel of the last synchronised global batch */
} batchnorm;

/* Runs body for every value x[e] of channels c0 .. c0+nc-1 of a (n, C, S) tensor, k its
 * channel in the block, and names its partial sum: value j of a run goes to lane
 * (j mod BN_LANES) nc + k. A block of one channel (long runs) goes run by run in lane groups
 * that vectorise along the run; a block of short runs goes sample by sample, position by
 * position, its channels side by side (vectorising across them: a row segment of a (N, C)
 * input is one vector). Either way each lane takes its values in a fixed order, the same
 * at any thread count. The lane loops stay loops ("unroll 1"): unrolled first, 16 chains
 * come out half scalar; as loops the vectoriser keeps them in registers, in order. */
#define FOR_LANES(bn, n, c0, nc, k, e, lane, body)                                         \
    do {                                                                                   \
        int64_t s_ = (bn)->spatial, ch_ = (bn)->features;                                  \
        for (int64_t i_ = 0; (nc) == 1 && i_ < (n); i_++) {                                \
            const int k = 0;                                                               \
            int64_t run_ = (i_ * ch_ + (c0)) * s_, j_ = 0;                                 \
            for (; j_ + BN_LANES <= s_; j_ += BN_LANES)                                    \
                _Pragma("GCC unroll 1") for (int lane = 0; lane < BN_LANES; lane++) {      \
                    int64_t e = run_ + j_ + lane;                                          \
                    (void)k, (void)lane;                                                   \
                    body;                                                                  \
                }                                                                          \
            for (int lane = 0; j_ + lane < s_; lane++) {                                   \
                int64_t e = run_ + j_ + lane;                                              \
                (void)k, (void)lane;                                                       \
                body;                                                                      \
            }                                                                              \
        }                                                                                  \
        for (int64_t i_ = 0; (nc) > 1 && i_ < (n); i_++)                                   \
            for (int64_t j_ = 0; j_ < s_; j_++)                                            \
                _Pragma("GCC unroll 1") for (int k = 0; k < (nc); k++) {                   \
                    int64_t e = (i_ * ch_ + (c0) + k) * s_ + j_;                           \
                    int lane = (int)j_ * (nc) + k;                                         \
                    (void)lane;                                                            \
                    body;                                                                  \
                }                                                                          \
    } while (0)

/* Channel k's total over its lanes, in lane order. */
static double channel_total(const double *lanes, int nc, int k)
{
    double sum = 0;
    for (int l = 0; l < BN_LANES; l++)
        sum += lanes[l * nc + k];
    return sum;
}

static gd_status bn_infer(gd_layer *l, gd_shape *out, char *msg)
{
    batchnorm *bn = GD_IMPL(batchnorm, l);
    const gd_shape *s = &l->in_shape;
    char str[64];
    bool rank_ok = bn->spatial_dims == 0 ? s->ndim == 1 || s->ndim == 2
                                         : s->ndim == bn->spatial_dims + 1;
    if (!rank_ok)
        return gd_fail(msg, GD_ERR_SHAPE, "%s %s: expects samples of shape %s, got %s",
                       l->ops->kind, l->name,
                       bn->spatial_dims == 0 ? "(features) or (features, length)"
                                             : "(channels, height, width)",
                       gd_shape_str(s, str, sizeof str));
    if (s->dims[0] != bn->features)
        return gd_fail(msg, GD_ERR_SHAPE, "%s %s: input has %lld %s, layer expects %lld",
                       l->ops->kind, l->name, (long long)s->dims[0],
                       bn->spatial_dims ? "channels" : "features", (long long)bn->features);
    bn->spatial = gd_shape_numel(s) / bn->features;
    *out = *s;
    return GD_OK;
}

static void bn_reserve(gd_layer *l, gd_arena *a, int64_t max_batch)
{
    (void)max_batch;
    batchnorm *bn = GD_IMPL(batchnorm, l);
    bn->mean = gd_arena_take(a, (size_t)bn->features);
    bn->rstd = gd_arena_take(a, (size_t)bn->features);
}

/* Mean and biased variance of each channel of the block in one pass over the data, from
 * sums shifted by k, the mean of the channel's first run (sample 0): var = E[(x-k)^2] -
 * E[x-k]^2. The shift bounds the cancellation: (k - mean)^2 <= n var (k averages S of the
 * n S values), so E[(x-k)^2] <= (n + 1) var and the subtraction loses at most
 * log2(n + 1) of double's 53 bits (7 at batch 128), where unshifted sums lose them all when
 * |mean| >> std. Then the running update with the unbiased variance, as PyTorch. */
static void bn_shifted_sums(const batchnorm *bn, int64_t n, int64_t c0, int nc, double *shift,
                            double *s1, double *s2)
{
    const float *x = bn->base.in;
    memset(s1, 0, BN_LANES * BN_BLOCK * sizeof *s1);
    memset(s2, 0, BN_LANES * BN_BLOCK * sizeof *s2);
    FOR_LANES(bn, 1, c0, nc, k, e, lane, s1[lane] += x[e]);
    for (int k = 0; k < nc; k++)
        shift[k] = channel_total(s1, nc, k) / (double)bn->spatial;
    memset(s1, 0, BN_LANES * BN_BLOCK * sizeof *s1);
    FOR_LANES(bn, n, c0, nc, k, e, lane, {
        double d = (double)x[e] - shift[k];
        s1[lane] += d;
        s2[lane] += d * d;
    });
}

/* Channel c's statistics for the forward, and the running update from the m values
 * they come from. */
static void bn_set_stats(batchnorm *bn, int64_t c, double mean, double var, double m)
{
    float *run_mean = bn->running_mean->value.data, *run_var = bn->running_var->value.data;
    double mom = bn->momentum;
    bn->mean[c] = (float)mean;
    bn->rstd[c] = (float)(1.0 / sqrt(var + bn->eps));
    run_mean[c] = (float)((1.0 - mom) * run_mean[c] + mom * mean);
    run_var[c] = (float)((1.0 - mom) * run_var[c] + mom * var * m / (m - 1.0));
}

static void bn_batch_stats(batchnorm *bn, int64_t n, int64_t c0, int nc)
{
    double m = (double)(n * bn->spatial), shift[BN_BLOCK];
    double s1[BN_LANES * BN_BLOCK], s2[BN_LANES * BN_BLOCK];
    bn_shifted_sums(bn, n, c0, nc, shift, s1, s2);
    for (int k = 0; k < nc; k++) {
        double d = channel_total(s1, nc, k) / m, mean = shift[k] + d;
        double var = fmax(channel_total(s2, nc, k) / m - d * d, 0.0);
        bn_set_stats(bn, c0 + k, mean, var, m);
    }
}

static void bn_running_stats(batchnorm *bn, int64_t c0, int nc)
{
    const float *run_mean = bn->running_mean->value.data, *run_var = bn->running_var->value.data;
    for (int64_t c = c0; c < c0 + nc; c++) {
        bn->mean[c] = run_mean[c];
        bn->rstd[c] = (float)(1.0 / sqrt((double)run_var[c] + bn->eps));
    }
}

static void bn_normalise(batchnorm *bn, int64_t n, int64_t c0, int nc)
{
    const float *x = bn->base.in, *gamma = bn->weight->value.data, *beta = bn->bias->value.data;
    float *y = bn->base.out, mu[BN_BLOCK], scale[BN_BLOCK], shift[BN_BLOCK];
    for (int k = 0; k < nc; k++) {
        mu[k] = bn->mean[c0 + k];
        scale[k] = gamma[c0 + k] * bn->rstd[c0 + k];
        shift[k] = beta[c0 + k];
    }
    FOR_LANES(bn, n, c0, nc, k, e, lane, y[e] = (x[e] - mu[k]) * scale[k] + shift[k]);
}

/* The channels are split into blocks, one task each: BN_BLOCK channels of short runs, or
 * one channel when its runs fill cache lines. */
static int64_t bn_block_width(const batchnorm *bn)
{
    return bn->spatial >= BN_BLOCK ? 1 : BN_BLOCK;
}

static int64_t bn_blocks(const batchnorm *bn)
{
    return (bn->features + bn_block_width(bn) - 1) / bn_block_width(bn);
}

/* Block b's first channel (*c0) and its number of channels (returned). */
static int bn_block(const batchnorm *bn, int64_t b, int64_t *c0)
{
    int64_t width = bn_block_width(bn);
    *c0 = b * width;
    return (int)(bn->features - *c0 < width ? bn->features - *c0 : width);
}

/* ------------------------------------------------- synchronised statistics */

/* A rank's message: its value count m, then (mean, sum of squared deviations) per
 * channel; the gathered messages of every rank follow it in the scratch. Backward's
 * message, (sum dy, sum dy xhat) per channel, is shorter. */
size_t gd_stat_sync_scratch(int ranks, int64_t channels)
{
    return (size_t)(ranks + 1) * (size_t)(1 + 2 * channels);
}

static int64_t bn_message(const batchnorm *bn) { return 1 + 2 * bn->features; }

/* This rank's mean and squared deviations per channel, from the shifted sums (the shift
 * bounds the cancellation as in bn_batch_stats). */
static void bn_local_moments(const batchnorm *bn, int64_t n, double *out)
{
    double m = (double)(n * bn->spatial);
    out[0] = m;
#pragma omp parallel for num_threads(gd_threads()) if (n * gd_shape_numel(&bn->base.in_shape) > GD_PARALLEL_MIN) schedule(static)
    for (int64_t b = 0; b < bn_blocks(bn); b++) {
        int64_t c0;
        int nc = bn_block(bn, b, &c0);
        double shift[BN_BLOCK], s1[BN_LANES * BN_BLOCK], s2[BN_LANES * BN_BLOCK];
        bn_shifted_sums(bn, n, c0, nc, shift, s1, s2);
        for (int k = 0; k < nc; k++) {
            double t1 = channel_total(s1, nc, k), d = t1 / m;
            out[1 + 2 * (c0 + k)] = shift[k] + d;
            out[2 + 2 * (c0 + k)] = fmax(channel_total(s2, nc, k) - t1 * d, 0.0);
        }
    }
}

/* The global batch's mean and biased variance, the ranks' moments merged in rank order
 * (Chan, Golub and LeVeque's pairwise update, as SyncBatchNorm's gather of counts, means
 * and variances): every rank gets the same bits. */
static gd_status bn_synced_stats(batchnorm *bn, const gd_pass *run)
{
    int ranks = gd_comm_size(run->sync->comm);
    int64_t len = bn_message(bn);
    double *mine = run->sync->scratch, *all = mine + len;
    bn_local_moments(bn, run->n, mine);
    gd_status st = gd_comm_allgather(run->sync->comm, mine, (size_t)len * sizeof *mine, all,
                                     run->msg);
    if (st != GD_OK)
        return st;
    double total = 0;
    for (int r = 0; r < ranks; r++)
        total += all[r * len];
    bn->synced_count = total;
    for (int64_t c = 0; c < bn->features; c++) {
        double count = 0, mean = 0, m2 = 0;
        for (int r = 0; r < ranks; r++) {
            const double *msg = all + r * len;
            double nr = msg[0], delta = msg[1 + 2 * c] - mean, merged = count + nr;
            mean += delta * nr / merged;
            m2 += msg[2 + 2 * c] + delta * delta * count * nr / merged;
            count = merged;
        }
        bn_set_stats(bn, c, mean, m2 / total, total);
    }
    return GD_OK;
}

static gd_status bn_forward(gd_layer *l, const gd_pass *run)
{
    batchnorm *bn = GD_IMPL(batchnorm, l);
    int64_t n = run->n, blocks = bn_blocks(bn), work = n * gd_shape_numel(&l->in_shape);
    char str[64];
    if (run->training && n * bn->spatial < 2)
        return gd_fail(run->msg, GD_ERR_NUMERIC,
                       "%s %s: training needs more than one value per channel, got input of "
                       "shape %lldx%s",
                       l->ops->kind, l->name, (long long)n,
                       gd_shape_str(&l->in_shape, str, sizeof str));
    if (run->training && run->sync) {
        gd_status st = bn_synced_stats(bn, run);
        if (st != GD_OK)
            return st;
    }
#pragma omp parallel for num_threads(gd_threads()) if (work > GD_PARALLEL_MIN) schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t c0;
        int nc = bn_block(bn, b, &c0);
        if (run->training && !run->sync)
            bn_batch_stats(bn, n, c0, nc);
        else if (!run->training)
            bn_running_stats(bn, c0, nc);
        bn_normalise(bn, n, c0, nc);
    }
    if (run->training)
        bn->num_batches_tracked++;
    return GD_OK;
}

/* sum(dy) and sum(dy xhat) per channel of the block, xhat = (x - mu) rstd in float as
 * forward made it and the product exact in double; they are the scale's and the shift's
 * gradients. */
static void bn_grad_sums(batchnorm *bn, const gd_pass *run, int64_t c0, int nc, double *sdy,
                         double *sdyx)
{
    const float *x = bn->base.in, *dy = bn->base.out_grad;
    float mu[BN_BLOCK], rstd[BN_BLOCK];
    int64_t n = run->n;
    double a[BN_LANES * BN_BLOCK] = {0}, b[BN_LANES * BN_BLOCK] = {0};
    for (int k = 0; k < nc; k++) {
        mu[k] = bn->mean[c0 + k];
        rstd[k] = bn->rstd[c0 + k];
    }
    FOR_LANES(bn, n, c0, nc, k, e, lane, {
        a[lane] += dy[e];
        b[lane] += (double)dy[e] * ((x[e] - mu[k]) * rstd[k]);
    });
    for (int k = 0; k < nc; k++) {
        sdy[k] = channel_total(a, nc, k);
        sdyx[k] = channel_total(b, nc, k);
        bn->weight->grad.data[c0 + k] = (float)sdyx[k];
        bn->bias->grad.data[c0 + k] = (float)sdy[k];
    }
}

/* dx from the sums over the m values the statistics came from. */
static void bn_input_grad(batchnorm *bn, const gd_pass *run, int64_t c0, int nc,
                          const double *sdy, const double *sdyx, double m)
{
    const float *x = bn->base.in, *dy = bn->base.out_grad, *gamma = bn->weight->value.data;
    float *dx = bn->base.in_grad;
    int64_t n = run->n;
    /* With running statistics mu and rstd are constants: the two mean terms vanish. */
    float mu[BN_BLOCK], rstd[BN_BLOCK], scale[BN_BLOCK], dy_mean[BN_BLOCK], dyx_mean[BN_BLOCK];
    for (int k = 0; k < nc; k++) {
        mu[k] = bn->mean[c0 + k];
        rstd[k] = bn->rstd[c0 + k];
        scale[k] = gamma[c0 + k] * rstd[k];
        dy_mean[k] = run->training ? (float)(sdy[k] / m) : 0.0f;
        dyx_mean[k] = run->training ? (float)(sdyx[k] / m) : 0.0f;
    }
    FOR_LANES(bn, n, c0, nc, k, e, lane, {
        float xhat = (x[e] - mu[k]) * rstd[k];
        dx[e] = scale[k] * (dy[e] - dy_mean[k] - xhat * dyx_mean[k]);
    });
}

/* Synchronised: each rank's sums, gathered and added in rank order, stand for the global
 * batch's in dx; the scale's and shift's gradients stay this rank's, for the trainer's
 * sum of gradients over the ranks. A failed exchange cannot be returned from a backward:
 * MPI's default handler ends the job. */
static void bn_backward_synced(batchnorm *bn, const gd_pass *run)
{
    int ranks = gd_comm_size(run->sync->comm);
    int64_t features = bn->features, blocks = bn_blocks(bn);
    int64_t work = run->n * gd_shape_numel(&bn->base.in_shape);
    double *mine = run->sync->scratch, *all = mine + 2 * features;
#pragma omp parallel for num_threads(gd_threads()) if (work > GD_PARALLEL_MIN) schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t c0;
        int nc = bn_block(bn, b, &c0);
        bn_grad_sums(bn, run, c0, nc, mine + c0, mine + features + c0);
    }
    if (!bn->base.in_grad)
        return;
    if (gd_comm_allgather(run->sync->comm, mine, 2 * (size_t)features * sizeof *mine, all,
                          run->msg) != GD_OK)
        return;
    for (int64_t c = 0; c < 2 * features; c++) {
        double sum = 0;
        for (int r = 0; r < ranks; r++)
            sum += all[(int64_t)r * 2 * features + c];
        mine[c] = sum;
    }
#pragma omp parallel for num_threads(gd_threads()) if (work > GD_PARALLEL_MIN) schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t c0;
        int nc = bn_block(bn, b, &c0);
        bn_input_grad(bn, run, c0, nc, mine + c0, mine + features + c0, bn->synced_count);
    }
}

static void bn_backward(gd_layer *l, const gd_pass *run)
{
    batchnorm *bn = GD_IMPL(batchnorm, l);
    if (run->training && run->sync) {
        bn_backward_synced(bn, run);
        return;
    }
    int64_t blocks = bn_blocks(bn), work = run->n * gd_shape_numel(&l->in_shape);
#pragma omp parallel for num_threads(gd_threads()) if (work > GD_PARALLEL_MIN) schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t c0;
        int nc = bn_block(bn, b, &c0);
        double sdy[BN_BLOCK], sdyx[BN_BLOCK];
        bn_grad_sums(bn, run, c0, nc, sdy, sdyx);
        if (bn->base.in_grad)
            bn_input_grad(bn, run, c0, nc, sdy, sdyx, (double)(run->n * bn->spatial));
    }
}

/* nn.BatchNorm's reset_parameters and reset_running_stats. */
static void bn_reset(gd_layer *l, gd_rng *rng)
{
    (void)rng;
    batchnorm *bn = GD_IMPL(batchnorm, l);
    gd_init_ones_(&bn->weight->value);
    gd_init_zeros_(&bn->bias->value);
    gd_init_zeros_(&bn->running_mean->value);
    gd_init_ones_(&bn->running_var->value);
    bn->num_batches_tracked = 0;
}

#define BATCHNORM_OPS(name)                                                                \
    {.kind = name, .infer = bn_infer, .reserve = bn_reserve, .forward = bn_forward,        \
     .backward = bn_backward, .reset_parameters = bn_reset}
static const gd_layer_ops batchnorm1d_ops = BATCHNORM_OPS("batchnorm1d");
static const gd_layer_ops batchnorm2d_ops = BATCHNORM_OPS("batchnorm2d");

gd_status gd_batchnorm_create(gd_layer **out, int spatial_dims, int64_t features, double eps,
                              double momentum, char *msg)
{
    if (spatial_dims != 0 && spatial_dims != 2)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "batchnorm: spatial_dims must be 0 (BatchNorm1d) or 2 (BatchNorm2d), got %d",
                       spatial_dims);
    const char *kind = spatial_dims ? batchnorm2d_ops.kind : batchnorm1d_ops.kind;
    if (features < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s: features must be at least 1, got %lld",
                       kind, (long long)features);
    if (!(eps > 0) || !isfinite(eps))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s: eps must be positive and finite, got %g",
                       kind, eps);
    if (!(momentum >= 0 && momentum <= 1))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s: momentum must be in [0, 1], got %g", kind,
                       momentum);
    batchnorm *bn = calloc(1, sizeof *bn);
    if (!bn)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%s: out of memory", kind);
    bn->base.ops = spatial_dims ? &batchnorm2d_ops : &batchnorm1d_ops;
    bn->spatial_dims = spatial_dims;
    bn->features = features;
    bn->eps = eps;
    bn->momentum = momentum;
    /* PyTorch's state_dict order. */
    gd_layer *l = &bn->base;
    const int64_t *c = &bn->features;
    bn->weight = gd_layer_declare(l, "weight", GD_ROLE_PARAMETER, GD_DTYPE_F32, 1, c);
    bn->bias = gd_layer_declare(l, "bias", GD_ROLE_PARAMETER, GD_DTYPE_F32, 1, c);
    bn->running_mean = gd_layer_declare(l, "running_mean", GD_ROLE_BUFFER, GD_DTYPE_F32, 1, c);
    bn->running_var = gd_layer_declare(l, "running_var", GD_ROLE_BUFFER, GD_DTYPE_F32, 1, c);
    /* A 0-d int64 tensor; its value lives in the layer. */
    gd_layer_declare(l, "num_batches_tracked", GD_ROLE_BUFFER, GD_DTYPE_I64, 0, NULL)->i64 =
        &bn->num_batches_tracked;
    *out = l;
    return GD_OK;
}
