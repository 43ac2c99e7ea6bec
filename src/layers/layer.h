/* The layer contract: a small vtable over a private struct.
 *
 * A layer reads its input from `in` and writes `out`; backward reads `out_grad` and writes
 * `in_grad` (when not NULL) and its parameters' gradients. Those four pointers are planned
 * by the model once (gd_layer_plan) and never change while it runs, so forward and
 * backward take no arguments but the run's settings and allocate nothing. */
#ifndef GD_LAYER_H
#define GD_LAYER_H

#include "../core/internal.h"

#define GD_NAME_MAX 128 /* nesting is bounded (GD_MAX_NESTING), so names fit */
#define GD_LAYER_TENSORS_MAX 6

typedef struct gd_layer gd_layer;

/* Synchronised batch norm (as torch.nn.SyncBatchNorm): the ranks of comm exchange each
 * channel's sums, so that every rank normalises by the global batch's statistics. scratch
 * holds gd_stat_sync_scratch(ranks, channels) doubles for the widest layer. */
typedef struct gd_stat_sync {
    gd_comm *comm;
    double *scratch;
} gd_stat_sync;
size_t gd_stat_sync_scratch(int ranks, int64_t channels);

/* What one forward or backward pass is asked to do. Backward receives the same pass as
 * the forward it follows (batch norm and dropout read run->training in both). Not the
 * trainer's gd_run (include/gradus.h): a pass is one batch through the layers. */
typedef struct gd_pass {
    int64_t n;     /* samples in this batch */
    bool training; /* batch statistics and dropout on */
    gd_rng *rng;   /* dropout masks */
    char *msg;     /* GD_MSG_MAX bytes for a failure's detail */
    /* A data-parallel rank's batch is samples first .. first + n - 1 of a global batch of
     * total (alone: 0 and n): dropout draws the global batch's masks and keeps its own. */
    int64_t first, total;
    const gd_stat_sync *sync; /* NULL: batch norm's statistics are this batch's alone */
} gd_pass;

typedef struct gd_layer_ops {
    const char *kind;
    /* The output shape for l->in_shape; a mismatch fails with a message naming the layer.
     * Containers: optional; the model's shape pass calls it once the children have their
     * shapes (a residual fits its projection there). */
    gd_status (*infer)(gd_layer *l, gd_shape *out, char *msg);
    /* Optional: scratch kept between forward and backward, taken from the arena. */
    void (*reserve)(gd_layer *l, gd_arena *a, int64_t max_batch);
    gd_status (*forward)(gd_layer *l, const gd_pass *run);
    void (*backward)(gd_layer *l, const gd_pass *run);
    /* Optional: PyTorch's default initialisation of the parameters and buffers. */
    void (*reset_parameters)(gd_layer *l, gd_rng *rng);
    /* Optional, containers only: plans the children (replaces the leaf planning). */
    gd_status (*plan)(gd_layer *l, gd_arena *a, int64_t max_batch, char *msg);
    void (*free)(gd_layer *l);
} gd_layer_ops;

struct gd_layer {
    const gd_layer_ops *ops;
    char name[GD_NAME_MAX]; /* "0", "2.1"; the model names layers when it builds */
    gd_shape in_shape, out_shape;
    float *in, *in_grad;   /* planned by the parent; in_grad NULL when nobody needs it */
    float *out, *out_grad; /* planned with the layer */
    int64_t batch;         /* samples of the last forward */
    /* Parameters and buffers: declared at creation, named and given memory at build. */
    int ntensors;
    gd_named_tensor tensors[GD_LAYER_TENSORS_MAX];
    char tensor_names[GD_LAYER_TENSORS_MAX][GD_NAME_MAX + 32]; /* "0.weight" once built */
    const char *tensor_suffix[GD_LAYER_TENSORS_MAX];       /* "weight" */
    /* Containers only: the children, in order. */
    gd_layer **children;
    int nchildren, children_cap;
};

