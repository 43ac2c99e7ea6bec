/* Applying a fitted transform to a batch (eval, predict, and whole data sets).
 *
 * Batches are transformed without allocating: the element-wise kinds write straight to
 * the output, and the matrix kinds centre GD_PRE_CHUNK rows at a time into the scratch
 * allocated with the transform, then multiply. Each output row depends only on its input
 * row and the statistics, never on the training data again. */
#include "transform.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* center: x - mean; center-channel: x - mean[c] over channel c's values; standardize:
 * (x - mean) / std, a division as numpy's (X - mean) / std, not a product with 1/std. */
static void shift_scale_row(const gd_preprocess *p, const float *x, float *y)
{
    int64_t d = p->d;
    const float *mean = p->mean, *std = p->std;
    if (p->kind == GD_PRE_CENTER_CHANNEL) {
        int64_t channels = p->in.dims[0], per = d / channels;
        for (int64_t c = 0; c < channels; c++)
            for (int64_t t = 0; t < per; t++)
                y[c * per + t] = x[c * per + t] - mean[c];
    } else if (std) {
        for (int64_t j = 0; j < d; j++)
            y[j] = (x[j] - mean[j]) / std[j];
    } else {
        for (int64_t j = 0; j < d; j++)
            y[j] = x[j] - mean[j];
    }
}

static void shift_scale(const gd_preprocess *p, const float *in, int64_t n, float *out)
{
    int64_t d = p->d;
#pragma omp parallel for num_threads(gd_threads()) if (n * d > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++)
        shift_scale_row(p, in + i * d, out + i * d);
}

/* pca and whiten: y = C (x - mean) for the K x d components C, then whiten's per-
 * component scale; zca: y = W (x - mean), W symmetric. As a batch, Y = Xc C^T. Writing a
 * chunk's output rows never touches input rows not yet read (k <= d and the chunk was
 * copied to scratch first), which is what lets out equal in. */
static void project(const gd_preprocess *p, const float *in, int64_t n, float *out)
{
    int64_t d = p->d, k = p->k;
    const float *m = p->zca ? p->zca : p->components;
    for (int64_t start = 0; start < n; start += GD_PRE_CHUNK) {
        int64_t rows = n - start < GD_PRE_CHUNK ? n - start : GD_PRE_CHUNK;
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < d; j++)
                p->scratch[i * d + j] = in[(start + i) * d + j] - p->mean[j];
        float *y = out + start * k;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)k, (int)d, 1.0f,
                    p->scratch, (int)d, m, (int)d, 0.0f, y, (int)k);
        if (p->scale)
            for (int64_t i = 0; i < rows; i++)
                for (int64_t c = 0; c < k; c++)
                    y[i * k + c] *= p->scale[c];
    }
}

gd_status gd_preprocess_apply(const gd_preprocess *p, const float *in, int64_t n, float *out)
{
    if (!p || n < 0 || (n > 0 && (!in || !out)))
        return GD_ERR_INVALID_ARGUMENT;
    if (n == 0)
        return GD_OK;
    switch (p->kind) {
    case GD_PRE_NONE:
        if (out != in)
            memmove(out, in, (size_t)(n * p->d) * sizeof *out);
        break;
    case GD_PRE_CENTER:
    case GD_PRE_CENTER_CHANNEL:
    case GD_PRE_STANDARDIZE:
        shift_scale(p, in, n, out);
        break;
    case GD_PRE_PCA:
    case GD_PRE_WHITEN:
    case GD_PRE_ZCA:
        project(p, in, n, out);
        break;
    }
    return GD_OK;
}
