/* The samplers: trial k's unit numbers (one per parameter, in [0, 1)) from (study seed, k)
 * alone, and their mapping to each kind's values. Random draws them from a generator
 * seeded by a hash of (seed, k); quasi-random takes Sobol point k (sobol.c) shifted by
 * seeded bits; the grid enumerates combinations in a fixed order. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The grid's limit: beyond it a grid is a typo, and its enumeration too slow. */
#define GRID_MAX 1000000
#define GRID_POINTS_DEFAULT 3
#define GRID_POINTS_MAX 1000

/* The streams of gd_search_derive: ASCII tags, so that no two purposes share numbers. */
#define STREAM_PARAMS 0x706172616d73ULL /* "params" */
#define STREAM_SEED 0x73656564ULL       /* "seed" */
#define STREAM_SHIFT 0x7368696674ULL    /* "shift" */

/* splitmix64's finaliser (Steele, Lea and Flood, 2014): a bijection of 64 bits whose
 * every output bit depends on every input bit. */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t gd_search_derive(uint64_t seed, uint64_t k, uint64_t stream)
{
    return mix(mix(seed ^ mix(stream)) + 0x9e3779b97f4a7c15ULL * (k + 1));
}

uint64_t gd_trial_seed(uint64_t study_seed, uint64_t trial)
{
    uint64_t s = gd_search_derive(study_seed, trial, STREAM_SEED);
    return s ? s : 1;
}

/* ------------------------------------------------------------------- values */

/* The shortest "%.*g" that strtod reads back as v: 0.1 stays "0.1", not its 17 digits. */
static void real_text(double v, char *text, size_t len)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, len, "%.*g", digits, v);
        if (strtod(text, NULL) == v)
            return;
    }
}

void gd_param_number_text(const gd_param_info *q, double v, char *text)
{
    if (q->kind == GD_PARAM_INT || q->kind == GD_PARAM_LOGINT)
        snprintf(text, GD_PARAM_TEXT_MAX, "%.0f", v);
    else
        real_text(v, text, GD_PARAM_TEXT_MAX);
}

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* From lo at u = 0 toward hi at u = 1, written so that no difference can overflow. */
static double between(double lo, double hi, double u) { return lo * (1 - u) + hi * u; }

/* The value of q at unit u in [0, 1): the integer kinds take [lo, hi + 1) and round down,
 * so that each integer (or, for logint, each integer's share of the log scale) is hit. */
static double value_at(const gd_param_info *q, double u)
{
    switch (q->kind) {
    case GD_PARAM_UNIFORM: return clamp(between(q->lo, q->hi, u), q->lo, q->hi);
    case GD_PARAM_LOGUNIFORM:
        return clamp(exp(between(log(q->lo), log(q->hi), u)), q->lo, q->hi);
    case GD_PARAM_INT: return clamp(floor(between(q->lo, q->hi + 1, u)), q->lo, q->hi);
    case GD_PARAM_LOGINT:
        return clamp(floor(exp(between(log(q->lo), log(q->hi + 1), u))), q->lo, q->hi);
    case GD_PARAM_CHOICE: return clamp(floor(u * q->options), 0, q->options - 1);
    }
    return q->lo;
}

static void set_value(const gd_param_info *q, double v, gd_trial_point *p, int i)
{
    p->value[i] = v;
    if (q->kind == GD_PARAM_CHOICE)
        snprintf(p->text[i], GD_PARAM_TEXT_MAX, "%s", q->option[(int)v]);
    else
        gd_param_number_text(q, v, p->text[i]);
}

/* Values from units, each parameter's activity from those before it. */
static void point_from_units(const gd_space *sp, const double *u, gd_trial_point *p)
{
    for (int i = 0; i < sp->count; i++) {
        const gd_param_info *q = &sp->param[i].info;
        set_value(q, value_at(q, u[i]), p, i);
        p->active[i] = gd_param_active(sp, i, p);
    }
}

/* ---------------------------------------------------------------- the grid */

/* The grid's value j of n along a range, ends included; one point is the middle. */
static double grid_fraction(int j, int n) { return n == 1 ? 0.5 : (double)j / (n - 1); }

static double grid_raw(const gd_param_info *q, int j, int n)
{
    double f = grid_fraction(j, n);
    if (q->kind == GD_PARAM_LOGUNIFORM || q->kind == GD_PARAM_LOGINT)
        return n > 1 && j == n - 1 ? q->hi : exp(between(log(q->lo), log(q->hi), f));
    return n > 1 && j == n - 1 ? q->hi : between(q->lo, q->hi, f);
}

/* The integer kinds round the range's points to integers and keep each once (they are
 * increasing, so a repeat is the one before): int(1, 3) on 5 points is 1, 2, 3. */
static int grid_count(const gd_param_info *q, int n, int want, double *value)
{
    if (q->kind == GD_PARAM_CHOICE) {
        if (value)
            *value = want;
        return q->options;
    }
    bool whole = q->kind != GD_PARAM_UNIFORM && q->kind != GD_PARAM_LOGUNIFORM;
    int count = 0;
    double last = NAN;
    for (int j = 0; j < n; j++) {
        double v = grid_raw(q, j, n);
        if (whole)
            v = clamp(round(v), q->lo, q->hi);
        if (whole && v == last)
            continue;
        if (count == want && value)
            *value = v;
        count++;
        last = v;
    }
    return count;
}

/* Whether the combination idx is a point of the grid: an inactive parameter is counted
 * once, at its first value, not multiplied into the product. */
