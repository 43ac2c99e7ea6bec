/* One worker of a study (gd_search_work): claims a job while it holds the study's claim
 * lock, so that two workers never take the same trial, then trains it with the trial's
 * folder locked, appending each event to the journal as it happens. A worker that dies
 * (kill -9 included) leaves its trial unlocked and "running" in the journal: the next
 * worker to claim continues it from its last checkpoint. */
#include "search.h"
#include "../train/train.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void gd_search_trial_dir(const char *dir, uint64_t trial, char *path, size_t len)
{
    snprintf(path, len, "%s/trials/%04llu", dir, (unsigned long long)trial);
}

/* ------------------------------------------------------------------ locks */

static int set_lock(int fd, short type, bool wait)
{
    struct flock l = {.l_type = type, .l_whence = SEEK_SET};
    int r;
    while ((r = fcntl(fd, wait ? F_SETLKW : F_SETLK, &l)) < 0 && errno == EINTR)
        ;
    return r;
}

/* Trial t's folder made and its .lock taken (fd returned), or -1 when another process
 * holds it (errno EAGAIN or EACCES) or it cannot be made. */
static int lock_trial(const char *dir, uint64_t t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/trials", dir);
    mkdir(path, 0755);
    gd_search_trial_dir(dir, t, path, sizeof path);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -1;
    size_t n = strlen(path);
    snprintf(path + n, sizeof path - n, "/.lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (set_lock(fd, F_WRLCK, false) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether another worker trains trial t now: it holds the trial's lock. */
static bool trial_busy(void *ctx, uint64_t t)
{
    char path[4096];
    gd_search_trial_dir(ctx, t, path, sizeof path);
    size_t n = strlen(path);
    snprintf(path + n, sizeof path - n, "/.lock");
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    bool held = fcntl(fd, F_GETLK, &l) == 0 && l.l_type != F_UNLCK;
    close(fd);
    return held;
}

/* ------------------------------------------------------------- one trial */

typedef struct watch {
    double first_loss; /* the run's first batch's, kept in the trial's folder */
    const char *path;  /* that file */
    bool writes;       /* a slot's rank 0, or alone: the file is this process's to write */
    bool diverged;
    char why[160];
    volatile const int *stop;
} watch;

/* The first batch's loss as the trial's folder keeps it (NaN: none yet), so that a trial
 * continued from its checkpoint judges its losses by the same yardstick. */
static double read_first_loss(const char *path)
{
    FILE *f = fopen(path, "r");
    double v = NAN;
    if (f && fscanf(f, "%lf", &v) != 1)
        v = NAN;
    if (f)
        fclose(f);
    return v;
}

/* The lecture's rule: a loss that is NaN or three times the first one will not come back. */
static void watch_loss(void *ctx, gd_run *run, const gd_step_info *step)
{
    watch *w = ctx;
    if (step->step == 0 || isnan(w->first_loss)) {
        char text[32];
        w->first_loss = step->loss;
        int n = snprintf(text, sizeof text, "%.17g\n", step->loss);
        gd_error ignored; /* without the file, a resume takes its own first batch */
        if (w->writes)
            gd_write_file_atomic(w->path, text, (size_t)n, &ignored);
    }
    if (!isfinite(step->loss) || step->loss > 3 * w->first_loss) {
        snprintf(w->why, sizeof w->why, "loss %.4g at epoch %lld, step %lld: above 3 x the "
                 "first batch's %.4g", step->loss, (long long)step->epoch + 1,
                 (long long)step->step + 1, w->first_loss);
        w->diverged = true;
        gd_run_stop(run);
    }
}

static void watch_stop(void *ctx, gd_run *run, const gd_step_info *step)
{
    (void)step;
    const watch *w = ctx;
    if (w->stop && *w->stop)
        gd_run_stop(run);
}

/* A journal of NULL: a slot's other ranks, whose rank 0 writes the events. */
static gd_status append(gd_journal *j, gd_event_kind kind, uint64_t t, int64_t epoch,
                        const gd_epoch_metrics *m, const char *message, gd_error *err)
{
    if (!j)
        return GD_OK;
    gd_journal_event e = {.kind = kind, .trial = t, .epoch = epoch, .message = message,
                          .train_loss = m ? m->train_loss : NAN,
                          .val_loss = m ? m->val_loss : NAN,
                          .val_accuracy = m ? m->val_accuracy : NAN};
    return gd_journal_append(j, &e, err);
}

/* The epochs a resumed run holds beyond what the journal has (a worker killed between its
 * checkpoint and its journal line), so that the journal has every epoch. */
static gd_status catch_up(gd_run *run, gd_journal *j, const gd_search_job *job, gd_error *err)
{
    gd_run_result r;
    gd_run_result_get(run, &r);
    gd_status st = GD_OK;
    for (int64_t e = job->journal_epoch; st == GD_OK && e < r.history_len; e++)
        st = append(j, GD_EVENT_EPOCH, job->trial, e + 1, &r.history[e], NULL, err);
    return st;
}

/* Epochs until the job's, patience or the stop; the event that ends it, if any. */
static gd_status train_epochs(gd_run *run, gd_journal *j, const gd_search_job *job,
                              const watch *w, gd_error *err)
{
    gd_run_result r;
    gd_run_result_get(run, &r);
    int64_t done = r.epochs;
    gd_epoch_metrics m = {0};
    bool early = false;
    while (done < job->until_epoch && !early) {
        gd_status st = gd_run_epoch(run, &m);
        if (st == GD_ERR_NUMERIC || w->diverged)
            return append(j, GD_EVENT_DIVERGED, job->trial, done, NULL,
                          w->diverged ? w->why : gd_run_error(run), err);
        if (st != GD_OK)
            return append(j, GD_EVENT_FAILED, job->trial, done, NULL, gd_run_error(run), err);
        if (m.epoch == 0)
            return GD_OK; /* stopped: the trial goes on later from its checkpoint */
        done = m.epoch;
        if ((st = append(j, GD_EVENT_EPOCH, job->trial, done, &m, NULL, err)) != GD_OK)
            return st;
        early = gd_run_patience_spent(run);
    }
    if (done < job->epochs && !early)
        return GD_OK; /* paused at an ASHA rung */
    if (done == 0)
        return append(j, GD_EVENT_FINISHED, job->trial, 0, NULL, NULL, err);
    gd_run_result_get(run, &r);
    return append(j, GD_EVENT_FINISHED, job->trial, done, &r.history[done - 1],
                  early ? "stopped early by --patience" : NULL, err);
}

static gd_status run_trial(const gd_search_worker *w, gd_journal *j, gd_data_cache *cache,
                           const gd_search_job *job, gd_error *err)
{
    char dir[4096];
    gd_search_trial_dir(w->dir, job->trial, dir, sizeof dir);
    gd_settings s = {0};
    gd_status st = gd_settings_copy(&s, w->fixed);
    if (st == GD_OK)
        st = gd_space_apply(w->space, &job->point, &s, err);
    if (st != GD_OK) {
        gd_settings_free(&s);
        return append(j, GD_EVENT_FAILED, job->trial, job->journal_epoch, NULL, err->message,
                      err);
    }
    s.epochs = job->epochs;
    gd_run_options o = {.dir = dir, .resume = job->resume, .data_cache = cache,
                        .comm = w->comm};
    gd_run *run = NULL;
    gd_error made;
    st = gd_run_create(&run, &s, &o, &made);
    gd_settings_free(&s);
    if (st != GD_OK)
        return append(j, GD_EVENT_FAILED, job->trial, job->journal_epoch, NULL, made.message,
                      err);
    size_t n = strlen(dir);
    snprintf(dir + n, sizeof dir - n, "/first_loss");
    watch wt = {.first_loss = read_first_loss(dir), .path = dir, .stop = w->stop,
                .writes = gd_comm_rank(w->comm) == 0};
    gd_run_add_observer(run, &(gd_observer){.ctx = &wt, .after_forward = watch_loss,
                                            .after_step = watch_stop});
    st = catch_up(run, j, job, err);
    if (st == GD_OK)
        st = train_epochs(run, j, job, &wt, err);
    gd_run_free(run);
    return st;
}

/* ------------------------------------------------------------ the claim */

/* Under the claim lock: the next job, and for a training job its trial locked (*trial_fd)
 * and its "started" line written. */
static gd_status claim(const gd_search_worker *w, int claim_fd, gd_journal *j,
                       gd_search_job *job, int *trial_fd, gd_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/journal.jsonl", w->dir);
    if (set_lock(claim_fd, F_WRLCK, true) < 0)
        return gd_fail(err->message, GD_ERR_IO, "%.200s/.claim: cannot be locked: %s", w->dir,
                       strerror(errno));
    gd_study *study = NULL;
    gd_status st = gd_study_load(&study, path, err);
    if (st == GD_OK)
        st = gd_search_next(w->space, w->opt, study, trial_busy, (void *)w->dir, job, err);
    gd_study_free(study);
    if (st == GD_OK && job->kind == GD_JOB_TRAIN) {
        *trial_fd = lock_trial(w->dir, job->trial);
        if (*trial_fd < 0)
            st = gd_fail(err->message, GD_ERR_IO, "%.200s: trial %llu's folder cannot be "
                         "made or locked: %s", w->dir, (unsigned long long)job->trial,
                         strerror(errno));
        else {
            gd_journal_event e = {.kind = GD_EVENT_STARTED, .trial = job->trial,
                                  .epoch = job->journal_epoch, .space = w->space,
                                  .point = &job->point};
            st = gd_journal_append(j, &e, err);
        }
    } else if (st == GD_OK && job->kind == GD_JOB_PRUNE) {
        st = append(j, GD_EVENT_PRUNED, job->trial, job->journal_epoch, NULL,
                    "below the rung's best 1/eta", err);
    }
    set_lock(claim_fd, F_UNLCK, false);
    return st;
}

static void nap(void)
{
    struct timespec t = {0, 200 * 1000 * 1000};
    nanosleep(&t, NULL);
}

/* What a slot's rank 0 tells its other ranks before each job: its claim's status and the
 * job (GD_JOB_DONE once it stops). */
typedef struct slot_order {
    int status;
    gd_search_job job;
} slot_order;

/* The next job: claimed by this process alone or by the slot's rank 0, and told to the
 * slot's other ranks, which then do as it does. A failure of rank 0 reaches them too. */
static gd_status next_job(const gd_search_worker *w, int claim_fd, gd_journal *j,
                          gd_search_job *job, int *trial_fd, gd_status st, gd_error *err)
{
    slot_order o = {.status = st, .job.kind = GD_JOB_DONE};
    if (gd_comm_rank(w->comm) == 0 && st == GD_OK && !(w->stop && *w->stop))
        o.status = claim(w, claim_fd, j, &o.job, trial_fd, err);
    if (gd_comm_size(w->comm) > 1) {
        gd_status c = gd_comm_bcast(w->comm, &o, sizeof o, 0, err);
        if (c != GD_OK)
            return c;
        if (o.status != GD_OK && gd_comm_rank(w->comm) > 0)
            snprintf(err->message, GD_MSG_MAX, "the slot's rank 0 stopped");
    }
    *job = o.job;
    return (gd_status)o.status;
}

gd_status gd_search_work(const gd_search_worker *w, gd_error *err)
{
    gd_error scratch;
    err = err ? err : &scratch;
    if (!w || !w->dir || !w->fixed || !w->space || !w->opt)
        return gd_fail(err->message, GD_ERR_INVALID_ARGUMENT, "search: NULL argument");
    bool leader = gd_comm_rank(w->comm) == 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/.claim", w->dir);
    int claim_fd = leader ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    gd_status st = GD_OK;
    if (leader && claim_fd < 0)
        st = gd_fail(err->message, GD_ERR_IO, "%.200s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/journal.jsonl", w->dir);
    gd_journal *j = NULL;
    /* One read of --data for the worker's life, not one per trial and ASHA promotion:
     * the trials of a study share --data and its CSV settings; a trial whose read settings
     * differ only replaces the cache's entry. */
    gd_data_cache *cache = NULL;
    if (st == GD_OK)
        st = gd_data_cache_new(&cache, err);
    if (st == GD_OK && leader)
        st = gd_journal_open(&j, path, err);
    for (;;) {
        gd_search_job job;
        int trial_fd = -1;
        if ((st = next_job(w, claim_fd, j, &job, &trial_fd, st, err)) != GD_OK ||
            job.kind == GD_JOB_DONE)
            break;
        if (job.kind == GD_JOB_WAIT && leader)
            nap();
        if (job.kind == GD_JOB_TRAIN) {
            st = run_trial(w, j, cache, &job, err);
            if (trial_fd >= 0)
                close(trial_fd);
        }
    }
    gd_journal_close(j);
    gd_data_cache_free(cache);
    if (claim_fd >= 0)
        close(claim_fd);
    return st;
}
