/* `gradus train`'s settings: parsed from flags, saved as RUN_DIR/config.json, and read
 * back by --resume so that a resumed run continues with exactly the same settings. */
#ifndef GD_CLI_TRAIN_CONFIG_H
#define GD_CLI_TRAIN_CONFIG_H

#include "cli.h"

#include <cjson/cJSON.h>

#define DEFAULT_SPEC "linear(512) bn relu dropout(0.2) linear(256) bn relu dropout(0.2) linear(10)"

typedef struct train_config {
    char *data; /* --data, with label_column and csv_header for CSV */
    int label_column;
    bool csv_header;
    char *model;      /* the spec text (from --model SPEC or @FILE) */
    char *optim;      /* sgd, adam, adamw, rmsprop, adagrad */
    double lr, momentum, weight_decay, label_smoothing, clip_norm;
    char *schedule;   /* constant, step:EPOCHS[:GAMMA], exp:GAMMA, cosine, linear */
    int64_t warmup;   /* epochs of linear warm-up */
    int64_t epochs, batch_size, val_size, limit, patience;
    uint64_t seed;
    int threads;
    char *preprocess;
    double preprocess_eps; /* standardize's floor on std; whitening's regulariser */
    int crop_padding;      /* augmentation of the training split (0/false: off) */
    bool hflip;
    double random_erasing;
    char *out;
    char *resume;
    bool threads_given, epochs_given; /* kept over config.json on --resume */
} train_config;

/* Parses argv into cfg (defaults first). Returns EXIT_OK, EXIT_USAGE, or -1 after --help. */
int train_config_parse(train_config *cfg, int argc, char **argv);
/* Replaces cfg's settings with those saved in RUN_DIR/config.json (for --resume); the
 * thread count and epochs given on the command line, if any, are kept. */
int train_config_load(train_config *cfg, const char *run_dir);
cJSON *train_config_json(const train_config *cfg);
data_source train_config_data(const train_config *cfg);
void train_config_free(train_config *cfg);

#endif
