/* The trainer as the library offers it: the settings table and its checks, config.json's
 * round trip, and runs (gd_run) on a small data set each test writes into its scratch
 * folder: three Gaussian blobs in four dimensions, which a small MLP separates within a
 * few epochs of a fraction of a millisecond each. Results that the same seed, data and
 * thread count must reproduce (history, parameters after a resume) are compared bit for
 * bit (gradus.h), so they state no tolerance. */
#include "scratch.h"

#include <criterion/criterion.h>
#include <gradus.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(train, .init = scratch_make, .fini = scratch_remove);

/* ------------------------------------------------------------- settings */

static void set(gd_settings *s, const char *key, const char *text)
{
    gd_error err;
    cr_assert_eq(gd_settings_set(s, key, text, &err), GD_OK, "%s=%s: %s", key, text, err.message);
}

static void expect_json_refused(const char *text, gd_status status, const char *named);

/* Two settings structs are equal when config.json says the same of both. */
static void expect_same_json(const gd_settings *a, const gd_settings *b)
{
    char *ja, *jb;
    cr_assert_eq(gd_settings_to_json(a, &ja, NULL), GD_OK);
    cr_assert_eq(gd_settings_to_json(b, &jb, NULL), GD_OK);
    cr_expect_str_eq(ja, jb);
    free(ja);
    free(jb);
}

/* gd_settings_defaults takes each default from the table's fallback text, where "all"
 * (limit) and "off" (switches) stand for 0 and false: setting that text over the defaults
 * is accepted and changes nothing, so no fallback can fail to parse unnoticed. The
 * optimiser's (lr, weight_decay) is no text a flag takes: those are NaN until a run
 * chooses them. */
Test(train, defaults_equal_the_tables_fallback_texts)
{
    gd_settings d, s;
    gd_settings_defaults(&d);
    for (size_t i = 0; i < gd_setting_count(); i++) {
        const gd_setting_info *info = gd_setting_at(i);
        const char *text = strcmp(info->fallback, "all") == 0   ? "0"
                           : strcmp(info->fallback, "off") == 0 ? "false"
                                                                : info->fallback;
        if (strcmp(text, "optimiser's") == 0)
            continue;
        gd_settings_defaults(&s);
        set(&s, info->key, text);
        expect_same_json(&s, &d);
        gd_settings_free(&s);
    }
    /* A few that the header promises by name (PyTorch's and Keras's defaults). */
    cr_expect_eq(d.batch_size, 128);
    cr_expect(isnan(d.lr) && isnan(d.weight_decay), "the optimiser's, chosen by the run");
    cr_expect_str_eq(gd_setting_find("lr")->fallback, "optimiser's");
    cr_expect_str_eq(gd_setting_find("weight_decay")->fallback, "optimiser's");
    cr_expect_eq(d.momentum, 0, "PyTorch's SGD and RMSprop default");
    cr_expect_str_eq(d.early_stop, "val_accuracy");
    cr_expect_eq(d.min_delta, 0);
    cr_expect_str_eq(d.optim, "adam");
    cr_expect_eq(d.seed, 1);
    cr_expect_eq(d.limit, 0);
    cr_expect_eq(d.hflip, false);
    gd_settings_free(&d);
}

Test(train, every_table_row_has_key_flag_group_help_and_fallback)
{
    static const char *const groups[] = {"data", "model", "optimisation", "run"};
    cr_assert_gt(gd_setting_count(), 0);
    cr_expect_null(gd_setting_at(gd_setting_count()));
    for (size_t i = 0; i < gd_setting_count(); i++) {
        const gd_setting_info *info = gd_setting_at(i);
        cr_assert_not_null(info);
        cr_expect(info->key && *info->key && info->flag && *info->flag, "row %zu", i);
        /* Only a text may default to "" (nothing: no --init-from, flat CSV rows). */
        cr_expect(info->help && *info->help && info->fallback &&
                      (*info->fallback || info->type == GD_SETTING_TEXT), "%s", info->key);
        cr_expect((info->metavar == NULL) == (info->type == GD_SETTING_SWITCH), "%s", info->key);
        bool known = false;
        for (size_t g = 0; g < 4; g++)
            known |= info->group && strcmp(info->group, groups[g]) == 0;
        cr_expect(known, "%s: group %s", info->key, info->group ? info->group : "(null)");
        /* Messages name flags and config.json keys: one is the other with dashes. */
        char dashed[64];
        snprintf(dashed, sizeof dashed, "%s", info->key);
        for (char *c = dashed; *c; c++)
            *c = *c == '_' ? '-' : *c;
        cr_expect_str_eq(info->flag, dashed);
        cr_expect_eq(gd_setting_find(info->key), info, "%s is found under its own key", info->key);
    }
    cr_expect_null(gd_setting_find("no_such_setting"));
}

/* gd_settings_set(key, text) is refused with GD_ERR_INVALID_ARGUMENT, a message holding
 * named (the flag and the text, or the unknown key), and the settings as they were. */
static void expect_refused(const char *key, const char *text, const char *named)
{
    gd_settings s, before;
    gd_settings_defaults(&s);
    gd_settings_defaults(&before);
    gd_error err = {{0}};
    cr_expect_eq(gd_settings_set(&s, key, text, &err), GD_ERR_INVALID_ARGUMENT, "%s=%s", key, text);
    cr_expect(strstr(err.message, named), "%s=%s: \"%s\" does not name %s", key, text,
              err.message, named);
    expect_same_json(&s, &before);
    gd_settings_free(&s);
    gd_settings_free(&before);
}

Test(train, set_refuses_an_unknown_key)
{
    expect_refused("batchsize", "32", "\"batchsize\"");
    expect_refused("batch-size", "32", "\"batch-size\""); /* the flag is not the key */
}

Test(train, set_refuses_text_that_is_not_entirely_of_the_settings_type)
{
    expect_refused("lr", "fast", "--lr fast");
    expect_refused("lr", "0.1x", "--lr 0.1x");
    expect_refused("lr", "", "--lr ");
    expect_refused("epochs", "2.5", "--epochs 2.5");
    expect_refused("epochs", "nan", "--epochs nan");
    expect_refused("seed", "-1", "--seed -1"); /* strtoull would wrap it to 2^64 - 1 */
    expect_refused("seed", " 7", "--seed  7");
    expect_refused("seed", "18446744073709551616", "--seed 18446744073709551616"); /* 2^64 */
    expect_refused("hflip", "yes", "--hflip yes");
}

Test(train, set_refuses_values_out_of_range)
{
    expect_refused("batch_size", "0", "--batch-size 0");
    expect_refused("epochs", "0", "--epochs 0");
    expect_refused("random_erasing", "1.5", "--random-erasing 1.5");
    expect_refused("lr", "-0.1", "--lr -0.1");
    expect_refused("label_column", "1099511627776", "--label-column 1099511627776"); /* 2^40 */
    /* Above 2^53 - 1 a count could not be exact in config.json; 2^53 + 1 would even be
     * read as 2^53. */
    expect_refused("limit", "9007199254740992", "--limit 9007199254740992");
    expect_refused("limit", "9007199254740993", "--limit 9007199254740993");
    expect_refused("lr", "1e999", "--lr 1e999");
}

