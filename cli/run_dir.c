#include "run_dir.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_NAME ".lock"

static int make_dirs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

const char *run_path(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

/* Any entry but the lock file, which a run that failed before writing anything leaves. */
static bool has_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d)))
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && strcmp(e->d_name, LOCK_NAME) != 0;
    closedir(d);
    return any;
}

/* The lock is an fcntl write lock on DIR/.lock: the kernel drops it when its process ends,
 * however it ends (kill -9 included), so a lock file left behind never blocks a resume.
 * The file's text (the pid) is for people; messages ask the kernel who holds the lock. */
static pid_t lock_holder(int fd)
{
    struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    return fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK ? probe.l_pid : 0;
}

static int busy(const char *dir, pid_t pid)
{
    return fail(EXIT_FAILURE_RUN, "train", "%s is being written by another gradus process (pid %ld holds %s/%s); "
                "wait for it to end, or choose another folder", dir, (long)pid, dir, LOCK_NAME);
}

/* The pid of the process holding dir's lock, 0 when none does (or dir has no lock file). */
static pid_t locked_by(const char *dir)
{
    char path[4096];
    int fd = open(run_path(path, sizeof path, dir, LOCK_NAME), O_RDONLY | O_CLOEXEC);
    pid_t pid = fd >= 0 ? lock_holder(fd) : 0;
    if (fd >= 0)
        close(fd);
    return pid;
}

/* Takes dir's lock for the life of the process (*fd stays open), or says who holds it. */
static int lock_dir(const char *dir, int *fd)
{
    char path[4096];
    run_path(path, sizeof path, dir, LOCK_NAME);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0)
        return fail(EXIT_FAILURE_RUN, "train", "cannot create %s: %s", path, strerror(errno));
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(*fd, F_SETLK, &lock) != 0) {
        int saved = errno;
        pid_t pid = lock_holder(*fd);
        close(*fd);
        *fd = -1;
        if (saved == EACCES || saved == EAGAIN)
            return busy(dir, pid);
        return fail(EXIT_FAILURE_RUN, "train", "cannot lock %s: %s", path, strerror(saved));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || write(*fd, pid, (size_t)len) != len)
        return fail(EXIT_FAILURE_RUN, "train", "cannot write %s: %s", path, strerror(errno));
    return EXIT_OK;
}

static int refuse_used(const char *dir)
{
    pid_t pid = locked_by(dir);
    if (pid)
        return busy(dir, pid);
    return fail(EXIT_USAGE, "train", "--out %s already holds files; choose another folder or --resume it", dir);
}

int run_dir_prepare(const char *dir, bool resume, int *lock_fd, bool *created)
{
    *lock_fd = -1;
    if (resume) {
        struct stat st;
        if (stat(dir, &st) != 0)
            return fail(EXIT_FAILURE_RUN, "train", "--resume %s: %s", dir, strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return fail(EXIT_USAGE, "train", "--resume %s is not a folder: give a run folder", dir);
        return lock_dir(dir, lock_fd);
    }
    if (has_entries(dir))
        return refuse_used(dir);
    struct stat st;
    if (stat(dir, &st) != 0)
        *created = true; /* else left as the caller set it: run_dir_create_default made it */
    if (make_dirs(dir) != 0)
        return fail(EXIT_FAILURE_RUN, "train", "cannot create %s: %s", dir, strerror(errno));
    int rc = lock_dir(dir, lock_fd);
    /* Another run may have taken the folder, and finished, between the check and the lock. */
    if (rc == EXIT_OK && has_entries(dir))
        rc = refuse_used(dir);
    return rc;
}

void run_dir_discard_empty(const char *dir, int *lock_fd)
{
    char path[4096];
    if (*lock_fd >= 0 && !has_entries(dir))
        unlink(run_path(path, sizeof path, dir, LOCK_NAME)); /* still ours: we hold the lock */
    if (*lock_fd >= 0)
        close(*lock_fd);
    *lock_fd = -1;
    rmdir(dir); /* fails, and keeps it, when anything is left in it */
}

/* runs/DATE-TIME, or runs/DATE-TIME-2, -3, ... when a run started in the same second has
 * it: the folder is made here with an exclusive mkdir, so two runs never share one. */
char *run_dir_create_default(void)
{
    char base[64], name[96];
    time_t now = time(NULL);
    strftime(base, sizeof base, "runs/%Y%m%d-%H%M%S", localtime(&now));
    if (make_dirs("runs") != 0) {
        fail(EXIT_FAILURE_RUN, "train", "cannot create runs: %s", strerror(errno));
        return NULL;
    }
    snprintf(name, sizeof name, "%s", base);
    for (int n = 2; mkdir(name, 0777) != 0; n++) {
        if (errno != EEXIST) {
            fail(EXIT_FAILURE_RUN, "train", "cannot create %s: %s", name, strerror(errno));
            return NULL;
        }
        snprintf(name, sizeof name, "%s-%d", base, n);
    }
    return strdup(name);
}

static int write_text(const char *path, const char *text, size_t len)
{
    gd_error err;
    if (gd_write_file_atomic(path, text, len, &err) != GD_OK)
        return fail(EXIT_FAILURE_RUN, "train", "%s", err.message);
    return EXIT_OK;
}

int write_json(const char *path, cJSON *j)
{
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (!text)
        return fail(EXIT_FAILURE_RUN, "train", "out of memory writing %s", path);
    size_t len = strlen(text);
    text[len] = '\n'; /* cJSON_Print's terminator becomes the final newline */
    int rc = write_text(path, text, len + 1);
    free(text);
    return rc;
}
