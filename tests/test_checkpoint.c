/* Checkpoints: a run resumed from one continues bit for bit as if never stopped (Adam's
 * moments and step count, BatchNorm's statistics, the generator behind dropout masks, the
 * caller's epoch and text), and a checkpoint that does not fit the objects it is loaded
 * into is refused before anything changes. Equality is exact: the same operations on the
 * same numbers with the same thread count give the same bits (gradus.h), so there is no
 * tolerance to state. */
#include <criterion/criterion.h>
#include <gradus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_watch.h"
#include "scratch.h"

TestSuite(checkpoint, .init = scratch_make, .fini = scratch_remove);

#define SPEC "linear(16) bn relu dropout(0.3) linear(3)"
#define FEATURES 6
#define BATCH 8
#define BEFORE 3 /* steps before the checkpoint */
#define AFTER 4  /* steps after it */

/* Batch t of a fixed stream, drawn from seed 100 + t alone: both runs see the same data. */
static void batch(int t, float *x, int32_t *labels)
{
    gd_rng *rng;
    gd_rng_create(&rng, 100 + (uint64_t)t);
    for (int i = 0; i < BATCH * FEATURES; i++)
        x[i] = (float)gd_rng_normal(rng);
    for (int i = 0; i < BATCH; i++)
        labels[i] = (int32_t)(gd_rng_next_u64(rng) % 3);
    gd_rng_free(rng);
}

static void train(gd_model *m, gd_optimizer *opt, int from, int to)
{
    gd_loss loss = {.kind = GD_LOSS_CROSS_ENTROPY};
    float x[BATCH * FEATURES];
    int32_t labels[BATCH];
    for (int t = from; t < to; t++) {
        batch(t, x, labels);
        gd_tensor view = gd_tensor_view(x, 2, (int64_t[]){BATCH, FEATURES});
        double value;
        cr_assert_eq(gd_model_forward(m, &view), GD_OK, "%s", gd_model_error(m));
        cr_assert_eq(gd_model_loss(m, &loss, labels, NULL, &value), GD_OK, "%s", gd_model_error(m));
        cr_assert_eq(gd_model_backward(m), GD_OK, "%s", gd_model_error(m));
        cr_assert_eq(gd_optim_step(opt), GD_OK, "%s", gd_optim_error(opt));
    }
}

static gd_optim_config adam(void)
{
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_ADAM);
    cfg.lr = 0.01;
    return cfg;
}

static gd_model *from_spec(const char *spec, uint64_t seed)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, spec, seed, 1, (int64_t[]){FEATURES}, BATCH, &err), GD_OK,
                 "%s", err.message);
    return m;
}

static gd_optimizer *optimizer(gd_model *m, gd_optim_config cfg)
{
    gd_optimizer *opt;
    cr_assert_eq(gd_optim_create(&opt, m, &cfg), GD_OK, "%s", gd_optim_error(opt));
    return opt;
}

static gd_model *load_model(const char *path)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_load(&m, NULL, path, BATCH, &err), GD_OK, "%s", err.message);
    return m;
}

/* A run (m, opt) trained BEFORE steps with saved_cfg and checkpointed to path, and the
 * objects a resumed run starts from: r loaded from the checkpoint, ropt a fresh optimiser
 * of loaded_cfg over it (the checkpoint's state not restored yet). */
typedef struct resume {
    const char *path;
    gd_model *m, *r;
    gd_optimizer *opt, *ropt;
} resume;

static resume checkpointed(gd_optim_config saved_cfg, gd_optim_config loaded_cfg)
{
    resume run = {.path = scratch_path("run.ckpt"), .m = from_spec(SPEC, 1)};
    run.opt = optimizer(run.m, saved_cfg);
    train(run.m, run.opt, 0, BEFORE);
    gd_error err;
    cr_assert_eq(gd_checkpoint_save(run.m, run.opt, NULL, 2, "{\"best\": 0.25}", run.path, &err),
                 GD_OK, "%s", err.message);
    run.r = load_model(run.path);
    run.ropt = optimizer(run.r, loaded_cfg);
    return run;
}

static void resume_free(resume *run)
{
    gd_optim_free(run->opt);
    gd_optim_free(run->ropt);
    gd_model_free(run->m);
    gd_model_free(run->r);
}

