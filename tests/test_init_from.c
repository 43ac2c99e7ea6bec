/* gd_model_init_from (--init-from): a built model takes, by name, every tensor of a file
 * with the same shape and dtype; the rest is kept and reported; nothing matching, or a
 * file that cannot be read, changes nothing. Copies are of float32 (and int64) bits, so
 * every comparison is exact. */
#include "../src/io/safetensors.h"
#include "scratch.h"

#include <criterion/criterion.h>
#include <gradus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TestSuite(init_from, .init = scratch_make, .fini = scratch_remove);

#define FEATURES 6
#define BATCH 4

static void expect_message(const char *message, const char *fragment)
{
    cr_expect_not_null(strstr(message, fragment), "message \"%s\" lacks \"%s\"", message,
                       fragment);
}

static gd_model *model(const char *spec, uint64_t seed)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, spec, seed, 1, (int64_t[]){FEATURES}, BATCH, &err),
                 GD_OK, "%s", err.message);
    return m;
}

/* A model file of spec built from seed 1: other values than a seed-2 model's. */
static const char *saved(const char *spec, const char *name)
{
    gd_model *m = model(spec, 1);
    const char *path = scratch_path(name);
    gd_error err;
    cr_assert_eq(gd_model_save(m, NULL, path, &err), GD_OK, "%s", err.message);
    gd_model_free(m);
    return path;
}

/* Whether tensor name of a holds the same bits as that of b. */
static bool same_values(const gd_model *a, const gd_model *b, const char *name)
{
    const gd_named_tensor *x = gd_model_tensor(a, name), *y = gd_model_tensor(b, name);
    cr_assert(x && y, "%s", name);
    int64_t n = gd_tensor_numel(&x->value);
    if (n != gd_tensor_numel(&y->value))
        return false;
    return memcmp(x->value.data, y->value.data, (size_t)n * sizeof(float)) == 0;
}

/* A copy of m's flat parameters (malloc'd), to see that nothing changed. */
static float *parameters(gd_model *m, int64_t *n)
{
    gd_tensor flat = gd_model_parameters_flat(m);
    *n = gd_tensor_numel(&flat);
    float *copy = malloc((size_t)*n * sizeof *copy);
    memcpy(copy, flat.data, (size_t)*n * sizeof *copy);
    return copy;
}

static void expect_unchanged(gd_model *m, const float *before, int64_t n)
{
    gd_tensor flat = gd_model_parameters_flat(m);
    cr_assert_eq(gd_tensor_numel(&flat), n);
    cr_expect_eq(memcmp(flat.data, before, (size_t)n * sizeof *before), 0,
                 "the model changed");
}

Test(init_from, copies_every_tensor_of_the_same_architecture)
{
    const char *spec = "linear(8) relu linear(3)";
    const char *path = saved(spec, "a.safetensors");
    gd_model *src = model(spec, 1), *m = model(spec, 2);
    cr_assert_not(same_values(src, m, "0.weight"), "seeds 1 and 2 gave the same weights");
    gd_init_report r;
    gd_error err;
    cr_assert_eq(gd_model_init_from(m, path, &r, &err), GD_OK, "%s", err.message);
    const char *names[] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    for (int i = 0; i < 4; i++)
        cr_expect(same_values(src, m, names[i]), "%s not copied", names[i]);
    cr_expect(r.tensors == 4 && r.copied == 4 && r.reshaped == 0 && r.missing == 0 &&
              r.unused == 0);
    cr_expect_str_eq(r.text, "4 of 4 tensors copied");
    gd_model_free(src);
    gd_model_free(m);
}

