/* orthogonal_ (Saxe et al., 2013), by PyTorch's algorithm. */
#include "init.h"

#include <lapacke.h>
#include <stdlib.h>

/* The tensor, flattened to rows = dims[0] by cols = the rest, is filled with a Gaussian
 * matrix M (row-major, one draw per element) turned orthogonal: Q of the QR factorisation
 * of M, or of M^T when M is wide, so that Q is tall (m x n, m >= n), then transposed back.
 * Q's columns are multiplied by the signs of R's diagonal, which makes the factorisation
 * unique and Q Haar-distributed (Mezzadri, arXiv:math-ph/0609050), as PyTorch does; a zero
 * on the diagonal (probability zero) keeps its column, where PyTorch's sign() would zero it.
 *
 * M's row-major buffer is the tall matrix in row-major order when M is tall, and M^T in
 * column-major order when M is wide; so LAPACK works on that one buffer with a layout flag,
 * lda = cols in both cases, and the buffer then holds the answer in the tensor's order.
 *
 * GD_ERR_INVALID_ARGUMENT for a NULL tensor, data or generator; GD_ERR_SHAPE for fewer than
 * two dimensions (where PyTorch raises) or a side beyond LAPACK's index type;
 * GD_ERR_NO_MEMORY when the double-precision copy or LAPACK's workspace cannot be had.
 * A tensor with no elements is left as it is, as in PyTorch. */
gd_status gd_init_orthogonal_(gd_tensor *t, double gain, gd_rng *rng)
{
    gd_status status = rng ? gd_init_check_tensor(t) : GD_ERR_INVALID_ARGUMENT;
    if (status != GD_OK)
        return status;
    if (t->ndim < 2)
        return GD_ERR_SHAPE;
    int64_t numel = gd_tensor_numel(t);
    if (numel == 0)
        return GD_OK;
    int64_t rows = t->dims[0], cols = numel / rows;
    int tall = rows >= cols;
    lapack_int m = (lapack_int)(tall ? rows : cols), n = (lapack_int)(tall ? cols : rows);
    if (m != (tall ? rows : cols))
        return GD_ERR_SHAPE;
    int layout = tall ? LAPACK_ROW_MAJOR : LAPACK_COL_MAJOR;

    /* Initialisation runs outside the training step, so a temporary is fine here. */
    double *q = malloc(((size_t)numel + 2 * (size_t)n) * sizeof *q);
    if (!q)
        return GD_ERR_NO_MEMORY;
    double *tau = q + numel, *scale = tau + n;
    for (int64_t i = 0; i < numel; i++)
        q[i] = gd_rng_normal(rng);

    /* With valid arguments, LAPACKE's only failure is allocating its workspace. */
    lapack_int info = LAPACKE_dgeqrf(layout, m, n, q, (lapack_int)cols, tau);
    for (lapack_int j = 0; j < n && info == 0; j++) /* R(j, j) sits at j * lda + j */
        scale[j] = q[(int64_t)j * cols + j] < 0 ? -gain : gain;
    if (info == 0)
        info = LAPACKE_dorgqr(layout, m, n, n, q, (lapack_int)cols, tau);
    if (info == 0)
        for (int64_t i = 0; i < numel; i++) /* Q's column is the tensor's column, or row */
            t->data[i] = (float)(q[i] * scale[tall ? i % cols : i / cols]);
    free(q);
    return info == 0 ? GD_OK : GD_ERR_NO_MEMORY;
}
