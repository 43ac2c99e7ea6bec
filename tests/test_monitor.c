/* The training monitor: what it reports on networks built to show each problem (a deep
 * sigmoid network with large weights saturates, a ReLU layer with a large negative bias
 * dies, a learning rate of 1e-7 barely moves the weights, a loss that explodes stops the
 * run), that a healthy run stays quiet, that monitor.jsonl is JSON lines a reader can take
 * while the run goes on, and that a step with the monitor on allocates nothing. Runs are
 * made from settings over a small CSV written here: two classes told apart by the first of
 * 16 features. */
#include "alloc_watch.h"
#include "scratch.h"

#include <cjson/cJSON.h>
#include <gradus.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(monitor, .init = scratch_make, .fini = scratch_remove);

#define FEATURES 16
#define MAX_SEEN 64

/* The warnings a run gave, copied in the callback without allocating (the no-allocation
 * test runs it inside the watch). */
typedef struct seen {
    int n;
    gd_monitor_warning_kind kind[MAX_SEEN];
    char subject[MAX_SEEN][32];
    double value[MAX_SEEN], threshold[MAX_SEEN];
} seen;

static void remember(void *ctx, const gd_monitor_warning *w)
{
    seen *s = ctx;
    if (s->n == MAX_SEEN)
        return;
    s->kind[s->n] = w->kind;
    snprintf(s->subject[s->n], sizeof s->subject[s->n], "%s", w->subject);
    s->value[s->n] = w->value;
    s->threshold[s->n] = w->threshold;
    s->n++;
}

/* The index of the first warning of kind about subject (NULL: any), or -1. */
static int find(const seen *s, gd_monitor_warning_kind kind, const char *subject)
{
    for (int i = 0; i < s->n; i++)
        if (s->kind[i] == kind && (!subject || strcmp(s->subject[i], subject) == 0))
            return i;
    return -1;
}

/* n rows of "label,f0,...,f15", features uniform in [-1, 1), label f0 > 0. */
static const char *write_csv(int n)
{
    const char *path = scratch_path("data.csv");
    FILE *f = fopen(path, "w");
    cr_assert(f);
    gd_rng *rng;
    gd_rng_create(&rng, 11);
    for (int i = 0; i < n; i++) {
        float x[FEATURES];
        for (int k = 0; k < FEATURES; k++)
            x[k] = (float)(2 * gd_rng_uniform(rng) - 1);
        fprintf(f, "%d", x[0] > 0);
        for (int k = 0; k < FEATURES; k++)
            fprintf(f, ",%.6f", x[k]);
        fputc('\n', f);
    }
    gd_rng_free(rng);
    fclose(f);
    return path;
}

static void set(gd_settings *s, const char *key, const char *value)
{
    gd_error err;
    cr_assert_eq(gd_settings_set(s, key, value, &err), GD_OK, "%s", err.message);
}

/* A run of spec over `rows` rows in batches of 16, standardised, with no validation split
 * and a constant rate; no run folder. */
static gd_run *make_run(const char *spec, const char *optim, const char *lr, int rows)
{
    char data[4200];
    const char *csv = write_csv(rows);
    snprintf(data, sizeof data, "csv:%s,%s", csv, csv);
    gd_settings s;
    gd_settings_defaults(&s);
    set(&s, "data", data);
    set(&s, "model", spec);
    set(&s, "optim", optim);
    set(&s, "lr", lr);
    set(&s, "val_size", "0");
    set(&s, "batch_size", "16");
    set(&s, "epochs", "1");
    set(&s, "schedule", "constant");
    set(&s, "threads", "1");
    gd_run *run;
    gd_error err;
    gd_run_options opt = {0};
    cr_assert_eq(gd_run_create(&run, &s, &opt, &err), GD_OK, "%s", err.message);
    gd_settings_free(&s);
    return run;
}

static gd_monitor *watch(gd_run *run, int64_t interval, seen *warnings, const char *dir)
{
    gd_monitor_options o = gd_monitor_defaults();
    o.interval = interval;
    o.on_warning = remember;
    o.ctx = warnings;
    o.dir = dir;
    gd_monitor *m;
    gd_error err;
    cr_assert_eq(gd_monitor_create(&m, run, &o, &err), GD_OK, "%s", err.message);
    return m;
}

