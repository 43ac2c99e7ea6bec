/* Benchmark: one training step (forward, cross-entropy, backward, SGD with momentum) of a
 * small CNN on 1 x 28 x 28 inputs at batch 128, on 1 and 2 threads, in samples per second,
 * and the share of the machine's measured sgemm rate that the step's products reach:
 *
 *   conv(32, 3, pad 1) bn relu maxpool(2) conv(64, 3, pad 1) bn relu maxpool(2) flatten
 *   linear(128) bn relu dropout(0.3) linear(10)
 *
 *   build/release/bench/conv_step [batch] [steps]
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

/* Floating-point work of the step's matrix products. A convolution is a product of
 * out x (in k k) weights with (in k k) x (batch H W) patches: forward, weight gradient and,
 * except for the first layer (nobody needs the input's gradient), input gradient; a Linear
 * layer likewise with batch x in inputs. */
static double step_flops(int batch)
{
    double conv1 = 2.0 * 32 * (1 * 9) * batch * 28 * 28, conv2 = 2.0 * 64 * (32 * 9) * batch * 14 * 14;
    double fc1 = 2.0 * batch * 3136 * 128, fc2 = 2.0 * batch * 128 * 10;
    return 2 * conv1 + 3 * conv2 + 3 * fc1 + 3 * fc2;
}

static gd_model *build(int batch)
{
    gd_model *m;
    gd_model_create(&m, 1);
    if (gd_model_add_conv2d(m, 1, 32, 3, 3, 1, 1, 1, 1, true) ||
        gd_model_add_batchnorm2d(m, 32, 1e-5, 0.1) || gd_model_add_activation(m, GD_ACT_RELU) ||
        gd_model_add_maxpool2d(m, 2, 0, 0) || gd_model_add_conv2d(m, 32, 64, 3, 3, 1, 1, 1, 1, true) ||
        gd_model_add_batchnorm2d(m, 64, 1e-5, 0.1) || gd_model_add_activation(m, GD_ACT_RELU) ||
        gd_model_add_maxpool2d(m, 2, 0, 0) || gd_model_add_flatten(m) ||
        gd_model_add_linear(m, 64 * 7 * 7, 128, true) || gd_model_add_batchnorm1d(m, 128, 1e-5, 0.1) ||
        gd_model_add_activation(m, GD_ACT_RELU) || gd_model_add_dropout(m, 0.3) ||
        gd_model_add_linear(m, 128, 10, true) ||
        gd_model_build(m, 3, (int64_t[]){1, 28, 28}, batch)) {
        fprintf(stderr, "conv_step: %s\n", gd_model_error(m));
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
        fprintf(stderr, "conv_step: %s\n", gd_optim_error(opt));
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
    gd_tensor in = gd_tensor_view(x, 4, (int64_t[]){batch, 1, 28, 28});
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY};
    double value, runs[5];
    for (int r = -1; r < 5; r++) { /* r = -1 warms up */
        double t0 = now();
        for (int s = 0; s < steps; s++)
            if (gd_model_forward(m, &in) || gd_model_loss(m, &loss, y, NULL, &value) ||
                gd_model_backward(m) || gd_optim_step(opt)) {
                fprintf(stderr, "conv_step: %s\n", gd_model_error(m));
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
    int steps = argc > 2 ? atoi(argv[2]) : 10;
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("CNN conv32-bn-relu-pool conv64-bn-relu-pool fc128-bn-relu-dropout fc10 on 1x28x28, "
           "batch %d, SGD momentum 0.9 (OPENBLAS_CORETYPE=%s)\n",
           batch, coretype ? coretype : "unset");
    printf("%-8s %14s %12s %14s %14s\n", "threads", "samples/s", "ms/step", "step GFLOP/s",
           "of sgemm peak");
    for (int threads = 1; threads <= 2; threads++) {
        gd_set_num_threads(threads);
        double peak = sgemm_gflops(1024);
        double t = time_steps(threads, batch, steps);
        double rate = step_flops(batch) / t / 1e9;
        printf("%-8d %14.0f %12.3f %14.1f %9.0f%% of %.0f\n", threads, batch / t, 1e3 * t, rate,
               100 * rate / peak, peak);
    }
    return 0;
}
