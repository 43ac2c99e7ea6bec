/* The library's settings table (gd_setting_at) as getopt_long options, for any command
 * that takes the model and data flags of `gradus train` (check and train do). */
#ifndef GD_CLI_SETTINGS_FLAGS_H
#define GD_CLI_SETTINGS_FLAGS_H

#include "cli.h"

#include <getopt.h>

/* A setting's option returns SETTINGS_FLAG + its index in the table. */
#define SETTINGS_FLAG 2000

/* Every setting's option, then the command's own (nextra of them), then the terminator;
 * malloc'd, NULL when memory runs out. */
struct option *settings_flags_options(const struct option *extra, size_t nextra);
/* True when getopt's return value is a setting's. */
bool settings_flags_is_setting(int opt);
/* Applies the setting that getopt returned opt for: a switch turns on; --model @FILE
 * reads the spec from FILE. EXIT_OK, or EXIT_USAGE after a message naming the flag
 * (EXIT_FAILURE_RUN when FILE cannot be read). */
int settings_flags_apply(const char *cmd, gd_settings *s, int opt, const char *value);

/* A small text file (a spec, config.json) whole, or NULL after a message naming what and
 * path, with *rc: EXIT_FAILURE_RUN when it cannot be read, EXIT_BAD_DATA beyond 1 MiB. */
char *settings_flags_read_text(const char *cmd, const char *what, const char *path, int *rc);

#endif
