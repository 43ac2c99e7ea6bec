/* What the lab's training experiments share: their base settings (the lab's data, the
 * repetition's seed, one split seed so that a repetition's runs share their validation
 * set and a prepared copy of the data, the lab's threads) and a whole run's figures. */
#include "lab.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gd_status gd_lab_set(gd_settings *s, const char *key, const char *text, char *msg)
{
    gd_error err;
    gd_status st = gd_settings_set(s, key, text, &err);
    return st == GD_OK ? GD_OK : gd_fail(msg, st, "lab: %s", err.message);
}

gd_status gd_lab_base_settings(const gd_lab_doc *doc, uint64_t seed, gd_settings *s, char *msg)
{
    char text[32];
    gd_settings_defaults(s);
    gd_status st = gd_lab_set(s, "data", doc->opt->data ? doc->opt->data : "fashion-mnist", msg);
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    if (st == GD_OK)
        st = gd_lab_set(s, "seed", text, msg);
    if (st == GD_OK)
        st = gd_lab_set(s, "split_seed", text, msg);
    snprintf(text, sizeof text, "%d", doc->opt->threads); /* a run sets the process's count */
    if (st == GD_OK)
        st = gd_lab_set(s, "threads", text, msg);
    return st;
}

static void keep_epoch(void *ctx, gd_run *run, const gd_epoch_metrics *m)
{
    (void)run;
    gd_lab_trained *t = ctx;
    if (m->epoch < 1 || m->epoch > GD_LAB_MAX_EPOCHS)
        return;
    int64_t e = m->epoch - 1;
    t->train_loss[e] = m->train_loss, t->train_acc[e] = m->train_accuracy;
    t->val_loss[e] = m->val_loss, t->val_acc[e] = m->val_accuracy;
    t->epochs = m->epoch;
}

/* Epochs until the settings' end, a stop or divergence (GD_OK with diverged set). */
static gd_status train_epochs(gd_run *run, gd_lab_trained *out)
{
    for (int64_t e = 0; e < gd_run_settings(run)->epochs; e++) {
        gd_epoch_metrics m;
        gd_status st = gd_run_epoch(run, &m);
        if (st == GD_ERR_NUMERIC) {
            out->diverged = true;
            return GD_OK;
        }
        if (st != GD_OK || m.epoch == 0) /* failed, or stopped by an observer */
            return st;
    }
    return GD_OK;
}

gd_status gd_lab_train(const gd_settings *s, gd_data_cache *cache, const gd_observer *extra,
                       gd_lab_trained *out, char *msg)
{
    *out = (gd_lab_trained){.final_train_loss = NAN, .train_eval_accuracy = NAN};
    for (int e = 0; e < GD_LAB_MAX_EPOCHS; e++)
        out->train_loss[e] = out->train_acc[e] = out->val_loss[e] = out->val_acc[e] = NAN;
    gd_run *run = NULL;
    gd_error err;
    gd_status st = gd_run_create(&run, s, &(gd_run_options){.data_cache = cache}, &err);
    if (st != GD_OK)
        return gd_fail(msg, st, "lab: %s", err.message);
    gd_run_add_observer(run, &(gd_observer){.ctx = out, .epoch_end = keep_epoch});
    if (extra)
        gd_run_add_observer(run, extra);
    st = train_epochs(run, out);
    /* The last model on its own training split in evaluation mode: the accuracy that the
     * epoch's running figure (with dropout on, weights moving) only approximates. */
    gd_evaluation ev = {.accuracy = NAN};
    if (st == GD_OK && !out->diverged &&
        (st = gd_evaluate(gd_run_model(run), gd_run_dataset(run, "train"), NULL, &ev, &err)) != GD_OK)
        gd_fail(msg, st, "lab: %s", err.message);
    else if (st != GD_OK)
        gd_fail(msg, st, "lab: %s", gd_run_error(run));
    out->train_eval_accuracy = ev.accuracy;
    out->final_train_loss = out->epochs ? out->train_loss[out->epochs - 1] : NAN;
    gd_run_free(run);
    return st;
}

gd_status gd_lab_over_seeds(gd_lab_doc *doc, size_t size, gd_lab_seed_fn one_seed,
                            gd_lab_finish_fn finish, char *msg)
{
    int n = doc->seeds;
    char *all = calloc((size_t)n, size);
    gd_data_cache *cache = NULL;
    gd_error err;
    gd_status st = all ? gd_data_cache_new(&cache, &err) : GD_ERR_NO_MEMORY;
    if (st != GD_OK)
        gd_fail(msg, st, "lab: out of memory");
    for (int i = 0; st == GD_OK && i < n; i++) {
        gd_lab_progress(doc, i, n);
        st = one_seed(doc, doc->opt->seed + (uint64_t)i, i == 0, cache, all + (size_t)i * size, msg);
    }
    if (st == GD_OK)
        finish(doc, all, n);
    gd_data_cache_free(cache);
    free(all);
    return st;
}