/* One value per setting, none of them its default, with the edges that JSON's doubles
 * make delicate: a seed above 2^53, the largest count (2^53 - 1), a real like 0.1 that
 * binary cannot hold, and one (0.1 + 0.2) whose 15 digits come within DBL_EPSILON of it
 * without being it, which cJSON's own printer writes as 0.3. */
static const char *const all_changed[][2] = {
    {"data", "csv:a.csv,b.csv"}, {"label_column", "3"}, {"csv_header", "true"},
    {"csv_shape", "1x2x2"}, {"init_from", "old/model.safetensors"},
    {"limit", "9007199254740991"}, {"val_size", "7"}, {"preprocess", "pca:3"},
    {"preprocess_eps", "0.1"}, {"crop_padding", "2"}, {"hflip", "true"},
    {"random_erasing", "0.3"}, {"model", "linear(4) relu linear(2)"}, {"optim", "sgd"},
    {"lr", "0.1"}, {"momentum", "0.30000000000000004"}, {"weight_decay", "1e-4"}, {"schedule", "step:2:0.5"},
    {"warmup", "1"}, {"label_smoothing", "0.1"}, {"clip_norm", "2.5"}, {"epochs", "9"},
    {"patience", "2"}, {"batch_size", "17"}, {"seed", "18446744073709551557"},
    {"split_seed", "18446744073709551533"},
    {"threads", "3"}, {"sync_bn", "true"}, {"deterministic_reduce", "true"}, {"early_stop", "val_loss"}, {"min_delta", "0.30000000000000004"},
};
#define NCHANGED (sizeof all_changed / sizeof all_changed[0])

Test(train, json_round_trips_every_setting_exactly)
{
    gd_settings s, back;
    gd_settings_defaults(&s);
    gd_settings_defaults(&back);
    for (size_t i = 0; i < NCHANGED; i++)
        set(&s, all_changed[i][0], all_changed[i][1]);
    /* Every row of the table is changed above: a new setting must join the list. */
    for (size_t i = 0; i < gd_setting_count(); i++) {
        bool listed = false;
        for (size_t k = 0; k < NCHANGED; k++)
            listed |= strcmp(all_changed[k][0], gd_setting_at(i)->key) == 0;
        cr_expect(listed, "%s is not in all_changed", gd_setting_at(i)->key);
    }
    char *json;
    gd_error err;
    cr_assert_eq(gd_settings_to_json(&s, &json, &err), GD_OK, "%s", err.message);
    cr_assert_eq(gd_settings_from_json(&back, json, &err), GD_OK, "%s\n%s", err.message, json);
    free(json);
    cr_expect_str_eq(back.data, s.data);
    cr_expect_eq(back.label_column, 3);
    cr_expect_eq(back.csv_header, true);
    cr_expect_str_eq(back.csv_shape, "1x2x2");
    cr_expect_str_eq(back.init_from, "old/model.safetensors");
    cr_expect_eq(back.limit, INT64_C(9007199254740991));
    cr_expect_eq(back.val_size, 7);
    cr_expect_str_eq(back.preprocess, "pca:3");
    cr_expect_eq(back.preprocess_eps, 0.1);
    cr_expect_eq(back.crop_padding, 2);
    cr_expect_eq(back.hflip, true);
    cr_expect_eq(back.random_erasing, 0.3);
    cr_expect_str_eq(back.model, s.model);
    cr_expect_str_eq(back.optim, "sgd");
    cr_expect_eq(back.lr, 0.1);
    cr_expect_eq(back.momentum, 0.1 + 0.2);
    cr_expect_eq(back.weight_decay, 1e-4);
    cr_expect_str_eq(back.schedule, "step:2:0.5");
    cr_expect_eq(back.warmup, 1);
    cr_expect_eq(back.label_smoothing, 0.1);
    cr_expect_eq(back.clip_norm, 2.5);
    cr_expect_eq(back.epochs, 9);
    cr_expect_eq(back.patience, 2);
    cr_expect_eq(back.batch_size, 17);
    cr_expect_eq(back.seed, UINT64_C(18446744073709551557));
    cr_expect_eq(back.split_seed, UINT64_C(18446744073709551533));
    cr_expect_eq(back.threads, 3);
    cr_expect_str_eq(back.early_stop, "val_loss");
    cr_expect_eq(back.min_delta, 0.1 + 0.2);
    gd_settings_free(&s);
    gd_settings_free(&back);
}

/* Not given, lr and weight_decay are JSON null (config.json of settings no run has
 * resolved yet), which reads back as not given. */
Test(train, json_keeps_the_optimisers_default_as_null)
{
    gd_settings s, back;
    gd_settings_defaults(&s);
    gd_settings_defaults(&back);
    set(&back, "lr", "0.5");
    set(&back, "weight_decay", "0.5");
    char *json;
    cr_assert_eq(gd_settings_to_json(&s, &json, NULL), GD_OK);
    cr_expect(strstr(json, "\"lr\":\tnull"), "%s", json);
    gd_error err;
    cr_assert_eq(gd_settings_from_json(&back, json, &err), GD_OK, "%s", err.message);
    cr_expect(isnan(back.lr) && isnan(back.weight_decay));
    free(json);
    gd_settings_free(&s);
    gd_settings_free(&back);
}

/* Schema 1 gave Adam momentum 0.9, which it never read and schema 2 refuses: an old
 * config.json still reads, with momentum 0; SGD's old 0.9 was read and stays. */
Test(train, an_old_config_keeps_sgds_momentum_and_drops_adams)
{
    gd_settings s;
    gd_settings_defaults(&s);
    gd_error err;
    cr_assert_eq(gd_settings_from_json(&s, "{\"schema\": 1, \"optim\": \"adam\", "
                                           "\"momentum\": 0.9, \"lr\": 0.001}", &err),
                 GD_OK, "%s", err.message);
    cr_expect_eq(s.momentum, 0);
    cr_expect_eq(s.lr, 0.001);
    cr_assert_eq(gd_settings_from_json(&s, "{\"schema\": 1, \"optim\": \"sgd\", "
                                           "\"momentum\": 0.9}", &err),
                 GD_OK, "%s", err.message);
    cr_expect_eq(s.momentum, 0.9);
    gd_settings_free(&s);
    expect_json_refused("{\"schema\": 2, \"optim\": \"adam\", \"momentum\": 0.9}",
                        GD_ERR_FORMAT, "--optim adam has no momentum");
}

/* from_json(text) fails with status; the message holds named; s is as it was. */
static void expect_json_refused(const char *text, gd_status status, const char *named)
{
    gd_settings s, before;
    gd_settings_defaults(&s);
    gd_settings_defaults(&before);
    gd_error err = {{0}};
    cr_expect_eq(gd_settings_from_json(&s, text, &err), status, "%s", text);
    cr_expect(strstr(err.message, named), "%s: \"%s\" does not name %s", text, err.message, named);
    expect_same_json(&s, &before);
    gd_settings_free(&s);
    gd_settings_free(&before);
}

Test(train, from_json_refuses_a_wrong_type_naming_the_key)
{
    expect_json_refused("{\"schema\": 1, \"batch_size\": \"64\"}", GD_ERR_FORMAT, "batch_size");
    expect_json_refused("{\"schema\": 1, \"hflip\": 1}", GD_ERR_FORMAT, "hflip");
    expect_json_refused("{\"schema\": 1, \"model\": 3}", GD_ERR_FORMAT, "model");
    /* A seed is a string: a JSON number would lose bits above 2^53. */
    expect_json_refused("{\"schema\": 1, \"seed\": 7}", GD_ERR_FORMAT, "seed");
    /* The same checks as gd_settings_set, and nothing half-applied before the bad key. */
    expect_json_refused("{\"schema\": 1, \"lr\": 0.5, \"batch_size\": 0}", GD_ERR_FORMAT,
                        "batch_size");
}

