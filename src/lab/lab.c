/* The lab's registry and its result document: gd_lab_run makes the document's frame
 * (schema, experiment, its claim, the options, the machine, the time taken), lets the
 * experiment fill its claims, tables and figures, and returns the whole as JSON text. */
#include "lab.h"
#include "../train/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gd_lab_entry LAB[] = {
    {{"sigmoid-saturation", "Saturated neurons kill the gradients: a deep sigmoid net's "
                            "first layer learns from a trickle, and its top hidden layer "
                            "is driven to 0 early in training (Glorot and Bengio, 2010)"},
     gd_lab_sigmoid_saturation, 3},
    {{"zero-centred-outputs", "Sigmoid outputs are not zero-centred: all-positive inputs "
                              "give each unit's weights gradients of one sign, and "
                              "zero-centred inputs or outputs learn in fewer steps"},
     gd_lab_zero_centred, 3},
    {{"exp-cost", "exp() is a bit compute expensive: sigmoid, tanh, ELU and GELU cost more "
                  "per element than ReLU, but a small share of a training step"},
     gd_lab_exp_cost, 3},
    {{"init-depth", "Weights too small make a deep net's activations go to zero, too large "
                    "saturate them; Xavier (tanh) and He (ReLU) keep them alive, and equal "
                    "weights never break their symmetry"},
     gd_lab_init_depth, 3},
    {{"learning-rate", "Loss curves at very low, low, good, high and very high learning "
                       "rates: too low is slow, too high stalls or blows up, and the range "
                       "test finds the good one"},
     gd_lab_learning_rate, 3},
    {{"preprocessing", "Zero-centred (and standardised) inputs help the optimiser; "
                       "whitening is not needed for images"},
     gd_lab_preprocessing, 3},
    {{"batchnorm", "Batch norm improves gradient flow, allows higher learning rates, depends "
                   "less on initialisation, and behaves differently at test time"},
     gd_lab_batchnorm, 3},
    {{"search", "Random search beats grid search with the same budget: it tries more values "
                "of the parameter that matters (Bergstra and Bengio, 2012)"},
     gd_lab_search, 3},
    {{"bn-dropout", "Batch norm regularises; with it, dropout is often used less"},
     gd_lab_bn_dropout, 3},
};
#define NLAB (sizeof LAB / sizeof LAB[0])

size_t gd_lab_count(void) { return NLAB; }

const gd_lab_info *gd_lab_at(size_t index) { return index < NLAB ? &LAB[index].info : NULL; }

static const gd_lab_entry *entry_named(const char *name)
{
    for (size_t i = 0; name && i < NLAB; i++)
        if (strcmp(LAB[i].info.name, name) == 0)
            return &LAB[i];
    return NULL;
}

const gd_lab_info *gd_lab_find(const char *name)
{
    const gd_lab_entry *e = entry_named(name);
    return e ? &e->info : NULL;
}

void gd_lab_defaults(gd_lab_options *o)
{
    *o = (gd_lab_options){.quick = false, .seeds = 0, .seed = 1, .threads = 0, .data = NULL,
                          .dir = NULL};
}

const char *gd_verdict_name(gd_verdict v)
{
    static const char *const names[] = {"held", "did not hold", "inconclusive"};
    return (unsigned)v < 3 ? names[v] : "?";
}

/* ------------------------------------------------------------ the document */

void gd_lab_progress(const gd_lab_doc *doc, int done, int total)
{
    if (doc->opt->progress)
        doc->opt->progress(doc->opt->progress_ctx, doc->name, done, total);
}

void gd_lab_number(gd_lab_doc *doc, cJSON *obj, const char *key, double v)
{
    if (!doc->failed && !gd_json_add_number(obj, key, v))
        doc->failed = true;
}

static cJSON *add_list(gd_lab_doc *doc, cJSON *obj, const char *key)
{
    cJSON *list = doc->failed ? NULL : cJSON_AddArrayToObject(obj, key);
    doc->failed = doc->failed || !list;
    return list;
}

static cJSON *add_item(gd_lab_doc *doc, cJSON *list, const char *id, const char *title)
{
    cJSON *o = doc->failed || !list ? NULL : cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "id", id) || !cJSON_AddStringToObject(o, "title", title)
              || !cJSON_AddItemToArray(list, o))) {
        cJSON_Delete(o);
        o = NULL;
    }
    doc->failed = doc->failed || !o;
    return o;
}

cJSON *gd_lab_table(gd_lab_doc *doc, const char *id, const char *title,
                    const char *const *columns, int ncolumns)
{
    cJSON *t = add_item(doc, doc->tables, id, title);
    cJSON *cols = t ? add_list(doc, t, "columns") : NULL;
    for (int i = 0; cols && i < ncolumns; i++)
        doc->failed = doc->failed || !cJSON_AddItemToArray(cols, cJSON_CreateString(columns[i]));
    if (t)
        add_list(doc, t, "rows");
    return t;
}

