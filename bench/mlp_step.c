/* Benchmark: one training step (forward, cross-entropy, backward, SGD with momentum) of a
 * 784-256-256-10 MLP with BatchNorm1d and ReLU at batch 128, on 1 and 2 threads, in
 * samples per second, and how close it comes to the machine's sgemm rate: against a large
 * square product (the machine's peak), and against the same matrix products as the step
 * timed alone (what sgemm allows for this network: the step's other work is overhead).
 *
 *   build/release/bench/mlp_step [batch] [steps]
 */
#include <cblas.h>
#include <gradus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The sgemm rate on a large square product: what the machine can do at best. */
static double sgemm_gflops(int n)
{
    float *a = calloc((size_t)n * n, sizeof(float)), *b = calloc((size_t)n * n, sizeof(float)),
          *c = calloc((size_t)n * n, sizeof(float));
    for (int i = 0; i < n * n; i++)
        a[i] = b[i] = 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double rate = 2.0 * n * n * (double)n / (now() - t0) / 1e9;
        best = rate > best ? rate : best;
    }
    free(a), free(b), free(c);
    return best;
}

/* Times the step's matrix products alone, with its shapes and transposes: forward
 * x W^T, dW = dy^T x, dx = dy W (not for the first layer). Median seconds per step. */
static double gemm_only(int batch, int steps)
{
    const int dims[] = {784, 256, 256, 10};
    float *buf[3][4];
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < 4; k++)
            buf[l][k] = calloc((size_t)(batch + 1024) * 1024, sizeof(float));
    double runs[5];
    for (int r = -1; r < 5; r++) {
        double t0 = now();
        for (int s = 0; s < steps; s++)
            for (int l = 0; l < 3; l++) {
                int in = dims[l], out = dims[l + 1];
                float *x = buf[l][0], *w = buf[l][1], *y = buf[l][2], *g = buf[l][3];
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out, in, 1, x, in, w, in, 0, y, out);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, batch, 1, y, out, x, in, 0, g, in);
                if (l > 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in, out, 1, y, out, w, in, 0, x, in);
            }
        if (r >= 0)
            runs[r] = (now() - t0) / steps;
    }
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < 4; k++)
            free(buf[l][k]);
    qsort(runs, 5, sizeof runs[0], cmp_double);
    return runs[2];
}

/* Floating-point work of the step's matrix products: forward x W^T for every layer,
 * dW for every layer, dx for every layer but the first (nobody needs the input's). */
static double step_flops(int batch)
{
    const double dims[] = {784, 256, 256, 10};
    double f = 0;
    for (int l = 0; l < 3; l++)
        f += 2.0 * batch * dims[l] * dims[l + 1] * (l == 0 ? 2 : 3);
    return f;
}

static gd_model *build(int batch)
{
    gd_model *m;
    gd_model_create(&m, 1);
    if (gd_model_add_linear(m, 784, 256, true) || gd_model_add_batchnorm1d(m, 256, 1e-5, 0.1) ||
        gd_model_add_activation(m, GD_ACT_RELU) || gd_model_add_linear(m, 256, 256, true) ||
        gd_model_add_batchnorm1d(m, 256, 1e-5, 0.1) || gd_model_add_activation(m, GD_ACT_RELU) ||
        gd_model_add_linear(m, 256, 10, true) || gd_model_build(m, 1, (int64_t[]){784}, batch)) {
        fprintf(stderr, "mlp_step: %s\n", gd_model_error(m));
        exit(1);
    }
    return m;
}

/* Median seconds per step over 5 runs of `steps` steps. */
static double time_steps(int threads, int batch, int steps)
{
    gd_set_num_threads(threads);
    gd_model *m = build(batch);
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cfg.lr = 0.01, cfg.momentum = 0.9;
    gd_optimizer *opt;
    if (gd_optim_create(&opt, m, &cfg)) {
        fprintf(stderr, "mlp_step: %s\n", gd_optim_error(opt));
        exit(1);
    }
    float *x = malloc((size_t)batch * 784 * sizeof(float));
    int32_t *y = malloc((size_t)batch * sizeof(int32_t));
    gd_rng *rng;
    gd_rng_create(&rng, 2);
    for (int i = 0; i < batch * 784; i++)
        x[i] = (float)gd_rng_uniform(rng);
    for (int i = 0; i < batch; i++)
        y[i] = (int32_t)(gd_rng_next_u64(rng) % 10);
    gd_tensor in = gd_tensor_view(x, 2, (int64_t[]){batch, 784});
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY};
    double value, runs[5];
    for (int r = -1; r < 5; r++) { /* r = -1 warms up */
        double t0 = now();
        for (int s = 0; s < steps; s++)
            if (gd_model_forward(m, &in) || gd_model_loss(m, &loss, y, NULL, &value) ||
                gd_model_backward(m) || gd_optim_step(opt)) {
                fprintf(stderr, "mlp_step: %s\n", gd_model_error(m));
                exit(1);
            }
        if (r >= 0)
            runs[r] = (now() - t0) / steps;
    }
    qsort(runs, 5, sizeof runs[0], cmp_double);
    gd_rng_free(rng);
    free(x), free(y);
    gd_optim_free(opt);
    gd_model_free(m);
    return runs[2];
}

int main(int argc, char **argv)
{
    int batch = argc > 1 ? atoi(argv[1]) : 128;
    int steps = argc > 2 ? atoi(argv[2]) : 200;
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("784-256-256-10 MLP, BatchNorm1d + ReLU, batch %d, SGD momentum 0.9 (OPENBLAS_CORETYPE=%s)\n",
           batch, coretype ? coretype : "unset");
    printf("%-8s %11s %9s %12s %20s %24s\n", "threads", "samples/s", "ms/step", "step GFLOP/s",
           "of 1024^3 sgemm peak", "of same products alone");
    for (int threads = 1; threads <= 2; threads++) {
        gd_set_num_threads(threads);
        double peak = sgemm_gflops(1024);
        double t = time_steps(threads, batch, steps);
        double t_gemm = gemm_only(batch, steps);
        double rate = step_flops(batch) / t / 1e9;
        printf("%-8d %11.0f %9.3f %12.1f %12.0f%% of %4.0f %15.0f%% (%.3f ms)\n", threads, batch / t, 1e3 * t,
               rate, 100 * rate / peak, peak, 100 * t_gemm / t, 1e3 * t_gemm);
    }
    return 0;
}
