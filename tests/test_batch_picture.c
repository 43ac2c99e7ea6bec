/* What the network sees: the PNG decodes (libpng reads it back) to the size the header's
 * layout gives; pixels of known batches are the documented grey levels, blocks and
 * colours; the numbers are those of a direct computation; a run's picture holds the batch
 * its first step trains on, and drawing it does not move the run. */
#include "scratch.h"

#include <criterion/criterion.h>
#include <gradus.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(batch_picture, .init = scratch_make, .fini = scratch_remove);

/* A decoded picture: 8-bit RGB rows, and its Description text. */
typedef struct picture {
    int w, h;
    unsigned char *rgb;
    char description[4096];
} picture;

typedef struct source {
    const unsigned char *data;
    size_t len, at;
} source;

static void read_fn(png_structp png, png_bytep out, png_size_t n)
{
    source *s = png_get_io_ptr(png);
    cr_assert_leq(s->at + n, s->len, "the PNG ends early");
    memcpy(out, s->data + s->at, n);
    s->at += n;
}

static picture decode(const unsigned char *data, size_t len)
{
    picture p = {0};
    cr_assert(len > 8 && png_sig_cmp(data, 0, 8) == 0, "not a PNG");
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    if (setjmp(png_jmpbuf(png)))
        cr_assert_fail("libpng could not read the picture");
    source s = {data, len, 0};
    png_set_read_fn(png, &s, read_fn);
    png_read_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    p.w = (int)png_get_image_width(png, info);
    p.h = (int)png_get_image_height(png, info);
    cr_assert_eq(png_get_color_type(png, info), PNG_COLOR_TYPE_RGB);
    cr_assert_eq(png_get_bit_depth(png, info), 8);
    png_bytepp rows = png_get_rows(png, info);
    p.rgb = malloc(3 * (size_t)p.w * (size_t)p.h);
    for (int y = 0; y < p.h; y++)
        memcpy(p.rgb + 3 * (size_t)y * (size_t)p.w, rows[y], 3 * (size_t)p.w);
    png_textp text;
    int ntext = 0;
    png_get_text(png, info, &text, &ntext);
    for (int i = 0; i < ntext; i++)
        if (strcmp(text[i].key, "Description") == 0)
            snprintf(p.description, sizeof p.description, "%s", text[i].text);
    png_destroy_read_struct(&png, &info, NULL);
    return p;
}

static picture encode_decode(const gd_tensor *x, const int32_t *labels,
                             const gd_batch_picture_options *o, gd_batch_picture_info *info)
{
    unsigned char *png;
    size_t len;
    gd_error err;
    cr_assert_eq(gd_batch_picture_png(x, labels, o, &png, &len, info, &err), GD_OK, "%s",
                 err.message);
    picture p = decode(png, len);
    free(png);
    return p;
}

static const unsigned char *at(const picture *p, int x, int y)
{
    cr_assert(x >= 0 && y >= 0 && x < p->w && y < p->h, "(%d, %d) outside %d x %d", x, y, p->w, p->h);
    return p->rgb + 3 * ((size_t)y * (size_t)p->w + (size_t)x);
}

/* The documented grey level of v in a batch ranging over [lo, hi]. */
static int level(double v, double lo, double hi) { return (int)lrint(255.0 * (v - lo) / (hi - lo)); }

/* Every pixel of value (sample i, row y, column x)'s block is (r, g, b). */
static void expect_block(const picture *p, const gd_batch_picture_info *info, int64_t i, int y,
                         int x, int r, int g, int b)
{
    int x0 = info->x0 + (int)(i % info->cols) * info->pitch_x + x * info->value_w;
    int y0 = info->y0 + (int)(i / info->cols) * info->pitch_y + y * info->value_h;
    for (int dy = 0; dy < info->value_h; dy++)
        for (int dx = 0; dx < info->value_w; dx++) {
            const unsigned char *c = at(p, x0 + dx, y0 + dy);
            cr_expect(c[0] == r && c[1] == g && c[2] == b,
                      "sample %lld (%d, %d) pixel +%d+%d: %d %d %d, expected %d %d %d",
                      (long long)i, y, x, dx, dy, c[0], c[1], c[2], r, g, b);
        }
}

/* ---------------------------------------------------------------- tiles */

/* Five 1 x 2 x 60 images at scale 2 tile into ceil(sqrt(5)) = 3 columns and 2 rows: width
 * 4 + 3 (120 + 4) = 376, height 4 + 2 (4 + 14 + 4) + 14 = 62 (the grid is wider than the
 * numbers' line, so the width is the grid's). */