static bool grid_point(const gd_space *sp, int n, const int *idx, gd_trial_point *p)
{
    for (int i = 0; i < sp->count; i++) {
        const gd_param_info *q = &sp->param[i].info;
        double v = 0;
        grid_count(q, n, idx[i], &v);
        set_value(q, v, p, i);
        p->active[i] = gd_param_active(sp, i, p);
        if (!p->active[i] && idx[i] != 0)
            return false;
    }
    return true;
}

/* The next combination, the last parameter fastest; false after the last. */
static bool grid_next(int count, const int *sizes, int *idx)
{
    for (int i = count - 1; i >= 0; i--) {
        if (++idx[i] < sizes[i])
            return true;
        idx[i] = 0;
    }
    return false;
}

static int grid_points(int points) { return points > 0 ? points : GRID_POINTS_DEFAULT; }

static gd_status grid_sizes(const gd_space *sp, int points, int *sizes, char *msg)
{
    if (points < 0 || points > GRID_POINTS_MAX)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "grid: %d points per range; give 1 to "
                       "%d", points, GRID_POINTS_MAX);
    if (sp->count == 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "the space has no parameters");
    double product = 1;
    for (int i = 0; i < sp->count; i++) {
        sizes[i] = grid_count(&sp->param[i].info, grid_points(points), -1, NULL);
        product *= sizes[i];
    }
    if (product > GRID_MAX)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "grid: %.0f combinations, more than %d: "
                       "give fewer points per range or fewer parameters", product, GRID_MAX);
    return GD_OK;
}

/* Walks the grid to its point number trial (or to its end, counting them in *seen). */
static gd_status grid_walk(const gd_space *sp, int points, uint64_t trial, uint64_t *seen,
                           gd_trial_point *p, char *msg)
{
    int sizes[GD_SPACE_MAX_PARAMS], idx[GD_SPACE_MAX_PARAMS] = {0};
    gd_status st = grid_sizes(sp, points, sizes, msg);
    if (st != GD_OK)
        return st;
    *seen = 0;
    do {
        if (grid_point(sp, grid_points(points), idx, p) && (*seen)++ == trial)
            return GD_OK;
    } while (grid_next(sp->count, sizes, idx));
    return GD_ERR_NOT_FOUND;
}

gd_status gd_space_grid_size(const gd_space *sp, int points, uint64_t *size, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!sp || !size)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "grid: NULL argument");
    gd_trial_point p = {.count = sp->count};
    gd_status st = grid_walk(sp, points, UINT64_MAX, size, &p, msg);
    return st == GD_ERR_NOT_FOUND ? GD_OK : st;
}

/* ------------------------------------------------------------------ sampling */

static gd_status random_units(uint64_t seed, uint64_t trial, int count, double *u, char *msg)
{
    gd_rng *rng;
    if (gd_rng_create(&rng, gd_search_derive(seed, trial, STREAM_PARAMS)) != GD_OK)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "random sampler: out of memory");
    for (int i = 0; i < count; i++)
        u[i] = gd_rng_uniform(rng);
    gd_rng_free(rng);
    return GD_OK;
}

/* Sobol point trial, each coordinate XORed with 32 bits of its own drawn from the seed:
 * a random digital shift, which keeps the points' net structure (Owen, 1995) and makes
 * point 0 something other than the corner 0. */
static gd_status sobol_units(uint64_t seed, uint64_t trial, int count, double *u, char *msg)
{
    if (trial >> 32)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "quasi-random: trial %llu is beyond "
                       "the sequence's 2^32 points", (unsigned long long)trial);
    for (int i = 0; i < count; i++) {
        uint32_t shift = (uint32_t)(gd_search_derive(seed, (uint64_t)i, STREAM_SHIFT) >> 32);
        u[i] = (double)(gd_sobol_bits(trial, i) ^ shift) * 0x1.0p-32;
    }
    return GD_OK;
}

gd_status gd_space_sample(const gd_space *sp, const gd_sampler_options *opt, uint64_t trial,
                          gd_trial_point *out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!sp || !opt || !out)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "sample: NULL argument");
    if (sp->count == 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "the space has no parameters");
    gd_trial_point p;
    memset(&p, 0, sizeof p);
    p.trial = trial;
    p.seed = gd_trial_seed(opt->seed, trial);
    p.count = sp->count;
    double u[GD_SPACE_MAX_PARAMS];
    gd_status st;
    uint64_t seen;
    switch (opt->kind) {
    case GD_SAMPLER_RANDOM: st = random_units(opt->seed, trial, sp->count, u, msg); break;
    case GD_SAMPLER_SOBOL: st = sobol_units(opt->seed, trial, sp->count, u, msg); break;
    case GD_SAMPLER_GRID:
        st = grid_walk(sp, opt->grid_points, trial, &seen, &p, msg);
        if (st == GD_ERR_NOT_FOUND)
            st = gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "grid: trial %llu is beyond its %llu "
                         "points", (unsigned long long)trial, (unsigned long long)seen);
        break;
    default: st = gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "sample: no sampler %d", opt->kind);
    }
    if (st != GD_OK)
        return st;
    if (opt->kind != GD_SAMPLER_GRID)
        point_from_units(sp, u, &p);
    for (int i = 0; i < sp->count; i++)
        if (!p.active[i]) {
            p.value[i] = NAN;
            p.text[i][0] = '\0';
        }
    *out = p;
    return GD_OK;
}
