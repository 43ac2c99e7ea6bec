/* Mini-batch loader: coverage of each epoch, order as a function of (seed, epoch) alone,
 * the last partial batch, and batches that carry whole rows with their labels. Samples
 * are identified by their first feature, so all comparisons are exact. */
#include <criterion/criterion.h>
#include <gradus.h>
#include <stdlib.h>
#include <string.h>

/* n samples of shape 1 x 2 x width whose features are i, i + 1, ... and labels i mod 5. */
static gd_dataset *numbered_set(int64_t n, int64_t width)
{
    int64_t size = 2 * width;
    float *x = malloc((size_t)(n * size) * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < size; j++)
            x[i * size + j] = (float)(i + j);
        y[i] = (int32_t)(i % 5);
    }
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, n, 3, (int64_t[]){1, 2, width}, x, y, 5, &err), GD_OK,
                 "%s", err.message);
    free(x);
    free(y);
    return ds;
}

static gd_loader *new_loader(const gd_dataset *ds, int64_t batch, bool shuffle,
                             bool drop_last, uint64_t seed)
{
    gd_loader *l;
    gd_error err;
    cr_assert_eq(gd_loader_create(&l, ds, batch, shuffle, drop_last, seed, &err), GD_OK, "%s",
                 err.message);
    return l;
}

/* Epoch `epoch`'s sample order into order (the first feature of each row); returns the
 * number of samples seen and the batch count in *batches. */
static int64_t epoch_order(gd_loader *l, int64_t epoch, int64_t *order, int64_t *batches)
{
    gd_tensor x;
    const int32_t *y;
    int64_t seen = 0;
    *batches = 0;
    gd_loader_start_epoch(l, epoch);
    while (gd_loader_next(l, &x, &y)) {
        int64_t size = gd_tensor_numel(&x) / x.dims[0];
        for (int64_t i = 0; i < x.dims[0]; i++)
            order[seen++] = (int64_t)x.data[i * size];
        ++*batches;
    }
    return seen;
}

Test(loader, every_sample_appears_once_per_epoch)
{
    gd_dataset *ds = numbered_set(103, 3);
    gd_loader *l = new_loader(ds, 10, true, false, 5);
    int64_t order[103], batches;
    for (int64_t epoch = 0; epoch < 3; epoch++) {
        int seen[103] = {0};
        cr_assert_eq(epoch_order(l, epoch, order, &batches), 103);
        for (int i = 0; i < 103; i++)
            seen[order[i]]++;
        for (int i = 0; i < 103; i++)
            cr_expect_eq(seen[i], 1, "epoch %lld: sample %d seen %d times", (long long)epoch, i,
                         seen[i]);
    }
    gd_loader_free(l);
    gd_dataset_free(ds);
}

/* Epoch `epoch`'s order of 50 samples in batches of 8 under seed, from a fresh loader. */
static void order_of(uint64_t seed, int64_t epoch, int64_t order[50])
{
    gd_dataset *ds = numbered_set(50, 1);
    gd_loader *l = new_loader(ds, 8, true, false, seed);
    int64_t batches;
    epoch_order(l, epoch, order, &batches);
    gd_loader_free(l);
    gd_dataset_free(ds);
}

/* A fresh loader started at epoch 2 (a resumed run) sees what one that ran epochs 0 and
 * 1 first sees. */
Test(loader, an_epochs_order_depends_on_seed_and_epoch_alone)
{
    gd_dataset *ds = numbered_set(50, 1);
    gd_loader *l = new_loader(ds, 8, true, false, 11);
    int64_t ran[50], resumed[50], batches;
    for (int64_t epoch = 0; epoch <= 2; epoch++)
        epoch_order(l, epoch, ran, &batches);
    order_of(11, 2, resumed);
    cr_expect_arr_eq(ran, resumed, sizeof ran);
    gd_loader_free(l);
    gd_dataset_free(ds);
}

Test(loader, different_epochs_give_different_orders)
{
    int64_t o0[50], o1[50];
    order_of(11, 0, o0);
    order_of(11, 1, o1);
    cr_expect(memcmp(o0, o1, sizeof o0) != 0, "epochs 0 and 1 in the same order");
}

Test(loader, different_seeds_give_different_orders)
{
    int64_t oa[50], ob[50];
    order_of(1, 0, oa);
    order_of(2, 0, ob);
    cr_expect(memcmp(oa, ob, sizeof oa) != 0, "seeds 1 and 2 in the same order");
}

