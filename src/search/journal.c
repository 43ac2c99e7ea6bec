/* The study journal's writer: one event, one JSON line, written by one write() while the
 * writer holds a POSIX record lock on the whole file, then fsync'd. O_APPEND makes every
 * write land at the end; the lock makes the check of the last byte and the write one step
 * for every process that locks (a write(2) of a regular file is not promised atomic
 * against other writers, and NFS has no O_APPEND of its own: the lock is what holds). */
#include "search.h"
#include "../train/train.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A message is cut here, so that a line stays small enough to write whole. */
#define MESSAGE_MAX 1024
/* Trial numbers are JSON numbers, exact below 2^53. */
#define TRIAL_LIMIT 9007199254740992.0

struct gd_journal {
    int fd;
    char *path;
};

static const char *const event_names[] = {"started",  "epoch",    "finished",
                                          "pruned",   "diverged", "failed"};

const char *gd_event_name(gd_event_kind kind)
{
    return kind >= GD_EVENT_STARTED && kind <= GD_EVENT_FAILED ? event_names[kind] : NULL;
}

gd_status gd_journal_open(gd_journal **out, const char *path, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!out || !path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "journal: NULL argument");
    *out = NULL;
    gd_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%.120s: out of memory", path);
    }
    /* Read access too: the last byte is read before each line (see append_line). */
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        gd_status st = gd_fail(msg, GD_ERR_IO, "%.120s: %s", path, strerror(errno));
        free(j->path);
        free(j);
        return st;
    }
    *out = j;
    return GD_OK;
}

void gd_journal_close(gd_journal *j)
{
    if (!j)
        return;
    close(j->fd);
    free(j->path);
    free(j);
}

/* ------------------------------------------------------------- the line */

/* The message cut at MESSAGE_MAX bytes, not inside a UTF-8 character. */
static cJSON *message_json(const char *message)
{
    size_t n = strlen(message);
    if (n <= MESSAGE_MAX)
        return cJSON_CreateString(message);
    n = MESSAGE_MAX;
    while (n > 0 && ((unsigned char)message[n] & 0xc0) == 0x80)
        n--;
    char *cut = malloc(n + 1);
    if (!cut)
        return NULL;
    memcpy(cut, message, n);
    cut[n] = '\0';
    cJSON *s = cJSON_CreateString(cut);
    free(cut);
    return s;
}

static bool add_params(cJSON *line, const gd_space *sp, const gd_trial_point *p)
{
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    cJSON *params = cJSON_AddObjectToObject(line, "params");
    if (!cJSON_AddStringToObject(line, "seed", seed) || !params)
        return false;
    for (int i = 0; i < p->count; i++) {
        const char *name = gd_space_param(sp, i)->name;
        cJSON *v = p->active[i] ? cJSON_CreateString(p->text[i]) : cJSON_CreateNull();
        if (!v || !cJSON_AddItemToObject(params, name, v)) {
            cJSON_Delete(v);
            return false;
        }
    }
    return true;
}

static bool add_figures(cJSON *line, const gd_journal_event *e)
{
    bool ok = true;
    if (e->epoch > 0)
        ok = gd_json_add_number(line, "epoch", (double)e->epoch);
    if (e->kind == GD_EVENT_STARTED || e->kind == GD_EVENT_FAILED)
        return ok;
    return ok && gd_json_add_number(line, "train_loss", e->train_loss) &&
           gd_json_add_number(line, "val_loss", e->val_loss) &&
           gd_json_add_number(line, "val_accuracy", e->val_accuracy);
}

/* The wall clock, for people reading the journal; nothing reproducible depends on it. */
static double wall_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)(t.tv_nsec / 1000000) / 1000;
}

static gd_status check_event(const gd_journal_event *e, char *msg, const char *path)
{
    if (!gd_event_name(e->kind))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%.120s: no event of kind %d", path,
                       (int)e->kind);
    if ((double)e->trial >= TRIAL_LIMIT)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%.120s: trial %llu beyond 2^53", path,
                       (unsigned long long)e->trial);
    if (e->kind == GD_EVENT_STARTED && (!e->space || !e->point || e->point->trial != e->trial ||
                                        e->point->count != gd_space_count(e->space)))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%.120s: a started event needs the "
                       "trial's space and its point", path);
    if (e->epoch < 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%.120s: epoch %lld", path,
                       (long long)e->epoch);
    return GD_OK;
}

