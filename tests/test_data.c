/* Data set readers (IDX plain and gzipped, CSV, CIFAR-10), every documented rejection with
 * its message, gd_dataset_create's copies and checks, head, split, and
 * gd_dataset_replace_features (the preprocessing's private hook). Each test writes its
 * small files into its own scratch folder (scratch.h), removed even when the test fails.
 * Pixels are compared exactly: x / 255 in float32 is the documented value (as
 * torchvision's ToTensor), so there is no tolerance to state. */
#include "../src/data/data.h"
#include "alloc_watch.h"
#include "scratch.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <gradus.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

TestSuite(data, .init = scratch_make, .fini = scratch_remove);

static void write_file(const char *path, const void *data, size_t len, bool gz)
{
    if (!gz) {
        scratch_write(path, data, len);
        return;
    }
    gzFile g = gzopen(path, "wb");
    cr_assert_not_null(g);
    cr_assert_eq(gzwrite(g, data, (unsigned)len), (int)len);
    cr_assert_eq(gzclose(g), Z_OK);
}

static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text), false);
}

static void put_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24), b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8), b[3] = (unsigned char)v;
}

/* An IDX file: magic 00 00 type ndim, the dimensions, then body as given (whatever its
 * length, so that tests can truncate or pad it). */
static const char *write_idx(const char *name, bool gz, int type, int ndim,
                             const uint32_t *dims, const void *body, size_t body_len)
{
    size_t head = 4 + 4 * (size_t)ndim;
    unsigned char *b = malloc(head + body_len + 1);
    b[0] = b[1] = 0, b[2] = (unsigned char)type, b[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        put_be32(b + 4 + 4 * i, dims[i]);
    memcpy(b + head, body, body_len);
    const char *path = scratch_path(name);
    write_file(path, b, head + body_len, gz);
    free(b);
    return path;
}

/* Three 2 x 4 uint8 images whose pixels run over 0..255, and their labels 2, 0, 1. */
#define N_IMG 3
static unsigned char pixels[N_IMG * 8];
static const unsigned char labels3[N_IMG] = {2, 0, 1};

static const char *write_images(const char *name, bool gz)
{
    for (int i = 0; i < N_IMG * 8; i++)
        pixels[i] = (unsigned char)(i * 11 % 256);
    pixels[5] = 255;
    return write_idx(name, gz, 0x08, 3, (uint32_t[]){N_IMG, 2, 4}, pixels, sizeof pixels);
}

static const char *write_labels(const char *name, bool gz)
{
    return write_idx(name, gz, 0x08, 1, (uint32_t[]){N_IMG}, labels3, N_IMG);
}

/* n labels, all 0, for the larger image files below. */
static const char *write_zero_labels(const char *name, uint32_t n)
{
    static const unsigned char zeros[16];
    return write_idx(name, false, 0x08, 1, &n, zeros, n);
}

static void expect_message(const gd_error *err, const char *fragment)
{
    cr_expect_not_null(strstr(err->message, fragment), "message \"%s\" lacks \"%s\"",
                       err->message, fragment);
}

/* Reads images and labels, expecting failure with status, and the message naming the
 * file and the fragment. */
static void expect_idx_error(const char *images, const char *labels, gd_status status,
                             const char *file, const char *fragment)
{
    gd_dataset *ds = (gd_dataset *)1;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx(&ds, images, labels, &err), status, "%s", err.message);
    cr_expect_null(ds);
    expect_message(&err, file);
    expect_message(&err, fragment);
}

static void expect_small_set(gd_dataset *ds)
{
    int64_t dims[GD_MAX_DIMS];
    cr_assert_eq(gd_dataset_size(ds), N_IMG);
    cr_assert_eq(gd_dataset_sample_shape(ds, dims), 3);
    cr_expect(dims[0] == 1 && dims[1] == 2 && dims[2] == 4, "shape %lldx%lldx%lld",
              (long long)dims[0], (long long)dims[1], (long long)dims[2]);
    cr_expect_eq(gd_dataset_sample_size(ds), 8);
    cr_expect_eq(gd_dataset_num_classes(ds), 3);
    const float *x = gd_dataset_features(ds);
    for (int i = 0; i < N_IMG * 8; i++)
        cr_expect_eq(x[i], (float)pixels[i] / 255.0f, "pixel %d", i);
    cr_expect_eq(x[5], 1.0f);
    for (int i = 0; i < N_IMG; i++)
        cr_expect_eq(gd_dataset_labels(ds)[i], labels3[i]);
}

/* ---------------------------------------------------------------- IDX */

Test(data, idx_reads_images_as_1xHxW_scaled_to_the_unit_interval)
{
    const char *images = write_images("img", false), *labels = write_labels("lab", false);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx(&ds, images, labels, &err), GD_OK, "%s", err.message);
    expect_small_set(ds);
    gd_dataset_free(ds);
}

/* uint8 images stay bytes in memory until floats are needed; the loader's batches carry
 * the same values, p / 255 exactly, as the features array, and head/split keep the bytes. */
Test(data, idx_pixels_reach_the_loader_as_the_same_floats)
{
    gd_dataset *ds, *head;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx(&ds, write_images("i", false), write_labels("l", false), &err), GD_OK,
                 "%s", err.message);
    cr_assert_eq(gd_dataset_head(ds, 2, &head, &err), GD_OK);
    gd_loader *l;
    cr_assert_eq(gd_loader_create(&l, head, 2, false, false, 0, &err), GD_OK);
    gd_tensor x;
    const int32_t *y;
    cr_assert(gd_loader_next(l, &x, &y));
    for (int i = 0; i < 16; i++)
        cr_expect_eq(x.data[i], (float)pixels[i] / 255.0f, "pixel %d", i);
    const float *f = gd_dataset_features(head);
    cr_expect_eq(memcmp(f, x.data, 16 * sizeof(float)), 0);
    gd_loader_free(l);
    gd_dataset_free(head);
    gd_dataset_free(ds);
}

