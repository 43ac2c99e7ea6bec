/* Every input a fuzzer once crashed on, replayed: the files of fuzz/regressions/TARGET/
 * go through the code of fuzz target TARGET (fuzz/readers.h), and each must be refused
 * with an error and its message, without a crash; under `make test SAN=1` AddressSanitizer
 * and UBSan check each read as the fuzzer did. A new regression is a new file: nothing
 * here changes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <gradus.h>

#include "../fuzz/config_reader.h"
#include "../fuzz/readers.h"

/* The config and report targets read with the command line's own code, which the test
 * binary links (the Makefile adds cli/'s objects but main.o), as fuzz/build.mk does for
 * the fuzzers. */
#include "../fuzz/report_reader.h"

#define REGRESSIONS "../fuzz/regressions/" /* Criterion runs in tests/ (run_unit.sh) */

typedef gd_status (*reader_fn)(const uint8_t *data, size_t size, gd_error *err);

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    cr_assert_geq(size, 0);
    rewind(f);
    unsigned char *data = malloc((size_t)size + 1);
    cr_assert_not_null(data);
    cr_assert_eq(fread(data, 1, (size_t)size, f), (size_t)size, "cannot read %s", path);
    fclose(f);
    *len = (size_t)size;
    return data;
}

/* Calls replay(path, data, len) for every file of fuzz/regressions/target; returns how
 * many there were (a target without regressions has no folder). */
static int each_regression(const char *target, void (*replay)(const char *, const uint8_t *, size_t, void *),
                           void *ctx)
{
    char dir[256], path[512];
    snprintf(dir, sizeof dir, REGRESSIONS "%s", target);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int count = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        /* A crash ends the test's process: the log names the file it was reading. */
        cr_log_info("%s", path);
        size_t len;
        unsigned char *data = slurp(path, &len);
        replay(path, data, len, ctx);
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

static void replay_reader(const char *path, const uint8_t *data, size_t len, void *ctx)
{
    gd_error err = {{0}};
    gd_status st = (*(reader_fn *)ctx)(data, len, &err);
    cr_expect_neq(st, GD_OK, "%s: a fuzzer's crash input was read as valid", path);
    cr_expect_leq((int)st, (int)GD_ERR_LIMIT, "%s: status %d is no gd_status", path, (int)st);
    cr_expect(st == GD_OK || err.message[0] != '\0', "%s: refused (%s) without a message", path,
              gd_strerror(st));
}

static void replay_all(const char *target, reader_fn read)
{
    gd_set_memory_limit(FUZZ_MEMORY_LIMIT);
    each_regression(target, replay_reader, &read);
}

Test(fuzz_regressions, idx) { replay_all("idx", fuzz_read_idx); }
Test(fuzz_regressions, idx_gz) { replay_all("idx_gz", fuzz_read_idx_gz); }
Test(fuzz_regressions, csv) { replay_all("csv", fuzz_read_csv); }
Test(fuzz_regressions, cifar10) { replay_all("cifar10", fuzz_read_cifar10); }
Test(fuzz_regressions, model) { replay_all("model", fuzz_read_model); }
Test(fuzz_regressions, checkpoint) { replay_all("checkpoint", fuzz_read_checkpoint); }
Test(fuzz_regressions, spec) { replay_all("spec", fuzz_read_spec); }
Test(fuzz_regressions, space) { replay_all("space", fuzz_read_space); }

static void replay_config(const char *path, const uint8_t *data, size_t len, void *ctx)
{
    (void)ctx;
    int rc = fuzz_read_config(data, len);
    cr_expect(rc == EXIT_BAD_DATA || rc == EXIT_USAGE,
              "%s: config.json should be refused, exit code %d", path, rc);
}

/* config.json values that no flag accepts (a batch size of 0, 1e300 for an integer,
 * which was undefined behaviour to convert) are refused. */
Test(fuzz_regressions, config)
{
    gd_set_memory_limit(FUZZ_MEMORY_LIMIT);
    cr_expect_gt(each_regression("config", replay_config, NULL), 0, "no files in " REGRESSIONS "config");
}

static void replay_report(const char *path, const uint8_t *data, size_t len, void *ctx)
{
    (void)ctx;
    int rc = fuzz_read_report(data, len); /* a broken contract aborts: a crash here */
    cr_expect(rc == EXIT_OK || rc == EXIT_USAGE || rc == EXIT_BAD_DATA, "%s: exit code %d", path, rc);
}

/* Run folders whose numbers once broke the report's charts (NaN or 1e308 converted to an
 * int: UBSan): each must still give a page or a refusal. */
Test(fuzz_regressions, report)
{
    gd_set_memory_limit(FUZZ_MEMORY_LIMIT);
    cr_expect_gt(each_regression("report", replay_report, NULL), 0, "no files in " REGRESSIONS "report");
}
