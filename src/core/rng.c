/* xoshiro256** (Blackman and Vigna, 2018), seeded through splitmix64 as its authors
 * recommend: fast, 256 bits of state that a checkpoint can hold, and well tested. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

struct gd_rng {
    uint64_t s[GD_RNG_STATE_WORDS];
};

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

gd_status gd_rng_create(gd_rng **out, uint64_t seed)
{
    *out = malloc(sizeof **out);
    if (!*out)
        return GD_ERR_NO_MEMORY;
    gd_rng_seed(*out, seed);
    return GD_OK;
}

void gd_rng_free(gd_rng *rng) { free(rng); }

void gd_rng_seed(gd_rng *rng, uint64_t seed)
{
    for (int i = 0; i < GD_RNG_STATE_WORDS; i++)
        rng->s[i] = splitmix64(&seed);
}

uint64_t gd_rng_next_u64(gd_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double gd_rng_uniform(gd_rng *rng) { return (double)(gd_rng_next_u64(rng) >> 11) * 0x1.0p-53; }

double gd_rng_normal(gd_rng *rng)
{
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    double u1 = 1.0 - gd_rng_uniform(rng);
    double u2 = gd_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * GD_PI * u2);
}

void gd_rng_get_state(const gd_rng *rng, uint64_t state[GD_RNG_STATE_WORDS])
{
    for (int i = 0; i < GD_RNG_STATE_WORDS; i++)
        state[i] = rng->s[i];
}

gd_status gd_rng_set_state(gd_rng *rng, const uint64_t state[GD_RNG_STATE_WORDS])
{
    uint64_t any = 0;
    for (int i = 0; i < GD_RNG_STATE_WORDS; i++)
        any |= state[i];
    if (!any)
        return GD_ERR_INVALID_ARGUMENT; /* xoshiro's one fixed point */
    for (int i = 0; i < GD_RNG_STATE_WORDS; i++)
        rng->s[i] = state[i];
    return GD_OK;
}