Test(loader, without_shuffle_samples_come_in_order)
{
    gd_dataset *ds = numbered_set(23, 1);
    gd_loader *l = new_loader(ds, 4, false, false, 1);
    int64_t order[23], batches;
    for (int64_t epoch = 0; epoch < 2; epoch++) {
        cr_assert_eq(epoch_order(l, epoch, order, &batches), 23);
        for (int64_t i = 0; i < 23; i++)
            cr_expect_eq(order[i], i);
    }
    gd_loader_free(l);
    gd_dataset_free(ds);
}

Test(loader, keeps_the_last_partial_batch_unless_drop_last)
{
    gd_dataset *ds = numbered_set(23, 1);
    gd_loader *keep = new_loader(ds, 5, true, false, 3), *drop = new_loader(ds, 5, true, true, 3);
    int64_t order[23], batches;
    cr_expect_eq(gd_loader_batches(keep), 5);
    cr_expect_eq(epoch_order(keep, 0, order, &batches), 23);
    cr_expect_eq(batches, 5);
    cr_expect_eq(gd_loader_batches(drop), 4);
    cr_expect_eq(epoch_order(drop, 0, order, &batches), 20);
    cr_expect_eq(batches, 4);
    gd_loader_free(keep);
    gd_loader_free(drop);
    gd_dataset_free(ds);
}

Test(loader, drop_last_changes_nothing_when_batches_divide_the_set)
{
    gd_dataset *ds = numbered_set(20, 1);
    gd_loader *drop = new_loader(ds, 5, false, true, 3);
    int64_t order[20], batches;
    cr_expect_eq(gd_loader_batches(drop), 4);
    cr_expect_eq(epoch_order(drop, 0, order, &batches), 20);
    gd_loader_free(drop);
    gd_dataset_free(ds);
}

Test(loader, a_batch_larger_than_the_set_is_the_whole_set_or_nothing)
{
    gd_dataset *ds = numbered_set(7, 1);
    gd_loader *keep = new_loader(ds, 100, true, false, 3);
    gd_loader *drop = new_loader(ds, 100, true, true, 3);
    int64_t order[7], batches;
    cr_expect_eq(gd_loader_batches(keep), 1);
    cr_expect_eq(epoch_order(keep, 0, order, &batches), 7);
    cr_expect_eq(gd_loader_batches(drop), 0);
    cr_expect_eq(epoch_order(drop, 0, order, &batches), 0);
    gd_loader_free(keep);
    gd_loader_free(drop);
    gd_dataset_free(ds);
}

Test(loader, next_stays_false_after_the_epoch_until_the_next_starts)
{
    gd_dataset *ds = numbered_set(6, 1);
    gd_loader *l = new_loader(ds, 4, false, false, 3);
    gd_tensor x;
    const int32_t *y;
    cr_expect(gd_loader_next(l, &x, &y)); /* creation starts epoch 0 */
    cr_expect(gd_loader_next(l, &x, &y));
    cr_expect_eq(x.dims[0], 2);
    cr_expect_not(gd_loader_next(l, &x, &y));
    cr_expect_not(gd_loader_next(l, &x, &y));
    gd_loader_start_epoch(l, 1);
    cr_expect(gd_loader_next(l, &x, &y));
    gd_loader_free(l);
    gd_dataset_free(ds);
}

/* 256 x 1 x 2 x 100 floats per batch: above GD_PARALLEL_MIN, so the threaded gather
 * runs. */
Test(loader, batches_carry_whole_rows_with_their_labels)
{
    const int64_t width = 100, size = 2 * width;
    gd_dataset *ds = numbered_set(1000, width);
    gd_loader *l = new_loader(ds, 256, true, false, 9);
    gd_tensor x;
    const int32_t *y;
    int64_t batches = 0;
    while (gd_loader_next(l, &x, &y)) {
        cr_assert_eq(x.ndim, 4);
        cr_assert(x.dims[1] == 1 && x.dims[2] == 2 && x.dims[3] == width);
        cr_assert_eq(x.dims[0], batches < 3 ? 256 : 1000 - 3 * 256);
        for (int64_t i = 0; i < x.dims[0]; i++) {
            const float *row = x.data + i * size;
            int64_t id = (int64_t)row[0];
            for (int64_t j = 0; j < size; j++)
                cr_assert_eq(row[j], (float)(id + j), "batch %lld row %lld", (long long)batches,
                             (long long)i);
            cr_assert_eq(y[i], id % 5);
        }
        batches++;
    }
    cr_expect_eq(batches, 4);
    gd_loader_free(l);
    gd_dataset_free(ds);
}

Test(loader, rejects_a_batch_size_below_1)
{
    gd_dataset *ds = numbered_set(6, 1);
    gd_loader *l;
    gd_error err;
    cr_expect_eq(gd_loader_create(&l, ds, 0, true, false, 1, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_null(l);
    cr_expect_not_null(strstr(err.message, "batch size is 0"), "%s", err.message);
    gd_dataset_free(ds);
}
