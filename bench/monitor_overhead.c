/* Benchmark: what the training monitor costs. Two runs of the default MLP on Fashion-MNIST
 * with the default settings (batch 128, Adam), made alike in one process. Their steps
 * alternate one by one, each timed (which run goes first changes every step), so that both
 * see the machine in the same state even when other work shares it. First both run
 * unmonitored (the A/A phase: two identical runs are not equally fast, e.g. by where their
 * memory fell, and this ratio measures that bias and the noise); then the monitor is
 * attached to the second run at its default interval, writing monitor.jsonl into a
 * temporary folder, and both go on as many steps. The monitor's cost is 1 - (ratio with
 * it) / (A/A ratio), ratios being throughput, total step time of one run over the other.
 * Also printed: the medians of the ratio over windows of one interval (each window holding
 * one record), and the CPU model. The monitor's target is a cost of at most 10%.
 *
 *   build/release/bench/monitor_overhead [epochs] [threads] [interval]
 *   (defaults: 2 epochs of the 60,000 training images per phase (938 steps of each run),
 *   every core, GD_MONITOR_DEFAULT_INTERVAL)
 */
#include "bench.h"

#include <string.h>
#include <unistd.h>

static gd_run *make_run(void)
{
    gd_settings s;
    gd_settings_defaults(&s);
    gd_error err;
    if (gd_settings_set(&s, "val_size", "0", &err) || gd_settings_set(&s, "epochs", "1000", &err))
        bench_fail("settings", err.message);
    gd_run *run;
    gd_run_options opt = {0};
    if (gd_run_create(&run, &s, &opt, &err))
        bench_fail("run", err.message);
    gd_settings_free(&s);
    return run;
}

static double timed_step(gd_run *run)
{
    bool done;
    double t0 = bench_now();
    if (gd_run_step(run, &done))
        bench_fail("step", gd_run_error(run));
    return bench_now() - t0;
}

#define MAX_WINDOWS 4096

/* Throughput of `on` over `off` over `steps` alternating steps; *median gets the median of
 * the ratio over windows of `window` steps. */
static double measure(gd_run *off, gd_run *on, int64_t steps, int64_t window, double *median)
{
    static double ratio[MAX_WINDOWS];
    int windows = 0;
    double total_off = 0, total_on = 0, window_off = 0, window_on = 0;
    for (int64_t s = 1; s <= steps; s++) {
        if (s % 2) {
            window_off += timed_step(off);
            window_on += timed_step(on);
        } else {
            window_on += timed_step(on);
            window_off += timed_step(off);
        }
        if (s % window == 0 || s == steps) {
            if (windows < MAX_WINDOWS)
                ratio[windows++] = window_off / window_on;
            total_off += window_off, total_on += window_on;
            window_off = window_on = 0;
        }
    }
    *median = bench_median(ratio, windows);
    return total_off / total_on;
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 2;
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    int64_t interval = argc > 3 ? atoll(argv[3]) : GD_MONITOR_DEFAULT_INTERVAL;
    if (epochs < 1 || interval < 1)
        bench_fail("usage", "monitor_overhead [epochs >= 1] [threads] [interval >= 1]");
    char cpu[256], dir[] = "/tmp/gradus-monitor-bench-XXXXXX";
    gd_cpu_name(cpu, sizeof cpu);
    if (!mkdtemp(dir))
        bench_fail("folder", dir);
    gd_run *off = make_run(), *on = make_run();
    gd_set_num_threads(threads); /* after the runs, whose settings (threads 0) set it too */
    int64_t steps = epochs * gd_run_batches_per_epoch(on), batch = gd_run_settings(on)->batch_size;
    printf("monitor overhead: default MLP (%s), Fashion-MNIST, batch %lld, %d threads\n"
           "cpu: %s\n%lld steps of each run per phase, alternating; windows of %lld steps\n",
           gd_model_spec(gd_run_model(on)), (long long)batch, gd_get_num_threads(), cpu,
           (long long)steps, (long long)interval);
    double median_aa, median;
    double aa = measure(off, on, steps, interval, &median_aa);
    printf("A/A, no monitor:          ratio %.3f (window median %.3f)\n", aa, median_aa);
    gd_monitor_options mo = gd_monitor_defaults();
    mo.interval = interval;
    mo.dir = dir;
    gd_monitor *mon;
    gd_error err;
    if (gd_monitor_create(&mon, on, &mo, &err))
        bench_fail("monitor", err.message);
    double t0 = bench_now();
    double with = measure(off, on, steps, interval, &median);
    double seconds = bench_now() - t0;
    printf("monitor every %lld steps: ratio %.3f (window median %.3f); %lld records, %lld "
           "warnings\n", (long long)interval, with, median, (long long)gd_monitor_records(mon),
           (long long)gd_monitor_warning_count(mon));
    printf("unmonitored pace about %.0f samples/s; the monitor costs %.1f%% of throughput "
           "(window medians: %.1f%%)\n", (double)(steps * batch) * (1 + 1 / with) / seconds,
           100 * (1 - with / aa), 100 * (1 - median / median_aa));
    char path[128];
    snprintf(path, sizeof path, "%s/monitor.jsonl", dir);
    gd_run_free(on);
    gd_monitor_free(mon);
    gd_run_free(off);
    unlink(path);
    rmdir(dir);
    return 0;
}