Test(data, idx_reads_gzipped_files_as_plain_ones)
{
    const char *images = write_images("img.gz", true), *labels = write_labels("lab.gz", true);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx(&ds, images, labels, &err), GD_OK, "%s", err.message);
    expect_small_set(ds);
    gd_dataset_free(ds);
}

Test(data, idx_without_a_labels_file_labels_every_image_0)
{
    const char *images = write_images("img", false);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx(&ds, images, NULL, &err), GD_OK, "%s", err.message);
    cr_assert_eq(gd_dataset_size(ds), N_IMG);
    for (int i = 0; i < N_IMG; i++)
        cr_expect_eq(gd_dataset_labels(ds)[i], 0);
    cr_expect_eq(gd_dataset_num_classes(ds), 1);
    gd_dataset_free(ds);
}

Test(data, idx_keeps_float32_pixels_as_they_are)
{
    const float values[6] = {-1.5f, 0.0f, 3.25f, 1e-3f, 255.0f, -7e20f};
    unsigned char body[24];
    for (int i = 0; i < 6; i++) {
        uint32_t bits;
        memcpy(&bits, &values[i], 4);
        put_be32(body + 4 * i, bits);
    }
    const char *images = write_idx("img", false, 0x0D, 3, (uint32_t[]){2, 1, 3}, body, 24);
    const char *labels = write_idx("lab", false, 0x08, 1, (uint32_t[]){2}, "\1\0", 2);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx(&ds, images, labels, &err), GD_OK, "%s", err.message);
    cr_expect_arr_eq(gd_dataset_features(ds), values, sizeof values);
    gd_dataset_free(ds);
}

Test(data, idx_rejects_non_finite_float32_pixels)
{
    unsigned char body[24] = {0};
    put_be32(body + 4 * 5, 0x7fc00000u); /* NaN: image 1, pixel 2 */
    const char *images = write_idx("img", false, 0x0D, 3, (uint32_t[]){2, 1, 3}, body, 24);
    const char *labels = write_idx("lab", false, 0x08, 1, (uint32_t[]){2}, "\1\0", 2);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images, "image 1, pixel 2 is not finite");
}

Test(data, idx_rejects_a_wrong_magic_number)
{
    const char *images = scratch_path("img");
    write_text(images, "GIF89a, not an IDX file");
    const char *labels = write_labels("lab", false);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images,
                     "not an IDX image file: magic number 0x47494638, expected 0x00000803");
}

Test(data, idx_rejects_a_label_file_given_as_images)
{
    const char *labels = write_labels("lab", false);
    expect_idx_error(labels, labels, GD_ERR_FORMAT, labels,
                     "magic number 0x00000801 declares 1 dimensions, IDX images have 3");
}

Test(data, idx_rejects_float32_labels)
{
    const char *images = write_images("img", false);
    const char *labels = write_idx("lab", false, 0x0D, 1, (uint32_t[]){N_IMG}, "", 0);
    expect_idx_error(images, labels, GD_ERR_FORMAT, labels, "not an IDX label file");
}

Test(data, idx_rejects_a_wrong_number_of_dimensions)
{
    const char *images = write_idx("img", false, 0x08, 2, (uint32_t[]){3, 8}, pixels, 24);
    const char *labels = write_labels("lab", false);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images,
                     "magic number 0x00000802 declares 2 dimensions");
}

Test(data, idx_rejects_a_zero_dimension)
{
    const char *images = write_idx("img", false, 0x08, 3, (uint32_t[]){3, 0, 4}, "", 0);
    const char *labels = write_labels("lab", false);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images, "dimension 1 is 0");
}

Test(data, idx_rejects_dimensions_whose_product_overflows)
{
    uint32_t big = 0xFFFFFFFFu;
    const char *images = write_idx("img", false, 0x08, 3, (uint32_t[]){big, big, big}, "", 0);
    const char *labels = write_labels("lab", false);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images,
                     "dimensions 4294967295 x 4294967295 x 4294967295 overflow");
}

Test(data, idx_rejects_a_header_larger_than_the_plain_file)
{
    static unsigned char body[1000];
    const char *images =
        write_idx("img", false, 0x08, 3, (uint32_t[]){60000, 28, 28}, body, sizeof body);
    const char *labels = write_labels("lab", false);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images,
                     "truncated: expected 47040000 bytes of pixels, found 1000");
}

Test(data, idx_rejects_a_header_larger_than_a_gzip_file_can_hold)
{
    static unsigned char body[1000];
    const char *images =
        write_idx("img.gz", true, 0x08, 3, (uint32_t[]){60000, 28, 28}, body, sizeof body);
    const char *labels = write_labels("lab", false);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images,
                     "header declares 47040000 bytes of pixels, more than a");
}

/* Random bytes barely compress, so the 1032:1 bound cannot reject this header up front:
 * only reading finds the shortfall. */
static void random_bytes(unsigned char *b, size_t n)
{
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        b[i] = (unsigned char)(s >> 24);
    }
}

