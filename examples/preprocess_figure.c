/* The figures of docs/preprocessing.md, drawn with gradus's own preprocessing.
 *
 *   preprocess_figure TOY.svg [FASHION.svg [FASHION_MNIST_DIR]]
 *
 * TOY.svg: the lecture's slide as six scatter panels: an elongated 2-D cloud off the
 * origin, then center, standardize, pca:2, whiten and zca fitted on it. Each panel has
 * its own scale (equal on both axes, so a circle stays a circle), axes through the
 * origin and its extent written at the axes' ends; points are coloured by their position
 * along the cloud's long axis, so rotations show.
 *
 * FASHION.svg: the Fashion-MNIST training set's mean image and its first 8 principal
 * components (pca:8), each labelled with its share of the total variance.
 *
 * Only the public header is used: the mean and the components are read off the fitted
 * transforms by applying them (both are affine).
 */
#include <gradus.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ toy data */

#define TOY_POINTS 400
#define PANEL 220   /* px, square */
#define GAP 24      /* px between panels */
#define TITLE 30    /* px above each panel */

typedef struct panel {
    const char *spec;  /* NULL: the raw data */
    const char *title; /* SVG text (entities allowed) */
} panel;

static const panel g_panels[] = {
    {NULL, "raw data"},
    {"center", "center: x &#8722; mean"},
    {"standardize", "standardize: (x &#8722; mean) / std"},
    {"pca:2", "pca:2: rotated onto the axes"},
    {"whiten", "whiten: pca &#247; &#8730;(&#955; + eps)"},
    {"zca", "zca: whitened, rotated back"},
};
#define NPANELS (int)(sizeof g_panels / sizeof g_panels[0])

/* x spread 3 and y spread sqrt(5), correlated 0.89, centred at (5, 3); t gets each point's
 * position along the long axis (its first latent draw), for colouring. */
static void toy_data(float *x, double *t)
{
    gd_rng *rng;
    gd_rng_create(&rng, 2024);
    for (int i = 0; i < TOY_POINTS; i++) {
        double z1 = gd_rng_normal(rng), z2 = gd_rng_normal(rng);
        x[2 * i] = (float)(5 + 3 * z1);
        x[2 * i + 1] = (float)(3 + 2 * z1 + z2);
        t[i] = z1;
    }
    gd_rng_free(rng);
}

/* The smallest round number (a step below times a power of ten) at or above v. */
static double nice_ceil(double v)
{
    static const double steps[] = {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};
    double p = pow(10, floor(log10(v)));
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (steps[i] * p >= v)
            return steps[i] * p;
    return 10 * p;
}

/* Colour bin b of COLOURS: blue (t <= -2) through grey to orange (t >= 2). */
#define COLOURS 17
static int colour_bin(double t)
{
    double u = fmin(fmax(t / 2, -1), 1);
    return (int)lround((u + 1) / 2 * (COLOURS - 1));
}

static void colour(int bin, int rgb[3])
{
    static const int lo[3] = {49, 104, 196}, mid[3] = {150, 150, 150}, hi[3] = {230, 120, 20};
    double u = 2.0 * bin / (COLOURS - 1) - 1;
    const int *end = u < 0 ? lo : hi;
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(mid[c] + fabs(u) * (end[c] - mid[c]));
}

static void draw_panel(FILE *f, const panel *p, const float *y, const double *t, int px, int py)
{
    double extent = 0;
    for (int i = 0; i < 2 * TOY_POINTS; i++)
        extent = fmax(extent, fabs(y[i]));
    extent = nice_ceil(extent * 1.05);
    double half = PANEL / 2.0, s = half / extent;
    double cx = px + half, cy = py + TITLE + half;
    fprintf(f, "<text x=\"%g\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n",
            cx, py + 18, p->title);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
               "stroke=\"#bbb\"/>\n", px, py + TITLE, PANEL, PANEL);
    fprintf(f, "<path d=\"M%d %g h%d M%g %d v%d\" stroke=\"#444\" stroke-width=\"1\"/>\n", px,
            cy, PANEL, cx, py + TITLE, PANEL);
    fprintf(f, "<text x=\"%d\" y=\"%g\" text-anchor=\"end\" font-size=\"10\" fill=\"#444\">"
               "%g</text>\n", px + PANEL - 3, cy - 4, extent);
    fprintf(f, "<text x=\"%g\" y=\"%d\" font-size=\"10\" fill=\"#444\">%g</text>\n", cx + 4,
            py + TITLE + 11, extent);
    /* Points as zero-length round-capped strokes, one path per colour: a dot each. */
    for (int b = 0; b < COLOURS; b++) {
        int rgb[3], any = 0;
        colour(b, rgb);
        for (int i = 0; i < TOY_POINTS; i++) {
            if (colour_bin(t[i]) != b)
                continue;
            if (!any++)
                fprintf(f, "<path stroke=\"rgb(%d,%d,%d)\" stroke-width=\"4\" "
                           "stroke-linecap=\"round\" stroke-opacity=\"0.8\" d=\"",
                        rgb[0], rgb[1], rgb[2]);
            fprintf(f, "M%.1f %.1fh0", cx + s * y[2 * i], cy - s * y[2 * i + 1]);
        }
        if (any)
            fprintf(f, "\"/>\n");
    }
}

