/* Data parallelism: one model trained by the ranks of a group (docs/distributed.md).
 *
 * Every rank holds the whole model and the whole data, and takes its shard of every
 * global batch (the loader's gd_loader_set_shard: --batch-size stays the global batch).
 * Each rank's loss gradient is scaled by its share of the batch, n_r / B, so that the sum
 * of the ranks' gradients is the gradient of the global batch's mean loss, whatever the
 * shards' sizes; the trainer sums them after backward (MPI_Allreduce, or in rank order
 * with --deterministic-reduce) and every rank applies the same update. Batch norm takes
 * its statistics over the rank's shard, or over the global batch with --sync-bn; dropout
 * and augmentation draw the global batch's masks and keep the rank's part, so that with
 * --sync-bn the ranks compute what one process computes, up to the order of additions.
 *
 * Collectives must be reached by every rank in the same order: each step's figures travel
 * in one small exchange that also carries a failure (a NaN loss) or a stop request from
 * any rank, so that all ranks stop at the same step; setup failures are agreed on before
 * the first broadcast. Rank 0 writes the run's files. */
#include "train.h"

#include "../dist/dist.h"
#include "../model/model.h"
#include "../preprocess/preprocess.h"

#include <stdlib.h>
#include <string.h>

struct gd_parallel {
    gd_comm *comm;
    int rank, ranks;
    bool ordered;
    float *scratch;         /* the ordered sum's */
    gd_stat_sync sync;      /* --sync-bn's exchange; sync.scratch NULL without */
    unsigned char *buffers; /* the model's buffers, to share rank 0's */
    size_t buffer_bytes;
    void *gathered; /* ranks x the longest message below */
};

/* What every rank says at a point where all must agree: its status and message. */
typedef struct agreement {
    int status;
    char message[GD_MSG_MAX];
} agreement;

/* One step's figures of one rank, exchanged and added in rank order. */
typedef struct step_figures {
    double loss_sum, correct, samples, failed, stop;
} step_figures;

gd_status gd_parallel_create(gd_run *run, gd_comm *comm)
{
    run->writes = true;
    if (!comm || gd_comm_size(comm) == 1)
        return GD_OK;
    gd_parallel *p = calloc(1, sizeof *p);
    /* The agreement is the longest message (a step's figures, an evaluation's sums and a
     * resume's place are shorter). */
    if (!p || !(p->gathered = calloc((size_t)gd_comm_size(comm), sizeof(agreement)))) {
        free(p);
        return gd_fail(run->msg, GD_ERR_NO_MEMORY, "run: out of memory for its ranks");
    }
    p->comm = comm;
    p->rank = gd_comm_rank(comm);
    p->ranks = gd_comm_size(comm);
    p->ordered = run->settings.deterministic_reduce;
    run->par = p;
    run->writes = p->rank == 0;
    return GD_OK;
}

void gd_parallel_free(gd_parallel *p)
{
    if (!p)
        return;
    free(p->scratch);
    free(p->sync.scratch);
    free(p->buffers);
    free(p->gathered);
    free(p);
}

/* Every rank's status: the first failure (rank 0's if it failed, else the lowest failing
 * rank's, named) for all, so that no rank waits in a collective another has left. */
gd_status gd_parallel_agree(gd_run *run, gd_status st)
{
    gd_parallel *p = run->par;
    if (!p)
        return st;
    agreement mine = {.status = st};
    if (st != GD_OK)
        snprintf(mine.message, sizeof mine.message, "%s", run->msg);
    agreement *votes = p->gathered;
    gd_status c = gd_comm_allgather(p->comm, &mine, sizeof mine, votes, run->msg);
    if (c != GD_OK)
        return c;
    for (int r = 0; r < p->ranks; r++) {
        if (votes[r].status == GD_OK)
            continue;
        if (r == p->rank || r == 0)
            snprintf(run->msg, GD_MSG_MAX, "%s", votes[r].message);
        else
            snprintf(run->msg, GD_MSG_MAX, "rank %d: %.*s", r, GD_MSG_MAX - 20,
                     votes[r].message);
        return (gd_status)votes[r].status;
    }
    return GD_OK;
}

