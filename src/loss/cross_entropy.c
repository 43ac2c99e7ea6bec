/* Softmax cross-entropy with label smoothing, as F.cross_entropy (mean reduction).
 *
 * Per row, in double: lse = m + log(sum_c exp(x_c - m)) with m = max_c x_c, so no exp
 * overflows and logits of +-1000 still give a finite loss; then -log p_c = lse - x_c and
 *   loss_i = (1 - eps) (lse - x_y) + eps mean_c (lse - x_c)
 *          = (1 - eps) (lse - x_y) + eps (lse - mean_c x_c)
 *   dloss/dx_c = (p_c - (1 - eps) [c == y] - eps / C) / N,   p_c = exp(x_c - lse),
 * the /N because the result is the gradient of the batch mean.
 *
 * The row loop is serial on purpose: a deterministic parallel sum of the row losses needs a
 * per-row array, i.e. memory a loss may not allocate, and this O(N C) pass is cheap next to
 * the matrix product that made the logits. */
#include "loss.h"

static double row_logsumexp(const float *x, int64_t c)
{
    double m = x[0];
    for (int64_t j = 1; j < c; j++)
        m = fmax(m, x[j]);
    double s = 0;
    for (int64_t j = 0; j < c; j++)
        s += exp(x[j] - m);
    return m + log(s);
}

static double row_mean(const float *x, int64_t c)
{
    double s = 0;
    for (int64_t j = 0; j < c; j++)
        s += x[j];
    return s / (double)c;
}

static void row_gradient(const float *x, int64_t c, int32_t y, double lse, double eps,
                         double inv_n, float *g)
{
    double off = eps / (double)c;
    for (int64_t j = 0; j < c; j++)
        g[j] = (float)((exp(x[j] - lse) - off - (j == y ? 1 - eps : 0)) * inv_n);
}

gd_status gd_cross_entropy(const gd_tensor *logits, const int32_t *labels,
                           double label_smoothing, double *loss, float *dlogits, char *msg)
{
    double eps = label_smoothing;
    if (!(eps >= 0 && eps <= 1)) /* also rejects NaN */
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "label smoothing %g is outside [0, 1]", eps);
    gd_status st = gd_loss_check_classes(logits, "logits", labels, loss, msg);
    if (st != GD_OK)
        return st;
    int64_t n = logits->dims[0], c = logits->dims[1];
    double inv_n = 1.0 / (double)n, total = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *x = logits->data + i * c;
        double lse = row_logsumexp(x, c);
        total += (1 - eps) * (lse - x[labels[i]]);
        if (eps > 0)
            total += eps * (lse - row_mean(x, c));
        if (dlogits)
            row_gradient(x, c, labels[i], lse, eps, inv_n, dlogits + i * c);
    }
    *loss = total / (double)n;
    return GD_OK;
}