static int toy_figure(const char *path)
{
    float x[2 * TOY_POINTS], y[2 * TOY_POINTS];
    double t[TOY_POINTS];
    toy_data(x, t);
    gd_dataset *ds;
    gd_error err;
    if (gd_dataset_create(&ds, TOY_POINTS, 1, (int64_t[]){2}, x, NULL, 1, &err) != GD_OK) {
        fprintf(stderr, "preprocess_figure: %s\n", err.message);
        return 1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        gd_dataset_free(ds);
        return 1;
    }
    int cols = 3, rows = (NPANELS + cols - 1) / cols;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
               "fill=\"white\"/>\n",
            cols * (PANEL + GAP) + GAP, rows * (PANEL + TITLE + GAP) + GAP);
    int status = 0;
    for (int k = 0; k < NPANELS && !status; k++) {
        const panel *p = &g_panels[k];
        gd_preprocess *pre = NULL;
        if (p->spec && (gd_preprocess_fit(&pre, p->spec, 1e-5, ds, &err) != GD_OK ||
                        gd_preprocess_apply(pre, x, TOY_POINTS, y) != GD_OK)) {
            fprintf(stderr, "preprocess_figure: %s: %s\n", p->spec, err.message);
            status = 1;
        }
        draw_panel(f, p, p->spec ? y : x, t, GAP + (k % cols) * (PANEL + GAP),
                   GAP + (k / cols) * (PANEL + TITLE + GAP));
        gd_preprocess_free(pre);
    }
    fprintf(f, "</svg>\n");
    gd_dataset_free(ds);
    return fclose(f) || status;
}

/* ------------------------------------------------------------ Fashion-MNIST */

#define SIDE 28
#define PIXELS (SIDE * SIDE)
#define COMPONENTS 8
#define ZOOM 3
#define LEVELS 64 /* grey levels; one SVG path per level keeps the file small */

/* A 28 x 28 image as grey paths: value lo is black, hi white. Runs of equal level along
 * a row become one rectangle. */
static void draw_image(FILE *f, const double *v, double lo, double hi, int px, int py,
                       const char *label)
{
    int level[PIXELS];
    for (int i = 0; i < PIXELS; i++) {
        double u = (v[i] - lo) / (hi - lo);
        level[i] = (int)lround(fmin(fmax(u, 0), 1) * (LEVELS - 1));
    }
    fprintf(f, "<g transform=\"translate(%d %d) scale(%d)\" shape-rendering=\"crispEdges\">\n",
            px, py, ZOOM);
    for (int l = 0; l < LEVELS; l++) {
        int grey = l * 255 / (LEVELS - 1), any = 0;
        for (int r = 0; r < SIDE; r++)
            for (int c = 0; c < SIDE; c++) {
                if (level[r * SIDE + c] != l || (c > 0 && level[r * SIDE + c - 1] == l))
                    continue;
                int run = 1;
                while (c + run < SIDE && level[r * SIDE + c + run] == l)
                    run++;
                if (!any++)
                    fprintf(f, "<path fill=\"rgb(%d,%d,%d)\" d=\"", grey, grey, grey);
                fprintf(f, "M%d %dh%dv1h-%dz", c, r, run, run);
            }
        if (any)
            fprintf(f, "\"/>\n");
    }
    fprintf(f, "</g>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"12\">%s"
               "</text>\n", px + SIDE * ZOOM / 2, py + SIDE * ZOOM + 16, label);
}

/* Total variance: the sum over pixels of each pixel's variance, in double. */
static double total_variance(const float *x, int64_t n)
{
    double total = 0;
    for (int j = 0; j < PIXELS; j++) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < n; i++)
            s += x[i * PIXELS + j];
        double mean = s / (double)n;
        for (int64_t i = 0; i < n; i++)
            s2 += (x[i * PIXELS + j] - mean) * (x[i * PIXELS + j] - mean);
        total += s2 / (double)n;
    }
    return total;
}

