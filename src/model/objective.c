/* What training minimises: the loss of the output, L2 weight decay, and gradient clipping. */
#include "../loss/loss.h"
#include "model.h"

#include <math.h>
#include <string.h>

gd_status gd_model_loss(gd_model *m, const gd_loss *loss, const int32_t *labels,
                        const float *targets, double *value)
{
    if (!m->has_run)
        return gd_fail(m->msg, GD_ERR_STATE, "loss needs a successful forward first");
    if (!loss || !value)
        return gd_fail(m->msg, GD_ERR_INVALID_ARGUMENT, "loss: no loss or value given");
    float *grad = m->output_grad.data;
    switch (loss->kind) {
    case GD_LOSS_CROSS_ENTROPY:
        return gd_cross_entropy(&m->output, labels, loss->label_smoothing, value, grad, m->msg);
    case GD_LOSS_MULTICLASS_HINGE:
        return gd_multiclass_hinge(&m->output, labels, loss->margin, value, grad, m->msg);
    case GD_LOSS_MSE:
        return gd_mse(&m->output, targets, value, grad, m->msg);
    }
    return gd_fail(m->msg, GD_ERR_INVALID_ARGUMENT, "loss: unknown kind %d", (int)loss->kind);
}

/* The weights that L2 decay shrinks: those of linear and convolutional layers (a residual's
 * projection is one), as the lecture's R(W) = sum of W^2 over the weight matrices. Biases
 * only shift a unit's output and batch norm's scale and shift set its output's size, so
 * shrinking them does not smooth the function the net computes; decaying the scale would
 * only fight the weights it normalises (the usual practice, e.g. torchvision's recipes). */
static bool decays(const gd_layer *l, int k)
{
    return strcmp(l->tensor_suffix[k], "weight") == 0 &&
           (strcmp(l->ops->kind, "linear") == 0 || strncmp(l->ops->kind, "conv", 4) == 0);
}

gd_status gd_model_l2_penalty(gd_model *m, double lambda, double *value)
{
    if (!m->built)
        return gd_fail(m->msg, GD_ERR_STATE, "l2 penalty before gd_model_build");
    if (!(lambda >= 0) || !value)
        return gd_fail(m->msg, GD_ERR_INVALID_ARGUMENT, "l2 penalty: lambda must be >= 0, got %g", lambda);
    double sum = 0;
    for (size_t i = 0; i < m->nlayers; i++) {
        gd_layer *l = m->layers[i];
        for (int k = 0; k < l->ntensors; k++) {
            if (!decays(l, k))
                continue;
            gd_named_tensor *t = &l->tensors[k];
            int64_t n = gd_tensor_numel(&t->value);
            for (int64_t j = 0; j < n; j++) {
                sum += (double)t->value.data[j] * t->value.data[j];
                t->grad.data[j] += (float)lambda * t->value.data[j];
            }
        }
    }
    *value += 0.5 * lambda * sum;
    return GD_OK;
}

gd_status gd_model_clip_grad_norm(gd_model *m, double max_norm, double *total_norm)
{
    if (!m->built)
        return gd_fail(m->msg, GD_ERR_STATE, "clip_grad_norm before gd_model_build");
    if (!(max_norm > 0))
        return gd_fail(m->msg, GD_ERR_INVALID_ARGUMENT, "clip_grad_norm: max_norm must be > 0, got %g",
                       max_norm);
    /* Serial in double: the norm must not depend on the thread count. */
    double sq = 0;
    for (size_t i = 0; i < m->param_count; i++)
        sq += (double)m->grads[i] * m->grads[i];
    double norm = sqrt(sq);
    if (total_norm)
        *total_norm = norm;
    if (!isfinite(norm))
        return gd_fail(m->msg, GD_ERR_NUMERIC, "clip_grad_norm: the gradient norm is %g", norm);
    double coef = max_norm / (norm + 1e-6); /* torch.nn.utils.clip_grad_norm_ */
    if (coef < 1.0)
        for (size_t i = 0; i < m->param_count; i++)
            m->grads[i] *= (float)coef;
    return GD_OK;
}
