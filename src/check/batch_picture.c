/* What the network sees: a batch drawn as a PNG (include/gradus.h gives the layout, the
 * grey mapping and the numbers). The picture is laid out in an RGB canvas, encoded by
 * libpng into memory and written atomically. */
#include "../core/internal.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define GAP 4        /* px between tiles and around the picture */
#define GLYPH_W 3    /* the font's cells, drawn at FONT_SCALE */
#define GLYPH_H 5
#define FONT_SCALE 2
#define ADVANCE ((GLYPH_W + 1) * FONT_SCALE)
#define LINE_H (GLYPH_H * FONT_SCALE + 4) /* a label strip, the numbers' line */
#define MAX_SIDE 16384

static const unsigned char background[3] = {24, 40, 64}, ink[3] = {255, 255, 255},
                           not_finite[3] = {255, 0, 255};

/* ------------------------------------------------------------- the font */

/* 3 x 5 glyphs, one row per entry, bit 2 the left column: digits and what %G prints
 * (sign, point, E, INF, NAN) and the words of the numbers' line. */
static const struct glyph {
    char c;
    unsigned char rows[GLYPH_H];
} font[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}},
    {'3', {7, 1, 3, 1, 7}}, {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}},
    {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 2, 2}}, {'8', {7, 5, 7, 5, 7}},
    {'9', {7, 5, 7, 1, 7}}, {'-', {0, 0, 7, 0, 0}}, {'+', {0, 2, 7, 2, 0}},
    {'.', {0, 0, 0, 0, 2}}, {'A', {2, 5, 7, 5, 5}}, {'D', {6, 5, 5, 5, 6}},
    {'E', {7, 4, 6, 4, 7}}, {'F', {7, 4, 6, 4, 4}}, {'I', {7, 2, 2, 2, 7}},
    {'M', {5, 7, 7, 5, 5}}, {'N', {6, 5, 5, 5, 5}}, {'S', {3, 4, 2, 1, 6}},
    {'T', {7, 2, 2, 2, 2}}, {'X', {5, 5, 2, 5, 5}},
};

typedef struct canvas {
    unsigned char *rgb;
    int w, h;
} canvas;

static void fill(canvas *cv, int x, int y, int w, int h, const unsigned char c[3])
{
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) {
            if (i < 0 || j < 0 || i >= cv->w || j >= cv->h)
                continue;
            unsigned char *p = cv->rgb + 3 * ((size_t)j * (size_t)cv->w + (size_t)i);
            memcpy(p, c, 3);
        }
}

/* Text at (x, y), cut at x_end: a label never runs into the next tile. */
static void draw_text(canvas *cv, int x, int y, int x_end, const char *s)
{
    for (; *s && x + ADVANCE - FONT_SCALE <= x_end; s++, x += ADVANCE) {
        const struct glyph *g = NULL;
        for (size_t k = 0; k < sizeof font / sizeof font[0]; k++)
            if (font[k].c == *s)
                g = &font[k];
        for (int r = 0; g && r < GLYPH_H; r++)
            for (int c = 0; c < GLYPH_W; c++)
                if (g->rows[r] & (4 >> c))
                    fill(cv, x + c * FONT_SCALE, y + r * FONT_SCALE, FONT_SCALE, FONT_SCALE, ink);
    }
}

/* ------------------------------------------------------------ the numbers */

static void statistics(const float *v, int64_t n, gd_batch_picture_info *info)
{
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    int64_t finite = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            sum += v[i], finite++;
            lo = fmin(lo, v[i]), hi = fmax(hi, v[i]);
        }
    double mean = finite ? sum / (double)finite : NAN, ss = 0;
    for (int64_t i = 0; i < n; i++) /* two passes: no cancellation in the variance */
        if (isfinite(v[i]))
            ss += (v[i] - mean) * (v[i] - mean);
    info->mean = mean;
    info->std = finite ? sqrt(ss / (double)finite) : NAN;
    info->min = finite ? lo : NAN;
    info->max = finite ? hi : NAN;
    info->values = n;
    info->nonfinite = n - finite;
}

