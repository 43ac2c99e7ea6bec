/* What a study does next (gd_search_next), from journals written here: ASHA promotes in
 * trial order the top 1/eta of each rung's arrivals and prunes the rest only once every
 * trial has arrived or ended; a decision waits for an earlier trial that may still arrive;
 * the journal's line order changes nothing; coarse-to-fine's next stage waits for the one
 * before and samples inside the ranges its best trials span; busy trials are left alone. */
#include "scratch.h"

#include <criterion/criterion.h>
#include <gradus.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(search_plan, .init = scratch_make, .fini = scratch_remove);

static gd_space *bound_space(const char *const *texts, int n)
{
    gd_space *sp;
    gd_error err;
    cr_assert_eq(gd_space_create(&sp), GD_OK);
    for (int i = 0; i < n; i++)
        cr_assert_eq(gd_space_add(sp, texts[i], "--param", &err), GD_OK, "%s", err.message);
    cr_assert_eq(gd_space_bind(sp, NULL, &err), GD_OK, "%s", err.message);
    return sp;
}

static gd_search_options asha(int64_t trials)
{
    gd_search_options o;
    gd_search_defaults(&o);
    o.strategy = GD_STRATEGY_ASHA;
    o.trials = trials;
    o.epochs = 3; /* rungs at 1 and 3 epochs */
    o.min_epochs = 1;
    o.eta = 3;
    o.seed = 4;
    return o;
}

/* Trial t started with its sampled point, then one epoch event per accuracy given. */
static void trial_events(gd_journal *j, const gd_space *sp, const gd_search_options *o,
                         uint64_t t, int epochs, double acc)
{
    gd_sampler_options so = {.kind = GD_SAMPLER_RANDOM, .seed = o->seed};
    gd_trial_point p;
    gd_error err;
    cr_assert_eq(gd_space_sample(sp, &so, t, &p, &err), GD_OK, "%s", err.message);
    p.seed = gd_trial_seed(o->seed, t);
    gd_journal_event e = {.kind = GD_EVENT_STARTED, .trial = t, .space = sp, .point = &p};
    cr_assert_eq(gd_journal_append(j, &e, &err), GD_OK, "%s", err.message);
    for (int k = 1; k <= epochs; k++) {
        e = (gd_journal_event){.kind = GD_EVENT_EPOCH, .trial = t, .epoch = k,
                               .train_loss = 1, .val_loss = 1, .val_accuracy = acc};
        cr_assert_eq(gd_journal_append(j, &e, &err), GD_OK, "%s", err.message);
    }
}

static gd_study *load(const char *path)
{
    gd_study *st;
    gd_error err;
    cr_assert_eq(gd_study_load(&st, path, &err), GD_OK, "%s", err.message);
    return st;
}

/* A busy set: the trials handed out so far. */
typedef struct taken {
    bool trial[64];
} taken;

static bool is_taken(void *ctx, uint64_t t) { return t < 64 && ((taken *)ctx)->trial[t]; }

/* Every job the study gives while each one handed out is kept busy, until it must wait. */
static int jobs_until_wait(const gd_space *sp, const gd_search_options *o, const gd_study *st,
                           gd_search_job *jobs, int most)
{
    taken busy = {0};
    int n = 0;
    gd_error err;
    for (; n < most; n++) {
        cr_assert_eq(gd_search_next(sp, o, st, is_taken, &busy, &jobs[n], &err), GD_OK, "%s",
                     err.message);
        if (jobs[n].kind == GD_JOB_WAIT || jobs[n].kind == GD_JOB_DONE)
            break;
        busy.trial[jobs[n].trial] = true;
    }
    return n;
}

/* A journal at scratch j.jsonl with trials 0 to n - 1 at rung 1 (one epoch of acc[t]),
 * left open for more. */
