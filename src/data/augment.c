/* Image augmentation for the loader, as torchvision's transforms in this order:
 * RandomCrop(size=(H, W), padding=p) on the zero-padded image, RandomHorizontalFlip(0.5),
 * RandomErasing(p, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0).
 *
 * Each batch is augmented in two passes: the draws of every sample, serially in sample
 * order from one generator, then the transforms, which are independent per sample and so
 * may run on any number of threads. The batch's bits thus depend on (seed, epoch) and the
 * batch's position in the epoch alone, never on the thread count. */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* RandomErasing's defaults (Zhong et al., torchvision), and its number of tries. */
#define ERASE_SCALE_MIN 0.02
#define ERASE_SCALE_MAX 0.33
#define ERASE_RATIO_MIN 0.3
#define ERASE_RATIO_MAX 3.3
#define ERASE_ATTEMPTS 10

/* What was drawn for one sample. */
typedef struct sample_draw {
    int64_t dy, dx;          /* the crop reads pixel (y + dy, x + dx) of the unpadded image */
    bool flip;
    int64_t top, left, h, w; /* the erased rectangle; h = 0 when none */
} sample_draw;

struct gd_augmenter {
    gd_augment aug;
    int64_t channels, height, width;
    gd_rng *rng;
    sample_draw *draws; /* one per sample of the largest batch */
};

gd_status gd_augmenter_create(gd_augmenter **out, const gd_augment *aug, const gd_shape *s,
                              int64_t max_rows, char *msg)
{
    *out = NULL;
    if (!aug || (aug->crop_padding == 0 && !aug->horizontal_flip && aug->erase_probability == 0))
        return GD_OK;
    if (aug->crop_padding < 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "augment: crop padding is %d, must be >= 0",
                       aug->crop_padding);
    if (!(aug->erase_probability >= 0 && aug->erase_probability <= 1))
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "augment: erase probability is %g, must be in [0, 1]",
                       aug->erase_probability);
    if (s->ndim != 3) {
        char shape[64];
        return gd_fail(msg, GD_ERR_SHAPE,
                       "augment: samples have shape %s, need C x H x W images",
                       gd_shape_str(s, shape, sizeof shape));
    }
    gd_augmenter *a = malloc(sizeof *a);
    if (!a)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "augment: out of memory");
    *a = (gd_augmenter){.aug = *aug, .channels = s->dims[0], .height = s->dims[1],
                        .width = s->dims[2]};
    a->draws = malloc((size_t)max_rows * sizeof *a->draws);
    if (!a->draws || gd_rng_create(&a->rng, 0) != GD_OK) {
        gd_augmenter_free(a);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "augment: out of memory for %lld samples",
                       (long long)max_rows);
    }
    *out = a;
    return GD_OK;
}

void gd_augmenter_free(gd_augmenter *a)
{
    if (!a)
        return;
    gd_rng_free(a->rng);
    free(a->draws);
    free(a);
}

/* The shuffle mixes the epoch with the golden ratio's 64-bit constant; this stream uses
 * another odd constant with well-spread bits (the R2 sequence's, from the plastic number),
 * so an epoch's shuffle and augmentation draw unrelated streams after splitmix64. */
void gd_augmenter_start_epoch(gd_augmenter *a, uint64_t seed, int64_t epoch)
{
    gd_rng_seed(a->rng, seed ^ (0xd1b54a32d192ed03ULL * ((uint64_t)epoch + 1)));
}

static int64_t uniform_below(gd_rng *rng, int64_t n)
{
    return (int64_t)gd_uniform_below(rng, (uint64_t)n);
}

/* torchvision's RandomErasing.get_params: up to ERASE_ATTEMPTS tries of an area fraction
 * uniform in the scale and a log-aspect uniform in log(ratio); h = round(sqrt(area *
 * ratio)), w = round(sqrt(area / ratio)) with Python's round (half to even, as nearbyint
 * in the default rounding mode); the first rectangle smaller than the image in both sides
 * is placed uniformly. None fits: d->h stays 0 and the image is kept. */
