/* The one shuffle behind gd_dataset_split and the loader's epochs, and the unbiased
 * integer draw it and augmentation use. */
#include "data.h"

/* Uniform in [0, bound) without modulo bias: draws below 2^64 mod bound are rejected, so
 * the accepted range is a whole number of copies of [0, bound) (as OpenBSD's
 * arc4random_uniform). */
uint64_t gd_uniform_below(gd_rng *rng, uint64_t bound)
{
    uint64_t threshold = -bound % bound;
    uint64_t r;
    do
        r = gd_rng_next_u64(rng);
    while (r < threshold);
    return r % bound;
}

void gd_shuffle_prefix(int64_t *idx, int64_t n, int64_t k, gd_rng *rng)
{
    for (int64_t i = 0; i < k && i < n - 1; i++) {
        int64_t j = i + (int64_t)gd_uniform_below(rng, (uint64_t)(n - i));
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
