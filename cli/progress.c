#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Whether a bar is on the terminal's current line: progress_clear() (and so fail())
 * erases it before other output, so that no message lands on the bar's line. */
static bool bar_shown;

double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    if (env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (end != env && *end == '\0' && n > 0 && n <= 10000)
            return (int)n;
    }
    return 80;
}

char *format_loss(char buf[LOSS_TEXT], double loss)
{
    /* Fixed point reads best for ordinary losses; beyond 1e4 (a diverging run) it would
     * print every digit of a huge number, so four significant digits take over. */
    snprintf(buf, LOSS_TEXT, fabs(loss) < 1e4 ? "%.4f" : "%.4g", loss);
    return buf;
}

void progress_clear(void)
{
    if (!bar_shown)
        return;
    printf("\r\033[K");
    fflush(stdout);
    bar_shown = false;
}

void progress_start_epoch(progress *p, int64_t epoch, int64_t epochs, int64_t batches)
{
    p->tty = isatty(fileno(stdout));
    p->epoch = epoch, p->epochs = epochs, p->batches = batches;
    p->epoch_start = now_seconds();
    p->last_draw = 0;
}

/* The bar's line in at most `width` characters: "epoch E/N [###...] B/N loss L Ts left R samples/s".
 * The optional fields go first (samples/s, then time left, then the batch count); the
 * # part takes what room is left, up to 24, and goes when fewer than 8 would fit. */
static void bar_line(char *out, size_t size, int width, const progress *p, int64_t batch,
                     const char *loss, double samples_per_sec, double left)
{
    enum { MOST = 24, LEAST = 8, FIELD = 48 };
    char head[FIELD], count[FIELD], rate[FIELD], rest[FIELD], tail[4 * FIELD + 16];
    snprintf(head, sizeof head, "epoch %lld/%lld", (long long)p->epoch, (long long)p->epochs);
    /* Fixed widths, so that the bar keeps its size through the epoch. */
    int digits = snprintf(NULL, 0, "%lld", (long long)p->batches);
    snprintf(count, sizeof count, " %*lld/%lld", digits, (long long)batch, (long long)p->batches);
    snprintf(rate, sizeof rate, " %7.0f samples/s", samples_per_sec);
    snprintf(rest, sizeof rest, " %4.0fs left", left);
    const char *optional[] = {count, rest, rate}; /* kept in this order, dropped from the end */
    int keep = 3, room = 0;
    for (; keep >= 0; keep--) {
        int used = (int)(strlen(head) + strlen(" loss ") + strlen(loss));
        for (int i = 0; i < keep; i++)
            used += (int)strlen(optional[i]);
        room = width - used - 3; /* " [" and "]" */
        if (room >= LEAST || (keep == 0 && used <= width))
            break;
    }
    if (keep < 0)
        keep = 0;
    int cells = room >= LEAST ? (room < MOST ? room : MOST) : 0;
    char bar[MOST + 4] = "";
    if (cells) {
        int filled = (int)(cells * batch / (p->batches ? p->batches : 1));
        bar[0] = ' ', bar[1] = '[';
        for (int i = 0; i < cells; i++)
            bar[2 + i] = i < filled ? '#' : '.';
        bar[2 + cells] = ']', bar[3 + cells] = '\0';
    }
    snprintf(tail, sizeof tail, "%s loss %.16s%s%s", keep > 0 ? count : "", loss, keep > 1 ? rest : "",
             keep > 2 ? rate : "");
    snprintf(out, size, "%s%s%s", head, bar, tail);
    if (width >= 0 && strlen(out) > (size_t)width) /* a terminal too narrow for even the loss */
        out[width] = '\0';
}

void progress_batch(progress *p, int64_t batch, double loss, double samples_per_sec)
{
    double t = now_seconds();
    if (!p->tty || (t - p->last_draw < 0.1 && batch < p->batches))
        return;
    p->last_draw = t;
    double elapsed = t - p->epoch_start;
    /* This epoch's rest and the epochs after it, at this epoch's pace (validation aside). */
    int64_t batches_left = p->batches - batch + (p->epochs - p->epoch) * p->batches;
    double left = batch ? elapsed * (double)batches_left / (double)batch : 0;
    char text[LOSS_TEXT], line[512];
    /* One column short of the width: a line that fills the last column leaves some
     * terminals at the start of the next line, and the next "\r" would not come back. */
    int width = terminal_columns() - 1;
    if (width > (int)sizeof line - 1)
        width = (int)sizeof line - 1;
    bar_line(line, sizeof line, width, p, batch, format_loss(text, loss), samples_per_sec, left);
    printf("\r%s\033[K", line);
    fflush(stdout);
    bar_shown = true;
}

void progress_note(progress *p, const char *text)
{
    progress_clear();
    printf("%s\n", text);
    fflush(stdout);
    p->last_draw = 0;
}

void epoch_line(char *out, size_t size, const gd_epoch_metrics *s, int64_t epochs)
{
    char loss[LOSS_TEXT], val[LOSS_TEXT + 32], time[32], rate[32];
    if (s->validated) {
        char vl[LOSS_TEXT];
        snprintf(val, sizeof val, "val %s acc %.4f%s", format_loss(vl, s->val_loss), s->val_accuracy,
                 s->best ? "*" : " ");
    } else {
        snprintf(val, sizeof val, "val - "); /* no validation split: nothing to compare, no best mark */
    }
    snprintf(time, sizeof time, s->seconds < 10 ? " %.1fs" : " %.0fs", s->seconds);
    snprintf(rate, sizeof rate, " %.0f/s", s->samples_per_sec);
    int digits = snprintf(NULL, 0, "%lld", (long long)(epochs > s->epoch ? epochs : s->epoch));
    int n = snprintf(out, size, "epoch %*lld  loss %s acc %.4f  %s lr %.3g", digits, (long long)s->epoch,
                     format_loss(loss, s->train_loss), s->train_accuracy, val, s->lr);
    /* 80 columns: the time and then the speed give way to long numbers (a huge loss). */
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len + strlen(time) <= 80 && len + strlen(time) < size) {
        strcat(out, time), len += strlen(time);
        if (len + strlen(rate) <= 80 && len + strlen(rate) < size)
            strcat(out, rate);
    }
}

void progress_end_epoch(progress *p, const gd_epoch_metrics *s)
{
    progress_clear();
    char line[256];
    epoch_line(line, sizeof line, s, p->epochs);
    printf("%s\n", line);
    fflush(stdout);
}
