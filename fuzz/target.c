/* One libFuzzer target per reader: the build defines FUZZ_READER as one of readers.h's
 * fuzz_read_* functions (fuzz/build.mk makes build/fuzz/bin/fuzz_NAME from fuzz_read_NAME). */
#include "readers.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    gd_set_memory_limit(FUZZ_MEMORY_LIMIT);
    gd_set_num_threads(1); /* OpenBLAS's threads would only slow the sanitizers down */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gd_error err;
    FUZZ_READER(data, size, &err);
    return 0;
}
