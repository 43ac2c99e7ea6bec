/* gd_data_splits: the training, validation and test sets of a run's settings, which
 * `gradus eval --split val` evaluates; they must be the very examples gd_run_create
 * trains and validates on (compared bit for bit, with preprocessing "none"). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradus.h"
#include "scratch.h"

TestSuite(evaluate_splits, .init = scratch_make, .fini = scratch_remove);

enum { ROWS = 60, TEST_ROWS = 7, FEATURES = 3 };

/* rows of "label,f1,f2,f3" whose every value differs, so that any other choice of
 * examples shows. */
static void write_csv(const char *path, int rows, int first)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    for (int i = first; i < first + rows; i++)
        fprintf(f, "%d,%d,%d.5,%d.25\n", i % 3, i, i, i);
    fclose(f);
}

static void set(gd_settings *s, const char *key, const char *text)
{
    gd_error err;
    cr_assert_eq(gd_settings_set(s, key, text, &err), GD_OK, "%s=%s: %s", key, text, err.message);
}

/* Settings over two CSV files in the scratch folder: limit 40, val_size 10, seed 5. */
static void csv_settings(gd_settings *s)
{
    char data[512];
    write_csv(scratch_path("train.csv"), ROWS, 0);
    write_csv(scratch_path("test.csv"), TEST_ROWS, 1000);
    snprintf(data, sizeof data, "csv:%s,%s", scratch_path("train.csv"), scratch_path("test.csv"));
    gd_settings_defaults(s);
    set(s, "data", data);
    set(s, "preprocess", "none");
    set(s, "model", "linear(3)");
    set(s, "limit", "40");
    set(s, "val_size", "10");
    set(s, "seed", "5");
    set(s, "batch_size", "4");
    set(s, "threads", "1");
}

static void expect_same_set(gd_dataset *a, gd_dataset *b, const char *what)
{
    cr_assert(a && b, "%s", what);
    cr_assert_eq(gd_dataset_size(a), gd_dataset_size(b), "%s", what);
    cr_assert_eq(gd_dataset_sample_size(a), gd_dataset_sample_size(b), "%s", what);
    int64_t n = gd_dataset_size(a);
    cr_expect_eq(memcmp(gd_dataset_features(a), gd_dataset_features(b),
                        (size_t)(n * gd_dataset_sample_size(a)) * sizeof(float)), 0, "%s", what);
    cr_expect_eq(memcmp(gd_dataset_labels(a), gd_dataset_labels(b), (size_t)n * sizeof(int32_t)),
                 0, "%s", what);
}

Test(evaluate_splits, are_the_splits_a_run_trains_validates_and_tests_on)
{
    gd_settings s;
    csv_settings(&s);
    gd_dataset *train, *val, *test;
    gd_error err;
    cr_assert_eq(gd_data_splits(&s, &train, &val, &test, &err), GD_OK, "%s", err.message);
    cr_expect_eq(gd_dataset_size(train), 30);
    cr_expect_eq(gd_dataset_size(val), 10);
    cr_expect_eq(gd_dataset_size(test), TEST_ROWS);
    gd_run *run;
    cr_assert_eq(gd_run_create(&run, &s, NULL, &err), GD_OK, "%s", err.message);
    expect_same_set(train, gd_run_dataset(run, "train"), "train");
    expect_same_set(val, gd_run_dataset(run, "val"), "val");
    expect_same_set(test, gd_run_dataset(run, "test"), "test");
    gd_run_free(run);
    gd_dataset_free(train);
    gd_dataset_free(val);
    gd_dataset_free(test);
    gd_settings_free(&s);
}

/* The validation examples are the first 40's, drawn by the seed: only rows 0 to 39
 * (feature 1 is the row number), and another seed draws others. */
Test(evaluate_splits, validation_comes_from_the_limit_and_the_seed)
{
    gd_settings s;
    csv_settings(&s);
    gd_dataset *val, *other;
    cr_assert_eq(gd_data_splits(&s, NULL, &val, NULL, NULL), GD_OK);
    const float *x = gd_dataset_features(val);
    for (int64_t i = 0; i < gd_dataset_size(val); i++)
        cr_expect_lt(x[i * FEATURES], 40.0f, "validation row %lld", (long long)i);
    set(&s, "seed", "6");
    cr_assert_eq(gd_data_splits(&s, NULL, &other, NULL, NULL), GD_OK);
    cr_assert_eq(gd_dataset_size(other), gd_dataset_size(val));
    cr_expect_neq(memcmp(gd_dataset_features(val), gd_dataset_features(other),
                         10 * FEATURES * sizeof(float)), 0);
    gd_dataset_free(val);
    gd_dataset_free(other);
    gd_settings_free(&s);
}

