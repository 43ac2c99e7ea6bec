/* The report target's work on one input, shared with tests/test_fuzz_regressions.c:
 * `gradus report`'s readers of a run folder (cli/report.c). The input is the folder's
 * files one after another, each ended by a line "----": metrics.jsonl, monitor.jsonl,
 * check.json, confusion.json, summary.json; a fixed config.json is always there. Whatever
 * the files hold, the command must end with one of its documented exit codes, and a page
 * it writes must be whole HTML. An input whose first line is "study" makes a study folder
 * instead (gradus search's): study.json, then journal.jsonl. Whoever includes this
 * compiles cli/'s files but main.c in too. */
#ifndef GD_FUZZ_REPORT_READER_H
#define GD_FUZZ_REPORT_READER_H

#include "../cli/cli.h"
#include "readers.h"

#include <sys/stat.h>

int cmd_report(int argc, char **argv);

static const char *const fuzz_report_files[] = {"metrics.jsonl", "monitor.jsonl", "check.json",
                                                "confusion.json", "summary.json"};
#define FUZZ_REPORT_FILES (sizeof fuzz_report_files / sizeof fuzz_report_files[0])
#define FUZZ_REPORT_SEPARATOR "----\n"

/* The next part of data, up to a separator line or the end: its length in *len; how far
 * to advance in the return value. */
static inline size_t fuzz_report_part(const uint8_t *data, size_t size, size_t *len)
{
    size_t sep = strlen(FUZZ_REPORT_SEPARATOR);
    for (size_t i = 0; i + sep <= size; i++)
        if (memcmp(data + i, FUZZ_REPORT_SEPARATOR, sep) == 0) {
            *len = i;
            return i + sep;
        }
    *len = size;
    return size;
}

/* Writes the input's parts into dir; returns how many files it wrote. */
static inline size_t fuzz_report_write(const char *dir, const uint8_t *data, size_t size)
{
    size_t i = 0;
    while (i < FUZZ_REPORT_FILES && size > 0) {
        size_t len, step = fuzz_report_part(data, size, &len);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, fuzz_report_files[i++]);
        fuzz_write(path, data, len);
        data += step;
        size -= step;
    }
    return i;
}

static inline void fuzz_report_expect_page(const char *out)
{
    FILE *f = fopen(out, "rb");
    FUZZ_REQUIRE(f != NULL);
    char tail[16] = {0};
    FUZZ_REQUIRE(fseek(f, -8, SEEK_END) == 0);
    size_t got = fread(tail, 1, 8, f);
    fclose(f);
    FUZZ_REQUIRE(got == 8 && strstr(tail, "</html>") != NULL);
}

#define FUZZ_STUDY_MARK "study\n"

/* A study folder from the input after its mark: study.json and journal.jsonl (empty
 * when the input ends first: a study that has not started a trial). */
static inline int fuzz_read_study_report(const char *dir, const uint8_t *data, size_t size)
{
    static const char *const files[] = {"study.json", "journal.jsonl"};
    char path[512], out[512];
    for (int i = 0; i < 2; i++) {
        size_t len, step = fuzz_report_part(data, size, &len);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        fuzz_write(path, data, len);
        data += step;
        size -= step;
    }
    snprintf(out, sizeof out, "%s/page.html", dir);
    char *argv[] = {"report", (char *)dir, "--output", out, NULL};
    int rc = cmd_report(4, argv);
    FUZZ_REQUIRE(rc == EXIT_OK || rc == EXIT_USAGE || rc == EXIT_BAD_DATA);
    if (rc == EXIT_OK) {
        fuzz_report_expect_page(out);
        unlink(out);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return rc;
}

/* `gradus report` of the folder the input makes: its exit code. */
static inline int fuzz_read_report(const uint8_t *data, size_t size)
{
    static const char config[] = "{\"schema\": 1, \"data\": \"fashion-mnist\", \"epochs\": 2}\n";
    char dir[256], path[512], out[512];
    fuzz_path("report", dir, sizeof dir);
    mkdir(dir, 0700);
    size_t mark = strlen(FUZZ_STUDY_MARK);
    if (size >= mark && memcmp(data, FUZZ_STUDY_MARK, mark) == 0)
        return fuzz_read_study_report(dir, data + mark, size - mark);
    snprintf(path, sizeof path, "%s/config.json", dir);
    fuzz_write(path, config, sizeof config - 1);
    size_t written = fuzz_report_write(dir, data, size);
    snprintf(out, sizeof out, "%s/page.html", dir);
    char *argv[] = {"report", dir, "--output", out, NULL};
    int rc = cmd_report(4, argv);
    FUZZ_REQUIRE(rc == EXIT_OK || rc == EXIT_USAGE || rc == EXIT_BAD_DATA);
    if (rc == EXIT_OK) {
        fuzz_report_expect_page(out);
        unlink(out);
    }
    for (size_t i = 0; i < written; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, fuzz_report_files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
    return rc;
}

#endif
