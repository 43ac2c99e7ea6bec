/* One thread count for gradus's OpenMP loops, OpenBLAS and oneDNN (whose products take
 * the calling thread's OpenMP count). */
#include "internal.h"

#include <cblas.h>
#include <omp.h>

static int g_threads; /* 0 until set: all cores */

void gd_set_num_threads(int n)
{
    g_threads = n > 0 ? n : omp_get_num_procs();
    openblas_set_num_threads(g_threads);
    omp_set_num_threads(g_threads);
}

int gd_get_num_threads(void) { return gd_threads(); }

int gd_threads(void)
{
    if (g_threads <= 0)
        gd_set_num_threads(0);
    return g_threads;
}
