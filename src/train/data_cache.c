/* The data sets kept between runs (gd_data_cache): a search worker runs many trials on
 * the same --data, and reading it (Fashion-MNIST's 60,000 gzipped images) cost each trial
 * as much as a short epoch. Two entries: the sets as read, keyed by everything
 * gd_data_load reads by; and the last fresh run's splits after preprocessing with the
 * fitted transform, keyed by everything that decides them, which the trials of a study
 * share (one --split-seed). A run gets copies, since it cuts, preprocesses and frees its
 * sets in place. */
#include "train.h"
#include "../preprocess/preprocess.h"

#include <stdlib.h>
#include <string.h>

/* The splits of one set of settings, preprocessed: key holds the settings they came
 * from (key.data NULL: the entry is empty). */
typedef struct prepared {
    gd_settings key;
    gd_dataset *train, *val, *test;
    gd_preprocess *pre; /* NULL for --preprocess none */
} prepared;

struct gd_data_cache {
    char *data, *csv_shape; /* the key; data NULL: the entry is empty */
    int label_column;
    bool csv_header;
    gd_dataset *train, *test; /* as read; either NULL when that part was not asked for */
    int64_t reads, prepared_hits;
    prepared ready;
};

gd_status gd_data_cache_new(gd_data_cache **out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!out)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gd_data_cache_new: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? GD_OK : gd_fail(msg, GD_ERR_NO_MEMORY, "data cache: out of memory");
}

static void clear(gd_data_cache *c)
{
    gd_dataset_free(c->train);
    gd_dataset_free(c->test);
    free(c->data);
    free(c->csv_shape);
    c->train = c->test = NULL;
    c->data = c->csv_shape = NULL;
}

static void clear_prepared(prepared *r)
{
    gd_dataset_free(r->train);
    gd_dataset_free(r->val);
    gd_dataset_free(r->test);
    gd_preprocess_free(r->pre);
    gd_settings_free(&r->key);
    *r = (prepared){0};
}

void gd_data_cache_free(gd_data_cache *c)
{
    if (!c)
        return;
    clear(c);
    clear_prepared(&c->ready);
    free(c);
}

int64_t gd_data_cache_reads(const gd_data_cache *c) { return c ? c->reads : 0; }
int64_t gd_data_cache_prepared_hits(const gd_data_cache *c) { return c ? c->prepared_hits : 0; }

/* gd_data_load reads a NULL --csv-shape as it reads "" (flat rows). */
static const char *shape_text(const char *csv_shape) { return csv_shape ? csv_shape : ""; }

/* The entry serves the request: the same read key, and every part asked for was read. */
static bool holds(const gd_data_cache *c, const char *source, const gd_data_options *opt,
                  bool want_train, bool want_test)
{
    return c->data && strcmp(c->data, source) == 0 &&
           strcmp(c->csv_shape, shape_text(opt->csv_shape)) == 0 &&
           c->label_column == opt->label_column && c->csv_header == opt->csv_header &&
           (!want_train || c->train) && (!want_test || c->test);
}

/* Replaces the entry by a fresh read of what is asked for. A failed read leaves it empty
 * and err with gd_data_load's own message, so a run's errors read as without a cache. */
static gd_status refill(gd_data_cache *c, const char *source, const gd_data_options *opt,
                        bool want_train, bool want_test, gd_error *err)
{
    clear(c);
    c->reads++;
    gd_status st = gd_data_load(source, opt, want_train ? &c->train : NULL,
                                want_test ? &c->test : NULL, err);
    if (st != GD_OK) {
        clear(c);
        return st;
    }
    c->data = strdup(source);
    c->csv_shape = strdup(shape_text(opt->csv_shape));
    c->label_column = opt->label_column;
    c->csv_header = opt->csv_header;
    if (!c->data || !c->csv_shape) {
        clear(c);
        return gd_fail(err->message, GD_ERR_NO_MEMORY, "data cache: out of memory");
    }
    return GD_OK;
}

/* A copy the caller owns: gd_dataset_head of every sample copies storage (pixels stay
 * pixels) and labels, so the run sees the very bytes a read would give it. */
static gd_status lend(const gd_dataset *kept, gd_dataset **out, gd_error *err)
{
    if (!out)
        return GD_OK;
    return gd_dataset_head(kept, gd_dataset_size(kept), out, err);
}

