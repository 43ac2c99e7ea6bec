/* A run's folder: config.json when it starts; model.safetensors (the best model so far),
 * checkpoint.safetensors and metrics.jsonl after each epoch, each written whole to a
 * temporary file and renamed. The checkpoint carries the run's state and history as JSON
 * of a documented layout (below), so that a resumed run rewrites exactly the metrics of
 * the epochs its checkpoint holds. */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

const char *gd_run_path(const gd_run *run, const char *name, char *buf)
{
    snprintf(buf, GD_PATH_MAX, "%s/%s", run->dir, name);
    return buf;
}

static gd_status write_text(gd_run *run, const char *name, const char *text)
{
    char path[GD_PATH_MAX];
    gd_error err;
    gd_status st = gd_write_file_atomic(gd_run_path(run, name, path), text, strlen(text), &err);
    return st == GD_OK ? GD_OK : gd_fail(run->msg, st, "%s", err.message);
}

gd_status gd_run_write_config(gd_run *run)
{
    if (!run->dir || !run->writes)
        return GD_OK;
    char *json;
    gd_error err;
    if (gd_settings_to_json(&run->settings, &json, &err) != GD_OK)
        return gd_fail(run->msg, GD_ERR_NO_MEMORY, "%s", err.message);
    size_t len = strlen(json);
    char *text = realloc(json, len + 2);
    if (!text) {
        free(json);
        return gd_fail(run->msg, GD_ERR_NO_MEMORY, "config.json: out of memory");
    }
    memcpy(text + len, "\n", 2);
    gd_status st = write_text(run, "config.json", text);
    free(text);
    return st;
}

gd_status gd_run_save_best(gd_run *run)
{
    char path[GD_PATH_MAX];
    gd_error err;
    gd_status st = gd_model_save(run->model, run->pre, gd_run_path(run, "model.safetensors", path), &err);
    return st == GD_OK ? GD_OK : gd_fail(run->msg, st, "%s", err.message);
}

gd_status gd_run_history_add(gd_run *run, const gd_epoch_metrics *m)
{
    if (run->history_len == run->history_cap) {
        int64_t cap = run->history_cap ? 2 * run->history_cap : 64;
        gd_epoch_metrics *h = realloc(run->history, (size_t)cap * sizeof *h);
        if (!h)
            return gd_fail(run->msg, GD_ERR_NO_MEMORY, "run: out of memory for the history");
        run->history = h;
        run->history_cap = cap;
    }
    run->history[run->history_len++] = *m;
    return GD_OK;
}

/* ------------------------------------------------------------ metrics.jsonl */

static cJSON *epoch_json(const gd_epoch_metrics *m)
{
    cJSON *j = cJSON_CreateObject();
    gd_json_add_number(j, "epoch", (double)m->epoch);
    gd_json_add_number(j, "train_loss", m->train_loss);
    gd_json_add_number(j, "train_accuracy", m->train_accuracy);
    gd_json_add_number(j, "val_loss", m->validated ? m->val_loss : NAN);
    gd_json_add_number(j, "val_accuracy", m->validated ? m->val_accuracy : NAN);
    gd_json_add_number(j, "lr", m->lr);
    gd_json_add_number(j, "seconds", m->seconds);
    gd_json_add_number(j, "samples_per_sec", m->samples_per_sec);
    return j;
}