static void steps(gd_run *run, int n)
{
    for (int i = 0; i < n; i++) {
        bool done;
        cr_assert_eq(gd_run_step(run, &done), GD_OK, "%s", gd_run_error(run));
    }
}

static const gd_monitor_layer *layer(const gd_monitor *m, const char *name)
{
    for (size_t i = 0; i < gd_monitor_layer_count(m); i++)
        if (strcmp(gd_monitor_layer_at(m, i)->name, name) == 0)
            return gd_monitor_layer_at(m, i);
    cr_assert_fail("no layer %s", name);
    return NULL;
}

static const gd_monitor_tensor *tensor(const gd_monitor *m, const char *name)
{
    for (size_t i = 0; i < gd_monitor_tensor_count(m); i++)
        if (strcmp(gd_monitor_tensor_at(m, i)->name, name) == 0)
            return gd_monitor_tensor_at(m, i);
    cr_assert_fail("no tensor %s", name);
    return NULL;
}

/* Pre-activations of std 5 x sqrt(fan_in) (about 20) put most units beyond |z| = 4.6,
 * where sigmoid leaves [0.01, 0.99]: the lecture's picture of a network too large at
 * initialisation. */
#define DEEP_SIGMOID                                                                      \
    "linear(32, init=normal(std=5)) sigmoid linear(32, init=normal(std=5)) sigmoid "      \
    "linear(32, init=normal(std=5)) sigmoid linear(2)"

Test(monitor, a_deep_sigmoid_network_with_large_weights_reports_saturation)
{
    seen w = {0};
    gd_run *run = make_run(DEEP_SIGMOID, "sgd", "0.01", 256);
    gd_monitor *m = watch(run, 4, &w, NULL);
    steps(run, 4);
    cr_assert_eq(gd_monitor_records(m), 1);
    for (const char *name = "1"; name; name = strcmp(name, "1") == 0 ? "3" : strcmp(name, "3") == 0 ? "5" : NULL) {
        const gd_monitor_layer *l = layer(m, name);
        cr_expect_gt(l->saturated, 0.5, "layer %s: %g saturated", name, l->saturated);
        int i = find(&w, GD_WARN_SATURATED, name);
        cr_expect_geq(i, 0, "no saturation warning for layer %s", name);
        if (i >= 0)
            cr_expect_eq(w.threshold[i], 0.5);
    }
    gd_monitor_free(m);
    gd_run_free(run);
}

Test(monitor, a_tanh_layer_with_large_weights_reports_saturation)
{
    seen w = {0};
    gd_run *run = make_run("linear(32, init=normal(std=5)) tanh linear(2)", "sgd", "0.01", 256);
    gd_monitor *m = watch(run, 2, &w, NULL);
    steps(run, 2);
    cr_expect_gt(layer(m, "1")->saturated, 0.5);
    cr_expect_geq(find(&w, GD_WARN_SATURATED, "1"), 0);
    gd_monitor_free(m);
    gd_run_free(run);
}

/* With a bias of -10 and inputs of unit scale (standardised, weights U(+-1/4)), no
 * pre-activation comes near 0: every unit is silent on every sample of the interval. */
Test(monitor, a_relu_layer_with_a_large_negative_bias_reports_dead_units)
{
    seen w = {0};
    gd_run *run = make_run("linear(32, bias_init=constant(-10)) relu linear(2)", "sgd", "0.01", 256);
    gd_monitor *m = watch(run, 5, &w, NULL);
    steps(run, 5);
    cr_expect_eq(layer(m, "1")->dead, 1.0);
    int i = find(&w, GD_WARN_DEAD_UNITS, "1");
    cr_assert_geq(i, 0, "no dead-units warning");
    cr_expect_eq(w.value[i], 1.0);
    cr_expect_eq(w.threshold[i], 0.5);
    gd_monitor_free(m);
    gd_run_free(run);
}

/* The same network with PyTorch's default bias: about half its units fire on any sample,
 * so over 5 batches of 16 none stays silent. */