Test(data, idx_reports_where_gzipped_pixels_end)
{
    unsigned char body[600];
    random_bytes(body, sizeof body);
    const char *images =
        write_idx("img.gz", true, 0x08, 3, (uint32_t[]){10, 10, 10}, body, sizeof body);
    const char *labels = write_zero_labels("lab", 10);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images,
                     "truncated: expected 1000 bytes of pixels, found 600");
}

Test(data, idx_rejects_truncated_labels)
{
    const char *images = write_images("img", false);
    const char *labels = write_idx("lab", false, 0x08, 1, (uint32_t[]){N_IMG}, labels3, 2);
    expect_idx_error(images, labels, GD_ERR_FORMAT, labels,
                     "truncated: expected 3 bytes of labels, found 2");
}

Test(data, idx_rejects_a_truncated_header)
{
    const char *images = scratch_path("img");
    write_file(images, "\0\0\x08\x03\0\0", 6, false);
    const char *labels = write_labels("lab", false);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images,
                     "truncated: expected 12 bytes of dimensions, found 2");
}

/* A gzip file cut in the middle of its deflate stream. */
Test(data, idx_rejects_a_cut_gzip_stream)
{
    unsigned char body[4000];
    random_bytes(body, sizeof body);
    const char *images =
        write_idx("img.gz", true, 0x08, 3, (uint32_t[]){10, 20, 20}, body, sizeof body);
    cr_assert_eq(truncate(images, 2000), 0);
    const char *labels = write_zero_labels("lab", 10);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images,
                     "truncated: expected 4000 bytes of pixels, found");
}

/* All the data, but not the gzip trailer (CRC-32 and length, 8 bytes) that vouches for it. */
Test(data, idx_rejects_a_gzip_file_without_its_trailer)
{
    unsigned char body[4000];
    random_bytes(body, sizeof body);
    const char *images =
        write_idx("img.gz", true, 0x08, 3, (uint32_t[]){10, 20, 20}, body, sizeof body);
    FILE *f = fopen(images, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    cr_assert_eq(truncate(images, size - 8), 0);
    const char *labels = write_zero_labels("lab", 10);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images, "gzip stream cut short");
}

Test(data, idx_rejects_a_gzip_file_whose_checksum_fails)
{
    unsigned char body[4000];
    random_bytes(body, sizeof body);
    const char *images =
        write_idx("img.gz", true, 0x08, 3, (uint32_t[]){10, 20, 20}, body, sizeof body);
    FILE *f = fopen(images, "r+b");
    cr_assert_eq(fseek(f, -8, SEEK_END), 0); /* the CRC-32 */
    int c = fgetc(f);
    fseek(f, -8, SEEK_END);
    fputc(c ^ 0xff, f);
    fclose(f);
    const char *labels = write_zero_labels("lab", 10);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images, "corrupt gzip data");
}

Test(data, idx_rejects_trailing_data)
{
    unsigned char body[sizeof pixels + 5] = {0};
    const char *images = write_idx("img", false, 0x08, 3, (uint32_t[]){N_IMG, 2, 4}, body,
                                   sizeof body);
    const char *labels = write_labels("lab", false);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images,
                     "trailing data after the 24 bytes of pixels");
}

Test(data, idx_rejects_trailing_data_inside_a_gzip_file)
{
    const char *images = write_images("img", false);
    const char *labels = write_idx("lab.gz", true, 0x08, 1, (uint32_t[]){N_IMG}, "\1\2\0\7", 4);
    expect_idx_error(images, labels, GD_ERR_FORMAT, labels,
                     "trailing data after the 3 bytes of labels");
}

Test(data, idx_rejects_image_and_label_counts_that_differ)
{
    const char *images = write_images("img", false);
    const char *labels = write_idx("lab", false, 0x08, 1, (uint32_t[]){2}, labels3, 2);
    expect_idx_error(images, labels, GD_ERR_FORMAT, images, "has 3 images but");
    expect_idx_error(images, labels, GD_ERR_FORMAT, labels, "has 2 labels");
}

Test(data, idx_reports_a_missing_file_with_the_system_reason)
{
    const char *images = scratch_path("absent"), *labels = write_labels("lab", false);
    expect_idx_error(images, labels, GD_ERR_IO, images, strerror(ENOENT));
}

Test(data, idx_labels_set_the_number_of_classes_to_the_largest_plus_one)
{
    const char *images = write_images("img", false);
    const char *labels = write_idx("lab", false, 0x08, 1, (uint32_t[]){N_IMG}, "\0\x07\3", 3);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx(&ds, images, labels, &err), GD_OK, "%s", err.message);
    cr_expect_eq(gd_dataset_num_classes(ds), 8);
    gd_dataset_free(ds);
}

Test(data, idx_dir_finds_plain_and_gzipped_files)
{
    write_images("train-images-idx3-ubyte", false);
    write_labels("train-labels-idx1-ubyte.gz", true);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx_dir(&ds, scratch_dir(), true, &err), GD_OK, "%s",
                 err.message);
    expect_small_set(ds);
    gd_dataset_free(ds);
}

Test(data, idx_dir_names_the_file_it_could_not_find)
{
    write_images("train-images-idx3-ubyte", false);
    write_labels("train-labels-idx1-ubyte", false);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx_dir(&ds, scratch_dir(), false, &err), GD_ERR_IO);
    cr_expect_null(ds);
    expect_message(&err, scratch_dir());
    expect_message(&err, "t10k-images-idx3-ubyte.gz");
    expect_message(&err, strerror(ENOENT));
}

/* Debian's dataset-fashion-mnist; its first labels (9 ankle boot, 0 T-shirt, ...) are
 * those of the published files. */
