/* What the lab's training experiments share: their base settings (the lab's data, the
 * repetition's seed, one split seed so that a repetition's runs share their validation
 * set and a prepared copy of the data, the lab's threads) and a whole run's figures. */
#include "lab.h"

#include <math.h>
#include <stdio.h>
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

gd_status gd_lab_train(const gd_settings *s, gd_data_cache *cache, const gd_observer *extra,
                       gd_lab_trained *out, char *msg)
{
    *out = (gd_lab_trained){.final_train_loss = NAN, .best_val_accuracy = NAN,
                            .test_accuracy = NAN};
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
    gd_run_result r;
    st = gd_run_fit(run, &r);
    out->diverged = st == GD_ERR_NUMERIC;
    if (st == GD_OK || out->diverged) {
        out->final_train_loss = r.final_train_loss;
        out->best_val_accuracy = r.best_val_accuracy;
        out->test_accuracy = r.tested ? r.test.accuracy : NAN;
        st = GD_OK;
    } else {
        gd_fail(msg, st, "lab: %s", gd_run_error(run));
    }
    gd_run_free(run);
    return st;
}
