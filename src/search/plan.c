/* What a study does next (gd_search_next): which trial, with which parameters, trained to
 * which epoch. Every answer is a function of the options and of the journal's figures read
 * in trial order, so that the order in which workers finish changes nothing (docs/search.md,
 * "Reproducibility"). */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void gd_search_defaults(gd_search_options *opt)
{
    *opt = (gd_search_options){.strategy = GD_STRATEGY_RANDOM, .seed = 0, .trials = 20,
                               .repeats = 1, .epochs = 10, .min_epochs = 1, .eta = 3,
                               .stages = 3, .keep = 0.25};
}

/* ------------------------------------------------------------ the stages */

/* Coarse-to-fine's stage s: its configurations (trials / eta^s, at least 2) and epochs
 * (from min_epochs to epochs, geometrically). Other strategies have one stage. */
static int stage_count(const gd_search_options *o)
{
    return o->strategy == GD_STRATEGY_COARSE_TO_FINE ? o->stages : 1;
}

static int64_t stage_configs(const gd_search_options *o, int s)
{
    if (o->strategy != GD_STRATEGY_COARSE_TO_FINE)
        return o->trials;
    double n = floor((double)o->trials / pow(o->eta, s));
    return n < 2 ? 2 : (int64_t)n;
}

static int64_t stage_epochs(const gd_search_options *o, int s)
{
    if (o->strategy != GD_STRATEGY_COARSE_TO_FINE || o->stages < 2)
        return o->epochs;
    double f = (double)s / (o->stages - 1);
    double e = round((double)o->min_epochs * pow((double)o->epochs / o->min_epochs, f));
    return e < 1 ? 1 : (int64_t)e;
}

int64_t gd_search_total_trials(const gd_search_options *o)
{
    int64_t n = 0;
    for (int s = 0; s < stage_count(o); s++)
        n += stage_configs(o, s) * o->repeats;
    return n;
}

/* The stage of a trial, and the first trial of that stage. */
static int stage_of(const gd_search_options *o, uint64_t trial, uint64_t *first)
{
    uint64_t start = 0;
    int s = 0;
    for (; s < stage_count(o) - 1; s++) {
        uint64_t n = (uint64_t)(stage_configs(o, s) * o->repeats);
        if (trial < start + n)
            break;
        start += n;
    }
    if (first)
        *first = start;
    return s;
}

int64_t gd_search_config_of(const gd_search_options *o, uint64_t trial)
{
    return (int64_t)(trial / (uint64_t)o->repeats);
}

gd_status gd_search_check(const gd_space *sp, const gd_search_options *o, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!sp || !o)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "search: NULL argument");
    if (gd_space_count(sp) == 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "the search space is empty: give "
                       "--param NAME=KIND(ARGS) or --space FILE");
    if (o->trials < 1 || o->trials > 1000000)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--trials %lld: expected an integer in "
                       "[1, 1000000]", (long long)o->trials);
    if (o->repeats < 1 || o->repeats > 100)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--repeats %d: expected an integer in "
                       "[1, 100]", o->repeats);
    bool staged = o->strategy == GD_STRATEGY_ASHA || o->strategy == GD_STRATEGY_COARSE_TO_FINE;
    if (staged && !(o->min_epochs >= 1 && o->min_epochs <= o->epochs))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--min-epochs %lld: expected an integer "
                       "in [1, %lld] (at most --epochs)", (long long)o->min_epochs,
                       (long long)o->epochs);
    if (staged && !(o->eta > 1 && o->eta <= 100))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--eta %g: expected a number in (1, 100]",
                       o->eta);
    if (o->strategy == GD_STRATEGY_COARSE_TO_FINE &&
        (o->stages < 2 || o->stages > 10 || !(o->keep > 0 && o->keep <= 1)))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--stages %d, --keep %g: expected an "
                       "integer in [2, 10] and a number in (0, 1]", o->stages, o->keep);
    if (o->strategy == GD_STRATEGY_GRID) {
        uint64_t size;
        gd_status st = gd_space_grid_size(sp, o->grid_points, &size, err);
        if (st != GD_OK)
            return st;
        if ((uint64_t)o->trials > size)
            return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--trials %lld: the grid has %llu "
                           "points", (long long)o->trials, (unsigned long long)size);
    }
    return GD_OK;
}

