/* Mini-batches over a data set (which must outlive the loader). Epoch e's order is a
 * Fisher-Yates permutation from a generator seeded with seed ^ (0x9e3779b97f4a7c15 (e + 1))
 * (through splitmix64, in gd_rng_seed) and drawn from the identity: it depends on (seed, e)
 * alone, so a run resumed at epoch e sees the batches it would have seen. The 64-bit golden
 * ratio spreads consecutive epochs over the seed space (as splitmix64's own increment).
 * Batches are copied out of the data set into one buffer allocated at creation; a new
 * epoch starts at gd_loader_create and at each gd_loader_start_epoch. Augmentation
 * (augment.c) transforms that buffer in place, with draws reseeded from (seed, epoch) at
 * each epoch's start, whether or not the loader shuffles. */
#include "data.h"

#include <stdlib.h>
#include <string.h>

struct gd_loader {
    const gd_dataset *ds;
    int64_t batch_size;
    bool shuffle, drop_last;
    uint64_t seed;
    gd_rng *rng;
    int64_t *order; /* this epoch's sample order */
    int64_t next;   /* position in order of the next batch's first sample */
    int64_t epoch;  /* the epoch under way */
    int64_t rows;   /* min(batch_size, n): the batch buffers' samples */
    float *x;
    int32_t *y;
    gd_augmenter *aug; /* NULL: none */
    int rank, ranks;   /* this loader's shard of every batch (0 of 1: the whole) */
    int64_t first, total; /* the last batch's: its first sample here, and its size */
};

gd_status gd_loader_create(gd_loader **out, const gd_dataset *ds, int64_t batch_size,
                           bool shuffle, bool drop_last, uint64_t seed, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!out || !ds)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "loader: NULL argument");
    *out = NULL;
    if (batch_size < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "loader: batch size is %lld, must be >= 1",
                       (long long)batch_size);
    if (ds->n < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "loader: the data set is empty");
    gd_loader *l = malloc(sizeof *l);
    if (!l)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "loader: out of memory");
    int64_t rows = batch_size < ds->n ? batch_size : ds->n;
    *l = (gd_loader){.ds = ds, .batch_size = batch_size, .shuffle = shuffle,
                     .drop_last = drop_last, .seed = seed, .rows = rows, .ranks = 1};
    l->order = malloc((size_t)ds->n * sizeof *l->order);
    l->x = gd_alloc_aligned((size_t)(rows * ds->sample_size) * sizeof(float));
    l->y = malloc((size_t)rows * sizeof *l->y);
    if (!l->order || !l->x || !l->y || gd_rng_create(&l->rng, seed) != GD_OK) {
        gd_loader_free(l);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "loader: out of memory for %lld samples",
                       (long long)ds->n);
    }
    gd_loader_start_epoch(l, 0);
    *out = l;
    return GD_OK;
}

void gd_loader_free(gd_loader *l)
{
    if (!l)
        return;
    gd_rng_free(l->rng);
    gd_augmenter_free(l->aug);
    free(l->order);
    free(l->x);
    free(l->y);
    free(l);
}

int64_t gd_loader_batches(const gd_loader *l)
{
    int64_t n = l->ds->n, b = l->batch_size;
    return l->drop_last ? n / b : (n + b - 1) / b;
}

void gd_loader_start_epoch(gd_loader *l, int64_t epoch)
{
    int64_t n = l->ds->n;
    for (int64_t i = 0; i < n; i++)
        l->order[i] = i;
    if (l->shuffle) {
        gd_rng_seed(l->rng, l->seed ^ (0x9e3779b97f4a7c15ULL * ((uint64_t)epoch + 1)));
        gd_shuffle_prefix(l->order, n, n, l->rng);
    }
    l->next = 0;
    l->epoch = epoch;
    if (l->aug)
        gd_augmenter_start_epoch(l->aug, l->seed, epoch);
}

/* A new setting replaces the old only once it is valid; its draws start from the current
 * epoch's beginning. */
gd_status gd_loader_set_augment(gd_loader *l, const gd_augment *aug, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!l)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "loader: NULL argument");
    gd_augmenter *a;
    gd_status st = gd_augmenter_create(&a, aug, &l->ds->shape, l->rows, msg);
    if (st != GD_OK)
        return st;
    gd_augmenter_free(l->aug);
    l->aug = a;
    if (a)
        gd_augmenter_start_epoch(a, l->seed, l->epoch);
    return GD_OK;
}

gd_status gd_loader_set_shard(gd_loader *l, int rank, int ranks, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!l || ranks < 1 || rank < 0 || rank >= ranks)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "loader: shard %d of %d", rank, ranks);
    l->rank = rank;
    l->ranks = ranks;
    return GD_OK;
}

void gd_loader_shard(const gd_loader *l, int64_t *first, int64_t *total)
{
    *first = l->first;
    *total = l->total;
}

/* Shard r of a batch of rows samples: from rows r / ranks up to rows (r + 1) / ranks, so
 * that the shards differ by at most one sample and their union is the batch. */
bool gd_loader_next(gd_loader *l, gd_tensor *x, const int32_t **labels)
{
    const gd_dataset *ds = l->ds;
    int64_t left = ds->n - l->next;
    int64_t rows = left < l->batch_size ? left : l->batch_size;
    if (rows == 0 || (l->drop_last && rows < l->batch_size))
        return false;
    int64_t first = rows * l->rank / l->ranks, count = rows * (l->rank + 1) / l->ranks - first;
    const int64_t *idx = l->order + l->next + first;
    gd_dataset_gather(ds, idx, count, l->x);
    for (int64_t i = 0; i < count; i++)
        l->y[i] = ds->labels[idx[i]];
    if (l->aug)
        gd_augmenter_apply(l->aug, l->x, rows, first, count);
    l->next += rows;
    l->first = first;
    l->total = rows;
    *x = gd_batch_view(l->x, count, &ds->shape);
    *labels = l->y;
    return true;
}