Test(batch_picture, tiles_decode_to_the_layouts_size)
{
    enum { N = 5, H = 2, W = 60 };
    float v[N * H * W];
    int32_t labels[N] = {0, 1, 2, 13, 7};
    for (int i = 0; i < N * H * W; i++)
        v[i] = (float)(i % 17) / 16.0f;
    gd_tensor x = gd_tensor_view(v, 4, (int64_t[]){N, 1, H, W});
    gd_batch_picture_info info;
    picture p = encode_decode(&x, labels, &(gd_batch_picture_options){.scale = 2}, &info);
    cr_expect_eq(p.w, 4 + 3 * (W * 2 + 4));
    cr_expect_eq(p.h, 4 + 2 * (H * 2 + 14 + 4) + 14);
    cr_expect_eq(info.width, p.w);
    cr_expect_eq(info.height, p.h);
    cr_expect(info.images);
    cr_expect_eq(info.cols, 3);
    cr_expect_eq(info.rows, 2);
    cr_expect_not_null(strstr(p.description, "labels=0,1,2,13,7"), "%s", p.description);
    free(p.rgb);
}

/* Two 1 x 2 x 3 images over [-1, 3]: each value's 3 x 3 block is round(255 (v + 1) / 4) in
 * all three channels; -1 is 0 and 3 is 255; a NaN is magenta and does not move the range. */
Test(batch_picture, pixels_are_the_batchs_own_range_mapped_to_grey)
{
    float v[12] = {-1, 0, 0.5f, 1, 2, 3, /* sample 1 */ 0.25f, NAN, 2.5f, -0.5f, 1.5f, 0};
    int32_t labels[2] = {4, 9};
    gd_tensor x = gd_tensor_view(v, 4, (int64_t[]){2, 1, 2, 3});
    gd_batch_picture_info info;
    picture p = encode_decode(&x, labels, &(gd_batch_picture_options){.scale = 3}, &info);
    cr_expect_eq(info.value_w, 3);
    cr_expect_eq(info.min, -1);
    cr_expect_eq(info.max, 3);
    cr_expect_eq(info.nonfinite, 1);
    for (int i = 0; i < 2; i++)
        for (int y = 0; y < 2; y++)
            for (int xx = 0; xx < 3; xx++) {
                float f = v[i * 6 + y * 3 + xx];
                if (isnan(f))
                    expect_block(&p, &info, i, y, xx, 255, 0, 255);
                else {
                    int g = level(f, -1, 3);
                    expect_block(&p, &info, i, y, xx, g, g, g);
                }
            }
    expect_block(&p, &info, 0, 0, 0, 0, 0, 0);
    expect_block(&p, &info, 0, 1, 2, 255, 255, 255);
    free(p.rgb);
}

/* Three channels are red, green and blue, each by the batch's one range. */
Test(batch_picture, three_channels_are_red_green_blue)
{
    float v[3 * 1 * 2] = {0, 1, /* green */ 0.5f, 0.25f, /* blue */ 1, 0};
    gd_tensor x = gd_tensor_view(v, 4, (int64_t[]){1, 3, 1, 2});
    gd_batch_picture_info info;
    picture p = encode_decode(&x, NULL, &(gd_batch_picture_options){.scale = 1}, &info);
    expect_block(&p, &info, 0, 0, 0, 0, level(0.5, 0, 1), 255);
    expect_block(&p, &info, 0, 0, 1, 255, level(0.25, 0, 1), 0);
    free(p.rgb);
}

Test(batch_picture, a_constant_batch_is_mid_grey)
{
    float v[4] = {0.7f, 0.7f, 0.7f, 0.7f};
    gd_tensor x = gd_tensor_view(v, 4, (int64_t[]){1, 1, 2, 2});
    gd_batch_picture_info info;
    picture p = encode_decode(&x, NULL, NULL, &info);
    expect_block(&p, &info, 0, 1, 1, 128, 128, 128);
    cr_expect_eq(info.std, 0);
    free(p.rgb);
}

/* -------------------------------------------------------------- heat maps */

/* Three flat samples of 7 values are rows of a heat map: row height 5, each value 4 px
 * wide, labels of up to 2 digits in a column of 2 * 8 + 4 = 20; width is the numbers'
 * line's (8 a character plus 8) when that is wider than 4 + 20 + 28 + 4. */