static gd_journal *rung_journal(const gd_space *sp, const gd_search_options *o,
                                const double *acc, int n)
{
    gd_journal *j;
    cr_assert_eq(gd_journal_open(&j, scratch_path("j.jsonl"), NULL), GD_OK);
    for (int t = 0; t < n; t++)
        trial_events(j, sp, o, (uint64_t)t, 1, acc[t]);
    return j;
}

static const char *const LR[] = {"lr=loguniform(1e-4, 1e-1)"};

/* Rung 1's accuracies 0.5 0.7 0.6 0.9 0.1 0.8: after 3 arrivals the best 1 (trial 1) goes
 * up; after 4 and 5 the best 1 is trial 3; after 6 the best 2 are 3 and 5. The rest are
 * pruned: every trial has arrived. */
Test(search_plan, asha_promotes_the_top_third_of_arrivals_in_trial_order)
{
    const double acc[] = {0.5, 0.7, 0.6, 0.9, 0.1, 0.8};
    gd_space *sp = bound_space(LR, 1);
    gd_search_options o = asha(6);
    gd_journal_close(rung_journal(sp, &o, acc, 6));
    gd_study *st = load(scratch_path("j.jsonl"));
    gd_search_job jobs[16];
    int n = jobs_until_wait(sp, &o, st, jobs, 16);
    cr_assert_eq(n, 6);
    const gd_job_kind want[] = {GD_JOB_PRUNE, GD_JOB_TRAIN, GD_JOB_PRUNE,
                                GD_JOB_TRAIN, GD_JOB_PRUNE, GD_JOB_TRAIN};
    for (int t = 0; t < 6; t++) {
        cr_expect_eq(jobs[t].trial, (uint64_t)t);
        cr_expect_eq(jobs[t].kind, want[t], "trial %d", t);
        if (want[t] == GD_JOB_TRAIN) {
            cr_expect(jobs[t].resume);
            cr_expect_eq(jobs[t].until_epoch, 3);
            cr_expect_eq(jobs[t].epochs, 3, "a promoted trial keeps the whole schedule");
        }
    }
    cr_expect_eq(jobs[6].kind, GD_JOB_WAIT);
    gd_study_free(st);
    gd_space_free(sp);
}

/* Trial 3 has started but not reached rung 1: trial 1 is promoted already (the top 1 of
 * the first 3), but trials 0 and 2 wait, as trial 3 might change their ranks; with trials 1
 * and 3 busy the next job is a new trial, 4, trained to rung 1. */
Test(search_plan, a_decision_waits_for_an_earlier_trial_that_may_still_arrive)
{
    const double acc[] = {0.5, 0.7, 0.6};
    gd_space *sp = bound_space(LR, 1);
    gd_search_options o = asha(6);
    gd_journal *j = rung_journal(sp, &o, acc, 3);
    trial_events(j, sp, &o, 3, 0, 0);
    gd_journal_close(j);
    gd_study *st = load(scratch_path("j.jsonl"));
    gd_search_job jobs[16];
    int n = jobs_until_wait(sp, &o, st, jobs, 16);
    cr_assert_eq(n, 4);
    cr_expect(jobs[0].trial == 1 && jobs[0].kind == GD_JOB_TRAIN && jobs[0].until_epoch == 3);
    cr_expect(jobs[1].trial == 3 && jobs[1].kind == GD_JOB_TRAIN && jobs[1].until_epoch == 1,
              "an interrupted trial goes on to its rung");
    cr_expect(jobs[2].trial == 4 && !jobs[2].resume && jobs[2].until_epoch == 1);
    cr_expect(jobs[3].trial == 5 && !jobs[3].resume);
    cr_expect_eq(jobs[4].kind, GD_JOB_WAIT);
    gd_study_free(st);
    gd_space_free(sp);
}

/* The same figures written in another order (as workers finishing in another order write
 * them) give the same jobs. */
