/* `gradus train`'s flags: the library's settings table (gd_setting_at) turned into
 * getopt_long options and --help, plus the flags of the run folder. config.json is the
 * settings' JSON (gd_settings_to_json), read back by --resume. */
#ifndef GD_CLI_TRAIN_CONFIG_H
#define GD_CLI_TRAIN_CONFIG_H

#include "cli.h"

/* Room for every row of the library's settings table (train_config_parse checks). */
#define TRAIN_SETTINGS_MAX 64

typedef struct train_config {
    gd_settings s;
    char *out;    /* --out RUN_DIR */
    char *resume; /* --resume RUN_DIR */
    int64_t monitor; /* --monitor[=STEPS]: the interval, 0 when off */
    bool given[TRAIN_SETTINGS_MAX]; /* the settings the command line gave, by table index */
    int changed; /* on --resume: given settings that replaced config.json's values */
} train_config;

/* Parses argv into cfg (defaults first). Returns EXIT_OK, EXIT_USAGE, or -1 after --help. */
int train_config_parse(train_config *cfg, int argc, char **argv);
/* Replaces cfg's settings with those saved in RUN_DIR/config.json (for --resume). A flag
 * given again with the saved value is fine; a new value of one a run can change on the
 * way (--epochs, --lr, --threads, --patience, --clip-norm) replaces the saved one with a
 * line saying so (cfg->changed counts them); a new value of any other is refused
 * (EXIT_USAGE), since the data, model and optimiser state depend on it. */
int train_config_load(train_config *cfg, const char *run_dir);
/* A fresh run's paths (--data's folder or CSV files, --init-from) made absolute, so that
 * config.json means the same from any folder a resume runs in. */
int train_config_absolute_paths(train_config *cfg);
void train_config_free(train_config *cfg);

/* The settings' flags as --help shows them, one group after another, within 80 columns. */
void print_settings_help(FILE *out);

#endif
