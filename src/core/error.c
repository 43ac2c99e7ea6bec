/* Status codes and detail messages. */
#include "internal.h"

#include <stdio.h>

const char *gd_strerror(gd_status status)
{
    switch (status) {
    case GD_OK: return "success";
    case GD_ERR_INVALID_ARGUMENT: return "invalid argument";
    case GD_ERR_SHAPE: return "shapes do not fit";
    case GD_ERR_STATE: return "call out of order";
    case GD_ERR_NO_MEMORY: return "out of memory";
    case GD_ERR_NUMERIC: return "no finite result";
    case GD_ERR_NOT_FOUND: return "not found";
    case GD_ERR_IO: return "input/output error";
    case GD_ERR_FORMAT: return "malformed file";
    case GD_ERR_LIMIT: return "beyond the memory limit";
    }
    return "unknown status";
}

const char *gd_version(void) { return GD_VERSION_STRING; }

gd_status gd_fail(char *buf, gd_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, GD_MSG_MAX, fmt, ap);
    va_end(ap);
    return status;
}
