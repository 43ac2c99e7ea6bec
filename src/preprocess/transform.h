/* The fitted transform's private state, shared by the files of src/preprocess/. */
#ifndef GD_PREPROCESS_TRANSFORM_H
#define GD_PREPROCESS_TRANSFORM_H

#include "preprocess.h"

typedef enum gd_pre_kind {
    GD_PRE_NONE,
    GD_PRE_CENTER,
    GD_PRE_CENTER_CHANNEL,
    GD_PRE_STANDARDIZE,
    GD_PRE_PCA,
    GD_PRE_WHITEN,
    GD_PRE_ZCA
} gd_pre_kind;

#define GD_PRE_MAX_TENSORS 3
#define GD_PRE_SPEC_MAX 32
/* Rows that apply centres at a time before a matrix product (pca, whiten, zca): the
 * scratch for them is allocated with the transform, so apply never allocates. */
#define GD_PRE_CHUNK 256

struct gd_preprocess {
    gd_pre_kind kind;
    char spec[GD_PRE_SPEC_MAX]; /* canonical: "pca:50", "whiten" */
    gd_shape in;                /* the raw per-sample shape */
    int64_t d;                  /* features per raw sample */
    int64_t k;                  /* output features: K for pca and whiten, d otherwise */
    float *stats;               /* every tensor's data, one block */
    gd_named_tensor tensors[GD_PRE_MAX_TENSORS];
    size_t ntensors;
    /* Views into stats; NULL where the kind has no such tensor. */
    float *mean;       /* one sample's shape, or one per channel for center-channel */
    float *std;        /* standardize: floored at eps */
    float *components; /* pca, whiten: K x d, one principal axis per row */
    float *scale;      /* whiten: 1 / sqrt(eigenvalue + eps), K */
    float *zca;        /* zca: the symmetric d x d whitening matrix */
    /* GD_PRE_CHUNK x d centred rows for the matrix kinds. apply writes it through a
     * const handle, which is why one handle serves one thread at a time (gradus.h). */
    float *scratch;
};

/* Per-feature means of n rows of d features, in double; a NaN or infinite feature fails
 * with GD_ERR_NUMERIC naming it. */
gd_status gd_pre_feature_means(const float *x, int64_t n, int64_t d, double *mean, char *msg);

/* Fits center, center-channel and standardize on n training samples x. */
gd_status gd_pre_fit_moments(gd_preprocess *p, const float *x, int64_t n, double eps,
                             char *msg);

/* Fits pca, whiten and zca on n training samples x. */
gd_status gd_pre_fit_pca(gd_preprocess *p, const float *x, int64_t n, double eps, char *msg);

#endif