Test(train, from_json_keeps_defaults_for_keys_the_file_lacks)
{
    gd_settings s, expected;
    gd_settings_defaults(&s);
    gd_settings_defaults(&expected);
    set(&expected, "lr", "0.5");
    gd_error err;
    cr_assert_eq(gd_settings_from_json(&s, "{\"schema\": 1, \"lr\": 0.5}", &err), GD_OK, "%s",
                 err.message);
    expect_same_json(&s, &expected);
    gd_settings_free(&s);
    gd_settings_free(&expected);
}

Test(train, from_json_refuses_a_newer_schema)
{
    char text[64];
    snprintf(text, sizeof text, "{\"schema\": %d, \"lr\": 0.5}", GD_SETTINGS_SCHEMA + 1);
    char named[32];
    snprintf(named, sizeof named, "schema %d", GD_SETTINGS_SCHEMA + 1);
    expect_json_refused(text, GD_ERR_FORMAT, named);
}

/* ------------------------------------------------------------------ runs */

#define CLASSES 3
#define FEATURES 4
#define ROWS 240  /* 8 batches of 32, the last one half full */
#define BATCH "32"
#define BATCHES 8

/* Three Gaussian blobs: class c is centred at 3 along feature c (feature 3 is noise
 * alone), with standard deviation 0.5, so the centres are 8.5 deviations apart and a
 * linear boundary gets about 99.9% of them. Label first. */
static const char *write_blobs(const char *name, uint64_t seed)
{
    const char *path = scratch_path(name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    gd_rng *rng;
    gd_rng_create(&rng, seed);
    for (int i = 0; i < ROWS; i++) {
        int c = i % CLASSES;
        fprintf(f, "%d", c);
        for (int j = 0; j < FEATURES; j++)
            fprintf(f, ",%.6f", (j == c ? 3.0 : 0.0) + 0.5 * gd_rng_normal(rng));
        fprintf(f, "\n");
    }
    gd_rng_free(rng);
    cr_assert_eq(fclose(f), 0);
    return path;
}

/* Settings for a run on fresh blobs: a 4-16-3 MLP, Adam at 0.01, one thread, no
 * validation, 4 epochs; tests change what they are about. */
static void blob_settings(gd_settings *s)
{
    char data[600];
    const char *train = write_blobs("train.csv", 1);
    snprintf(data, sizeof data, "csv:%s,%s", train, write_blobs("test.csv", 2));
    gd_settings_defaults(s);
    set(s, "data", data);
    set(s, "model", "linear(16) relu linear(3)");
    set(s, "lr", "0.01");
    set(s, "batch_size", BATCH);
    set(s, "val_size", "0");
    set(s, "epochs", "4");
    set(s, "threads", "1");
}

static gd_run *create(const gd_settings *s, const gd_run_options *opt)
{
    gd_run *run;
    gd_error err;
    cr_assert_eq(gd_run_create(&run, s, opt, &err), GD_OK, "%s", err.message);
    cr_assert_not_null(run);
    return run;
}

static gd_run_result fit(gd_run *run, gd_status expected)
{
    gd_run_result r;
    cr_assert_eq(gd_run_fit(run, &r), expected, "%s", gd_run_error(run));
    return r;
}

/* Separable blobs: 10 epochs take the test accuracy to at least 95% (the boundary the
 * data allows is at about 99.9%, so this leaves room and still fails a trainer that
 * learns nothing, 33%, or only part of it). */
Test(train, fit_without_a_folder_learns_separable_blobs)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "epochs", "10");
    gd_run *run = create(&s, NULL);
    gd_run_result r = fit(run, GD_OK);
    cr_expect_eq(r.stop, GD_STOP_COMPLETED);
    cr_expect_eq(r.epochs, 10);
    cr_expect_eq(r.history_len, 10);
    cr_expect_eq(r.validated, false);
    cr_expect(isnan(r.best_val_accuracy));
    cr_assert(r.tested);
    cr_expect_eq(r.test.samples, ROWS);
    cr_expect_geq(r.test.accuracy, 0.95, "test accuracy %.3f", r.test.accuracy);
    cr_expect_lt(r.history[9].train_loss, r.history[0].train_loss);
    gd_run_free(run);
    gd_settings_free(&s);
}

Test(train, the_same_settings_and_seed_give_bit_identical_history)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "model", "linear(16) bn relu dropout(0.2) linear(3)"); /* the generator too */
    set(&s, "val_size", "40");
    gd_run *a = create(&s, NULL), *b = create(&s, NULL);
    gd_run_result ra = fit(a, GD_OK), rb = fit(b, GD_OK);
    cr_assert_eq(ra.history_len, rb.history_len);
    for (int64_t e = 0; e < ra.history_len; e++) {
        cr_expect_eq(ra.history[e].train_loss, rb.history[e].train_loss, "epoch %lld", (long long)e + 1);
        cr_expect_eq(ra.history[e].val_loss, rb.history[e].val_loss, "epoch %lld", (long long)e + 1);
    }
    cr_expect_eq(ra.test.loss, rb.test.loss);
    gd_run_free(a);
    gd_run_free(b);
    gd_settings_free(&s);
}

/* An observer's record of the calls it saw: 'F', 'B', 'S' per step, 'E' per epoch. */
typedef struct trace {
    char calls[256];
    int n;
    int64_t steps, epochs, last_step;
    bool consistent;
    char why[160];
    int64_t stop_at_step; /* call gd_run_stop after this many steps (0: never) */
    int64_t stop_at_epoch; /* ... or at the end of this epoch */
    float *params; /* at each epoch's end, when set */
} trace;

static void record(trace *t, char c)
{
    if (t->n + 1 < (int)sizeof t->calls)
        t->calls[t->n++] = c;
}

/* Each hook checks the step's fields against what the trace has counted. */
static void check_step(trace *t, gd_run *run, const gd_step_info *i)
{
    int64_t batches = gd_run_batches_per_epoch(run);
    bool ok = i->batches == batches && i->batch == t->steps % batches + 1 &&
              i->epoch == t->steps / batches && i->step == t->steps && i->batch_size > 0 &&
              isfinite(i->loss) && isfinite(i->epoch_loss) && i->lr > 0;
    if (!ok && t->consistent)
        snprintf(t->why, sizeof t->why, "after %lld steps: epoch %lld batch %lld/%lld step %lld",
                 (long long)t->steps, (long long)i->epoch, (long long)i->batch,
                 (long long)i->batches, (long long)i->step);
    t->consistent &= ok;
}

static void on_forward(void *ctx, gd_run *run, const gd_step_info *i)
{
    record(ctx, 'F');
    check_step(ctx, run, i);
}

static void on_backward(void *ctx, gd_run *run, const gd_step_info *i)
{
    record(ctx, 'B');
    check_step(ctx, run, i);
}

static void on_step(void *ctx, gd_run *run, const gd_step_info *i)
{
    trace *t = ctx;
    record(t, 'S');
    check_step(t, run, i);
    t->last_step = i->step;
    if (++t->steps == t->stop_at_step)
        gd_run_stop(run);
}