gd_status gd_parallel_share_preprocessing(gd_run *run)
{
    if (!run->par || !run->pre)
        return GD_OK;
    gd_error err;
    /* The tensors are views into the transform's own statistics, which this overwrites
     * with rank 0's: the transform is not otherwise changed. */
    for (size_t i = 0; i < gd_preprocess_tensor_count(run->pre); i++) {
        const gd_tensor *t = &gd_preprocess_tensor_at(run->pre, i)->value;
        size_t bytes = (size_t)gd_tensor_numel(t) * sizeof(float);
        if (gd_comm_bcast(run->par->comm, t->data, bytes, 0, &err) != GD_OK)
            return gd_fail(run->msg, GD_ERR_IO, "%s", err.message);
    }
    return GD_OK;
}

/* Rank 0's buffers (batch norm's running statistics and counts) for every rank. */
gd_status gd_parallel_share_buffers(gd_run *run)
{
    gd_parallel *p = run->par;
    if (!p || p->buffer_bytes == 0)
        return GD_OK;
    gd_error err;
    gd_model_copy_buffers(run->model, p->buffers, true);
    if (gd_comm_bcast(p->comm, p->buffers, p->buffer_bytes, 0, &err) != GD_OK)
        return gd_fail(run->msg, GD_ERR_IO, "%s", err.message);
    gd_model_copy_buffers(run->model, p->buffers, false);
    return GD_OK;
}

/* Batch norm refuses a batch of one in training: with it, every rank's shard of every
 * batch (the smallest being the last) must hold two samples, and without it one. */
static gd_status check_shards(gd_run *run)
{
    int64_t n = gd_dataset_size(run->train), b = run->settings.batch_size;
    int64_t smallest = gd_loader_batches(run->loader) * b > n ? n % b : b; /* the last */
    int64_t least = run->batchnorm && !run->settings.sync_bn ? 2 : 1;
    int ranks = run->par->ranks;
    if (smallest / ranks >= least)
        return GD_OK;
    return gd_fail(run->msg, GD_ERR_INVALID_ARGUMENT,
                   "%d ranks cannot share a batch of %lld sample%s (--batch-size %lld over %lld "
                   "training samples): each rank needs %s of every batch; give a --batch-size "
                   "of at least %lld%s",
                   ranks, (long long)smallest, smallest == 1 ? "" : "s", (long long)b,
                   (long long)n, least == 2 ? "two samples (batch norm)" : "a sample",
                   (long long)(least * ranks),
                   smallest < b ? ", and one that leaves a last batch that large" : "");
}

/* The exchange buffers, sized once: no step allocates. */
static gd_status plan_exchanges(gd_run *run)
{
    gd_parallel *p = run->par;
    gd_model *m = run->model;
    if (m->param_count > (size_t)INT32_MAX)
        return gd_fail(run->msg, GD_ERR_LIMIT, "%zu parameters: more than MPI can sum in one call",
                       m->param_count);
    p->buffer_bytes = gd_model_buffers_bytes(m);
    size_t scratch = p->ordered ? gd_comm_ordered_scratch(p->comm, m->param_count) : 0;
    if ((p->buffer_bytes && !(p->buffers = malloc(p->buffer_bytes))) ||
        (scratch && !(p->scratch = malloc(scratch * sizeof *p->scratch))))
        return gd_fail(run->msg, GD_ERR_NO_MEMORY, "run: out of memory for the ranks' exchange");
    if (run->batchnorm && run->settings.sync_bn) {
        /* The widest batch norm has at most as many channels as the model has buffers. */
        size_t doubles = gd_stat_sync_scratch(p->ranks, (int64_t)m->buffer_count);
        if (!(p->sync.scratch = malloc(doubles * sizeof *p->sync.scratch)))
            return gd_fail(run->msg, GD_ERR_NO_MEMORY, "run: out of memory for --sync-bn");
        p->sync.comm = p->comm;
        gd_model_set_stat_sync(m, &p->sync);
    }
    return GD_OK;
}

/* Whether every rank found the checkpoint, at the same epoch: a rank that does not see
 * rank 0's run folder would otherwise start afresh and train another model. */
static gd_status check_resume(gd_run *run, bool checkpoint)
{
    gd_parallel *p = run->par;
    int64_t mine[2] = {checkpoint, run->state.epoch}, *every = p->gathered;
    gd_status st = gd_comm_allgather(p->comm, mine, sizeof mine, every, run->msg);
    for (int r = 1; st == GD_OK && r < p->ranks; r++)
        if (every[2 * r] != every[0] || every[2 * r + 1] != every[1])
            st = gd_fail(run->msg, GD_ERR_IO,
                         "rank %d %s the checkpoint in %s that rank 0 %s (epoch %lld): every "
                         "rank must see the run folder (a file system they share)", r,
                         every[2 * r] ? "found" : "does not find", run->dir ? run->dir : "",
                         every[0] ? "resumes from" : "does not have",
                         (long long)every[1]);
    return st;
}

