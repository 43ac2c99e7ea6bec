/* What the step benchmarks share: a clock, medians, the machine's sgemm rate, the timing
 * loop, and one training step (forward, cross-entropy, backward, SGD with momentum) on
 * random data. Header only, each benchmark being one program; functions are static
 * inline so that a benchmark that leaves one unused compiles without warnings. */
#ifndef GD_BENCH_H
#define GD_BENCH_H

#include <gradus.h>

#include "../src/core/internal.h" /* gd_sgemm: the products the layers use */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Runs per measurement; the median is reported. */
#define BENCH_RUNS 5

static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts x in place. */
static inline double bench_median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, bench_cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* The sgemm rate on a large square product (best of 5, after a warm-up), through the
 * library the layers use (gd_sgemm: oneDNN's, or OpenBLAS's without it): what the machine
 * can do at best on the current thread count. */
static inline double bench_sgemm_gflops(int n)
{
    float *a = calloc((size_t)n * n, sizeof(float)), *b = calloc((size_t)n * n, sizeof(float)),
          *c = calloc((size_t)n * n, sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < n * n; i++)
        a[i] = b[i] = 0.5f;
    gd_sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = bench_now();
        gd_sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
        double rate = 2.0 * n * n * (double)n / (bench_now() - t0) / 1e9;
        best = rate > best ? rate : best;
    }
    free(a), free(b), free(c);
    return best;
}

/* Median seconds per call of step(ctx) over BENCH_RUNS runs of `steps` calls, after one
 * run to warm up. */
static inline double bench_time(void (*step)(void *ctx), void *ctx, int steps)
{
    double runs[BENCH_RUNS];
    for (int r = -1; r < BENCH_RUNS; r++) {
        double t0 = bench_now();
        for (int s = 0; s < steps; s++)
            step(ctx);
        if (r >= 0)
            runs[r] = (bench_now() - t0) / steps;
    }
    return bench_median(runs, BENCH_RUNS);
}

/* One training step of a built model on fixed random data: inputs uniform in [0, 1),
 * labels among 10 classes. */
typedef struct bench_trainer {
    gd_model *model;
    gd_optimizer *opt;
    gd_tensor in;
    int32_t *labels;
} bench_trainer;

static inline void bench_fail(const char *what, const char *detail)
{
    fprintf(stderr, "bench: %s: %s\n", what, detail);
    exit(1);
}

static inline void bench_train_step(void *ctx)
{
    bench_trainer *t = ctx;
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY};
    double value;
    if (gd_model_forward(t->model, &t->in) ||
        gd_model_loss(t->model, &loss, t->labels, NULL, &value) || gd_model_backward(t->model) ||
        gd_optim_step(t->opt))
        bench_fail("training step", gd_model_error(t->model));
}

/* Median seconds per training step of m (built for batch samples of shape dims) with SGD,
 * lr 0.01, momentum 0.9; frees m. */
static inline double bench_train_time(gd_model *m, int ndim, const int64_t *dims, int batch,
                                      int steps)
{
    bench_trainer t = {.model = m};
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cfg.lr = 0.01, cfg.momentum = 0.9;
    if (gd_optim_create(&t.opt, m, &cfg))
        bench_fail("optimizer", gd_optim_error(t.opt));
    int64_t shape[GD_MAX_DIMS] = {batch}, per_sample = 1;
    for (int d = 0; d < ndim; d++) {
        shape[d + 1] = dims[d];
        per_sample *= dims[d];
    }
    float *x = malloc((size_t)(batch * per_sample) * sizeof(float));
    t.labels = malloc((size_t)batch * sizeof(int32_t));
    gd_rng *rng;
    if (!x || !t.labels || gd_rng_create(&rng, 2))
        bench_fail("data", "out of memory");
    for (int64_t i = 0; i < batch * per_sample; i++)
        x[i] = (float)gd_rng_uniform(rng);
    for (int i = 0; i < batch; i++)
        t.labels[i] = (int32_t)(gd_rng_next_u64(rng) % 10);
    t.in = gd_tensor_view(x, ndim + 1, shape);
    double seconds = bench_time(bench_train_step, &t, steps);
    gd_rng_free(rng);
    free(x), free(t.labels);
    gd_optim_free(t.opt);
    gd_model_free(m);
    return seconds;
}

/* The thread counts to run: argv[index] alone when given, else 1 and 2. */
static inline int bench_threads(int argc, char **argv, int index, int counts[2])
{
    if (argc > index) {
        counts[0] = atoi(argv[index]);
        return 1;
    }
    counts[0] = 1, counts[1] = 2;
    return 2;
}

#endif
