/* Loading a model file for the data it will see (eval, predict). */
#include "load_model.h"

#include "cli.h"

/* Batches of evaluation and prediction: large enough to keep the matrix products
 * efficient, small enough for any model's activations. */
#define EVAL_BATCH 256

int load_model_for(const char *cmd, const char *path, const gd_dataset *ds, gd_model **m,
                   gd_preprocess **pre)
{
    int64_t dims[GD_MAX_DIMS];
    int ndim = gd_dataset_sample_shape(ds, dims);
    gd_error err;
    gd_status st = gd_model_load_as(m, pre, path, ndim, dims, EVAL_BATCH, &err);
    return st == GD_OK ? EXIT_OK : fail_status(cmd, st, err.message);
}
