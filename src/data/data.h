/* What the data set readers share: the data set itself and the shuffle. */
#ifndef GD_DATA_H
#define GD_DATA_H

#include "../core/internal.h"

/* Labels are stored as class indices of at most one byte's range (MNIST's and CIFAR's
 * labels are bytes); a reader's num_classes is its largest label + 1. */
#define GD_DATA_MAX_CLASSES 256

struct gd_dataset {
    int64_t n;
    gd_shape shape;      /* per sample; the batch dimension takes the fourth slot */
    int64_t sample_size; /* floats per sample */
    int num_classes;
    float *features;     /* n x sample_size */
    int32_t *labels;     /* n */
};

/* An empty data set of n samples of shape s (features uninitialised, labels 0,
 * num_classes 1) for a reader to fill; checks the shape and that the sizes fit. */
gd_status gd_dataset_alloc(gd_dataset **out, int64_t n, const gd_shape *s, char *msg);

/* Gives ds the features (n samples of shape ndim x dims, allocated with malloc or
 * gd_alloc_aligned) in place of its own, which it frees: for a transform that changes the
 * sample shape (PCA). On failure ds is unchanged and the caller still owns features. */
gd_status gd_dataset_replace_features(gd_dataset *ds, int ndim, const int64_t *dims,
                                      float *features, char *msg);

/* *product = a * b when a, b >= 0 and the product is at most limit; false otherwise (a
 * header's dimensions can overflow any integer type). */
bool gd_mul_within(int64_t a, int64_t b, int64_t limit, int64_t *product);

/* Where a public call writes its detail message: err, or scratch when err is NULL. */
#define GD_ERR_BUF(err, scratch) ((err) ? (err)->message : (scratch))

/* Fisher-Yates shuffle of idx[0..n), run forward and stopped after k swaps: then
 * idx[0..k) is a uniformly drawn ordered k-subset and equals the first k positions of the
 * full shuffle (k = n) from the same generator state. */
void gd_shuffle_prefix(int64_t *idx, int64_t n, int64_t k, gd_rng *rng);

#endif