Test(data, fashion_mnist_loads_from_its_debian_folder)
{
    if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
        cr_skip_test("dataset-fashion-mnist is not installed");
    static const int32_t train_first[12] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9};
    static const int32_t test_first[12] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5};
    gd_dataset *train, *test;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx_dir(&train, FASHION_DIR, true, &err), GD_OK, "%s",
                 err.message);
    cr_assert_eq(gd_dataset_read_idx_dir(&test, FASHION_DIR, false, &err), GD_OK, "%s",
                 err.message);
    cr_expect_eq(gd_dataset_size(train), 60000);
    cr_expect_eq(gd_dataset_size(test), 10000);
    cr_expect_eq(gd_dataset_sample_size(train), 784);
    cr_expect_eq(gd_dataset_num_classes(train), 10);
    cr_expect_eq(gd_dataset_num_classes(test), 10);
    cr_expect_arr_eq(gd_dataset_labels(train), train_first, sizeof train_first);
    cr_expect_arr_eq(gd_dataset_labels(test), test_first, sizeof test_first);
    gd_dataset_free(train);
    gd_dataset_free(test);
}

/* ---------------------------------------------------------------- CSV */

static void expect_csv_error(const char *text, int label_column, bool header,
                             gd_status status, const char *where, const char *fragment)
{
    const char *path = scratch_path("d.csv");
    write_text(path, text);
    gd_dataset *ds = (gd_dataset *)1;
    gd_error err;
    cr_assert_eq(gd_dataset_read_csv(&ds, path, label_column, header, &err), status, "%s",
                 err.message);
    cr_expect_null(ds);
    char located[300];
    snprintf(located, sizeof located, "%s%s", path, where);
    expect_message(&err, located);
    expect_message(&err, fragment);
}

Test(data, csv_reads_features_and_a_middle_label_column)
{
    const char *path = scratch_path("d.csv");
    write_text(path, "a,label,b\n1.5,2,-3\n 4 ,0,5e-1\n7,1,8\n");
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_csv(&ds, path, 1, true, &err), GD_OK, "%s", err.message);
    int64_t dims[GD_MAX_DIMS];
    cr_assert_eq(gd_dataset_size(ds), 3);
    cr_assert_eq(gd_dataset_sample_shape(ds, dims), 1);
    cr_expect_eq(dims[0], 2);
    cr_expect_eq(gd_dataset_num_classes(ds), 3);
    const float x[6] = {1.5f, -3, 4, 0.5f, 7, 8};
    const int32_t y[3] = {2, 0, 1};
    cr_expect_arr_eq(gd_dataset_features(ds), x, sizeof x);
    cr_expect_arr_eq(gd_dataset_labels(ds), y, sizeof y);
    gd_dataset_free(ds);
}

Test(data, csv_without_a_label_column_labels_everything_0)
{
    const char *path = scratch_path("d.csv");
    write_text(path, "1,2\r\n3,4\r\n\r\n\n");
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_csv(&ds, path, -1, false, &err), GD_OK, "%s", err.message);
    const float x[4] = {1, 2, 3, 4};
    cr_assert_eq(gd_dataset_size(ds), 2);
    cr_expect_arr_eq(gd_dataset_features(ds), x, sizeof x);
    cr_expect_eq(gd_dataset_labels(ds)[0], 0);
    cr_expect_eq(gd_dataset_labels(ds)[1], 0);
    cr_expect_eq(gd_dataset_num_classes(ds), 1);
    gd_dataset_free(ds);
}

Test(data, csv_rejects_a_row_with_fewer_columns)
{
    expect_csv_error("1,2,3\n4,5,6\n7,8\n", 0, false, GD_ERR_FORMAT, ":3:3:",
                     "the row has 2 columns, the first has 3");
}

Test(data, csv_rejects_a_row_with_more_columns)
{
    expect_csv_error("h1,h2\n1,2\n3,4,5\n", 0, true, GD_ERR_FORMAT, ":3:3:",
                     "the row has 3 columns, the first has 2");
}

Test(data, csv_rejects_an_empty_cell)
{
    expect_csv_error("1,2,3\n4, ,6\n", 0, false, GD_ERR_FORMAT, ":2:2:", "empty cell");
}

Test(data, csv_rejects_a_cell_that_is_not_a_number)
{
    expect_csv_error("1,2,3\n4,5,abc\n", 0, false, GD_ERR_FORMAT, ":2:3:",
                     "\"abc\" is not a number");
}

Test(data, csv_rejects_a_number_followed_by_text)
{
    expect_csv_error("1,2.5x\n", -1, false, GD_ERR_FORMAT, ":1:2:", "\"2.5x\" is not a number");
}

Test(data, csv_rejects_nan)
{
    expect_csv_error("1,2\n3,nan\n", -1, false, GD_ERR_FORMAT, ":2:2:",
                     "\"nan\" is not a finite number");
}

Test(data, csv_rejects_infinity_and_overflow)
{
    expect_csv_error("1,-inf\n", -1, false, GD_ERR_FORMAT, ":1:2:",
                     "\"-inf\" is not a finite number");
    expect_csv_error("1e39,0\n", -1, false, GD_ERR_FORMAT, ":1:1:",
                     "\"1e39\" is not a finite number");
}

Test(data, csv_rejects_a_fractional_label)
{
    expect_csv_error("1,2\n2.5,3\n", 0, false, GD_ERR_FORMAT, ":2:1:",
                     "label \"2.5\" is not a non-negative integer");
}

Test(data, csv_rejects_a_negative_label)
{
    expect_csv_error("1,2\n3,-1\n", 1, false, GD_ERR_FORMAT, ":2:2:",
                     "label \"-1\" is not a non-negative integer");
}