static void on_epoch(void *ctx, gd_run *run, const gd_epoch_metrics *m)
{
    trace *t = ctx;
    record(t, 'E');
    t->consistent &= m->epoch == ++t->epochs;
    if (t->params) {
        gd_tensor p = gd_model_parameters_flat(gd_run_model(run));
        memcpy(t->params, p.data, (size_t)p.dims[0] * sizeof(float));
    }
    if (m->epoch == t->stop_at_epoch)
        gd_run_stop(run);
}

static trace *observe(gd_run *run)
{
    trace *t = calloc(1, sizeof *t);
    t->consistent = true;
    gd_observer o = {.ctx = t, .after_forward = on_forward, .after_backward = on_backward,
                     .after_step = on_step, .epoch_end = on_epoch};
    cr_assert_eq(gd_run_add_observer(run, &o), GD_OK, "%s", gd_run_error(run));
    return t;
}

Test(train, observers_see_forward_backward_step_per_batch_and_each_epochs_end)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "epochs", "2");
    gd_run *run = create(&s, NULL);
    cr_assert_eq(gd_run_batches_per_epoch(run), BATCHES);
    trace *t = observe(run);
    fit(run, GD_OK);
    char expected[256] = "";
    for (int e = 0; e < 2; e++) {
        for (int b = 0; b < BATCHES; b++)
            strcat(expected, "FBS");
        strcat(expected, "E");
    }
    cr_expect_str_eq(t->calls, expected);
    cr_expect_eq(t->steps, 2 * BATCHES);
    cr_expect(t->consistent, "%s", t->why);
    free(t);
    gd_run_free(run);
    gd_settings_free(&s);
}

Test(train, stop_from_an_observer_ends_the_run_after_that_step_abandoning_its_epoch)
{
    gd_settings s;
    blob_settings(&s);
    gd_run *run = create(&s, NULL);
    trace *t = observe(run);
    t->stop_at_step = BATCHES + 3; /* the third step of epoch 2 */
    gd_run_result r = fit(run, GD_OK);
    cr_expect_eq(r.stop, GD_STOP_REQUESTED);
    cr_expect_eq(t->steps, BATCHES + 3, "no step after the stop");
    cr_expect_eq(t->epochs, 1);
    cr_expect_eq(r.epochs, 1, "the abandoned epoch is not counted");
    cr_expect_eq(r.history_len, 1);
    free(t);
    gd_run_free(run);
    gd_settings_free(&s);
}

/* With lr 1e-300 (--lr 0 is refused; every step is 0 in float) the model never changes,
 * so no epoch's validation accuracy beats the first (a better one must be strictly
 * better): patience 1 stops after epoch 2. */
Test(train, early_stopping_stops_after_patience_epochs_without_improvement)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "lr", "1e-300");
    set(&s, "val_size", "40");
    set(&s, "patience", "1");
    set(&s, "epochs", "10");
    gd_run *run = create(&s, NULL);
    gd_run_result r = fit(run, GD_OK);
    cr_expect_eq(r.stop, GD_STOP_EARLY);
    cr_expect_eq(r.epochs, 2);
    cr_expect_eq(r.best_epoch, 1);
    cr_expect(r.validated);
    cr_expect_eq(r.best_val_accuracy, r.history[0].val_accuracy);
    gd_run_free(run);
    gd_settings_free(&s);
}

Test(train, step_reports_epoch_done_at_the_epochs_last_batch)
{
    gd_settings s;
    blob_settings(&s);
    gd_run *run = create(&s, NULL);
    for (int e = 1; e <= 2; e++)
        for (int b = 1; b <= BATCHES; b++) {
            bool done = true;
            cr_assert_eq(gd_run_step(run, &done), GD_OK, "%s", gd_run_error(run));
            cr_expect_eq(done, b == BATCHES, "epoch %d batch %d", e, b);
            gd_run_result r;
            gd_run_result_get(run, &r);
            cr_expect_eq(r.epochs, b == BATCHES ? e : e - 1, "epoch %d batch %d", e, b);
        }
    gd_run_free(run);
    gd_settings_free(&s);
}

/* SGD at 1e30 overflows float32 within a few steps: the run stops with the loss's
 * status and says where. */
Test(train, a_divergent_run_stops_with_numeric_error_and_says_where)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "optim", "sgd");
    set(&s, "lr", "1e30");
    set(&s, "schedule", "constant");
    gd_run *run = create(&s, NULL);
    gd_run_result r = fit(run, GD_ERR_NUMERIC);
    cr_expect_eq(r.stop, GD_STOP_DIVERGED);
    cr_expect_geq(r.diverged_epoch, 1);
    cr_expect_eq(r.diverged_epoch, r.epochs + 1, "the epoch in progress");
    cr_expect(r.diverged_step >= 1 && r.diverged_step <= BATCHES, "step %lld",
              (long long)r.diverged_step);
    cr_expect(strstr(gd_run_error(run), "NaN or infinite"), "%s", gd_run_error(run));
    cr_expect_not(r.tested);
    gd_run_free(run);
    gd_settings_free(&s);
}

static const char *make_dir(const char *name)
{
    const char *path = scratch_path(name);
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s", path);
    return path;
}

static bool exists(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

Test(train, a_run_with_a_folder_writes_config_metrics_model_and_checkpoint)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "epochs", "3");
    char dir[256];
    snprintf(dir, sizeof dir, "%s", make_dir("run"));
    gd_run *run = create(&s, &(gd_run_options){.dir = dir});
    cr_expect(exists(dir, "config.json"), "config.json is written at the start");
    fit(run, GD_OK);
    cr_expect(exists(dir, "model.safetensors"));
    cr_expect(exists(dir, "checkpoint.safetensors"));

    char path[512];
    size_t len;
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *config = (char *)scratch_read(path, &len);
    config[len] = '\0';
    gd_settings back;
    gd_settings_defaults(&back);
    gd_error err;
    cr_expect_eq(gd_settings_from_json(&back, config, &err), GD_OK, "%s", err.message);
    /* The numbers used: --lr as given, Adam's own weight decay (0) where none was. */
    expect_same_json(&back, gd_run_settings(run));
    cr_expect_eq(back.lr, 0.01);
    cr_expect_eq(back.weight_decay, 0);

    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    char *metrics = (char *)scratch_read(path, &len);
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += metrics[i] == '\n';
    cr_expect_eq(lines, 3, "one line per epoch");
    cr_expect_eq(metrics[len - 1], '\n');
    free(config);
    free(metrics);
    gd_settings_free(&back);
    gd_run_free(run);
    gd_settings_free(&s);
}

/* Figures of an epoch that do not depend on the clock, bit for bit. */
static void expect_same_epoch(const gd_epoch_metrics *a, const gd_epoch_metrics *b)
{
    cr_expect_eq(a->epoch, b->epoch);
    cr_expect_eq(a->train_loss, b->train_loss, "epoch %lld: %.17g %.17g", (long long)a->epoch,
                 a->train_loss, b->train_loss);
    cr_expect_eq(a->train_accuracy, b->train_accuracy, "epoch %lld", (long long)a->epoch);
    cr_expect_eq(a->val_loss, b->val_loss, "epoch %lld: %.17g %.17g", (long long)a->epoch,
                 a->val_loss, b->val_loss);
    cr_expect_eq(a->val_accuracy, b->val_accuracy, "epoch %lld", (long long)a->epoch);
    cr_expect_eq(a->lr, b->lr, "epoch %lld: %.17g %.17g", (long long)a->epoch, a->lr, b->lr);
    cr_expect_eq(a->best, b->best, "epoch %lld", (long long)a->epoch);
}