static bool same_model(const gd_model *a, const gd_model *b)
{
    bool same = gd_model_tensor_count(a) == gd_model_tensor_count(b);
    for (size_t i = 0; same && i < gd_model_tensor_count(a); i++) {
        const gd_named_tensor *x = gd_model_tensor_at(a, i), *y = gd_model_tensor_at(b, i);
        same = x->dtype == GD_DTYPE_I64
                   ? *x->i64 == *y->i64
                   : memcmp(x->value.data, y->value.data,
                            (size_t)gd_tensor_numel(&x->value) * sizeof(float)) == 0;
    }
    return same;
}

static void expect_same_optimizer(gd_optimizer *a, gd_optimizer *b)
{
    cr_expect_eq(gd_optim_step_count(a), gd_optim_step_count(b));
    cr_assert_eq(gd_optim_state_count(a), gd_optim_state_count(b));
    for (size_t k = 0; k < gd_optim_state_count(a); k++) {
        const char *name;
        gd_tensor x, y;
        gd_optim_state_at(a, k, &name, &x);
        gd_optim_state_at(b, k, NULL, &y);
        cr_expect(memcmp(x.data, y.data, (size_t)gd_tensor_numel(&x) * sizeof(float)) == 0,
                  "optimizer state %s differs", name);
    }
}

static void expect_same_rng(gd_model *a, gd_model *b)
{
    uint64_t x[GD_RNG_STATE_WORDS], y[GD_RNG_STATE_WORDS];
    gd_rng_get_state(gd_model_rng(a), x);
    gd_rng_get_state(gd_model_rng(b), y);
    cr_expect_arr_eq(x, y, sizeof x);
}

Test(checkpoint, resuming_continues_the_run_bit_for_bit)
{
    resume run = checkpointed(adam(), adam());
    train(run.m, run.opt, BEFORE, BEFORE + AFTER);
    int64_t epoch = -1;
    char text[64];
    gd_error err;
    cr_assert_eq(gd_checkpoint_load(run.r, run.ropt, &epoch, text, sizeof text, run.path, &err),
                 GD_OK, "%s", err.message);
    cr_expect_eq(epoch, 2);
    cr_expect_str_eq(text, "{\"best\": 0.25}");
    cr_expect_eq(gd_optim_step_count(run.ropt), BEFORE);
    train(run.r, run.ropt, BEFORE, BEFORE + AFTER);

    cr_expect(same_model(run.m, run.r), "parameters or buffers differ after resuming");
    expect_same_optimizer(run.opt, run.ropt);
    expect_same_rng(run.m, run.r);
    resume_free(&run);
}

/* The control for the test above: the model file alone (fresh Adam moments, generator
 * reseeded) does not reproduce the run, so that test can fail. */
Test(checkpoint, resuming_from_the_model_alone_diverges)
{
    resume run = checkpointed(adam(), adam());
    train(run.m, run.opt, BEFORE, BEFORE + AFTER);
    train(run.r, run.ropt, BEFORE, BEFORE + AFTER);
    cr_expect_not(same_model(run.m, run.r), "the optimizer state made no difference");
    resume_free(&run);
}

/* gd_checkpoint_load fails with status want, naming the file and saying phrase. */
static void expect_refused(gd_model *m, gd_optimizer *opt, const char *path, char *text,
                           size_t text_len, gd_status want, const char *phrase)
{
    gd_error err;
    int64_t epoch = -1;
    gd_status st = gd_checkpoint_load(m, opt, &epoch, text, text_len, path, &err);
    cr_expect_eq(st, want, "status %s, message: %s", gd_strerror(st), err.message);
    cr_expect(strstr(err.message, path), "message names the file: %s", err.message);
    cr_expect(strstr(err.message, phrase), "message says \"%s\": %s", phrase, err.message);
    cr_expect_eq(epoch, -1, "epoch written by a failed load");
}

Test(checkpoint, refuses_an_optimizer_of_another_kind)
{
    resume run = checkpointed(adam(), gd_optim_defaults(GD_OPTIM_SGD));
    expect_refused(run.r, run.ropt, run.path, NULL, 0, GD_ERR_INVALID_ARGUMENT,
                   "it holds the state of Adam; the optimizer is SGD");
    resume_free(&run);
}

/* Adam with amsgrad keeps a third moment a plain Adam has no room for. */
Test(checkpoint, refuses_state_the_optimizer_does_not_keep)
{
    gd_optim_config ams = adam();
    ams.amsgrad = true;
    resume run = checkpointed(ams, adam());
    expect_refused(run.r, run.ropt, run.path, NULL, 0, GD_ERR_INVALID_ARGUMENT,
                   "tensor optim.max_exp_avg_sq is no state of this Adam");
    resume_free(&run);
}

