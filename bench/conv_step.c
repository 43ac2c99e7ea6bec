/* Benchmark: one training step (forward, cross-entropy, backward, SGD with momentum) of a
 * small CNN on 1 x 28 x 28 inputs at batch 128, on 1 and 2 threads, in samples per second,
 * and the share of the machine's measured sgemm rate that the step's products reach:
 *
 *   conv(32, 3, pad 1) bn relu maxpool(2) conv(64, 3, pad 1) bn relu maxpool(2) flatten
 *   linear(128) bn relu dropout(0.3) linear(10)
 *
 *   build/release/bench/conv_step [batch] [steps] [threads]   (default threads: 1, then 2)
 */
#include "bench.h"

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
        gd_model_build(m, 3, (int64_t[]){1, 28, 28}, batch))
        bench_fail("model", gd_model_error(m));
    return m;
}

int main(int argc, char **argv)
{
    int batch = argc > 1 ? atoi(argv[1]) : 128;
    int steps = argc > 2 ? atoi(argv[2]) : 10, threads[2];
    int runs = bench_threads(argc, argv, 3, threads);
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("CNN conv32-bn-relu-pool conv64-bn-relu-pool fc128-bn-relu-dropout fc10 on 1x28x28, "
           "batch %d, SGD momentum 0.9 (OPENBLAS_CORETYPE=%s; products: %s)\n",
           batch, coretype ? coretype : "unset", gd_sgemm_backend());
    printf("%-8s %14s %12s %14s %14s\n", "threads", "samples/s", "ms/step", "step GFLOP/s",
           "of sgemm peak");
    for (int r = 0; r < runs; r++) {
        gd_set_num_threads(threads[r]);
        double peak = bench_sgemm_gflops(1024);
        double t = bench_train_time(build(batch), 3, (int64_t[]){1, 28, 28}, batch, steps);
        double rate = step_flops(batch) / t / 1e9;
        printf("%-8d %14.0f %12.3f %14.1f %9.0f%% of %.0f\n", threads[r], batch / t, 1e3 * t, rate,
               100 * rate / peak, peak);
    }
    return 0;
}