/* The mean (center applied to a black image gives -mean), the components (pca is affine,
 * y = C (x - mean), so mean + e_j maps to column j of C) and each component's variance
 * (its output's variance over the training set). */
static gd_status fashion_statistics(gd_dataset *ds, double *mean, double *comp, double *var)
{
    gd_preprocess *center = NULL, *pca = NULL;
    gd_error err;
    int64_t n = gd_dataset_size(ds);
    float *probe = malloc(PIXELS * PIXELS * sizeof *probe);
    float *columns = malloc(PIXELS * COMPONENTS * sizeof *columns);
    float *out = malloc((size_t)n * COMPONENTS * sizeof *out);
    gd_status st = probe && columns && out ? GD_OK : GD_ERR_NO_MEMORY;
    if (!st)
        st = gd_preprocess_fit(&center, "center", 0, ds, &err);
    if (!st)
        st = gd_preprocess_fit(&pca, "pca:8", 0, ds, &err);
    float zero[PIXELS] = {0}, neg_mean[PIXELS];
    if (!st)
        st = gd_preprocess_apply(center, zero, 1, neg_mean);
    for (int i = 0; !st && i < PIXELS * PIXELS; i++)
        probe[i] = -neg_mean[i % PIXELS] + (i / PIXELS == i % PIXELS);
    if (!st)
        st = gd_preprocess_apply(pca, probe, PIXELS, columns);
    if (!st)
        st = gd_preprocess_apply(pca, gd_dataset_features(ds), n, out);
    for (int i = 0; !st && i < PIXELS; i++) {
        mean[i] = -neg_mean[i];
        for (int k = 0; k < COMPONENTS; k++)
            comp[k * PIXELS + i] = columns[i * COMPONENTS + k];
    }
    for (int k = 0; !st && k < COMPONENTS; k++) {
        double s2 = 0; /* outputs are centred: their training mean is 0 */
        for (int64_t i = 0; i < n; i++)
            s2 += (double)out[i * COMPONENTS + k] * out[i * COMPONENTS + k];
        var[k] = s2 / (double)n;
    }
    if (st && st != GD_ERR_NO_MEMORY)
        fprintf(stderr, "preprocess_figure: %s\n", err.message);
    gd_preprocess_free(center);
    gd_preprocess_free(pca);
    free(probe);
    free(columns);
    free(out);
    return st;
}

static int fashion_figure(const char *path, const char *dir)
{
    gd_dataset *ds;
    gd_error err;
    if (gd_dataset_read_idx_dir(&ds, dir, true, &err) != GD_OK) {
        fprintf(stderr, "preprocess_figure: %s\n", err.message);
        return 1;
    }
    double mean[PIXELS], comp[COMPONENTS * PIXELS], var[COMPONENTS];
    double total = total_variance(gd_dataset_features(ds), gd_dataset_size(ds));
    gd_status st = fashion_statistics(ds, mean, comp, var);
    gd_dataset_free(ds);
    FILE *f = st ? NULL : fopen(path, "w");
    if (!f) {
        if (!st)
            perror(path);
        return 1;
    }
    int cell = SIDE * ZOOM + 12;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
               "fill=\"white\"/>\n", 12 + (COMPONENTS + 1) * cell, SIDE * ZOOM + 34);
    double brightest = 0;
    for (int i = 0; i < PIXELS; i++)
        brightest = fmax(brightest, mean[i]);
    draw_image(f, mean, 0, brightest, 12, 8, "mean");
    for (int k = 0; k < COMPONENTS; k++) {
        const double *v = comp + k * PIXELS;
        double m = 0; /* symmetric grey scale: 0 is mid-grey, whatever the sign */
        for (int i = 0; i < PIXELS; i++)
            m = fmax(m, fabs(v[i]));
        char label[32];
        snprintf(label, sizeof label, "PC %d: %.1f%%", k + 1, 100 * var[k] / total);
        draw_image(f, v, -m, m, 12 + (k + 1) * cell, 8, label);
    }
    fprintf(f, "</svg>\n");
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s TOY.svg [FASHION.svg [FASHION_MNIST_DIR]]\n", argv[0]);
        return 2;
    }
    if (toy_figure(argv[1]))
        return 1;
    if (argc >= 3)
        return fashion_figure(argv[2], argc == 4 ? argv[3] : "/usr/share/datasets/fashion-mnist");
    return 0;
}