static cJSON *numbers(gd_lab_doc *doc, const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        cJSON *x = gd_json_number(v[i]);
        if (!x || !cJSON_AddItemToArray(a, x))
            doc->failed = true;
    }
    doc->failed = doc->failed || !a;
    return a;
}

void gd_lab_row(gd_lab_doc *doc, cJSON *table, const char *label, const double *v, int n)
{
    cJSON *rows = table ? cJSON_GetObjectItemCaseSensitive(table, "rows") : NULL;
    cJSON *row = doc->failed || !rows ? NULL : cJSON_CreateObject();
    if (!row) {
        doc->failed = true;
        return;
    }
    cJSON_AddStringToObject(row, "label", label);
    cJSON_AddItemToObject(row, "values", numbers(doc, v, n));
    doc->failed = doc->failed || !cJSON_AddItemToArray(rows, row);
}

cJSON *gd_lab_figure(gd_lab_doc *doc, const char *id, const char *title, const char *kind,
                     const char *xlabel, const char *ylabel, bool log_y)
{
    cJSON *f = add_item(doc, doc->figures, id, title);
    if (f && (!cJSON_AddStringToObject(f, "kind", kind) ||
              !cJSON_AddStringToObject(f, "x_label", xlabel) ||
              !cJSON_AddStringToObject(f, "y_label", ylabel) ||
              !cJSON_AddBoolToObject(f, "log_y", log_y)))
        doc->failed = true;
    if (f)
        add_list(doc, f, "series");
    return f;
}

void gd_lab_series(gd_lab_doc *doc, cJSON *figure, const char *name, const double *x, int nx,
                   const double *y, int ny)
{
    cJSON *list = figure ? cJSON_GetObjectItemCaseSensitive(figure, "series") : NULL;
    cJSON *s = doc->failed || !list ? NULL : cJSON_CreateObject();
    if (!s) {
        doc->failed = true;
        return;
    }
    cJSON_AddStringToObject(s, "name", name);
    cJSON_AddItemToObject(s, "x", numbers(doc, x, nx));
    cJSON_AddItemToObject(s, "y", numbers(doc, y, ny));
    doc->failed = doc->failed || !cJSON_AddItemToArray(list, s);
}

/* ------------------------------------------------------------ a run */

static bool frame(gd_lab_doc *doc, const gd_lab_entry *e)
{
    char cpu[256];
    gd_cpu_name(cpu, sizeof cpu);
    cJSON *r = doc->root;
    return cJSON_AddNumberToObject(r, "schema", 1) && cJSON_AddStringToObject(r, "gradus_version", gd_version()) &&
           cJSON_AddStringToObject(r, "experiment", e->info.name) &&
           cJSON_AddStringToObject(r, "claim", e->info.claim) &&
           cJSON_AddBoolToObject(r, "quick", doc->opt->quick) &&
           cJSON_AddNumberToObject(r, "seeds", doc->seeds) &&
           gd_json_add_number(r, "seed", (double)doc->opt->seed) &&
           cJSON_AddStringToObject(r, "cpu", cpu) &&
           (doc->claims = cJSON_AddArrayToObject(r, "claims")) &&
           (doc->tables = cJSON_AddArrayToObject(r, "tables")) &&
           (doc->figures = cJSON_AddArrayToObject(r, "figures"));
}

static gd_status unknown(const char *name, char *msg)
{
    char names[512] = "";
    size_t n = 0;
    for (size_t i = 0; i < NLAB && n < sizeof names; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", LAB[i].info.name);
    return gd_fail(msg, GD_ERR_NOT_FOUND, "no experiment is named \"%.100s\"; there are: %s",
                   name ? name : "(null)", names);
}

gd_status gd_lab_run(const char *name, const gd_lab_options *o, char **json, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    gd_lab_options defaults;
    gd_lab_defaults(&defaults);
    o = o ? o : &defaults;
    if (!json)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "gd_lab_run: json is NULL");
    *json = NULL;
    const gd_lab_entry *e = entry_named(name);
    if (!e)
        return unknown(name, msg);
    if (o->seeds < 0 || o->seeds > 100)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "--seeds %d: expected an integer in "
                       "[1, 100] (0: the experiment's %d)", o->seeds, e->default_seeds);
    gd_lab_doc doc = {.name = e->info.name, .root = cJSON_CreateObject(), .opt = o,
                      .seeds = o->seeds ? o->seeds : e->default_seeds};
    if (!doc.root || !frame(&doc, e)) {
        cJSON_Delete(doc.root);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "lab: out of memory");
    }
    gd_set_num_threads(o->threads);
    double t0 = gd_now_seconds();
    gd_status st = e->run(&doc, msg);
    gd_lab_number(&doc, doc.root, "seconds", gd_now_seconds() - t0);
    if (st == GD_OK && (doc.failed || !(*json = cJSON_Print(doc.root))))
        st = gd_fail(msg, GD_ERR_NO_MEMORY, "lab: out of memory");
    cJSON_Delete(doc.root);
    return st;
}
