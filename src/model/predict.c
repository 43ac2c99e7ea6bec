/* Predictions for a data set: each sample's class and, when asked, the softmax of its
 * scores, what `gradus predict` writes. */
#include "model.h"

#include <math.h>

/* probs = softmax(scores) in double, shifted by the largest score so that exp cannot
 * overflow: exp(s_c - s_max) / sum_j exp(s_j - s_max). */
static void softmax(const float *scores, int classes, int best, double *probs)
{
    double sum = 0;
    for (int c = 0; c < classes; c++)
        sum += probs[c] = exp((double)scores[c] - scores[best]);
    for (int c = 0; c < classes; c++)
        probs[c] /= sum;
}

static gd_status check_args(gd_model *m, const gd_dataset *ds, int *classes, char *msg)
{
    if (!m->built)
        return gd_fail(msg, GD_ERR_STATE, "predict: the model is not built");
    int64_t dims[GD_MAX_DIMS];
    if (gd_model_output_shape(m, dims) != 1) {
        char shape[64];
        return gd_fail(msg, GD_ERR_SHAPE, "predict: the model outputs samples of %s; a "
                       "classifier outputs one score per class (end it with linear(CLASSES))",
                       gd_shape_str(&m->root->out_shape, shape, sizeof shape));
    }
    *classes = (int)dims[0];
    gd_error err;
    gd_status st = gd_model_check_input(m, ds, &err);
    return st == GD_OK ? GD_OK : gd_fail(msg, st, "predict: %s", err.message);
}

static gd_status predict_batches(gd_model *m, gd_loader *loader, int classes, int32_t *guess,
                                 double *probs, char *msg)
{
    gd_tensor x;
    const int32_t *labels;
    int64_t row = 0;
    gd_loader_start_epoch(loader, 0);
    while (gd_loader_next(loader, &x, &labels)) {
        gd_tensor in = gd_model_input_view(m, x);
        gd_status st = gd_model_forward(m, &in);
        if (st != GD_OK)
            return gd_fail(msg, st, "predict: %s", gd_model_error(m));
        const float *y = gd_model_output(m)->data;
        for (int64_t i = 0; i < x.dims[0]; i++, row++) {
            const float *scores = y + i * classes;
            int best = gd_argmax(scores, classes);
            if (guess)
                guess[row] = best;
            if (probs)
                softmax(scores, classes, best, probs + row * classes);
        }
    }
    return GD_OK;
}

gd_status gd_predict(gd_model *m, gd_dataset *ds, int32_t *classes, double *probs,
                     gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!m || !ds)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gd_predict: the %s is NULL",
                       m ? "data set" : "model");
    int nclasses = 0;
    gd_status st = check_args(m, ds, &nclasses, msg);
    gd_loader *loader = NULL;
    gd_error lerr;
    if (st == GD_OK && (st = gd_loader_create(&loader, ds, gd_model_max_batch(m), false, false,
                                              0, &lerr)) != GD_OK)
        gd_fail(msg, st, "predict: %s", lerr.message);
    if (st != GD_OK)
        return st;
    bool was_training = gd_model_is_training(m);
    gd_model_set_training(m, false);
    st = predict_batches(m, loader, nclasses, classes, probs, msg);
    gd_model_set_training(m, was_training);
    gd_loader_free(loader);
    return st;
}