Test(evaluate_splits, no_val_size_gives_no_validation_set)
{
    gd_settings s;
    csv_settings(&s);
    set(&s, "val_size", "0");
    gd_dataset *train, *val = (gd_dataset *)1;
    cr_assert_eq(gd_data_splits(&s, &train, &val, NULL, NULL), GD_OK);
    cr_expect_null(val);
    cr_expect_eq(gd_dataset_size(train), 40);
    gd_dataset_free(train);
    gd_settings_free(&s);
}

Test(evaluate_splits, a_val_size_that_leaves_nothing_names_both_flags)
{
    gd_settings s;
    csv_settings(&s);
    set(&s, "val_size", "40");
    gd_dataset *train = (gd_dataset *)1, *val = (gd_dataset *)1;
    gd_error err;
    cr_expect_eq(gd_data_splits(&s, &train, &val, NULL, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "--val-size 40 leaves no training examples of the 40 that "
                                  "--limit keeps"), "%s", err.message);
    cr_expect_null(train);
    cr_expect_null(val);
    gd_settings_free(&s);
}

/* Only the test set wanted: the training file is never opened (here it is missing). */
Test(evaluate_splits, the_test_set_alone_does_not_read_the_training_file)
{
    gd_settings s;
    csv_settings(&s);
    char data[512];
    snprintf(data, sizeof data, "csv:%s,%s", scratch_path("missing.csv"), scratch_path("test.csv"));
    set(&s, "data", data);
    gd_dataset *test;
    gd_error err;
    cr_expect_eq(gd_data_splits(&s, NULL, NULL, &test, &err), GD_OK, "%s", err.message);
    cr_expect_eq(gd_dataset_size(test), TEST_ROWS);
    gd_dataset_free(test);
    gd_dataset *val;
    cr_expect_eq(gd_data_splits(&s, NULL, &val, NULL, &err), GD_ERR_IO);
    cr_expect(strstr(err.message, "missing.csv"), "%s", err.message);
    gd_settings_free(&s);
}

/* The validation set of settings s (caller frees). */
static gd_dataset *val_of(const gd_settings *s)
{
    gd_dataset *val = NULL;
    gd_error err;
    cr_assert_eq(gd_data_splits(s, NULL, &val, NULL, &err), GD_OK, "%s", err.message);
    return val;
}

static bool same_examples(gd_dataset *a, gd_dataset *b)
{
    int64_t n = gd_dataset_size(a);
    return n == gd_dataset_size(b) &&
           memcmp(gd_dataset_features(a), gd_dataset_features(b),
                  (size_t)(n * gd_dataset_sample_size(a)) * sizeof(float)) == 0;
}

/* A search's trials have their own seeds but one --split-seed: one validation set. */
Test(evaluate_splits, split_seed_gives_runs_of_other_seeds_one_validation_set)
{
    gd_settings s;
    csv_settings(&s);
    set(&s, "split_seed", "99");
    gd_dataset *a = val_of(&s);
    set(&s, "seed", "6");
    gd_dataset *b = val_of(&s);
    cr_expect(same_examples(a, b), "seeds 5 and 6 with split_seed 99 must validate alike");
    set(&s, "split_seed", "100");
    gd_dataset *c = val_of(&s);
    cr_expect(!same_examples(b, c), "split_seed 100 must draw another validation set");
    gd_dataset_free(a), gd_dataset_free(b), gd_dataset_free(c);
    gd_settings_free(&s);
}

/* split_seed 0 (the default) leaves the split to --seed, as before the setting existed. */
Test(evaluate_splits, split_seed_zero_leaves_the_split_to_the_seed)
{
    gd_settings s;
    csv_settings(&s);
    gd_dataset *by_seed = val_of(&s);
    set(&s, "split_seed", "5");
    gd_dataset *by_split_seed = val_of(&s);
    cr_expect(same_examples(by_seed, by_split_seed), "split_seed 0 must mean --seed's split");
    set(&s, "split_seed", "0");
    set(&s, "seed", "6");
    gd_dataset *other = val_of(&s);
    cr_expect(!same_examples(by_seed, other), "with split_seed 0 another seed splits otherwise");
    gd_dataset_free(by_seed), gd_dataset_free(by_split_seed), gd_dataset_free(other);
    gd_settings_free(&s);
}
