/* Training progress: a live bar on a terminal, one plain line per epoch otherwise. */
#ifndef GD_CLI_PROGRESS_H
#define GD_CLI_PROGRESS_H

#include <gradus.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct progress {
    bool tty;
    int64_t epoch, epochs, batches;
    double epoch_start, last_draw;
} progress;

double now_seconds(void);
void progress_start_epoch(progress *p, int64_t epoch, int64_t epochs, int64_t batches);
/* After each batch: redraws the bar at most 10 times a second (terminals only). */
void progress_batch(progress *p, int64_t batch, double loss, double samples_per_sec);

/* A line of its own (a warning) amid the display: the bar is cleared first and redrawn
 * at the next batch. */
void progress_note(progress *p, const char *text);

/* Clears the bar and prints the epoch's line. */
void progress_end_epoch(progress *p, const gd_epoch_metrics *s);

#endif
