/* Benchmark: one training step (forward, cross-entropy, backward, SGD with momentum) of a
 * 784-256-256-10 MLP with BatchNorm1d and ReLU at batch 128, on 1 and 2 threads, in
 * samples per second, and how close it comes to the machine's sgemm rate: against a large
 * square product (the machine's peak), and against the same matrix products as the step
 * timed alone (what sgemm allows for this network: the step's other work is overhead).
 *
 *   build/release/bench/mlp_step [batch] [steps] [threads]   (default threads: 1, then 2)
 */
#include "bench.h"

static const int dims[] = {784, 256, 256, 10};

/* The step's matrix products alone, with its shapes and transposes: forward x W^T,
 * dW = dy^T x, dx = dy W (not for the first layer). */
typedef struct gemm_step {
    int batch;
    float *buf[3][4];
} gemm_step;

static void run_gemms(void *ctx)
{
    gemm_step *g = ctx;
    int batch = g->batch;
    for (int l = 0; l < 3; l++) {
        int in = dims[l], out = dims[l + 1];
        float *x = g->buf[l][0], *w = g->buf[l][1], *y = g->buf[l][2], *dw = g->buf[l][3];
        gd_sgemm(false, true, batch, out, in, 1, x, in, w, in, 0, y, out);
        gd_sgemm(true, false, out, in, batch, 1, y, out, x, in, 0, dw, in);
        if (l > 0)
            gd_sgemm(false, false, batch, in, out, 1, y, out, w, in, 0, x, in);
    }
}

/* Median seconds per step of the products alone. */
static double gemm_only(int batch, int steps)
{
    gemm_step g = {.batch = batch};
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < 4; k++)
            if (!(g.buf[l][k] = calloc((size_t)(batch + 1024) * 1024, sizeof(float))))
                bench_fail("products", "out of memory");
    double t = bench_time(run_gemms, &g, steps);
    for (int l = 0; l < 3; l++)
        for (int k = 0; k < 4; k++)
            free(g.buf[l][k]);
    return t;
}

/* Floating-point work of the step's matrix products: forward x W^T for every layer,
 * dW for every layer, dx for every layer but the first (nobody needs the input's). */
static double step_flops(int batch)
{
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
        gd_model_add_linear(m, 256, 10, true) || gd_model_build(m, 1, (int64_t[]){784}, batch))
        bench_fail("model", gd_model_error(m));
    return m;
}

int main(int argc, char **argv)
{
    int batch = argc > 1 ? atoi(argv[1]) : 128;
    int steps = argc > 2 ? atoi(argv[2]) : 200, threads[2];
    int runs = bench_threads(argc, argv, 3, threads);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("784-256-256-10 MLP, BatchNorm1d + ReLU, batch %d, SGD momentum 0.9 (OPENBLAS_CORETYPE=%s; products: %s)\n",
           batch, coretype ? coretype : "unset", gd_sgemm_backend());
    printf("%-8s %11s %9s %12s %20s %24s\n", "threads", "samples/s", "ms/step", "step GFLOP/s",
           "of 1024^3 sgemm peak", "of same products alone");
    for (int r = 0; r < runs; r++) {
        gd_set_num_threads(threads[r]);
        double peak = bench_sgemm_gflops(1024);
        double t = bench_train_time(build(batch), 1, (int64_t[]){784}, batch, steps);
        double t_gemm = gemm_only(batch, steps);
        double rate = step_flops(batch) / t / 1e9;
        printf("%-8d %11.0f %9.3f %12.1f %12.0f%% of %4.0f %15.0f%% (%.3f ms)\n", threads[r], batch / t,
               1e3 * t, rate, 100 * rate / peak, peak, 100 * t_gemm / t, 1e3 * t_gemm);
    }
    return 0;
}
