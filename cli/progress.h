/* Training progress: a live bar on a terminal, one plain line per epoch otherwise. */
#ifndef GD_CLI_PROGRESS_H
#define GD_CLI_PROGRESS_H

#include <gradus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct progress {
    bool tty;
    int64_t epoch, epochs, batches;
    double epoch_start, last_draw;
} progress;

double now_seconds(void);

/* The terminal's width: standard output's when it is one, else $COLUMNS, else 80. */
int terminal_columns(void);

/* A loss as text: %.4f, or %.4g beyond 1e4 (a diverging run's 1e25 in 10 characters). */
enum { LOSS_TEXT = 32 };
char *format_loss(char buf[LOSS_TEXT], double loss);

/* Erases the bar, if one is drawn, so that other output (an error) gets a clean line. */
void progress_clear(void);

void progress_start_epoch(progress *p, int64_t epoch, int64_t epochs, int64_t batches);
/* After each batch: redraws the bar at most 10 times a second (terminals only). */
void progress_batch(progress *p, int64_t batch, double loss, double samples_per_sec);

/* A line of its own (a warning) amid the display: the bar is cleared first and redrawn
 * at the next batch. */
void progress_note(progress *p, const char *text);

/* An epoch's line, within 80 columns, its number as wide as `epochs`'s:
 * "epoch  3  loss 0.4120 acc 0.8510  val 0.4300 acc 0.8420* lr 0.001 2.3s 45678/s". */
void epoch_line(char *out, size_t size, const gd_epoch_metrics *s, int64_t epochs);

/* Clears the bar and prints the epoch's line. */
void progress_end_epoch(progress *p, const gd_epoch_metrics *s);

#endif
