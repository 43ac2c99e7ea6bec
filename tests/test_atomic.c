/* gd_write_file_atomic: the content lands, failures name the path and the system's reason,
 * an existing file survives a failed write, and no temporary file outlives the call.
 * Tests run as root, which permissions do not stop, so failures come from paths that cannot
 * exist (a missing folder, a file where a folder should be, a folder where the file should
 * be) and from a file-size limit (RLIMIT_FSIZE binds root too). */
#include <criterion/criterion.h>
#include <errno.h>
#include <gradus.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "scratch.h"

TestSuite(atomic, .init = scratch_make, .fini = scratch_remove);

static void expect_content(const char *path, const char *want)
{
    size_t len;
    unsigned char *got = scratch_read(path, &len);
    cr_expect_eq(len, strlen(want));
    cr_expect(len == strlen(want) && memcmp(got, want, len) == 0, "%s holds other bytes", path);
    free(got);
}

static void expect_io_error(gd_status st, const gd_error *err, const char *path, int errnum)
{
    cr_expect_eq(st, GD_ERR_IO, "%s", gd_strerror(st));
    cr_expect(strstr(err->message, path), "message names the path: %s", err->message);
    cr_expect(strstr(err->message, strerror(errnum)), "message says \"%s\": %s", strerror(errnum),
              err->message);
}

Test(atomic, writes_the_content_and_leaves_only_the_file)
{
    const char *path = scratch_path("out.bin");
    gd_error err;
    cr_assert_eq(gd_write_file_atomic(path, "hello", 5, &err), GD_OK, "%s", err.message);
    expect_content(path, "hello");
    cr_expect_eq(scratch_count(), 1);
}

Test(atomic, replaces_an_existing_file_whole)
{
    const char *path = scratch_path("out.bin");
    scratch_write(path, "a much longer old content", 25);
    gd_error err;
    cr_assert_eq(gd_write_file_atomic(path, "new", 3, &err), GD_OK, "%s", err.message);
    expect_content(path, "new");
    cr_expect_eq(scratch_count(), 1);
}

Test(atomic, writes_an_empty_file)
{
    const char *path = scratch_path("empty");
    cr_assert_eq(gd_write_file_atomic(path, NULL, 0, NULL), GD_OK);
    expect_content(path, "");
}

Test(atomic, new_files_get_the_umask_permissions_not_0600)
{
    umask(022);
    const char *path = scratch_path("out.bin");
    cr_assert_eq(gd_write_file_atomic(path, "x", 1, NULL), GD_OK);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_expect_eq(sb.st_mode & 0777, 0644, "mode %o", (unsigned)(sb.st_mode & 0777));
}

Test(atomic, a_missing_folder_fails_with_the_path_and_the_reason)
{
    const char *path = scratch_path("no-such-folder/out.bin");
    gd_error err;
    expect_io_error(gd_write_file_atomic(path, "x", 1, &err), &err, path, ENOENT);
    cr_expect_eq(scratch_count(), 0);
}

Test(atomic, a_file_where_a_folder_is_expected_fails)
{
    scratch_write(scratch_path("plain"), "keep", 4);
    const char *path = scratch_path("plain/out.bin");
    gd_error err;
    expect_io_error(gd_write_file_atomic(path, "x", 1, &err), &err, path, ENOTDIR);
    expect_content(scratch_path("plain"), "keep");
    cr_expect_eq(scratch_count(), 1);
}

/* The temporary file is written and flushed; only the rename fails (a folder holding a
 * file cannot be replaced by a file), so cleaning up after a late failure is tested. */
Test(atomic, a_failed_rename_removes_the_temporary_file)
{
    const char *path = scratch_path("folder");
    cr_assert_eq(mkdir(path, 0755), 0);
    scratch_write(scratch_path("folder/inside"), "x", 1);
    gd_error err;
    expect_io_error(gd_write_file_atomic(path, "data", 4, &err), &err, path, EISDIR);
    cr_expect_eq(scratch_count(), 1, "a temporary file was left behind");
}

/* A write cut short (as by a full disk) fails with the system's reason and leaves the old
 * file as it was. SIGXFSZ would kill the process: ignored, the write returns EFBIG. */
Test(atomic, a_failed_write_keeps_the_old_file_and_leaves_no_temporary)
{
    const char *path = scratch_path("model.safetensors");
    scratch_write(path, "old", 3);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0, "%s", strerror(errno));
    size_t len = 1 << 16;
    char *big = calloc(len, 1);
    gd_error err;
    expect_io_error(gd_write_file_atomic(path, big, len, &err), &err, path, EFBIG);
    free(big);
    expect_content(path, "old");
    cr_expect_eq(scratch_count(), 1, "a temporary file was left behind");
}

Test(atomic, an_empty_path_is_an_invalid_argument)
{
    gd_error err;
    cr_expect_eq(gd_write_file_atomic("", "x", 1, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "no path"), "%s", err.message);
}
