/* Mean squared error, as nn.MSELoss (mean over every element, not per sample):
 *   loss = sum_k (p_k - t_k)^2 / K,   dloss/dp_k = 2 (p_k - t_k) / K,   K = numel(pred).
 * The difference and its square are formed in double, so values near float32's range
 * still give a finite loss. Serial for the reason given in cross_entropy.c. */
#include "loss.h"

gd_status gd_mse(const gd_tensor *pred, const float *target, double *loss, float *dpred,
                 char *msg)
{
    if (!pred || !pred->data || !loss)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "pred or the loss pointer is NULL");
    if (!target)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "targets are NULL; MSE needs one per output");
    int64_t k = gd_tensor_numel(pred);
    if (pred->ndim < 1 || pred->dims[0] < 1 || k < 1)
        return gd_fail(msg, GD_ERR_SHAPE, "pred is empty (%d-D, %lld elements)", pred->ndim,
                       (long long)k);
    /* Rows are the first dimension, so a message names the sample. */
    int64_t rows = pred->dims[0], cols = k / rows;
    gd_status st = gd_loss_check_finite(pred->data, rows, cols, "pred", msg);
    if (st == GD_OK)
        st = gd_loss_check_finite(target, rows, cols, "target", msg);
    if (st != GD_OK)
        return st;
    double total = 0, scale = 2.0 / (double)k;
    for (int64_t i = 0; i < k; i++) {
        double d = (double)pred->data[i] - (double)target[i];
        total += d * d;
        if (dpred)
            dpred[i] = (float)(scale * d);
    }
    *loss = total / (double)k;
    return GD_OK;
}