Test(monitor, a_relu_layer_with_default_initialisation_has_no_dead_units)
{
    seen w = {0};
    gd_run *run = make_run("linear(32) relu linear(2)", "sgd", "0.01", 256);
    gd_monitor *m = watch(run, 5, &w, NULL);
    steps(run, 5);
    cr_expect_lt(layer(m, "1")->dead, 0.1);
    cr_expect_eq(find(&w, GD_WARN_DEAD_UNITS, NULL), -1);
    cr_expect(isnan(layer(m, "0")->dead), "a linear layer has no dead fraction");
    gd_monitor_free(m);
    gd_run_free(run);
}

/* Adam moves each weight by at most about lr per step: 1e-7 against weights of about
 * 0.14 (U(+-1/4)) is a ratio near 1e-6, below the 1e-5 threshold. */
Test(monitor, a_learning_rate_of_1e_7_warns_that_the_update_ratio_is_too_low)
{
    seen w = {0};
    gd_run *run = make_run("linear(32) relu linear(2)", "adam", "1e-7", 256);
    gd_monitor *m = watch(run, 3, &w, NULL);
    steps(run, 3);
    const gd_monitor_tensor *t = tensor(m, "0.weight");
    cr_expect_lt(t->update_ratio, 1e-5, "ratio %g", t->update_ratio);
    cr_expect_gt(t->update_ratio, 0);
    int i = find(&w, GD_WARN_UPDATE_RATIO_LOW, "0.weight");
    cr_assert_geq(i, 0, "no update-ratio warning");
    cr_expect_eq(w.threshold[i], 1e-5);
    cr_expect_eq(find(&w, GD_WARN_UPDATE_RATIO_LOW, "0.bias"), -1, "biases are not judged");
    gd_monitor_free(m);
    gd_run_free(run);
}

/* The update/weight ratio is the norm of what the step changed over the norm of the
 * weights after it, and the gradient norm that of the gradient before the step: on SGD's
 * first step the momentum buffer is the gradient itself (as PyTorch starts it), so the
 * update is lr x gradient and the two norms agree to float32 rounding (1e-5 relative). */
Test(monitor, the_first_sgd_update_is_the_rate_times_the_gradient)
{
    seen w = {0};
    gd_run *run = make_run("linear(8) relu linear(2)", "sgd", "0.1", 256);
    gd_monitor *m = watch(run, 1, &w, NULL);
    steps(run, 1);
    const gd_monitor_tensor *t = tensor(m, "0.weight");
    cr_expect_float_eq(t->update_norm, 0.1 * t->grad_norm, 1e-5 * t->update_norm);
    cr_expect_float_eq(t->update_ratio, t->update_norm / t->weight_norm, 1e-12);
    gd_monitor_free(m);
    gd_run_free(run);
}

/* Adam at 1e-3 on a small ReLU network: ratios near 1e-2, no saturation, no dead layer,
 * a falling loss. */
Test(monitor, a_healthy_run_gives_no_warning)
{
    seen w = {0};
    gd_run *run = make_run("linear(32) relu linear(2)", "adam", "1e-3", 512);
    gd_monitor *m = watch(run, 5, &w, NULL);
    steps(run, 30);
    cr_expect_eq(gd_monitor_records(m), 6);
    cr_expect_eq(w.n, 0, "a warning of kind %d about %s", w.kind[0], w.subject[0]);
    cr_expect_eq(gd_monitor_warning_count(m), 0);
    gd_monitor_free(m);
    gd_run_free(run);
}

/* Multiplying the first layer's weights by 100 between two records multiplies its output,
 * and so the second layer's weight gradient (dL/dy h^T), by about 100. */
Test(monitor, a_gradient_norm_that_jumps_tenfold_is_reported)
{
    seen w = {0};
    gd_run *run = make_run("linear(8) linear(2)", "sgd", "1e-4", 256);
    gd_monitor *m = watch(run, 1, &w, NULL);
    steps(run, 1);
    gd_tensor *w0 = gd_model_param(gd_run_model(run), "0.weight");
    for (int64_t i = 0; i < gd_tensor_numel(w0); i++)
        w0->data[i] *= 100;
    steps(run, 1);
    int i = find(&w, GD_WARN_GRADIENT_JUMP, "1.weight");
    cr_assert_geq(i, 0, "no jump warning");
    cr_expect_gt(w.value[i], 10);
    cr_expect_eq(w.threshold[i], 10);
    gd_monitor_free(m);
    gd_run_free(run);
}

