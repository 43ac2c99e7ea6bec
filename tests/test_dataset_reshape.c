/* gd_parse_shape (the text of --csv-shape and of any shape a user types) and
 * gd_dataset_reshape: what each accepts, what each refuses and with which words. Shapes
 * are whole numbers, so every comparison is exact. */
#include <criterion/criterion.h>
#include <gradus.h>
#include <string.h>

TestSuite(dataset_reshape);

static void expect_message(const gd_error *err, const char *fragment)
{
    cr_expect_not_null(strstr(err->message, fragment), "message \"%s\" lacks \"%s\"",
                       err->message, fragment);
}

static void expect_refused(const char *text, const char *fragment)
{
    int ndim = -1;
    int64_t dims[GD_MAX_DIMS - 1];
    gd_error err = {{0}};
    cr_expect_eq(gd_parse_shape(text, &ndim, dims, &err), GD_ERR_INVALID_ARGUMENT,
                 "'%s' accepted", text);
    expect_message(&err, fragment);
}

Test(dataset_reshape, parse_reads_one_to_three_dimensions)
{
    int ndim;
    int64_t dims[GD_MAX_DIMS - 1];
    gd_error err;
    cr_assert_eq(gd_parse_shape("1x28x28", &ndim, dims, &err), GD_OK, "%s", err.message);
    cr_expect(ndim == 3 && dims[0] == 1 && dims[1] == 28 && dims[2] == 28);
    cr_assert_eq(gd_parse_shape("32x4", &ndim, dims, &err), GD_OK, "%s", err.message);
    cr_expect(ndim == 2 && dims[0] == 32 && dims[1] == 4);
    cr_assert_eq(gd_parse_shape("784", &ndim, dims, &err), GD_OK, "%s", err.message);
    cr_expect(ndim == 1 && dims[0] == 784);
}

Test(dataset_reshape, parse_refuses_a_zero_dimension)
{
    expect_refused("0x28x28", "positive whole numbers joined by x");
    expect_refused("1x0", "positive whole numbers joined by x");
}

Test(dataset_reshape, parse_refuses_what_is_not_digits_joined_by_x)
{
    const char *bad[] = {"axb", "", "x", "1x", "x1", "1xx2", "1X28", "1*28", " 1x2", "1x2 ",
                         "+1x2", "-1x2", "1.5x2", "0x1f", "1x2x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_refused(bad[i], "positive whole numbers joined by x, e.g. 1x28x28");
}

Test(dataset_reshape, parse_refuses_more_than_three_dimensions)
{
    expect_refused("1x2x3x4", "at most 3 dimensions");
}

Test(dataset_reshape, parse_refuses_a_number_beyond_64_bits)
{
    expect_refused("99999999999999999999x1x1", "more values a sample than fit");
    expect_refused("9223372036854775808", "more values a sample than fit");
}

Test(dataset_reshape, parse_refuses_a_product_that_overflows)
{
    expect_refused("4000000000x4000000000x4000000000", "more values a sample than fit");
    /* Each factor fits, the product of floats would not: 2^31 x 2^31 floats = 2^64 bytes. */
    expect_refused("2147483648x2147483648", "more values a sample than fit");
}

Test(dataset_reshape, parse_messages_leave_the_text_to_the_caller)
{
    int ndim;
    int64_t dims[GD_MAX_DIMS - 1];
    gd_error err;
    cr_assert_neq(gd_parse_shape("qqq", &ndim, dims, &err), GD_OK);
    cr_expect_null(strstr(err.message, "qqq"), "%s", err.message);
}

static gd_dataset *flat_set(int64_t n, int64_t size)
{
    float x[64] = {0};
    for (int i = 0; i < 64; i++)
        x[i] = (float)i;
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, n, 1, (int64_t[]){size}, x, NULL, 1, &err), GD_OK,
                 "%s", err.message);
    return ds;
}

Test(dataset_reshape, reshape_gives_the_samples_the_new_shape_and_keeps_the_values)
{
    gd_dataset *ds = flat_set(2, 12);
    gd_error err;
    cr_assert_eq(gd_dataset_reshape(ds, 3, (int64_t[]){3, 2, 2}, &err), GD_OK, "%s",
                 err.message);
    int64_t dims[GD_MAX_DIMS];
    cr_assert_eq(gd_dataset_sample_shape(ds, dims), 3);
    cr_expect(dims[0] == 3 && dims[1] == 2 && dims[2] == 2);
    cr_expect_eq(gd_dataset_sample_size(ds), 12);
    const float *x = gd_dataset_features(ds);
    for (int i = 0; i < 24; i++)
        cr_expect_eq(x[i], (float)i);
    gd_dataset_free(ds);
}

Test(dataset_reshape, reshape_refuses_another_size_naming_both_and_changes_nothing)
{
    gd_dataset *ds = flat_set(2, 12);
    gd_error err;
    cr_assert_eq(gd_dataset_reshape(ds, 3, (int64_t[]){1, 2, 2}, &err), GD_ERR_SHAPE);
    expect_message(&err, "1x2x2 holds 4 values, the samples have 12");
    int64_t dims[GD_MAX_DIMS];
    cr_expect_eq(gd_dataset_sample_shape(ds, dims), 1);
    cr_expect_eq(dims[0], 12);
    gd_dataset_free(ds);
}

Test(dataset_reshape, reshape_refuses_a_bad_shape)
{
    gd_dataset *ds = flat_set(2, 12);
    gd_error err;
    cr_expect_eq(gd_dataset_reshape(ds, 2, (int64_t[]){0, 12}, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_dataset_reshape(ds, 4, (int64_t[]){1, 1, 3, 4}, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_dataset_sample_size(ds), 12);
    gd_dataset_free(ds);
}
