/* Benchmark: what a search trial's setup costs with and without the worker's data cache.
 * gd_run_create of the default MLP on Fashion-MNIST (60,000 training images, 5,000 held
 * out, one --split-seed as a study gives its trials), each run with its own seed as
 * trials have: first RUNS runs that read and prepare their own data, then RUNS runs
 * through one gd_data_cache (the first of which reads and prepares; the others take
 * copies), for each preprocessing. Prints the median setup per run of each, their ratio,
 * the cache's reads and hits, and the CPU model. No training step is taken: the setup
 * is what the cache changes.
 *
 *   build/release/bench/trial_setup [runs] [threads]     (defaults: 5 runs, 1 thread)
 */
#include "bench.h"

#include <string.h>

static double setup_seconds(const char *preprocess, uint64_t seed, int threads,
                            gd_data_cache *cache)
{
    gd_settings s;
    gd_settings_defaults(&s);
    gd_error err;
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    gd_settings_set(&s, "seed", text, &err);
    gd_settings_set(&s, "split_seed", "12345", &err);
    gd_settings_set(&s, "preprocess", preprocess, &err);
    snprintf(text, sizeof text, "%d", threads);
    gd_settings_set(&s, "threads", text, &err);
    gd_run *run = NULL;
    double t0 = bench_now();
    gd_status st = gd_run_create(&run, &s, &(gd_run_options){.data_cache = cache}, &err);
    double t = bench_now() - t0;
    if (st != GD_OK) {
        fprintf(stderr, "trial_setup: %s\n", err.message);
        exit(1);
    }
    gd_run_free(run);
    gd_settings_free(&s);
    return t;
}

static void measure(const char *preprocess, int runs, int threads)
{
    double own[64], cached[64];
    for (int i = 0; i < runs; i++)
        own[i] = setup_seconds(preprocess, (uint64_t)i + 1, threads, NULL);
    gd_data_cache *c = NULL;
    gd_error err;
    gd_data_cache_new(&c, &err);
    double first = setup_seconds(preprocess, 1, threads, c);
    for (int i = 0; i < runs; i++)
        cached[i] = setup_seconds(preprocess, (uint64_t)i + 2, threads, c);
    double a = bench_median(own, runs), b = bench_median(cached, runs);
    printf("%-12s %8.0f ms %8.0f ms %8.0f ms %7.1fx   %lld read, %lld hits\n", preprocess,
           1e3 * a, 1e3 * first, 1e3 * b, a / b, (long long)gd_data_cache_reads(c),
           (long long)gd_data_cache_prepared_hits(c));
    gd_data_cache_free(c);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5, threads = argc > 2 ? atoi(argv[2]) : 1;
    if (runs < 1 || runs > 64) {
        fprintf(stderr, "usage: trial_setup [runs 1..64] [threads]\n");
        return 2;
    }
    char cpu[256];
    gd_cpu_name(cpu, sizeof cpu);
    printf("trial setup (gd_run_create), default MLP, Fashion-MNIST, %d thread%s, median of "
           "%d\nCPU: %s\n\n", threads, threads == 1 ? "" : "s", runs, cpu);
    printf("%-12s %11s %11s %11s %8s\n", "preprocess", "own read", "cache 1st", "cache next",
           "ratio");
    static const char *const kinds[] = {"none", "standardize", "pca:50", "zca"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        measure(kinds[k], runs, threads);
    return 0;
}
