/*
 * gradus: train neural networks in plain C.
 *
 * One public header. Every function that can fail returns a gd_status (GD_OK is 0);
 * gd_strerror() names the class of error and the handle's *_error() function gives the
 * detail ("linear 0: input has 784 features, layer expects 512").
 *
 * Thread safety: a handle (gd_model, gd_optimizer, gd_rng) may be used by one thread at a
 * time; distinct handles may be used from distinct threads. Inside one call, gradus uses
 * OpenMP and OpenBLAS threads; their number is process-wide (gd_set_num_threads), because
 * OpenBLAS's is. With the same seed, data and thread count, results are bit-identical.
 *
 * Memory: gd_model_build() plans and allocates everything a training step needs, once.
 * Forward, backward, losses and optimiser steps never allocate.
 */
#ifndef GRADUS_H
#define GRADUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GD_VERSION_MAJOR 0
#define GD_VERSION_MINOR 1
#define GD_VERSION_PATCH 0
#define GD_VERSION_STRING "0.1.0"

#if defined(GD_BUILDING_LIBRARY)
#define GD_API __attribute__((visibility("default")))
#else
#define GD_API
#endif

/* ------------------------------------------------------------------ errors */

typedef enum gd_status {
    GD_OK = 0,
    GD_ERR_INVALID_ARGUMENT, /* a size, rate, name or option outside its domain */
    GD_ERR_SHAPE,            /* tensor shapes that do not fit together */
    GD_ERR_STATE,            /* a call out of order, e.g. forward before build */
    GD_ERR_NO_MEMORY,        /* an allocation failed */
    GD_ERR_NUMERIC,          /* a computation that has no finite answer */
    GD_ERR_NOT_FOUND,        /* no layer or tensor of that name */
    GD_ERR_IO,               /* a file could not be read or written */
    GD_ERR_FORMAT,           /* a file's content is malformed */
    GD_ERR_LIMIT             /* a size beyond the memory limit (gd_set_memory_limit) */
} gd_status;

/* A constant sentence for a status; never NULL. */
GD_API const char *gd_strerror(gd_status status);

/* The library's version, "MAJOR.MINOR.PATCH". */
GD_API const char *gd_version(void);

/* Threads used by gradus's loops and by OpenBLAS, process-wide. n <= 0 means all cores
 * (the default). */
GD_API void gd_set_num_threads(int n);
GD_API int gd_get_num_threads(void);

/* The CPU's model name as /proc/cpuinfo gives it ("unknown" without one), into out:
 * benchmarks and the lab name the machine they measured on. */
GD_API void gd_cpu_name(char *out, size_t len);

/* The mean of n values and the half-width of its 95% interval (Student's t with n - 1
 * degrees of freedom; NaN for n < 2): repeats of a search, seeds of the lab. */
GD_API void gd_mean_interval95(const double *v, int n, double *mean, double *half);

/* The most memory one data set, model or file read may make gradus allocate, in bytes,
 * process-wide. Readers and the model builder check a size against it before they
 * allocate and fail with GD_ERR_LIMIT, naming the file and the size, beyond it; a small
 * file whose header claims billions of values is refused at once. 0 restores the
 * default: half of the machine's physical memory. */
GD_API void gd_set_memory_limit(uint64_t bytes);
GD_API uint64_t gd_get_memory_limit(void);

/* ----------------------------------------------------------------- tensors */

#define GD_MAX_DIMS 4

/* A view of contiguous float32 memory, row-major (images NCHW). A gd_tensor never owns
 * its data: gradus's own tensors live in the model's planned buffers. */
typedef struct gd_tensor {
    float *data;
    int ndim;
    int64_t dims[GD_MAX_DIMS];
} gd_tensor;

/* A view over caller memory: gd_tensor_view(x, 2, (int64_t[]){n, 784}). */
GD_API gd_tensor gd_tensor_view(float *data, int ndim, const int64_t *dims);
GD_API int64_t gd_tensor_numel(const gd_tensor *t);

/* --------------------------------------------------------------- generator */

/* A seeded pseudo-random generator (xoshiro256**, seeded through splitmix64). Every random
 * draw in gradus comes from an explicit generator; nothing reads rand() or a global. */
typedef struct gd_rng gd_rng;

#define GD_RNG_STATE_WORDS 4

