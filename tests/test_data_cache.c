/* gd_data_cache: runs that share one read of --data (a search worker's trials). A run
 * through the cache must be the run that reads its own files, bit for bit: the same
 * parameters at each epoch's end, the same history and test result, whatever its seed,
 * split and preprocessing, and when it resumes. So nothing here states a tolerance. The
 * data are CSV blobs each test writes into its scratch folder, standardised (the default
 * preprocessing, which works in place on the run's sets: on the cache's, it would show).
 * The cache's second entry, the splits already preprocessed, serves fresh runs of one
 * preparation (a study's trials with one --split-seed); those tests count its hits. */
#include "scratch.h"

#include <criterion/criterion.h>
#include <gradus.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(data_cache, .init = scratch_make, .fini = scratch_remove);

enum { ROWS = 120, CLASSES = 3, FEATURES = 4, EPOCHS = 3 };

/* Three Gaussian blobs in four dimensions (as tests/test_train.c's), label first. */
static void write_blobs(const char *path, uint64_t seed)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    gd_rng *rng;
    gd_rng_create(&rng, seed);
    for (int i = 0; i < ROWS; i++) {
        fprintf(f, "%d", i % CLASSES);
        for (int j = 0; j < FEATURES; j++)
            fprintf(f, ",%.6f", (j == i % CLASSES ? 3.0 : 0.0) + 0.5 * gd_rng_normal(rng));
        fprintf(f, "\n");
    }
    gd_rng_free(rng);
    cr_assert_eq(fclose(f), 0);
}

static void set(gd_settings *s, const char *key, const char *text)
{
    gd_error err;
    cr_assert_eq(gd_settings_set(s, key, text, &err), GD_OK, "%s=%s: %s", key, text, err.message);
}

/* A run on fresh blobs with validation (val_size 30 of limit 100), so that the seed
 * decides a split, and dropout, so that it decides the training too. */
static void blob_settings(gd_settings *s)
{
    char data[600];
    write_blobs(scratch_path("train.csv"), 1);
    write_blobs(scratch_path("test.csv"), 2);
    snprintf(data, sizeof data, "csv:%s,%s", scratch_path("train.csv"), scratch_path("test.csv"));
    gd_settings_defaults(s);
    set(s, "data", data);
    set(s, "model", "linear(16) bn relu dropout(0.2) linear(3)");
    set(s, "lr", "0.01");
    set(s, "batch_size", "16");
    set(s, "limit", "100");
    set(s, "val_size", "30");
    set(s, "epochs", "3");
    set(s, "threads", "1");
}

/* What a run ends with: the flat parameters at each epoch's end, and its result. */
typedef struct outcome {
    float params[EPOCHS][512];
    int64_t nparams, epochs;
    gd_run_result result;
    gd_epoch_metrics history[EPOCHS];
} outcome;

static void at_epoch_end(void *ctx, gd_run *run, const gd_epoch_metrics *m)
{
    outcome *o = ctx;
    gd_tensor p = gd_model_parameters_flat(gd_run_model(run));
    cr_assert_leq(p.dims[0], 512);
    cr_assert(m->epoch >= 1 && m->epoch <= EPOCHS);
    o->nparams = p.dims[0];
    memcpy(o->params[m->epoch - 1], p.data, (size_t)p.dims[0] * sizeof(float));
    if (m->epoch == o->epochs)
        gd_run_stop(run);
}

/* Runs s (in dir, resuming when asked; through cache when not NULL) until stop_at epochs
 * are done (0: all), into *o. */
static void run(const gd_settings *s, const char *dir, bool resume, gd_data_cache *cache,
                int64_t stop_at, outcome *o)
{
    gd_run *r;
    gd_error err;
    gd_run_options opt = {.dir = dir, .resume = resume, .data_cache = cache};
    cr_assert_eq(gd_run_create(&r, s, &opt, &err), GD_OK, "%s", err.message);
    o->epochs = stop_at;
    cr_assert_eq(gd_run_add_observer(r, &(gd_observer){.ctx = o, .epoch_end = at_epoch_end}),
                 GD_OK);
    cr_assert_eq(gd_run_fit(r, &o->result), GD_OK, "%s", gd_run_error(r));
    cr_assert_leq(o->result.history_len, EPOCHS);
    memcpy(o->history, o->result.history, (size_t)o->result.history_len * sizeof *o->history);
    o->result.history = NULL; /* the run's, gone with it */
    gd_run_free(r);
}

