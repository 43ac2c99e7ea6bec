/* The multiclass SVM loss of CS231n (Weston and Watkins's form):
 *   L_i = sum_{j != y} max(0, s_j - s_y + margin),   loss = mean_i L_i.
 * PyTorch's MultiMarginLoss (p = 1) also divides L_i by C; gradus keeps the lecture's
 * loss, so tests/reference/gen_loss.py multiplies PyTorch's value by C.
 *
 * Subgradient of the mean: each active term (s_j - s_y + margin > 0) adds 1/N to ds_j and
 * -1/N to ds_y. A term exactly at its hinge counts as inactive (subgradient 0), as
 * PyTorch's kernel tests z > 0. z is formed in double, as the float64 golden reference
 * forms it. Serial for the reason given in cross_entropy.c. */
#include "loss.h"

static double row_hinge(const float *s, int64_t c, int32_t y, double margin, double inv_n,
                        float *g)
{
    double sum = 0;
    int64_t active = 0;
    for (int64_t j = 0; j < c; j++) {
        double z = margin - (double)s[y] + (double)s[j]; /* PyTorch's order */
        bool on = j != y && z > 0;
        if (on) {
            sum += z;
            active++;
        }
        if (g)
            g[j] = on ? (float)inv_n : 0.0f;
    }
    if (g)
        g[y] = (float)(-(double)active * inv_n);
    return sum;
}

gd_status gd_multiclass_hinge(const gd_tensor *scores, const int32_t *labels, double margin,
                              double *loss, float *dscores, char *msg)
{
    if (!isfinite(margin))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "hinge margin %g is not finite", margin);
    gd_status st = gd_loss_check_classes(scores, "scores", labels, loss, msg);
    if (st != GD_OK)
        return st;
    int64_t n = scores->dims[0], c = scores->dims[1];
    double inv_n = 1.0 / (double)n, total = 0;
    for (int64_t i = 0; i < n; i++)
        total += row_hinge(scores->data + i * c, c, labels[i], margin, inv_n,
                           dscores ? dscores + i * c : NULL);
    *loss = total / (double)n;
    return GD_OK;
}
