/* What model files and checkpoints share: the model's tensors, its preprocessing and the
 * metadata that rebuilds it. */
#ifndef GD_MODEL_FILE_H
#define GD_MODEL_FILE_H

#include "safetensors.h"

/* Tensor names outside the model's state_dict. */
#define GD_FILE_PREPROCESS_PREFIX "preprocess."
#define GD_FILE_OPTIM_PREFIX "optim."
#define GD_FILE_RNG_STATE "rng.state"
/* Metadata that marks a checkpoint: the optimiser's kind. */
#define GD_FILE_OPTIM_KIND "gradus.optim"

/* Adds m's tensors in state_dict order, pre's (when not NULL) and the metadata gd_model_load
 * reads. Fails (GD_ERR_STATE) for a model not built from a spec; path is for messages. */
gd_status gd_model_file_add(gd_st_writer *w, const gd_model *m, const gd_preprocess *pre,
                            const char *path);
/* Checks that f holds every tensor of m with its dtype and shape, and no tensor but those,
 * preprocess.* and, in a checkpoint, optim.* and rng.state. */
gd_status gd_model_file_check(const gd_st_file *f, const gd_model *m);
/* Copies the checked tensors into m. */
void gd_model_file_copy(const gd_st_file *f, const gd_model *m);

#endif