/* The same bits: without validation val_* are NaN, which == would call different. */
static bool same(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void expect_same_epoch(const gd_epoch_metrics *a, const gd_epoch_metrics *b)
{
    cr_expect_eq(a->epoch, b->epoch);
    cr_expect(same(a->train_loss, b->train_loss), "epoch %lld", (long long)a->epoch);
    cr_expect(same(a->train_accuracy, b->train_accuracy), "epoch %lld", (long long)a->epoch);
    cr_expect(same(a->val_loss, b->val_loss), "epoch %lld", (long long)a->epoch);
    cr_expect(same(a->val_accuracy, b->val_accuracy), "epoch %lld", (long long)a->epoch);
}

/* Bit for bit: every parameter of every epoch, the history and the test. */
static void expect_same_outcome(const outcome *a, const outcome *b)
{
    cr_assert_eq(a->nparams, b->nparams);
    cr_assert_eq(a->result.history_len, b->result.history_len);
    for (int64_t e = 0; e < a->result.history_len; e++) {
        cr_expect_eq(memcmp(a->params[e], b->params[e], (size_t)a->nparams * sizeof(float)), 0,
                     "parameters at the end of epoch %lld", (long long)e + 1);
        expect_same_epoch(&a->history[e], &b->history[e]);
    }
    cr_expect(same(a->result.final_train_loss, b->result.final_train_loss));
    cr_expect_eq(a->result.best_epoch, b->result.best_epoch);
    cr_expect(same(a->result.test.loss, b->result.test.loss));
    cr_expect(same(a->result.test.accuracy, b->result.test.accuracy));
}

static gd_data_cache *new_cache(void)
{
    gd_data_cache *c = NULL;
    gd_error err;
    cr_assert_eq(gd_data_cache_new(&c, &err), GD_OK, "%s", err.message);
    cr_assert_eq(gd_data_cache_reads(c), 0);
    return c;
}

Test(data_cache, a_run_through_the_cache_is_the_run_that_reads_its_files_bit_for_bit)
{
    gd_settings s;
    blob_settings(&s);
    static outcome own, cached;
    run(&s, NULL, false, NULL, 0, &own);
    gd_data_cache *c = new_cache();
    run(&s, NULL, false, c, 0, &cached);
    cr_expect_eq(cached.result.history_len, EPOCHS);
    expect_same_outcome(&own, &cached);
    cr_expect_eq(gd_data_cache_reads(c), 1);
    gd_data_cache_free(c);
    gd_settings_free(&s);
}

/* The files gone, a run of another seed still starts: it was lent the first read (its
 * split differs, so the prepared entry cannot serve it). It ends as it does reading its
 * own files, so the first run's preprocessing (in place) did not reach the cache's sets. */
Test(data_cache, a_second_run_reads_nothing_and_ends_as_without_the_cache)
{
    gd_settings s;
    blob_settings(&s);
    static outcome first, own, second;
    set(&s, "seed", "2");
    run(&s, NULL, false, NULL, 0, &own);
    gd_data_cache *c = new_cache();
    set(&s, "seed", "1");
    run(&s, NULL, false, c, 0, &first);
    cr_assert_eq(unlink(scratch_path("train.csv")), 0);
    cr_assert_eq(unlink(scratch_path("test.csv")), 0);
    set(&s, "seed", "2");
    run(&s, NULL, false, c, 0, &second);
    cr_expect_eq(gd_data_cache_reads(c), 1);
    cr_expect_eq(gd_data_cache_prepared_hits(c), 0);
    expect_same_outcome(&own, &second);
    gd_data_cache_free(c);
    gd_settings_free(&s);
}

/* Whether two files hold the same bytes. */
static bool same_file(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    bool same = f && g;
    for (int x = 0, y = 0; same && (x != EOF || y != EOF);) {
        x = fgetc(f), y = fgetc(g);
        same = x == y;
    }
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    return same;
}

static const char *make_dir(const char *name);

/* A study's trials: their own seeds, one split seed. After the first, each takes the
 * splits already cut and preprocessed, and ends as it does preparing its own, for every
 * kind of transform; its model file, which carries the transform's statistics for
 * predict, is byte for byte the one it writes preparing its own. */
Test(data_cache, trials_of_one_split_seed_share_one_preparation_bit_for_bit)
{
    static const char *const kinds[] = {"standardize", "none", "pca:3", "zca", "center"};
    gd_settings s;
    blob_settings(&s);
    set(&s, "split_seed", "7");
    static outcome own, cached;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        set(&s, "preprocess", kinds[k]);
        gd_data_cache *c = new_cache();
        for (int seed = 1; seed <= 3; seed++) {
            char text[32];
            snprintf(text, sizeof text, "%d", seed);
            set(&s, "seed", text);
            char own_dir[256], cached_dir[256], a[300], b[300];
            snprintf(text, sizeof text, "o%zu%d", k, seed);
            snprintf(own_dir, sizeof own_dir, "%s", make_dir(text));
            snprintf(text, sizeof text, "c%zu%d", k, seed);
            snprintf(cached_dir, sizeof cached_dir, "%s", make_dir(text));
            run(&s, own_dir, false, NULL, 0, &own);
            run(&s, cached_dir, false, c, 0, &cached);
            expect_same_outcome(&own, &cached);
            snprintf(a, sizeof a, "%s/model.safetensors", own_dir);
            snprintf(b, sizeof b, "%s/model.safetensors", cached_dir);
            cr_expect(same_file(a, b), "%s, seed %d: the model files differ", kinds[k], seed);
        }
        cr_expect_eq(gd_data_cache_prepared_hits(c), 2, "%s", kinds[k]);
        cr_expect_eq(gd_data_cache_reads(c), 1, "%s", kinds[k]);
        gd_data_cache_free(c);
    }
    gd_settings_free(&s);
}

