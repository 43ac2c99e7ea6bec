/* --init-from MODEL: a fresh run's weights taken from an existing model file. */
#include "train.h"

gd_status gd_run_init_from(gd_run *run)
{
    /* issue 9 item 19: replaced by the tensor-by-name copy */
    return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT, "--init-from %s: not supported yet",
                   run->settings.init_from);
}