Test(batch_picture, flat_samples_are_heat_map_rows)
{
    float v[21];
    for (int i = 0; i < 21; i++)
        v[i] = (float)i;
    int32_t labels[3] = {2, 10, 0};
    gd_tensor x = gd_tensor_view(v, 2, (int64_t[]){3, 7});
    gd_batch_picture_info info;
    picture p = encode_decode(&x, labels, &(gd_batch_picture_options){.scale = 4, .row_height = 5},
                              &info);
    cr_expect(!info.images);
    cr_expect_eq(info.x0, 4 + 20);
    cr_expect_eq(info.value_w, 4);
    cr_expect_eq(info.pitch_y, 5);
    char line[160];
    int chars = snprintf(line, sizeof line, "MEAN %.4G  STD %.4G  MIN %.4G  MAX %.4G", info.mean,
                         info.std, info.min, info.max);
    int grid_w = 4 + 20 + 7 * 4 + 4;
    cr_expect_eq(p.w, chars * 8 + 8 > grid_w ? chars * 8 + 8 : grid_w);
    cr_expect_eq(p.h, 4 + 3 * 5 + 4 + 14);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 7; j++) {
            int g = level(v[i * 7 + j], 0, 20);
            expect_block(&p, &info, i, 0, j, g, g, g);
        }
    free(p.rgb);
}

/* --------------------------------------------------------------- numbers */

/* Mean, population deviation, min and max of 64 x 1 x 8 x 8 normal values against a direct
 * computation in double (1e-12 relative: the same sums, perhaps in another order). */