Test(search_plan, the_journal_order_changes_no_decision)
{
    const double acc[] = {0.5, 0.7, 0.6, 0.9, 0.1, 0.8};
    const int order[] = {5, 2, 4, 0, 3, 1};
    gd_space *sp = bound_space(LR, 1);
    gd_search_options o = asha(6);
    gd_journal *a, *b;
    cr_assert_eq(gd_journal_open(&a, scratch_path("a.jsonl"), NULL), GD_OK);
    cr_assert_eq(gd_journal_open(&b, scratch_path("b.jsonl"), NULL), GD_OK);
    for (int t = 0; t < 6; t++) {
        trial_events(a, sp, &o, (uint64_t)t, 1, acc[t]);
        trial_events(b, sp, &o, (uint64_t)order[t], 1, acc[order[t]]);
    }
    gd_journal_close(a);
    gd_journal_close(b);
    gd_study *sa = load(scratch_path("a.jsonl")), *sb = load(scratch_path("b.jsonl"));
    gd_search_job ja[16], jb[16];
    int na = jobs_until_wait(sp, &o, sa, ja, 16), nb = jobs_until_wait(sp, &o, sb, jb, 16);
    cr_assert_eq(na, nb);
    for (int i = 0; i <= na; i++) {
        cr_expect_eq(ja[i].kind, jb[i].kind);
        cr_expect_eq(ja[i].trial, jb[i].trial);
        cr_expect_eq(ja[i].until_epoch, jb[i].until_epoch);
    }
    gd_study_free(sa);
    gd_study_free(sb);
    gd_space_free(sp);
}

/* Trial k's parameters and seed are the sampler's point k and gd_trial_seed(seed, k),
 * whatever came before; with repeats, trials 2c and 2c + 1 share configuration c's. */
Test(search_plan, a_new_trial_gets_its_configurations_point_and_its_own_seed)
{
    gd_space *sp = bound_space(LR, 1);
    gd_search_options o;
    gd_search_defaults(&o);
    o.trials = 3, o.repeats = 2, o.seed = 11;
    cr_expect_eq(gd_search_total_trials(&o), 6);
    gd_journal *j;
    cr_assert_eq(gd_journal_open(&j, scratch_path("j.jsonl"), NULL), GD_OK);
    gd_journal_close(j);
    gd_study *st = load(scratch_path("j.jsonl"));
    gd_search_job jobs[8];
    int n = jobs_until_wait(sp, &o, st, jobs, 8);
    cr_assert_eq(n, 6);
    gd_sampler_options so = {.kind = GD_SAMPLER_RANDOM, .seed = 11};
    for (int t = 0; t < 6; t++) {
        gd_trial_point p;
        cr_assert_eq(gd_space_sample(sp, &so, (uint64_t)(t / 2), &p, NULL), GD_OK);
        cr_expect_str_eq(jobs[t].point.text[0], p.text[0], "trial %d", t);
        cr_expect_eq(jobs[t].point.seed, gd_trial_seed(11, (uint64_t)t));
        cr_expect_eq(jobs[t].epochs, o.epochs);
    }
    cr_expect_neq(jobs[0].point.seed, jobs[1].point.seed, "repeats differ in their seed");
    cr_expect_eq(jobs[6].kind, GD_JOB_WAIT);
    gd_study_free(st);
    gd_space_free(sp);
}

/* Coarse-to-fine, 6 trials then 2 (eta 3): stage 2 waits while stage 1 runs; once it has
 * ended, its trials sample inside the span of stage 1's best quarter (rounded up to two
 * configurations), widened by a tenth: here the two best lr values. */
