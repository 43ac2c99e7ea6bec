#include "run_dir.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static bool has_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *e;
    bool any = false;
    while (!any && (e = readdir(d)))
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return any;
}

int run_dir_prepare(const char *dir, bool resume)
{
    if (!resume && has_entries(dir))
        return fail(EXIT_USAGE, "train", "--out %s already holds files; choose another folder or --resume it", dir);
    if (make_dirs(dir) != 0)
        return fail(EXIT_FAILURE_RUN, "train", "cannot create %s: %s", dir, strerror(errno));
    return EXIT_OK;
}

const char *run_path(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
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

static void append_line(metrics_log *log, const char *line, size_t len)
{
    if (log->len + len + 1 > log->cap) {
        log->cap = 2 * (log->len + len + 1) + 256;
        log->text = realloc(log->text, log->cap);
    }
    memcpy(log->text + log->len, line, len);
    log->len += len;
    log->text[log->len] = '\0';
}

void metrics_set(metrics_log *log, const char *text)
{
    log->len = 0;
    append_line(log, text, strlen(text));
}

void metrics_add(metrics_log *log, const epoch_stats *s)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "epoch", (double)s->epoch);
    cJSON_AddNumberToObject(j, "train_loss", s->train_loss);
    cJSON_AddNumberToObject(j, "train_accuracy", s->train_accuracy);
    if (s->validated) {
        cJSON_AddNumberToObject(j, "val_loss", s->val_loss);
        cJSON_AddNumberToObject(j, "val_accuracy", s->val_accuracy);
    } else {
        cJSON_AddNullToObject(j, "val_loss");
        cJSON_AddNullToObject(j, "val_accuracy");
    }
    cJSON_AddNumberToObject(j, "lr", s->lr);
    cJSON_AddNumberToObject(j, "seconds", s->seconds);
    cJSON_AddNumberToObject(j, "samples_per_sec", s->samples_per_sec);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    append_line(log, text, strlen(text));
    append_line(log, "\n", 1);
    free(text);
}

int metrics_write(const metrics_log *log, const char *path)
{
    return write_text(path, log->text ? log->text : "", log->len);
}

void metrics_free(metrics_log *log) { free(log->text); }