Test(init_from, matches_by_name_and_skips_and_reports_another_shape)
{
    /* The file's second linear has 5 outputs, the model's 3: only layer 0 fits. */
    const char *path = saved("linear(8) relu linear(5)", "a.safetensors");
    gd_model *src = model("linear(8) relu linear(5)", 1);
    gd_model *m = model("linear(8) relu linear(3)", 2);
    gd_model *fresh = model("linear(8) relu linear(3)", 2);
    gd_init_report r;
    gd_error err;
    cr_assert_eq(gd_model_init_from(m, path, &r, &err), GD_OK, "%s", err.message);
    cr_expect(same_values(src, m, "0.weight") && same_values(src, m, "0.bias"));
    cr_expect(same_values(fresh, m, "2.weight") && same_values(fresh, m, "2.bias"),
              "a tensor of another shape was touched");
    cr_expect(r.tensors == 4 && r.copied == 2 && r.reshaped == 2 && r.missing == 0 &&
              r.unused == 0);
    cr_expect_str_eq(r.text, "2 of 4 tensors copied; another shape: 2.weight [3, 8] (file "
                             "[5, 8]), 2.bias [3] (file [5])");
    gd_model_free(src);
    gd_model_free(m);
    gd_model_free(fresh);
}

Test(init_from, reports_tensors_the_file_lacks_and_tensors_nothing_took)
{
    /* The model is deeper than the file (4.* missing); and a deeper file leaves its own
     * 4.* unused. */
    const char *shallow = saved("linear(8) relu linear(3)", "shallow.safetensors");
    const char *deep = saved("linear(8) relu linear(3) relu linear(3)", "deep.safetensors");
    gd_model *m = model("linear(8) relu linear(3) relu linear(3)", 2);
    gd_init_report r;
    gd_error err;
    cr_assert_eq(gd_model_init_from(m, shallow, &r, &err), GD_OK, "%s", err.message);
    cr_expect(r.copied == 4 && r.missing == 2 && r.unused == 0);
    cr_expect_str_eq(r.text, "4 of 6 tensors copied; not in the file: 4.weight, 4.bias");
    gd_model_free(m);
    m = model("linear(8) relu linear(3)", 2);
    cr_assert_eq(gd_model_init_from(m, deep, &r, &err), GD_OK, "%s", err.message);
    cr_expect(r.copied == 4 && r.missing == 0 && r.unused == 2);
    cr_expect_str_eq(r.text, "4 of 4 tensors copied; unused in the file: 4.weight, 4.bias");
    gd_model_free(m);
}

Test(init_from, lists_three_names_and_counts_the_rest)
{
    const char *path = saved("linear(8) relu linear(3)", "a.safetensors");
    gd_model *m = model("linear(8) relu linear(3) relu linear(3) relu linear(3)", 2);
    gd_init_report r;
    gd_error err;
    cr_assert_eq(gd_model_init_from(m, path, &r, &err), GD_OK, "%s", err.message);
    cr_expect_str_eq(r.text,
                     "4 of 8 tensors copied; not in the file: 4.weight, 4.bias, 6.weight and "
                     "1 more");
    gd_model_free(m);
}

Test(init_from, refuses_a_file_of_which_nothing_matches_and_changes_nothing)
{
    const char *path = saved("linear(8) relu linear(4)", "a.safetensors");
    gd_model *m = model("linear(7) relu linear(3)", 2);
    int64_t n;
    float *before = parameters(m, &n);
    gd_init_report r = {.copied = 99};
    gd_error err;
    cr_assert_eq(gd_model_init_from(m, path, &r, &err), GD_ERR_INVALID_ARGUMENT);
    expect_message(err.message, path);
    expect_message(err.message, "no tensor of the model matches one of the file's by name and "
                                "shape (0.weight: [7, 6] here, [8, 6] in the file)");
    expect_unchanged(m, before, n);
    cr_expect_eq(r.copied, 0, "a refused report still counts copies");
    free(before);
    gd_model_free(m);
}

Test(init_from, refuses_an_unreadable_file_naming_it)
{
    gd_model *m = model("linear(3)", 2);
    int64_t n;
    float *before = parameters(m, &n);
    gd_error err;
    const char *absent = scratch_path("absent.safetensors");
    cr_assert_eq(gd_model_init_from(m, absent, NULL, &err), GD_ERR_IO);
    expect_message(err.message, absent);
    const char *junk = scratch_path("junk.safetensors");
    scratch_write(junk, "not a model file at all", 23);
    cr_assert_eq(gd_model_init_from(m, junk, NULL, &err), GD_ERR_FORMAT);
    expect_message(err.message, junk);
    expect_unchanged(m, before, n);
    free(before);
    gd_model_free(m);
}

