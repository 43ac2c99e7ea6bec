/* The data sets as read, kept between runs (gd_data_cache): a search worker runs many
 * trials on the same --data, and reading it (Fashion-MNIST's 60,000 gzipped images) cost
 * each trial as much as a short epoch. One entry, keyed by everything gd_data_load reads
 * by; a run gets copies, since it cuts, preprocesses and frees its sets in place. */
#include "train.h"

#include <stdlib.h>
#include <string.h>

struct gd_data_cache {
    char *data, *csv_shape; /* the key; data NULL: the entry is empty */
    int label_column;
    bool csv_header;
    gd_dataset *train, *test; /* as read; either NULL when that part was not asked for */
    int64_t reads;
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

void gd_data_cache_free(gd_data_cache *c)
{
    if (!c)
        return;
    clear(c);
    free(c);
}

int64_t gd_data_cache_reads(const gd_data_cache *c) { return c ? c->reads : 0; }

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
