/* The model's private state, shared by the files of src/model/. */
#ifndef GD_MODEL_H
#define GD_MODEL_H

#include "../layers/layer.h"

#define GD_MAX_NESTING 16

struct gd_model {
    gd_layer *root; /* a Sequential; its children are "0", "1", ... */
    /* Containers being filled: open[0] is root, open[depth] the innermost residual. */
    gd_layer *open[GD_MAX_NESTING];
    int depth;
    int nadded; /* layers added so far, containers included: at most GD_MAX_LAYERS */
    gd_rng *rng;
    bool built, training, input_grad_wanted, has_run;
    bool forward_only; /* planned for inference: no gradients (gd_model_mark_forward_only) */
    gd_shape in_shape;
    int64_t max_batch;

    /* One block each: parameters, their gradients, float buffers, activations. */
    float *params, *grads, *buffers, *activations;
    size_t param_count, buffer_count;
    size_t activation_floats; /* the block's size, fixed by the build's plan */
    float *input, *input_grad; /* carved from activations */

    /* Depth-first lists, root excluded, and every named tensor in state_dict order. */
    gd_layer **layers;
    size_t nlayers;
    gd_named_tensor **tensors;
    size_t ntensors;

    char *spec; /* the text the model was built from, or NULL */
    gd_pass run; /* the last forward's settings: backward replays them */
    /* A data-parallel rank's place in the global batch (shard_total 0: alone) and its
     * batch norm's exchange (NULL: none), for the training forwards that follow. */
    int64_t shard_first, shard_total;
    const gd_stat_sync *sync;
    gd_tensor output, output_grad;
    char msg[GD_MSG_MAX];
};

/* Records the spec text a model was built from (copied). */
gd_status gd_model_set_spec(gd_model *m, const char *spec);

/* The output shape of the layer added last to the innermost open container (a block
 * just closed included), for inputs of shape in, the output of the layers before it. The
 * spec builder keeps that running shape, so each layer is inferred once; a layer that
 * cannot take its input fails with the model's message. */
gd_status gd_model_shape_next(gd_model *m, const gd_shape *in, gd_shape *out);

/* A check of a model whose layers have their shapes and whose tensors have their names,
 * shapes and dtypes, but no memory yet: a loader compares a file's tensors with them
 * before the build allocates what the spec asks for. Fails with its message in msg
 * (GD_MSG_MAX bytes). */
typedef gd_status (*gd_model_check_fn)(void *ctx, const gd_model *m, char *msg);
/* gd_model_build, calling check (when not NULL) just before anything is allocated. */
gd_status gd_model_build_checked(gd_model *m, int ndim, const int64_t *sample_dims,
                                 int64_t max_batch, gd_model_check_fn check, void *ctx);
/* gd_model_from_spec with such a check (src/spec/build.c); its failure's status and
 * message come back as they are. */
gd_status gd_model_from_spec_checked(gd_model **out, const char *spec, uint64_t seed, int ndim,
                                     const int64_t *sample_dims, int64_t max_batch,
                                     gd_model_check_fn check, void *ctx, gd_error *err);

/* Whether the spec's first layer is a linear (src/spec/build.c); false for a spec that
 * does not parse, whose build then says why. */
bool gd_spec_starts_with_linear(const char *spec);

/* Plans the activations over m->activations (NULL: only measure) and stores the floats
 * the plan uses in *floats; a plan depends only on what the build fixed, so every plan of
 * a built model uses the same number. */
gd_status gd_model_plan(gd_model *m, size_t *floats);

/* The model's buffers (batch norm's running statistics, its step counts), which every
 * training forward moves: their bytes, and a copy of them into block (save) or back from
 * it, in gd_model_tensor_at order, for a check that must leave the model as it found it. */
/* The next training forwards' batches are samples first .. first + n - 1 of global
 * batches of total samples (total 0: whole batches, the default). */
void gd_model_set_shard(gd_model *m, int64_t first, int64_t total);
/* Batch norm's statistics over every rank of sync->comm (NULL: this batch's alone). */
void gd_model_set_stat_sync(gd_model *m, const gd_stat_sync *sync);

/* Before its build: plan the model for forward passes only (evaluation, the test of a
 * run), its outputs by their lifetime and no gradients, a fraction of a training plan's
 * memory; backward then fails (gd_model_load_for_inference). */
void gd_model_mark_forward_only(gd_model *m);

size_t gd_model_buffers_bytes(const gd_model *m);
void gd_model_copy_buffers(gd_model *m, unsigned char *block, bool save);

#endif
