/* The library's settings table (gd_setting_at) as getopt_long options, for any command
 * that takes the model and data flags of `gradus train` (check does; train's own parser,
 * train_config.c, predates this file and could use it). */
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
 * reads the spec from FILE. EXIT_OK, or EXIT_USAGE after a message naming the flag. */
int settings_flags_apply(const char *cmd, gd_settings *s, int opt, const char *value);

#endif