/* Declares a parameter or buffer (suffix, a string literal: "weight", "running_mean", ...)
 * and returns its slot; its memory arrives at build time (int64 buffers set i64 themselves). */
gd_named_tensor *gd_layer_declare(gd_layer *l, const char *suffix, gd_tensor_role role,
                                  gd_dtype dtype, int ndim, const int64_t *dims);

/* Plans l for inputs of in_shape at in (gradient to in_grad, may be NULL). */
gd_status gd_layer_plan(gd_layer *l, const gd_shape *in_shape, float *in, float *in_grad,
                        gd_arena *a, int64_t max_batch, char *msg);
/* The same, a leaf's output at *out and its gradient at *out_grad where those are given
 * (room for its max_batch outputs; NULL in a measuring pass, like everything the arena
 * gives then, and *out_grad NULL for none) rather than from the arena; a container
 * ignores them and plans its own. */
gd_status gd_layer_plan_into(gd_layer *l, const gd_shape *in_shape, float *in, float *in_grad,
                             float *const *out, float *const *out_grad, gd_arena *a,
                             int64_t max_batch, char *msg);
/* GD_ERR_LIMIT naming l when what l took from the arena wrapped (a->overflow). */
gd_status gd_layer_plan_fits(const gd_layer *l, const gd_arena *a, int64_t max_batch, char *msg);
void gd_layer_free(gd_layer *l);
gd_status gd_layer_add_child(gd_layer *container, gd_layer *child);
/* Runs one layer (containers run their children through these too). */
gd_status gd_layer_forward(gd_layer *l, const gd_pass *run);
void gd_layer_backward(gd_layer *l, const gd_pass *run);
/* Plans a container's children as a chain from l's input and sets l's output to the last
 * child's (Sequential); the chain's shapes were inferred before planning. */
gd_status gd_sequential_plan_chain(gd_layer *l, gd_arena *a, int64_t max_batch, char *msg);

/* Views with the batch of the last forward. */
static inline gd_tensor gd_layer_input(const gd_layer *l) { return gd_batch_view(l->in, l->batch, &l->in_shape); }
static inline gd_tensor gd_layer_output(const gd_layer *l) { return gd_batch_view(l->out, l->batch, &l->out_shape); }

/* The constructors, one per layer family (one source file each). */
gd_status gd_linear_create(gd_layer **out, int64_t in_features, int64_t out_features, bool bias,
                           char *msg);
gd_status gd_activation_create(gd_layer **out, gd_activation kind, double param, char *msg);
double gd_activation_default_param(gd_activation kind);
gd_status gd_prelu_create(gd_layer **out, int64_t num_parameters, double init, char *msg);
gd_status gd_maxout_create(gd_layer **out, int64_t k, char *msg);
gd_status gd_batchnorm_create(gd_layer **out, int spatial_dims, int64_t features, double eps,
                              double momentum, char *msg);
gd_status gd_dropout_create(gd_layer **out, double p, char *msg);
gd_status gd_conv2d_create(gd_layer **out, int64_t in_channels, int64_t out_channels, int kernel_h,
                           int kernel_w, int stride, int padding, int dilation, int groups,
                           bool bias, char *msg);
typedef enum gd_pool_kind { GD_POOL_MAX, GD_POOL_AVG, GD_POOL_GLOBAL_AVG } gd_pool_kind;
gd_status gd_pool2d_create(gd_layer **out, gd_pool_kind kind, int kernel, int stride, int padding,
                           char *msg);
gd_status gd_flatten_create(gd_layer **out, char *msg);
gd_status gd_sequential_create(gd_layer **out, char *msg);
gd_status gd_residual_create(gd_layer **out, char *msg);
/* A residual block's projection on its identity path (its last child), or NULL: none, or
 * l is no residual. */
gd_layer *gd_residual_projection(const gd_layer *l);

/* The layer struct that embeds `base` as its first member. */
#define GD_IMPL(type, layer) ((type *)(void *)(layer))

#endif