static void grey(const gd_batch_picture_info *info, float v, unsigned char out[3])
{
    if (!isfinite(v)) {
        memcpy(out, not_finite, 3);
        return;
    }
    double span = info->max - info->min;
    long q = span > 0 ? lrint(255.0 * ((double)v - info->min) / span) : 128;
    out[0] = out[1] = out[2] = (unsigned char)(q < 0 ? 0 : q > 255 ? 255 : q);
}

/* ------------------------------------------------------------- the layout */

typedef struct layout {
    int64_t n, channels, height, width, values; /* per sample */
    int label_w;                                /* heat map: the labels' column */
} layout;

static int auto_scale(int64_t side, int64_t budget)
{
    int64_t s = budget / (side > 0 ? side : 1);
    return (int)(s < 1 ? 1 : s > 8 ? 8 : s);
}

static int digits(int32_t v)
{
    char buf[16];
    return snprintf(buf, sizeof buf, "%d", (int)v);
}

/* Fills info's geometry; false when a side passes MAX_SIDE. */
static bool plan(const gd_tensor *x, const int32_t *labels, const gd_batch_picture_options *o,
                 int footer_w, layout *l, gd_batch_picture_info *info)
{
    l->n = x->dims[0];
    l->values = gd_tensor_numel(x) / l->n;
    info->images = (x->ndim == 4 && (x->dims[1] == 1 || x->dims[1] == 3)) || x->ndim == 3;
    int64_t w, h;
    if (info->images) {
        l->channels = x->ndim == 4 ? x->dims[1] : 1;
        l->height = x->dims[x->ndim - 2], l->width = x->dims[x->ndim - 1];
        int s = o->scale > 0 ? o->scale : auto_scale(l->height > l->width ? l->height : l->width, 64);
        int64_t cols = o->cols > 0 ? o->cols : (int64_t)ceil(sqrt((double)l->n));
        if (cols > l->n)
            cols = l->n;
        if (l->width * s > MAX_SIDE || l->height * s > MAX_SIDE || cols > MAX_SIDE)
            return false;
        info->value_w = info->value_h = s;
        info->cols = (int)cols, info->rows = (int)((l->n + cols - 1) / cols);
        info->x0 = info->y0 = GAP;
        info->pitch_x = (int)(l->width * s + GAP);
        info->pitch_y = (int)(l->height * s + (labels ? LINE_H : 0) + GAP);
        w = GAP + cols * info->pitch_x;
        h = GAP + (int64_t)info->rows * info->pitch_y;
    } else {
        l->channels = 1, l->height = 1, l->width = l->values;
        int maxd = 0;
        for (int64_t i = 0; labels && i < l->n; i++)
            maxd = digits(labels[i]) > maxd ? digits(labels[i]) : maxd;
        l->label_w = labels ? maxd * ADVANCE + GAP : 0;
        int s = o->scale > 0 ? o->scale : auto_scale(l->values, 512);
        int rh = o->row_height > 0 ? o->row_height : 12;
        if (l->values * s > MAX_SIDE || rh > MAX_SIDE || l->n > MAX_SIDE)
            return false;
        info->value_w = s, info->value_h = rh;
        info->cols = 1, info->rows = (int)l->n;
        info->x0 = GAP + l->label_w, info->y0 = GAP;
        info->pitch_x = 0, info->pitch_y = rh;
        w = info->x0 + l->values * s + GAP;
        h = GAP + l->n * rh + GAP;
    }
    if (w < footer_w + 2 * GAP)
        w = footer_w + 2 * GAP;
    h += LINE_H;
    if (w > MAX_SIDE || h > MAX_SIDE)
        return false;
    info->width = (int)w, info->height = (int)h;
    return true;
}

/* One channel: grey; three: each its own grey level as red, green and blue, and magenta
 * when any of them is not finite. */
