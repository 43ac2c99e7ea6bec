/* The files of a training run, each written whole through gd_write_file_atomic. */
#ifndef GD_CLI_RUN_DIR_H
#define GD_CLI_RUN_DIR_H

#include "progress.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Makes dir (and its parents) for a fresh run, or finds it for a resume, and locks it for
 * the life of the process (*lock_fd, DIR/.lock holding the pid): one writer per folder. A
 * fresh run refuses a folder that already has files (EXIT_USAGE), so that no earlier run
 * is overwritten; a folder another process holds is refused naming its pid
 * (EXIT_FAILURE_RUN: the command is right, the folder is busy). *created becomes true when
 * this call made dir (it is left as it was otherwise). */
int run_dir_prepare(const char *dir, bool resume, int *lock_fd, bool *created);
/* After a failed run in a folder it made (created): removes the lock and the folder when
 * the lock is all it holds, so that a run that wrote nothing leaves nothing; a folder with
 * any other file stays. Closes *lock_fd. */
void run_dir_discard_empty(const char *dir, int *lock_fd);
/* Makes a fresh runs/DATE-TIME[-N] folder, never one another run has; NULL after a message. */
char *run_dir_create_default(void);
/* "dir/name" into buf. */
const char *run_path(char *buf, size_t len, const char *dir, const char *name);
/* Writes j (pretty-printed) to path; takes ownership of j. */
int write_json(const char *path, cJSON *j);

#endif
