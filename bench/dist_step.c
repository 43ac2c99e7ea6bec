/* Benchmark: data-parallel training steps under mpirun (build with make MPI=1). Every rank
 * trains the MLP of bench/compare_mlp.sh or the CNN of bench/compare_cnn.sh on its shard
 * of global batches of Fashion-MNIST, one thread each, for STEPS timed steps after a
 * warm-up; rank 0 prints one JSON line: the ranks, the global batch's samples per second,
 * the milliseconds of a step, of that the gradient sum's, and the gradient bytes summed a
 * step. bench/compare_scaling.sh runs it on 1 and 2 ranks and docs/distributed.md models
 * a cluster from it.
 *
 *   mpirun -np N build/mpi/bench/dist_step mlp|cnn BATCH STEPS [--deterministic-reduce]
 */
#include "bench.h"

#include "../src/dist/dist.h"

static const char *const MLP = "linear(256) bn relu linear(256) bn relu linear(10)";
static const char *const CNN = "conv(32,3,pad=1) bn relu maxpool(2) conv(64,3,pad=1) bn relu "
                               "maxpool(2) flatten linear(128) bn relu dropout(0.3) linear(10)";

static void set(gd_settings *s, const char *key, const char *value)
{
    gd_error err;
    if (gd_settings_set(s, key, value, &err) != GD_OK) {
        fprintf(stderr, "dist_step: %s\n", err.message);
        exit(1);
    }
}

static gd_run *make_run(bool cnn, const char *batch, bool ordered)
{
    gd_settings s;
    gd_settings_defaults(&s);
    set(&s, "model", cnn ? CNN : MLP);
    set(&s, "batch_size", batch);
    set(&s, "threads", "1");
    set(&s, "val_size", "0");
    set(&s, "optim", "sgd");
    set(&s, "momentum", "0.9");
    set(&s, "schedule", "constant");
    set(&s, "sync_bn", "true");
    set(&s, "deterministic_reduce", ordered ? "true" : "false");
    gd_run_options o = {.comm = gd_dist_world()};
    gd_run *run = NULL;
    gd_error err;
    gd_status st = gd_run_create(&run, &s, &o, &err);
    gd_settings_free(&s);
    if (st != GD_OK) {
        fprintf(stderr, "dist_step: %s\n", err.message);
        exit(1);
    }
    return run;
}

static void steps(gd_run *run, int n)
{
    for (int i = 0; i < n; i++) {
        bool done;
        if (gd_run_step(run, &done) != GD_OK) {
            fprintf(stderr, "dist_step: %s\n", gd_run_error(run));
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    gd_error err;
    if (gd_dist_init(&argc, &argv, &err) != GD_OK) {
        fprintf(stderr, "dist_step: %s\n", err.message);
        return 1;
    }
    if (argc < 4 || (strcmp(argv[1], "mlp") != 0 && strcmp(argv[1], "cnn") != 0)) {
        fprintf(stderr, "usage: dist_step mlp|cnn BATCH STEPS [--deterministic-reduce]\n");
        return 2;
    }
    bool cnn = strcmp(argv[1], "cnn") == 0, ordered = argc > 4;
    int n = atoi(argv[3]), batch = atoi(argv[2]);
    gd_run *run = make_run(cnn, argv[2], ordered);
    /* The timed steps stay in the first epoch (54,000 images: 421 batches of 128). */
    int warm = 5;
    if (n < 1 || (int64_t)(warm + n) > gd_run_batches_per_epoch(run)) {
        fprintf(stderr, "dist_step: STEPS in [1, %lld]\n",
                (long long)gd_run_batches_per_epoch(run) - warm);
        return 2;
    }
    steps(run, warm);
    gd_dist_barrier(&err);
    gd_comm_traffic before = *gd_comm_traffic_of(gd_dist_world());
    double t0 = bench_now();
    steps(run, n);
    gd_dist_barrier(&err);
    double seconds = bench_now() - t0;
    gd_comm_traffic after = *gd_comm_traffic_of(gd_dist_world());
    if (gd_dist_rank() == 0)
        printf("{\"model\": \"%s\", \"ranks\": %d, \"batch\": %d, \"parameters\": %lld, "
               "\"reduce\": \"%s\", \"samples_per_sec\": %.1f, \"step_ms\": %.3f, "
               "\"sum_ms\": %.3f, \"sum_bytes\": %.0f}\n",
               argv[1], gd_dist_size(), batch, (long long)gd_run_parameter_count(run),
               ordered ? "ordered" : "MPI_Allreduce", (double)n * batch / seconds,
               1e3 * seconds / n, 1e3 * (after.seconds - before.seconds) / n,
               (double)(after.bytes - before.bytes) / n);
    gd_run_free(run);
    gd_dist_finalize();
    return 0;
}