gd_status gd_parallel_start(gd_run *run, bool checkpoint, gd_status st)
{
    gd_parallel *p = run->par;
    if (!p)
        return st;
    gd_error err;
    if (st == GD_OK)
        st = check_shards(run);
    if (st == GD_OK)
        st = plan_exchanges(run);
    if (st == GD_OK && (st = gd_loader_set_shard(run->loader, p->rank, p->ranks, &err)))
        gd_fail(run->msg, st, "%s", err.message);
    st = gd_parallel_agree(run, st);
    if (st == GD_OK)
        st = check_resume(run, checkpoint);
    /* Rank 0's weights and buffers: every rank starts from the very same model. */
    if (st == GD_OK && (st = gd_comm_bcast(p->comm, run->model->params,
                                           run->model->param_count * sizeof(float), 0, &err)))
        gd_fail(run->msg, st, "%s", err.message);
    if (st == GD_OK)
        st = gd_parallel_share_buffers(run);
    return st;
}

/* ---------------------------------------------------------------- steps */

void gd_parallel_scale_loss_gradient(gd_run *run, int64_t rows, int64_t total)
{
    if (!run->par)
        return;
    gd_tensor *g = gd_model_output_grad(run->model);
    float share = (float)((double)rows / (double)total);
    int64_t n = gd_tensor_numel(g);
    for (int64_t i = 0; i < n; i++)
        g->data[i] *= share;
}

gd_status gd_parallel_step_figures(gd_run *run, gd_parallel_step *step)
{
    gd_parallel *p = run->par;
    if (!p)
        return GD_OK;
    step_figures mine = {.loss_sum = step->loss_sum, .correct = (double)step->correct,
                         .samples = (double)step->samples, .failed = step->failed,
                         .stop = run->stop_requested};
    step_figures *every = p->gathered;
    gd_status st = gd_comm_allgather(p->comm, &mine, sizeof mine, every, run->msg);
    if (st != GD_OK)
        return st;
    step_figures sum = {0};
    for (int r = 0; r < p->ranks; r++) {
        sum.loss_sum += every[r].loss_sum;
        sum.correct += every[r].correct;
        sum.samples += every[r].samples;
        sum.failed += every[r].failed;
        sum.stop += every[r].stop;
    }
    step->loss_sum = sum.loss_sum;
    step->correct = (int64_t)sum.correct;
    step->samples = (int64_t)sum.samples;
    step->failed = sum.failed > 0;
    if (sum.stop > 0)
        run->stop_requested = run->stop_agreed = true;
    return GD_OK;
}

gd_status gd_parallel_sum_gradients(gd_run *run)
{
    gd_parallel *p = run->par;
    if (!p)
        return GD_OK;
    gd_model *m = run->model;
    return p->ordered ? gd_comm_sum_f32_ordered(p->comm, m->grads, m->param_count, p->scratch,
                                                run->msg)
                      : gd_comm_sum_f32(p->comm, m->grads, m->param_count, run->msg);
}

/* ------------------------------------------------------------ evaluation */

gd_status gd_parallel_evaluate(gd_run *run, gd_dataset *ds, gd_evaluation *out, gd_error *err)
{
    gd_parallel *p = run->par;
    if (!p)
        return gd_evaluate(run->model, ds, NULL, out, err);
    gd_eval_sums mine, *every = p->gathered;
    gd_status st = gd_evaluate_shard(run->model, ds, NULL, p->rank, p->ranks, &mine, err);
    mine.samples = st == GD_OK ? mine.samples : -1; /* a failure, for every rank to see */
    gd_status c = gd_comm_allgather(p->comm, &mine, sizeof mine, every, err->message);
    gd_eval_sums sum = {0};
    for (int r = 0; c == GD_OK && st == GD_OK && r < p->ranks; r++) {
        if (every[r].samples < 0) {
            st = gd_fail(err->message, GD_ERR_STATE, "evaluate: rank %d failed", r);
            break;
        }
        sum.loss += every[r].loss;
        sum.correct += every[r].correct;
        sum.samples += every[r].samples;
    }
    gd_eval_sums_result(&sum, out);
    return c != GD_OK ? c : st;
}
