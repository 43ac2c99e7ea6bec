/* Loader augmentation (torchvision's RandomCrop with padding, RandomHorizontalFlip,
 * RandomErasing): what each transform does to an image, how often, and that the
 * augmented batches depend on (seed, epoch) alone.
 *
 * Every pixel of the test images is distinct and positive, 1 + x + W (y + H (c + C i)) for
 * pixel (c, y, x) of sample i, so an output pixel names the source pixel it came from and
 * a zero can only have been written by padding or erasing. All comparisons are exact.
 *
 * Frequencies are checked within 5 binomial standard deviations of their expectation: a
 * correct implementation fails such a bound with probability below 6e-7 per count, while
 * the generator is fixed, so each test is deterministic. */
#include <criterion/criterion.h>
#include <gradus.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct geometry {
    int64_t c, h, w;
} geometry;

static int64_t image_size(geometry g)
{
    return g.c * g.h * g.w;
}

/* n numbered images of shape g, labelled i mod 7. */
static gd_dataset *numbered_images(int64_t n, geometry g)
{
    int64_t size = image_size(g);
    float *x = malloc((size_t)(n * size) * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    for (int64_t k = 0; k < n * size; k++)
        x[k] = (float)(k + 1);
    for (int64_t i = 0; i < n; i++)
        y[i] = (int32_t)(i % 7);
    gd_dataset *ds;
    gd_error err;
    cr_assert_eq(gd_dataset_create(&ds, n, 3, (int64_t[]){g.c, g.h, g.w}, x, y, 7, &err), GD_OK,
                 "%s", err.message);
    free(x);
    free(y);
    return ds;
}

/* Where a numbered pixel came from. */
typedef struct source {
    int64_t i, c, y, x;
} source;

static source source_of(float v, geometry g)
{
    int64_t k = (int64_t)v - 1;
    return (source){.x = k % g.w, .y = k / g.w % g.h, .c = k / (g.w * g.h) % g.c,
                    .i = k / image_size(g)};
}

static float pixel_value(source s, geometry g)
{
    return (float)(1 + s.x + g.w * (s.y + g.h * (s.c + g.c * s.i)));
}

/* The first non-zero pixel of an image (one always exists in these tests: a crop keeps at
 * least one row and column and erasing stays smaller than the image), with its position. */
static source first_source(const float *image, geometry g, int64_t *at)
{
    for (*at = 0; image[*at] == 0; ++*at)
        cr_assert_lt(*at, image_size(g) - 1, "an image is entirely zero");
    return source_of(image[*at], g);
}

static gd_loader *augmented_loader(const gd_dataset *ds, int64_t batch, bool shuffle,
                                   uint64_t seed, const gd_augment *aug)
{
    gd_loader *l;
    gd_error err;
    cr_assert_eq(gd_loader_create(&l, ds, batch, shuffle, false, seed, &err), GD_OK, "%s",
                 err.message);
    cr_assert_eq(gd_loader_set_augment(l, aug, &err), GD_OK, "%s", err.message);
    return l;
}

/* Epoch `epoch` of l: every image into x (n x size floats) and every label into y. */
static void run_epoch(gd_loader *l, int64_t epoch, float *x, int32_t *y)
{
    gd_tensor batch;
    const int32_t *labels;
    int64_t seen = 0;
    gd_loader_start_epoch(l, epoch);
    while (gd_loader_next(l, &batch, &labels)) {
        int64_t rows = batch.dims[0], size = gd_tensor_numel(&batch) / rows;
        memcpy(x + seen * size, batch.data, (size_t)(rows * size) * sizeof *x);
        memcpy(y + seen, labels, (size_t)rows * sizeof *y);
        seen += rows;
    }
}

/* Runs epochs [0, epochs) of a fresh loader with aug and hands each image to check. */
typedef void (*image_check)(const float *image, geometry g, void *ctx);

static void for_each_image(int64_t n, geometry g, const gd_augment *aug, int64_t epochs,
                           image_check check, void *ctx)
{
    gd_dataset *ds = numbered_images(n, g);
    gd_loader *l = augmented_loader(ds, 16, true, 3, aug);
    int64_t size = image_size(g);
    float *x = malloc((size_t)(n * size) * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    for (int64_t epoch = 0; epoch < epochs; epoch++) {
        run_epoch(l, epoch, x, y);
        for (int64_t i = 0; i < n; i++)
            check(x + i * size, g, ctx);
    }
    free(x);
    free(y);
    gd_loader_free(l);
    gd_dataset_free(ds);
}

/* -------------------------------------------------------------------- crop */

typedef struct crop_stats {
    int64_t padding, mismatches, tops[16], lefts[16];
} crop_stats;

/* The shift (dy, dx) of a cropped image: its first non-zero pixel at (y, x) came from
 * (y + dy, x + dx). Then every pixel must be the source's at the same shift, or zero
 * exactly where that falls outside the source (the padding). */
static void check_crop(const float *image, geometry g, void *ctx)
{
    crop_stats *s = ctx;
    int64_t at;
    source first = first_source(image, g, &at);
    int64_t dy = first.y - at / g.w % g.h, dx = first.x - at % g.w;
    cr_assert(first.c == 0 && llabs(dy) <= s->padding && llabs(dx) <= s->padding,
              "shift (%lld, %lld) beyond the padding %lld", (long long)dy, (long long)dx,
              (long long)s->padding);
    s->tops[dy + s->padding]++;
    s->lefts[dx + s->padding]++;
    for (int64_t c = 0; c < g.c; c++)
        for (int64_t y = 0; y < g.h; y++)
            for (int64_t x = 0; x < g.w; x++) {
                source from = {first.i, c, y + dy, x + dx};
                bool inside = from.y >= 0 && from.y < g.h && from.x >= 0 && from.x < g.w;
                float want = inside ? pixel_value(from, g) : 0;
                s->mismatches += image[(c * g.h + y) * g.w + x] != want;
            }
}

Test(augment, crop_shifts_content_by_at_most_the_padding_and_pads_with_zeros)
{
    crop_stats s = {.padding = 2};
    for_each_image(48, (geometry){2, 6, 7}, &(gd_augment){.crop_padding = 2}, 3, check_crop, &s);
    cr_expect_eq(s.mismatches, 0, "%lld pixels are not the source's shifted or zero padding",
                 (long long)s.mismatches);
    cr_expect_gt(s.tops[0] + s.lefts[4], 0, "no crop reached the padding's edge");
}

/* 1280 draws of each offset over 7 values: each value is expected 1280 / 7 = 182.9 times,
 * standard deviation sqrt(1280 (1/7)(6/7)) = 12.5; 5 of them is 63. */
Test(augment, crop_offsets_cover_zero_to_twice_the_padding_uniformly)
{
    crop_stats s = {.padding = 3};
    for_each_image(64, (geometry){1, 8, 8}, &(gd_augment){.crop_padding = 3}, 20, check_crop, &s);
    double expected = 1280.0 / 7, bound = 5 * sqrt(1280 * (1.0 / 7) * (6.0 / 7));
    for (int v = 0; v <= 6; v++) {
        cr_expect(fabs(s.tops[v] - expected) <= bound, "top offset %d drawn %lld times", v,
                  (long long)s.tops[v]);
        cr_expect(fabs(s.lefts[v] - expected) <= bound, "left offset %d drawn %lld times", v,
                  (long long)s.lefts[v]);
    }
}

/* -------------------------------------------------------------------- flip */

typedef struct flip_stats {
    int64_t images, flipped, mismatches;
} flip_stats;

/* An image is its source as it is (pixel 0 came from x = 0) or mirrored (from x = W-1). */
static void check_flip(const float *image, geometry g, void *ctx)
{
    flip_stats *s = ctx;
    source first = source_of(image[0], g);
    bool flipped = first.x == g.w - 1;
    s->images++;
    s->flipped += flipped;
    for (int64_t c = 0; c < g.c; c++)
        for (int64_t y = 0; y < g.h; y++)
            for (int64_t x = 0; x < g.w; x++) {
                source from = {first.i, c, y, flipped ? g.w - 1 - x : x};
                s->mismatches += image[(c * g.h + y) * g.w + x] != pixel_value(from, g);
            }
}

/* 2560 images: flips expected 1280, standard deviation sqrt(2560) / 2 = 25.3. */
Test(augment, flip_mirrors_exactly_about_half_the_time)
{
    flip_stats s = {0};
    for_each_image(64, (geometry){3, 4, 5}, &(gd_augment){.horizontal_flip = true}, 40,
                   check_flip, &s);
    cr_expect_eq(s.mismatches, 0, "%lld pixels neither kept nor mirrored", (long long)s.mismatches);
    cr_assert_eq(s.images, 2560);
    cr_expect(fabs(s.flipped - 1280.0) <= 5 * sqrt(2560.0) / 2, "%lld of 2560 images flipped",
              (long long)s.flipped);
}

/* ----------------------------------------------------------------- erasing */

typedef struct erase_stats {
    int64_t images, erased, bad_rectangles, mismatches;
} erase_stats;

/* The zeros' bounding box in channel 0. */
static void zero_box(const float *plane, geometry g, int64_t *top, int64_t *left, int64_t *h,
                     int64_t *w, int64_t *zeros)
{
    int64_t y0 = g.h, y1 = -1, x0 = g.w, x1 = -1;
    *zeros = 0;
    for (int64_t y = 0; y < g.h; y++)
        for (int64_t x = 0; x < g.w; x++)
            if (plane[y * g.w + x] == 0) {
                ++*zeros;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
            }
    *top = y0, *left = x0, *h = y1 - y0 + 1, *w = x1 - x0 + 1;
}

/* torchvision draws a target area a = s H W (s in [0.02, 0.33]) and an aspect r in
 * [0.3, 3.3], then h = round(sqrt(a r)), w = round(sqrt(a / r)). With x = sqrt(a r) and
 * y = sqrt(a / r), |h - x| <= 1/2 and |w - y| <= 1/2, so |h w - a| = |(h - x) w + x (w - y)|
 * <= (h + w) / 2 + 1/4, and h / w lies between (h - 1/2) / (w + 1/2) and
 * (h + 1/2) / (w - 1/2). */
static bool plausible_rectangle(int64_t h, int64_t w, geometry g)
{
    double area = (double)(g.h * g.w), slack = (double)(h + w) / 2 + 0.25;
    double hw = (double)(h * w);
    return h < g.h && w < g.w && hw + slack >= 0.02 * area && hw - slack <= 0.33 * area &&
           (h + 0.5) / (w - 0.5) >= 0.3 && (h - 0.5) / (w + 0.5) <= 3.3;
}

/* An erased image is zero on one rectangle in every channel and its source elsewhere. */
static void check_erasing(const float *image, geometry g, void *ctx)
{
    erase_stats *s = ctx;
    int64_t top, left, h, w, zeros, at;
    s->images++;
    zero_box(image, g, &top, &left, &h, &w, &zeros);
    source first = first_source(image, g, &at);
    if (zeros > 0) {
        s->erased++;
        s->bad_rectangles += zeros != h * w || !plausible_rectangle(h, w, g);
    }
    for (int64_t c = 0; c < g.c; c++)
        for (int64_t y = 0; y < g.h; y++)
            for (int64_t x = 0; x < g.w; x++) {
                bool in_box = zeros > 0 && y >= top && y < top + h && x >= left && x < left + w;
                float want = in_box ? 0 : pixel_value((source){first.i, c, y, x}, g);
                s->mismatches += image[(c * g.h + y) * g.w + x] != want;
            }
}

/* With probability 1 every image is erased: on 20 x 20, an attempt fails (a side reaches
 * 20) with probability about 0.0085 (Monte Carlo), all ten with about 2e-21. */
Test(augment, erasing_zeroes_one_rectangle_in_every_channel_within_torchvisions_ranges)
{
    erase_stats s = {0};
    for_each_image(32, (geometry){3, 20, 20}, &(gd_augment){.erase_probability = 1}, 20,
                   check_erasing, &s);
    cr_expect_eq(s.mismatches, 0, "%lld pixels are neither the source nor the rectangle's zeros",
                 (long long)s.mismatches);
    cr_expect_eq(s.bad_rectangles, 0, "%lld erased regions are not rectangles of the drawn sizes",
                 (long long)s.bad_rectangles);
    cr_expect_eq(s.erased, s.images, "%lld of %lld images erased", (long long)s.erased,
                 (long long)s.images);
}

/* 2560 images at p = 0.25: erasures expected 640, standard deviation
 * sqrt(2560 * 0.25 * 0.75) = 21.9. */
Test(augment, erasing_happens_with_its_probability)
{
    erase_stats s = {0};
    for_each_image(32, (geometry){3, 20, 20}, &(gd_augment){.erase_probability = 0.25}, 80,
                   check_erasing, &s);
    cr_assert_eq(s.images, 2560);
    cr_expect_eq(s.mismatches + s.bad_rectangles, 0);
    cr_expect(fabs(s.erased - 640.0) <= 5 * sqrt(2560 * 0.25 * 0.75), "%lld of 2560 images erased",
              (long long)s.erased);
}

/* ------------------------------------------------------------ reproducibility */

/* 200 images of 3 x 16 x 16 in batches of 64: 49152 floats a batch, above
 * GD_PARALLEL_MIN, so the threaded transform runs when threads > 1. */
#define REPRO_N 200
#define REPRO_SIZE (3 * 16 * 16)
static const geometry repro_geometry = {3, 16, 16};
static const gd_augment all_on = {.crop_padding = 2, .horizontal_flip = true,
                                  .erase_probability = 0.5};

typedef struct epoch_batches {
    float x[REPRO_N * REPRO_SIZE];
    int32_t y[REPRO_N];
} epoch_batches;

/* Epoch `epoch` of a fresh loader (seed 5, batches of 64) under aug, on `threads` threads. */
static void fresh_epoch(const gd_augment *aug, bool shuffle, int threads, int64_t epoch,
                        epoch_batches *out)
{
    gd_dataset *ds = numbered_images(REPRO_N, repro_geometry);
    gd_loader *l = augmented_loader(ds, 64, shuffle, 5, aug);
    gd_set_num_threads(threads);
    run_epoch(l, epoch, out->x, out->y);
    gd_loader_free(l);
    gd_dataset_free(ds);
}

Test(augment, same_seed_and_epoch_give_identical_batches_on_any_thread_count)
{
    epoch_batches *one = malloc(sizeof *one), *two = malloc(sizeof *two);
    fresh_epoch(&all_on, true, 1, 1, one);
    fresh_epoch(&all_on, true, 2, 1, two);
    cr_expect(memcmp(one, two, sizeof *one) == 0, "1 and 2 threads give different batches");
    free(one);
    free(two);
}

/* Without shuffling the epochs gather the same images, so a difference is augmentation's. */
Test(augment, different_epochs_draw_different_augmentations)
{
    epoch_batches *e0 = malloc(sizeof *e0), *e1 = malloc(sizeof *e1);
    fresh_epoch(&all_on, false, 1, 0, e0);
    fresh_epoch(&all_on, false, 1, 1, e1);
    cr_expect(memcmp(e0->x, e1->x, sizeof e0->x) != 0, "epochs 0 and 1 augmented alike");
    free(e0);
    free(e1);
}

/* A resumed run: a fresh loader started at epoch 2 sees what one that ran epochs 0 and 1
 * first sees, whether augmentation was set before or after starting the epoch. */
Test(augment, a_fresh_loader_at_epoch_e_matches_one_that_ran_epochs_0_to_e)
{
    epoch_batches *ran = malloc(sizeof *ran), *resumed = malloc(sizeof *resumed);
    gd_dataset *ds = numbered_images(REPRO_N, repro_geometry);
    gd_loader *l = augmented_loader(ds, 64, true, 5, &all_on);
    for (int64_t epoch = 0; epoch <= 2; epoch++)
        run_epoch(l, epoch, ran->x, ran->y);
    fresh_epoch(&all_on, true, 1, 2, resumed);
    cr_expect(memcmp(ran, resumed, sizeof *ran) == 0, "augmentation set, then epoch 2 started");

    gd_loader *late;
    gd_error err;
    cr_assert_eq(gd_loader_create(&late, ds, 64, true, false, 5, &err), GD_OK);
    gd_loader_start_epoch(late, 2);
    cr_assert_eq(gd_loader_set_augment(late, &all_on, &err), GD_OK, "%s", err.message);
    gd_tensor x;
    const int32_t *y;
    cr_assert(gd_loader_next(late, &x, &y));
    cr_expect(memcmp(x.data, ran->x, 64 * REPRO_SIZE * sizeof(float)) == 0,
              "epoch 2 started, then augmentation set");
    gd_loader_free(late);
    gd_loader_free(l);
    gd_dataset_free(ds);
    free(ran);
    free(resumed);
}

/* Augmentation has its own generator: the shuffle, and so every batch's samples and
 * labels, are those of the plain loader. */
Test(augment, labels_and_sample_order_are_those_of_the_plain_loader)
{
    epoch_batches *plain = malloc(sizeof *plain), *augmented = malloc(sizeof *augmented);
    fresh_epoch(NULL, true, 1, 3, plain);
    fresh_epoch(&all_on, true, 1, 3, augmented);
    cr_expect_arr_eq(plain->y, augmented->y, sizeof plain->y);
    for (int64_t i = 0; i < REPRO_N; i++) {
        int64_t at;
        source want = source_of(plain->x[i * REPRO_SIZE], repro_geometry);
        source got = first_source(augmented->x + i * REPRO_SIZE, repro_geometry, &at);
        cr_expect_eq(got.i, want.i, "position %lld holds sample %lld, plain has %lld",
                     (long long)i, (long long)got.i, (long long)want.i);
    }
    free(plain);
    free(augmented);
}

/* No augmentation, NULL, all transforms off, and augmentation switched off again all give
 * the plain loader's batches. Epoch 1 of l is plain's: */
static void expect_plain_epoch(gd_loader *l, const epoch_batches *plain, const char *setting)
{
    epoch_batches *got = malloc(sizeof *got);
    run_epoch(l, 1, got->x, got->y);
    cr_expect(memcmp(plain, got, sizeof *plain) == 0, "%s changed the batches", setting);
    free(got);
}

Test(augment, null_or_all_off_leaves_batches_unchanged)
{
    epoch_batches *plain = malloc(sizeof *plain);
    gd_dataset *ds = numbered_images(REPRO_N, repro_geometry);
    gd_loader *l;
    gd_error err;
    cr_assert_eq(gd_loader_create(&l, ds, 64, true, false, 5, &err), GD_OK);
    run_epoch(l, 1, plain->x, plain->y);
    cr_assert_eq(gd_loader_set_augment(l, NULL, &err), GD_OK);
    expect_plain_epoch(l, plain, "NULL");
    cr_assert_eq(gd_loader_set_augment(l, &(gd_augment){0}, &err), GD_OK);
    expect_plain_epoch(l, plain, "all off");
    cr_assert_eq(gd_loader_set_augment(l, &all_on, &err), GD_OK);
    cr_assert_eq(gd_loader_set_augment(l, NULL, &err), GD_OK);
    expect_plain_epoch(l, plain, "all on, then NULL");
    gd_loader_free(l);
    gd_dataset_free(ds);
    free(plain);
}

/* ------------------------------------------------------------------ errors */

static gd_status set_on(int ndim, const int64_t *dims, const gd_augment *aug, gd_error *err)
{
    int64_t size = 1;
    for (int i = 0; i < ndim; i++)
        size *= dims[i];
    float *x = calloc((size_t)(4 * size), sizeof *x);
    gd_dataset *ds;
    cr_assert_eq(gd_dataset_create(&ds, 4, ndim, dims, x, NULL, 1, err), GD_OK);
    gd_loader *l;
    cr_assert_eq(gd_loader_create(&l, ds, 2, true, false, 1, err), GD_OK);
    gd_status st = gd_loader_set_augment(l, aug, err);
    gd_loader_free(l);
    gd_dataset_free(ds);
    free(x);
    return st;
}

Test(augment, samples_that_are_not_c_x_h_x_w_are_a_shape_error)
{
    gd_error err;
    const gd_augment flip = {.horizontal_flip = true};
    cr_expect_eq(set_on(1, (int64_t[]){12}, &flip, &err), GD_ERR_SHAPE);
    cr_expect(strstr(err.message, "C x H x W") != NULL, "message: %s", err.message);
    cr_expect_eq(set_on(2, (int64_t[]){3, 4}, &flip, &err), GD_ERR_SHAPE);
}

Test(augment, negative_padding_is_rejected)
{
    gd_error err;
    cr_expect_eq(set_on(3, (int64_t[]){1, 4, 4}, &(gd_augment){.crop_padding = -1}, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "padding") != NULL, "message: %s", err.message);
}

Test(augment, an_erase_probability_outside_0_1_is_rejected)
{
    gd_error err;
    const int64_t dims[] = {1, 4, 4};
    cr_expect_eq(set_on(3, dims, &(gd_augment){.erase_probability = 1.5}, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "probability") != NULL, "message: %s", err.message);
    cr_expect_eq(set_on(3, dims, &(gd_augment){.erase_probability = -0.1}, &err),
                 GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(set_on(3, dims, &(gd_augment){.erase_probability = NAN}, &err),
                 GD_ERR_INVALID_ARGUMENT);
}

/* A rejected setting leaves the loader as it was: still augmenting with the old one. */
Test(augment, a_rejected_setting_keeps_the_previous_one)
{
    epoch_batches *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    fresh_epoch(&all_on, true, 1, 0, before);
    gd_dataset *ds = numbered_images(REPRO_N, repro_geometry);
    gd_loader *l = augmented_loader(ds, 64, true, 5, &all_on);
    gd_error err;
    cr_expect_eq(gd_loader_set_augment(l, &(gd_augment){.crop_padding = -3}, &err),
                 GD_ERR_INVALID_ARGUMENT);
    run_epoch(l, 0, after->x, after->y);
    cr_expect(memcmp(before, after, sizeof *before) == 0);
    gd_loader_free(l);
    gd_dataset_free(ds);
    free(before);
    free(after);
}

/* ------------------------------------------------------------------ shards */

/* Epoch 1 read through `ranks` loaders sharded 0 .. ranks - 1, each batch's shards put
 * together in rank order: a data-parallel job's global batches. */
static void sharded_epoch(const gd_augment *aug, int ranks, epoch_batches *out)
{
    gd_dataset *ds = numbered_images(REPRO_N, repro_geometry);
    gd_loader *l[3];
    gd_error err;
    for (int r = 0; r < ranks; r++) {
        l[r] = augmented_loader(ds, 64, true, 5, aug);
        cr_assert_eq(gd_loader_set_shard(l[r], r, ranks, &err), GD_OK, "%s", err.message);
        gd_loader_start_epoch(l[r], 1);
    }
    int64_t seen = 0, size = image_size(repro_geometry);
    for (bool more = true; more;) {
        for (int r = 0; r < ranks; r++) {
            gd_tensor batch;
            const int32_t *labels;
            more = gd_loader_next(l[r], &batch, &labels);
            if (!more)
                break;
            int64_t rows = batch.dims[0], first, total;
            gd_loader_shard(l[r], &first, &total);
            cr_expect_eq(first, total * r / ranks, "rank %d's shard starts at %lld", r,
                         (long long)first);
            memcpy(out->x + seen * size, batch.data, (size_t)(rows * size) * sizeof *out->x);
            memcpy(out->y + seen, labels, (size_t)rows * sizeof *out->y);
            seen += rows;
        }
    }
    cr_expect_eq(seen, REPRO_N);
    for (int r = 0; r < ranks; r++)
        gd_loader_free(l[r]);
    gd_dataset_free(ds);
}

Test(augment, the_shards_of_every_batch_together_are_the_one_loader_batch)
{
    epoch_batches *one = malloc(sizeof *one), *shards = malloc(sizeof *shards);
    fresh_epoch(&all_on, true, 1, 1, one);
    for (int ranks = 1; ranks <= 3; ranks++) {
        memset(shards, 0, sizeof *shards);
        sharded_epoch(&all_on, ranks, shards);
        cr_expect(memcmp(one, shards, sizeof *one) == 0,
                  "%d ranks' shards differ from the one loader's batches", ranks);
    }
    free(one);
    free(shards);
}

Test(augment, a_shard_outside_the_ranks_is_refused)
{
    gd_dataset *ds = numbered_images(8, repro_geometry);
    gd_loader *l = augmented_loader(ds, 4, true, 5, NULL);
    gd_error err;
    cr_expect_eq(gd_loader_set_shard(l, 2, 2, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_eq(gd_loader_set_shard(l, 0, 0, &err), GD_ERR_INVALID_ARGUMENT);
    gd_loader_free(l);
    gd_dataset_free(ds);
}