static void draw_erasing(gd_rng *rng, int64_t height, int64_t width, sample_draw *d)
{
    double area = (double)(height * width);
    double log_min = log(ERASE_RATIO_MIN), log_max = log(ERASE_RATIO_MAX);
    for (int attempt = 0; attempt < ERASE_ATTEMPTS; attempt++) {
        double target =
            area * (ERASE_SCALE_MIN + (ERASE_SCALE_MAX - ERASE_SCALE_MIN) * gd_rng_uniform(rng));
        double ratio = exp(log_min + (log_max - log_min) * gd_rng_uniform(rng));
        int64_t h = (int64_t)nearbyint(sqrt(target * ratio));
        int64_t w = (int64_t)nearbyint(sqrt(target / ratio));
        if (h >= height || w >= width)
            continue;
        d->top = uniform_below(rng, height - h + 1);
        d->left = uniform_below(rng, width - w + 1);
        d->h = h;
        d->w = w;
        return;
    }
}

/* One sample's draws, in torchvision's order: crop offsets (top, then left) in [0, 2p],
 * the flip, the erasing; a transform that is off draws nothing. */
static void draw_sample(const gd_augmenter *a, sample_draw *d)
{
    *d = (sample_draw){0};
    int64_t p = a->aug.crop_padding;
    if (p > 0) {
        d->dy = uniform_below(a->rng, 2 * p + 1) - p;
        d->dx = uniform_below(a->rng, 2 * p + 1) - p;
    }
    if (a->aug.horizontal_flip)
        d->flip = gd_rng_uniform(a->rng) < 0.5;
    if (a->aug.erase_probability > 0 && gd_rng_uniform(a->rng) < a->aug.erase_probability)
        draw_erasing(a->rng, a->height, a->width, d);
}

/* out(y, x) = in(y + dy, x + dx), zero outside in: the H x W crop at offset (p + dy,
 * p + dx) of the image zero-padded by p, in place. Rows are visited so that each source
 * row is read before it is overwritten (downwards when reading from below); memmove
 * handles the overlap within a row. */
static void shift_plane(float *plane, int64_t height, int64_t width, int64_t dy, int64_t dx)
{
    int64_t span = width - llabs(dx);
    int64_t to = dx < 0 ? -dx : 0, from = dx > 0 ? dx : 0;
    for (int64_t k = 0; k < height; k++) {
        int64_t y = dy > 0 ? k : height - 1 - k, source = y + dy;
        float *row = plane + y * width;
        if (source < 0 || source >= height || span <= 0) {
            memset(row, 0, (size_t)width * sizeof *row);
            continue;
        }
        memmove(row + to, plane + source * width + from, (size_t)span * sizeof *row);
        memset(row, 0, (size_t)to * sizeof *row);
        memset(row + to + span, 0, (size_t)(width - to - span) * sizeof *row);
    }
}

static void mirror_plane(float *plane, int64_t height, int64_t width)
{
    for (int64_t y = 0; y < height; y++) {
        float *row = plane + y * width;
        for (int64_t i = 0, j = width - 1; i < j; i++, j--) {
            float t = row[i];
            row[i] = row[j];
            row[j] = t;
        }
    }
}

static void erase_plane(float *plane, int64_t width, const sample_draw *d)
{
    for (int64_t y = d->top; y < d->top + d->h; y++)
        memset(plane + y * width + d->left, 0, (size_t)d->w * sizeof *plane);
}

/* Crop, then flip, then erase, on every channel of one image. */
static void transform_sample(const gd_augmenter *a, const sample_draw *d, float *image)
{
    int64_t height = a->height, width = a->width;
    for (int64_t c = 0; c < a->channels; c++) {
        float *plane = image + c * height * width;
        if (d->dy != 0 || d->dx != 0)
            shift_plane(plane, height, width, d->dy, d->dx);
        if (d->flip)
            mirror_plane(plane, height, width);
        if (d->h > 0)
            erase_plane(plane, width, d);
    }
}

void gd_augmenter_apply(gd_augmenter *a, float *x, int64_t rows, int64_t first, int64_t count)
{
    for (int64_t i = 0; i < rows; i++)
        draw_sample(a, &a->draws[i]);
    int64_t size = a->channels * a->height * a->width, floats = count * size;
#pragma omp parallel for num_threads(gd_threads()) if (floats > GD_PARALLEL_MIN) schedule(static)
    for (int64_t i = 0; i < count; i++)
        transform_sample(a, &a->draws[first + i], x + i * size);
}
