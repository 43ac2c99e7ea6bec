/* The memory limit: the most one allocation planned from a file, a header or a spec may
 * take. Readers and the model builder compare what a size would cost with it before they
 * allocate, so a small hostile file cannot make gradus take gigabytes. */
#include "internal.h"

#include <unistd.h>

static uint64_t g_limit; /* 0 until set: the default */

/* Half of physical memory: enough for any data set the machine can train on, and a
 * request beyond it would push the machine into swap or the OOM killer. */
static uint64_t default_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return (uint64_t)4 << 30; /* unknown: 4 GiB */
    return (uint64_t)pages * (uint64_t)page / 2;
}

void gd_set_memory_limit(uint64_t bytes) { g_limit = bytes; }

uint64_t gd_get_memory_limit(void) { return g_limit ? g_limit : default_limit(); }

/* "3.8 GB" or "512 MB" or "300 bytes": decimal units, as the sizes users read in ls -lh
 * would disagree with binary ones by 7%. */
static const char *human_bytes(double bytes, char *buf, size_t len)
{
    if (bytes >= 1e9)
        snprintf(buf, len, "%.1f GB", bytes / 1e9);
    else if (bytes >= 1e6)
        snprintf(buf, len, "%.1f MB", bytes / 1e6);
    else
        snprintf(buf, len, "%.0f bytes", bytes);
    return buf;
}

gd_status gd_check_memory(char *msg, const char *what, uint64_t bytes)
{
    uint64_t limit = gd_get_memory_limit();
    if (bytes <= limit)
        return GD_OK;
    char need[32], have[32];
    return gd_fail(msg, GD_ERR_LIMIT, "%s would need %s, beyond the memory limit of %s", what,
                   human_bytes((double)bytes, need, sizeof need),
                   human_bytes((double)limit, have, sizeof have));
}

bool gd_size_mul(size_t *out, size_t a, size_t b) { return !__builtin_mul_overflow(a, b, out); }

bool gd_size_add(size_t *out, size_t a, size_t b) { return !__builtin_add_overflow(a, b, out); }

bool gd_i64_mul(int64_t *out, int64_t a, int64_t b) { return !__builtin_mul_overflow(a, b, out); }