/* The event as one line of JSON with its newline, at buf + 1 of the malloc'd buf; buf[0]
 * is a '\n' that write_locked sends first when the file ends mid-line. */
static char *event_line(const gd_journal_event *e, size_t *len)
{
    cJSON *line = cJSON_CreateObject();
    bool ok = line && cJSON_AddStringToObject(line, "event", gd_event_name(e->kind)) &&
              gd_json_add_number(line, "trial", (double)e->trial);
    if (ok && e->kind == GD_EVENT_STARTED)
        ok = add_params(line, e->space, e->point);
    ok = ok && add_figures(line, e);
    if (ok && e->message) {
        cJSON *m = message_json(e->message);
        ok = m && cJSON_AddItemToObject(line, "message", m);
        if (!ok)
            cJSON_Delete(m);
    }
    ok = ok && gd_json_add_number(line, "time", wall_seconds()) &&
         gd_json_add_number(line, "pid", (double)getpid());
    char *text = ok ? cJSON_PrintUnformatted(line) : NULL;
    cJSON_Delete(line);
    if (!text)
        return NULL;
    *len = strlen(text) + 1;
    char *buf = malloc(*len + 2);
    if (buf) {
        buf[0] = '\n';
        memcpy(buf + 1, text, *len - 1);
        buf[*len] = '\n';
        buf[*len + 1] = '\0';
    }
    free(text);
    return buf;
}

/* ------------------------------------------------------------ writing */

static int lock_file(int fd, short type)
{
    struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    int r;
    while ((r = fcntl(fd, F_SETLKW, &l)) < 0 && errno == EINTR)
        ;
    return r;
}

/* Whether the file ends in the middle of a line (a writer killed mid-write, or a file cut
 * short): the next line then starts on a line of its own, and the reader skips the cut
 * one with a warning instead of losing both. */
static bool ends_mid_line(int fd, off_t size)
{
    char last = '\n';
    return size > 0 && pread(fd, &last, 1, size - 1) == 1 && last != '\n';
}

/* Writes the line whole or not at all: a short write is cut back off the file. */
static gd_status write_locked(gd_journal *j, const char *line, size_t len, char *msg)
{
    struct stat st;
    if (fstat(j->fd, &st) < 0)
        return gd_fail(msg, GD_ERR_IO, "%.120s: %s", j->path, strerror(errno));
    const char *from = line;
    size_t n = len;
    if (ends_mid_line(j->fd, st.st_size)) {
        from = line - 1; /* event_line put a '\n' there */
        n++;
    }
    ssize_t done;
    while ((done = write(j->fd, from, n)) < 0 && errno == EINTR)
        ;
    if (done == (ssize_t)n && fsync(j->fd) == 0)
        return GD_OK;
    int e = done < 0 || done == (ssize_t)n ? errno : ENOSPC;
    if (done > 0 && ftruncate(j->fd, st.st_size) == 0)
        fsync(j->fd);
    return gd_fail(msg, GD_ERR_IO, "%.120s: the event could not be written: %s", j->path,
                   strerror(e));
}

gd_status gd_journal_append(gd_journal *j, const gd_journal_event *e, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!j || !e)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "journal: NULL argument");
    gd_status st = check_event(e, msg, j->path);
    if (st != GD_OK)
        return st;
    size_t len = 0;
    char *buf = event_line(e, &len);
    if (!buf)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%.120s: out of memory", j->path);
    if (lock_file(j->fd, F_WRLCK) < 0)
        st = gd_fail(msg, GD_ERR_IO, "%.120s: cannot be locked: %s", j->path, strerror(errno));
    else {
        st = write_locked(j, buf + 1, len, msg);
        lock_file(j->fd, F_UNLCK);
    }
    free(buf);
    return st;
}