GD_API gd_status gd_rng_create(gd_rng **out, uint64_t seed);
GD_API void gd_rng_free(gd_rng *rng);
GD_API void gd_rng_seed(gd_rng *rng, uint64_t seed);
GD_API uint64_t gd_rng_next_u64(gd_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
GD_API double gd_rng_uniform(gd_rng *rng);
/* Standard normal (Box-Muller; no cached second value, so the state is just the words). */
GD_API double gd_rng_normal(gd_rng *rng);
/* The state, to checkpoint and restore a run exactly. An all-zero state is invalid. */
GD_API void gd_rng_get_state(const gd_rng *rng, uint64_t state[GD_RNG_STATE_WORDS]);
GD_API gd_status gd_rng_set_state(gd_rng *rng, const uint64_t state[GD_RNG_STATE_WORDS]);

/* ----------------------------------------------------------- initialisation */

/* torch.nn.init, with its names and semantics. Each function fills a tensor in place and
 * returns GD_ERR_SHAPE where PyTorch raises for the tensor's shape (fans need at least two
 * dimensions; orthogonal needs at least two) or GD_ERR_INVALID_ARGUMENT for an argument
 * outside its domain (a negative std, a > b). */
typedef enum gd_nonlinearity {
    GD_NONLIN_LINEAR,
    GD_NONLIN_CONV1D,
    GD_NONLIN_CONV2D,
    GD_NONLIN_CONV3D,
    GD_NONLIN_CONV_TRANSPOSE1D,
    GD_NONLIN_CONV_TRANSPOSE2D,
    GD_NONLIN_CONV_TRANSPOSE3D,
    GD_NONLIN_SIGMOID,
    GD_NONLIN_TANH,
    GD_NONLIN_RELU,
    GD_NONLIN_LEAKY_RELU,
    GD_NONLIN_SELU
} gd_nonlinearity;

typedef enum gd_fan_mode { GD_FAN_IN, GD_FAN_OUT } gd_fan_mode;

/* calculate_gain(nonlinearity, param): param is leaky_relu's negative slope (PyTorch's
 * default 0.01 when param is negative, i.e. pass -1 for "None"); ignored otherwise.
 * NaN for a value outside the enum. */
GD_API double gd_calculate_gain(gd_nonlinearity nonlinearity, double param);
/* _calculate_fan_in_and_fan_out: fan_in = dims[1] * receptive field, fan_out = dims[0] *
 * receptive field, receptive field = product of dims[2:]. */
GD_API gd_status gd_calculate_fan_in_and_fan_out(const gd_tensor *t, int64_t *fan_in,
                                                 int64_t *fan_out);

GD_API gd_status gd_init_uniform_(gd_tensor *t, double a, double b, gd_rng *rng);
GD_API gd_status gd_init_normal_(gd_tensor *t, double mean, double std, gd_rng *rng);
GD_API gd_status gd_init_constant_(gd_tensor *t, double value);
GD_API gd_status gd_init_zeros_(gd_tensor *t);
GD_API gd_status gd_init_ones_(gd_tensor *t);
GD_API gd_status gd_init_xavier_uniform_(gd_tensor *t, double gain, gd_rng *rng);
GD_API gd_status gd_init_xavier_normal_(gd_tensor *t, double gain, gd_rng *rng);
GD_API gd_status gd_init_kaiming_uniform_(gd_tensor *t, double a, gd_fan_mode mode,
                                          gd_nonlinearity nonlinearity, gd_rng *rng);
GD_API gd_status gd_init_kaiming_normal_(gd_tensor *t, double a, gd_fan_mode mode,
                                         gd_nonlinearity nonlinearity, gd_rng *rng);
GD_API gd_status gd_init_orthogonal_(gd_tensor *t, double gain, gd_rng *rng);
GD_API gd_status gd_init_trunc_normal_(gd_tensor *t, double mean, double std, double a,
                                       double b, gd_rng *rng);

/* ------------------------------------------------------------------- model */

/* A network: a Sequential of layers, named as PyTorch's nn.Sequential names them ("0",
 * "1", and "2.0" inside a residual block at index 2), whose parameters are named
 * "0.weight", "0.bias", "1.running_mean", ... The model owns one flat buffer of
 * parameters, one of their gradients and one of buffers, and, once built, the planned
 * activations. */
typedef struct gd_model gd_model;

GD_API gd_status gd_model_create(gd_model **out, uint64_t seed);
GD_API void gd_model_free(gd_model *m);
/* What went wrong in the model's last failed call, naming the layer or tensor. */
GD_API const char *gd_model_error(const gd_model *m);
/* The model's generator: default initialisation and dropout masks draw from it. */
GD_API gd_rng *gd_model_rng(gd_model *m);

/* Element-wise activations; each with PyTorch's defaults. */
typedef enum gd_activation {
    GD_ACT_SIGMOID,
    GD_ACT_TANH,
    GD_ACT_RELU,
    GD_ACT_LEAKY_RELU, /* negative slope 0.01 */
    GD_ACT_ELU,        /* alpha 1 */
    GD_ACT_GELU,       /* exact: x * Phi(x), through erf */
    GD_ACT_SILU,
    GD_ACT_SOFTPLUS    /* beta 1, threshold 20 */
} gd_activation;

/* Layers are appended in order (inside the innermost open residual block, if any). A
 * model holds at most GD_MAX_LAYERS layers, each residual block counting as one besides
 * its layers; one more fails with GD_ERR_INVALID_ARGUMENT. */
#define GD_MAX_LAYERS 4096
GD_API gd_status gd_model_add_linear(gd_model *m, int64_t in_features, int64_t out_features,
                                     bool bias);
GD_API gd_status gd_model_add_activation(gd_model *m, gd_activation kind);
/* LeakyReLU's negative slope, ELU's alpha or Softplus's beta; other kinds take none. */
GD_API gd_status gd_model_add_activation_with(gd_model *m, gd_activation kind, double param);
/* PReLU: num_parameters learned slopes (1 = shared, or one per feature/channel). */
GD_API gd_status gd_model_add_prelu(gd_model *m, int64_t num_parameters, double init);
/* Maxout: the max over each group of k consecutive features (a preceding
 * Linear(in, out * k) makes the lecture's max of k linear pieces). */
GD_API gd_status gd_model_add_maxout(gd_model *m, int64_t k);
/* BatchNorm1d(features, eps, momentum): PyTorch's defaults are eps 1e-5, momentum 0.1. */
GD_API gd_status gd_model_add_batchnorm1d(gd_model *m, int64_t features, double eps,
                                          double momentum);
/* Inverted dropout with drop probability p in [0, 1). */
GD_API gd_status gd_model_add_dropout(gd_model *m, double p);
/* Convolution as torch.nn.Conv2d: weight out x in/groups x kh x kw, PyTorch's default
 * initialisation; square stride, padding (zeros) and dilation. Samples are C x H x W. */
GD_API gd_status gd_model_add_conv2d(gd_model *m, int64_t in_channels, int64_t out_channels,
                                     int kernel_h, int kernel_w, int stride, int padding,
                                     int dilation, int groups, bool bias);
/* MaxPool2d / AvgPool2d(kernel, stride, padding); stride 0 means stride = kernel, as
 * PyTorch's default. AvgPool counts padding zeros (count_include_pad = True). */
GD_API gd_status gd_model_add_maxpool2d(gd_model *m, int kernel, int stride, int padding);
GD_API gd_status gd_model_add_avgpool2d(gd_model *m, int kernel, int stride, int padding);
/* Global average pooling: C x H x W -> C x 1 x 1 (AdaptiveAvgPool2d(1)). */
GD_API gd_status gd_model_add_global_avgpool(gd_model *m);
/* Flatten: C x H x W -> C*H*W (nn.Flatten). */
GD_API gd_status gd_model_add_flatten(gd_model *m);
/* BatchNorm2d(channels, eps, momentum): statistics per channel over batch, height, width. */
GD_API gd_status gd_model_add_batchnorm2d(gd_model *m, int64_t channels, double eps,
                                          double momentum);
/* A residual block: output = block(x) + x, the block being the layers added until the
 * matching end. A block that changes the shape adds a projection of x instead (ResNet's
 * option B, named "<block>.proj", no bias): a 1x1 convolution with stride ceil(H / H') on
 * C x H x W samples, a linear map on flat ones; other changes of shape fail at build with
 * GD_ERR_SHAPE. */
GD_API gd_status gd_model_begin_residual(gd_model *m);
GD_API gd_status gd_model_end_residual(gd_model *m);

/* Plans and allocates every buffer for batches of up to max_batch samples whose
 * per-sample shape is sample_dims (e.g. {784} or {1, 28, 28}), then initialises every
 * parameter as PyTorch's layers do. Layers can no longer be added. */
GD_API gd_status gd_model_build(gd_model *m, int ndim, const int64_t *sample_dims,
                                int64_t max_batch);

/* Training mode (the default) uses batch statistics and dropout; evaluation mode uses
 * running statistics and no dropout. Switches every layer inside the model. */
GD_API void gd_model_set_training(gd_model *m, bool training);
GD_API bool gd_model_is_training(const gd_model *m);
/* Whether backward computes the gradient of the model's input (off by default: it costs
 * a matrix product that training does not need). */
GD_API void gd_model_set_input_grad(gd_model *m, bool wanted);

/* Runs the model on input (n x sample_dims, n <= max_batch); the input is copied. */
GD_API gd_status gd_model_forward(gd_model *m, const gd_tensor *input);
/* The last forward's output, and the buffer a loss (or a caller) fills with dL/doutput. */
GD_API const gd_tensor *gd_model_output(const gd_model *m);
GD_API gd_tensor *gd_model_output_grad(gd_model *m);
/* Backpropagates gd_model_output_grad() through the last forward. Parameter gradients are
 * overwritten, not accumulated: no zero_grad is needed. */
GD_API gd_status gd_model_backward(gd_model *m);

/* ------------------------------------------------------------ introspection */

typedef enum gd_tensor_role { GD_ROLE_PARAMETER, GD_ROLE_BUFFER } gd_tensor_role;
typedef enum gd_dtype { GD_DTYPE_F32, GD_DTYPE_I64 } gd_dtype;

/* A named parameter or buffer. value.data is NULL for int64 buffers, whose data is i64
 * (BatchNorm's num_batches_tracked); grad.data is NULL for buffers. */
typedef struct gd_named_tensor {
    const char *name;
    gd_tensor_role role;
    gd_dtype dtype;
    gd_tensor value;
    gd_tensor grad;
    int64_t *i64;
} gd_named_tensor;

GD_API size_t gd_model_tensor_count(const gd_model *m);
GD_API const gd_named_tensor *gd_model_tensor_at(const gd_model *m, size_t index);
/* NULL when no parameter or buffer has that name. */
GD_API const gd_named_tensor *gd_model_tensor(const gd_model *m, const char *name);
/* Shortcuts: the value (or gradient) view of a float32 parameter or buffer; NULL if none. */
GD_API gd_tensor *gd_model_param(gd_model *m, const char *name);
GD_API gd_tensor *gd_model_grad(gd_model *m, const char *name);
/* All parameters (and their gradients) as one flat tensor, in gd_model_tensor_at order. */
GD_API gd_tensor gd_model_parameters_flat(gd_model *m);
GD_API gd_tensor gd_model_gradients_flat(gd_model *m);

/* A layer's activations, by name ("0", "2.1"): input, output and their gradients, viewed
 * with the batch of the last forward. Containers ("2" for a residual block) are layers
 * too. Valid until the next forward. The gradients are planned by their lifetime: the
 * layers of a chain take their output gradients in turn from two shared buffers, so
 * after backward only the model's input gradient and the first two layers' output
 * gradients hold theirs (an after-backward observer reads parameter gradients, which
 * stay). */
typedef struct gd_layer_info {
    const char *name;
    const char *kind; /* "linear", "relu", "batchnorm1d", "residual", ... */
    gd_tensor input, output, input_grad, output_grad;
} gd_layer_info;

GD_API size_t gd_model_layer_count(const gd_model *m);
GD_API gd_status gd_model_layer_at(const gd_model *m, size_t index, gd_layer_info *out);
/* GD_ERR_NOT_FOUND for an index past the last layer or a name no layer has; the
 * model's gd_model_error() then names what was asked and lists the layers there are. */
GD_API gd_status gd_model_layer(const gd_model *m, const char *name, gd_layer_info *out);

/* A built model in figures, as `gradus summary` prints it (Keras's model.summary()): per
 * layer of gd_model_layer_at, its output shape per sample and its parameters (a residual
 * block's count its layers', projection included). Failures (an unbuilt model, an index
 * past the last layer) leave their message in gd_model_error(). */
typedef struct gd_layer_summary {
    const char *name, *kind; /* as gd_layer_info's */
    int ndim;                /* the output's per-sample shape */
    int64_t dims[GD_MAX_DIMS];
    int64_t parameters;
} gd_layer_summary;
GD_API gd_status gd_model_layer_summary(const gd_model *m, size_t index, gd_layer_summary *out);

/* The whole model: parameters (all trainable), buffers (batch norm's running statistics
 * and step counts: F32 or I64 values) and the activations planned for batches of
 * gd_model_max_batch(): the distinct buffers of every layer's input, output and their
 * gradients, not a layer's own scratch (im2col, dropout masks) nor an optimiser's state.
 * Training memory is twice parameter_bytes (the gradients) plus the others. */
typedef struct gd_summary {
    int64_t parameters, buffer_values, batch;
    size_t parameter_bytes, buffer_bytes, activation_bytes;
} gd_summary;
GD_API gd_status gd_model_summary(const gd_model *m, gd_summary *out);

/* ------------------------------------------------------------------ losses */

typedef enum gd_loss_kind {
    GD_LOSS_CROSS_ENTROPY,    /* softmax cross-entropy via log-sum-exp, optional smoothing */
    GD_LOSS_MULTICLASS_HINGE, /* the lecture's SVM loss: sum over j != y of max(0, s_j - s_y + margin) */
    GD_LOSS_MSE               /* mean over every element of (output - target)^2 */
} gd_loss_kind;

typedef struct gd_loss {
    gd_loss_kind kind;
    double label_smoothing; /* cross-entropy, in [0, 1] */
    double margin;          /* hinge; the lecture's delta is 1 */
} gd_loss;

/* Mean over the batch of the loss of the last forward's output against integer labels
 * (cross-entropy, hinge) or float targets shaped as the output (MSE); the other pointer
 * may be NULL. Writes dL/doutput into gd_model_output_grad(). */
GD_API gd_status gd_model_loss(gd_model *m, const gd_loss *loss, const int32_t *labels,
                               const float *targets, double *value);
/* L2 weight decay as a loss term: adds lambda/2 * sum(w^2) over the weights of every
 * linear and convolutional layer (residual projections included) to *value and lambda * w
 * to those weights' gradients (call after backward). Biases, batch-norm scales and shifts
 * and PReLU slopes are not decayed: they shift or scale a unit's output rather than shape
 * the function, and shrinking a batch-norm scale only fights the weights it normalises. */
GD_API gd_status gd_model_l2_penalty(gd_model *m, double lambda, double *value);
/* torch.nn.utils.clip_grad_norm_: scales all gradients by max_norm / (norm + 1e-6) when
 * their global L2 norm exceeds max_norm; *total_norm gets the norm before clipping. */
GD_API gd_status gd_model_clip_grad_norm(gd_model *m, double max_norm, double *total_norm);

/* -------------------------------------------------------------- optimisers */

typedef enum gd_optim_kind { GD_OPTIM_SGD, GD_OPTIM_ADAGRAD, GD_OPTIM_RMSPROP, GD_OPTIM_ADAM,
                             GD_OPTIM_ADAMW } gd_optim_kind;

/* The hyperparameters of torch.optim, by the same names; each kind reads its own. */
typedef struct gd_optim_config {
    gd_optim_kind kind;
    double lr;
    double weight_decay;
    double momentum, dampening; /* SGD, RMSprop (momentum) */
    bool nesterov;              /* SGD */
    double beta1, beta2, eps;   /* Adam, AdamW; eps also Adagrad, RMSprop */
    bool amsgrad;               /* Adam, AdamW */
    double alpha;               /* RMSprop smoothing */
    bool centered;              /* RMSprop */
    double lr_decay, initial_accumulator_value; /* Adagrad */
} gd_optim_config;

/* PyTorch's defaults for a kind (SGD, which has none for lr, gets 0.01). */
GD_API gd_optim_config gd_optim_defaults(gd_optim_kind kind);

typedef struct gd_optimizer gd_optimizer;

/* An optimiser over every parameter of a built model; its state is one flat buffer. On a
 * failure other than GD_ERR_NO_MEMORY, *out is still a handle whose gd_optim_error() says
 * why (free it with gd_optim_free); its gd_optim_step returns the same status. The model
 * must outlive the optimiser. */
GD_API gd_status gd_optim_create(gd_optimizer **out, gd_model *m, const gd_optim_config *cfg);
GD_API void gd_optim_free(gd_optimizer *opt);
GD_API const char *gd_optim_error(const gd_optimizer *opt);
/* One update from the model's current gradients. */
GD_API gd_status gd_optim_step(gd_optimizer *opt);
GD_API void gd_optim_set_lr(gd_optimizer *opt, double lr);
GD_API double gd_optim_lr(const gd_optimizer *opt);
/* The momentum a schedule cycles (OneCycleLR's cycle_momentum): SGD's and RMSprop's
 * momentum, Adam's and AdamW's beta1 (the bias correction then reads it too, as PyTorch's
 * does); Adagrad has none and ignores it, and so do SGD and RMSprop created with momentum
 * 0, which keep no momentum buffer: create them with the cycle's first value. */
GD_API void gd_optim_set_momentum(gd_optimizer *opt, double momentum);
/* The momentum (Adam, AdamW: beta1) the next step uses; NaN for Adagrad. */
GD_API double gd_optim_momentum(const gd_optimizer *opt);
/* Steps taken so far (Adam's bias correction and Adagrad's decay read it). */
GD_API int64_t gd_optim_step_count(const gd_optimizer *opt);
GD_API void gd_optim_set_step_count(gd_optimizer *opt, int64_t steps); /* negative: 0 */
/* The named state tensors ("momentum_buffer", "exp_avg", ...), each as long as the flat
 * parameter buffer, so a checkpoint can save and restore them. */
GD_API size_t gd_optim_state_count(const gd_optimizer *opt);
GD_API gd_status gd_optim_state_at(gd_optimizer *opt, size_t index, const char **name,
                                   gd_tensor *value);

/* ------------------------------------------------------- learning-rate schedules */

typedef enum gd_schedule_kind {
    GD_SCHEDULE_CONSTANT,
    GD_SCHEDULE_STEP,        /* StepLR: lr * gamma^floor(t / step_size) */
    GD_SCHEDULE_EXPONENTIAL, /* ExponentialLR: lr * gamma^t */
    GD_SCHEDULE_COSINE,      /* CosineAnnealingLR(T_max, eta_min) */
    GD_SCHEDULE_LINEAR,      /* LinearLR(start_factor, end_factor, total_iters) */
    GD_SCHEDULE_ONECYCLE,    /* OneCycleLR(max_lr = base_lr, total_steps, pct_start,
                                div_factor, final_div_factor), cos annealing, two phases */
    GD_SCHEDULE_PLATEAU      /* base_lr, which a gd_plateau lowers between epochs */
} gd_schedule_kind;

/* A schedule as a pure function of the step count t (the number of scheduler.step()
 * calls in PyTorch), so a resumed run needs only t. With warmup_steps > 0, a linear
 * warm-up from warmup_start_factor * base_lr to base_lr comes first and the main
 * schedule then starts at its own t = 0 (PyTorch's SequentialLR of LinearLR and it). */
typedef struct gd_schedule {
    gd_schedule_kind kind;
    double base_lr;
    int64_t step_size;   /* step */
    double gamma;        /* step, exponential */
    int64_t t_max;       /* cosine */
    double eta_min;      /* cosine */
    double start_factor, end_factor; /* linear */
    int64_t total_iters; /* linear */
    int64_t total_steps; /* onecycle */
    double pct_start, div_factor, final_div_factor; /* onecycle */
    double base_momentum, max_momentum; /* onecycle's momentum cycle (0 and 0: none) */
    int64_t warmup_steps;
    double warmup_start_factor;
} gd_schedule;

/* GD_ERR_INVALID_ARGUMENT for impossible settings (step_size < 1, t_max < 1, ...). */
GD_API gd_status gd_schedule_check(const gd_schedule *s);
/* NaN for t < 0 or a schedule that gd_schedule_check refuses. */
GD_API double gd_schedule_lr(const gd_schedule *s, int64_t t);
/* The momentum (or beta1) a one-cycle schedule with max_momentum > 0 sets at step t
 * (max_momentum during a warm-up); NaN when the schedule cycles none. */
GD_API double gd_schedule_momentum(const gd_schedule *s, int64_t t);

/* ReduceLROnPlateau (torch 1.13, threshold_mode "rel"): stepped once per epoch with the
 * metric it watches, it multiplies lr by factor (never below min_lr, and not at all when
 * that changes it by eps or less) after more than patience epochs without an improvement
 * beyond the relative threshold, then waits cooldown epochs. The state (lr, best and the
 * counters) is plain fields, so a checkpoint can carry it. */
typedef struct gd_plateau {
    bool maximize;                /* mode "max" (an accuracy) rather than "min" (a loss) */
    double factor;                /* in (0, 1) */
    int64_t patience, cooldown;
    double threshold, min_lr, eps;
    double lr, best;              /* the rate now; the best metric (+-inf at first) */
    int64_t num_bad_epochs, cooldown_counter;
} gd_plateau;

/* PyTorch's defaults (factor 0.1, patience 10, threshold 1e-4, cooldown 0, min_lr 0,
 * eps 1e-8), starting at lr. */
GD_API gd_plateau gd_plateau_defaults(bool maximize, double lr);
/* GD_ERR_INVALID_ARGUMENT for a factor outside (0, 1), a negative count or threshold. */
GD_API gd_status gd_plateau_check(const gd_plateau *p);
/* One epoch's metric (NaN counts as no improvement); true when lr was lowered. */
GD_API bool gd_plateau_step(gd_plateau *p, double metric);

/* ------------------------------------------------ errors of handle-less calls */

/* Calls that create a handle from a file or text (a data set, a model from its spec or
 * file) report their detail here, since on failure there is no handle to ask: the
 * message names the file (and line and column, or position) and what is wrong. */
typedef struct gd_error {
    char message[256];
} gd_error;

/* ------------------------------------------------------------------- data */

/* A labelled data set in memory: n samples of one shape as float32, and int32 labels in
 * [0, num_classes). Readers validate everything they read and never trust a header. */
typedef struct gd_dataset gd_dataset;

/* IDX files (MNIST's format), plain or gzipped: images of uint8 scaled to [0, 1] (as
 * torchvision's ToTensor) or float32 kept as they are, and uint8 labels. Samples are
 * 1 x H x W. labels_path may be NULL: images alone, every label 0, num_classes 1. */
GD_API gd_status gd_dataset_read_idx(gd_dataset **out, const char *images_path,
                                     const char *labels_path, gd_error *err);
/* A folder holding train-images-idx3-ubyte[.gz] and the three other files of (Fashion-)
 * MNIST; train selects the training or the test pair. */
GD_API gd_status gd_dataset_read_idx_dir(gd_dataset **out, const char *dir, bool train,
                                         gd_error *err);
/* CSV of numbers: label_column is the 0-based column of the integer label, 0 to 255
 * (negative: none, labels all 0), the others are features taken as they are. */
GD_API gd_status gd_dataset_read_csv(gd_dataset **out, const char *path, int label_column,
                                     bool has_header, gd_error *err);
/* CIFAR-10 binary batches (each record: 1 label byte, 3072 pixel bytes), concatenated;
 * samples are 3 x 32 x 32 scaled to [0, 1]. */
GD_API gd_status gd_dataset_read_cifar10(gd_dataset **out, const char *const *paths,
                                         int npaths, gd_error *err);
/* A folder of CIFAR-10's binary version: data_batch_1.bin to data_batch_5.bin (train) or
 * test_batch.bin, in dir or in dir/cifar-10-batches-bin as the archive unpacks. A missing
 * file is GD_ERR_IO, naming it and what the folder must hold. */
GD_API gd_status gd_dataset_read_cifar10_dir(gd_dataset **out, const char *dir, bool train,
                                             gd_error *err);
/* A data set over copies of caller arrays (labels may be NULL: all 0). */
GD_API gd_status gd_dataset_create(gd_dataset **out, int64_t n, int ndim,
                                   const int64_t *sample_dims, const float *features,
                                   const int32_t *labels, int num_classes, gd_error *err);
GD_API void gd_dataset_free(gd_dataset *ds);
GD_API int64_t gd_dataset_size(const gd_dataset *ds);
/* The per-sample shape; returns its number of dimensions. */
GD_API int gd_dataset_sample_shape(const gd_dataset *ds, int64_t dims[GD_MAX_DIMS]);
GD_API int64_t gd_dataset_sample_size(const gd_dataset *ds);
GD_API int gd_dataset_num_classes(const gd_dataset *ds);
/* The samples as floats, n x sample_size; a set read as uint8 pixels is turned into floats
 * for good (four times the memory). NULL when those floats would pass the memory limit or
 * memory runs out. */
GD_API float *gd_dataset_features(gd_dataset *ds);
GD_API const int32_t *gd_dataset_labels(const gd_dataset *ds);
/* The first n samples (n larger than the set: all of them), as a new data set. */
GD_API gd_status gd_dataset_head(const gd_dataset *ds, int64_t n, gd_dataset **out,
                                 gd_error *err);
/* Splits off a validation set of val_size samples chosen by a permutation drawn from
 * seed; *train gets the rest in their original order. */
GD_API gd_status gd_dataset_split(const gd_dataset *ds, int64_t val_size, uint64_t seed,
                                  gd_dataset **train, gd_dataset **val, gd_error *err);
/* A sample shape from text: 1 to GD_MAX_DIMS - 1 positive whole numbers joined by x
 * ("1x28x28", "784"), digits only, the product within a 64-bit size; anything else is
 * GD_ERR_INVALID_ARGUMENT with a message that does not repeat the text (the caller names
 * it, and its flag). */
GD_API gd_status gd_parse_shape(const char *text, int *ndim, int64_t dims[GD_MAX_DIMS - 1],
                                gd_error *err);
/* Views every sample of ds with another shape of the same size (784 values as 1x28x28):
 * the values stay as they are. GD_ERR_SHAPE, naming both sizes, when the sizes differ. */
GD_API gd_status gd_dataset_reshape(gd_dataset *ds, int ndim, const int64_t *dims,
                                    gd_error *err);

/* Mini-batches over a data set. Epoch e visits the samples in a permutation drawn from
 * (seed, e) alone, so a resumed run sees exactly the batches it would have seen. The
 * last partial batch is kept (drop_last false) or skipped (drop_last true). */
typedef struct gd_loader gd_loader;

/* ds must outlive the loader; creation starts epoch 0. */
GD_API gd_status gd_loader_create(gd_loader **out, const gd_dataset *ds, int64_t batch_size,
                                  bool shuffle, bool drop_last, uint64_t seed, gd_error *err);
GD_API void gd_loader_free(gd_loader *l);
GD_API int64_t gd_loader_batches(const gd_loader *l);
GD_API void gd_loader_start_epoch(gd_loader *l, int64_t epoch);
/* The next batch of the epoch (views valid until the next call), or false at its end. */
GD_API bool gd_loader_next(gd_loader *l, gd_tensor *x, const int32_t **labels);
/* From now on each batch gives only shard rank of ranks: samples rows rank / ranks up to
 * rows (rank + 1) / ranks of the batch of rows samples that one loader would give (the
 * same order and augmentation), so that the ranks' shards together are that batch. */
GD_API gd_status gd_loader_set_shard(gd_loader *l, int rank, int ranks, gd_error *err);
/* The last batch's shard: its first sample's place in the whole batch, and that batch's
 * samples. */
GD_API void gd_loader_shard(const gd_loader *l, int64_t *first, int64_t *total);

/* Data augmentation of image batches (C x H x W samples), in training only, drawn from a
 * generator seeded by (seed, epoch) apart from the shuffle's, so a resumed run draws the
 * same. Each is off when zero/false. */
typedef struct gd_augment {
    int crop_padding;         /* random crop of H x W from the image zero-padded by this */
    bool horizontal_flip;     /* mirror left-right with probability 1/2 */
    double erase_probability; /* random erasing (Zhong et al., torchvision RandomErasing's
                                 defaults: area 2%-33%, aspect 0.3-3.3, value 0) */
} gd_augment;

/* Applies aug to every batch gd_loader_next returns from now on (NULL or all off: none).
 * GD_ERR_SHAPE, when any transform is on, unless samples are C x H x W;
 * GD_ERR_INVALID_ARGUMENT for a negative padding or a probability outside [0, 1]. */
GD_API gd_status gd_loader_set_augment(gd_loader *l, const gd_augment *aug, gd_error *err);

/* ---------------------------------------------------------- preprocessing */

/* The lecture's preprocessing, fitted on training data only and carried in the model
 * file: "none", "center" (subtract the mean image), "center-channel" (one mean per
 * channel), "standardize" (mean and standard deviation per feature), "pca:K" (centre,
 * project on the top K principal components), "whiten[:K]" (PCA whitening: divide
 * each component by sqrt(eigenvalue + eps)) and "zca" (whitening rotated back to pixel
 * space). Eigendecompositions use LAPACK (dsyevd on a double covariance). */
typedef struct gd_preprocess gd_preprocess;

/* Fits the transform named by spec ("center", "pca:50", "whiten:100", "zca") on train;
 * eps regularises whitening (and floors standardize's deviation). */
GD_API gd_status gd_preprocess_fit(gd_preprocess **out, const char *spec, double eps,
                                   const gd_dataset *train, gd_error *err);
GD_API void gd_preprocess_free(gd_preprocess *p);
/* The spec it was fitted with ("pca:50"). */
GD_API const char *gd_preprocess_spec(const gd_preprocess *p);
/* Per-sample shape after the transform (pca/whiten: K features). */
GD_API int gd_preprocess_output_shape(const gd_preprocess *p, int64_t dims[GD_MAX_DIMS]);
/* The smallest and largest fitted mean (per feature; per channel for center-channel),
 * which say where the training data lay: data in [0, 1] has every mean in [0, 1]. false
 * (and *lo, *hi untouched) for "none", which keeps no statistics. */
GD_API bool gd_preprocess_mean_range(const gd_preprocess *p, double *lo, double *hi);
/* Transforms n samples from in to out (out may equal in when the size is kept). */
GD_API gd_status gd_preprocess_apply(const gd_preprocess *p, const float *in, int64_t n,
                                     float *out);
/* Replaces a data set's features by their transform (reshaping them if needed). */
GD_API gd_status gd_preprocess_apply_dataset(const gd_preprocess *p, gd_dataset *ds,
                                             gd_error *err);

/* ---------------------------------------------------------- specification */

/* Builds a model from its text specification, one layer after another, sizes inferred
 * from sample_dims, e.g. "linear(256) bn relu dropout(0.2) linear(10)" or with options
 * "linear(256, init=kaiming_normal) linear(10, init=normal(std=0.01))". '#' starts a
 * comment to the end of the line. docs/spec.md lists every layer and option. An error
 * names the position (line:column) and what was expected. */
GD_API gd_status gd_model_from_spec(gd_model **out, const char *spec, uint64_t seed, int ndim,
                                    const int64_t *sample_dims, int64_t max_batch,
                                    gd_error *err);
/* The spec a model was built from (NULL when built by gd_model_add_* calls). */
GD_API const char *gd_model_spec(const gd_model *m);
/* The per-sample input shape the model was built for; returns its number of dimensions. */
GD_API int gd_model_input_shape(const gd_model *m, int64_t dims[GD_MAX_DIMS]);
/* The largest batch a built model was planned for. */
GD_API int64_t gd_model_max_batch(const gd_model *m);
/* The per-sample output shape of a built model (10 for a 10-class classifier). */
GD_API int gd_model_output_shape(const gd_model *m, int64_t dims[GD_MAX_DIMS]);

/* ------------------------------------------------------------- model files */

/* Writes len bytes to path through a temporary file in the same folder, flushed to disk
 * and renamed into place: a reader sees the old file or the new one, never half of one.
 * Model files and checkpoints are written this way. */
GD_API gd_status gd_write_file_atomic(const char *path, const void *data, size_t len,
                                      gd_error *err);

/* safetensors: an 8-byte little-endian header length, a JSON header (dtype, shape and
 * data offsets of each tensor, and "__metadata__"), then raw little-endian data. Tensor
 * names are the model's state_dict keys; preprocessing statistics are "preprocess.*";
 * metadata holds "gradus.spec", "gradus.input_shape" and "gradus.preprocess". Written to
 * a temporary file and renamed into place. */
GD_API gd_status gd_model_save(gd_model *m, const gd_preprocess *pre, const char *path,
                               gd_error *err);
/* Loads a model (built for max_batch) and its preprocessing (*pre may be set to NULL when
 * the file has none; pass pre NULL to ignore it). Rejects a header larger than the file,
 * offsets outside the data, overlapping tensors, unknown dtypes and shapes that disagree
 * with the spec; the tensors are checked against the spec before the model's memory is
 * allocated, so a small file cannot make gradus allocate what its spec asks for. A file
 * without "gradus.input_shape" loads when its first layer is a linear (see
 * gd_model_load_as). */
GD_API gd_status gd_model_load(gd_model **out, gd_preprocess **pre, const char *path,
                               int64_t max_batch, gd_error *err);
/* gd_model_load for files that may not record the input shape, as a safetensors file of
 * a PyTorch nn.Sequential's state_dict with only "gradus.spec" added to its metadata
 * (docs/pytorch.md). The model is built for, in this order: the file's
 * "gradus.input_shape"; the in_features of a first linear layer (its "0.weight" is out x
 * in); sample_dims (ndim values, 1 to GD_MAX_DIMS - 1), the per-sample shape of the data
 * the caller will feed, e.g. 1 x 28 x 28 for a first convolution. ndim 0 (sample_dims
 * may be NULL) gives none, which is gd_model_load; a file that nothing decides fails with
 * GD_ERR_FORMAT ("no gradus.input_shape in its metadata, ..."). */
GD_API gd_status gd_model_load_as(gd_model **out, gd_preprocess **pre, const char *path,
                                  int ndim, const int64_t *sample_dims, int64_t max_batch,
                                  gd_error *err);
/* gd_model_load_as for forward passes only (evaluation, prediction): each chain's outputs
 * take turns in two buffers and no gradient is planned, a fraction of the memory a
 * training plan needs (the CNN of bench/compare_cnn.sh at batch 256: 63 MB against 181
 * MB). The outputs are the same bits; gd_model_backward then fails. */
GD_API gd_status gd_model_load_for_inference(gd_model **out, gd_preprocess **pre,
                                             const char *path, int ndim,
                                             const int64_t *sample_dims, int64_t max_batch,
                                             gd_error *err);

/* A checkpoint: the model file's content plus the optimiser's state and step count, the
 * model's generator, and the caller's epoch, so that a run resumes bit for bit. */
GD_API gd_status gd_checkpoint_save(gd_model *m, gd_optimizer *opt, const gd_preprocess *pre,
                                    int64_t epoch, const char *run_state, const char *path,
                                    gd_error *err);
/* Restores the optimiser's state and step count, the model's generator, and the saved
 * epoch and run_state (the caller's own text, e.g. early-stopping counters as JSON) into
 * a model loaded from the same file (gd_model_load reads a checkpoint as a model file)
 * and an optimiser of the same kind. run_state may be NULL. It also restores the model's
 * parameters and buffers, and refuses a model built from another spec. Everything is
 * checked before anything changes; a run_state_len too small for the saved text gives
 * GD_ERR_INVALID_ARGUMENT. The learning rate is not saved: set it from the schedule. */
GD_API gd_status gd_checkpoint_load(gd_model *m, gd_optimizer *opt, int64_t *epoch,
                                    char *run_state, size_t run_state_len, const char *path,
                                    gd_error *err);

/* ----------------------------------------------------------------- training */

/* A training run's settings, with PyTorch's and Keras's names and defaults. Each setting
 * is defined once, in a table (gd_setting_at) that gives its JSON key, its command-line
 * flag, its default, its check and its help line: the command line's parser and --help,
 * config.json and the search space all read it. Text fields are owned (malloc'd) by the
 * struct: set them through gd_settings_set, release with gd_settings_free. */
typedef struct gd_settings {
    /* data */
    char *data;            /* "fashion-mnist", a folder of IDX files, or "csv:TRAIN,TEST" */
    int label_column;      /* CSV: 0-based column of the label */
    bool csv_header;       /* CSV: the first row is a header */
    char *csv_shape;       /* CSV: the samples' shape, "1x28x28" ("": flat) */
    int64_t limit;         /* the first N training examples (0: all) */
    int64_t val_size;      /* validation examples split off the training set (0: none) */
    char *preprocess;      /* none, center, center-channel, standardize, pca:K, whiten[:K], zca */
    double preprocess_eps; /* standardize's floor on the deviation; whitening's regulariser */
    int crop_padding;      /* augmentation of the training split (0 / false: off) */
    bool hflip;
    double random_erasing;
    /* model */
    char *model;           /* the spec text */
    char *init_from;       /* a model file whose tensors start the run ("": none) */
    /* optimisation */
    char *optim;           /* sgd, adam, adamw, rmsprop, adagrad */
    double lr, momentum, weight_decay; /* NaN: the optimiser's PyTorch default, which
                                          gd_run_create puts here (gd_run_settings) */
    char *schedule;        /* constant, cosine, linear, step:EPOCHS[:GAMMA], exp:GAMMA,
                              plateau[:FACTOR[:PATIENCE]], onecycle */
    int64_t warmup;        /* epochs of linear warm-up */
    double label_smoothing, clip_norm; /* clip_norm 0: off */
    int64_t epochs, patience, batch_size; /* patience 0: never stop early */
    char *early_stop;      /* what --patience and the best model watch: val_accuracy, val_loss */
    double min_delta;      /* an improvement must exceed this (Keras's min_delta) */
    /* run */
    uint64_t seed;
    uint64_t split_seed;   /* the validation split's (0: seed's), so that runs of other
                              seeds can be judged on one validation set (a search's trials) */
    int threads;           /* 0: every core */
    /* data-parallel runs (gd_run_options.comm); alone, neither changes anything */
    bool sync_bn;              /* batch statistics over the global batch (SyncBatchNorm) */
    bool deterministic_reduce; /* sums in rank order: the same bits whatever MPI's algorithm */
} gd_settings;

/* The version of config.json's layout that gd_settings_to_json writes. */
#define GD_SETTINGS_SCHEMA 2

typedef enum gd_setting_type {
    GD_SETTING_TEXT, GD_SETTING_INT, GD_SETTING_COUNT, GD_SETTING_REAL, GD_SETTING_SWITCH,
    GD_SETTING_SEED
} gd_setting_type;

/* One setting as the table defines it. */
typedef struct gd_setting_info {
    const char *key;      /* config.json's key and gd_settings_set's name: "batch_size" */
    const char *flag;     /* the command line's flag, without dashes: "batch-size" */
    const char *metavar;  /* what the flag takes, "N"; NULL for a switch */
    const char *group;    /* "data", "model", "optimisation" or "run" */
    const char *help;     /* what it does, in a sentence or two */
    const char *fallback; /* the default as text: "128" */
    gd_setting_type type;
} gd_setting_info;

GD_API size_t gd_setting_count(void);
/* The index-th setting, or NULL past the end; in the order of --help. */
GD_API const gd_setting_info *gd_setting_at(size_t index);
GD_API const gd_setting_info *gd_setting_find(const char *key);

/* Every setting at its default. */
GD_API void gd_settings_defaults(gd_settings *s);
GD_API void gd_settings_free(gd_settings *s);
/* A deep copy of src into dst (dst's old text not freed: give it a fresh struct). */
GD_API gd_status gd_settings_copy(gd_settings *dst, const gd_settings *src);
/* Sets the setting named key ("lr") from text ("0.01"), with its check: an unknown key, a
 * value that is not entirely of the setting's type or is out of its range is refused
 * (GD_ERR_INVALID_ARGUMENT), with a message that names the flag and the text, and s is
 * unchanged. A switch takes "true" or "false". */
GD_API gd_status gd_settings_set(gd_settings *s, const char *key, const char *text,
                                 gd_error *err);
/* The settings as JSON text (malloc'd), with "schema" (GD_SETTINGS_SCHEMA) and
 * "gradus_version"; the seed is a string, as a uint64 does not survive a JSON number. */
GD_API gd_status gd_settings_to_json(const gd_settings *s, char **json, gd_error *err);
/* Reads settings written by gd_settings_to_json (or an earlier gradus: keys added since
 * keep their defaults), with the same checks as gd_settings_set; the message names the
 * key. s is unchanged on failure. */
GD_API gd_status gd_settings_from_json(gd_settings *s, const char *json, gd_error *err);

/* The training and test sets a source names: "fashion-mnist" (Debian's
 * dataset-fashion-mnist), a folder with the four IDX files, "csv:TRAIN[,TEST]", or
 * "cifar10:DIR" (gd_dataset_read_cifar10_dir). Either output may be NULL when not wanted.
 * csv_shape gives CSV samples the shape CxHxW, or HxW for 1xHxW (a grey image); its
 * product must be the features a row holds. Messages name the flags (--data,
 * --csv-shape). */
typedef struct gd_data_options {
    int label_column;      /* CSV: 0-based column of the label */
    bool csv_header;       /* CSV: the first row is a header */
    const char *csv_shape; /* CSV: the samples' shape, "1x28x28" (NULL or "": flat) */
} gd_data_options;
GD_API gd_status gd_data_load(const char *source, const gd_data_options *opt,
                              gd_dataset **train, gd_dataset **test, gd_error *err);
/* The splits a run of settings s trains, validates and tests on, exactly as gd_run_create
 * makes them: s->data loaded with s's CSV options, its training set cut to its first
 * s->limit examples (0: all), then s->val_size of those split off by s->seed (*val NULL
 * when val_size is 0); the test set whole. Any output may be NULL when not wanted (the
 * training set is not read when train and val both are). A val_size that leaves no
 * training examples is GD_ERR_INVALID_ARGUMENT, naming --val-size and --limit or --data.
 * The sets are raw: the run's preprocessing is applied by the caller. */
GD_API gd_status gd_data_splits(const gd_settings *s, gd_dataset **train, gd_dataset **val,
                                gd_dataset **test, gd_error *err);

/* Evaluation of a model on a data set (already preprocessed) in evaluation mode, in
 * batches of the model's planned size: mean cross-entropy, accuracy, and when confusion is
 * not NULL the confusion matrix (classes x classes of the model's output, row = truth),
 * which the caller zeroes. The model's mode is restored. */
typedef struct gd_evaluation {
    double loss, accuracy;
    int64_t samples;
} gd_evaluation;
GD_API gd_status gd_evaluate(gd_model *m, gd_dataset *ds, int64_t *confusion,
                             gd_evaluation *out, gd_error *err);
/* Predictions for every sample of ds (already preprocessed: gd_preprocess_apply_dataset),
 * in evaluation mode, in batches of the model's planned size: classes[i] is sample i's
 * guess (gd_argmax of its scores) and probs[i C .. i C + C - 1] the softmax of its C scores
 * (C = the model's output width), in double, as `gradus predict --probs` prints them.
 * Either output may be NULL; the caller sizes them for gd_dataset_size(ds) samples. A
 * model whose output is not flat, or whose input size is not ds's, is GD_ERR_SHAPE. The
 * model's mode is restored. */
GD_API gd_status gd_predict(gd_model *m, gd_dataset *ds, int32_t *classes, double *probs,
                            gd_error *err);
/* A batch of a data set (rows x sample values) viewed with the model's per-sample input
 * shape: the same numbers, so that images feed an MLP as flat vectors. */
GD_API gd_tensor gd_model_input_view(const gd_model *m, gd_tensor batch);
/* GD_ERR_SHAPE, naming both sizes, when ds's samples are not the model's input size. */
GD_API gd_status gd_model_check_input(const gd_model *m, const gd_dataset *ds, gd_error *err);
/* Index of the largest of n scores (the first on ties): a classifier's guess. */
GD_API int gd_argmax(const float *scores, int n);

/* A training run: the data splits, preprocessing, model, optimiser, schedule, loader and
 * metrics, owned together, made from settings. With a folder, each epoch writes there
 * model.safetensors (the best model so far), checkpoint.safetensors, metrics.jsonl, and
 * config.json at the start; without one, nothing is written and the test figures come
 * from the last epoch's model. Runs share no state: several may live in one process,
 * though the thread count (gd_set_num_threads) is the process's. */
typedef struct gd_run gd_run;
typedef struct gd_comm gd_comm; /* a group of MPI ranks, below */

/* The data sets as read, kept for the runs that follow: a search worker runs trial after
 * trial on one --data, and each run reading it again cost as much as a short epoch. It
 * keeps one entry, the training and test sets as gd_data_load gives them (before --limit,
 * the validation split and preprocessing, which depend on each run's settings), keyed by
 * what decides the read: data, label_column, csv_header and csv_shape. A run whose key
 * differs replaces the entry. A second entry keeps the last fresh run's splits after
 * preprocessing (of a run with a split_seed of its own, which runs of other seeds can
 * share), with the fitted transform, keyed by everything that decides them (the
 * read's key, limit, val_size, the split's seed, preprocess, preprocess_eps, threads):
 * the trials of a study share one --split-seed, so each fresh trial after the first skips
 * the cut, the fit and the transform (a resumed run takes its transform from its
 * checkpoint and prepares its own). Runs get copies, so their results are bit for bit
 * those of a run that reads the files itself; a file changed on disk is not noticed
 * while the key stays. The kept copies count against gd_set_memory_limit like any data.
 * Not thread-safe: one cache per thread (a run uses it only in gd_run_create). */
typedef struct gd_data_cache gd_data_cache;
GD_API gd_status gd_data_cache_new(gd_data_cache **out, gd_error *err);
GD_API void gd_data_cache_free(gd_data_cache *c);
/* How many times the cache has read files (attempts, failed ones included): for tests and
 * benchmarks that check a run did not read again. */
GD_API int64_t gd_data_cache_reads(const gd_data_cache *c);
/* How many runs took their preprocessed splits from the second entry. */
GD_API int64_t gd_data_cache_prepared_hits(const gd_data_cache *c);

typedef struct gd_run_options {
    const char *dir; /* the run folder (it must exist), or NULL for none */
    bool resume;     /* continue the run in dir from its checkpoint (a run killed before
                        its first checkpoint starts over); its settings are the caller's */
    gd_data_cache *data_cache; /* NULL: the run reads its own data */
    /* NULL or a group of one: this process trains alone. A group of several trains one
     * model on all of them, each rank its shard of every global batch (every rank calls
     * the same run calls; rank 0 writes the files): docs/distributed.md. */
    gd_comm *comm;
} gd_run_options;

/* One epoch's figures. Without validation, validated is false and val_* are NaN. */
typedef struct gd_epoch_metrics {
    int64_t epoch; /* 1-based */
    double train_loss, train_accuracy, val_loss, val_accuracy, lr, seconds, samples_per_sec;
    bool validated, best;
} gd_epoch_metrics;

/* Where a training step is, for observers. */
typedef struct gd_step_info {
    int64_t epoch;      /* 0-based: the epoch in progress */
    int64_t batch;      /* 1-based within the epoch */
    int64_t batches;    /* in the epoch */
    int64_t step;       /* optimiser steps taken before this one */
    int64_t batch_size; /* samples in this batch */
    double loss;        /* this batch's mean loss (after forward) */
    double epoch_loss;  /* the mean loss of the epoch's batches so far, this one included */
    double samples_per_sec; /* the epoch's training pace so far */
    double lr;
} gd_step_info;

/* Callbacks at fixed points of each step and epoch; any may be NULL. after_backward runs
 * before clipping and the optimiser's step, with the gradients in place (where data
 * parallelism reduces them and monitors read them). A callback may call gd_run_stop. */
typedef struct gd_observer {
    void *ctx;
    void (*after_forward)(void *ctx, gd_run *run, const gd_step_info *step);
    void (*after_backward)(void *ctx, gd_run *run, const gd_step_info *step);
    void (*after_step)(void *ctx, gd_run *run, const gd_step_info *step);
    void (*epoch_end)(void *ctx, gd_run *run, const gd_epoch_metrics *epoch);
} gd_observer;

#define GD_MAX_OBSERVERS 8

typedef enum gd_stop_reason {
    GD_STOP_COMPLETED,     /* every epoch ran */
    GD_STOP_EARLY,         /* patience epochs without a better validation metric */
    GD_STOP_REQUESTED,     /* an observer called gd_run_stop */
    GD_STOP_DIVERGED       /* the loss became NaN or infinite (GD_ERR_NUMERIC) */
} gd_stop_reason;

/* What a run did; history points into the run (valid until it is freed). */
typedef struct gd_run_result {
    gd_stop_reason stop;
    int64_t epochs;                 /* epochs done, resumed ones included */
    int64_t best_epoch;             /* the epoch model.safetensors holds (the last without
                                       validation) */
    double best_val_accuracy;       /* NaN without validation */
    bool validated;
    double final_train_loss;
    double train_seconds;           /* wall time of the epochs, validation and files */
    double samples_per_sec;         /* training samples per second of the training loops */
    int64_t diverged_epoch, diverged_step; /* 1-based, when stop is GD_STOP_DIVERGED */
    bool tested;                    /* a test set was there and gd_run_test ran */
    gd_evaluation test;
    const gd_epoch_metrics *history; /* one per epoch done */
    int64_t history_len;
} gd_run_result;

/* Loads the data, splits it, fits the preprocessing on the training split (or restores it
 * from the checkpoint), builds the model, the loader with its augmentation, the optimiser
 * and the schedule. On failure *out is NULL and err says which setting is wrong (messages
 * name the command line's flags). */
GD_API gd_status gd_run_create(gd_run **out, const gd_settings *s, const gd_run_options *opt,
                               gd_error *err);
GD_API void gd_run_free(gd_run *run);
GD_API const char *gd_run_error(const gd_run *run);
GD_API gd_status gd_run_add_observer(gd_run *run, const gd_observer *observer);
/* Asks the run to stop after the step in progress: gd_run_epoch and gd_run_fit return
 * then, and an epoch stopped before its end is abandoned (not counted, nothing written),
 * so that a resume repeats it whole. The request stands: later gd_run_epoch and
 * gd_run_fit calls return at once; gd_run_test still runs. */
GD_API void gd_run_stop(gd_run *run);

/* One training step on the next batch of the epoch in progress (starting an epoch when
 * none is); *epoch_done is set when that batch was the epoch's last, and the epoch is then
 * ended as gd_run_epoch ends it. GD_ERR_NUMERIC when the loss is not finite. */
GD_API gd_status gd_run_step(gd_run *run, bool *epoch_done);
/* The rest of the epoch in progress (or a whole new one), then validation, the best
 * model, the checkpoint and the metrics; *metrics gets the epoch's figures (may be NULL;
 * its epoch is 0 when gd_run_stop abandoned the epoch). */
GD_API gd_status gd_run_epoch(gd_run *run, gd_epoch_metrics *metrics);
/* Epochs until settings.epochs, early stopping or gd_run_stop; GD_ERR_NUMERIC when the
 * loss diverged (the result says where). Then tests the best model (gd_run_test). */
GD_API gd_status gd_run_fit(gd_run *run, gd_run_result *result);
/* Evaluates the best model (model.safetensors when the run has a folder, else the run's
 * own model) on the test set, giving back the training's memory first (the optimiser's
 * state, the training split, and with a folder the model), so no step can follow. */
GD_API gd_status gd_run_test(gd_run *run, gd_evaluation *out);
/* The result so far. */
GD_API void gd_run_result_get(const gd_run *run, gd_run_result *out);
/* The test's confusion matrix, once gd_run_test has run (gd_run_fit runs it): classes x
 * classes counts, row = true class, column = the model's guess, classes the model's
 * outputs (*classes, may be NULL). Owned by the run; NULL and *classes 0 before a test. */
GD_API const int64_t *gd_run_confusion(const gd_run *run, int *classes);

/* What gd_model_init_from did: counts of the model's tensors, and one line that says it,
 * "6 of 6 tensors copied" or with what did not match ("4 of 6 tensors copied; another
 * shape: 2.weight [5, 32] (file [10, 32]); not in the file: ...; unused in the file: ...",
 * at most three names a list, then "and N more"). */
typedef struct gd_init_report {
    int64_t tensors;  /* the model's (parameters and buffers) */
    int64_t copied;   /* found in the file with the same shape and dtype, and copied */
    int64_t reshaped; /* found under the same name with another shape or dtype: kept */
    int64_t missing;  /* not in the file: kept as initialised */
    int64_t unused;   /* the file's tensors that no tensor of the model has the name of
                         (preprocess.*, a checkpoint's optim.* and rng.state not counted) */
    char text[256];
} gd_init_report;
/* Copies into a built model every tensor of the safetensors file at path (a model file,
 * a checkpoint, or PyTorch's state_dict saved with safetensors) whose name the model has,
 * with the same shape and dtype: load_state_dict(strict=False), for fine-tuning. The
 * others keep their initial values and are counted in *report (may be NULL). Nothing
 * matching is GD_ERR_INVALID_ARGUMENT, naming the file, with the report's line; an
 * unreadable file GD_ERR_IO, a malformed one GD_ERR_FORMAT; on failure nothing changes. */
GD_API gd_status gd_model_init_from(gd_model *m, const char *path, gd_init_report *report,
                                    gd_error *err);
/* What the run's --init-from copied, or NULL when it copied nothing: no --init-from, or a
 * resumed run (its weights are the checkpoint's). The preprocessing is not taken from
 * the file: it is fitted on the run's training split, as for any fresh run. */
GD_API const gd_init_report *gd_run_init_report(const gd_run *run);

/* The run's parts, owned by the run (NULL once gd_run_test has given them back). */
GD_API gd_model *gd_run_model(gd_run *run);
GD_API gd_optimizer *gd_run_optimizer(gd_run *run);
GD_API const gd_settings *gd_run_settings(const gd_run *run);
GD_API gd_dataset *gd_run_dataset(gd_run *run, const char *split); /* "train", "val", "test" */
GD_API int64_t gd_run_batches_per_epoch(const gd_run *run);
GD_API int64_t gd_run_parameter_count(const gd_run *run);
/* True when the model has batch norm, which mixes the samples of a batch in training. */
GD_API bool gd_run_has_batchnorm(const gd_run *run);

/* ---------------------------------------------------------- Gradient check */

/* The numerical gradient check (CS231n's "gradient checks"): backpropagation's gradient of
 * a scalar objective L, with respect to the input batch (optional) and to every float32
 * parameter tensor (weights and biases alike), compared element by element with central
 * differences of L.
 *
 * Numeric gradient: x is moved by +-h and L re-evaluated by a forward pass; differences at
 * h and h/2 are combined by Richardson extrapolation, (4 D(h/2) - D(h)) / 3, which leaves a
 * truncation error of O(h^4) instead of O(h^2) (batch norm's curvature makes the plain
 * O(h^2) visible at a float32-sized h). The steps are those actually taken after rounding
 * x +- h to float. The model stays in the mode it is in (training or evaluation); in
 * training, dropout's masks are held fixed by restoring the model's generator before every
 * forward. A difference that straddles a kink (ReLU at 0, max-pooling and maxout ties)
 * measures neither side's slope: keep inputs further than h from kinks, or set
 * kink_tolerance (1e-2 works) and check a batch of one to four samples, as the lecture
 * advises: the more samples, the more units sit near a kink (with 32 samples through two
 * layers of 64 ReLU units, nearly half the weights' elements straddle one).
 *
 * Relative error of one element, analytic a and numeric n:
 *     |a - n| / max(|a|, |n|, floor * max(T, 0.2 * M)),
 * T the largest |analytic| entry of the tensor (every element, sampled or not), M the
 * largest of every tensor checked. The lecture's definition has no floor (floor 0 gives
 * it); float32 needs one. An element whose true gradient is near zero carries only the
 * differences' rounding noise, ~1e-5 absolute, and would read as 100% wrong: the tensor
 * term judges it on its tensor's scale, while a 1% or sign error still shows in full on
 * the tensor's large elements. A tensor whose gradient is zero throughout (a linear's bias
 * before batch norm, which removes any shift) has only noise to compare: the model term
 * judges it on the model's scale. The price: with floor 0.1, a 1% error in a tensor whose
 * gradients are all below 1/250 of the model's largest no longer reaches the tolerance (a
 * flipped sign still does down to 1/50,000).
 *
 * Float32 floor: every forward rounds each activation to float32 (relative 6e-8), so L
 * carries an absolute error ~1e-7 of its scale; a difference divides it by 2h = 2e-2 and
 * Richardson's weights amplify it ~3x, giving ~1e-5 absolute noise in each numeric
 * gradient, against gradients of 1e-2 to 1. Measured over the test suite's 59 checks of
 * correct layers (probe objective, h = 1e-2, every element): median 6e-5, 90% below
 * 3.3e-4, worst 1.2e-3 (batch norm, convolutions, residual blocks); whole small models
 * under cross-entropy measure 4e-4 to 1e-3. Correct float32 code thus lands in the
 * lecture's "fine only with kinks" (1e-7 to 1e-4) or "uncomfortable" (1e-4 to 1e-2)
 * bands, never below 1e-7, which assumes double precision. A smaller h does not help:
 * the noise grows as 1/h (h = 1e-3 measured 2e-3 to 4e-3 on a ReLU network). Hence the
 * classification (gd_gradcheck_classify) keeps the lecture's bands and splits
 * "uncomfortable" at GD_GRADCHECK_FLOAT32_TOL = 2e-3, the test suite's tolerance: at or
 * below it a float32 check passes; a planted 1% scale error (relative error 0.0099) or a
 * flipped sign (2) fails it. Below 1e-4 the lecture's "fine only with kinks" cannot be
 * told apart from float32 noise, so a smooth model there passes too.
 *
 * Cost: four forwards per checked element (and a backward once); sample K elements per
 * tensor to check a large model. The model's parameters, buffers (batch norm's running
 * statistics), generator and input-gradient switch are as they were afterwards; its
 * gradients hold the analytic gradient of L, and its activations those of the last
 * evaluation. */

#define GD_GRADCHECK_FLOAT32_TOL 2e-3
#define GD_GRADCHECK_DEFAULT_STEP 1e-2

typedef enum gd_gradcheck_objective {
    GD_GRADCHECK_PROBE,   /* L = sum(output * R), R uniform in [-1, 1) drawn from seed: every
                             output element gets a distinct weight, good for one layer */
    GD_GRADCHECK_LOSS,    /* L = gd_model_loss(loss, labels, targets): the whole model as
                             training sees it, e.g. with its cross-entropy */
    GD_GRADCHECK_CALLBACK /* L = fn(m, ctx, &L), run after each forward; fn writes dL/doutput
                             into gd_model_output_grad(m), as gd_model_loss does */
} gd_gradcheck_objective;

typedef gd_status (*gd_gradcheck_fn)(gd_model *m, void *ctx, double *value);

typedef struct gd_gradcheck_options {
    gd_gradcheck_objective objective;
    const gd_loss *loss;      /* GD_GRADCHECK_LOSS, with labels or targets as it needs */
    const int32_t *labels;
    const float *targets;
    gd_gradcheck_fn fn;       /* GD_GRADCHECK_CALLBACK */
    void *ctx;
    int64_t samples;          /* at most this many elements per tensor, drawn without
                                 replacement from seed; 0: every element */
    double step;              /* h, > 0 */
    double floor;             /* the relative error's floor, >= 0: a fraction of the
                                 tensor's largest analytic entry or of a fifth of the
                                 model's, whichever is larger (see above) */
    double kink_tolerance;    /* > 0: an element whose differences at h and h/2 disagree by
                                 more than this (relative) straddles a kink and is counted,
                                 not compared; 0: off */
    uint64_t seed;            /* R and the sampled indices: the same seed, the same result */
    bool check_input;         /* also check dL/dinput (the first entry, named "input") */
} gd_gradcheck_options;

/* PROBE, every element, h = GD_GRADCHECK_DEFAULT_STEP, floor 0.1, kinks not set aside,
 * seed 7, input checked. */
GD_API gd_gradcheck_options gd_gradcheck_defaults(void);

/* One tensor's comparison. */
typedef struct gd_gradcheck_tensor {
    const char *name;         /* "input" or the parameter's name, "0.weight" (the model's
                                 string: valid while the model lives) */
    int64_t numel;            /* elements in the tensor */
    int64_t checked;          /* elements evaluated */
    int64_t kinks;            /* of those, set aside as straddling a kink */
    int64_t worst_index;      /* flat index of the worst one compared (-1 when none) */
    double worst_error;       /* its relative error (NaN when a value was not finite) */
    double analytic, numeric; /* the two gradients there */
} gd_gradcheck_tensor;

/* The caller's array and what the check wrote into it. */
typedef struct gd_gradcheck_result {
    gd_gradcheck_tensor *tensors; /* in: capacity entries */
    size_t capacity;              /* in: at least gd_gradcheck_tensor_count(m, ...) */
    size_t count;                 /* out: entries written, input first, then the
                                     parameters in gd_model_tensor_at order */
    size_t worst;                 /* out: the entry with the largest worst_error */
    double worst_error;           /* out: its worst_error, the overall worst */
} gd_gradcheck_result;

/* The entries a check of m writes: its float32 parameter tensors, plus one for the input. */
GD_API size_t gd_gradcheck_tensor_count(const gd_model *m, bool check_input);

/* Checks a built model on an input batch (opt NULL: gd_gradcheck_defaults()). GD_OK means
 * the check ran, not that the gradients agree: judge result->worst_error (or each entry)
 * with gd_gradcheck_classify. Fails with GD_ERR_INVALID_ARGUMENT for bad options or a
 * capacity below the count (result->count then says how many are needed), with the
 * model's own status when a forward, the loss, the callback or the backward fails, and
 * GD_ERR_NO_MEMORY; err (may be NULL) says why. It allocates copies of the input, its
 * gradient and the model's buffers. */
GD_API gd_status gd_gradcheck(gd_model *m, const gd_tensor *input,
                              const gd_gradcheck_options *opt, gd_gradcheck_result *result,
                              gd_error *err);

/* The lecture's bands for a relative error, with the float32 tolerance splitting its
 * "uncomfortable" band. A float32 check passes at GD_GRADCHECK_FLOAT32_NOISE or better. */
typedef enum gd_gradcheck_verdict {
    GD_GRADCHECK_GOOD,          /* < 1e-7: "you should be happy" (double precision only) */
    GD_GRADCHECK_KINKS_ONLY,    /* 1e-7 to 1e-4: fine with kinks (ReLU, max-pooling,
                                   maxout); in double, too high for a smooth model, in
                                   float32 its usual floor */
    GD_GRADCHECK_FLOAT32_NOISE, /* above 1e-4 to GD_GRADCHECK_FLOAT32_TOL: "uncomfortable"
                                   in double, within float32's rounding noise */
    GD_GRADCHECK_UNCOMFORTABLE, /* above GD_GRADCHECK_FLOAT32_TOL to 1e-2 */
    GD_GRADCHECK_WRONG          /* above 1e-2, or NaN: the gradient is probably wrong */
} gd_gradcheck_verdict;

GD_API gd_gradcheck_verdict gd_gradcheck_classify(double relative_error);
/* "good", "fine only with kinks", "float32 noise", "uncomfortable", "wrong". */
GD_API const char *gd_gradcheck_verdict_name(gd_gradcheck_verdict verdict);

/* ---------------------------------------------------------------- Monitors */

/* A training monitor (CS231n's "babysitting the learning process"), cheap enough to leave
 * on: an observer that gd_monitor_create attaches to a run (gd_run_add_observer). Every
 * step it records the loss and, for each ReLU layer, which units fired (output > 0) on
 * any sample. Every `interval` steps it records, per layer of gd_model_layer_at (its
 * output on that step's batch): the mean, the standard deviation and a histogram of
 * GD_MONITOR_BINS equal bins over a fixed range (sigmoid [0, 1], tanh [-1, 1], every other
 * kind [-5, 5]) with one more count below the range and one at or above it; for sigmoid
 * and tanh the fraction of outputs saturated (sigmoid outside [0.01, 0.99], |tanh| >
 * 0.99: their gradient there is below 1% of its peak, "saturated neurons kill the
 * gradients"); for ReLU the fraction of units that never fired in the interval's steps
 * (dead units). Per parameter tensor it records the gradient's norm (after backward,
 * before clipping) and the ratio of that step's update norm to the weights' norm (the
 * lecture's "around 1e-3"); the weights before the step are copied into memory taken at
 * creation, so no step allocates.
 *
 * Warnings, each a sentence with the value and the threshold that fired, go to the
 * options' callback and to the file; a condition that persists is reported once, when it
 * starts, and again only after it has cleared. When the loss exceeds loss_stop_factor
 * times the first loss the monitor saw, it stops the run (gd_run_stop; the lecture's "the
 * loss is more than 3x the original loss: quit early"); gd_monitor_stopped then says so.
 *
 * With a folder, records are appended to DIR/monitor.jsonl, one JSON object per line, each
 * line written by a single write() on a file opened O_APPEND: a reader may read the file
 * while the run writes it, and a kill loses at most the line being written. The format
 * is documented in docs/monitor.md. The default interval, 100 steps, is 12,800 samples at
 * the default batch of 128: enough that a unit silent over all of them is dead, not
 * unlucky, about 5 records per Fashion-MNIST epoch, and few enough that their cost (a
 * record takes about 0.6 of a step of the default MLP) is under 1% of the training time:
 * bench/monitor_overhead.c measures about 1%, within its noise (docs/monitor.md).
 *
 * The monitor reads the run's model in its callbacks; free it after the run's last step
 * (a run has no way to remove an observer). One monitor per run. */
typedef struct gd_monitor gd_monitor;

#define GD_MONITOR_BINS 20
#define GD_MONITOR_DEFAULT_INTERVAL 100
/* The version of monitor.jsonl's records that this library writes. */
#define GD_MONITOR_SCHEMA 1

typedef enum gd_monitor_warning_kind {
    GD_WARN_SATURATED,         /* a sigmoid or tanh layer's outputs mostly saturated */
    GD_WARN_DEAD_UNITS,        /* a ReLU layer's units silent over a whole interval */
    GD_WARN_UPDATE_RATIO_LOW,  /* a weight's update/weight ratio: learning rate too low */
    GD_WARN_UPDATE_RATIO_HIGH, /* ... too high */
    GD_WARN_GRADIENT_JUMP,     /* a weight's gradient norm grew by a factor over its
                                  recent level */
    GD_WARN_LOSS_EXPLODED      /* the loss beyond loss_stop_factor x its first value: the
                                  run is stopped */
} gd_monitor_warning_kind;

typedef struct gd_monitor_warning {
    gd_monitor_warning_kind kind;
    const char *code;    /* "saturated", "dead_units", "update_ratio_low", ... (the file's) */
    const char *subject; /* the layer ("3") or tensor ("0.weight"); "loss" for the loss */
    double value, threshold;
    int64_t step;        /* 1-based optimiser step */
    const char *message; /* the whole sentence, e.g. "layer 3 (sigmoid): 91% of units
                            saturated (threshold 50%); gradients vanish there: try ReLU, a
                            smaller initialisation or batch norm" */
} gd_monitor_warning;

typedef struct gd_monitor_options {
    int64_t interval;         /* steps between records, >= 1 */
    const char *dir;          /* folder for monitor.jsonl (it must exist), or NULL: none */
    /* Warning thresholds; a warning fires strictly beyond its threshold. */
    double saturated_fraction; /* sigmoid/tanh outputs saturated (default 0.5) */
    double dead_fraction;      /* ReLU units silent over the interval (default 0.5) */
    double ratio_low, ratio_high; /* update/weight of tensors with 2 or more dimensions
                                     (weights, kernels; biases and batch-norm scales,
                                     whose norms start near 0 or 1, are recorded only):
                                     defaults 1e-5 and 1e-1, two orders of magnitude either
                                     side of the lecture's 1e-3; ratio_low is judged only
                                     while the step's rate is at least a tenth of the
                                     settings' lr, as a schedule's warm-up and annealed end
                                     make small updates by design */
    double gradient_jump;      /* a weight's gradient norm over its recent level, a moving
                                  average of the earlier records' norms, each new one
                                  weighted 0.3 (default 10; weights as for the ratios) */
    double loss_stop_factor;   /* stop when loss > this x the first loss (default 3; 0:
                                  never) */
    /* Called from inside the step for each warning (may be NULL); msg is valid during the
     * call only. */
    void (*on_warning)(void *ctx, const gd_monitor_warning *warning);
    void *ctx;
} gd_monitor_options;

/* Interval GD_MONITOR_DEFAULT_INTERVAL, no folder, the default thresholds, no callback. */
GD_API gd_monitor_options gd_monitor_defaults(void);

/* A monitor over run's model (built, with its optimiser), attached to run as an observer;
 * writes a "start" record. opt NULL: gd_monitor_defaults(). GD_ERR_INVALID_ARGUMENT for an
 * interval below 1 or a negative threshold, GD_ERR_STATE for a run past gd_run_test,
 * GD_ERR_IO when the file cannot be opened, GD_ERR_NO_MEMORY; then *out is NULL and err
 * (may be NULL) says why. */
GD_API gd_status gd_monitor_create(gd_monitor **out, gd_run *run, const gd_monitor_options *opt,
                                   gd_error *err);
GD_API void gd_monitor_free(gd_monitor *mon);
/* GD_OK, or the first failure to write the file (training goes on; nothing more is
 * written), with gd_monitor_error's detail. */
GD_API gd_status gd_monitor_status(const gd_monitor *mon);
GD_API const char *gd_monitor_error(const gd_monitor *mon);

/* One layer's figures at the latest record. */
typedef struct gd_monitor_layer {
    const char *name, *kind; /* the model's strings */
    int64_t units;           /* outputs per sample */
    double mean, std;        /* over the record step's batch and units */
    double lo, hi;           /* the histogram's range */
    int64_t histogram[GD_MONITOR_BINS + 2]; /* [0]: below lo; [1..BINS]: the bins; last:
                                               at or above hi (NaN counts nowhere) */
    double saturated;        /* sigmoid, tanh: fraction of outputs saturated; else NaN */
    double dead;             /* relu: fraction of units silent over the interval; else NaN */
} gd_monitor_layer;

/* One parameter tensor's figures at the latest record. */
typedef struct gd_monitor_tensor {
    const char *name;
    double grad_norm, weight_norm, update_norm;
    double update_ratio; /* update_norm / weight_norm; NaN when the weights are all 0 */
} gd_monitor_tensor;

/* Records taken so far (0 before the first interval ends), steps seen, warnings given. */
GD_API int64_t gd_monitor_records(const gd_monitor *mon);
GD_API int64_t gd_monitor_steps(const gd_monitor *mon);
GD_API int64_t gd_monitor_warning_count(const gd_monitor *mon);
/* True once the loss check stopped the run; *warning (may be NULL) gets its warning, whose
 * strings live as long as the monitor. */
GD_API bool gd_monitor_stopped(const gd_monitor *mon, gd_monitor_warning *warning);
GD_API size_t gd_monitor_layer_count(const gd_monitor *mon);
GD_API const gd_monitor_layer *gd_monitor_layer_at(const gd_monitor *mon, size_t index);
GD_API size_t gd_monitor_tensor_count(const gd_monitor *mon);
GD_API const gd_monitor_tensor *gd_monitor_tensor_at(const gd_monitor *mon, size_t index);

/* ------------------------------------------------------------ Setup checks */

/* Checks to run before a long training (CS231n's sanity checks, Karpathy's "recipe"), each
 * one library call on a gd_check_setup that fills a gd_check_result: the figures it
 * measured, a verdict and, for WARN and FAIL, one line of advice in plain words. GD_OK
 * means the check ran, whatever its verdict; a failure to run it (no memory, a model that
 * cannot be built, labels outside the model's classes) is the returned status and err.
 * The numbers are those of `gradus check`'s list; 6 (learning-rate range test) and 8 (a
 * picture of the first batch) are other calls.
 *
 * Every check makes its own fresh models through the setup's make_model, so checks may
 * run in any order and none changes another's model; each model starts from the
 * settings' seed. A check that trains uses the settings' optimiser, learning rate and
 * momentum at a constant rate (no schedule, no warm-up): it tests the run as configured,
 * so a learning rate too small to learn anything fails the overfit check. */

typedef enum gd_check_verdict {
    GD_CHECK_PASS,
    GD_CHECK_WARN, /* works, but something looks off: see the advice */
    GD_CHECK_FAIL, /* the setup is wrong: training would be wasted */
    GD_CHECK_SKIP  /* does not apply here (e.g. one example, a loss it cannot judge) */
} gd_check_verdict;

/* "PASS", "WARN", "FAIL", "SKIP". */
GD_API const char *gd_check_verdict_name(gd_check_verdict verdict);

/* Makes a fresh model for the setup's data (built for batches of at least
 * GD_CHECK_OVERFIT_EXAMPLES, or of the settings' batch size if larger), the same on
 * every call. */
typedef gd_status (*gd_check_model_fn)(void *ctx, gd_model **out, gd_error *err);

typedef struct gd_check_setup {
    const gd_settings *settings; /* spec, seed, optimiser, lr, momentum, weight decay,
                                    batch size (the rest is not read) */
    gd_dataset *data;            /* training examples, already preprocessed */
    gd_loss loss;                /* cross-entropy (what gd_run trains; smoothing is
                                    switched off where regularisation must be) or the
                                    multiclass hinge (margin > 0; 1 is the lecture's) */
    gd_check_model_fn make_model; /* NULL: settings->model and settings->seed, flat
                                     samples first, else the data's own shape, as
                                     gd_run_create builds */
    void *ctx;
} gd_check_setup;

#define GD_CHECK_MAX_FIGURES 24
#define GD_CHECK_TEXT 512

/* One measured number, by name ("loss", "expected", "0.weight"). */
typedef struct gd_check_figure {
    char name[48];
    double value;
} gd_check_figure;

typedef struct gd_check_result {
    int number;                  /* its place in the list, 1 to 8 */
    const char *name;            /* "initial_loss", "gradients", "overfit", "baseline",
                                    "batch_independence", "determinism" */
    const char *title;           /* "loss at initialisation", ... */
    gd_check_verdict verdict;
    char summary[GD_CHECK_TEXT]; /* the figures in words, one sentence or two */
    char advice[GD_CHECK_TEXT];  /* WARN, FAIL: what to do; else empty */
    size_t nfigures;
    gd_check_figure figures[GD_CHECK_MAX_FIGURES];
} gd_check_result;

/* 1. The loss at initialisation, regularisation off (no L2, no label smoothing), on one
 * batch (the first min(batch size, 128) examples) in training mode, as the first step
 * sees it: near ln C for softmax cross-entropy, (C - 1) x margin for the hinge, C the
 * model's outputs. Tolerance 10% (PASS), 50% (WARN), else FAIL: with logits of variance
 * s^2 independent of the label, a second-order expansion of log-sum-exp gives E[loss] =
 * ln C + (C - 1) s^2 / (2 C), so 10% of ln 10 admits logits of standard deviation up to
 * 0.72 and 50% up to 1.6. The default MLP on Fashion-MNIST measures 2.345 (1.8% above
 * ln 10: logits of deviation 0.3); its last layer's weights scaled x10 give 7.1, x100
 * 68, and a two-layer MLP scaled x100 throughout 3000. The hinge is flatter (each term
 * stays at the margin while logits differ by less than it): the same bands are looser.
 * Then L2 (gd_model_l2_penalty) at lambda 1e-3 and 1e-2 must raise the loss, strictly,
 * each time: FAIL when it does not (no decayed weights, or all of them zero). */
GD_API gd_status gd_check_initial_loss(const gd_check_setup *setup, gd_check_result *out,
                                       gd_error *err);

/* 2. gd_gradcheck of the whole model with the setup's loss, in training mode (batch norm's
 * batch statistics; dropout's masks fixed by the check's rewound generator), seeds fixed,
 * every float32 parameter tensor, at most GD_CHECK_GRADIENT_SAMPLES elements each, kinks
 * set aside at a tolerance of GD_CHECK_GRADIENT_KINKS, repeated GD_CHECK_GRADIENT_RUNS
 * times on successive batches of GD_CHECK_GRADIENT_EXAMPLES examples with their own
 * sampling seeds. Each tensor's figure is the median of its runs' worst relative errors;
 * the largest median is judged by gd_gradcheck_classify: up to GD_GRADCHECK_FLOAT32_TOL
 * PASS, "uncomfortable" WARN, "wrong" FAIL. Why a median: a difference that straddles a
 * ReLU kink within h/2 of the point agrees at h and h/2 and escapes the kink test, and in
 * training mode one weight moves batch norm's statistics and so every sample's units;
 * measured on the default MLP and Fashion-MNIST over 10 seeds, one run's worst error was
 * float32 noise (1e-4 to 1e-3) for 7 seeds and 4e-3 to 0.14 for 3, each time at a
 * different tensor. Such a coincidence rarely repeats in the same tensor in three runs of
 * five, while a bug in a layer's backward shows in every run (a flipped sign reads 2, a
 * 1% error 1e-2). */
#define GD_CHECK_GRADIENT_EXAMPLES 4
#define GD_CHECK_GRADIENT_SAMPLES 20
#define GD_CHECK_GRADIENT_RUNS 5
#define GD_CHECK_GRADIENT_KINKS 1e-3
GD_API gd_status gd_check_gradients(const gd_check_setup *setup, gd_check_result *out,
                                    gd_error *err);

/* 3. Overfitting a tiny subset: the first GD_CHECK_OVERFIT_EXAMPLES examples, no weight
 * decay, no label smoothing and no augmentation (dropout, part of the model, stays), in
 * batches of up to the settings' batch size, for at most GD_CHECK_OVERFIT_STEPS steps.
 * Judged in evaluation mode every 10 steps: PASS once the training accuracy is 100% and
 * the mean loss below GD_CHECK_OVERFIT_LOSS (a loss of 0.05 means the right class gets
 * 95% probability on average); WARN at 100% accuracy with a higher loss; FAIL below 100%.
 * Adam at 1e-3 (the default) gets the default MLP there in 20 steps; 300 leaves fifteen
 * times that for slower optimisers, rates and smaller networks (a 32-unit MLP at 1e-3
 * ends at 100% with a loss of 0.08: WARN), while a rate of 1e-9 stays at ln C (FAIL). */
#define GD_CHECK_OVERFIT_EXAMPLES 20
#define GD_CHECK_OVERFIT_STEPS 300
#define GD_CHECK_OVERFIT_LOSS 0.05
GD_API gd_status gd_check_overfit(const gd_check_setup *setup, gd_check_result *out,
                                  gd_error *err);

/* 4. An input-independent baseline: check 3's training, once on the real examples and
 * once on all-zero inputs with the same labels and seed, run for all its steps. A model
 * that ignores its input can do no better than predict the labels' frequencies, whose
 * cross-entropy is the labels' entropy H (2.0 to 2.3 for 20 examples of 10 classes).
 * "Clearly worse": the zero-input loss must exceed the real one by at least H / 2 (PASS),
 * else FAIL; the accuracies are figures. SKIP when the examples have one label only (H =
 * 0) or the loss is the hinge (whose blind optimum is not H: only the gap is shown). */
GD_API gd_status gd_check_baseline(const gd_check_setup *setup, gd_check_result *out,
                                   gd_error *err);

/* 5. Batch independence: on a batch of GD_CHECK_BATCH_EXAMPLES examples in evaluation
 * mode, the gradient of sample i's output (random weights on its outputs, zero on every
 * other sample's) with respect to the input of sample j != i must be exactly zero, for
 * each i: any nonzero entry means some layer mixes samples (a reshape across the batch,
 * a reduction over the wrong axis): FAIL. The same is measured in training mode, where
 * batch norm mixes samples by design (its mean and variance are the batch's): with batch
 * norm that is a note in the summary, without it a nonzero leak is a FAIL too. WARN when
 * no gradient reaches the input at all. The figures: the largest |dx_j| over the largest
 * |dx_i|, per mode. */
#define GD_CHECK_BATCH_EXAMPLES 4
GD_API gd_status gd_check_batch_independence(const gd_check_setup *setup,
                                             gd_check_result *out, gd_error *err);

/* 7. Determinism: two trainings of GD_CHECK_DETERMINISM_STEPS steps from fresh models of
 * the same seed, on the same batches (the settings' batch size, weight decay included),
 * must end with the same bits in every parameter and buffer and the same losses. FAIL
 * names the first tensor that differs. (Threads: both runs use the process's thread
 * count; the library's results do not depend on it at a fixed count.) */
#define GD_CHECK_DETERMINISM_STEPS 5
GD_API gd_status gd_check_determinism(const gd_check_setup *setup, gd_check_result *out,
                                      gd_error *err);

/* ------------------------- Learning-rate range test and what the network sees */

/* The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural
 * Networks", 2017; fastai's lr_find): train from the model's current state while the
 * learning rate grows exponentially, lr_i = lr_min * (lr_max / lr_min)^(i / (steps - 1)),
 * and record each step's loss, taken by the forward before that step's update (as fastai
 * and PyTorch Lightning record it). The loss is smoothed by an exponential moving average
 * with bias correction, s_i = a_i / (1 - beta^(i+1)), a_i = beta a_(i-1) + (1 - beta) x_i,
 * which averages about 1 / (1 - beta) = 50 batches at beta 0.98; the test stops once s
 * exceeds diverge_factor (4) times the lowest s so far, or at the first loss (or smoothed
 * loss) that is not finite, which is then left off the curve.
 *
 * Default: 1e-7 to 10 in 300 steps, 37.5 points per decade. fastai's 100 steps put 12.5
 * points in a decade while the average spans 50 of them, so the smoothed curve lags the
 * raw one by about 34 steps, 2.7 decades; at 300 the lag is about 49 steps, 1.3 decades,
 * at a cost of 300 batches (0.64 of a Fashion-MNIST epoch at batch 128). More steps make
 * the lag smaller still, in decades, for what each step costs.
 *
 * Suggestions are read from the smoothed curve without its first tenth (the average is
 * still settling there) and its last skip_end points (where it turns up to the stop):
 *   steepest: the most negative d s / d log(lr), by central differences;
 *   valley:   the middle of the longest descending stretch, the longest strictly
 *             decreasing subsequence of s (not necessarily contiguous, so a single noisy
 *             uptick does not split a descent: fastai's "valley");
 *   minimum:  the learning rate of the lowest s, divided by 10.
 * The default is their median (in log lr): one rule's wild answer cannot move it. The
 * result has low confidence when the rules' largest suggestion is more than
 * disagreement (10) times their smallest, when the smoothed loss never falls below
 * (1 - min_fall) times its first value, or when the curve is too short to judge.
 *
 * The caller's model is left as found: gd_lr_range_test_model copies the parameters,
 * their gradients, the buffers (batch norm's running statistics), the optimiser's state,
 * step count and learning rate, the model's generator and its training mode, and puts
 * them back afterwards, bit for bit (its activations hold the test's last batch). */

typedef enum gd_lr_range_stop {
    GD_LR_STOP_COMPLETED,  /* every step ran, up to lr_max */
    GD_LR_STOP_DIVERGED,   /* the smoothed loss passed diverge_factor x its best */
    GD_LR_STOP_NON_FINITE  /* a loss was NaN or infinite: the curve ends before it */
} gd_lr_range_stop;

typedef enum gd_lr_rule {
    GD_LR_RULE_STEEPEST, GD_LR_RULE_VALLEY, GD_LR_RULE_MINIMUM, GD_LR_RULES
} gd_lr_rule;

typedef struct gd_lr_range_options {
    double lr_min, lr_max;   /* 0 < lr_min < lr_max */
    int64_t steps;           /* >= 2 */
    double beta;             /* the smoothing, in [0, 1) */
    double diverge_factor;   /* > 1 */
    double skip_start;       /* fraction of the curve left off the suggestions' start, [0, 1) */
    int64_t skip_end;        /* points left off their end, >= 0 */
    double disagreement;     /* > 1 */
    double min_fall;         /* in [0, 1) */
} gd_lr_range_options;

/* 1e-7 to 10 in 300 steps, beta 0.98, stop at 4x, skip the first 0.1 and the last 5
 * points, disagreement 10, min_fall 0.02. */
GD_API gd_lr_range_options gd_lr_range_defaults(void);

/* A point on the curve that a rule chose; index -1 and lr NaN when the rule found none.
 * The minimum rule's lr is the minimum's / 10, and its index the curve's point nearest
 * that lr (at least 0). */
typedef struct gd_lr_suggestion {
    double lr;
    int64_t index;
    double loss; /* the smoothed loss at index */
} gd_lr_suggestion;

/* The curve (arrays of `points` entries, malloc'd: gd_lr_range_result_free) and what was
 * read from it. */
typedef struct gd_lr_range_result {
    int64_t points;
    double *lr, *loss, *smoothed;
    gd_lr_range_stop stop;
    int64_t best_index;                  /* the lowest smoothed loss */
    int64_t window_start, window_end;    /* the points the rules read: [start, end) */
    gd_lr_suggestion rules[GD_LR_RULES]; /* by gd_lr_rule */
    gd_lr_rule chosen;                   /* the median's rule */
    gd_lr_suggestion suggestion;         /* = rules[chosen] */
    double spread;                       /* largest / smallest rule lr */
    bool loss_fell;                      /* below (1 - min_fall) x the first smoothed loss */
    bool low_confidence;
} gd_lr_range_result;

GD_API void gd_lr_range_result_free(gd_lr_range_result *r);
/* "steepest", "valley", "minimum/10". */
GD_API const char *gd_lr_rule_name(gd_lr_rule rule);
/* "completed", "diverged", "non-finite". */
GD_API const char *gd_lr_range_stop_name(gd_lr_range_stop stop);

/* The test on a built model with its optimiser, drawing batches from loader (epochs 0,
 * 1, ... restarted as each ends, so the loader's position is not kept), under loss;
 * clip_norm > 0 clips as training does. opt NULL: gd_lr_range_defaults(). On failure
 * (GD_ERR_INVALID_ARGUMENT for bad options, the model's status for a failed step,
 * GD_ERR_NO_MEMORY) *result is empty and err (may be NULL) says why; the model is put
 * back all the same. A curve cut at its first point leaves result->points 0 and GD_OK. */
GD_API gd_status gd_lr_range_test_model(gd_model *m, gd_optimizer *optim, gd_loader *loader,
                                        const gd_loss *loss, double clip_norm,
                                        const gd_lr_range_options *opt,
                                        gd_lr_range_result *result, gd_error *err);
/* The test on a run's model and optimiser, as its training steps would go: its loss
 * (cross-entropy with the settings' label smoothing) and clipping, over a loader of its
 * own on the run's training split with the run's batch size, shuffle, seed, drop_last rule
 * and augmentation, so the run's own loader and epoch are not disturbed.
 * GD_ERR_STATE after gd_run_test. */
GD_API gd_status gd_lr_range_test(gd_run *run, const gd_lr_range_options *opt,
                                  gd_lr_range_result *result, gd_error *err);

/* A new loader (the caller's to free, before the run) over the run's training split as
 * the run's own is made: its batch size, shuffle, seed, drop_last rule (a last batch of one
 * sample is skipped under batch norm) and augmentation, starting at epoch 0. The range
 * test and the batch picture read their batches from one, so the run's epoch is kept.
 * GD_ERR_STATE after gd_run_test. */
GD_API gd_status gd_run_training_loader(gd_run *run, gd_loader **out, gd_error *err);

/* The curve as an SVG figure (width x height px, 0: 640 x 400): loss against the learning
 * rate on a log axis with decade ticks, the raw loss in a light line and the smoothed one
 * as a path of one point per curve point, the rules' points and the default marked, axes
 * labelled "learning rate (log scale)" and "loss". *svg is malloc'd text. */
GD_API gd_status gd_lr_range_svg(const gd_lr_range_result *r, int width, int height,
                                 char **svg, size_t *len, gd_error *err);
/* The same, written atomically to path. */
GD_API gd_status gd_lr_range_write_svg(const gd_lr_range_result *r, const char *path,
                                       gd_error *err);

/* What the network sees: a PNG of a batch exactly as it enters the model, values mapped to
 * grey levels by the batch's own range, round(255 (x - min) / (max - min)) over every
 * finite value of the batch (a constant batch is all 128; a value that is not finite is
 * drawn magenta, (255, 0, 255)). The range is the batch's, not the data's, so the picture
 * shows what preprocessing and augmentation did, and its numbers say where 0 and 255 lie.
 *
 * Samples of C x H x W with C 1 or 3 (or H x W) are tiles in a grid of cols columns
 * (0: ceil(sqrt(n))), each value a scale x scale block (0: 64 / max(H, W), 1 to 8), the
 * three channels as red, green and blue; any other shape is a heat map, one row of
 * row_height (0: 12) pixels per sample and each value a block scale pixels wide (0: 512 /
 * values, 1 to 8). Each sample's label is written in digits in a built-in 3 x 5 font
 * drawn at 2x (below a tile, left of a row), and a last line gives the batch's mean,
 * standard deviation, min and max, which the PNG also carries as its "Description" text
 * with every label. The picture is 8-bit RGB; it is refused (GD_ERR_LIMIT) beyond 16384
 * pixels a side or the memory limit.
 *
 * Layout, in pixels: 4 around and between tiles; under each tile a label strip of 14 (none
 * without labels); a heat map's labels in a column of 8 a digit plus 4; the numbers' line,
 * "MEAN %.4G  STD %.4G  MIN %.4G  MAX %.4G", 14 high at the bottom, and the picture at
 * least 8 a character plus 8 wide to hold it. Tiles: width 4 + cols (W scale + 4), height
 * 4 + rows (H scale + 14 + 4) + 14. Heat map: width 4 + label column + values scale + 4,
 * height 4 + n row_height + 4 + 14. */
typedef struct gd_batch_picture_options {
    int cols, scale, row_height;
} gd_batch_picture_options;

/* Where things are: sample i's value at (row y, column x) of channel c (x the feature for
 * a heat map, y 0) fills the block of value_w x value_h pixels whose top-left is
 * (x0 + (i % cols) * pitch_x + x * value_w, y0 + (i / cols) * pitch_y + y * value_h). */
typedef struct gd_batch_picture_info {
    int width, height;
    int64_t samples;
    bool images;           /* tiles (true) or a heat map */
    int cols, rows;
    int x0, y0, pitch_x, pitch_y, value_w, value_h;
    double mean, std;      /* over every finite value (std: population, divided by N) */
    double min, max;
    int64_t values, nonfinite;
} gd_batch_picture_info;

/* Encodes the batch x (n x sample shape; x->dims[0] samples) with its labels (NULL: none
 * written) as PNG into *png (malloc'd). opt and info may be NULL. */
GD_API gd_status gd_batch_picture_png(const gd_tensor *x, const int32_t *labels,
                                      const gd_batch_picture_options *opt,
                                      unsigned char **png, size_t *len,
                                      gd_batch_picture_info *info, gd_error *err);
/* The same, written atomically to path. */
GD_API gd_status gd_batch_picture_write(const gd_tensor *x, const int32_t *labels,
                                        const gd_batch_picture_options *opt, const char *path,
                                        gd_batch_picture_info *info, gd_error *err);
/* The first training batch of a run as its first step sees it: from a loader of its own
 * over the run's training split (after preprocessing) with the run's batch size, seed,
 * shuffle, drop_last rule and augmentation at epoch 0, in the data set's own sample shape
 * (the model may see the same numbers flattened), so the run's loader is not disturbed.
 * GD_ERR_STATE after gd_run_test. */
GD_API gd_status gd_run_batch_picture(gd_run *run, const char *path,
                                      const gd_batch_picture_options *opt,
                                      gd_batch_picture_info *info, gd_error *err);

/* ---------------------------------------------------- hyperparameter search */

/* The foundations of `gradus search` (docs/search.md): a search space, the samplers that
 * draw trial k's parameters from it, and the study journal. Trial k's parameters and its
 * own training seed are a pure function of (study seed, k), so a study means the same
 * trials whatever the number of workers and the order in which trials finish. */

/* A space holds at most GD_SPACE_MAX_PARAMS parameters (the quasi-random sampler's
 * dimensions); a choice at most GD_PARAM_MAX_OPTIONS options; a value's text fits
 * GD_PARAM_TEXT_MAX bytes with its NUL. */
#define GD_SPACE_MAX_PARAMS 32
#define GD_PARAM_MAX_OPTIONS 64
#define GD_PARAM_TEXT_MAX 64

typedef enum gd_param_kind {
    GD_PARAM_UNIFORM,    /* uniform(lo, hi): a real in [lo, hi] */
    GD_PARAM_LOGUNIFORM, /* loguniform(lo, hi), 0 < lo: its logarithm uniform */
    GD_PARAM_INT,        /* int(lo, hi): an integer in [lo, hi], each equally likely */
    GD_PARAM_LOGINT,     /* logint(lo, hi), 1 <= lo: an integer, its logarithm uniform */
    GD_PARAM_CHOICE      /* choice(a, b, ...): one of the options (text or numbers) */
} gd_param_kind;

/* One parameter as the space holds it; views into the space, valid while it lives. */
typedef struct gd_param_info {
    const char *name;     /* a setting's key ("weight_decay") or a {name} of the spec */
    gd_param_kind kind;
    double lo, hi;        /* the range of the numeric kinds */
    int options;          /* choice: how many */
    const char *const *option; /* choice: each option's text, as written */
    int parent;           /* the earlier choice the condition is on; -1: always active */
    uint64_t when;        /* the parent's options (bit i: option i) that make it active */
    bool placeholder;     /* after gd_space_bind: a {name} of the model spec */
    const char *origin;   /* where it was given: "--param 2", "space.txt line 3" */
} gd_param_info;

typedef struct gd_space gd_space;

GD_API gd_status gd_space_create(gd_space **out);
GD_API void gd_space_free(gd_space *sp);
/* Adds one parameter from its text, "lr=loguniform(1e-4, 1e-1)" or
 * "momentum=uniform(0.5, 0.99) if optim=sgd" (the grammar: docs/search.md). origin names
 * where the text came from, for messages: "--param 2" gives "--param 2, column 14: ...".
 * A bad text is GD_ERR_INVALID_ARGUMENT with the column and what is wrong; the space is
 * then unchanged. Blank text or a comment alone adds nothing. */
GD_API gd_status gd_space_add(gd_space *sp, const char *text, const char *origin,
                              gd_error *err);
/* Adds every parameter of a space file (one a line, '#' comments, blank lines):
 * GD_ERR_IO when it cannot be read, GD_ERR_INVALID_ARGUMENT naming "FILE line N, column C"
 * for a bad line (the space keeps the lines before it). */
GD_API gd_status gd_space_read(gd_space *sp, const char *path, gd_error *err);
GD_API int gd_space_count(const gd_space *sp);
/* The index-th parameter, in the order they were added (NULL past the end). */
GD_API const gd_param_info *gd_space_param(const gd_space *sp, int index);
/* The index of the parameter named name, or -1. */
GD_API int gd_space_find(const gd_space *sp, const char *name);
/* Gives each parameter its role against the trainer's settings and the model spec (its
 * text, with {name} placeholders; NULL: none): a name that is a {name} of the spec is a
 * placeholder, else it must be a setting (gd_setting_find) other than model and seed
 * (each trial has its own seed), taking every value the parameter can (a whole-number
 * setting an int, logint or choice of integers; a text setting a choice; both ends of a
 * range and each option through gd_settings_set); a name both is refused, as is a
 * placeholder with a condition (the spec needs it in every trial) and a {name} of the
 * spec that no parameter fills. GD_ERR_INVALID_ARGUMENT naming the parameter's origin
 * and column, or --model. */
GD_API gd_status gd_space_bind(gd_space *sp, const char *model_spec, gd_error *err);

/* How trials are drawn. Trial k's values come from unit numbers u in [0, 1), one per
 * parameter in the space's order whether or not it is active (so a parameter keeps its
 * dimension), mapped to its kind; docs/search.md gives each derivation. */
typedef enum gd_sampler_kind {
    GD_SAMPLER_RANDOM, /* u from a generator seeded by (study seed, k) alone */
    GD_SAMPLER_GRID,   /* every combination, the last parameter changing fastest */
    GD_SAMPLER_SOBOL   /* Sobol's sequence (Joe and Kuo's direction numbers), point k,
                          digitally shifted by the study seed */
} gd_sampler_kind;

typedef struct gd_sampler_options {
    gd_sampler_kind kind;
    uint64_t seed;   /* the study's */
    int grid_points; /* grid: points on each continuous range, ends included (0: 3);
                        an integer range gives at most as many, a choice every option */
} gd_sampler_options;

/* Trial k's parameters and seed. text[i] is parameter i's value as gd_settings_set takes
 * it back exactly (shortest round-trip digits for a real, an integer, or the option);
 * an inactive parameter (its condition does not hold) has text "" and value NaN. */
typedef struct gd_trial_point {
    uint64_t trial;
    uint64_t seed;  /* the trial's own training seed: gd_trial_seed(study seed, trial) */
    int count;      /* the space's parameters */
    bool active[GD_SPACE_MAX_PARAMS];
    double value[GD_SPACE_MAX_PARAMS]; /* the number; a choice: the option's index */
    char text[GD_SPACE_MAX_PARAMS][GD_PARAM_TEXT_MAX];
} gd_trial_point;

/* The training seed of trial k of a study: a hash of (study seed, k), never 0. */
GD_API uint64_t gd_trial_seed(uint64_t study_seed, uint64_t trial);
/* Trial k's point. The grid has gd_space_grid_size points; a k past them is
 * GD_ERR_INVALID_ARGUMENT, as is an empty space. */
GD_API gd_status gd_space_sample(const gd_space *sp, const gd_sampler_options *opt,
                                 uint64_t trial, gd_trial_point *out, gd_error *err);
/* The grid's points for points per continuous range (0: 3): the product of the
 * parameters' values, counting an inactive parameter once; more than 1000000 is
 * GD_ERR_INVALID_ARGUMENT. */
GD_API gd_status gd_space_grid_size(const gd_space *sp, int points, uint64_t *size,
                                    gd_error *err);
/* The spec with each {name} replaced by that parameter's text in p (malloc'd into *out;
 * NULL on failure): a {name} that is no parameter, one that is inactive in p, or a '{'
 * that opens no {name} is GD_ERR_INVALID_ARGUMENT naming --model and the position. */
GD_API gd_status gd_space_fill_spec(const gd_space *sp, const gd_trial_point *p,
                                    const char *spec, char **out, gd_error *err);
/* A trial's settings: s (the fixed part) with each active setting parameter set from p
 * through gd_settings_set, the placeholders of s->model filled, and the seed p->seed.
 * The space must be bound (else GD_ERR_STATE). s is unchanged on failure. */
GD_API gd_status gd_space_apply(const gd_space *sp, const gd_trial_point *p,
                                gd_settings *s, gd_error *err);

/* The study journal: an append-only file of JSON lines, one per event (the format:
 * docs/search.md). Each line is written by one write() under a POSIX record lock (fcntl)
 * and fsync'd before the call returns, so processes (workers on one machine or on a shared
 * file system with POSIX locks) may append to one journal at once and a reader sees whole
 * lines only. The lock is a process's: give each process one handle on a journal. */
typedef enum gd_event_kind {
    GD_EVENT_STARTED,  /* a trial began (or was resumed): its parameters and seed */
    GD_EVENT_EPOCH,    /* an epoch ended: its figures */
    GD_EVENT_FINISHED, /* it trained to the end */
    GD_EVENT_PRUNED,   /* the strategy stopped it early */
    GD_EVENT_DIVERGED, /* its loss became NaN or grew beyond bounds */
    GD_EVENT_FAILED    /* it could not run: the message says why */
} gd_event_kind;

typedef struct gd_journal_event {
    gd_event_kind kind;
    uint64_t trial;            /* below 2^53, which a JSON number holds exactly */
    int64_t epoch;             /* the epochs done (0: none; not written when 0) */
    double train_loss, val_loss, val_accuracy; /* NaN: unknown, written as null */
    const char *message;       /* diverged, failed: why (NULL: none; cut at 1024 bytes) */
    const gd_space *space;     /* started: the names of ... */
    const gd_trial_point *point; /* ... its parameters, and its seed */
} gd_journal_event;

typedef struct gd_journal gd_journal;

/* Opens path for appending, creating it (0644) when absent. GD_ERR_IO naming it. */
GD_API gd_status gd_journal_open(gd_journal **out, const char *path, gd_error *err);
GD_API void gd_journal_close(gd_journal *j);
/* Appends one event as one line (GD_ERR_INVALID_ARGUMENT for an event without what its
 * kind needs; GD_ERR_IO naming the file when it cannot be locked, written or synced, in
 * which case nothing of the line stays in the file). */
GD_API gd_status gd_journal_append(gd_journal *j, const gd_journal_event *e, gd_error *err);

/* A study's state as its journal tells it: each trial with its last status. */
typedef enum gd_trial_state {
    GD_TRIAL_RUNNING, GD_TRIAL_FINISHED, GD_TRIAL_PRUNED, GD_TRIAL_DIVERGED, GD_TRIAL_FAILED
} gd_trial_state;

typedef struct gd_trial_record {
    uint64_t trial, seed;
    gd_trial_state state;      /* the last event's: started and epoch mean running */
    int64_t epoch;             /* the last epoch reported (0: none) */
    double train_loss, val_loss, val_accuracy; /* the last reported (NaN: none) */
    const char *message;       /* the last diverged or failed message ("": none) */
    int64_t started_line;      /* the journal line that started it first */
    int64_t last_line;         /* the journal line of its last event */
    int params;                /* its parameters as the started line gave them */
    const char *const *name;
    const char *const *value;  /* the text; NULL for an inactive parameter */
    const double *curve;       /* val_accuracy of epoch e at curve[e - 1] (NaN: none) */
    int64_t curve_len;         /* the last epoch on the curve (at most GD_STUDY_MAX_EPOCHS) */
    double best_val_accuracy;  /* the curve's best (NaN: none), at best_epoch */
    int64_t best_epoch;
} gd_trial_record;

/* The epochs a trial's curve holds; a later epoch's figures are its last, not curved. */
#define GD_STUDY_MAX_EPOCHS 100000
/* The best validation accuracy of r's first epoch epochs (NaN: none reported). */
GD_API double gd_trial_best_until(const gd_trial_record *r, int64_t epoch);

typedef struct gd_study gd_study;

/* Reads a journal. A line that is not a whole event (not JSON, a field missing or of the
 * wrong type, an event for a trial never started, a last line cut short by a killed
 * writer) is skipped with a warning naming its line number, and the rest still loads. A
 * trial started again (resumed) keeps its first parameters; one started with others is a
 * warning. GD_ERR_IO when the file cannot be read; GD_ERR_LIMIT beyond the memory limit. */
GD_API gd_status gd_study_load(gd_study **out, const char *path, gd_error *err);
GD_API void gd_study_free(gd_study *st);
/* The trials, by trial number. */
GD_API size_t gd_study_trial_count(const gd_study *st);
GD_API const gd_trial_record *gd_study_trial(const gd_study *st, size_t index);
/* Trial number trial's record, or NULL. */
GD_API const gd_trial_record *gd_study_find(const gd_study *st, uint64_t trial);
/* How many warnings the journal gave, and the index-th: "journal.jsonl line 7: ..."; only
 * the first GD_STUDY_MAX_WARNINGS are kept (NULL for the rest). */
#define GD_STUDY_MAX_WARNINGS 100
GD_API size_t gd_study_warning_count(const gd_study *st);
GD_API const char *gd_study_warning(const gd_study *st, size_t index);
/* The lines the journal held and those it loaded as events. */
GD_API int64_t gd_study_lines(const gd_study *st);
GD_API int64_t gd_study_events(const gd_study *st);

/* A search: which trials a study trains, for how long, and in what order (docs/search.md).
 * Every decision is a function of the study seed and the journal's figures taken in trial
 * order, never of which worker finished first, so 1 or N workers give the same study. */
typedef enum gd_strategy {
    GD_STRATEGY_RANDOM, GD_STRATEGY_GRID, GD_STRATEGY_SOBOL,
    GD_STRATEGY_COARSE_TO_FINE, /* stages of trials, each narrowing the ranges */
    GD_STRATEGY_ASHA            /* asynchronous successive halving */
} gd_strategy;

typedef struct gd_search_options {
    gd_strategy strategy;
    uint64_t seed;       /* the study's */
    int64_t trials;      /* configurations (coarse-to-fine: of its first stage) */
    int repeats;         /* seeds per configuration (>= 1) */
    int64_t epochs;      /* each trial's; ASHA's most; coarse-to-fine's last stage's */
    int grid_points;     /* grid: points on each continuous range (0: 3) */
    int64_t min_epochs;  /* ASHA: the first rung's; coarse-to-fine: the first stage's */
    double eta;          /* ASHA: the reduction factor (> 1): a rung keeps 1 in eta;
                            coarse-to-fine: later stages have trials / eta configurations */
    int stages;          /* coarse-to-fine: how many (>= 2) */
    double keep;         /* coarse-to-fine: the best fraction of a stage that the next
                            stage's ranges span (0 < keep <= 1) */
} gd_search_options;

/* Sensible defaults: random, 20 trials, 1 repeat, 10 epochs, ASHA 1 epoch and eta 3,
 * coarse-to-fine 3 stages keeping the best quarter. */
GD_API void gd_search_defaults(gd_search_options *opt);
/* GD_ERR_INVALID_ARGUMENT, naming the flag, for options that cannot make a study. */
GD_API gd_status gd_search_check(const gd_space *sp, const gd_search_options *opt,
                                 gd_error *err);
/* The trials the study holds in all (configurations x repeats, every stage). */
GD_API int64_t gd_search_total_trials(const gd_search_options *opt);
/* Trial t's configuration (t / repeats) and its stage (0 but for coarse-to-fine). */
GD_API int64_t gd_search_config_of(const gd_search_options *opt, uint64_t trial);

typedef enum gd_job_kind {
    GD_JOB_WAIT,  /* nothing can start until a running trial reports */
    GD_JOB_DONE,  /* every trial has ended */
    GD_JOB_TRAIN, /* train trial until until_epoch epochs are done */
    GD_JOB_PRUNE  /* the strategy stops the trial: record it as pruned */
} gd_job_kind;

typedef struct gd_search_job {
    gd_job_kind kind;
    uint64_t trial;
    bool resume;          /* the journal has it: continue from its checkpoint */
    int64_t journal_epoch; /* the last epoch the journal holds for it */
    int64_t until_epoch;  /* stop after this many epochs (ASHA's next rung) */
    int64_t epochs;       /* the trial's --epochs, which its schedule spans */
    gd_trial_point point; /* its parameters and seed */
} gd_search_job;

/* What to do next, given the study so far: first the lowest-numbered trial that is neither
 * ended nor busy (busy(ctx, trial): another worker holds it), continued or decided; then
 * the next new trial. A bound space is needed (gd_space_bind). */
GD_API gd_status gd_search_next(const gd_space *sp, const gd_search_options *opt,
                                const gd_study *st, bool (*busy)(void *ctx, uint64_t trial),
                                void *ctx, gd_search_job *job, gd_error *err);

/* One worker of a study in dir (dir/journal.jsonl, dir/trials/NNNN/ as run folders):
 * claims a job under dir/.claim's lock, appends its events to the journal, trains it with
 * fixed's settings and the job's parameters, and goes on until the study is done or *stop
 * is set (by a signal handler; the trial in progress stops after its step and resumes
 * later). A trial whose loss is NaN or above 3 times its first batch's is stopped and
 * recorded as diverged. threads: each trial's (gd_set_num_threads). */
typedef struct gd_search_worker {
    const char *dir;
    const gd_settings *fixed;
    const gd_space *space; /* bound */
    const gd_search_options *opt;
    volatile const int *stop;
    /* NULL or one rank: this process trains its trials alone. Several: the ranks of one
     * trial slot, every one calling gd_search_work; its rank 0 claims the jobs, tells the
     * others and writes the journal, and each trial trains data-parallel on them all. */
    gd_comm *comm;
} gd_search_worker;
GD_API gd_status gd_search_work(const gd_search_worker *w, gd_error *err);
/* dir/trials/NNNN for trial (4 digits or more), into path of size len. */
GD_API void gd_search_trial_dir(const char *dir, uint64_t trial, char *path, size_t len);

/* ------------------------------------------------------------ many processes (MPI) */

/* Built with MPI (make MPI=1), the library joins the MPI job a launcher (mpirun, srun)
 * started it in, at gd_dist_init; otherwise, and whenever it was not launched so, it is
 * a single process: rank 0 of 1 (docs/distributed.md). */
GD_API bool gd_dist_built(void);
/* Joins the job if a launcher started this process (MPI_Init, once); a single process
 * otherwise. Built without MPI but started by a launcher of several: an error saying to
 * build with MPI. */
GD_API gd_status gd_dist_init(int *argc, char ***argv, gd_error *err);
GD_API int gd_dist_rank(void);
GD_API int gd_dist_size(void);
/* The job's processes on this machine (which share its cores). */
GD_API int gd_dist_local_size(void);
/* bytes of buf from root to every process; a barrier that every process reaches. */
GD_API gd_status gd_dist_bcast(void *buf, size_t bytes, int root, gd_error *err);
GD_API gd_status gd_dist_barrier(gd_error *err);
/* Leaves the job (MPI_Finalize); a single process again. */
GD_API void gd_dist_finalize(void);

/* A group of the job's ranks: the whole job (gd_dist_world, one rank without a launcher)
 * or a part of it. A run given a group of several trains one model data-parallel on them
 * (gd_run_options.comm, docs/distributed.md). */
typedef struct gd_comm gd_comm;
GD_API gd_comm *gd_dist_world(void);
/* The ranks of parent that give the same color (>= 0), in parent's order
 * (MPI_Comm_split): a collective call of every rank of parent. */
GD_API gd_status gd_comm_split(gd_comm *parent, int color, gd_comm **out, gd_error *err);
GD_API void gd_comm_free(gd_comm *c); /* the world's stays */
GD_API int gd_comm_rank(const gd_comm *c);
GD_API int gd_comm_size(const gd_comm *c);
GD_API gd_status gd_comm_bcast(gd_comm *c, void *buf, size_t bytes, int root, gd_error *err);
/* Every rank's *code: each gets the first non-zero one in rank order (and that rank in
 * *rank_of, when not NULL; its own rank when all are 0), so that all ranks leave a
 * failure together instead of waiting on one that left. */
GD_API gd_status gd_comm_agree(gd_comm *c, int *code, int *rank_of, gd_error *err);

/* ------------------------------------------------------------ the lab */

/* The lecture's claims, each measured by an experiment on real or made data, with a
 * verdict from the numbers of that run (docs/lab.md). */
typedef struct gd_lab_info {
    const char *name;  /* "init-depth" */
    const char *claim; /* the lecture's words, in one sentence */
} gd_lab_info;

GD_API size_t gd_lab_count(void);
/* The index-th experiment (NULL past the end); gd_lab_find by name (NULL: none). */
GD_API const gd_lab_info *gd_lab_at(size_t index);
GD_API const gd_lab_info *gd_lab_find(const char *name);

typedef struct gd_lab_options {
    bool quick;       /* a reduced size that keeps the claim's direction measurable */
    int seeds;        /* repetitions with other seeds (0: the experiment's default, >= 3
                         where training is involved) */
    uint64_t seed;    /* the first seed; repetition r uses seed + r */
    int threads;      /* 0: every core */
    const char *data; /* the data for experiments that train (NULL: "fashion-mnist") */
    const char *dir;  /* an existing folder for experiments that keep files (search's
                         studies, which gradus report draws); NULL: they are refused */
    /* Called as each repetition starts (done of total finished so far), for a progress
     * display; NULL: none. */
    void (*progress)(void *ctx, const char *experiment, int done, int total);
    void *progress_ctx;
} gd_lab_options;
GD_API void gd_lab_defaults(gd_lab_options *o);

typedef enum gd_verdict {
    GD_VERDICT_HELD, GD_VERDICT_NOT_HELD, GD_VERDICT_INCONCLUSIVE
} gd_verdict;
/* "held", "did not hold", "inconclusive". */
GD_API const char *gd_verdict_name(gd_verdict v);

/* Runs experiment name: *json (malloc'd, the caller frees) is every number it measured,
 * its tables, figures and each claim's verdict, as docs/lab.md lays it out (schema 1).
 * GD_ERR_NOT_FOUND for a name no experiment has, naming the experiments there are. */
GD_API gd_status gd_lab_run(const char *name, const gd_lab_options *o, char **json,
                            gd_error *err);

#ifdef __cplusplus
}
#endif

#endif /* GRADUS_H */
