/* What model files need of a fitted preprocessing transform. */
#ifndef GD_PREPROCESS_H
#define GD_PREPROCESS_H

#include "../core/internal.h"

/* The per-sample shape the transform was fitted on (the raw data's); returns ndim. */
int gd_preprocess_input_shape(const gd_preprocess *p, int64_t dims[GD_MAX_DIMS]);

/* Its fitted statistics as float32 tensors named "preprocess.mean", "preprocess.std",
 * "preprocess.components", ... (in a fixed order; "none" has none). */
size_t gd_preprocess_tensor_count(const gd_preprocess *p);
const gd_named_tensor *gd_preprocess_tensor_at(const gd_preprocess *p, size_t index);

/* Finds a stored tensor by name for gd_preprocess_restore (NULL: absent). */
typedef const gd_tensor *(*gd_tensor_lookup)(void *ctx, const char *name);

/* Rebuilds a fitted transform from its spec, the raw per-sample shape and its tensors,
 * checking every tensor's presence and shape; msg (GD_MSG_MAX) says what is wrong. */
gd_status gd_preprocess_restore(gd_preprocess **out, const char *spec, int ndim,
                                const int64_t *in_dims, gd_tensor_lookup lookup, void *ctx,
                                char *msg);

/* An independent copy of a fitted transform, bit for bit (its own statistics and scratch,
 * so that it serves another thread or outlives p). */
gd_status gd_preprocess_copy(gd_preprocess **out, const gd_preprocess *p, char *msg);

#endif
