/* A scratch folder per test, for tests that write files (model files, checkpoints, atomic
 * writes). A suite declares TestSuite(name, .init = scratch_make, .fini = scratch_remove),
 * so the folder goes away even when a test fails. */
#ifndef GD_TEST_SCRATCH_H
#define GD_TEST_SCRATCH_H

#include <stddef.h>

void scratch_make(void);
void scratch_remove(void);
/* The folder itself ("/tmp/gradus-test-XXXXXX"). */
const char *scratch_dir(void);
/* scratch_dir()/name, in one of a few rotating buffers (a test needs at most four at once). */
const char *scratch_path(const char *name);
/* Writes len bytes to path with stdio (asserting success). */
void scratch_write(const char *path, const void *data, size_t len);
/* The whole file at path (malloc'd; free it), its length in *len. */
unsigned char *scratch_read(const char *path, size_t *len);
/* Entries in the scratch folder, "." and ".." aside: temporary files left behind show. */
int scratch_count(void);

#endif