/* Three epochs in one go, and one epoch, a stop, and a resume for the other two, from the
 * same settings: the parameters at the end of epoch 3 are the same bits, and so is the
 * history, the first epoch's included, which the resumed run read from the checkpoint.
 * Batch norm's statistics, dropout's generator and Adam's moments all pass through it. */
Test(train, a_resumed_run_ends_as_an_uninterrupted_one_bit_for_bit)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "model", "linear(16) bn relu dropout(0.2) linear(3)");
    set(&s, "epochs", "3");
    set(&s, "val_size", "40");
    char whole[256], parts[256];
    snprintf(whole, sizeof whole, "%s", make_dir("whole"));
    snprintf(parts, sizeof parts, "%s", make_dir("parts"));

    gd_run *uninterrupted = create(&s, &(gd_run_options){.dir = whole});
    int64_t n = gd_run_parameter_count(uninterrupted);
    trace *t = observe(uninterrupted);
    float *expected = t->params = calloc((size_t)n, sizeof(float));
    gd_run_result ru = fit(uninterrupted, GD_OK);
    cr_expect_eq(t->epochs, 3);
    free(t);

    gd_run *run = create(&s, &(gd_run_options){.dir = parts});
    t = observe(run);
    t->stop_at_epoch = 1;
    cr_expect_eq(fit(run, GD_OK).epochs, 1);
    free(t);
    gd_run_free(run);

    run = create(&s, &(gd_run_options){.dir = parts, .resume = true});
    t = observe(run);
    float *resumed = t->params = calloc((size_t)n, sizeof(float));
    gd_run_result r = fit(run, GD_OK);
    cr_expect_eq(t->epochs, 2, "the resumed run trains epochs 2 and 3");
    int64_t differ = 0;
    for (int64_t i = 0; i < n; i++)
        differ += memcmp(&expected[i], &resumed[i], sizeof(float)) != 0;
    cr_expect_eq(differ, 0, "%lld of %lld parameters differ", (long long)differ, (long long)n);
    cr_assert_eq(r.epochs, 3);
    cr_assert_eq(r.history_len, 3);
    for (int e = 0; e < 3; e++)
        expect_same_epoch(&r.history[e], &ru.history[e]);
    cr_expect_eq(r.best_epoch, ru.best_epoch);
    cr_expect_eq(r.best_val_accuracy, ru.best_val_accuracy);
    cr_expect_eq(r.final_train_loss, ru.final_train_loss);
    free(t);
    free(expected);
    free(resumed);
    gd_run_free(run);
    gd_run_free(uninterrupted);
    gd_settings_free(&s);
}

/* A checkpoint's run state is a file's content: a count there that is no count (1e300
 * converts to int64_t undefined) is refused with the file's name and the key. */
Test(train, a_checkpoint_whose_run_state_holds_no_count_is_refused_naming_the_file)
{
    static const struct {
        const char *state, *key;
    } cases[] = {
        {"{\"best_epoch\":1e300,\"bad_epochs\":0,\"samples\":0,\"history\":[]}", "best_epoch"},
        {"{\"best_epoch\":1,\"bad_epochs\":-1,\"samples\":0,\"history\":[]}", "bad_epochs"},
        {"{\"best_epoch\":1,\"bad_epochs\":0,\"samples\":0,\"history\":[{\"epoch\":1e300}]}",
         "\"epoch\""},
    };
    gd_settings s;
    blob_settings(&s);
    set(&s, "preprocess", "none");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[32], dir[256], path[512];
        snprintf(name, sizeof name, "bad_state%zu", i);
        snprintf(dir, sizeof dir, "%s", make_dir(name));
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
        gd_run *run = create(&s, &(gd_run_options){.dir = dir});
        gd_error err;
        cr_assert_eq(gd_checkpoint_save(gd_run_model(run), gd_run_optimizer(run), NULL, 1,
                                        cases[i].state, path, &err),
                     GD_OK, "%s", err.message);
        gd_run_free(run);
        run = NULL;
        cr_expect_eq(gd_run_create(&run, &s, &(gd_run_options){.dir = dir, .resume = true}, &err),
                     GD_ERR_FORMAT, "case %zu", i);
        cr_expect_null(run);
        cr_expect(strstr(err.message, path) && strstr(err.message, cases[i].key), "%s",
                  err.message);
    }
    gd_settings_free(&s);
}

/* --schedule step:EPOCHS is text: a count of epochs whose steps do not fit int64_t (or
 * are infinite) is refused, naming the setting, before any conversion. */
Test(train, a_step_schedule_too_long_for_a_step_count_is_refused)
{
    const char *schedules[] = {"step:1e300", "step:inf", "step:9.3e18"};
    gd_settings s;
    blob_settings(&s);
    for (size_t i = 0; i < sizeof schedules / sizeof *schedules; i++) {
        set(&s, "schedule", schedules[i]);
        gd_run *run = NULL;
        gd_error err;
        cr_expect_eq(gd_run_create(&run, &s, NULL, &err), GD_ERR_INVALID_ARGUMENT, "%s",
                     schedules[i]);
        cr_expect_null(run);
        cr_expect(strstr(err.message, "--schedule"), "%s", err.message);
    }
    gd_settings_free(&s);
}

/* A random crop of padding p reads a window shifted by up to p pixels: at p >= the image's
 * side it can be padding alone, so the run refuses it naming the flag and what the images
 * allow (here 2x2 images: 0 or 1). */
Test(train, crop_padding_as_large_as_the_images_is_refused)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "csv_shape", "1x2x2");
    set(&s, "crop_padding", "2");
    gd_run *run = NULL;
    gd_error err;
    cr_expect_eq(gd_run_create(&run, &s, NULL, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_null(run);
    cr_expect(strstr(err.message, "--crop-padding 2: expected an integer in [0, 1]"), "%s",
              err.message);
    set(&s, "crop_padding", "1");
    run = create(&s, NULL);
    gd_run_free(run);
    gd_settings_free(&s);
}

/* --epochs and --warmup up to 2^53 - 1 pass the settings' check; times the batches of an
 * epoch (2048 here, so past 2^63) they do not fit int64_t, which is refused naming the
 * flag. */
Test(train, epochs_or_warmup_too_many_for_a_step_count_are_refused)
{
    const char *path = scratch_path("rows2048.csv");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 2048; i++)
        fprintf(f, "%d,%d,0,0,0\n", i % CLASSES, i % 7);
    cr_assert_eq(fclose(f), 0);
    char data[600];
    snprintf(data, sizeof data, "csv:%s,%s", path, path);
    const char *keys[] = {"epochs", "warmup"};
    for (size_t i = 0; i < 2; i++) {
        gd_settings s;
        blob_settings(&s);
        set(&s, "data", data);
        set(&s, "preprocess", "none");
        set(&s, keys[i], "9007199254740991");
        set(&s, "batch_size", "1");
        gd_run *run = NULL;
        gd_error err;
        cr_expect_eq(gd_run_create(&run, &s, NULL, &err), GD_ERR_INVALID_ARGUMENT, "%s", keys[i]);
        cr_expect_null(run);
        char flag[32];
        snprintf(flag, sizeof flag, "--%s", keys[i]);
        cr_expect(strstr(err.message, flag), "%s", err.message);
        gd_settings_free(&s);
    }
}

