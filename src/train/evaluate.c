/* Evaluation of a model on a data set: loss, accuracy and the confusion matrix. */
#include "train.h"

gd_tensor gd_model_input_view(const gd_model *m, gd_tensor batch)
{
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_model_input_shape(m, dims);
    gd_tensor v = {.data = batch.data, .ndim = ndim + 1};
    v.dims[0] = batch.dims[0];
    for (int i = 0; i < ndim; i++)
        v.dims[i + 1] = dims[i];
    return v;
}

int gd_argmax(const float *scores, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (scores[i] > scores[best])
            best = i;
    return best;
}

static int64_t input_size(const gd_model *m)
{
    int64_t dims[GD_MAX_DIMS], n = 1;
    int ndim = gd_model_input_shape(m, dims);
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    return n;
}

gd_status gd_model_check_input(const gd_model *m, const gd_dataset *ds, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (gd_dataset_sample_size(ds) != input_size(m))
        return gd_fail(msg, GD_ERR_SHAPE, "the data has %lld values per sample; the model takes %lld",
                       (long long)gd_dataset_sample_size(ds), (long long)input_size(m));
    return GD_OK;
}

/* One batch's guesses into the counts (and the confusion matrix). */
static void count_guesses(const gd_tensor *y, const int32_t *labels, int64_t rows,
                          int64_t *correct, int64_t *confusion)
{
    int classes = (int)y->dims[1];
    for (int64_t i = 0; i < rows; i++) {
        int guess = gd_argmax(y->data + i * classes, classes);
        *correct += guess == labels[i];
        if (confusion)
            confusion[(int64_t)labels[i] * classes + guess]++;
    }
}

/* The sums over the loader's batches (its shard of each, when sharded). */
static gd_status evaluate_batches(gd_model *m, gd_loader *loader, int64_t *confusion,
                                  gd_eval_sums *out, char *msg)
{
    gd_loss ce = {.kind = GD_LOSS_CROSS_ENTROPY};
    gd_tensor x;
    const int32_t *labels;
    gd_status st = GD_OK;
    *out = (gd_eval_sums){0};
    gd_loader_start_epoch(loader, 0);
    while (st == GD_OK && gd_loader_next(loader, &x, &labels)) {
        if (x.dims[0] == 0) /* a rank's empty shard of a short last batch */
            continue;
        gd_tensor in = gd_model_input_view(m, x);
        double batch_loss = 0;
        if ((st = gd_model_forward(m, &in)) != GD_OK ||
            (st = gd_model_loss(m, &ce, labels, NULL, &batch_loss)) != GD_OK) {
            gd_fail(msg, st, "%s", gd_model_error(m));
            break;
        }
        count_guesses(gd_model_output(m), labels, x.dims[0], &out->correct, confusion);
        out->loss += batch_loss * (double)x.dims[0];
        out->samples += x.dims[0];
    }
    return st;
}

gd_status gd_evaluate_shard(gd_model *m, gd_dataset *ds, int64_t *confusion, int rank, int ranks,
                            gd_eval_sums *out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!m || !ds || !out)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "evaluate: NULL argument");
    *out = (gd_eval_sums){0};
    gd_status st = gd_model_check_input(m, ds, err);
    gd_loader *loader = NULL;
    gd_error lerr;
    if (st == GD_OK && ((st = gd_loader_create(&loader, ds, gd_model_max_batch(m), false, false,
                                               0, &lerr)) != GD_OK ||
                        (st = gd_loader_set_shard(loader, rank, ranks, &lerr)) != GD_OK))
        gd_fail(msg, st, "%s", lerr.message);
    if (st != GD_OK) {
        gd_loader_free(loader);
        return st;
    }
    bool was_training = gd_model_is_training(m);
    gd_model_set_training(m, false);
    st = evaluate_batches(m, loader, confusion, out, msg);
    gd_model_set_training(m, was_training);
    gd_loader_free(loader);
    return st;
}

void gd_eval_sums_result(const gd_eval_sums *sums, gd_evaluation *out)
{
    double n = (double)sums->samples;
    *out = (gd_evaluation){.samples = sums->samples,
                           .accuracy = sums->samples ? (double)sums->correct / n : 0,
                           .loss = sums->samples ? sums->loss / n : 0};
}

gd_status gd_evaluate(gd_model *m, gd_dataset *ds, int64_t *confusion, gd_evaluation *out,
                      gd_error *err)
{
    gd_eval_sums sums;
    gd_status st = gd_evaluate_shard(m, ds, confusion, 0, 1, &sums, err);
    if (out)
        gd_eval_sums_result(&sums, out);
    return st;
}
