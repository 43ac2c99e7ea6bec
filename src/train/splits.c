/* A run's data splits from its settings: one function, so that a run's setup and
 * `gradus eval --split val` cut the same examples and cannot drift apart. */
#include "train.h"

/* The library's split names no flag: the command line's settings are said here. */
static gd_status check_val_size(const gd_settings *s, int64_t n, gd_error *err)
{
    if (s->val_size <= 0 || s->val_size < n)
        return GD_OK;
    if (s->limit > 0 && s->limit <= n)
        return gd_fail(err->message, GD_ERR_INVALID_ARGUMENT,
                       "--val-size %lld leaves no training examples of the %lld that --limit "
                       "keeps: give a smaller --val-size or a larger --limit",
                       (long long)s->val_size, (long long)n);
    return gd_fail(err->message, GD_ERR_INVALID_ARGUMENT,
                   "--val-size %lld leaves no training examples of the %lld in --data %s: "
                   "give a smaller --val-size", (long long)s->val_size, (long long)n, s->data);
}

/* The first s->limit examples of all (taking it over), split by s->val_size and the split's
 * seed (s->split_seed, else s->seed). */
static gd_status split_training(const gd_settings *s, gd_dataset *all, gd_dataset **train,
                                gd_dataset **val, gd_error *err)
{
    gd_status st = GD_OK;
    if (s->limit > 0) {
        gd_dataset *head = NULL;
        st = gd_dataset_head(all, s->limit, &head, err);
        gd_dataset_free(all);
        all = head;
    }
    if (st == GD_OK)
        st = check_val_size(s, gd_dataset_size(all), err);
    gd_dataset *kept = NULL, *held = NULL;
    if (st == GD_OK && s->val_size > 0) {
        st = gd_dataset_split(all, s->val_size, s->split_seed ? s->split_seed : s->seed,
                              &kept, &held, err);
    } else if (st == GD_OK) {
        kept = all;
        all = NULL;
    }
    gd_dataset_free(all);
    if (train)
        *train = kept;
    else
        gd_dataset_free(kept);
    if (val)
        *val = held;
    else
        gd_dataset_free(held);
    return st;
}

gd_status gd_data_splits(const gd_settings *s, gd_dataset **train, gd_dataset **val,
                         gd_dataset **test, gd_error *err)
{
    return gd_data_splits_from(s, NULL, train, val, test, err);
}

gd_status gd_data_splits_from(const gd_settings *s, gd_data_cache *cache, gd_dataset **train,
                              gd_dataset **val, gd_dataset **test, gd_error *err)
{
    gd_error scratch;
    err = err ? err : &scratch;
    gd_dataset **outs[] = {train, val, test};
    for (int i = 0; i < 3; i++)
        if (outs[i])
            *outs[i] = NULL;
    if (!s)
        return gd_fail(err->message, GD_ERR_INVALID_ARGUMENT, "gd_data_splits: no settings");
    gd_data_options opt = {s->label_column, s->csv_header, s->csv_shape};
    gd_dataset *all = NULL;
    gd_dataset **read = train || val ? &all : NULL;
    gd_status st = cache ? gd_data_cache_load(cache, s->data, &opt, read, test, err)
                         : gd_data_load(s->data, &opt, read, test, err);
    if (st == GD_OK && all)
        st = split_training(s, all, train, val, err);
    if (st != GD_OK)
        for (int i = 0; i < 3; i++)
            if (outs[i]) {
                gd_dataset_free(*outs[i]);
                *outs[i] = NULL;
            }
    return st;
}
