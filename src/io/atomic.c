/* Writing a file so that a crash leaves the old file or the new one, never half of one:
 * write a temporary file beside it, flush it to disk, rename it over the target (rename is
 * atomic within one file system), then flush the folder so the rename itself survives. */
#include "../core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(((gd_error *)0)->message) == GD_MSG_MAX, "gd_error holds one message");

/* Attempts at a fresh temporary name before giving up (names only collide with files left
 * by a crashed process that had the same pid). */
#define GD_TEMP_TRIES 64

static gd_status io_fail(char *msg, const char *what, const char *path)
{
    return gd_fail(msg, GD_ERR_IO, "%s: %s: %s", path, what, strerror(errno));
}

/* Creates "PATH.tmp-PID-N" exclusively. Not mkstemp: its files are mode 0600 whatever the
 * umask, and a model file should get the permissions any new file gets. */
static int create_temp(const char *path, char *tmp, size_t len)
{
    static atomic_uint counter;
    for (int i = 0; i < GD_TEMP_TRIES; i++) {
        snprintf(tmp, len, "%s.tmp-%ld-%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

static bool write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Flushes the folder holding path, so that the rename is on disk too. Some file systems
 * refuse fsync on a folder; the file is in place either way, so that is not an error. */
static void sync_folder(const char *path, char *tmp, size_t tmp_len)
{
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(tmp, tmp_len, "%.*s", (int)(slash - path + 1), path);
    else
        snprintf(tmp, tmp_len, ".");
    int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static bool write_spans(int fd, const gd_span *spans, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!write_all(fd, spans[i].data, spans[i].len))
            return false;
    return true;
}

static gd_status write_through(const char *path, char *tmp, size_t tmp_len, const gd_span *spans,
                               size_t n, char *msg)
{
    int fd = create_temp(path, tmp, tmp_len);
    if (fd < 0)
        return io_fail(msg, "cannot create a temporary file beside it", path);
    gd_status st = GD_OK;
    if (!write_spans(fd, spans, n))
        st = io_fail(msg, "write failed", path);
    else if (fsync(fd) != 0)
        st = io_fail(msg, "flush to disk failed", path);
    if (close(fd) != 0 && st == GD_OK)
        st = io_fail(msg, "close failed", path);
    if (st == GD_OK && rename(tmp, path) != 0)
        st = io_fail(msg, "cannot rename the temporary file into place", path);
    if (st != GD_OK) {
        unlink(tmp);
        return st;
    }
    sync_folder(path, tmp, tmp_len);
    return GD_OK;
}

gd_status gd_write_spans_atomic(const char *path, const gd_span *spans, size_t n, char *msg)
{
    if (!path || !*path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "write: no path");
    for (size_t i = 0; i < n; i++)
        if (!spans[i].data && spans[i].len > 0)
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "write: %s: no data", path);
    size_t tmp_len = strlen(path) + 64;
    char *tmp = malloc(tmp_len);
    if (!tmp)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%s: out of memory for a temporary name", path);
    gd_status st = write_through(path, tmp, tmp_len, spans, n, msg);
    free(tmp);
    return st;
}

gd_status gd_write_file_atomic(const char *path, const void *data, size_t len, gd_error *err)
{
    char local[GD_MSG_MAX];
    return gd_write_spans_atomic(path, &(gd_span){data, len}, 1, err ? err->message : local);
}