Test(batch_picture, statistics_match_a_direct_computation)
{
    enum { N = 64 * 64 };
    float *v = malloc(N * sizeof(float));
    gd_rng *rng;
    gd_rng_create(&rng, 9);
    for (int i = 0; i < N; i++)
        v[i] = (float)(0.3 + 2 * gd_rng_normal(rng));
    gd_rng_free(rng);
    double sum = 0, lo = INFINITY, hi = -INFINITY, ss = 0;
    for (int i = 0; i < N; i++)
        sum += v[i], lo = fmin(lo, v[i]), hi = fmax(hi, v[i]);
    double mean = sum / N;
    for (int i = 0; i < N; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    gd_tensor x = gd_tensor_view(v, 4, (int64_t[]){64, 1, 8, 8});
    gd_batch_picture_info info;
    picture p = encode_decode(&x, NULL, NULL, &info);
    cr_expect_float_eq(info.mean, mean, 1e-12 * fabs(mean));
    cr_expect_float_eq(info.std, sqrt(ss / N), 1e-12 * sqrt(ss / N));
    cr_expect_eq(info.min, lo);
    cr_expect_eq(info.max, hi);
    cr_expect_eq(info.values, N);
    cr_expect_eq(info.nonfinite, 0);
    double dmean, dstd, dmin, dmax; /* the PNG's text carries them exactly */
    cr_assert_eq(sscanf(p.description, "mean=%lg std=%lg min=%lg max=%lg", &dmean, &dstd, &dmin,
                        &dmax), 4, "%s", p.description);
    cr_expect(dmean == info.mean && dstd == info.std && dmin == lo && dmax == hi);
    free(p.rgb);
    free(v);
}

Test(batch_picture, bad_input_is_refused)
{
    float v[4] = {0};
    unsigned char *png = (unsigned char *)"x";
    size_t len;
    gd_error err;
    gd_tensor empty = gd_tensor_view(v, 2, (int64_t[]){0, 4});
    cr_expect_eq(gd_batch_picture_png(&empty, NULL, NULL, &png, &len, NULL, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_null(png);
    float *row = calloc(20000, sizeof(float)); /* past 16384 pixels a side */
    gd_tensor wide = gd_tensor_view(row, 2, (int64_t[]){1, 20000});
    cr_expect_eq(gd_batch_picture_png(&wide, NULL, &(gd_batch_picture_options){.scale = 1}, &png,
                                      &len, NULL, &err), GD_ERR_LIMIT);
    free(row);
    gd_tensor x = gd_tensor_view(v, 2, (int64_t[]){1, 4});
    cr_expect_eq(gd_batch_picture_png(&x, NULL, &(gd_batch_picture_options){.scale = -1}, &png,
                                      &len, NULL, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_batch_picture_write(&x, NULL, NULL, scratch_path("no/such/dir.png"), NULL, &err),
                 GD_ERR_IO);
}

/* ------------------------------------------------------------------- runs */

/* IDX files of 40 8 x 8 images (pixel (i * 7 + y * 3 + x) mod 256) with labels i mod 3,
 * the same for the test pair, in the scratch folder under MNIST's names. */
static void write_idx(const char *name, const unsigned char *header, size_t hlen,
                      const unsigned char *body, size_t blen)
{
    unsigned char *b = malloc(hlen + blen);
    memcpy(b, header, hlen);
    memcpy(b + hlen, body, blen);
    scratch_write(scratch_path(name), b, hlen + blen);
    free(b);
}

static void write_images(void)
{
    enum { N = 40, S = 8 };
    unsigned char pix[N * S * S], lab[N];
    for (int i = 0; i < N; i++) {
        lab[i] = (unsigned char)(i % 3);
        for (int k = 0; k < S * S; k++)
            pix[i * S * S + k] = (unsigned char)((i * 7 + (k / S) * 3 + k % S) % 256);
    }
    const unsigned char ih[16] = {0, 0, 8, 3, 0, 0, 0, N, 0, 0, 0, S, 0, 0, 0, S};
    const unsigned char lh[8] = {0, 0, 8, 1, 0, 0, 0, N};
    const char *prefix[2] = {"train", "t10k"};
    for (int t = 0; t < 2; t++) {
        char name[64];
        snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix[t]);
        write_idx(name, ih, sizeof ih, pix, sizeof pix);
        snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix[t]);
        write_idx(name, lh, sizeof lh, lab, sizeof lab);
    }
}

/* Standardised, padded-cropped and flipped images: what the first step sees differs from
 * the files, which is the point of drawing it. */
static gd_run *image_run(void)
{
    gd_settings s;
    gd_settings_defaults(&s);
    gd_error err;
    const char *kv[][2] = {{"data", scratch_dir()}, {"model", "linear(3)"}, {"batch_size", "16"},
                           {"val_size", "0"}, {"threads", "1"}, {"preprocess", "standardize"},
                           {"crop_padding", "2"}, {"hflip", "true"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        cr_assert_eq(gd_settings_set(&s, kv[i][0], kv[i][1], &err), GD_OK, "%s", err.message);
    gd_run *run;
    cr_assert_eq(gd_run_create(&run, &s, NULL, &err), GD_OK, "%s", err.message);
    gd_settings_free(&s);
    return run;
}

static void batch_numbers(const gd_tensor *t, double *mean, double *lo, double *hi)
{
    int64_t n = gd_tensor_numel(t);
    double sum = 0;
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        sum += t->data[i], *lo = fmin(*lo, t->data[i]), *hi = fmax(*hi, t->data[i]);
    *mean = sum / (double)n;
}

/* The picture's batch is the one the run's first step feeds its model (the first layer's
 * input afterwards): the same numbers. Drawing it first leaves the run's step exactly as
 * a twin's that drew nothing. */
Test(batch_picture, a_runs_picture_is_its_first_steps_batch)
{
    write_images();
    gd_run *run = image_run(), *twin = image_run();
    gd_batch_picture_info info;
    gd_error err;
    const char *path = scratch_path("batch.png");
    cr_assert_eq(gd_run_batch_picture(run, path, NULL, &info, &err), GD_OK, "%s", err.message);
    bool done;
    cr_assert_eq(gd_run_step(run, &done), GD_OK, "%s", gd_run_error(run));
    cr_assert_eq(gd_run_step(twin, &done), GD_OK, "%s", gd_run_error(twin));
    gd_layer_info layer;
    cr_assert_eq(gd_model_layer_at(gd_run_model(run), 0, &layer), GD_OK);
    double mean, lo, hi;
    batch_numbers(&layer.input, &mean, &lo, &hi);
    cr_expect_eq(info.samples, 16);
    cr_expect_eq(info.values, gd_tensor_numel(&layer.input));
    cr_expect_float_eq(info.mean, mean, 1e-12 * fmax(1, fabs(mean)));
    cr_expect_eq(info.min, lo);
    cr_expect_eq(info.max, hi);
    cr_expect(info.images, "IDX samples are 1 x 8 x 8 tiles");
    gd_tensor a = gd_model_parameters_flat(gd_run_model(run)),
              b = gd_model_parameters_flat(gd_run_model(twin));
    cr_expect_eq(memcmp(a.data, b.data, sizeof(float) * (size_t)gd_tensor_numel(&a)), 0);
    /* The file: a whole PNG of the size reported. */
    size_t len;
    unsigned char *file = scratch_read(path, &len);
    picture p = decode(file, len);
    cr_expect_eq(p.w, info.width);
    cr_expect_eq(p.h, info.height);
    free(p.rgb);
    free(file);
    gd_run_free(run);
    gd_run_free(twin);
}
