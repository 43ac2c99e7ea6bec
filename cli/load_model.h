/* What eval and predict share: the model --model names (a file or a run folder), the
 * run's data settings, the classes' names, and the check of the inputs' scale. */
#ifndef GD_CLI_LOAD_MODEL_H
#define GD_CLI_LOAD_MODEL_H

#include "gradus.h"

#include <limits.h>
#include <stdbool.h>

/* --model as given: a model file, or a run folder (RUN/model.safetensors, and the run's
 * settings from RUN/config.json). */
typedef struct model_source {
    char path[PATH_MAX];  /* the model file */
    bool run;             /* --model named a run folder */
    gd_settings settings; /* the run's config.json; the defaults for a file */
} model_source;

/* Fills *src from --model ARG. A run folder without model.safetensors or config.json is
 * an I/O failure (EXIT_FAILURE_RUN), a config.json gradus cannot read is bad data
 * (EXIT_BAD_DATA); either after a message. Release with model_source_free, also after a
 * failure. */
int model_source_open(const char *cmd, const char *arg, model_source *src);
void model_source_free(model_source *src);

/* Loads path (and its preprocessing) for batches of the commands' size. A file without
 * gradus.input_shape (one PyTorch wrote, docs/pytorch.md) is built for ds's sample shape
 * unless its first linear layer fixes the shape. Returns EXIT_OK, or the exit code after
 * printing the message. */
int load_model_for(const char *cmd, const char *path, const gd_dataset *ds, gd_model **m,
                   gd_preprocess **pre);

/* The names of the classes of the data that --data names (fashion-mnist, Debian's
 * Fashion-MNIST folder, cifar10:DIR) when it has `classes` of them, else NULL. */
const char *const *class_names(const char *data, int classes);

/* Warns on stderr when inputs read as they are (CSV) reach beyond 1.5 while the model's
 * preprocessing was fitted on data in [0, 1]: most likely raw 0-255 pixels for a model
 * trained on IDX images, which gradus divides by 255. what names the inputs. */
void warn_if_unscaled(const char *cmd, const char *what, const gd_preprocess *pre,
                      gd_dataset *ds);

#endif