Test(init_from, copies_batch_norm_buffers_too)
{
    const char *spec = "linear(4) bn relu linear(3)";
    gd_model *src = model(spec, 1);
    gd_tensor *mean = gd_model_param(src, "1.running_mean");
    cr_assert_not_null(mean);
    for (int i = 0; i < 4; i++)
        mean->data[i] = 0.25f * (float)(i + 1);
    *gd_model_tensor(src, "1.num_batches_tracked")->i64 = 17;
    const char *path = scratch_path("bn.safetensors");
    gd_error err;
    cr_assert_eq(gd_model_save(src, NULL, path, &err), GD_OK, "%s", err.message);
    gd_model *m = model(spec, 2);
    gd_init_report r;
    cr_assert_eq(gd_model_init_from(m, path, &r, &err), GD_OK, "%s", err.message);
    cr_expect_eq(r.copied, r.tensors);
    cr_expect(same_values(src, m, "1.running_mean") && same_values(src, m, "1.weight"));
    cr_expect_eq(*gd_model_tensor(m, "1.num_batches_tracked")->i64, 17);
    gd_model_free(src);
    gd_model_free(m);
}

Test(init_from, reads_a_state_dict_without_gradus_metadata)
{
    /* PyTorch's safetensors.torch.save_file(model.state_dict()): names and data only. */
    float w[3 * FEATURES], b[3] = {1, 2, 3};
    for (int i = 0; i < 3 * FEATURES; i++)
        w[i] = (float)i / 8;
    char msg[256];
    gd_st_writer wr;
    gd_st_writer_init(&wr, msg);
    gd_st_add(&wr, "0.weight", GD_DTYPE_F32, 2, (int64_t[]){3, FEATURES}, w);
    gd_st_add(&wr, "0.bias", GD_DTYPE_F32, 1, (int64_t[]){3}, b);
    const char *path = scratch_path("torch.safetensors");
    cr_assert_eq(gd_st_write(&wr, path), GD_OK, "%s", msg);
    gd_st_writer_free(&wr);
    gd_model *m = model("linear(3)", 2);
    gd_error err;
    cr_assert_eq(gd_model_init_from(m, path, NULL, &err), GD_OK, "%s", err.message);
    cr_expect_arr_eq(gd_model_param(m, "0.weight")->data, w, sizeof w);
    cr_expect_arr_eq(gd_model_param(m, "0.bias")->data, b, sizeof b);
    gd_model_free(m);
}

Test(init_from, a_checkpoints_optimiser_state_and_preprocessing_are_not_unused_tensors)
{
    const char *spec = "linear(8) relu linear(3)";
    gd_model *src = model(spec, 1);
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_ADAM);
    gd_optimizer *opt;
    cr_assert_eq(gd_optim_create(&opt, src, &cfg), GD_OK, "%s", gd_optim_error(opt));
    const char *path = scratch_path("checkpoint.safetensors");
    gd_error err;
    cr_assert_eq(gd_checkpoint_save(src, opt, NULL, 1, "{}", path, &err), GD_OK, "%s",
                 err.message);
    gd_model *m = model(spec, 2);
    gd_init_report r;
    cr_assert_eq(gd_model_init_from(m, path, &r, &err), GD_OK, "%s", err.message);
    cr_expect(r.copied == 4 && r.unused == 0, "%s", r.text);
    cr_expect(same_values(src, m, "2.weight"));
    gd_optim_free(opt);
    gd_model_free(src);
    gd_model_free(m);
}

/* ------------------------------------------------------------ in a run */

static void set(gd_settings *s, const char *key, const char *text)
{
    gd_error err;
    cr_assert_eq(gd_settings_set(s, key, text, &err), GD_OK, "%s=%s: %s", key, text,
                 err.message);
}