static void pixel(const layout *l, const gd_batch_picture_info *info, const float *sample,
                  int64_t at, unsigned char c[3])
{
    if (l->channels == 1) {
        grey(info, sample[at], c);
        return;
    }
    for (int64_t ch = 0; ch < 3; ch++) {
        float v = sample[ch * l->height * l->width + at];
        unsigned char g[3];
        if (!isfinite(v)) {
            memcpy(c, not_finite, 3);
            return;
        }
        grey(info, v, g);
        c[ch] = g[0];
    }
}

static void draw(canvas *cv, const layout *l, const float *v, const int32_t *labels,
                 const char *footer, const gd_batch_picture_info *info)
{
    fill(cv, 0, 0, cv->w, cv->h, background);
    for (int64_t i = 0; i < l->n; i++) {
        int ox = info->x0 + (int)(i % info->cols) * info->pitch_x;
        int oy = info->y0 + (int)(i / info->cols) * info->pitch_y;
        const float *sample = v + i * l->values;
        for (int64_t y = 0; y < l->height; y++)
            for (int64_t x = 0; x < l->width; x++) {
                unsigned char c[3];
                pixel(l, info, sample, y * l->width + x, c);
                fill(cv, ox + (int)x * info->value_w, oy + (int)y * info->value_h, info->value_w,
                     info->value_h, c);
            }
        if (!labels)
            continue;
        char buf[16];
        snprintf(buf, sizeof buf, "%d", (int)labels[i]);
        if (info->images)
            draw_text(cv, ox, oy + (int)l->height * info->value_h + 2, ox + info->pitch_x - GAP, buf);
        else
            draw_text(cv, GAP, oy + (info->value_h - GLYPH_H * FONT_SCALE) / 2, info->x0 - GAP, buf);
    }
    draw_text(cv, GAP, cv->h - LINE_H + 2, cv->w - GAP, footer);
}

/* --------------------------------------------------------------- encoding */

typedef struct sink {
    unsigned char *buf;
    size_t len, cap;
    bool failed;
} sink;

static void sink_write(png_structp png, png_bytep data, png_size_t n)
{
    sink *s = png_get_io_ptr(png);
    if (s->failed)
        return;
    if (s->len + n > s->cap) {
        size_t cap = (s->cap + n) * 2;
        unsigned char *b = realloc(s->buf, cap);
        if (!b) {
            s->failed = true;
            png_error(png, "out of memory");
        }
        s->buf = b, s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
}

static void sink_flush(png_structp png) { (void)png; }

/* libpng reports failures by longjmp: every local that the handler reads (png, pinfo,
 * rows) is set before setjmp and never after, so none needs to be volatile. */
static gd_status encode(const canvas *cv, const char *description, sink *s, char *msg)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop pinfo = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = malloc(sizeof(png_bytep) * (size_t)cv->h);
    if (!png || !pinfo || !rows) {
        png_destroy_write_struct(&png, pinfo ? &pinfo : NULL);
        free(rows);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "batch picture: out of memory for the encoder");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &pinfo);
        free(rows);
        return gd_fail(msg, s->failed ? GD_ERR_NO_MEMORY : GD_ERR_FORMAT,
                       "batch picture: libpng could not encode the picture");
    }
    png_set_write_fn(png, s, sink_write, sink_flush);
    png_set_IHDR(png, pinfo, (png_uint_32)cv->w, (png_uint_32)cv->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_text t = {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Description",
                  .text = (char *)description, .text_length = strlen(description)};
    png_set_text(png, pinfo, &t, 1);
    for (int j = 0; j < cv->h; j++)
        rows[j] = cv->rgb + 3 * (size_t)j * (size_t)cv->w;
    png_set_rows(png, pinfo, rows);
    png_write_png(png, pinfo, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &pinfo);
    free(rows);
    return GD_OK;
}

