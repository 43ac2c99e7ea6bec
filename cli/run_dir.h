/* The files of a training run, each written whole through gd_write_file_atomic. */
#ifndef GD_CLI_RUN_DIR_H
#define GD_CLI_RUN_DIR_H

#include "progress.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Makes dir (and its parents). A fresh run refuses a folder that already has files, so
 * that no earlier run is overwritten. */
int run_dir_prepare(const char *dir, bool resume);
/* "dir/name" into buf. */
const char *run_path(char *buf, size_t len, const char *dir, const char *name);
/* Writes j (pretty-printed) to path; takes ownership of j. */
int write_json(const char *path, cJSON *j);

/* metrics.jsonl: one JSON object per epoch, rewritten whole at each epoch's end. */
typedef struct metrics_log {
    char *text;
    size_t len, cap;
} metrics_log;

/* On resume, keeps the lines of epochs up to last_epoch (the checkpoint's). */
int metrics_load(metrics_log *log, const char *path, int64_t last_epoch);
int metrics_append(metrics_log *log, const char *path, const epoch_stats *s);
void metrics_free(metrics_log *log);

#endif