/* Settings of a small run over a CSV of 8 rows of FEATURES values in 3 classes. */
static void run_settings(gd_settings *s, const char *spec)
{
    const char *csv = scratch_path("data.csv");
    FILE *f = fopen(csv, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 8; i++) {
        fprintf(f, "%d", i % 3);
        for (int j = 0; j < FEATURES; j++)
            fprintf(f, ",%g", (double)((i * 7 + j * 3) % 5) / 4);
        fputc('\n', f);
    }
    cr_assert_eq(fclose(f), 0);
    char data[600];
    snprintf(data, sizeof data, "csv:%s,%s", csv, csv);
    gd_settings_defaults(s);
    set(s, "data", data);
    set(s, "model", spec);
    set(s, "val_size", "0");
    set(s, "batch_size", "4");
    set(s, "epochs", "1");
    set(s, "threads", "1");
    set(s, "preprocess", "none");
}

Test(init_from, a_run_reports_what_it_copied_and_a_run_without_it_nothing)
{
    const char *path = saved("linear(8) relu linear(3)", "a.safetensors");
    gd_settings s;
    run_settings(&s, "linear(8) relu linear(3)");
    gd_run *run;
    gd_error err;
    cr_assert_eq(gd_run_create(&run, &s, NULL, &err), GD_OK, "%s", err.message);
    cr_expect_null(gd_run_init_report(run));
    gd_run_free(run);
    set(&s, "init_from", path);
    cr_assert_eq(gd_run_create(&run, &s, NULL, &err), GD_OK, "%s", err.message);
    const gd_init_report *r = gd_run_init_report(run);
    cr_assert_not_null(r);
    cr_expect_str_eq(r->text, "4 of 4 tensors copied");
    gd_model *src = model("linear(8) relu linear(3)", 1);
    cr_expect(same_values(src, gd_run_model(run), "0.weight"));
    gd_model_free(src);
    gd_run_free(run);
    gd_settings_free(&s);
}

Test(init_from, a_run_names_the_flag_the_file_and_the_model_when_nothing_matches)
{
    const char *path = saved("linear(8) relu linear(4)", "a.safetensors");
    gd_settings s;
    run_settings(&s, "linear(7) relu linear(3)");
    set(&s, "init_from", path);
    gd_run *run = (gd_run *)1;
    gd_error err;
    cr_assert_eq(gd_run_create(&run, &s, NULL, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect_null(run);
    char want[300];
    snprintf(want, sizeof want, "--init-from %s: no tensor of the model matches", path);
    expect_message(err.message, want);
    expect_message(err.message, "--model linear(7) relu linear(3)");
    gd_settings_free(&s);
}

Test(init_from, a_resumed_run_takes_its_weights_from_the_checkpoint_not_the_file)
{
    const char *path = saved("linear(8) relu linear(3)", "a.safetensors");
    char dir[300];
    snprintf(dir, sizeof dir, "%s/run", scratch_dir());
    cr_assert_eq(mkdir(dir, 0755), 0);
    gd_settings s;
    run_settings(&s, "linear(8) relu linear(3)");
    set(&s, "init_from", path);
    gd_run *run;
    gd_error err;
    cr_assert_eq(gd_run_create(&run, &s, &(gd_run_options){.dir = dir}, &err), GD_OK, "%s",
                 err.message);
    gd_run_result res;
    cr_assert_eq(gd_run_fit(run, &res), GD_OK, "%s", gd_run_error(run));
    gd_run_free(run);
    /* The file is gone: a resume that read it would fail. */
    cr_assert_eq(remove(path), 0);
    set(&s, "epochs", "2");
    cr_assert_eq(gd_run_create(&run, &s, &(gd_run_options){.dir = dir, .resume = true}, &err),
                 GD_OK, "%s", err.message);
    cr_expect_null(gd_run_init_report(run));
    char checkpoint[400];
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint.safetensors", dir);
    gd_model *saved_model;
    cr_assert_eq(gd_model_load(&saved_model, NULL, checkpoint, 4, &err), GD_OK, "%s",
                 err.message);
    cr_expect(same_values(saved_model, gd_run_model(run), "0.weight"));
    gd_model_free(saved_model);
    gd_run_free(run);
    gd_settings_free(&s);
}
