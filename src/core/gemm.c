/* The layers' matrix products, C = alpha op(A) op(B) + beta C in row-major order.
 *
 * Built with oneDNN (Debian's libdnnl-dev, the library PyTorch calls for its CPU
 * kernels; GD_WITH_DNNL, the default where it is installed) they are oneDNN's sgemm,
 * whose kernels oneDNN chooses at run time from the instructions the CPU reports:
 * AVX-512 where it has them, AVX2 where not. On this project's AMD EPYC that is 1.3 to
 * 1.9 times OpenBLAS's rate when OPENBLAS_CORETYPE holds OpenBLAS to its AVX2 kernels,
 * and near it otherwise, faster on some shapes and slower on others (bench/README.md).
 * Without oneDNN they are OpenBLAS's cblas_sgemm.
 * Either way the bits depend on the thread count and the CPU's kernels alone: the same
 * run on the same machine and threads repeats them. */
#include "internal.h"

#include <cblas.h>

#ifdef GD_WITH_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

void gd_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
#ifdef GD_WITH_DNNL
    /* Its only failures are arguments out of range, which the layers' plans exclude. */
    dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta,
               c, ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

const char *gd_sgemm_backend(void)
{
#ifdef GD_WITH_DNNL
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "oneDNN sgemm (AVX-512 with AMX)";
    case dnnl_cpu_isa_avx512_core_bf16: return "oneDNN sgemm (AVX-512, BF16)";
    case dnnl_cpu_isa_avx512_core_vnni: return "oneDNN sgemm (AVX-512, VNNI)";
    case dnnl_cpu_isa_avx512_core: return "oneDNN sgemm (AVX-512)";
    case dnnl_cpu_isa_avx2_vnni: case dnnl_cpu_isa_avx2: return "oneDNN sgemm (AVX2)";
    default: return "oneDNN sgemm";
    }
#else
    return "OpenBLAS cblas_sgemm";
#endif
}