/* Same tensor shapes, other computation: the spec tells them apart. */
Test(checkpoint, refuses_a_model_built_from_another_spec)
{
    resume run = checkpointed(adam(), adam());
    gd_model *other = from_spec("linear(16) bn tanh dropout(0.3) linear(3)", 1);
    gd_optimizer *other_opt = optimizer(other, adam());
    expect_refused(other, other_opt, run.path, NULL, 0, GD_ERR_INVALID_ARGUMENT, "saved from spec");
    gd_optim_free(other_opt);
    gd_model_free(other);
    resume_free(&run);
}

Test(checkpoint, refuses_an_optimizer_of_another_model)
{
    resume run = checkpointed(adam(), adam());
    expect_refused(run.r, run.opt, run.path, NULL, 0, GD_ERR_INVALID_ARGUMENT,
                   "updates another model");
    resume_free(&run);
}

Test(checkpoint, refuses_a_model_file)
{
    const char *path = scratch_path("model.safetensors");
    gd_model *m = from_spec(SPEC, 1);
    gd_optimizer *opt = optimizer(m, adam());
    gd_error err;
    cr_assert_eq(gd_model_save(m, NULL, path, &err), GD_OK, "%s", err.message);
    expect_refused(m, opt, path, NULL, 0, GD_ERR_FORMAT, "not a checkpoint");
    gd_optim_free(opt);
    gd_model_free(m);
}

/* Truncated text (JSON, typically) would mislead the caller more than no text. */
Test(checkpoint, refuses_a_run_state_buffer_too_small)
{
    resume run = checkpointed(adam(), adam());
    char text[8] = "intact";
    expect_refused(run.r, run.ropt, run.path, text, sizeof text, GD_ERR_INVALID_ARGUMENT,
                   "run_state needs 15 bytes; the buffer holds 8");
    cr_expect_str_eq(text, "intact");
    cr_expect_eq(gd_optim_step_count(run.ropt), 0);
    resume_free(&run);
}

Test(checkpoint, a_checkpoint_without_run_state_reads_back_empty_text)
{
    const char *path = scratch_path("run.ckpt");
    gd_model *m = from_spec(SPEC, 1);
    gd_optimizer *opt = optimizer(m, adam());
    gd_error err;
    cr_assert_eq(gd_checkpoint_save(m, opt, NULL, 0, NULL, path, &err), GD_OK, "%s", err.message);
    char text[8] = "garbage";
    cr_assert_eq(gd_checkpoint_load(m, opt, NULL, text, sizeof text, path, &err), GD_OK, "%s",
                 err.message);
    cr_expect_str_eq(text, "");
    gd_optim_free(opt);
    gd_model_free(m);
}

/* ------------------------------------------------------- crafted checkpoints */

/* A checkpoint of linear(2) on 1 input (4 parameters) under SGD with momentum, whose
 * momentum buffer has state_len floats; all data bytes 0x01 but the generator's state,
 * which is zero when zero_rng is set. */
static const char *craft_checkpoint(int state_len, bool zero_rng)
{
    char header[1024];
    int s_end = 16 + 4 * state_len, step_end = s_end + 8, rng_end = step_end + 32;
    int n = snprintf(header, sizeof header,
                     "{\"__metadata__\":{\"gradus.spec\":\"linear(2)\",\"gradus.input_shape\":\"1\","
                     "\"gradus.optim\":\"SGD\",\"gradus.epoch\":\"1\"},"
                     "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
                     "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                     "\"optim.momentum_buffer\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[16,%d]},"
                     "\"optim.step\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[%d,%d]},"
                     "\"rng.state\":{\"dtype\":\"I64\",\"shape\":[4],\"data_offsets\":[%d,%d]}}",
                     state_len, s_end, s_end, step_end, step_end, rng_end);
    cr_assert_lt(n, (int)sizeof header);
    size_t total = 8 + (size_t)n + (size_t)rng_end;
    unsigned char *buf = malloc(total);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, (size_t)n);
    memset(buf + 8 + n, 1, (size_t)rng_end);
    if (zero_rng)
        memset(buf + 8 + n + step_end, 0, 32);
    const char *path = scratch_path("crafted.ckpt");
    scratch_write(path, buf, total);
    free(buf);
    return path;
}

static gd_optimizer *sgd_momentum(gd_model *m)
{
    gd_optim_config cfg = gd_optim_defaults(GD_OPTIM_SGD);
    cfg.momentum = 0.9;
    return optimizer(m, cfg);
}

