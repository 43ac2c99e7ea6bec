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

/* Rounded to 15 significant digits, which a double holds exactly, so that the points of
 * loguniform(1e-4, 1e-2) read 0.0001, 0.001, 0.01 rather than exp(log(...))'s last-bit
 * noise (0.0010000000000000002). */
static double round15(double v)
{
    char text[32];
    snprintf(text, sizeof text, "%.15g", v);
    return strtod(text, NULL);
}

static double grid_raw(const gd_param_info *q, int j, int n)
{
    if (n > 1 && (j == 0 || j == n - 1))
        return j == 0 ? q->lo : q->hi;
    double f = grid_fraction(j, n);
    if (q->kind == GD_PARAM_LOGUNIFORM || q->kind == GD_PARAM_LOGINT)
        return round15(exp(between(log(q->lo), log(q->hi), f)));
    return round15(between(q->lo, q->hi, f));
}

/* Parameter q's grid values for n points per range into out (room for n, or a choice's
 * options); their count. The integer kinds round the range's points and keep each once
 * (they increase, so a repeat is the one before): int(1, 3) on 5 points is 1, 2, 3. A
 * choice's values are its option indices. */
static int grid_values(const gd_param_info *q, int n, double *out)
{
    if (q->kind == GD_PARAM_CHOICE) {
        for (int j = 0; j < q->options; j++)
            out[j] = j;
        return q->options;
    }
    bool whole = q->kind != GD_PARAM_UNIFORM && q->kind != GD_PARAM_LOGUNIFORM;
    int count = 0;
    for (int j = 0; j < n; j++) {
        double v = grid_raw(q, j, n);
        if (whole)
            v = clamp(round(v), q->lo, q->hi);
        if (!(whole && count > 0 && v == out[count - 1]))
            out[count++] = v;
    }
    return count;
}

/* Every parameter's values, computed once per call: a walk visits up to GRID_MAX
 * combinations. */
typedef struct grid {
    int count, sizes[GD_SPACE_MAX_PARAMS];
    double *values[GD_SPACE_MAX_PARAMS];
    bool conditional; /* some parameter has a condition: points must be walked */
} grid;

static void grid_free(grid *g)
{
    for (int i = 0; i < g->count; i++)
        free(g->values[i]);
}

static gd_status grid_make(const gd_space *sp, int points, grid *g, char *msg)
{
    memset(g, 0, sizeof *g);
    if (points < 0 || points > GRID_POINTS_MAX)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "grid: %d points per range; give 1 to "
                       "%d", points, GRID_POINTS_MAX);
    if (sp->count == 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "the space has no parameters");
    int n = points > 0 ? points : GRID_POINTS_DEFAULT;
    double product = 1;
    for (int i = 0; i < sp->count; i++, g->count++) {
        const gd_param_info *q = &sp->param[i].info;
        g->values[i] = malloc((size_t)(n > q->options ? n : q->options) * sizeof(double));
        if (!g->values[i]) {
            grid_free(g);
            return gd_fail(msg, GD_ERR_NO_MEMORY, "grid: out of memory");
        }
        g->sizes[i] = grid_values(q, n, g->values[i]);
        g->conditional |= q->parent >= 0;
        product *= g->sizes[i];
    }
    if (product > GRID_MAX) {
        grid_free(g);
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "grid: %.0f combinations, more than %d: "
                       "give fewer points per range or fewer parameters", product, GRID_MAX);
    }
    return GD_OK;
}

/* Whether the combination idx is a point of the grid: an inactive parameter is counted
 * once, at its first value, not multiplied into the product. */
static bool grid_valid(const gd_space *sp, const int *idx)
{
    bool active[GD_SPACE_MAX_PARAMS];
    for (int i = 0; i < sp->count; i++) {
        const gd_param_info *q = &sp->param[i].info;
        active[i] = q->parent < 0 || (active[q->parent] && (q->when >> idx[q->parent] & 1));
        if (!active[i] && idx[i] != 0)
            return false;
    }
    return true;
}

/* The next combination, the last parameter fastest; false after the last. */
static bool grid_next(const grid *g, int *idx)
{
    for (int i = g->count - 1; i >= 0; i--) {
        if (++idx[i] < g->sizes[i])
            return true;
        idx[i] = 0;
    }
    return false;
}

/* The combination of point number trial, found by counting (with conditions) or by its
 * digits in the mixed radix of the sizes; *size is the grid's points when past it. */
static bool grid_find(const gd_space *sp, const grid *g, uint64_t trial, int *idx,
                      uint64_t *size)
{
    memset(idx, 0, (size_t)g->count * sizeof *idx);
    if (!g->conditional) {
        *size = 1;
        for (int i = 0; i < g->count; i++)
            *size *= (uint64_t)g->sizes[i];
        if (trial >= *size)
            return false;
        for (int i = g->count - 1; i >= 0; i--) {
            idx[i] = (int)(trial % (uint64_t)g->sizes[i]);
            trial /= (uint64_t)g->sizes[i];
        }
        return true;
    }
    uint64_t seen = 0;
    do {
        if (grid_valid(sp, idx) && seen++ == trial)
            return true;
    } while (grid_next(g, idx));
    *size = seen;
    return false;
}

/* Walks to point number trial into p: GD_ERR_NOT_FOUND past the end (*size: the points). */
static gd_status grid_walk(const gd_space *sp, int points, uint64_t trial, uint64_t *size,
                           gd_trial_point *p, char *msg)
{
    grid g;
    gd_status st = grid_make(sp, points, &g, msg);
    if (st != GD_OK)
        return st;
    int idx[GD_SPACE_MAX_PARAMS];
    if (grid_find(sp, &g, trial, idx, size)) {
        for (int i = 0; i < sp->count; i++) {
            set_value(&sp->param[i].info, g.values[i][idx[i]], p, i);
            p->active[i] = gd_param_active(sp, i, p);
        }
    } else
        st = GD_ERR_NOT_FOUND;
    grid_free(&g);
    return st;
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
