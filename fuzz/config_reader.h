/* The config target's work on one input, shared with tests/test_fuzz_regressions.c (see
 * readers.h): the bytes become RUN_DIR/config.json and `gradus train --resume`'s reader,
 * train_config_load in cli/train_config.c (the library's gd_settings_from_json, with the
 * flags' checks), reads them over the defaults. Whoever includes this compiles
 * cli/train_config.c and cli/common.c in too. */
#ifndef GD_FUZZ_CONFIG_READER_H
#define GD_FUZZ_CONFIG_READER_H

#include "../cli/train_config.h"
#include "readers.h"

#include <sys/stat.h>

/* What the flags would have accepted (train_config_parse's checks), so a config.json
 * cannot smuggle in a value that no command line could give. */
static inline void fuzz_check_config(const train_config *t)
{
    const gd_settings *c = &t->s;
    FUZZ_REQUIRE(c->data && c->model && c->optim && c->schedule && c->preprocess);
    FUZZ_REQUIRE(c->label_column >= 0);
    FUZZ_REQUIRE(c->epochs >= 1 && c->batch_size >= 1 && c->limit >= 0 && c->val_size >= 0);
    FUZZ_REQUIRE(c->warmup >= 0 && c->patience >= 0 && c->threads >= 0 && c->crop_padding >= 0);
    /* lr and weight_decay may be NaN: not given, the optimiser's PyTorch default. */
    FUZZ_REQUIRE((isnan(c->lr) || (c->lr > 0 && isfinite(c->lr))) && c->momentum >= 0);
    FUZZ_REQUIRE(isnan(c->weight_decay) || (c->weight_decay >= 0 && isfinite(c->weight_decay)));
    FUZZ_REQUIRE(c->label_smoothing >= 0 && c->clip_norm >= 0 && c->preprocess_eps >= 0);
    FUZZ_REQUIRE(isfinite(c->momentum) && c->min_delta >= 0 && isfinite(c->min_delta));
    FUZZ_REQUIRE(isfinite(c->label_smoothing) && isfinite(c->clip_norm) && isfinite(c->preprocess_eps));
    FUZZ_REQUIRE(c->random_erasing >= 0 && c->random_erasing <= 1);
}

/* train_config_load's exit code: EXIT_OK for a config it took, else its error's. */
static inline int fuzz_read_config(const uint8_t *data, size_t size)
{
    char dir[256], path[300];
    fuzz_path("run", dir, sizeof dir);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/config.json", dir);
    fuzz_write(path, data, size);
    train_config c;
    char *argv[] = {"train", NULL};
    FUZZ_REQUIRE(train_config_parse(&c, 1, argv) == EXIT_OK);
    int rc = train_config_load(&c, dir);
    FUZZ_REQUIRE(rc == EXIT_OK || rc == EXIT_USAGE || rc == EXIT_BAD_DATA);
    if (rc == EXIT_OK)
        fuzz_check_config(&c);
    train_config_free(&c);
    unlink(path);
    rmdir(dir);
    return rc;
}

#endif