/* The counts are integers and accuracy is their ratio, so both identities are exact. */
Test(train, evaluations_confusion_matrix_sums_to_the_samples_and_its_diagonal_to_accuracy)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "epochs", "1"); /* part-trained: some mistakes off the diagonal */
    set(&s, "lr", "0.001");
    gd_run *run = create(&s, NULL);
    cr_assert_eq(gd_run_epoch(run, NULL), GD_OK, "%s", gd_run_error(run));
    gd_model *m = gd_run_model(run);
    int64_t confusion[CLASSES * CLASSES] = {0};
    gd_evaluation ev;
    gd_error err;
    cr_assert_eq(gd_evaluate(m, gd_run_dataset(run, "test"), confusion, &ev, &err), GD_OK, "%s",
                 err.message);
    int64_t sum = 0, diagonal = 0;
    for (int i = 0; i < CLASSES * CLASSES; i++)
        sum += confusion[i];
    for (int i = 0; i < CLASSES; i++)
        diagonal += confusion[i * CLASSES + i];
    cr_expect_eq(ev.samples, ROWS);
    cr_expect_eq(sum, ROWS);
    cr_expect_eq((double)diagonal / (double)ROWS, ev.accuracy);
    cr_expect(isfinite(ev.loss) && ev.loss > 0);
    cr_expect(gd_model_is_training(m), "the model's mode is restored");
    gd_run_free(run);
    gd_settings_free(&s);
}

/* The run keeps its test's confusion matrix: none before the test; after it, the model's
 * classes, every test sample counted once and the diagonal the test's accuracy (exact:
 * integer counts). */
Test(train, run_keeps_the_tests_confusion_matrix)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "epochs", "1");
    gd_run *run = create(&s, NULL);
    int classes = -1;
    cr_expect_null(gd_run_confusion(run, &classes));
    cr_expect_eq(classes, 0);
    gd_run_result r = fit(run, GD_OK);
    const int64_t *confusion = gd_run_confusion(run, &classes);
    cr_assert_not_null(confusion);
    cr_assert_eq(classes, CLASSES);
    int64_t sum = 0, diagonal = 0;
    for (int i = 0; i < CLASSES * CLASSES; i++)
        sum += confusion[i];
    for (int i = 0; i < CLASSES; i++)
        diagonal += confusion[i * CLASSES + i];
    cr_expect_eq(sum, r.test.samples);
    cr_expect_eq((double)diagonal / (double)sum, r.test.accuracy);
    gd_run_free(run);
    gd_settings_free(&s);
}

/* gd_run_create(s) fails with status, a message holding named, and no run. */
static void expect_create_refused(gd_settings *s, gd_status status, const char *named)
{
    gd_run *run = (gd_run *)&run; /* not NULL, so that the test sees it cleared */
    gd_error err = {{0}};
    cr_expect_eq(gd_run_create(&run, s, NULL, &err), status, "%s", err.message);
    cr_expect_null(run);
    cr_expect(strstr(err.message, named), "\"%s\" does not name %s", err.message, named);
}

Test(train, an_unknown_optimiser_is_refused_naming_the_flag)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "optim", "adamax");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT, "--optim adamax");
    gd_settings_free(&s);
}

Test(train, a_data_folder_that_does_not_exist_is_refused)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "data", scratch_path("no-such-folder"));
    expect_create_refused(&s, GD_ERR_IO, "no such folder"); /* cannot be read: exit 1 */
    gd_settings_free(&s);
}

/* Every range is refused in one wording: the flag, the text, and the range with each end
 * open or closed, e.g. "--momentum 1: expected a number in [0, 1)". */
Test(train, set_refuses_out_of_range_values_naming_the_flag_and_the_range)
{
    expect_refused("momentum", "1", "--momentum 1: expected a number in [0, 1)");
    expect_refused("momentum", "-0.5", "--momentum -0.5: expected a number in [0, 1)");
    expect_refused("lr", "0", "--lr 0: expected a number in (0, inf)");
    expect_refused("label_smoothing", "1", "--label-smoothing 1: expected a number in [0, 1)");
    expect_refused("random_erasing", "1.5", "--random-erasing 1.5: expected a number in [0, 1]");
    expect_refused("weight_decay", "-1", "--weight-decay -1: expected a number in [0, inf)");
    /* A fixed bound, not a multiple of this machine's cores: config.json means the same
     * everywhere. */
    expect_refused("threads", "4097", "--threads 4097: expected an integer in [0, 4096]");
    expect_refused("epochs", "0", "--epochs 0: expected an integer in [1, 9007199254740991]");
    expect_refused("epochs", "2.5", "--epochs 2.5: expected an integer in [1, 9007199254740991]");
}

Test(train, set_takes_the_closed_ends_of_each_range)
{
    gd_settings s;
    gd_settings_defaults(&s);
    set(&s, "momentum", "0");
    set(&s, "momentum", "0.999");
    set(&s, "label_smoothing", "0");
    set(&s, "lr", "1e-300");
    set(&s, "threads", "4096");
    set(&s, "random_erasing", "1");
    cr_expect_eq(s.threads, 4096);
    cr_expect_eq(s.random_erasing, 1);
    gd_settings_free(&s);
}

Test(train, from_json_says_the_range_naming_the_key)
{
    expect_json_refused("{\"schema\": 1, \"momentum\": 1}", GD_ERR_FORMAT,
                        "momentum must be a number in [0, 1)");
    expect_json_refused("{\"schema\": 1, \"lr\": 0}", GD_ERR_FORMAT,
                        "lr must be a number in (0, inf)");
}

/* A warm-up longer than the run is a check between two settings (either may come first
 * on a command line), made once both are known: here when a config.json is read. */
Test(train, from_json_refuses_a_warmup_longer_than_the_run)
{
    expect_json_refused("{\"schema\": 1, \"epochs\": 3, \"warmup\": 4}", GD_ERR_FORMAT,
                        "--warmup 4: expected an integer in [0, 3] (at most --epochs)");
    gd_settings s;
    gd_settings_defaults(&s);
    gd_error err;
    cr_expect_eq(gd_settings_from_json(&s, "{\"schema\": 1, \"epochs\": 3, \"warmup\": 3}", &err),
                 GD_OK, "%s", err.message);
    cr_expect_eq(s.warmup, 3);
    gd_settings_free(&s);
}

/* --limit and --val-size together leaving no training split are refused naming both. */
Test(train, a_val_size_as_large_as_the_limit_is_refused_naming_both_flags)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "limit", "50");
    set(&s, "val_size", "50");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT,
                          "--val-size 50 leaves no training examples of the 50 that --limit keeps");
    set(&s, "limit", "0");
    set(&s, "val_size", "240");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT, "--val-size 240 leaves no training examples");
    gd_settings_free(&s);
}

/* The blobs have 3 classes: a model whose output width differs is refused, saying the fix. */
Test(train, a_model_whose_outputs_are_not_the_classes_is_refused)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "model", "linear(16) relu linear(2)");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT,
                          "the data has 3 classes but the model outputs 2: end --model with linear(3)");
    set(&s, "model", "linear(256) relu");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT,
                          "the data has 3 classes but the model outputs 256");
    gd_settings_free(&s);
}