/* SGD at a rate of 20 on standardised inputs throws the logits far past the labels within
 * a few steps; the cross-entropy grows without becoming infinite, so the monitor sees it
 * pass 3x the first loss and stops the run (GD_STOP_REQUESTED), before any NaN. */
Test(monitor, a_loss_beyond_three_times_its_first_stops_the_run)
{
    seen w = {0};
    gd_run *run = make_run("linear(64) relu linear(64) relu linear(2)", "sgd", "20", 512);
    gd_monitor *m = watch(run, 100, &w, NULL);
    gd_run_result r;
    cr_assert_eq(gd_run_fit(run, &r), GD_OK, "%s", gd_run_error(run));
    cr_expect_eq(r.stop, GD_STOP_REQUESTED);
    gd_monitor_warning stop;
    cr_assert(gd_monitor_stopped(m, &stop));
    cr_expect_eq(stop.kind, GD_WARN_LOSS_EXPLODED);
    cr_expect_gt(stop.value, stop.threshold);
    cr_expect_str_eq(stop.subject, "loss");
    cr_expect(strstr(stop.message, "3x the first loss"), "%s", stop.message);
    cr_expect_lt(gd_monitor_steps(m), 32, "stopped within the epoch's 32 steps");
    gd_monitor_free(m);
    gd_run_free(run);
}

/* Every step after the first (which may set up libraries lazily), records, warnings and
 * the file's lines included: a step that records and warns (a learning rate of 1e-7,
 * saturated sigmoids) every 2 steps, over 20 steps. */
Test(monitor, a_step_with_the_monitor_on_allocates_nothing)
{
    seen w = {0};
    gd_run *run = make_run("linear(32, init=normal(std=5)) sigmoid linear(32) relu linear(2)",
                           "adam", "1e-7", 1024);
    gd_monitor *m = watch(run, 2, &w, scratch_dir());
    steps(run, 2);
    int failures = 0;
    alloc_watch_start();
    for (int i = 0; i < 20; i++) {
        bool done;
        failures += gd_run_step(run, &done) != GD_OK || done;
    }
    alloc_watch_stop();
    cr_assert_eq(failures, 0);
    cr_expect_eq(alloc_watch_calls(), 0, "%d allocations in 20 monitored steps", alloc_watch_calls());
    cr_expect_eq(gd_monitor_records(m), 11);
    cr_expect_gt(gd_monitor_warning_count(m), 0, "the warnings' path ran too");
    cr_expect_eq(gd_monitor_status(m), GD_OK, "%s", gd_monitor_error(m));
    gd_monitor_free(m);
    gd_run_free(run);
}

/* The file's lines as JSON objects (each line must parse alone); asserts on any other. */
static int read_lines(cJSON **lines, int cap, size_t *bytes)
{
    unsigned char *text = scratch_read(scratch_path("monitor.jsonl"), bytes);
    int n = 0;
    for (char *line = (char *)text, *end; line < (char *)text + *bytes; line = end + 1) {
        end = strchr(line, '\n');
        cr_assert(end, "the file ends inside a line");
        *end = '\0';
        cr_assert_lt(n, cap);
        lines[n] = cJSON_Parse(line);
        cr_assert(cJSON_IsObject(lines[n]), "line %d is not a JSON object: %s", n + 1, line);
        n++;
    }
    free(text);
    return n;
}

static const char *type_of(const cJSON *j)
{
    return cJSON_GetObjectItem(j, "type")->valuestring;
}

static void free_lines(cJSON **lines, int n)
{
    for (int i = 0; i < n; i++)
        cJSON_Delete(lines[i]);
}

/* Read while the run goes on (the monitor still open): a start line naming every layer,
 * one loss line per step, one record per interval whose histograms count every output of
 * the batch; 4 steps later the file has grown by their lines and kept the old ones. */