gd_status gd_data_cache_load(gd_data_cache *c, const char *source, const gd_data_options *opt,
                             gd_dataset **train, gd_dataset **test, gd_error *err)
{
    static const gd_data_options flat_csv = {0};
    opt = opt ? opt : &flat_csv;
    if (train)
        *train = NULL;
    if (test)
        *test = NULL;
    if (!source) /* gd_data_load's message, and nothing worth keeping */
        return gd_data_load(source, opt, train, test, err);
    gd_status st = GD_OK;
    if (!holds(c, source, opt, train != NULL, test != NULL))
        st = refill(c, source, opt, train != NULL, test != NULL, err);
    if (st == GD_OK)
        st = lend(c->train, train, err);
    if (st == GD_OK)
        st = lend(c->test, test, err);
    if (st != GD_OK && train) {
        gd_dataset_free(*train);
        *train = NULL;
    }
    return st;
}

/* ------------------------------------------------------------- prepared */

static bool same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static uint64_t split_seed_of(const gd_settings *s)
{
    return s->split_seed ? s->split_seed : s->seed;
}

/* Everything the splits and their preprocessing depend on: the read, the cut, the split's
 * seed, the transform and the threads (the matrix kinds fit through BLAS, whose sums
 * depend on the thread count). */
static bool same_preparation(const gd_settings *a, const gd_settings *b)
{
    return same_text(a->data, b->data) && a->label_column == b->label_column &&
           a->csv_header == b->csv_header && same_text(a->csv_shape, b->csv_shape) &&
           a->limit == b->limit && a->val_size == b->val_size &&
           split_seed_of(a) == split_seed_of(b) && same_text(a->preprocess, b->preprocess) &&
           a->preprocess_eps == b->preprocess_eps && a->threads == b->threads;
}

static gd_status copy_set(const gd_dataset *from, gd_dataset **to, gd_error *err)
{
    *to = NULL;
    return from ? gd_dataset_head(from, gd_dataset_size(from), to, err) : GD_OK;
}

/* Copies of r's sets and transform into the caller's (all or none). */
static gd_status copy_prepared(const prepared *r, gd_dataset **train, gd_dataset **val,
                               gd_dataset **test, gd_preprocess **pre, gd_error *err)
{
    gd_status st = copy_set(r->train, train, err);
    if (st == GD_OK)
        st = copy_set(r->val, val, err);
    if (st == GD_OK)
        st = copy_set(r->test, test, err);
    *pre = NULL;
    if (st == GD_OK && r->pre)
        st = gd_preprocess_copy(pre, r->pre, err->message);
    if (st != GD_OK) {
        gd_dataset_free(*train), gd_dataset_free(*val), gd_dataset_free(*test);
        *train = *val = *test = NULL;
    }
    return st;
}

gd_status gd_data_cache_take_prepared(gd_data_cache *c, const gd_settings *s, bool *hit,
                                      gd_dataset **train, gd_dataset **val, gd_dataset **test,
                                      gd_preprocess **pre, gd_error *err)
{
    *hit = false;
    if (!c->ready.key.data || !same_preparation(&c->ready.key, s))
        return GD_OK;
    gd_status st = copy_prepared(&c->ready, train, val, test, pre, err);
    *hit = st == GD_OK;
    c->prepared_hits += *hit;
    return st;
}

void gd_data_cache_keep_prepared(gd_data_cache *c, const gd_settings *s,
                                 const gd_dataset *train, const gd_dataset *val,
                                 const gd_dataset *test, const gd_preprocess *pre)
{
    clear_prepared(&c->ready);
    prepared r = {0};
    gd_error err;
    prepared from = {.train = (gd_dataset *)train, .val = (gd_dataset *)val,
                     .test = (gd_dataset *)test, .pre = (gd_preprocess *)pre};
    if (gd_settings_copy(&r.key, s) != GD_OK)
        return;
    if (copy_prepared(&from, &r.train, &r.val, &r.test, &r.pre, &err) != GD_OK) {
        gd_settings_free(&r.key); /* a cache that cannot keep a copy just keeps nothing */
        return;
    }
    c->ready = r;
}