Test(data, csv_rejects_a_label_beyond_255)
{
    expect_csv_error("256,1\n", 0, false, GD_ERR_FORMAT, ":1:1:", "label 256 exceeds 255");
}

Test(data, csv_rejects_a_blank_line_inside_the_data)
{
    expect_csv_error("1,2\n\n3,4\n", -1, false, GD_ERR_FORMAT, ":2:1:",
                     "blank line inside the data");
}

Test(data, csv_rejects_a_label_column_beyond_the_row)
{
    expect_csv_error("1,2\n", 2, false, GD_ERR_INVALID_ARGUMENT, ":1:",
                     "label column 2 (0-based) is out of range: the row has 2 columns");
}

Test(data, csv_rejects_a_file_without_rows)
{
    expect_csv_error("x,y\n\n", 0, true, GD_ERR_FORMAT, ":", "no data rows");
}

Test(data, csv_reports_a_missing_file_with_the_system_reason)
{
    const char *path = scratch_path("absent.csv");
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_csv(&ds, path, 0, false, &err), GD_ERR_IO);
    expect_message(&err, path);
    expect_message(&err, strerror(ENOENT));
}

/* ------------------------------------------------------------- CIFAR-10 */

#define CIFAR_RECORD 3073

/* count records whose label is labels[i] and whose pixel j is (7 i + j) mod 256. */
static const char *write_cifar(const char *name, int count, const unsigned char *labels)
{
    unsigned char *b = malloc((size_t)count * CIFAR_RECORD);
    for (int i = 0; i < count; i++) {
        b[i * CIFAR_RECORD] = labels[i];
        for (int j = 0; j < 3072; j++)
            b[i * CIFAR_RECORD + 1 + j] = (unsigned char)((7 * i + j) % 256);
    }
    const char *path = scratch_path(name);
    write_file(path, b, (size_t)count * CIFAR_RECORD, false);
    free(b);
    return path;
}

Test(data, cifar10_reads_records_of_concatenated_files_as_3x32x32)
{
    const char *paths[2];
    paths[0] = write_cifar("a.bin", 2, (const unsigned char *)"\3\0");
    paths[1] = write_cifar("b.bin", 1, (const unsigned char *)"\x09");
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_cifar10(&ds, paths, 2, &err), GD_OK, "%s", err.message);
    int64_t dims[GD_MAX_DIMS];
    cr_assert_eq(gd_dataset_size(ds), 3);
    cr_assert_eq(gd_dataset_sample_shape(ds, dims), 3);
    cr_expect(dims[0] == 3 && dims[1] == 32 && dims[2] == 32);
    cr_expect_eq(gd_dataset_num_classes(ds), 10);
    const int32_t y[3] = {3, 0, 9};
    cr_expect_arr_eq(gd_dataset_labels(ds), y, sizeof y);
    /* The third sample is the first record of b.bin: pixel j is j mod 256. */
    const float *x = gd_dataset_features(ds);
    for (int j = 0; j < 3072; j++) {
        cr_expect_eq(x[j], (float)(j % 256) / 255.0f, "sample 0 pixel %d", j);
        cr_expect_eq(x[2 * 3072 + j], (float)(j % 256) / 255.0f, "sample 2 pixel %d", j);
    }
    cr_expect_eq(x[3072 + 1], 8.0f / 255.0f); /* sample 1, pixel 1: 7 + 1 */
    gd_dataset_free(ds);
}

Test(data, cifar10_rejects_a_size_that_is_not_whole_records)
{
    unsigned char b[CIFAR_RECORD + 10] = {0};
    const char *paths[1] = {scratch_path("a.bin")};
    write_file(paths[0], b, sizeof b, false);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_cifar10(&ds, paths, 1, &err), GD_ERR_FORMAT);
    cr_expect_null(ds);
    expect_message(&err, paths[0]);
    expect_message(&err, "size 3083 is not a positive multiple of the 3073-byte record");
}

Test(data, cifar10_rejects_a_label_above_9)
{
    const char *paths[1] = {write_cifar("a.bin", 3, (const unsigned char *)"\1\2\x0c")};
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_cifar10(&ds, paths, 1, &err), GD_ERR_FORMAT);
    cr_expect_null(ds);
    expect_message(&err, paths[0]);
    expect_message(&err, "record 2 (byte 6146): label 12");
}

Test(data, cifar10_reports_a_missing_file_with_the_system_reason)
{
    const char *paths[2] = {write_cifar("a.bin", 1, (const unsigned char *)"\1"),
                            scratch_path("absent.bin")};
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_cifar10(&ds, paths, 2, &err), GD_ERR_IO);
    expect_message(&err, paths[1]);
    expect_message(&err, strerror(ENOENT));
}

/* ----------------------------------------------------- create, head, split */

/* n samples of 2 features (i, -i) with labels i mod 3. */
static gd_dataset *indexed_set(int64_t n)
{
    float *x = malloc((size_t)n * 2 * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    for (int64_t i = 0; i < n; i++)
        x[2 * i] = (float)i, x[2 * i + 1] = (float)-i, y[i] = (int32_t)(i % 3);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, n, 1, (int64_t[]){2}, x, y, 3, &err), GD_OK, "%s",
                 err.message);
    free(x);
    free(y);
    return ds;
}