/* ----------------------------------------------------------- trial states */

static bool ended(const gd_trial_record *r)
{
    return r && r->state != GD_TRIAL_RUNNING;
}

/* Whether every trial of [first, first + n) has ended. */
static bool all_ended(const gd_study *st, uint64_t first, uint64_t n)
{
    for (uint64_t t = first; t < first + n; t++)
        if (!ended(gd_study_find(st, t)))
            return false;
    return true;
}

/* ---------------------------------------------------- coarse-to-fine ranges */

static bool log_kind(const gd_param_info *q)
{
    return q->kind == GD_PARAM_LOGUNIFORM || q->kind == GD_PARAM_LOGINT;
}

/* The value of parameter name in r, or NaN (absent, inactive). */
static double value_of(const gd_trial_record *r, const char *name)
{
    for (int i = 0; i < r->params; i++)
        if (strcmp(r->name[i], name) == 0 && r->value[i])
            return strtod(r->value[i], NULL);
    return NAN;
}

typedef struct ranked {
    double score;
    uint64_t trial; /* the configuration's first */
} ranked;

static int better_first(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->trial < y->trial ? -1 : 1;
}

/* The mean best validation accuracy of each configuration of the stage starting at first,
 * best first (a configuration without one is left out); their count. */
static int64_t rank_stage(const gd_search_options *o, const gd_study *st, uint64_t first,
                          int64_t configs, ranked *out)
{
    int64_t n = 0;
    for (int64_t c = 0; c < configs; c++) {
        double sum = 0;
        int got = 0;
        for (int r = 0; r < o->repeats; r++) {
            const gd_trial_record *rec = gd_study_find(st, first + (uint64_t)(c * o->repeats + r));
            if (rec && rec->state == GD_TRIAL_FINISHED && !isnan(rec->best_val_accuracy)) {
                sum += rec->best_val_accuracy;
                got++;
            }
        }
        if (got > 0)
            out[n++] = (ranked){sum / got, first + (uint64_t)(c * o->repeats)};
    }
    qsort(out, (size_t)n, sizeof *out, better_first);
    return n;
}

/* Narrows each numeric range of sp to what the best configurations of the stage before
 * used, widened by a tenth of that span on each side (in the parameter's scale), within
 * the range it had; a span of one value keeps a tenth of the old range around it. */
static gd_status narrow(gd_space *sp, const gd_search_options *o, const gd_study *st, int s,
                        char *msg)
{
    uint64_t first = 0;
    for (int k = 0; k < s - 1; k++)
        first += (uint64_t)(stage_configs(o, k) * o->repeats);
    int64_t configs = stage_configs(o, s - 1);
    ranked *best = malloc((size_t)configs * sizeof *best);
    if (!best)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "search: out of memory");
    int64_t n = rank_stage(o, st, first, configs, best);
    int64_t kept = (int64_t)ceil(o->keep * (double)n);
    kept = kept < 2 ? (n < 2 ? n : 2) : kept;
    for (int i = 0; i < sp->count && kept > 0; i++) {
        gd_param_info *q = &sp->param[i].info;
        if (q->kind == GD_PARAM_CHOICE)
            continue;
        bool lg = log_kind(q);
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t k = 0; k < kept; k++) {
            double v = value_of(gd_study_find(st, best[k].trial), q->name);
            if (!isnan(v)) {
                v = lg ? log(v) : v;
                lo = fmin(lo, v), hi = fmax(hi, v);
            }
        }
        if (lo > hi)
            continue;
        double olo = lg ? log(q->lo) : q->lo, ohi = lg ? log(q->hi) : q->hi;
        double pad = hi > lo ? (hi - lo) / 10 : (ohi - olo) / 10;
        lo = fmax(olo, lo - pad), hi = fmin(ohi, hi + pad);
        q->lo = lg ? exp(lo) : lo, q->hi = lg ? exp(hi) : hi;
        if (q->kind != GD_PARAM_UNIFORM && q->kind != GD_PARAM_LOGUNIFORM)
            q->lo = floor(q->lo), q->hi = ceil(q->hi);
        q->lo = fmax(q->lo, sp->param[i].info.lo); /* rounding stays inside */
    }
    free(best);
    return GD_OK;
}

