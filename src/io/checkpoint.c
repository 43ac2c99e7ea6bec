/* Checkpoints: a model file plus what resuming a run needs, the optimiser's state tensors
 * ("optim.exp_avg", ...) and step count ("optim.step"), the model's generator
 * ("rng.state": xoshiro's four words as I64 bits) and the caller's epoch and text. */
#include "model_file.h"

#include "../optim/optim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GD_STATE_NAME_MAX 64

static gd_status check_pair(gd_model *m, gd_optimizer *opt, const char *path, char *msg)
{
    if (!m || !opt || !path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "checkpoint: the %s is NULL",
                       !m ? "model" : !opt ? "optimizer" : "path");
    if (opt->failed != GD_OK)
        return gd_fail(msg, GD_ERR_STATE, "%s: the optimizer's creation failed: %s", path, opt->msg);
    if (opt->param != gd_model_parameters_flat(m).data)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%s: the optimizer updates another model", path);
    return GD_OK;
}

static void state_name(char *buf, const char *name)
{
    snprintf(buf, GD_STATE_NAME_MAX, GD_FILE_OPTIM_PREFIX "%s", name);
}

gd_status gd_checkpoint_save(gd_model *m, gd_optimizer *opt, const gd_preprocess *pre,
                             int64_t epoch, const char *run_state, const char *path,
                             gd_error *err)
{
    char local[GD_MSG_MAX];
    char *msg = err ? err->message : local;
    gd_status st = check_pair(m, opt, path, msg);
    if (st != GD_OK)
        return st;
    gd_st_writer w;
    gd_st_writer_init(&w, msg);
    gd_model_file_add(&w, m, pre, path);
    for (int k = 0; k < opt->nstate; k++) {
        char name[GD_STATE_NAME_MAX];
        state_name(name, opt->state_name[k]);
        gd_st_add(&w, name, GD_DTYPE_F32, 1, &opt->n, opt->state[k]);
    }
    gd_st_add(&w, GD_FILE_OPTIM_PREFIX "step", GD_DTYPE_I64, 1, (int64_t[]){1}, &opt->steps);
    uint64_t rng[GD_RNG_STATE_WORDS];
    gd_rng_get_state(gd_model_rng(m), rng);
    gd_st_add(&w, GD_FILE_RNG_STATE, GD_DTYPE_I64, 1, (int64_t[]){GD_RNG_STATE_WORDS}, rng);
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)epoch);
    gd_st_add_metadata(&w, GD_FILE_OPTIM_KIND, opt->ops->name);
    gd_st_add_metadata(&w, "gradus.epoch", text);
    if (run_state)
        gd_st_add_metadata(&w, "gradus.run_state", run_state);
    st = gd_st_write(&w, path);
    gd_st_writer_free(&w);
    return st;
}

/* ------------------------------------------------------------------ loading */

/* What a checkpoint restores beyond the model, read and checked before anything changes. */
typedef struct saved_run {
    const gd_st_entry *state[GD_OPTIM_STATE_MAX];
    int64_t step, epoch;
    uint64_t rng[GD_RNG_STATE_WORDS];
    const char *run_state;
} saved_run;

/* An I64 tensor of count elements, copied out (I64 data may be only 4-byte aligned). */
static gd_status read_i64(const gd_st_file *f, const char *name, int64_t count, void *out)
{
    const gd_st_entry *e = gd_st_find(f, name);
    if (!e)
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s is missing", name);
    if (e->dtype != GD_DTYPE_I64 || e->ndim != 1 || e->dims[0] != count) {
        char s[96];
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s is %s %s; it must be I64 [%lld]", name,
                          e->dtype == GD_DTYPE_I64 ? "I64" : "F32",
                          gd_st_shape_str(e->ndim, e->dims, s, sizeof s), (long long)count);
    }
    memcpy(out, e->data, (size_t)count * 8);
    return GD_OK;
}

static gd_status check_identity(const gd_st_file *f, gd_model *m, const gd_optimizer *opt)
{
    const char *kind = gd_st_metadata(f, GD_FILE_OPTIM_KIND);
    if (!kind)
        return gd_st_fail(f, GD_ERR_FORMAT, "no " GD_FILE_OPTIM_KIND " in its metadata: a model file, "
                          "not a checkpoint");
    if (strcmp(kind, opt->ops->name) != 0)
        return gd_st_fail(f, GD_ERR_INVALID_ARGUMENT, "it holds the state of %.20s; the optimizer is %s",
                          kind, opt->ops->name);
    const char *spec = gd_st_metadata(f, "gradus.spec"), *mine = gd_model_spec(m);
    if (mine && spec && strcmp(spec, mine) != 0)
        return gd_st_fail(f, GD_ERR_INVALID_ARGUMENT, "it was saved from spec \"%.50s\"; the model "
                          "was built from \"%.50s\"", spec, mine);
    return gd_model_file_check(f, m);
}