Test(train, a_model_without_parameters_is_refused)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "model", "relu");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT,
                          "the model has no parameters: nothing to train (--model relu)");
    gd_settings_free(&s);
}

/* ------------------------------------------- optimiser defaults, schedules, stopping */

/* Without --lr and --weight-decay, each optimiser gets its PyTorch default (SGD has none
 * in torch 1.13: 0.01, Keras's), and gd_run_settings holds the numbers used. */
Test(train, each_optimiser_gets_its_pytorch_defaults_when_no_flag_is_given)
{
    static const struct {
        const char *optim;
        double lr, weight_decay;
    } want[] = {{"sgd", 0.01, 0}, {"adam", 0.001, 0}, {"adamw", 0.001, 0.01},
                {"rmsprop", 0.01, 0}, {"adagrad", 0.01, 0}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        gd_settings s;
        blob_settings(&s);
        gd_settings_free(&s);
        gd_settings_defaults(&s);
        char data[600];
        snprintf(data, sizeof data, "csv:%s,%s", scratch_path("train.csv"),
                 scratch_path("test.csv"));
        set(&s, "data", data);
        set(&s, "model", "linear(3)");
        set(&s, "val_size", "0");
        set(&s, "optim", want[i].optim);
        gd_run *run = create(&s, NULL);
        const gd_settings *used = gd_run_settings(run);
        cr_expect_eq(used->lr, want[i].lr, "%s: lr %g", want[i].optim, used->lr);
        cr_expect_eq(used->weight_decay, want[i].weight_decay, "%s", want[i].optim);
        cr_expect_eq(used->momentum, 0, "%s", want[i].optim);
        gd_run_free(run);
        set(&s, "lr", "0.5"); /* a flag given wins */
        set(&s, "weight_decay", "0.25");
        run = create(&s, NULL);
        cr_expect_eq(gd_run_settings(run)->lr, 0.5);
        cr_expect_eq(gd_run_settings(run)->weight_decay, 0.25);
        gd_run_free(run);
        gd_settings_free(&s);
    }
}

/* A momentum nothing would read is refused, not ignored. */
Test(train, momentum_is_refused_where_nothing_reads_it)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "momentum", "0.9");
    set(&s, "optim", "adam");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT,
                          "--momentum 0.9: --optim adam has no momentum (only sgd and rmsprop");
    set(&s, "optim", "adagrad");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT, "--optim adagrad has no momentum");
    set(&s, "optim", "sgd");
    set(&s, "schedule", "onecycle");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT,
                          "--momentum 0.9: --schedule onecycle cycles the momentum itself");
    set(&s, "schedule", "constant");
    gd_run *run = create(&s, NULL);
    cr_expect_eq(gd_run_settings(run)->momentum, 0.9);
    gd_run_free(run);
    gd_settings_free(&s);
}

Test(train, plateau_without_a_validation_split_is_refused)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "schedule", "plateau");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT,
                          "--schedule plateau watches the validation split's val_accuracy, and "
                          "--val-size 0 leaves none");
    set(&s, "val_size", "40");
    set(&s, "schedule", "plateau:1");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT, "--schedule plateau:1: expected");
    set(&s, "schedule", "plateau:0.5:1.5");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT, "--schedule plateau:0.5:1.5: expected");
    set(&s, "schedule", "plateaux");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT, "--schedule plateaux: expected");
    set(&s, "early_stop", "loss");
    expect_create_refused(&s, GD_ERR_INVALID_ARGUMENT,
                          "--early-stop loss: expected val_accuracy or val_loss");
    gd_settings_free(&s);
}

/* val_loss falls every epoch here, but by less than --min-delta 100: no epoch after the
 * first counts as better, so patience 2 stops after epoch 3 and epoch 1's model is kept;
 * without min_delta the same run improves and goes on. */
Test(train, early_stopping_on_val_loss_with_min_delta_stops_when_no_gain_exceeds_it)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "val_size", "40");
    set(&s, "early_stop", "val_loss");
    set(&s, "patience", "2");
    set(&s, "epochs", "6");
    set(&s, "min_delta", "100");
    gd_run *run = create(&s, NULL);
    gd_run_result r = fit(run, GD_OK);
    cr_expect_eq(r.stop, GD_STOP_EARLY);
    cr_expect_eq(r.epochs, 3);
    cr_expect_eq(r.best_epoch, 1);
    cr_expect_eq(r.best_val_accuracy, r.history[0].val_accuracy);
    cr_expect_lt(r.history[2].val_loss, r.history[0].val_loss, "the loss did fall");
    gd_run_free(run);
    set(&s, "min_delta", "0");
    run = create(&s, NULL);
    r = fit(run, GD_OK);
    cr_expect_gt(r.epochs, 3);
    gd_run_free(run);
    gd_settings_free(&s);
}

/* The kept model is the epoch of the lowest validation loss when that is watched. */
Test(train, early_stop_val_loss_keeps_the_epoch_of_the_lowest_val_loss)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "val_size", "40");
    set(&s, "early_stop", "val_loss");
    set(&s, "patience", "0");
    set(&s, "optim", "sgd");
    set(&s, "lr", "2"); /* large steps: the validation loss goes up and down */
    set(&s, "schedule", "constant");
    set(&s, "epochs", "8");
    gd_run *run = create(&s, NULL);
    gd_run_result r = fit(run, GD_OK);
    int64_t lowest = 0;
    for (int64_t e = 1; e < r.history_len; e++)
        lowest = r.history[e].val_loss < r.history[lowest].val_loss ? e : lowest;
    cr_expect_eq(r.best_epoch, lowest + 1);
    cr_expect_eq(r.best_val_accuracy, r.history[lowest].val_accuracy);
    gd_run_free(run);
    gd_settings_free(&s);
}

/* Each epoch's rate is what ReduceLROnPlateau (gd_plateau, against PyTorch in
 * test_schedule_goldens.c) makes of the epochs before it, and the run lowers it at least
 * once here: an lr of 1e-6 changes no validation answer, so accuracy stalls. */
Test(train, plateau_lowers_the_rate_of_the_epochs_after_a_stall)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "val_size", "40");
    set(&s, "lr", "1e-6");
    set(&s, "schedule", "plateau:0.5:1");
    set(&s, "patience", "0");
    set(&s, "epochs", "8");
    gd_run *run = create(&s, NULL);
    gd_run_result r = fit(run, GD_OK);
    gd_plateau p = gd_plateau_defaults(true, 1e-6);
    p.factor = 0.5, p.patience = 1;
    int lowered = 0;
    for (int64_t e = 0; e < r.history_len; e++) {
        cr_expect_eq(r.history[e].lr, p.lr, "epoch %lld: %g, not %g", (long long)e + 1,
                     r.history[e].lr, p.lr);
        lowered += gd_plateau_step(&p, r.history[e].val_accuracy);
    }
    cr_expect_geq(lowered, 2, "lowered %d times", lowered);
    gd_run_free(run);
    gd_settings_free(&s);
}

/* Plateau's state (rate, best, counters) and early stopping's best on val_loss pass
 * through the checkpoint: stopped after epoch 3 and resumed, the run has the bits and
 * the rates of an uninterrupted one. */
