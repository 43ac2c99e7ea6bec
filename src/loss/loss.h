/* The losses, as pure functions on tensors; gd_model_loss picks one and hands it the
 * model's output and output-gradient buffer.
 *
 * Each returns the MEAN loss in *loss (over the batch; MSE over every element, as
 * PyTorch's MSELoss) and, when the gradient pointer is not NULL, dLoss/dinput of that mean,
 * shaped as the input. Sums run serially in double, so a result is bit-identical whatever
 * the thread count. Nothing is allocated. On failure the status names the class of error,
 * msg (GD_MSG_MAX bytes) names the row and value, and neither *loss nor the gradient is
 * written: every check runs before the first write. */
#ifndef GD_LOSS_H
#define GD_LOSS_H

#include "../core/internal.h"

#include <math.h>

/* Softmax cross-entropy of N x C logits against labels in [0, C), with label smoothing eps
 * in [0, 1] as torch.nn.functional.cross_entropy(label_smoothing=eps). */
gd_status gd_cross_entropy(const gd_tensor *logits, const int32_t *labels,
                           double label_smoothing, double *loss, float *dlogits, char *msg);

/* The multiclass SVM loss of N x C scores: sum over j != y of max(0, s_j - s_y + margin). */
gd_status gd_multiclass_hinge(const gd_tensor *scores, const int32_t *labels, double margin,
                              double *loss, float *dscores, char *msg);

/* Mean over every element of (pred - target)^2; target has pred's shape. */
gd_status gd_mse(const gd_tensor *pred, const float *target, double *loss, float *dpred,
                 char *msg);

/* Shared by the three: GD_ERR_NUMERIC naming the first NaN or infinity of a rows x cols
 * array, because one would turn the mean loss, and every gradient after it, into NaN. */
static inline gd_status gd_loss_check_finite(const float *x, int64_t rows, int64_t cols,
                                             const char *what, char *msg)
{
    for (int64_t i = 0; i < rows * cols; i++)
        if (!isfinite(x[i]))
            return gd_fail(msg, GD_ERR_NUMERIC, "%s is %g at row %lld, column %lld", what,
                           (double)x[i], (long long)(i / cols), (long long)(i % cols));
    return GD_OK;
}

/* Shared by the classification losses: a non-empty N x C input, N labels in [0, C) and
 * finite values. */
static inline gd_status gd_loss_check_classes(const gd_tensor *x, const char *what,
                                              const int32_t *labels, const double *loss,
                                              char *msg)
{
    if (!x || !x->data || !loss)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s or the loss pointer is NULL", what);
    if (x->ndim != 2)
        return gd_fail(msg, GD_ERR_SHAPE, "%s must be 2-D (N x C), not %d-D", what, x->ndim);
    if (x->dims[0] < 1 || x->dims[1] < 1)
        return gd_fail(msg, GD_ERR_SHAPE, "%s is %lld x %lld; a loss needs N >= 1, C >= 1",
                       what, (long long)x->dims[0], (long long)x->dims[1]);
    if (!labels)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "labels are NULL; %s needs one per row",
                       what);
    int64_t n = x->dims[0], c = x->dims[1];
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= c)
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "label %d at row %lld is outside 0..%lld",
                           (int)labels[i], (long long)i, (long long)(c - 1));
    return gd_loss_check_finite(x->data, n, c, what, msg);
}

#endif
