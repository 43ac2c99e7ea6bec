/* Means and standard deviations: center, center-channel and standardize.
 *
 * Sums run in double over float32 features, so a mean over 60000 samples is exact to
 * within an ulp of float32 before it is stored. Threads split the features (or channels)
 * and each sums its own in sample order, so the statistics do not depend on the thread
 * count. */
#include "transform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FEATURE_BLOCK 64

/* Per-feature sums over n rows of d features: of x when centre is NULL, else of
 * (x - centre)^2, the two-pass variance (E[x^2] - E[x]^2 would cancel for features whose
 * mean dwarfs their spread). */
static void column_sums(const float *x, int64_t n, int64_t d, const double *centre,
                        double *sum)
{
    int64_t blocks = (d + FEATURE_BLOCK - 1) / FEATURE_BLOCK;
#pragma omp parallel for num_threads(gd_threads()) if (n * d > GD_PARALLEL_MIN) schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t j0 = b * FEATURE_BLOCK;
        int64_t len = d - j0 < FEATURE_BLOCK ? d - j0 : FEATURE_BLOCK;
        double acc[FEATURE_BLOCK] = {0};
        for (int64_t i = 0; i < n; i++) {
            const float *row = x + i * d + j0;
            if (centre)
                for (int64_t j = 0; j < len; j++) {
                    double t = row[j] - centre[j0 + j];
                    acc[j] += t * t;
                }
            else
                for (int64_t j = 0; j < len; j++)
                    acc[j] += row[j];
        }
        memcpy(sum + j0, acc, (size_t)len * sizeof *acc);
    }
}

gd_status gd_pre_feature_means(const float *x, int64_t n, int64_t d, double *mean, char *msg)
{
    column_sums(x, n, d, NULL, mean);
    for (int64_t j = 0; j < d; j++) {
        mean[j] /= (double)n;
        if (!isfinite(mean[j]))
            return gd_fail(msg, GD_ERR_NUMERIC, "preprocessing: feature %lld of the training "
                                                "data is not finite (NaN or infinite values)",
                           (long long)j);
    }
    return GD_OK;
}

/* One mean per channel of n samples of channels x per values, over all n * per of them. */
static gd_status channel_means(const float *x, int64_t n, int64_t channels, int64_t per,
                               float *mean, char *msg)
{
#pragma omp parallel for num_threads(gd_threads()) if (n * channels * per > GD_PARALLEL_MIN) \
    schedule(static)
    for (int64_t c = 0; c < channels; c++) {
        double acc = 0;
        for (int64_t i = 0; i < n; i++) {
            const float *v = x + (i * channels + c) * per;
            for (int64_t t = 0; t < per; t++)
                acc += v[t];
        }
        mean[c] = (float)(acc / ((double)n * (double)per));
    }
    for (int64_t c = 0; c < channels; c++)
        if (!isfinite(mean[c]))
            return gd_fail(msg, GD_ERR_NUMERIC, "preprocessing: channel %lld of the training "
                                                "data is not finite (NaN or infinite values)",
                           (long long)c);
    return GD_OK;
}

/* Population standard deviation (ddof 0, numpy's default, as the lecture's X /= np.std(X,
 * axis=0)), floored at eps so that a feature constant in the training set (an MNIST
 * border pixel) divides by eps rather than by zero. */
static gd_status feature_stds(gd_preprocess *p, const float *x, int64_t n, const double *mean,
                              double *var, double eps, char *msg)
{
    column_sums(x, n, p->d, mean, var);
    for (int64_t j = 0; j < p->d; j++) {
        double sd = fmax(sqrt(var[j] / (double)n), eps);
        if (!(sd > 0) || !isfinite(sd))
            return gd_fail(msg, GD_ERR_NUMERIC, "preprocessing \"standardize\": feature %lld "
                                                "has standard deviation %g; give eps > 0",
                           (long long)j, sd);
        p->std[j] = (float)sd;
    }
    return GD_OK;
}

gd_status gd_pre_fit_moments(gd_preprocess *p, const float *x, int64_t n, double eps,
                             char *msg)
{
    if (p->kind == GD_PRE_CENTER_CHANNEL)
        return channel_means(x, n, p->in.dims[0], p->d / p->in.dims[0], p->mean, msg);
    double *work = malloc(2 * (size_t)p->d * sizeof *work);
    if (!work)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "preprocessing \"%s\": out of memory", p->spec);
    double *mean = work, *var = work + p->d;
    gd_status status = gd_pre_feature_means(x, n, p->d, mean, msg);
    for (int64_t j = 0; status == GD_OK && j < p->d; j++)
        p->mean[j] = (float)mean[j];
    if (status == GD_OK && p->kind == GD_PRE_STANDARDIZE)
        status = feature_stds(p, x, n, mean, var, eps, msg);
    free(work);
    return status;
}