/* "mean=... std=... min=... max=... samples=N labels=3,1,4" (malloc'd), exact digits. */
static char *describe(const gd_batch_picture_info *info, const int32_t *labels)
{
    size_t cap = 256 + (labels ? 12 * (size_t)info->samples : 0);
    char *d = malloc(cap);
    if (!d)
        return NULL;
    size_t len = (size_t)snprintf(d, cap, "mean=%.17g std=%.17g min=%.17g max=%.17g "
                                  "values=%lld nonfinite=%lld samples=%lld%s",
                                  info->mean, info->std, info->min, info->max,
                                  (long long)info->values, (long long)info->nonfinite,
                                  (long long)info->samples, labels ? " labels=" : "");
    for (int64_t i = 0; labels && i < info->samples; i++)
        len += (size_t)snprintf(d + len, cap - len, "%s%d", i ? "," : "", (int)labels[i]);
    return d;
}

gd_status gd_batch_picture_png(const gd_tensor *x, const int32_t *labels,
                               const gd_batch_picture_options *opt, unsigned char **png,
                               size_t *len, gd_batch_picture_info *info, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_batch_picture_info local;
    gd_batch_picture_options o = opt ? *opt : (gd_batch_picture_options){0};
    info = info ? info : &local;
    *info = (gd_batch_picture_info){0};
    if (png)
        *png = NULL;
    int64_t numel;
    if (!x || !x->data || !png || !len || x->ndim < 1 || x->ndim > GD_MAX_DIMS ||
        !gd_numel_checked(x->ndim, x->dims, &numel) || x->dims[0] < 1 || numel < 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "batch picture: need a batch of at least "
                       "one sample and somewhere to put the picture");
    if (o.cols < 0 || o.scale < 0 || o.row_height < 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "batch picture: negative cols, scale or "
                       "row height");
    info->samples = x->dims[0];
    statistics(x->data, numel, info);
    char footer[160];
    snprintf(footer, sizeof footer, "MEAN %.4G  STD %.4G  MIN %.4G  MAX %.4G", info->mean,
             info->std, info->min, info->max);
    layout l = {0};
    if (!plan(x, labels, &o, (int)strlen(footer) * ADVANCE, &l, info))
        return gd_fail(msg, GD_ERR_LIMIT, "batch picture: more than %d pixels a side", MAX_SIDE);
    size_t bytes = 3 * (size_t)info->width * (size_t)info->height;
    gd_status st = gd_check_memory(msg, "batch picture", bytes);
    if (st != GD_OK)
        return st;
    canvas cv = {.rgb = malloc(bytes), .w = info->width, .h = info->height};
    char *description = describe(info, labels);
    sink s = {0};
    if (!cv.rgb || !description)
        st = gd_fail(msg, GD_ERR_NO_MEMORY, "batch picture: out of memory");
    else {
        draw(&cv, &l, x->data, labels, footer, info);
        st = encode(&cv, description, &s, msg);
    }
    free(cv.rgb);
    free(description);
    if (st != GD_OK) {
        free(s.buf);
        return st;
    }
    *png = s.buf;
    *len = s.len;
    return GD_OK;
}

gd_status gd_batch_picture_write(const gd_tensor *x, const int32_t *labels,
                                 const gd_batch_picture_options *opt, const char *path,
                                 gd_batch_picture_info *info, gd_error *err)
{
    unsigned char *png;
    size_t len;
    gd_status st = gd_batch_picture_png(x, labels, opt, &png, &len, info, err);
    if (st != GD_OK)
        return st;
    st = gd_write_file_atomic(path, png, len, err);
    free(png);
    return st;
}

gd_status gd_run_batch_picture(gd_run *run, const char *path, const gd_batch_picture_options *opt,
                               gd_batch_picture_info *info, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_loader *loader;
    gd_status st = gd_run_training_loader(run, &loader, err);
    if (st != GD_OK)
        return st;
    gd_tensor x;
    const int32_t *labels;
    gd_loader_start_epoch(loader, 0);
    if (gd_loader_next(loader, &x, &labels))
        st = gd_batch_picture_write(&x, labels, opt, path, info, err);
    else
        st = gd_fail(msg, GD_ERR_STATE, "batch picture: the training split gives no batch");
    gd_loader_free(loader);
    return st;
}