/* Without a split seed of its own a run's preparation serves its seed alone: the cache
 * keeps none (copies that no other trial could take), even for the same seed again. */
Test(data_cache, without_a_split_seed_no_preparation_is_kept)
{
    gd_settings s;
    blob_settings(&s);
    static outcome o;
    gd_data_cache *c = new_cache();
    run(&s, NULL, false, c, 0, &o);
    run(&s, NULL, false, c, 0, &o);
    cr_expect_eq(gd_data_cache_prepared_hits(c), 0);
    cr_expect_eq(gd_data_cache_reads(c), 1);
    gd_data_cache_free(c);
    gd_settings_free(&s);
}

/* What decides the preparation, changed, prepares again (and still as without the cache). */
Test(data_cache, another_split_seed_limit_or_preprocessing_prepares_again)
{
    static const char *const changes[][2] = {
        {"split_seed", "8"}, {"limit", "90"}, {"preprocess", "center"}, {"preprocess_eps", "0.5"}};
    gd_settings s;
    blob_settings(&s);
    set(&s, "split_seed", "7");
    static outcome own, cached;
    gd_data_cache *c = new_cache();
    run(&s, NULL, false, c, 0, &cached);
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        set(&s, changes[i][0], changes[i][1]);
        run(&s, NULL, false, NULL, 0, &own);
        run(&s, NULL, false, c, 0, &cached);
        expect_same_outcome(&own, &cached);
    }
    cr_expect_eq(gd_data_cache_prepared_hits(c), 0);
    gd_data_cache_free(c);
    gd_settings_free(&s);
}

/* --csv-header decides what is read (the first row is no sample then): the cache reads
 * again, and keeps one entry only, so going back reads a third time. */
Test(data_cache, a_changed_read_setting_reads_again)
{
    gd_settings s;
    blob_settings(&s);
    static outcome o, own;
    gd_data_cache *c = new_cache();
    run(&s, NULL, false, c, 0, &o);
    set(&s, "csv_header", "true");
    run(&s, NULL, false, c, 0, &o);
    cr_expect_eq(gd_data_cache_reads(c), 2);
    run(&s, NULL, false, NULL, 0, &own);
    expect_same_outcome(&own, &o);
    set(&s, "csv_header", "false");
    run(&s, NULL, false, c, 0, &o);
    cr_expect_eq(gd_data_cache_reads(c), 3);
    gd_data_cache_free(c);
    gd_settings_free(&s);
}