/* The sample indices of a set made by indexed_set, checking each row is intact. */
static void sample_ids(gd_dataset *ds, int64_t *ids)
{
    const float *x = gd_dataset_features(ds);
    for (int64_t i = 0; i < gd_dataset_size(ds); i++) {
        ids[i] = (int64_t)x[2 * i];
        cr_assert_eq(x[2 * i + 1], -x[2 * i], "row %lld torn", (long long)i);
        cr_assert_eq(gd_dataset_labels(ds)[i], ids[i] % 3, "label of row %lld", (long long)i);
    }
}

Test(data, create_copies_the_callers_arrays)
{
    float x[4] = {1, 2, 3, 4};
    int32_t y[2] = {1, 0};
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, 2, 1, (int64_t[]){2}, x, y, 2, &err), GD_OK, "%s",
                 err.message);
    x[0] = 99, y[0] = 0;
    cr_expect_eq(gd_dataset_features(ds)[0], 1.0f);
    cr_expect_eq(gd_dataset_labels(ds)[0], 1);
    gd_dataset_free(ds);
}

Test(data, create_without_labels_labels_everything_0)
{
    float x[3] = {1, 2, 3};
    gd_dataset *ds;
    cr_assert_eq(gd_dataset_create(&ds, 3, 1, (int64_t[]){1}, x, NULL, 1, NULL), GD_OK);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(gd_dataset_labels(ds)[i], 0);
    gd_dataset_free(ds);
}

Test(data, create_rejects_labels_outside_the_classes)
{
    float x[2] = {1, 2};
    gd_dataset *ds;
    gd_error err;
    cr_expect_eq(gd_dataset_create(&ds, 2, 1, (int64_t[]){1}, x, (int32_t[]){0, 2}, 2, &err),
                 GD_ERR_INVALID_ARGUMENT);
    expect_message(&err, "label 1 is 2, outside [0, 2)");
    cr_expect_eq(gd_dataset_create(&ds, 2, 1, (int64_t[]){1}, x, (int32_t[]){-1, 0}, 2, &err),
                 GD_ERR_INVALID_ARGUMENT);
    expect_message(&err, "label 0 is -1");
}

Test(data, create_rejects_a_sample_of_four_dimensions)
{
    float x[1] = {0};
    gd_dataset *ds;
    gd_error err;
    /* The loader's batch dimension needs the fourth slot of a tensor. */
    cr_expect_eq(gd_dataset_create(&ds, 1, 4, (int64_t[]){1, 1, 1, 1}, x, NULL, 1, &err),
                 GD_ERR_INVALID_ARGUMENT);
    expect_message(&err, "1 to 3 dimensions, not 4");
}

Test(data, head_takes_the_first_samples_or_all)
{
    gd_dataset *ds = indexed_set(10), *h;
    int64_t ids[10];
    cr_assert_eq(gd_dataset_head(ds, 4, &h, NULL), GD_OK);
    cr_assert_eq(gd_dataset_size(h), 4);
    sample_ids(h, ids);
    for (int64_t i = 0; i < 4; i++)
        cr_expect_eq(ids[i], i);
    gd_dataset_free(h);
    cr_assert_eq(gd_dataset_head(ds, 1000, &h, NULL), GD_OK);
    cr_expect_eq(gd_dataset_size(h), 10);
    cr_expect_eq(gd_dataset_num_classes(h), 3);
    gd_dataset_free(h);
    gd_dataset_free(ds);
}

Test(data, split_gives_the_requested_sizes)
{
    gd_dataset *ds = indexed_set(100), *train, *val;
    cr_assert_eq(gd_dataset_split(ds, 30, 7, &train, &val, NULL), GD_OK);
    cr_expect_eq(gd_dataset_size(train), 70);
    cr_expect_eq(gd_dataset_size(val), 30);
    cr_expect_eq(gd_dataset_num_classes(val), 3);
    gd_dataset_free(train);
    gd_dataset_free(val);
    gd_dataset_free(ds);
}

Test(data, split_parts_are_disjoint_and_cover_the_set)
{
    gd_dataset *ds = indexed_set(100), *train, *val;
    cr_assert_eq(gd_dataset_split(ds, 30, 7, &train, &val, NULL), GD_OK);
    int64_t ids[100];
    int seen[100] = {0};
    sample_ids(val, ids);
    sample_ids(train, ids + 30);
    for (int i = 0; i < 100; i++)
        seen[ids[i]]++;
    for (int i = 0; i < 100; i++)
        cr_expect_eq(seen[i], 1, "sample %d appears %d times", i, seen[i]);
    gd_dataset_free(train);
    gd_dataset_free(val);
    gd_dataset_free(ds);
}

Test(data, split_keeps_training_samples_in_their_original_order)
{
    gd_dataset *ds = indexed_set(100), *train, *val;
    cr_assert_eq(gd_dataset_split(ds, 30, 7, &train, &val, NULL), GD_OK);
    int64_t ids[70];
    sample_ids(train, ids);
    for (int i = 1; i < 70; i++)
        cr_expect_lt(ids[i - 1], ids[i]);
    /* Validation is in permutation order, which is not sorted for this seed. */
    int64_t vids[30];
    int sorted = 1;
    sample_ids(val, vids);
    for (int i = 1; i < 30; i++)
        sorted &= vids[i - 1] < vids[i];
    cr_expect_not(sorted);
    gd_dataset_free(train);
    gd_dataset_free(val);
    gd_dataset_free(ds);
}

static void val_ids(gd_dataset *ds, int64_t k, uint64_t seed, int64_t *ids)
{
    gd_dataset *train, *val;
    cr_assert_eq(gd_dataset_split(ds, k, seed, &train, &val, NULL), GD_OK);
    sample_ids(val, ids);
    gd_dataset_free(train);
    gd_dataset_free(val);
}