/* Trial t's point: the sampler's point of its configuration, in its stage's space, with
 * the trial's own seed. */
static gd_status point_of(const gd_space *sp, const gd_search_options *o, const gd_study *st,
                          uint64_t t, gd_trial_point *p, gd_error *err)
{
    static const gd_sampler_kind kinds[] = {
        [GD_STRATEGY_RANDOM] = GD_SAMPLER_RANDOM, [GD_STRATEGY_GRID] = GD_SAMPLER_GRID,
        [GD_STRATEGY_SOBOL] = GD_SAMPLER_SOBOL, [GD_STRATEGY_COARSE_TO_FINE] = GD_SAMPLER_SOBOL,
        [GD_STRATEGY_ASHA] = GD_SAMPLER_RANDOM};
    gd_sampler_options so = {.kind = kinds[o->strategy], .seed = o->seed,
                             .grid_points = o->grid_points};
    gd_space stage = *sp; /* a shallow copy: only its ranges change */
    int s = stage_of(o, t, NULL);
    if (s > 0) {
        gd_status st2 = narrow(&stage, o, st, s, err->message);
        if (st2 != GD_OK)
            return st2;
    }
    gd_status r = gd_space_sample(&stage, &so, (uint64_t)gd_search_config_of(o, t), p, err);
    if (r == GD_OK) {
        p->trial = t;
        p->seed = gd_trial_seed(o->seed, t);
    }
    return r;
}

/* ------------------------------------------------------------------ ASHA */

/* Rung r's epochs: min_epochs, times eta each rung, up to epochs (the last rung). */
static int64_t rung_epochs(const gd_search_options *o, int r)
{
    double e = (double)o->min_epochs;
    for (int i = 0; i < r && e < (double)o->epochs; i++)
        e = ceil(e * o->eta - 1e-9);
    return e < (double)o->epochs ? (int64_t)e : o->epochs;
}

/* The rung whose epochs are e, or -1. */
static int rung_at(const gd_search_options *o, int64_t e)
{
    for (int r = 0;; r++) {
        int64_t re = rung_epochs(o, r);
        if (re == e)
            return r;
        if (re > e || re == o->epochs)
            return -1;
    }
}

typedef enum { UNDECIDED, PROMOTE, STOP } verdict;

/* Successive halving taken in trial order: trials arrive at rung r in trial order, and when
 * n have arrived, those among the top floor(n / eta) of them (by best validation accuracy
 * up to the rung; ties to the lower trial) are promoted, once and for all. A trial is
 * stopped once every trial has arrived or ended below the rung without its promotion.
 * Each decision needs the figures of the trials before it alone, never the time they came. */
static verdict asha_verdict(const gd_search_options *o, const gd_study *st, uint64_t k, int r)
{
    int64_t e = rung_epochs(o, r), total = gd_search_total_trials(o), n = 0, ahead = 0;
    double mine = gd_trial_best_until(gd_study_find(st, k), e);
    mine = isnan(mine) ? -INFINITY : mine;
    bool seen = false;
    for (int64_t j = 0; j < total; j++) {
        const gd_trial_record *rec = gd_study_find(st, (uint64_t)j);
        if (rec && rec->epoch >= e) {
            double v = gd_trial_best_until(rec, e);
            v = isnan(v) ? -INFINITY : v;
            n++;
            seen = seen || (uint64_t)j == k;
            if ((uint64_t)j != k && (v > mine || (v == mine && (uint64_t)j < k)))
                ahead++;
            if (seen && (double)ahead < floor((double)n / o->eta))
                return PROMOTE;
        } else if (!ended(rec)) {
            return UNDECIDED; /* it may still arrive, and change the ranks */
        }
    }
    return STOP;
}

