/* The optimiser contract: one small vtable per torch.optim algorithm over a shared struct.
 *
 * An optimiser updates the model's flat parameter buffer from its flat gradient buffer; its
 * state tensors (momentum_buffer, exp_avg, ...) are pieces of one block allocated at create,
 * each as long as the parameters, so a step is one element-wise loop that allocates nothing. */
#ifndef GD_OPTIM_H
#define GD_OPTIM_H

#include "../core/internal.h"

#define GD_OPTIM_STATE_MAX 3

typedef struct gd_optim_ops {
    const char *name; /* PyTorch's class name, for messages: "SGD", "Adam" */
    /* The hyperparameters this kind reads, as torch.optim validates them; a failure names
     * the field and its value. */
    gd_status (*check)(const gd_optim_config *cfg, char *msg);
    /* The names of the state tensors cfg needs, in PyTorch's state-dict order; returns
     * their count (at most GD_OPTIM_STATE_MAX). */
    int (*state_names)(const gd_optim_config *cfg, const char **names);
    /* Optional: a non-zero start for the state (Adagrad's initial accumulator). */
    void (*init_state)(gd_optimizer *opt);
    /* One update; opt->steps counts the steps before this one. */
    void (*step)(gd_optimizer *opt);
} gd_optim_ops;

struct gd_optimizer {
    const gd_optim_ops *ops;
    gd_optim_config cfg;
    float *param; /* the model's flat buffers, fixed once it is built */
    const float *grad;
    int64_t n;
    int64_t steps;
    int nstate;
    const char *state_name[GD_OPTIM_STATE_MAX];
    float *state[GD_OPTIM_STATE_MAX]; /* pieces of block */
    float *block;
    gd_status failed; /* why create failed; steps on such a handle return it */
    char msg[GD_MSG_MAX];
};

extern const gd_optim_ops gd_optim_sgd_ops, gd_optim_adagrad_ops, gd_optim_rmsprop_ops,
    gd_optim_adam_ops, gd_optim_adamw_ops;

/* Checks shared by the kinds, as torch.optim words them: a value must be finite and >= 0
 * (a beta: in [0, 1)). The message names the optimiser, the config field and the value. */
gd_status gd_optim_check_nonnegative(char *msg, const char *optim, const char *field,
                                     double value);
gd_status gd_optim_check_beta(char *msg, const char *optim, const char *field, double value);

#endif
