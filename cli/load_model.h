/* Loading a model file for the data it will see (eval, predict). */
#ifndef GD_CLI_LOAD_MODEL_H
#define GD_CLI_LOAD_MODEL_H

#include "gradus.h"

/* Loads path (and its preprocessing) for batches of the commands' size. A file without
 * gradus.input_shape (one PyTorch wrote, docs/pytorch.md) is built for ds's sample shape
 * unless its first linear layer fixes the shape. Returns EXIT_OK, or the exit code after
 * printing the message. */
int load_model_for(const char *cmd, const char *path, const gd_dataset *ds, gd_model **m,
                   gd_preprocess **pre);

#endif
