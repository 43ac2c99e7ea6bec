/* What the data set readers share: the data set itself, the shuffle and the loader's
 * augmentation. */
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
    float *features;     /* n x sample_size, or NULL while the set is held as pixels */
    uint8_t *pixels;     /* n x sample_size bytes standing for pixel / 255 (uint8 IDX
                            images as read: a quarter of the memory); NULL otherwise */
    int32_t *labels;     /* n */
};

/* An empty data set of n samples of shape s (features uninitialised, labels 0,
 * num_classes 1) for a reader to fill; checks the shape and that the sizes fit. With
 * as_pixels the values are held as bytes in ds->pixels instead of floats. */
gd_status gd_dataset_alloc(gd_dataset **out, int64_t n, const gd_shape *s, bool as_pixels,
                           char *msg);

/* Whether n samples of shape s (bytes with as_pixels, else floats) and their labels fit
 * the memory limit; the message names what ("FILE: 5000000 images of 28 x 28"). */
gd_status gd_dataset_check_memory(int64_t n, const gd_shape *s, bool as_pixels, const char *what,
                                  char *msg);

/* A data set of n samples of shape s that takes values (malloc'd: n x size bytes with
 * as_pixels, else floats), which it frees from then on; labels 0, num_classes 1. On
 * failure the caller still owns values. For readers that fill their buffer as the file
 * proves it holds the data, rather than trusting its header. */
gd_status gd_dataset_adopt(gd_dataset **out, int64_t n, const gd_shape *s, bool as_pixels,
                           void *values, char *msg);

/* ds's values as floats in *x, turning pixels into floats for good (gd_dataset_features
 * with a status): GD_ERR_LIMIT or GD_ERR_NO_MEMORY when the floats do not fit. */
gd_status gd_dataset_as_floats(gd_dataset *ds, float **x, char *msg);

/* Samples rows[0..m) of ds as floats into x (m x sample_size): the loader's gather. */
void gd_dataset_gather(const gd_dataset *ds, const int64_t *rows, int64_t m, float *x);

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
/* Uniform in [0, bound), bound >= 1, without modulo bias. */
uint64_t gd_uniform_below(gd_rng *rng, uint64_t bound);

/* Image augmentation (augment.c) for the loader: a validated gd_augment with its own
 * generator and room for the draws of one batch. */
typedef struct gd_augmenter gd_augmenter;

/* *out = NULL (no augmentation) when aug is NULL or every transform is off; else checks
 * aug and that samples of shape s are C x H x W, for batches of up to max_rows samples. */
gd_status gd_augmenter_create(gd_augmenter **out, const gd_augment *aug, const gd_shape *s,
                              int64_t max_rows, char *msg);
void gd_augmenter_free(gd_augmenter *a);
/* Reseeds the draws from (seed, epoch), so that an epoch's batches depend on them alone. */
void gd_augmenter_start_epoch(gd_augmenter *a, uint64_t seed, int64_t epoch);
/* Draws for a batch of rows samples and augments samples first .. first + count - 1 of
 * it, held at x, in place (a data-parallel rank's shard: the draws are the whole batch's,
 * so the shards' union is the one-process batch); allocates nothing. */
void gd_augmenter_apply(gd_augmenter *a, float *x, int64_t rows, int64_t first, int64_t count);

#endif