static void expect_resume_bit_exact(gd_settings *s, const char *name)
{
    char whole[256], parts[256], sub[64];
    snprintf(sub, sizeof sub, "%s-whole", name);
    snprintf(whole, sizeof whole, "%s", make_dir(sub));
    snprintf(sub, sizeof sub, "%s-parts", name);
    snprintf(parts, sizeof parts, "%s", make_dir(sub));
    gd_run *a = create(s, &(gd_run_options){.dir = whole});
    gd_run_result ra = fit(a, GD_OK);
    gd_run *b = create(s, &(gd_run_options){.dir = parts});
    trace *t = observe(b);
    t->stop_at_epoch = 3;
    fit(b, GD_OK);
    free(t);
    gd_run_free(b);
    b = create(s, &(gd_run_options){.dir = parts, .resume = true});
    gd_run_result rb = fit(b, GD_OK);
    cr_assert_eq(rb.history_len, ra.history_len, "%s", name);
    for (int64_t e = 0; e < ra.history_len; e++)
        expect_same_epoch(&rb.history[e], &ra.history[e]);
    cr_expect_eq(rb.stop, ra.stop, "%s", name);
    cr_expect_eq(rb.best_epoch, ra.best_epoch, "%s", name);
    cr_expect_eq(rb.test.loss, ra.test.loss, "%s", name);
    gd_run_free(a);
    gd_run_free(b);
}

/* The stalled run of plateau_lowers_the_rate... lowers its rate at epochs 2 and 3, before
 * the stop: a resume that lost plateau's state would go on at 1e-6. */
Test(train, plateau_resumes_bit_for_bit)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "val_size", "40");
    set(&s, "lr", "1e-6");
    set(&s, "schedule", "plateau:0.5:0");
    set(&s, "patience", "0");
    set(&s, "epochs", "6");
    expect_resume_bit_exact(&s, "plateau");
    gd_settings_free(&s);
}

/* SGD at a large rate: the validation loss goes up and down, so early stopping's best on
 * val_loss (and its min_delta) decides which epochs count, across the resume too. */
Test(train, val_loss_stopping_resumes_bit_for_bit)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "val_size", "40");
    set(&s, "optim", "sgd");
    set(&s, "lr", "2");
    set(&s, "schedule", "plateau:0.5:0");
    set(&s, "early_stop", "val_loss");
    set(&s, "min_delta", "0.01");
    set(&s, "patience", "4");
    set(&s, "epochs", "8");
    expect_resume_bit_exact(&s, "val-loss");
    gd_settings_free(&s);
}

/* After each step, the optimiser's momentum is the one the schedule gives that step. */
typedef struct momentum_trace {
    const gd_schedule *schedule;
    int64_t steps, wrong;
    double first, lowest;
} momentum_trace;

static void check_momentum(void *ctx, gd_run *run, const gd_step_info *i)
{
    momentum_trace *t = ctx;
    double m = gd_optim_momentum(gd_run_optimizer(run));
    t->wrong += m != gd_schedule_momentum(t->schedule, i->step);
    t->first = t->steps++ == 0 ? m : t->first;
    t->lowest = fmin(t->lowest, m);
}

Test(train, onecycle_cycles_the_optimisers_momentum_each_step)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "schedule", "onecycle");
    set(&s, "epochs", "4");
    const char *optims[] = {"sgd", "rmsprop", "adam", "adamw"};
    for (size_t k = 0; k < sizeof optims / sizeof *optims; k++) {
        set(&s, "optim", optims[k]);
        gd_run *run = create(&s, NULL);
        gd_schedule onecycle = {.kind = GD_SCHEDULE_ONECYCLE, .base_lr = gd_run_settings(run)->lr,
                                .total_steps = 4 * BATCHES, .pct_start = 0.3, .div_factor = 25,
                                .final_div_factor = 1e4, .base_momentum = 0.85,
                                .max_momentum = 0.95};
        momentum_trace t = {.schedule = &onecycle, .lowest = 1};
        gd_observer o = {.ctx = &t, .after_step = check_momentum};
        cr_assert_eq(gd_run_add_observer(run, &o), GD_OK);
        fit(run, GD_OK);
        cr_expect_eq(t.steps, 4 * BATCHES);
        cr_expect_eq(t.wrong, 0, "%s: %lld steps with another momentum", optims[k],
                     (long long)t.wrong);
        cr_expect_eq(t.first, 0.95, "%s", optims[k]);
        cr_expect(fabs(t.lowest - 0.85) < 1e-3, "%s: lowest %g", optims[k], t.lowest);
        gd_run_free(run);
    }
    gd_settings_free(&s);
}

/* One cycle over the run: the first step at --lr / 25; SGD without --momentum gets a
 * momentum buffer (the cycle's 0.95 to 0.85); the resumed run has the same bits. */
Test(train, onecycle_starts_at_a_25th_of_lr_and_resumes_bit_for_bit)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "val_size", "40");
    set(&s, "optim", "sgd");
    set(&s, "lr", "0.1");
    set(&s, "schedule", "onecycle");
    set(&s, "epochs", "5");
    gd_run *run = create(&s, NULL);
    cr_expect_eq(gd_optim_state_count(gd_run_optimizer(run)), 1, "a momentum buffer");
    gd_run_result r = fit(run, GD_OK);
    /* max + (initial - max) / 2 * 2, as PyTorch computes it: within an ulp of 0.004 */
    cr_expect(fabs(r.history[0].lr - 0.1 / 25) <= 1e-15, "%.17g", r.history[0].lr);
    gd_run_free(run);
    expect_resume_bit_exact(&s, "onecycle");
    set(&s, "optim", "adam");
    expect_resume_bit_exact(&s, "onecycle-adam");
    gd_settings_free(&s);
}

/* A checkpoint written before best_metric existed watched val_accuracy: its
 * best_val_accuracy is the best to beat. At 2.0, which no accuracy reaches, the resumed
 * epoch 2 is no improvement and patience 1 stops the run there, epoch 1's model kept. */
Test(train, an_old_checkpoint_resumes_with_its_best_val_accuracy_as_the_best)
{
    gd_settings s;
    blob_settings(&s);
    set(&s, "preprocess", "none");
    set(&s, "val_size", "40");
    set(&s, "patience", "1");
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s", make_dir("old"));
    gd_run *run = create(&s, &(gd_run_options){.dir = dir});
    gd_error err;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    cr_assert_eq(gd_model_save(gd_run_model(run), NULL, path, &err), GD_OK, "%s", err.message);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    const char *state = "{\"schema\":1,\"best_epoch\":1,\"bad_epochs\":0,\"samples\":200,"
                        "\"best_val_accuracy\":2,\"history\":[{\"epoch\":1,\"train_loss\":1,"
                        "\"val_loss\":1,\"val_accuracy\":2,\"lr\":0.01}]}";
    cr_assert_eq(gd_checkpoint_save(gd_run_model(run), gd_run_optimizer(run), NULL, 1, state,
                                    path, &err), GD_OK, "%s", err.message);
    gd_run_free(run);
    run = create(&s, &(gd_run_options){.dir = dir, .resume = true});
    gd_run_result r = fit(run, GD_OK);
    cr_expect_eq(r.stop, GD_STOP_EARLY);
    cr_expect_eq(r.epochs, 2);
    cr_expect_eq(r.best_epoch, 1);
    gd_run_free(run);
    gd_settings_free(&s);
}