static gd_model *tiny(void)
{
    gd_model *m;
    gd_error err;
    cr_assert_eq(gd_model_from_spec(&m, "linear(2)", 1, 1, (int64_t[]){1}, 1, &err), GD_OK, "%s",
                 err.message);
    return m;
}

Test(checkpoint, the_crafted_checkpoint_is_valid_as_made)
{
    const char *path = craft_checkpoint(4, false);
    gd_model *m = load_model(path);
    gd_optimizer *opt = sgd_momentum(m);
    int64_t epoch;
    gd_error err;
    cr_expect_eq(gd_checkpoint_load(m, opt, &epoch, NULL, 0, path, &err), GD_OK, "%s", err.message);
    cr_expect_eq(epoch, 1);
    cr_expect_eq(gd_optim_step_count(opt), 0x0101010101010101);
    gd_optim_free(opt);
    gd_model_free(m);
}

Test(checkpoint, refuses_optimizer_state_of_the_wrong_length)
{
    gd_model *m = tiny();
    gd_optimizer *opt = sgd_momentum(m);
    expect_refused(m, opt, craft_checkpoint(3, false), NULL, 0, GD_ERR_FORMAT,
                   "tensor optim.momentum_buffer has shape [3]; the optimizer's state has [4]");
    gd_optim_free(opt);
    gd_model_free(m);
}

Test(checkpoint, refuses_an_all_zero_generator_state)
{
    gd_model *m = tiny();
    gd_optimizer *opt = sgd_momentum(m);
    expect_refused(m, opt, craft_checkpoint(4, true), NULL, 0, GD_ERR_FORMAT, "rng.state is all zeros");
    gd_optim_free(opt);
    gd_model_free(m);
}

/* Everything is checked before anything is copied: the refused file's parameters (all
 * bytes 0x01) would be visible. */
Test(checkpoint, a_refused_checkpoint_changes_nothing)
{
    gd_model *m = tiny();
    gd_optimizer *opt = sgd_momentum(m);
    float before[4];
    memcpy(before, gd_model_parameters_flat(m).data, sizeof before);
    uint64_t rng_before[GD_RNG_STATE_WORDS], rng_after[GD_RNG_STATE_WORDS];
    gd_rng_get_state(gd_model_rng(m), rng_before);
    cr_assert_neq(gd_checkpoint_load(m, opt, NULL, NULL, 0, craft_checkpoint(4, true), NULL), GD_OK);
    cr_expect_arr_eq(gd_model_parameters_flat(m).data, before, sizeof before);
    gd_rng_get_state(gd_model_rng(m), rng_after);
    cr_expect_arr_eq(rng_after, rng_before, sizeof rng_before);
    cr_expect_eq(gd_optim_step_count(opt), 0);
    gd_optim_free(opt);
    gd_model_free(m);
}

/* A checkpoint holds the parameters and Adam's two moments: written from where they lie,
 * with no buffer the size of the file (which once doubled a large model's memory). */
Test(checkpoint, saving_makes_no_copy_of_the_tensors)
{
    gd_model *m = from_spec("linear(2000) linear(3)", 1);
    gd_optimizer *opt = optimizer(m, adam());
    train(m, opt, 0, 1);
    gd_error err;
    alloc_watch_start();
    gd_status st = gd_checkpoint_save(m, opt, NULL, 1, "{}", scratch_path("big.ckpt"), &err);
    alloc_watch_stop();
    cr_assert_eq(st, GD_OK, "%s", err.message);
    size_t weight = 2000 * FEATURES * sizeof(float);
    cr_expect_lt(alloc_watch_largest(), weight, "largest allocation %zu bytes, weight %zu",
                 alloc_watch_largest(), weight);
    gd_optim_free(opt);
    gd_model_free(m);
}

Test(checkpoint, optimizer_state_beyond_the_memory_limit_is_refused)
{
    gd_model *m = from_spec("linear(2000) linear(3)", 1);
    gd_set_memory_limit(100000); /* Adam's moments of 20003 parameters take 160 KB */
    gd_optim_config cfg = adam();
    gd_optimizer *opt;
    cr_assert_eq(gd_optim_create(&opt, m, &cfg), GD_ERR_LIMIT);
    cr_expect(strstr(gd_optim_error(opt), "Adam: 2 state tensors of 20003 floats"), "%s", gd_optim_error(opt));
    cr_expect(strstr(gd_optim_error(opt), "beyond the memory limit"), "%s", gd_optim_error(opt));
    gd_optim_free(opt);
    gd_model_free(m);
}