/* ------------------------------------------------------------------ jobs */

static bool train_job(const gd_space *sp, const gd_search_options *o, const gd_study *st,
                      uint64_t t, int64_t until, gd_search_job *job, gd_error *err,
                      gd_status *status)
{
    const gd_trial_record *rec = gd_study_find(st, t);
    int s = stage_of(o, t, NULL);
    *job = (gd_search_job){.kind = GD_JOB_TRAIN, .trial = t, .resume = rec != NULL,
                           .journal_epoch = rec ? rec->epoch : 0, .until_epoch = until,
                           .epochs = stage_epochs(o, s)};
    *status = point_of(sp, o, st, t, &job->point, err);
    return true;
}

/* The job for a trial the journal has, neither ended nor busy; false when it must wait. */
static bool continue_job(const gd_space *sp, const gd_search_options *o, const gd_study *st,
                         const gd_trial_record *rec, gd_search_job *job, gd_error *err,
                         gd_status *status)
{
    if (o->strategy != GD_STRATEGY_ASHA)
        return train_job(sp, o, st, rec->trial, stage_epochs(o, stage_of(o, rec->trial, NULL)),
                         job, err, status);
    int r = rec->epoch > 0 ? rung_at(o, rec->epoch) : -1;
    if (r < 0) { /* between rungs: on to the next */
        int next = 0;
        while (rung_epochs(o, next) <= rec->epoch)
            next++;
        return train_job(sp, o, st, rec->trial, rung_epochs(o, next), job, err, status);
    }
    verdict v = rung_epochs(o, r) == o->epochs ? PROMOTE : asha_verdict(o, st, rec->trial, r);
    if (v == UNDECIDED)
        return false;
    if (v == STOP) {
        *job = (gd_search_job){.kind = GD_JOB_PRUNE, .trial = rec->trial,
                               .journal_epoch = rec->epoch};
        return true;
    }
    return train_job(sp, o, st, rec->trial, rung_epochs(o, r + 1), job, err, status);
}

gd_status gd_search_next(const gd_space *sp, const gd_search_options *o, const gd_study *st,
                         bool (*busy)(void *ctx, uint64_t trial), void *ctx,
                         gd_search_job *job, gd_error *err)
{
    gd_error scratch;
    err = err ? err : &scratch;
    if (!sp || !o || !st || !job)
        return gd_fail(err->message, GD_ERR_INVALID_ARGUMENT, "search: NULL argument");
    if (!sp->bound)
        return gd_fail(err->message, GD_ERR_STATE, "search: the space is not bound");
    gd_status status = GD_OK;
    for (size_t i = 0; i < gd_study_trial_count(st); i++) {
        const gd_trial_record *rec = gd_study_trial(st, i);
        if (ended(rec) || (busy && busy(ctx, rec->trial)))
            continue;
        /* a completed ASHA trial that is at its last rung finishes in its worker */
        if (continue_job(sp, o, st, rec, job, err, &status))
            return status;
    }
    uint64_t total = (uint64_t)gd_search_total_trials(o);
    for (uint64_t t = 0; t < total; t++) {
        if (gd_study_find(st, t) || (busy && busy(ctx, t)))
            continue;
        uint64_t first;
        int s = stage_of(o, t, &first);
        if (s > 0) { /* the stage before must have ended: its best narrow this one */
            uint64_t prev = 0;
            stage_of(o, first - 1, &prev);
            if (!all_ended(st, prev, first - prev))
                break;
        }
        int64_t until = o->strategy == GD_STRATEGY_ASHA ? rung_epochs(o, 0) : stage_epochs(o, s);
        train_job(sp, o, st, t, until, job, err, &status);
        return status;
    }
    bool done = all_ended(st, 0, total);
    *job = (gd_search_job){.kind = done ? GD_JOB_DONE : GD_JOB_WAIT};
    return GD_OK;
}
