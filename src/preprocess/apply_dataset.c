/* Replacing a data set's features by their transform. */
#include "../data/data.h"
#include "transform.h"

#include <stdlib.h>

/* A public per-sample shape as a gd_shape (at most GD_MAX_DIMS - 1 dimensions). */
static gd_shape shape_of(int ndim, const int64_t *dims)
{
    gd_shape s = {.ndim = ndim < GD_MAX_DIMS ? ndim : GD_MAX_DIMS - 1};
    for (int i = 0; i < s.ndim; i++)
        s.dims[i] = dims[i];
    return s;
}

/* A sample of the data set's shape is the fitted shape's values in the same order when
 * the sizes agree: a CSV row of 784 features is a 1 x 28 x 28 IDX image flattened row by
 * row (and center-channel's channels are its consecutive thirds of a 3 x 32 x 32 row), so
 * a transform fitted on one layout applies to the other. Only the size must match. A
 * transform that keeps the size works in place and leaves the set's own shape; one that
 * changes it (pca, whiten) writes a new feature array of K values that the set takes
 * over. */
gd_status gd_preprocess_apply_dataset(const gd_preprocess *p, gd_dataset *ds, gd_error *err)
{
    char local[GD_MSG_MAX];
    char *msg = err ? err->message : local;
    if (!p || !ds)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gd_preprocess_apply_dataset: %s is NULL",
                       p ? "the data set" : "the preprocessing");
    int64_t dims[GD_MAX_DIMS];
    gd_shape got = shape_of(gd_dataset_sample_shape(ds, dims), dims);
    if (gd_shape_numel(&got) != p->d) {
        char got_str[64], want_str[64];
        return gd_fail(msg, GD_ERR_SHAPE, "data set samples are %s (%lld values); "
                                          "preprocessing \"%s\" was fitted on samples of %s "
                                          "(%lld values)",
                       gd_shape_str(&got, got_str, sizeof got_str), (long long)gd_shape_numel(&got),
                       p->spec, gd_shape_str(&p->in, want_str, sizeof want_str), (long long)p->d);
    }
    int64_t n = gd_dataset_size(ds);
    float *x;
    gd_status st = gd_dataset_as_floats(ds, &x, msg);
    if (st)
        return st;
    if (p->kind != GD_PRE_PCA && p->kind != GD_PRE_WHITEN)
        return gd_preprocess_apply(p, x, n, x);

    gd_shape out = shape_of(gd_preprocess_output_shape(p, dims), dims);
    /* One float more than needed, so that an empty set still gets an array. */
    float *y = gd_alloc_aligned((size_t)(n * p->k + 1) * sizeof *y);
    if (!y)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "preprocessing \"%s\": no memory for %lld x "
                                              "%lld transformed features",
                       p->spec, (long long)n, (long long)p->k);
    gd_status status = gd_preprocess_apply(p, x, n, y);
    if (status == GD_OK)
        status = gd_dataset_replace_features(ds, out.ndim, out.dims, y, msg);
    if (status != GD_OK)
        free(y);
    return status;
}