/* Every state tensor the optimiser keeps, as long as the parameters, and no other. */
static gd_status check_state(const gd_st_file *f, const gd_optimizer *opt, saved_run *run)
{
    char name[GD_STATE_NAME_MAX];
    for (int k = 0; k < opt->nstate; k++) {
        state_name(name, opt->state_name[k]);
        const gd_st_entry *e = run->state[k] = gd_st_find(f, name);
        if (!e)
            return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s is missing (%s keeps it)", name,
                              opt->ops->name);
        if (e->dtype != GD_DTYPE_F32 || e->ndim != 1 || e->dims[0] != opt->n) {
            char s[96];
            return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s has shape %s; the optimizer's state has [%lld]",
                              name, gd_st_shape_str(e->ndim, e->dims, s, sizeof s), (long long)opt->n);
        }
    }
    for (size_t i = 0; i < f->count; i++) {
        const char *n = f->entries[i].name;
        bool known = strncmp(n, GD_FILE_OPTIM_PREFIX, strlen(GD_FILE_OPTIM_PREFIX)) != 0 ||
                     strcmp(n, GD_FILE_OPTIM_PREFIX "step") == 0;
        for (int k = 0; !known && k < opt->nstate; k++)
            known = run->state[k] == &f->entries[i];
        if (!known)
            return gd_st_fail(f, GD_ERR_INVALID_ARGUMENT, "tensor %s is no state of this %s "
                              "(its settings differ from the saved one's)", n, opt->ops->name);
    }
    return GD_OK;
}

static gd_status check_counters(const gd_st_file *f, saved_run *run)
{
    gd_status st = read_i64(f, GD_FILE_OPTIM_PREFIX "step", 1, &run->step);
    if (st != GD_OK)
        return st;
    if (run->step < 0)
        return gd_st_fail(f, GD_ERR_FORMAT, "optim.step is %lld; a step count is >= 0",
                          (long long)run->step);
    if ((st = read_i64(f, GD_FILE_RNG_STATE, GD_RNG_STATE_WORDS, run->rng)) != GD_OK)
        return st;
    uint64_t any = 0;
    for (int i = 0; i < GD_RNG_STATE_WORDS; i++)
        any |= run->rng[i];
    if (!any)
        return gd_st_fail(f, GD_ERR_FORMAT, GD_FILE_RNG_STATE " is all zeros, which no generator reaches");
    const char *text = gd_st_metadata(f, "gradus.epoch");
    if (!text)
        return gd_st_fail(f, GD_ERR_FORMAT, "no gradus.epoch in its metadata");
    char *end = NULL;
    errno = 0;
    run->epoch = strtoll(text, &end, 10);
    if (!*text || *end || errno)
        return gd_st_fail(f, GD_ERR_FORMAT, "gradus.epoch is \"%.30s\"; it must be an integer", text);
    return GD_OK;
}

static gd_status check_run_state(const gd_st_file *f, char *buf, size_t len, saved_run *run)
{
    run->run_state = gd_st_metadata(f, "gradus.run_state");
    if (!run->run_state)
        run->run_state = "";
    size_t need = strlen(run->run_state) + 1;
    /* Truncated text (JSON, typically) would mislead the caller: refuse it whole. */
    if (buf && need > len)
        return gd_st_fail(f, GD_ERR_INVALID_ARGUMENT, "run_state needs %zu bytes; the buffer holds %zu",
                          need, len);
    return GD_OK;
}

static void restore(const gd_st_file *f, gd_model *m, gd_optimizer *opt, const saved_run *run,
                    int64_t *epoch, char *run_state)
{
    gd_model_file_copy(f, m);
    for (int k = 0; k < opt->nstate; k++)
        memcpy(opt->state[k], run->state[k]->data, (size_t)opt->n * sizeof(float));
    gd_optim_set_step_count(opt, run->step);
    gd_rng_set_state(gd_model_rng(m), run->rng); /* checked non-zero */
    if (epoch)
        *epoch = run->epoch;
    if (run_state)
        strcpy(run_state, run->run_state); /* its length is checked */
}

gd_status gd_checkpoint_load(gd_model *m, gd_optimizer *opt, int64_t *epoch, char *run_state,
                             size_t run_state_len, const char *path, gd_error *err)
{
    char local[GD_MSG_MAX];
    char *msg = err ? err->message : local;
    gd_status st = check_pair(m, opt, path, msg);
    if (st != GD_OK)
        return st;
    gd_st_file f;
    saved_run run = {0};
    if ((st = gd_st_read(&f, path, msg)) == GD_OK && (st = check_identity(&f, m, opt)) == GD_OK &&
        (st = check_state(&f, opt, &run)) == GD_OK && (st = check_counters(&f, &run)) == GD_OK &&
        (st = check_run_state(&f, run_state, run_state_len, &run)) == GD_OK)
        restore(&f, m, opt, &run, epoch, run_state);
    gd_st_close(&f);
    return st;
}
