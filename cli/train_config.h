/* `gradus train`'s flags: the library's settings table (gd_setting_at) turned into
 * getopt_long options and --help, plus the flags of the run folder. config.json is the
 * settings' JSON (gd_settings_to_json), read back by --resume. */
#ifndef GD_CLI_TRAIN_CONFIG_H
#define GD_CLI_TRAIN_CONFIG_H

#include "cli.h"

typedef struct train_config {
    gd_settings s;
    char *out;    /* --out RUN_DIR */
    char *resume; /* --resume RUN_DIR */
    int64_t monitor; /* --monitor[=STEPS]: the interval, 0 when off */
    bool threads_given, epochs_given, lr_given; /* kept over config.json on --resume */
    double saved_lr; /* on --resume: config.json's lr, before a given --lr replaced it */
} train_config;

/* Parses argv into cfg (defaults first). Returns EXIT_OK, EXIT_USAGE, or -1 after --help. */
int train_config_parse(train_config *cfg, int argc, char **argv);
/* Replaces cfg's settings with those saved in RUN_DIR/config.json (for --resume); the
 * thread count, epochs and lr given on the command line, if any, are kept. */
int train_config_load(train_config *cfg, const char *run_dir);
void train_config_free(train_config *cfg);

/* The settings' flags as --help shows them, one group after another, within 80 columns. */
void print_settings_help(FILE *out);

#endif
