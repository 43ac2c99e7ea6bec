/* The report target: `gradus report`'s readers of a run folder (fuzz/report_reader.h),
 * built with the whole command line but its main. */
#include "report_reader.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    gd_set_memory_limit(FUZZ_MEMORY_LIMIT);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_read_report(data, size);
    return 0;
}
