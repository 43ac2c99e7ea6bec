/* Training through the library's API: settings by name, a run, and an observer printing
 * each parameter tensor's update/weight ratio, on Fashion-MNIST when Debian's
 * dataset-fashion-mnist is installed (6,000 images, to stay quick), else on toy blobs.
 *
 * The ratio (CS231n, "ratio of weights:updates") is ||w_after - w_before|| / ||w_before||
 * over one optimiser step. A rough heuristic wants it near 1e-3: far below (1e-5), the
 * learning rate is probably too low; far above (1e-1), probably too high. Here it falls
 * in the second epoch as the cosine schedule takes the rate towards 0. */
#include <gradus.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PRINT_EVERY 25 /* steps, besides each epoch's last */

/* The parameters before the step, in a buffer allocated once (an observer runs inside
 * every step and should not allocate there), and whether this step's were taken. */
typedef struct ratio_watch { float *before; bool taken; } ratio_watch;

/* after_backward runs just before clipping and the step: the weights are still "before". */
static void snapshot(void *ctx, gd_run *run, const gd_step_info *step)
{
    ratio_watch *w = ctx;
    w->taken = step->step % PRINT_EVERY == 0 || step->batch == step->batches;
    if (w->taken) {
        gd_tensor flat = gd_model_parameters_flat(gd_run_model(run));
        memcpy(w->before, flat.data, (size_t)flat.dims[0] * sizeof(float));
    }
}

/* The flat buffer holds the parameters (not buffers such as batch norm's running mean) in
 * gd_model_tensor_at order, so each tensor's slice starts where the one before ended. */
static void print_ratios(void *ctx, gd_run *run, const gd_step_info *step)
{
    ratio_watch *w = ctx;
    const gd_model *m = gd_run_model(run);
    if (!w->taken)
        return;
    printf("step %4lld loss %.3f  update/weight:", (long long)step->step + 1, step->loss);
    const float *before = w->before;
    for (size_t i = 0; i < gd_model_tensor_count(m); i++) {
        const gd_named_tensor *t = gd_model_tensor_at(m, i);
        double update = 0, weight = 0;
        if (t->role != GD_ROLE_PARAMETER)
            continue;
        for (int64_t k = 0; k < gd_tensor_numel(&t->value); k++) {
            double d = (double)t->value.data[k] - before[k];
            update += d * d;
            weight += (double)before[k] * before[k];
        }
        printf("  %s %.1e", t->name, sqrt(update / weight));
        before += gd_tensor_numel(&t->value);
    }
    printf("\n");
}

static void print_epoch(void *ctx, gd_run *run, const gd_epoch_metrics *e)
{
    (void)ctx, (void)run;
    printf("epoch %lld: train loss %.4f, validation accuracy %.1f%%\n", (long long)e->epoch,
           e->train_loss, 100 * e->val_accuracy);
}

/* Toy data, also its own test set: 600 rows of 3 Gaussian blobs in 4-D, label first. */
static bool write_blobs(char *path, char *data, size_t len)
{
    int fd = mkstemp(path);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    gd_rng *rng;
    snprintf(data, len, "csv:%s,%s", path, path);
    gd_rng_create(&rng, 1);
    for (int i = 0; f && i < 600; i++) {
        fprintf(f, "%d", i % 3);
        for (int j = 0; j < 4; j++) /* class c is centred at 2 on feature c */
            fprintf(f, ",%.4f", (j == i % 3) * 2 + gd_rng_normal(rng));
        fprintf(f, "\n");
    }
    gd_rng_free(rng);
    return f && fclose(f) == 0;
}

int main(void)
{
    char csv[] = "/tmp/train_api-XXXXXX", data[64] = "fashion-mnist";
    bool fashion = access("/usr/share/datasets/fashion-mnist", R_OK) == 0;
    if (!fashion && !write_blobs(csv, data, sizeof data))
        return 1;
    /* Settings by name, as `gradus train --help` lists them; each has a default and a check. */
    const char *const named[][2] = {
        {"data", data}, {"model", fashion ? "linear(128) relu linear(10)" : "linear(32) relu linear(3)"},
        {"limit", "6000"}, {"val_size", fashion ? "1000" : "100"}, {"epochs", "2"},
        {"batch_size", fashion ? "64" : "16"}, {"lr", fashion ? "0.001" : "0.01"}};
    gd_settings s;
    gd_settings_defaults(&s);
    gd_error err;
    gd_status st = GD_OK;
    for (size_t i = 0; st == GD_OK && i < sizeof named / sizeof named[0]; i++)
        st = gd_settings_set(&s, named[i][0], named[i][1], &err);
    gd_run *run = NULL; /* the run: data, preprocessing, model, optimiser, schedule */
    if (st == GD_OK && (st = gd_run_create(&run, &s, NULL, &err)) == GD_OK) {
        ratio_watch w = {malloc((size_t)gd_run_parameter_count(run) * sizeof(float)), false};
        gd_observer o = {.ctx = &w, .after_backward = snapshot, .after_step = print_ratios,
                         .epoch_end = print_epoch};
        gd_run_result r;
        st = w.before ? gd_run_add_observer(run, &o) : GD_ERR_NO_MEMORY;
        if (st == GD_OK && (st = gd_run_fit(run, &r)) == GD_OK) /* epochs, then the test */
            printf("test accuracy %.1f%%\n", 100 * r.test.accuracy);
        free(w.before);
    }
    if (st != GD_OK)
        fprintf(stderr, "train_api: %s: %s\n", gd_strerror(st), run ? gd_run_error(run) : err.message);
    gd_run_free(run);
    gd_settings_free(&s);
    if (!fashion)
        unlink(csv);
    return st != GD_OK;
}
