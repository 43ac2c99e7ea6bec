#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void progress_start_epoch(progress *p, int64_t epoch, int64_t epochs, int64_t batches)
{
    p->tty = isatty(fileno(stdout));
    p->epoch = epoch, p->epochs = epochs, p->batches = batches;
    p->epoch_start = now_seconds();
    p->last_draw = 0;
}

void progress_batch(progress *p, int64_t batch, double loss, double samples_per_sec)
{
    double t = now_seconds();
    if (!p->tty || (t - p->last_draw < 0.1 && batch < p->batches))
        return;
    p->last_draw = t;
    enum { WIDTH = 24 };
    int filled = (int)(WIDTH * batch / (p->batches ? p->batches : 1));
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    double elapsed = t - p->epoch_start;
    /* This epoch's rest and the epochs after it, at this epoch's pace (validation aside). */
    int64_t batches_left = p->batches - batch + (p->epochs - p->epoch) * p->batches;
    double left = batch ? elapsed * (double)batches_left / (double)batch : 0;
    printf("\repoch %lld/%lld [%s] %lld/%lld loss %.4f %7.0f samples/s %4.0fs left ",
           (long long)p->epoch, (long long)p->epochs, bar, (long long)batch, (long long)p->batches,
           loss, samples_per_sec, left);
    fflush(stdout);
}

void progress_note(progress *p, const char *text)
{
    if (p->tty)
        printf("\r\033[K");
    printf("%s\n", text);
    fflush(stdout);
    p->last_draw = 0;
}

void progress_end_epoch(progress *p, const gd_epoch_metrics *s)
{
    if (p->tty)
        printf("\r\033[K");
    printf("epoch %3lld  train loss %.4f acc %.4f  ", (long long)s->epoch, s->train_loss, s->train_accuracy);
    if (s->validated)
        printf("val loss %.4f acc %.4f%s", s->val_loss, s->val_accuracy, s->best ? "*" : " ");
    else
        printf("val -"); /* no validation split: nothing to compare, no best mark */
    printf("  lr %.3g  %.1fs  %.0f samples/s\n", s->lr, s->seconds, s->samples_per_sec);
    fflush(stdout);
}