static double number_or_nan(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* A count from a file: NaN, a negative number or one past 2^53 (which JSON's doubles do
 * not hold exactly, and whose conversion past 2^63 is undefined) is refused. */
static bool count_of(const cJSON *j, const char *key, int64_t *out)
{
    double v = number_or_nan(j, key);
    if (!(v >= 0 && v <= 9007199254740991.0))
        return false;
    *out = (int64_t)v;
    return true;
}

static bool epoch_from_json(const cJSON *j, double best_epoch, gd_epoch_metrics *out)
{
    gd_epoch_metrics m = {0};
    if (!count_of(j, "epoch", &m.epoch))
        return false;
    m.train_loss = number_or_nan(j, "train_loss");
    m.train_accuracy = number_or_nan(j, "train_accuracy");
    m.val_loss = number_or_nan(j, "val_loss");
    m.val_accuracy = number_or_nan(j, "val_accuracy");
    m.validated = !isnan(m.val_accuracy);
    m.lr = number_or_nan(j, "lr");
    m.seconds = number_or_nan(j, "seconds");
    m.samples_per_sec = number_or_nan(j, "samples_per_sec");
    m.best = (double)m.epoch == best_epoch;
    *out = m;
    return true;
}

gd_status gd_run_write_metrics(gd_run *run)
{
    size_t len = 0, cap = 256;
    char *text = malloc(cap);
    for (int64_t i = 0; text && i < run->history_len; i++) {
        cJSON *j = epoch_json(&run->history[i]);
        char *line = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        size_t n = line ? strlen(line) : 0;
        char *grown = line && len + n + 2 > cap ? realloc(text, cap = 2 * (len + n + 2)) : text;
        if (!line || !grown) {
            free(line);
            free(grown ? grown : text);
            text = NULL;
            break;
        }
        text = grown;
        memcpy(text + len, line, n);
        text[len + n] = '\n';
        len += n + 1;
        free(line);
    }
    if (!text)
        return gd_fail(run->msg, GD_ERR_NO_MEMORY, "metrics.jsonl: out of memory");
    text[len] = '\0';
    gd_status st = write_text(run, "metrics.jsonl", text);
    free(text);
    return st;
}

/* -------------------------------------------------------------- checkpoints */

/* The run state in a checkpoint, schema 1:
 *   {"schema": 1, "best_epoch": E, "bad_epochs": N, "samples": N,
 *    "best_metric": M, "best_val_accuracy": A, "train_seconds": S, "loop_seconds": S,
 *    "final_train_loss": L, "history": [one metrics.jsonl object per epoch],
 *    "plateau": {"base_lr": R, "lr": R, "best": M, "num_bad_epochs": N,
 *                "cooldown_counter": N}}
 * best_metric (the best --early-stop value) and plateau (with --schedule plateau only)
 * came later: a state without best_metric watched val_accuracy, its best_val_accuracy.
 * A best that is still +-infinity (nothing measured yet) is null. */
#define RUN_STATE_SCHEMA 1
#define RUN_STATE_MAX (1 << 24) /* the history of a hundred thousand epochs */

static char *state_json(const gd_run *run)
{
    const gd_run_state *s = &run->state;
    cJSON *j = cJSON_CreateObject();
    gd_json_add_number(j, "schema", RUN_STATE_SCHEMA);
    gd_json_add_number(j, "best_epoch", (double)s->best_epoch);
    gd_json_add_number(j, "bad_epochs", (double)s->bad_epochs);
    gd_json_add_number(j, "samples", (double)s->samples);
    gd_json_add_number(j, "best_metric", s->best_metric);
    gd_json_add_number(j, "best_val_accuracy", s->best_val_accuracy);
    gd_json_add_number(j, "train_seconds", s->train_seconds);
    gd_json_add_number(j, "loop_seconds", s->loop_seconds);
    gd_json_add_number(j, "final_train_loss", s->final_train_loss);
    cJSON *history = cJSON_AddArrayToObject(j, "history");
    for (int64_t i = 0; history && i < run->history_len; i++)
        cJSON_AddItemToArray(history, epoch_json(&run->history[i]));
    cJSON *p = run->plateau_on ? cJSON_AddObjectToObject(j, "plateau") : NULL;
    if (p) {
        gd_json_add_number(p, "base_lr", run->settings.lr);
        gd_json_add_number(p, "lr", run->plateau.lr);
        gd_json_add_number(p, "best", run->plateau.best);
        gd_json_add_number(p, "num_bad_epochs", (double)run->plateau.num_bad_epochs);
        gd_json_add_number(p, "cooldown_counter", (double)run->plateau.cooldown_counter);
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

gd_status gd_run_save_checkpoint(gd_run *run)
{
    char path[GD_PATH_MAX], *state = state_json(run);
    if (!state)
        return gd_fail(run->msg, GD_ERR_NO_MEMORY, "checkpoint: out of memory for the run state");
    gd_error err;
    gd_status st = gd_checkpoint_save(run->model, run->opt, run->pre, run->state.epoch, state,
                                      gd_run_path(run, "checkpoint.safetensors", path), &err);
    free(state);
    return st == GD_OK ? GD_OK : gd_fail(run->msg, st, "%s", err.message);
}

/* A best from the file, or the start's (+-infinity, written as null) when it has none. */
static double best_or_start(const cJSON *j, const char *key, bool maximize)
{
    double v = number_or_nan(j, key);
    return isnan(v) ? (maximize ? -INFINITY : INFINITY) : v;
}

/* Plateau's counters and rate; a resume with a new --lr (not the rate the run started
 * from) starts plateau's rate at it, keeping the best and the counters. */
static gd_status parse_plateau(gd_run *run, const cJSON *j, const char *path)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "plateau");
    if (!run->plateau_on || !p)
        return GD_OK;
    gd_plateau *q = &run->plateau;
    double lr = number_or_nan(p, "lr");
    if (!count_of(p, "num_bad_epochs", &q->num_bad_epochs) ||
        !count_of(p, "cooldown_counter", &q->cooldown_counter) || !(lr > 0 && isfinite(lr)))
        return gd_fail(run->msg, GD_ERR_FORMAT,
                       "%s: its run state's plateau needs counts and a rate above 0", path);
    q->best = best_or_start(p, "best", q->maximize);
    if (number_or_nan(p, "base_lr") == run->settings.lr)
        q->lr = lr;
    run->schedule.base_lr = q->lr;
    return GD_OK;
}

static gd_status parse_state(gd_run *run, const char *text, const char *path)
{
    cJSON *j = cJSON_Parse(text);
    const cJSON *history = cJSON_GetObjectItemCaseSensitive(j, "history");
    if (!cJSON_IsObject(j) || !cJSON_IsArray(history)) {
        cJSON_Delete(j);
        return gd_fail(run->msg, GD_ERR_FORMAT, "%s: its run state is not gradus's (schema %d)",
                       path, RUN_STATE_SCHEMA);
    }
    gd_run_state *s = &run->state;
    const char *bad = !count_of(j, "best_epoch", &s->best_epoch)   ? "best_epoch"
                      : !count_of(j, "bad_epochs", &s->bad_epochs) ? "bad_epochs"
                      : !count_of(j, "samples", &s->samples)       ? "samples"
                                                                   : NULL;
    if (bad) {
        cJSON_Delete(j);
        return gd_fail(run->msg, GD_ERR_FORMAT, "%s: its run state's %s is not a count", path,
                       bad);
    }
    s->best_val_accuracy = number_or_nan(j, "best_val_accuracy");
    s->best_metric = best_or_start(j, cJSON_GetObjectItemCaseSensitive(j, "best_metric")
                                          ? "best_metric" : "best_val_accuracy", run->maximize);
    s->train_seconds = number_or_nan(j, "train_seconds");
    s->loop_seconds = number_or_nan(j, "loop_seconds");
    s->final_train_loss = number_or_nan(j, "final_train_loss");
    gd_status st = parse_plateau(run, j, path);
    run->history_len = 0;
    for (const cJSON *e = history->child; e && st == GD_OK; e = e->next) {
        gd_epoch_metrics m;
        st = epoch_from_json(e, (double)s->best_epoch, &m)
                 ? gd_run_history_add(run, &m)
                 : gd_fail(run->msg, GD_ERR_FORMAT,
                           "%s: an epoch of its run state's history has no count \"epoch\"",
                           path);
    }
    cJSON_Delete(j);
    return st;
}

gd_status gd_run_restore_checkpoint(gd_run *run)
{
    char path[GD_PATH_MAX], *state = calloc(1, RUN_STATE_MAX);
    if (!state)
        return gd_fail(run->msg, GD_ERR_NO_MEMORY, "checkpoint: out of memory for the run state");
    gd_error err;
    gd_status st = gd_checkpoint_load(run->model, run->opt, &run->state.epoch, state, RUN_STATE_MAX,
                                      gd_run_path(run, "checkpoint.safetensors", path), &err);
    if (st == GD_OK)
        st = parse_state(run, state, path);
    else
        gd_fail(run->msg, st, "%s", err.message);
    free(state);
    return st;
}