Test(data, split_depends_on_the_seed_alone)
{
    gd_dataset *ds = indexed_set(100);
    int64_t a[20], b[20], c[20];
    val_ids(ds, 20, 42, a);
    val_ids(ds, 20, 42, b);
    val_ids(ds, 20, 43, c);
    cr_expect_arr_eq(a, b, sizeof a);
    cr_expect(memcmp(a, c, sizeof a) != 0, "seeds 42 and 43 gave the same split");
    gd_dataset_free(ds);
}

/* Over 20000 seeds, each of 10 samples should be held out (k = 3) Binomial(20000, 0.3)
 * times: mean 6000, standard deviation 64.8. Six deviations (389) fail a correct shuffle
 * with probability 2e-9 per sample, and catch the usual wrong shuffles, whose worst sample
 * is off by more than 1000 here (simulated: swapping with any position, 1082; Sattolo's
 * j > i, 1574), as well as always holding out the same samples. */
Test(data, split_holds_out_every_sample_equally_often)
{
    gd_dataset *ds = indexed_set(10);
    int count[10] = {0};
    int64_t ids[3];
    for (uint64_t seed = 0; seed < 20000; seed++) {
        val_ids(ds, 3, seed, ids);
        for (int i = 0; i < 3; i++)
            count[ids[i]]++;
    }
    for (int i = 0; i < 10; i++)
        cr_expect(abs(count[i] - 6000) <= 389, "sample %d held out %d times", i, count[i]);
    gd_dataset_free(ds);
}

Test(data, split_rejects_a_validation_size_outside_0_to_n)
{
    gd_dataset *ds = indexed_set(10), *train, *val;
    gd_error err;
    cr_expect_eq(gd_dataset_split(ds, 10, 1, &train, &val, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_null(train);
    cr_expect_null(val);
    expect_message(&err, "val_size is 10, must be in [0, 10)");
    cr_expect_eq(gd_dataset_split(ds, -1, 1, &train, &val, &err), GD_ERR_INVALID_ARGUMENT);
    expect_message(&err, "val_size is -1");
    gd_dataset_free(ds);
}

Test(data, split_with_no_validation_keeps_everything_for_training)
{
    gd_dataset *ds = indexed_set(10), *train, *val;
    cr_assert_eq(gd_dataset_split(ds, 0, 1, &train, &val, NULL), GD_OK);
    cr_expect_eq(gd_dataset_size(train), 10);
    cr_expect_eq(gd_dataset_size(val), 0);
    gd_dataset_free(train);
    gd_dataset_free(val);
    gd_dataset_free(ds);
}

Test(data, replace_features_takes_the_new_shape_and_array)
{
    gd_dataset *ds = indexed_set(4);
    float *y = malloc(4 * 3 * sizeof *y);
    for (int i = 0; i < 12; i++)
        y[i] = (float)i;
    char msg[256];
    cr_assert_eq(gd_dataset_replace_features(ds, 1, (int64_t[]){3}, y, msg), GD_OK, "%s", msg);
    int64_t dims[GD_MAX_DIMS];
    cr_expect_eq(gd_dataset_sample_shape(ds, dims), 1);
    cr_expect_eq(dims[0], 3);
    cr_expect_eq(gd_dataset_sample_size(ds), 3);
    cr_expect_eq(gd_dataset_features(ds), y);
    cr_expect_eq(gd_dataset_labels(ds)[3], 0); /* 3 mod 3: labels untouched */
    gd_dataset_free(ds);
}

Test(data, replace_features_rejects_a_bad_shape_and_keeps_the_old_one)
{
    gd_dataset *ds = indexed_set(4);
    float y[4];
    char msg[256];
    cr_expect_eq(gd_dataset_replace_features(ds, 1, (int64_t[]){0}, y, msg),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_not_null(strstr(msg, "sample dimension 0 is 0"), "%s", msg);
    cr_expect_eq(gd_dataset_sample_size(ds), 2);
    cr_expect_eq(gd_dataset_features(ds)[2], 1.0f);
    gd_dataset_free(ds);
}

/* --------------------------------------------------------- memory limit */
/* The limit is process-wide; Criterion runs each test in a process of its own. */

static void expect_limit_message(const gd_error *err, const char *file, const char *what)
{
    expect_message(err, file);
    expect_message(err, what);
    expect_message(err, "beyond the memory limit of");
}

Test(data, idx_refuses_a_header_beyond_the_memory_limit_naming_file_and_size)
{
    static unsigned char body[200 * 28 * 28]; /* zeros: a small, honest gzip file */
    const char *images =
        write_idx("img.gz", true, 0x08, 3, (uint32_t[]){200, 28, 28}, body, sizeof body);
    gd_set_memory_limit(100000);
    expect_idx_error(images, NULL, GD_ERR_LIMIT, images, "200 images of 28 x 28");
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx(&ds, images, NULL, &err), GD_ERR_LIMIT);
    expect_limit_message(&err, images, "would need 157600 bytes");
}

/* A header that claims 3.9 MB in a 20 KB gzip file (within deflate's 1032:1 bound, so only
 * reading finds the lie) costs nothing: the file proves its length before memory is given. */
Test(data, idx_a_gzip_header_that_claims_more_than_the_file_holds_costs_no_memory)
{
    static unsigned char body[20000];
    random_bytes(body, sizeof body);
    const char *images =
        write_idx("img.gz", true, 0x08, 3, (uint32_t[]){5000, 28, 28}, body, sizeof body);
    alloc_watch_start();
    expect_idx_error(images, NULL, GD_ERR_FORMAT, images, "found 20000");
    alloc_watch_stop();
    cr_expect_lt(alloc_watch_largest(), (size_t)512 * 1024,
                 "largest allocation %zu bytes for a 3.9 MB claim", alloc_watch_largest());
}

/* Two gzip members one after the other are one stream to zlib; the trailer then gives the
 * last member's length only, so the file's length is counted, and the file read again. */
Test(data, idx_reads_a_gzip_file_of_concatenated_members)
{
    const char *one = write_images("one.gz", true);
    gzFile g = gzopen(one, "ab"); /* appends a second member: a few trailing zeros... */
    cr_assert_not_null(g);
    gzclose(g); /* ...of no bytes: an empty member, which changes the trailer alone */
    const char *labels = write_labels("lab", false);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_read_idx(&ds, one, labels, &err), GD_OK, "%s", err.message);
    expect_small_set(ds);
    gd_dataset_free(ds);
}

/* 2 rows of 100000 columns take 800 KB of floats; reserving a fixed number of rows at the
 * first row would take hundreds of megabytes. */
static const char *write_wide_csv(const char *name, int rows, int cols)
{
    char *text = malloc((size_t)rows * cols * 2 + 1), *at = text;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            *at++ = (char)('0' + (r + c) % 10);
            *at++ = c + 1 < cols ? ',' : '\n';
        }
    *at = '\0';
    const char *path = scratch_path(name);
    write_text(path, text);
    free(text);
    return path;
}

