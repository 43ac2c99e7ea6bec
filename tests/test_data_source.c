/* gd_data_load, the one place that turns a --data source (and --csv-shape) into data
 * sets: CIFAR-10's folder, flat or as its archive unpacks, with a missing file named; CSV
 * samples given an image shape; every refusal naming its flag. Pixels are compared
 * exactly: x / 255 in float32 is the reader's documented value. */
#include "scratch.h"

#include <criterion/criterion.h>
#include <gradus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TestSuite(data_source, .init = scratch_make, .fini = scratch_remove);

#define RECORD 3073

static void expect_message(const gd_error *err, const char *fragment)
{
    cr_expect_not_null(strstr(err->message, fragment), "message \"%s\" lacks \"%s\"",
                       err->message, fragment);
}

/* count records of label (first + i) mod 10, pixel j of record i = (first + i + j) mod
 * 256, into dir/name. */
static void write_batch(const char *dir, const char *name, int count, int first)
{
    unsigned char *b = malloc((size_t)count * RECORD);
    for (int i = 0; i < count; i++) {
        b[i * RECORD] = (unsigned char)((first + i) % 10);
        for (int j = 0; j < 3072; j++)
            b[i * RECORD + 1 + j] = (unsigned char)((first + i + j) % 256);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    scratch_write(path, b, (size_t)count * RECORD);
    free(b);
}

/* The six files, 2 records each, test_batch.bin's starting at label 7. */
static void write_cifar_folder(const char *dir)
{
    char name[32];
    for (int k = 1; k <= 5; k++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", k);
        write_batch(dir, name, 2, 2 * (k - 1));
    }
    write_batch(dir, "test_batch.bin", 2, 7);
}

static void expect_cifar_sets(const char *source)
{
    gd_dataset *train, *test;
    gd_error err;
    cr_assert_eq(gd_data_load(source, NULL, &train, &test, &err), GD_OK, "%s", err.message);
    cr_expect_eq(gd_dataset_size(train), 10);
    cr_expect_eq(gd_dataset_size(test), 2);
    int64_t dims[GD_MAX_DIMS];
    cr_assert_eq(gd_dataset_sample_shape(train, dims), 3);
    cr_expect(dims[0] == 3 && dims[1] == 32 && dims[2] == 32);
    /* The batches in order 1 to 5: sample i has label i mod 10 and pixel j (i + j) mod 256. */
    const float *x = gd_dataset_features(train);
    for (int i = 0; i < 10; i++) {
        cr_expect_eq(gd_dataset_labels(train)[i], i % 10);
        cr_expect_eq(x[i * 3072 + 5], (float)((i + 5) % 256) / 255.0f, "sample %d", i);
    }
    cr_expect_eq(gd_dataset_labels(test)[0], 7);
    cr_expect_eq(gd_dataset_labels(test)[1], 8);
    gd_dataset_free(train);
    gd_dataset_free(test);
}

Test(data_source, cifar10_reads_the_five_training_batches_and_the_test_batch)
{
    write_cifar_folder(scratch_dir());
    char source[256];
    snprintf(source, sizeof source, "cifar10:%s", scratch_dir());
    expect_cifar_sets(source);
}

Test(data_source, cifar10_finds_the_folder_the_archive_unpacks)
{
    char nested[256], source[256];
    snprintf(nested, sizeof nested, "%s/cifar-10-batches-bin", scratch_dir());
    cr_assert_eq(mkdir(nested, 0755), 0);
    write_cifar_folder(nested);
    snprintf(source, sizeof source, "cifar10:%s", scratch_dir());
    expect_cifar_sets(source);
}

Test(data_source, cifar10_names_the_missing_file_and_what_the_folder_must_hold)
{
    write_cifar_folder(scratch_dir());
    const char *gone = scratch_path("data_batch_3.bin");
    cr_assert_eq(remove(gone), 0);
    char source[256];
    snprintf(source, sizeof source, "cifar10:%s", scratch_dir());
    gd_dataset *train = (gd_dataset *)1, *test = (gd_dataset *)1;
    gd_error err;
    cr_assert_eq(gd_data_load(source, NULL, &train, &test, &err), GD_ERR_IO);
    cr_expect_null(train);
    cr_expect_null(test);
    expect_message(&err, "--data cifar10:DIR");
    expect_message(&err, gone);
    expect_message(&err, "data_batch_1.bin to data_batch_5.bin and test_batch.bin");
}

Test(data_source, cifar10_names_a_missing_test_batch)
{
    write_cifar_folder(scratch_dir());
    const char *gone = scratch_path("test_batch.bin");
    cr_assert_eq(remove(gone), 0);
    char source[256];
    snprintf(source, sizeof source, "cifar10:%s", scratch_dir());
    gd_dataset *train, *test;
    gd_error err;
    cr_assert_eq(gd_data_load(source, NULL, &train, &test, &err), GD_ERR_IO);
    expect_message(&err, gone);
}

Test(data_source, cifar10_refuses_a_folder_that_does_not_exist)
{
    gd_dataset *train;
    gd_error err;
    /* Not there: it cannot be read, an I/O failure (the command's exit 1). */
    cr_assert_eq(gd_data_load("cifar10:/no/such/folder", NULL, &train, NULL, &err), GD_ERR_IO);
    expect_message(&err, "--data cifar10:/no/such/folder: no such folder");
}

/* rows rows of label i mod 3 and 12 features i + j. */
static const char *write_csv(const char *name, int rows)
{
    const char *path = scratch_path(name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < rows; i++) {
        fprintf(f, "%d", i % 3);
        for (int j = 0; j < 12; j++)
            fprintf(f, ",%d", i + j);
        fputc('\n', f);
    }
    cr_assert_eq(fclose(f), 0);
    return path;
}

static void csv_source(char *buf, size_t len)
{
    char train[256];
    snprintf(train, sizeof train, "%s", write_csv("train.csv", 4));
    snprintf(buf, len, "csv:%s,%s", train, write_csv("test.csv", 2));
}

static void expect_shape(const gd_dataset *ds, int64_t c, int64_t h, int64_t w)
{
    int64_t dims[GD_MAX_DIMS];
    cr_assert_eq(gd_dataset_sample_shape(ds, dims), 3);
    cr_expect(dims[0] == c && dims[1] == h && dims[2] == w, "%lldx%lldx%lld",
              (long long)dims[0], (long long)dims[1], (long long)dims[2]);
}

Test(data_source, csv_shape_gives_both_sets_the_image_shape)
{
    char source[600];
    csv_source(source, sizeof source);
    gd_data_options opt = {.label_column = 0, .csv_shape = "3x2x2"};
    gd_dataset *train, *test;
    gd_error err;
    cr_assert_eq(gd_data_load(source, &opt, &train, &test, &err), GD_OK, "%s", err.message);
    expect_shape(train, 3, 2, 2);
    expect_shape(test, 3, 2, 2);
    cr_expect_eq(gd_dataset_features(train)[12 + 5], 1.0f + 5.0f); /* row 1, feature 5 */
    gd_dataset_free(train);
    gd_dataset_free(test);
}

Test(data_source, csv_shape_of_two_numbers_is_a_grey_image)
{
    char source[600];
    csv_source(source, sizeof source);
    gd_data_options opt = {.label_column = 0, .csv_shape = "3x4"};
    gd_dataset *train;
    gd_error err;
    cr_assert_eq(gd_data_load(source, &opt, &train, NULL, &err), GD_OK, "%s", err.message);
    expect_shape(train, 1, 3, 4);
    gd_dataset_free(train);
}

Test(data_source, csv_shape_empty_keeps_the_rows_flat)
{
    char source[600];
    csv_source(source, sizeof source);
    gd_data_options opt = {.label_column = 0, .csv_shape = ""};
    gd_dataset *train;
    gd_error err;
    cr_assert_eq(gd_data_load(source, &opt, &train, NULL, &err), GD_OK, "%s", err.message);
    int64_t dims[GD_MAX_DIMS];
    cr_expect_eq(gd_dataset_sample_shape(train, dims), 1);
    gd_dataset_free(train);
}

static void expect_csv_shape_refused(const char *shape, gd_status status, const char *fragment)
{
    char source[600];
    csv_source(source, sizeof source);
    gd_data_options opt = {.label_column = 0, .csv_shape = shape};
    gd_dataset *train = (gd_dataset *)1, *test = (gd_dataset *)1;
    gd_error err;
    cr_expect_eq(gd_data_load(source, &opt, &train, &test, &err), status, "%s", shape);
    cr_expect_null(train);
    cr_expect_null(test);
    char flag[96];
    snprintf(flag, sizeof flag, "--csv-shape %s: ", shape);
    expect_message(&err, flag);
    expect_message(&err, fragment);
}

Test(data_source, csv_shape_of_another_size_is_refused_naming_both_sizes)
{
    expect_csv_shape_refused("1x28x28", GD_ERR_SHAPE,
                             "784 values a sample, but the CSV rows hold 12 features");
    expect_csv_shape_refused("1x28", GD_ERR_SHAPE, "28 values a sample");
}

Test(data_source, csv_shape_refuses_malformed_text)
{
    expect_csv_shape_refused("0x28x28", GD_ERR_INVALID_ARGUMENT, "positive whole numbers");
    expect_csv_shape_refused("axb", GD_ERR_INVALID_ARGUMENT, "positive whole numbers");
    expect_csv_shape_refused("99999999999999999999x1x1", GD_ERR_INVALID_ARGUMENT,
                             "more values a sample than fit");
    expect_csv_shape_refused("65536x65536x65536x2", GD_ERR_INVALID_ARGUMENT, "at most 3");
}

Test(data_source, csv_shape_refuses_one_number_as_not_an_image)
{
    expect_csv_shape_refused("12", GD_ERR_INVALID_ARGUMENT, "expected CxHxW or HxW");
}

Test(data_source, csv_shape_is_refused_for_a_source_that_is_not_csv)
{
    gd_data_options opt = {.csv_shape = "1x28x28"};
    gd_dataset *train;
    gd_error err;
    cr_assert_eq(gd_data_load("fashion-mnist", &opt, &train, NULL, &err),
                 GD_ERR_INVALID_ARGUMENT);
    expect_message(&err, "--csv-shape 1x28x28: only for --data csv:");
}
