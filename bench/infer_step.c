/* Benchmark: inference throughput, the forward pass in evaluation mode of the MLP of
 * bench/compare_mlp.sh or the CNN of bench/compare_cnn.sh on a batch of N(0,1) inputs,
 * repeated for at least a second after a warm-up; prints one JSON line (samples per
 * second, the median of 5 timed rounds) for bench/compare_inference.sh, which sets it
 * against PyTorch's model.eval() under torch.no_grad() on the same shapes and threads.
 *
 *   build/release/bench/infer_step mlp|cnn BATCH THREADS
 */
#include "bench.h"

#include <string.h>

static const char *const MLP = "linear(256) bn relu linear(256) bn relu linear(10)";
static const char *const CNN = "conv(32,3,pad=1) bn relu maxpool(2) conv(64,3,pad=1) bn relu "
                               "maxpool(2) flatten linear(128) bn relu dropout(0.3) linear(10)";

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "mlp") != 0 && strcmp(argv[1], "cnn") != 0)) {
        fprintf(stderr, "usage: infer_step mlp|cnn BATCH THREADS\n");
        return 2;
    }
    const bool cnn = strcmp(argv[1], "cnn") == 0;
    const int64_t batch = atoll(argv[2]);
    const int threads = atoi(argv[3]);
    if (batch < 1 || batch > 65536 || threads < 1) {
        fprintf(stderr, "infer_step: batch in [1, 65536], threads >= 1\n");
        return 2;
    }
    gd_set_num_threads(threads);
    int64_t mlp_dims[1] = {784}, cnn_dims[3] = {1, 28, 28};
    gd_model *m = NULL;
    gd_error err;
    if (gd_model_from_spec(&m, cnn ? CNN : MLP, 1, cnn ? 3 : 1, cnn ? cnn_dims : mlp_dims, batch,
                           &err) != GD_OK) {
        fprintf(stderr, "infer_step: %s\n", err.message);
        return 1;
    }
    gd_model_set_training(m, false);
    float *x = malloc((size_t)batch * 784 * sizeof *x);
    gd_rng *rng = NULL;
    gd_rng_create(&rng, 1);
    for (int64_t i = 0; x && rng && i < batch * 784; i++)
        x[i] = (float)gd_rng_normal(rng);
    gd_rng_free(rng);
    if (!x)
        return 1;
    gd_tensor in = cnn ? gd_tensor_view(x, 4, (int64_t[]){batch, 1, 28, 28})
                       : gd_tensor_view(x, 2, (int64_t[]){batch, 784});
    for (int i = 0; i < 3; i++) /* warm-up: caches, OpenBLAS's buffers, OpenMP's threads */
        gd_model_forward(m, &in);
    double rate[BENCH_RUNS];
    for (int r = 0; r < BENCH_RUNS; r++) {
        int64_t calls = 0;
        double t0 = bench_now(), t = 0;
        while ((t = bench_now() - t0) < 0.2 || calls < 3) {
            gd_model_forward(m, &in);
            calls++;
        }
        rate[r] = (double)(calls * batch) / t;
    }
    printf("{\"tool\": \"gradus\", \"model\": \"%s\", \"batch\": %lld, \"threads\": %d, "
           "\"samples_per_sec\": %.1f}\n", argv[1], (long long)batch, threads,
           bench_median(rate, BENCH_RUNS));
    free(x);
    gd_model_free(m);
    return 0;
}