Test(data, csv_a_wide_file_costs_its_floats_not_a_thousand_rows_of_them)
{
    const char *path = write_wide_csv("wide.csv", 2, 100000);
    gd_dataset *ds;
    gd_error err;
    alloc_watch_start();
    cr_assert_eq(gd_dataset_read_csv(&ds, path, 0, false, &err), GD_OK, "%s", err.message);
    alloc_watch_stop();
    cr_expect_eq(gd_dataset_size(ds), 2);
    cr_expect_eq(gd_dataset_sample_size(ds), 99999);
    cr_expect_lt(alloc_watch_largest(), (size_t)2 << 20, "largest allocation %zu bytes",
                 alloc_watch_largest());
    gd_dataset_free(ds);
}

Test(data, csv_refuses_rows_beyond_the_memory_limit)
{
    const char *path = write_wide_csv("wide.csv", 4, 10000);
    gd_set_memory_limit(100000);
    gd_dataset *ds = (gd_dataset *)1;
    gd_error err;
    cr_assert_eq(gd_dataset_read_csv(&ds, path, 0, false, &err), GD_ERR_LIMIT, "%s",
                 err.message);
    cr_expect_null(ds);
    expect_limit_message(&err, path, "rows of 9999 values");
}

Test(data, cifar10_refuses_files_beyond_the_memory_limit)
{
    const char *path = write_cifar("data_batch_1.bin", 2, (const unsigned char[]){3, 4});
    gd_set_memory_limit(20000); /* 2 x 3072 floats need 24584 bytes */
    gd_dataset *ds = (gd_dataset *)1;
    gd_error err;
    cr_assert_eq(gd_dataset_read_cifar10(&ds, &path, 1, &err), GD_ERR_LIMIT, "%s", err.message);
    cr_expect_null(ds);
    expect_limit_message(&err, path, "2 images of 3 x 32 x 32");
}

Test(data, head_and_split_refuse_copies_beyond_the_memory_limit)
{
    float x[200];
    for (int i = 0; i < 200; i++)
        x[i] = (float)i;
    gd_dataset *ds, *a = (gd_dataset *)1, *b = (gd_dataset *)1;
    cr_assert_eq(gd_dataset_create(&ds, 100, 1, (int64_t[]){2}, x, NULL, 1, NULL), GD_OK);
    gd_set_memory_limit(500); /* the set takes 1200 bytes */
    gd_error err;
    cr_expect_eq(gd_dataset_head(ds, 100, &a, &err), GD_ERR_LIMIT, "%s", err.message);
    expect_limit_message(&err, "100 samples of 2 values", "1200 bytes");
    cr_expect_eq(gd_dataset_split(ds, 10, 1, &a, &b, &err), GD_ERR_LIMIT, "%s", err.message);
    cr_expect(a == NULL && b == NULL);
    cr_expect_eq(gd_dataset_create(&a, 100, 1, (int64_t[]){2}, x, NULL, 1, &err), GD_ERR_LIMIT);
    gd_dataset_free(ds);
}

/* uint8 pixels are held as bytes; as floats they take four times the memory, which the
 * limit must allow before preprocessing fits on them. */
Test(data, pixels_become_floats_only_within_the_memory_limit)
{
    const char *images = write_images("img", false), *labels = write_labels("lab", false);
    gd_dataset *ds;
    gd_error err;
    gd_set_memory_limit(60); /* 24 pixel bytes and 12 label bytes fit; 96 float bytes do not */
    cr_assert_eq(gd_dataset_read_idx(&ds, images, labels, &err), GD_OK, "%s", err.message);
    cr_expect_null(gd_dataset_features(ds));
    gd_preprocess *p = NULL;
    cr_expect_eq(gd_preprocess_fit(&p, "standardize", 1e-2, ds, &err), GD_ERR_LIMIT);
    expect_limit_message(&err, "3 samples of 8 pixels as floats", "96 bytes");
    gd_set_memory_limit(0); /* back to the default: now they fit */
    cr_expect_not_null(gd_dataset_features(ds));
    gd_dataset_free(ds);
}
