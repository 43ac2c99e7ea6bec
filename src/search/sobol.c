/* Sobol's sequence in up to 32 dimensions, from the direction numbers of S. Joe and
 * F. Y. Kuo, "Constructing Sobol sequences with better two-dimensional projections", SIAM
 * J. Sci. Comput. 30 (2008) 2635-2654: the first 31 rows of their table new-joe-kuo-6.21201
 * (dimensions 2 to 32; dimension 1 is van der Corput's sequence). These are the numbers
 * SciPy's and PyTorch's SobolEngine use: tests/reference/gen_search_sobol.py checks the
 * unscrambled points against torch.quasirandom.SobolEngine.
 *
 * Sobol rather than Halton: its points in any power-of-two count form (t, m, s)-nets, so
 * 2^m trials cover each dimension's 2^m equal strata exactly, and a random digital shift
 * (the sampler's scrambling) keeps that property, while Halton's dimensions of large
 * prime bases correlate in their early points unless each digit is scrambled. Points
 * are numbered in Gray-code order (Antonov and Saleev), so point k is the XOR of the
 * direction numbers of the bits of k ^ (k >> 1): a pure function of k, as the search's
 * reproducibility needs, with no sequence to step through. */
#include "search.h"

#define BITS 32

/* One row: degree s of the primitive polynomial, its coefficients a, initial m_1..m_s. */
typedef struct sobol_row {
    int s;
    unsigned a;
    unsigned m[7];
} sobol_row;

static const sobol_row rows[GD_SPACE_MAX_PARAMS - 1] = {
    {1, 0, {1}},
    {2, 1, {1, 3}},
    {3, 1, {1, 3, 1}},
    {3, 2, {1, 1, 1}},
    {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}},
    {5, 2, {1, 1, 5, 5, 17}},
    {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}},
    {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}},
    {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}},
    {6, 19, {1, 1, 1, 15, 7, 5}},
    {6, 22, {1, 3, 1, 15, 13, 25}},
    {6, 25, {1, 1, 5, 5, 19, 61}},
    {7, 1, {1, 3, 7, 11, 23, 15, 103}},
    {7, 4, {1, 3, 7, 13, 13, 15, 69}},
    {7, 7, {1, 1, 3, 13, 7, 35, 63}},
    {7, 8, {1, 3, 5, 9, 1, 25, 53}},
    {7, 14, {1, 3, 1, 13, 9, 35, 107}},
    {7, 19, {1, 3, 1, 5, 27, 61, 31}},
    {7, 21, {1, 1, 5, 11, 19, 41, 61}},
    {7, 28, {1, 3, 5, 3, 3, 13, 69}},
    {7, 31, {1, 1, 7, 13, 1, 19, 1}},
    {7, 32, {1, 3, 7, 5, 13, 19, 59}},
    {7, 37, {1, 1, 3, 9, 25, 29, 41}},
    {7, 41, {1, 3, 5, 13, 23, 1, 55}},
    {7, 42, {1, 3, 7, 3, 13, 59, 17}},
};

/* The direction numbers v_1..v_32 of dimension dim, as 32-bit fractions (v_j = m_j / 2^j),
 * extended past the initial ones by Bratley and Fox's recurrence. */
static void directions(int dim, uint32_t v[BITS])
{
    if (dim == 0) {
        for (int j = 0; j < BITS; j++)
            v[j] = (uint32_t)1 << (BITS - 1 - j);
        return;
    }
    const sobol_row *r = &rows[dim - 1];
    for (int j = 0; j < r->s; j++)
        v[j] = (uint32_t)r->m[j] << (BITS - 1 - j);
    for (int j = r->s; j < BITS; j++) {
        v[j] = v[j - r->s] ^ (v[j - r->s] >> r->s);
        for (int k = 1; k < r->s; k++)
            if (r->a >> (r->s - 1 - k) & 1)
                v[j] ^= v[j - k];
    }
}

uint32_t gd_sobol_bits(uint64_t index, int dim)
{
    uint32_t v[BITS], x = 0;
    directions(dim, v);
    uint64_t gray = index ^ (index >> 1);
    for (int j = 0; j < BITS && gray; j++, gray >>= 1)
        if (gray & 1)
            x ^= v[j];
    return x;
}