Test(search_plan, coarse_to_fine_narrows_to_the_best_trials_of_the_stage_before)
{
    gd_space *sp = bound_space(LR, 1);
    gd_search_options o;
    gd_search_defaults(&o);
    o.strategy = GD_STRATEGY_COARSE_TO_FINE;
    o.trials = 6, o.stages = 2, o.epochs = 4, o.min_epochs = 1, o.seed = 2;
    cr_expect_eq(gd_search_total_trials(&o), 8);
    const double acc[] = {0.3, 0.9, 0.4, 0.8, 0.2, 0.1};
    gd_journal *j;
    cr_assert_eq(gd_journal_open(&j, scratch_path("j.jsonl"), NULL), GD_OK);
    double lo = INFINITY, hi = -INFINITY;
    for (int t = 0; t < 6; t++) {
        gd_sampler_options so = {.kind = GD_SAMPLER_SOBOL, .seed = 2};
        gd_trial_point p;
        cr_assert_eq(gd_space_sample(sp, &so, (uint64_t)t, &p, NULL), GD_OK);
        p.seed = gd_trial_seed(2, (uint64_t)t);
        gd_journal_event e = {.kind = GD_EVENT_STARTED, .trial = (uint64_t)t, .space = sp,
                              .point = &p};
        cr_assert_eq(gd_journal_append(j, &e, NULL), GD_OK);
        e = (gd_journal_event){.kind = GD_EVENT_EPOCH, .trial = (uint64_t)t, .epoch = 1,
                               .train_loss = 1, .val_loss = 1, .val_accuracy = acc[t]};
        cr_assert_eq(gd_journal_append(j, &e, NULL), GD_OK);
        if (t == 1 || t == 3) {
            lo = fmin(lo, log(p.value[0]));
            hi = fmax(hi, log(p.value[0]));
        }
        if (t < 5) { /* trial 5 is still running */
            e.kind = GD_EVENT_FINISHED;
            cr_assert_eq(gd_journal_append(j, &e, NULL), GD_OK);
        }
    }
    gd_study *st = load(scratch_path("j.jsonl"));
    gd_search_job jobs[8];
    taken busy = {.trial = {[5] = true}};
    cr_assert_eq(gd_search_next(sp, &o, st, is_taken, &busy, &jobs[0], NULL), GD_OK);
    cr_expect_eq(jobs[0].kind, GD_JOB_WAIT, "stage 2 waits for stage 1's last trial");
    gd_study_free(st);
    gd_journal_event e = {.kind = GD_EVENT_FINISHED, .trial = 5, .epoch = 1,
                          .train_loss = 1, .val_loss = 1, .val_accuracy = acc[5]};
    cr_assert_eq(gd_journal_append(j, &e, NULL), GD_OK);
    gd_journal_close(j);
    st = load(scratch_path("j.jsonl"));
    int n = jobs_until_wait(sp, &o, st, jobs, 8);
    cr_assert_eq(n, 2);
    double pad = (hi - lo) / 10;
    for (int i = 0; i < 2; i++) {
        cr_expect_eq(jobs[i].trial, (uint64_t)(6 + i));
        cr_expect_eq(jobs[i].epochs, 4, "the last stage trains --epochs");
        double v = log(jobs[i].point.value[0]);
        cr_expect(v >= lo - pad - 1e-9 && v <= hi + pad + 1e-9, "lr %g outside [%g, %g]",
                  jobs[i].point.value[0], exp(lo - pad), exp(hi + pad));
    }
    gd_study_free(st);
    gd_space_free(sp);
}

/* Options that cannot make a study are refused naming the flag. */
Test(search_plan, impossible_options_are_refused_naming_the_flag)
{
    gd_space *sp = bound_space(LR, 1);
    gd_search_options o = asha(6);
    gd_error err;
    o.eta = 1;
    cr_expect_eq(gd_search_check(sp, &o, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "--eta 1"), "%s", err.message);
    o = asha(6);
    o.min_epochs = 5;
    cr_expect_eq(gd_search_check(sp, &o, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "--min-epochs 5"), "%s", err.message);
    o = asha(0);
    cr_expect_eq(gd_search_check(sp, &o, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "--trials 0"), "%s", err.message);
    gd_space_free(sp);
}