Test(monitor, monitor_jsonl_is_json_lines_readable_while_the_run_writes_it)
{
    seen w = {0};
    gd_run *run = make_run("linear(32) sigmoid linear(32) relu linear(2)", "adam", "1e-3", 512);
    gd_monitor *m = watch(run, 4, &w, scratch_dir());
    steps(run, 12);
    cJSON *lines[64];
    size_t before;
    int n = read_lines(lines, 64, &before);
    cr_assert_str_eq(type_of(lines[0]), "start");
    cr_expect_eq(cJSON_GetObjectItem(lines[0], "schema")->valueint, GD_MONITOR_SCHEMA);
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(lines[0], "layers")),
                 (int)gd_model_layer_count(gd_run_model(run)));
    int losses = 0, records = 0;
    for (int i = 1; i < n; i++) {
        const char *type = type_of(lines[i]);
        losses += strcmp(type, "loss") == 0;
        if (strcmp(type, "record") != 0)
            continue;
        records++;
        const cJSON *layers = cJSON_GetObjectItem(lines[i], "layers");
        cr_assert_eq(cJSON_GetArraySize(layers), 5);
        const cJSON *sigmoid = cJSON_GetArrayItem(layers, 1);
        const cJSON *hist = cJSON_GetObjectItem(sigmoid, "histogram");
        cr_assert_eq(cJSON_GetArraySize(hist), GD_MONITOR_BINS + 2);
        double total = 0;
        for (int b = 0; b < GD_MONITOR_BINS + 2; b++)
            total += cJSON_GetArrayItem(hist, b)->valuedouble;
        cr_expect_eq(total, 16 * 32, "every output of the batch counted once");
        cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(sigmoid, "saturated")));
        cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetArrayItem(layers, 3), "dead")));
    }
    cr_expect_eq(losses, 12);
    cr_expect_eq(records, 3);
    free_lines(lines, n);
    unsigned char *old = scratch_read(scratch_path("monitor.jsonl"), &before);
    steps(run, 4);
    size_t after;
    int grown = read_lines(lines, 64, &after);
    cr_expect_eq(grown, n + 5, "4 loss lines and a record more");
    unsigned char *now = scratch_read(scratch_path("monitor.jsonl"), &after);
    cr_expect(after > before && memcmp(old, now, before) == 0, "the old lines are kept as they were");
    free(old);
    free(now);
    free_lines(lines, grown);
    gd_monitor_free(m);
    gd_run_free(run);
}

Test(monitor, the_histogram_range_follows_the_activation)
{
    seen w = {0};
    gd_run *run = make_run("linear(8) sigmoid linear(8) tanh linear(2)", "sgd", "0.01", 64);
    gd_monitor *m = watch(run, 1, &w, NULL);
    steps(run, 1);
    cr_expect(layer(m, "1")->lo == 0 && layer(m, "1")->hi == 1, "sigmoid: [0, 1]");
    cr_expect(layer(m, "3")->lo == -1 && layer(m, "3")->hi == 1, "tanh: [-1, 1]");
    cr_expect(layer(m, "0")->lo == -5 && layer(m, "0")->hi == 5, "others: [-5, 5]");
    const gd_monitor_layer *t = layer(m, "3");
    int64_t total = 0;
    for (int b = 0; b < GD_MONITOR_BINS + 2; b++)
        total += t->histogram[b];
    cr_expect_eq(total, 16 * 8);
    cr_expect_eq(t->histogram[0] + t->histogram[GD_MONITOR_BINS + 1], 0, "tanh never leaves [-1, 1)");
    gd_monitor_free(m);
    gd_run_free(run);
}

Test(monitor, create_refuses_an_interval_below_one)
{
    gd_run *run = make_run("linear(8) relu linear(2)", "sgd", "0.01", 64);
    gd_monitor_options o = gd_monitor_defaults();
    o.interval = 0;
    gd_monitor *m = (gd_monitor *)1;
    gd_error err;
    cr_expect_eq(gd_monitor_create(&m, run, &o, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_null(m);
    cr_expect(strstr(err.message, "interval"), "%s", err.message);
    gd_run_free(run);
}