/* The seed, --limit and --val-size decide the split, not the read: runs that differ in
 * them share one read, and each gets the split it gets reading its own files. */
Test(data_cache, seeds_limits_and_val_sizes_share_the_read_and_split_as_without_it)
{
    static const char *const cases[][3] = {
        {"1", "100", "30"}, {"2", "100", "30"}, {"3", "0", "20"}, {"2", "90", "0"}};
    gd_settings s;
    blob_settings(&s);
    static outcome own, cached;
    gd_data_cache *c = new_cache();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        set(&s, "seed", cases[i][0]);
        set(&s, "limit", cases[i][1]);
        set(&s, "val_size", cases[i][2]);
        run(&s, NULL, false, NULL, 0, &own);
        run(&s, NULL, false, c, 0, &cached);
        expect_same_outcome(&own, &cached);
    }
    cr_expect_eq(gd_data_cache_reads(c), 1);
    gd_data_cache_free(c);
    gd_settings_free(&s);
}

static const char *make_dir(const char *name)
{
    const char *path = scratch_path(name);
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s", path);
    return path;
}

/* One epoch, a stop, and a resume for the other two (as an ASHA promotion continues a
 * trial), once reading the files and once through one cache: the same bits. On resume
 * the preprocessing comes from the checkpoint and is applied to the lent split. */
Test(data_cache, a_resumed_run_through_the_cache_is_the_one_that_reads_its_files)
{
    gd_settings s;
    blob_settings(&s);
    char own_dir[256], cached_dir[256];
    snprintf(own_dir, sizeof own_dir, "%s", make_dir("own"));
    snprintf(cached_dir, sizeof cached_dir, "%s", make_dir("cached"));
    static outcome own, cached;
    gd_data_cache *c = new_cache();
    run(&s, own_dir, false, NULL, 1, &own);
    run(&s, own_dir, true, NULL, 0, &own);
    run(&s, cached_dir, false, c, 1, &cached);
    run(&s, cached_dir, true, c, 0, &cached);
    cr_expect_eq(cached.result.history_len, EPOCHS);
    expect_same_outcome(&own, &cached);
    cr_expect_eq(gd_data_cache_reads(c), 1);
    cr_expect_eq(gd_data_cache_prepared_hits(c), 0, "a resume prepares its own splits");
    gd_data_cache_free(c);
    gd_settings_free(&s);
}

/* A read that fails says what it says without the cache (the file, the flag), leaves
 * nothing kept, and the next run reads again. */
Test(data_cache, a_failed_read_gives_the_same_message_and_is_not_kept)
{
    gd_settings s;
    blob_settings(&s);
    cr_assert_eq(rename(scratch_path("train.csv"), scratch_path("moved.csv")), 0);
    gd_run *r = NULL;
    gd_error own, cached;
    cr_assert_neq(gd_run_create(&r, &s, NULL, &own), GD_OK);
    gd_data_cache *c = new_cache();
    cr_assert_neq(gd_run_create(&r, &s, &(gd_run_options){.data_cache = c}, &cached), GD_OK);
    cr_expect_null(r);
    cr_expect_str_eq(cached.message, own.message);
    cr_assert_eq(rename(scratch_path("moved.csv"), scratch_path("train.csv")), 0);
    static outcome o;
    run(&s, NULL, false, c, 0, &o);
    cr_expect_eq(gd_data_cache_reads(c), 2);
    gd_data_cache_free(c);
    gd_settings_free(&s);
}

Test(data_cache, free_accepts_null_and_new_refuses_no_out)
{
    gd_data_cache_free(NULL);
    cr_expect_eq(gd_data_cache_reads(NULL), 0);
    gd_error err;
    cr_expect_eq(gd_data_cache_new(NULL, &err), GD_ERR_INVALID_ARGUMENT);
}
