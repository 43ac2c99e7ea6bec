/* gradus report RUN_DIR: one self-contained HTML page of a run (inline CSS, JavaScript
 * and SVG, nothing loaded from anywhere) from the files in its folder: config.json,
 * metrics.jsonl, summary.json, confusion.json, monitor.jsonl, check.json, and any SVG
 * figure or PNG picture there. Each file may be absent (the page says what it would show
 * and how to get it); a .jsonl file's last line without its newline is a line being
 * written when the run stopped, and is skipped. docs/report.md describes the page. */
#include "cli.h"
#include "report.h"
#include "report_chart.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static const char *const HELP =
    "usage: gradus report RUN_DIR|STUDY_DIR [--output FILE]\n"
    "\n"
    "Writes one self-contained HTML page (DIR/report.html); open it in any browser,\n"
    "it needs no network.\n"
    "\n"
    "Of a training run: loss and accuracy per epoch, the learning rate, and from\n"
    "--monitor's monitor.jsonl the loss per step, activation histograms, saturated\n"
    "and dead units, update/weight ratios and gradient norms; the test set's\n"
    "confusion matrix; gradus check's results and any figures in the folder.\n"
    "\n"
    "Of a study (gradus search --out): the best so far by trial, every trial's\n"
    "validation curve, each parameter against the score, pairs of parameters,\n"
    "parallel coordinates, the warnings, and a table of the trials linked to their\n"
    "own pages, which it writes too (trials/NNNN/report.html).\n"
    "\n"
    "  --output FILE        where to write the page                [DIR/report.html]\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit codes: 1 a folder or file that cannot be read or written, 2 a folder that\n"
    "is neither a run nor a study, 3 a malformed file (named with its line).\n";

#define CMD "report"
#define MAX_FILE (256u << 20) /* a run's JSON files are kilobytes to a few megabytes */
#define MAX_PICTURE (16u << 20)
#define BINS_ROWS (GD_MONITOR_BINS + 2)

/* ------------------------------------------------------------ the run's data */

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

static bool dvec_push(dvec *d, double x)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        double *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return false;
        d->v = v, d->cap = cap;
    }
    d->v[d->n++] = x;
    return true;
}

/* metrics.jsonl, one entry per epoch. */
typedef struct epochs {
    dvec epoch, train_loss, train_acc, val_loss, val_acc, lr;
} epochs;

/* monitor.jsonl: the loss lines, and the record and warning lines as parsed objects. */
typedef struct monitor_log {
    bool present;
    dvec step, epoch, loss, lr;
    cJSON *start;   /* the last start line: layers, tensors, thresholds */
    cJSON *records; /* an array of record objects */
    cJSON *warnings;
    size_t starts, damaged;
    long first_damaged;
} monitor_log;

typedef struct report {
    const char *dir, *out;
    cJSON *config, *summary, *confusion, *check;
    epochs ep;
    monitor_log mon;
    char notes[8][400]; /* what was skipped, in words */
    int nnotes;
    bool check_unreadable, confusion_unreadable;
} report;

static void note(report *r, const char *fmt, const char *a)
{
    if (r->nnotes < 8)
        snprintf(r->notes[r->nnotes++], sizeof r->notes[0], fmt, a);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *path_in(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

/* The whole file, NUL-terminated; NULL with *missing set when it does not exist. */
static char *read_text(const char *path, size_t *len, bool *missing, size_t limit)
{
    *missing = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *missing = errno == ENOENT;
        return NULL;
    }
    struct stat st;
    char *s = NULL;
    if (fstat(fileno(f), &st) == 0 && (uint64_t)st.st_size <= limit &&
        (s = malloc((size_t)st.st_size + 1))) {
        *len = fread(s, 1, (size_t)st.st_size, f);
        s[*len] = '\0';
    }
    fclose(f);
    return s;
}

/* Reads DIR/name as a JSON object into *out (NULL when the file is absent). */
static int read_json(const report *r, const char *name, cJSON **out)
{
    char path[4096];
    size_t len;
    bool missing;
    char *text = read_text(path_in(path, sizeof path, r->dir, name), &len, &missing, MAX_FILE);
    *out = NULL;
    if (!text)
        return missing ? EXIT_OK : fail(EXIT_FAILURE_RUN, CMD, "cannot read %s", path);
    *out = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return fail(EXIT_BAD_DATA, CMD, "%s is not a JSON object", path);
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------ JSON lines */

typedef int (*line_fn)(report *r, cJSON *line, const char *path, long number);

typedef struct jsonl {
    const char *name;
    bool lenient; /* a bad line mid-file is skipped (monitor.jsonl: see below), not refused */
    line_fn take;
} jsonl;

/* A kill mid-write leaves a line without its newline; a resume then appends its start
 * line straight after it. The object that begins last on such a line is whole. */
static cJSON *parse_tail_object(const char *line, size_t len)
{
    static const char key[] = "{\"type\":";
    for (size_t i = len; i-- > 1;)
        if (line[i] == '{' && len - i >= sizeof key - 1 && memcmp(line + i, key, sizeof key - 1) == 0) {
            cJSON *j = cJSON_ParseWithLength(line + i, len - i);
            if (cJSON_IsObject(j))
                return j;
            cJSON_Delete(j);
        }
    return NULL;
}

static int read_jsonl(report *r, const jsonl *spec, bool *present)
{
    char path[4096];
    size_t len;
    bool missing;
    char *text = read_text(path_in(path, sizeof path, r->dir, spec->name), &len, &missing, MAX_FILE);
    *present = text != NULL;
    if (!text)
        return missing ? EXIT_OK : fail(EXIT_FAILURE_RUN, CMD, "cannot read %s", path);
    int rc = EXIT_OK;
    long number = 0;
    for (size_t at = 0; at < len && rc == EXIT_OK;) {
        char *end = memchr(text + at, '\n', len - at);
        size_t n = end ? (size_t)(end - (text + at)) : len - at;
        const char *line = text + at;
        at += n + 1;
        number++;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        if (n == 0)
            continue;
        cJSON *j = cJSON_ParseWithLength(line, n);
        if (!cJSON_IsObject(j)) {
            cJSON_Delete(j);
            j = NULL;
            if (!end) { /* the last line, unfinished: the run stopped while writing it */
                note(r, "%s: its last line was incomplete (the run stopped while writing it) "
                        "and was left out.", spec->name);
                break;
            }
            if (spec->lenient && (j = parse_tail_object(line, n)) == NULL) {
                if (r->mon.damaged++ == 0)
                    r->mon.first_damaged = number;
                continue;
            }
            if (!j) {
                rc = fail(EXIT_BAD_DATA, CMD, "%s:%ld: not a JSON object: %.*s%s", path, number,
                          (int)(n > 60 ? 60 : n), line, n > 60 ? "..." : "");
                break;
            }
        }
        rc = spec->take(r, j, path, number);
        cJSON_Delete(j);
    }
    free(text);
    return rc;
}

static int take_epoch(report *r, cJSON *j, const char *path, long number)
{
    double e = num(j, "epoch");
    if (!isfinite(e))
        return fail(EXIT_BAD_DATA, CMD, "%s:%ld: no \"epoch\" number", path, number);
    epochs *p = &r->ep;
    bool ok = dvec_push(&p->epoch, e) && dvec_push(&p->train_loss, num(j, "train_loss")) &&
              dvec_push(&p->train_acc, num(j, "train_accuracy")) &&
              dvec_push(&p->val_loss, num(j, "val_loss")) &&
              dvec_push(&p->val_acc, num(j, "val_accuracy")) && dvec_push(&p->lr, num(j, "lr"));
    return ok ? EXIT_OK : fail(EXIT_FAILURE_RUN, CMD, "out of memory");
}

/* A resumed run's monitor starts again at its checkpoint's step: what the file holds
 * beyond it came from an abandoned epoch, which the run repeated (docs/monitor.md). */
static void forget_after(monitor_log *m, double step)
{
    size_t keep = 0;
    while (keep < m->step.n && m->step.v[keep] <= step)
        keep++;
    m->step.n = m->epoch.n = m->loss.n = m->lr.n = keep;
    cJSON *lists[2] = {m->records, m->warnings};
    for (int l = 0; l < 2; l++)
        for (int i = cJSON_GetArraySize(lists[l]) - 1; i >= 0; i--)
            if (num(cJSON_GetArrayItem(lists[l], i), "step") > step)
                cJSON_DeleteItemFromArray(lists[l], i);
}

static int take_monitor_line(report *r, cJSON *j, const char *path, long number)
{
    (void)path, (void)number;
    monitor_log *m = &r->mon;
    const char *type = str(j, "type");
    if (!type)
        return EXIT_OK; /* readers ignore what they do not know */
    if (strcmp(type, "loss") == 0) {
        bool ok = dvec_push(&m->step, num(j, "step")) && dvec_push(&m->epoch, num(j, "epoch")) &&
                  dvec_push(&m->loss, num(j, "loss")) && dvec_push(&m->lr, num(j, "lr"));
        return ok ? EXIT_OK : fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    }
    cJSON *copy = NULL;
    if (strcmp(type, "start") == 0) {
        forget_after(m, num(j, "step"));
        cJSON_Delete(m->start);
        m->start = copy = cJSON_Duplicate(j, true);
        m->starts++;
    } else if (strcmp(type, "record") == 0 || strcmp(type, "warning") == 0) {
        copy = cJSON_Duplicate(j, true);
        if (copy)
            cJSON_AddItemToArray(type[0] == 'r' ? m->records : m->warnings, copy);
    } else {
        return EXIT_OK;
    }
    return copy ? EXIT_OK : fail(EXIT_FAILURE_RUN, CMD, "out of memory");
}

/* ------------------------------------------------------------ reading */

static int check_run_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return fail(EXIT_FAILURE_RUN, CMD, "%s: %s (give a run folder: gradus train --out DIR makes one)",
                    dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(EXIT_USAGE, CMD, "%s is not a folder: give a run folder (gradus train --out DIR)", dir);
    char path[4096];
    bool config = stat(path_in(path, sizeof path, dir, "config.json"), &st) == 0;
    bool metrics = stat(path_in(path, sizeof path, dir, "metrics.jsonl"), &st) == 0;
    if (!config && !metrics)
        return fail(EXIT_USAGE, CMD, "%s is not a run folder: it has neither config.json nor "
                    "metrics.jsonl, nor a study's study.json (gradus train --out DIR or "
                    "gradus search --out DIR makes one)", dir);
    return EXIT_OK;
}

static int read_run(report *r)
{
    static const jsonl metrics = {"metrics.jsonl", false, take_epoch};
    static const jsonl monitor = {"monitor.jsonl", true, take_monitor_line};
    bool present;
    r->mon.records = cJSON_CreateArray();
    r->mon.warnings = cJSON_CreateArray();
    if (!r->mon.records || !r->mon.warnings)
        return fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    int rc = read_json(r, "config.json", &r->config);
    if (rc == EXIT_OK)
        rc = read_json(r, "summary.json", &r->summary);
    if (rc == EXIT_OK)
        rc = read_json(r, "confusion.json", &r->confusion);
    if (rc == EXIT_OK)
        rc = read_jsonl(r, &metrics, &present);
    if (rc == EXIT_OK)
        rc = read_jsonl(r, &monitor, &r->mon.present);
    if (rc != EXIT_OK)
        return rc;
    /* check.json's layout belongs to gradus check and may grow: anything unreadable is
     * said on the page, not refused. */
    if (read_json(r, "check.json", &r->check) != EXIT_OK)
        r->check_unreadable = true;
    if (r->mon.damaged) {
        char where[32];
        snprintf(where, sizeof where, "%ld", r->mon.first_damaged);
        note(r, "monitor.jsonl: damaged lines were left out, the first at line %s.", where);
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------ the page */

static double last(const dvec *d) { return d->n ? d->v[d->n - 1] : NAN; }

static void page_header(sbuf *b, const report *r)
{
    const cJSON *cfg = r->config, *sum = r->summary;
    double planned = num(cfg, "epochs"), done = (double)r->ep.epoch.n;
    sb_puts(b, "<h1>Training report: ");
    sb_html(b, r->dir);
    sb_puts(b, "</h1>\n");
    char line[512];
    if (sum) {
        snprintf(line, sizeof line, "Finished: %.0f epochs, test accuracy %.2f%%.",
                 num(sum, "epochs"), 100 * num(sum, "test_accuracy"));
        sb_puts(b, "<p class=\"status\">");
        sb_html(b, line);
        sb_puts(b, "</p>\n");
    } else {
        snprintf(line, sizeof line, "Not finished: no summary.json yet. The run was interrupted "
                 "or is still running; metrics.jsonl holds %.0f", done);
        sb_puts(b, "<p class=\"status warn\">");
        sb_html(b, line);
        if (isfinite(planned))
            sb_printf(b, " of %.0f", planned);
        sb_puts(b, " epochs. <code>gradus train --resume ");
        sb_html(b, r->dir);
        sb_puts(b, "</code> continues it from its last checkpoint.</p>\n");
    }
    sb_puts(b, "<table class=\"facts\">\n");
    report_fact(b, "data", str(cfg, "data"));
    report_fact(b, "model", str(cfg, "model"));
    report_fact(b, "preprocessing", str(cfg, "preprocess"));
    report_fact(b, "optimiser", str(cfg, "optim"));
    report_fact_num(b, "learning rate", "%g", num(cfg, "lr"));
    report_fact(b, "schedule", str(cfg, "schedule"));
    report_fact_num(b, "batch size", "%.0f", num(cfg, "batch_size"));
    report_fact_num(b, "epochs planned", "%.0f", planned);
    report_fact_num(b, "epochs done", "%.0f", done);
    report_fact(b, "seed", str(cfg, "seed"));
    report_fact_num(b, "parameters", "%.0f", num(sum, "parameters"));
    report_fact_num(b, "test accuracy", "%.4f", num(sum, "test_accuracy"));
    report_fact_num(b, "best epoch (the model kept)", "%.0f", num(sum, "best_epoch"));
    report_fact_num(b, "best validation accuracy", "%.4f", num(sum, "best_val_accuracy"));
    report_fact_num(b, "final train loss", "%.4f", sum ? num(sum, "final_train_loss") : last(&r->ep.train_loss));
    report_fact_num(b, "training time (s)", "%.1f", num(sum, "train_seconds"));
    report_fact_num(b, "samples per second", "%.0f", num(sum, "train_samples_per_sec"));
    sb_puts(b, "</table>\n");
    if (r->nnotes) {
        sb_puts(b, "<ul class=\"notes\">\n");
        for (int i = 0; i < r->nnotes; i++) {
            sb_puts(b, "<li>");
            sb_html(b, r->notes[i]);
            sb_puts(b, "</li>\n");
        }
        sb_puts(b, "</ul>\n");
    }
}

static const char *MONITOR_HOW =
    "The run was trained without <code>--monitor</code>, so monitor.jsonl is absent. "
    "<code>gradus train --monitor[=STEPS] ...</code> records the loss at every step and, "
    "every STEPS steps (100 by default), each layer's activations and each weight's "
    "gradient norm and update/weight ratio; <code>gradus train --resume DIR --monitor</code> "
    "adds it to the rest of an unfinished run.";

static void epoch_charts(sbuf *b, const report *r)
{
    const epochs *e = &r->ep;
    sb_puts(b, "<h2>Loss, accuracy and learning rate</h2>\n<div class=\"grid\">\n");
    if (e->epoch.n == 0) {
        report_absent(b, "epochs", "No epoch has finished yet.",
               "metrics.jsonl gets a line at the end of each epoch.");
    } else {
        chart_series loss[2] = {
            {.name = "train", .x = e->epoch.v, .y = e->train_loss.v, .n = e->epoch.n, .color = 0, .dots = true},
            {.name = "validation", .x = e->epoch.v, .y = e->val_loss.v, .n = e->epoch.n, .color = 1, .dots = true}};
        chart c = {.id = "chart-loss", .title = "Loss per epoch", .xlabel = "epoch",
                   .ylabel = "loss", .xint = true, .ylo = NAN, .yhi = NAN, .series = loss, .nseries = 2};
        chart_lines(b, &c);
        chart_series acc[2] = {
            {.name = "train", .x = e->epoch.v, .y = e->train_acc.v, .n = e->epoch.n, .color = 0, .dots = true},
            {.name = "validation", .x = e->epoch.v, .y = e->val_acc.v, .n = e->epoch.n, .color = 1, .dots = true}};
        chart a = {.id = "chart-accuracy", .title = "Accuracy per epoch", .xlabel = "epoch",
                   .ylabel = "accuracy", .xint = true, .percent = true, .ylo = NAN, .yhi = NAN,
                   .series = acc, .nseries = 2};
        chart_lines(b, &a);
    }
}

/* Where each epoch's steps begin, from the loss lines. */
static size_t epoch_starts(const monitor_log *m, chart_ref *refs, char (*labels)[24], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < m->step.n && n < max; i++)
        if (i == 0 || m->epoch.v[i] != m->epoch.v[i - 1]) {
            snprintf(labels[n], sizeof labels[n], "epoch %.0f", m->epoch.v[i]);
            refs[n] = (chart_ref){.lo = m->step.v[i] - 0.5, .label = labels[n], .kind = REF_EPOCH};
            n++;
        }
    return n;
}

static void step_charts(sbuf *b, const report *r)
{
    const monitor_log *m = &r->mon;
    if (m->step.n == 0) {
        report_absent(b, "step-loss", "Loss per step: not recorded.",
               m->present ? "monitor.jsonl has no loss lines yet." : MONITOR_HOW);
        return;
    }
    /* An exponential average over about 10 steps shows the trend through the batches'
     * noise; the raw losses stay underneath. */
    double *smooth = malloc(m->loss.n * sizeof *smooth);
    double a = 0, w = 0;
    for (size_t i = 0; smooth && i < m->loss.n; i++) {
        if (isfinite(m->loss.v[i]))
            a = 0.9 * a + 0.1 * m->loss.v[i], w = 0.9 * w + 0.1;
        smooth[i] = w > 0 ? a / w : NAN;
    }
    enum { MAX_EPOCH_LINES = 200 };
    chart_ref starts[MAX_EPOCH_LINES];
    char labels[MAX_EPOCH_LINES][24];
    size_t nstarts = epoch_starts(m, starts, labels, MAX_EPOCH_LINES);
    if (nstarts > 30)
        nstarts = 0; /* a line per epoch would hide the curve */
    chart_series s[2] = {
        {.name = "loss of each batch", .x = m->step.v, .y = m->loss.v, .n = m->step.n, .faint = true},
        {.name = "average of about 10 steps (faint: each batch)", .x = m->step.v, .y = smooth, .n = smooth ? m->step.n : 0}};
    chart c = {.id = "chart-step-loss", .title = "Training loss per step (monitor.jsonl)",
               .xlabel = "step", .ylabel = "loss", .ylo = NAN, .yhi = NAN, .series = s,
               .nseries = 2, .vrefs = starts, .nvrefs = nstarts};
    chart_lines(b, &c);
    free(smooth);
}

/* The rate per step when the monitor recorded it, else per epoch from metrics.jsonl; the
 * last of the first section's grid. */
static void lr_chart(sbuf *b, const report *r)
{
    const monitor_log *m = &r->mon;
    bool per_step = false;
    for (size_t i = 0; i < m->lr.n && !per_step; i++)
        per_step = isfinite(m->lr.v[i]);
    chart_series s = {.name = "learning rate", .color = 4};
    chart c = {.id = "chart-lr", .ylabel = "learning rate", .ylo = NAN, .yhi = NAN, .series = &s,
               .nseries = 1};
    const dvec *y = per_step ? &m->lr : &r->ep.lr;
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < y->n; i++)
        if (y->v[i] > 0)
            lo = fmin(lo, y->v[i]), hi = fmax(hi, y->v[i]);
    c.ylog = hi > 30 * lo; /* a warm-up from near zero, or a long decay */
    if (!c.ylog)
        c.ylo = 0; /* on a linear axis from 0, so that a small change looks small */
    if (per_step) {
        s.x = m->step.v, s.y = m->lr.v, s.n = m->step.n;
        c.title = "Learning rate per step (monitor.jsonl)", c.xlabel = "step";
    } else {
        s.x = r->ep.epoch.v, s.y = r->ep.lr.v, s.n = r->ep.epoch.n, s.dots = true;
        c.title = "Learning rate per epoch (the rate at the epoch's start)", c.xlabel = "epoch";
        c.xint = true;
    }
    if (!chart_lines(b, &c))
        report_absent(b, "lr", "Learning rate: nothing recorded yet.", "metrics.jsonl gets a line at the end of each epoch.");
    sb_puts(b, "</div>\n");
}

/* ------------------------------------------------------------ monitor records */

/* Names (of layers or tensors) in the start line's order, with each layer's kind. */
static int names_of(const cJSON *start, const char *list, const char **names, const char **kinds,
                    int max)
{
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(start, list))
    {
        if (n < max && str(item, "name")) {
            names[n] = str(item, "name");
            kinds[n] = str(item, "kind") ? str(item, "kind") : "";
            n++;
        }
    }
    return n;
}

/* The entry named name in a record's list ("layers" or "tensors"); the start line's order
 * is tried first. */
static const cJSON *entry(const cJSON *record, const char *list, int index, const char *name)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(record, list);
    const cJSON *e = cJSON_GetArrayItem(l, index);
    const char *n = str(e, "name");
    if (n && strcmp(n, name) == 0)
        return e;
    cJSON_ArrayForEach(e, l)
    {
        n = str(e, "name");
        if (n && strcmp(n, name) == 0)
            return e;
    }
    return NULL;
}

#define MAX_ITEMS 64

typedef struct series_set {
    chart_series s[MAX_ITEMS];
    dvec x[MAX_ITEMS], y[MAX_ITEMS];
    char names[MAX_ITEMS][96];
    int n;
} series_set;

static void series_set_free(series_set *ss)
{
    for (int i = 0; i < MAX_ITEMS; i++)
        free(ss->x[i].v), free(ss->y[i].v);
}

/* One series per layer or tensor that has key in the records (NaN-only ones dropped). */
static void collect(series_set *ss, const monitor_log *m, const char *list, const char *key,
                    const char *suffix)
{
    const char *names[MAX_ITEMS], *kinds[MAX_ITEMS];
    int n = names_of(m->start, list, names, kinds, MAX_ITEMS);
    memset(ss, 0, sizeof *ss);
    for (int i = 0; i < n; i++) {
        int k = ss->n;
        bool any = false;
        const cJSON *rec;
        cJSON_ArrayForEach(rec, m->records)
        {
            const cJSON *e = entry(rec, list, i, names[i]);
            double v = num(e, key);
            if (!e || !cJSON_GetObjectItemCaseSensitive(e, key))
                continue;
            any |= isfinite(v);
            dvec_push(&ss->x[k], num(rec, "step"));
            dvec_push(&ss->y[k], v);
        }
        if (!any) {
            free(ss->x[k].v), free(ss->y[k].v);
            ss->x[k] = ss->y[k] = (dvec){0};
            continue;
        }
        if (*kinds[i])
            snprintf(ss->names[k], sizeof ss->names[k], "layer %s (%s)%s", names[i], kinds[i], suffix);
        else
            snprintf(ss->names[k], sizeof ss->names[k], "%s%s", names[i], suffix);
        ss->s[k] = (chart_series){.name = ss->names[k], .x = ss->x[k].v, .y = ss->y[k].v,
                                  .n = ss->x[k].n < ss->y[k].n ? ss->x[k].n : ss->y[k].n,
                                  .color = k, .dots = ss->x[k].n <= 40};
        ss->n++;
    }
}

static double threshold(const monitor_log *m, const char *key, double fallback)
{
    double v = num(cJSON_GetObjectItemCaseSensitive(m->start, "thresholds"), key);
    return isfinite(v) ? v : fallback;
}

static void histogram_charts(sbuf *b, const monitor_log *m)
{
    const char *names[MAX_ITEMS], *kinds[MAX_ITEMS];
    int nl = names_of(m->start, "layers", names, kinds, MAX_ITEMS);
    /* At most 120 columns a map: a long run's records are taken evenly. */
    int nrec = cJSON_GetArraySize(m->records), cols = nrec < 120 ? nrec : 120;
    double *x = malloc((size_t)cols * sizeof *x), *mean = malloc((size_t)cols * sizeof *mean);
    double *sd = malloc((size_t)cols * sizeof *sd);
    double *v = malloc((size_t)cols * BINS_ROWS * sizeof *v);
    sb_puts(b, "<section class=\"chart\" id=\"chart-activations\">\n<h2>Activations over time "
               "(histograms of each layer's outputs)</h2>\n<p>Each column is one record of the monitor; "
               "its colour shows where that layer's outputs fell (darker: more), with the two outer "
               "rows counting the outputs below and above the range; the orange line is the mean. "
               "Hover for the figures.</p>\n<div class=\"grid small\">\n");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(m->start, "layers");
    for (int l = 0; l < nl && x && mean && sd && v; l++) {
        const cJSON *range = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(layers, l), "range");
        double lo = cJSON_IsNumber(cJSON_GetArrayItem(range, 0)) ? cJSON_GetArrayItem(range, 0)->valuedouble : -5;
        double hi = cJSON_IsNumber(cJSON_GetArrayItem(range, 1)) ? cJSON_GetArrayItem(range, 1)->valuedouble : 5;
        int got = 0;
        for (int c = 0; c < cols; c++) {
            int i = cols == nrec ? c : (int)llround((double)c * (nrec - 1) / (cols - 1));
            const cJSON *rec = cJSON_GetArrayItem(m->records, i);
            const cJSON *e = entry(rec, "layers", l, names[l]);
            const cJSON *hist = cJSON_GetObjectItemCaseSensitive(e, "histogram");
            if (cJSON_GetArraySize(hist) != BINS_ROWS)
                continue;
            for (int k = 0; k < BINS_ROWS; k++) {
                const cJSON *h = cJSON_GetArrayItem(hist, k);
                v[(size_t)got * BINS_ROWS + (size_t)k] = cJSON_IsNumber(h) ? h->valuedouble : 0;
            }
            x[got] = num(rec, "step"), mean[got] = num(e, "mean"), sd[got] = num(e, "std");
            got++;
        }
        if (got == 0)
            continue;
        char id[80], title[160];
        snprintf(id, sizeof id, "chart-hist-%d", l);
        snprintf(title, sizeof title, "layer %s (%s)", names[l], kinds[l]);
        chart_heat h = {.id = id, .title = title, .cols = (size_t)got, .rows = BINS_ROWS, .x = x,
                        .v = v, .mean = mean, .std = sd, .lo = lo, .hi = hi};
        chart_histogram(b, &h);
    }
    sb_puts(b, "</div>\n</section>\n");
    free(x), free(mean), free(sd), free(v);
}

static void saturation_chart(sbuf *b, const monitor_log *m)
{
    series_set *dead = malloc(sizeof *dead), *sat = malloc(sizeof *sat);
    if (!dead || !sat) {
        free(dead), free(sat);
        return;
    }
    collect(dead, m, "layers", "dead", ": dead units");
    collect(sat, m, "layers", "saturated", ": saturated outputs");
    chart_series all[2 * MAX_ITEMS];
    int n = 0;
    for (int i = 0; i < dead->n; i++)
        all[n] = dead->s[i], all[n].color = n, n++;
    for (int i = 0; i < sat->n; i++)
        all[n] = sat->s[i], all[n].color = n, n++;
    double td = threshold(m, "dead_fraction", 0.5), ts = threshold(m, "saturated_fraction", 0.5);
    char ld[96], ls[96];
    snprintf(ld, sizeof ld, "warning above %g%% (dead units)", 100 * td);
    snprintf(ls, sizeof ls, "warning above %g%% (saturation)", 100 * ts);
    chart_ref refs[2] = {{.lo = td, .label = td == ts ? "warning threshold" : ld, .kind = REF_WARN_LINE},
                         {.lo = ts, .label = ls, .kind = REF_WARN_LINE}};
    chart c = {.id = "chart-saturation",
               .title = "Dead ReLU units and saturated sigmoid/tanh outputs",
               .xlabel = "step", .ylabel = "fraction", .percent = true, .ylo = 0, .yhi = 1,
               .series = all, .nseries = (size_t)n, .hrefs = refs,
               .nhrefs = td == ts ? 1 : 2};
    if (n == 0 || !chart_lines(b, &c))
        report_absent(b, "saturation", "Saturation and dead units: no layer to measure.",
               "The monitor measures dead units of ReLU layers and saturated outputs of sigmoid "
               "and tanh layers; this model has none with a recorded value.");
    series_set_free(dead), series_set_free(sat);
    free(dead), free(sat);
}

static void tensor_chart(sbuf *b, const monitor_log *m, bool ratio)
{
    series_set *ss = malloc(sizeof *ss);
    if (!ss)
        return;
    collect(ss, m, "tensors", ratio ? "update_ratio" : "grad_norm", "");
    double lo = threshold(m, "ratio_low", 1e-5), hi = threshold(m, "ratio_high", 1e-1);
    char llo[80], lhi[80];
    snprintf(llo, sizeof llo, "%g: learning rate too low", lo);
    snprintf(lhi, sizeof lhi, "%g: learning rate too high", hi);
    /* The lecture's "around 1e-3", drawn as half a decade either side of it. */
    chart_ref refs[4] = {{.lo = pow(10, -3.5), .hi = pow(10, -2.5), .label = "about 1e-3: healthy", .kind = REF_GOOD_BAND},
                         {.lo = 1e-3, .label = "", .kind = REF_LINE},
                         {.lo = lo, .label = llo, .kind = REF_WARN_LINE},
                         {.lo = hi, .label = lhi, .kind = REF_WARN_LINE}};
    chart c = {.ylog = true, .ylo = NAN, .yhi = NAN, .series = ss->s, .nseries = (size_t)ss->n,
               .xlabel = "step"};
    if (ratio) {
        c.id = "chart-update-ratio";
        c.title = "Update/weight ratio per parameter tensor (log scale)";
        c.ylabel = "update norm / weight norm";
        c.hrefs = refs, c.nhrefs = 4, c.ylo = lo, c.yhi = hi;
    } else {
        c.id = "chart-grad-norm";
        c.title = "Gradient norm per parameter tensor (log scale, before clipping)";
        c.ylabel = "gradient L2 norm";
    }
    if (!chart_lines(b, &c))
        report_absent(b, ratio ? "update-ratio" : "grad-norm", "No tensor figures recorded yet.",
               "The monitor writes a record every STEPS steps.");
    series_set_free(ss);
    free(ss);
}

static void warnings_table(sbuf *b, const monitor_log *m)
{
    int n = cJSON_GetArraySize(m->warnings);
    if (n == 0) {
        sb_puts(b, "<p>The monitor gave no warning.</p>\n");
        return;
    }
    sb_printf(b, "<h3>The monitor's warnings (%d)</h3>\n<table class=\"list\"><tr><th>step</th>"
                 "<th>code</th><th>what it said</th></tr>\n", n);
    const cJSON *w;
    cJSON_ArrayForEach(w, m->warnings)
    {
        sb_printf(b, "<tr><td>%.0f</td><td><code>", num(w, "step"));
        sb_html(b, str(w, "code"));
        sb_puts(b, "</code></td><td>");
        sb_html(b, str(w, "message"));
        sb_puts(b, "</td></tr>\n");
    }
    sb_puts(b, "</table>\n");
}

static void monitor_section(sbuf *b, const report *r)
{
    const monitor_log *m = &r->mon;
    sb_puts(b, "<h2>Inside the network (the monitor)</h2>\n");
    if (!m->present) {
        report_absent(b, "monitor", "Activations, saturation, dead units, update ratios and gradient "
               "norms: not recorded.", MONITOR_HOW);
        return;
    }
    if (!m->start || cJSON_GetArraySize(m->records) == 0) {
        report_absent(b, "monitor", "monitor.jsonl has no record yet.",
               "The monitor writes a record every STEPS steps (<code>--monitor=STEPS</code>); "
               "a run shorter than that has only loss lines.");
        return;
    }
    histogram_charts(b, m);
    sb_puts(b, "<div class=\"grid\">\n");
    saturation_chart(b, m);
    tensor_chart(b, m, true);
    tensor_chart(b, m, false);
    sb_puts(b, "</div>\n");
    warnings_table(b, m);
}

/* ------------------------------------------------------------ the test, checks, files */

static void confusion_section(sbuf *b, const report *r)
{
    sb_puts(b, "<h2>Test set</h2>\n");
    const cJSON *j = r->confusion, *rows = cJSON_GetObjectItemCaseSensitive(j, "matrix");
    double count = num(j, "classes"); /* NaN when absent: compared before it is converted */
    int classes = count >= 1 && count <= 1000 ? (int)count : 0;
    if (!j || classes < 1 || cJSON_GetArraySize(rows) != classes) {
        report_absent(b, "confusion", "Confusion matrix: absent.",
               r->summary ? "confusion.json is written when <code>gradus train</code> ends with its "
                            "test; this run's gradus did not write one (or it is malformed). "
                            "<code>gradus eval --model DIR/model.safetensors</code> prints the matrix."
                          : "confusion.json is written when <code>gradus train</code> finishes and "
                            "tests its best model; this run has not finished.");
        return;
    }
    double *m = calloc((size_t)classes * (size_t)classes, sizeof *m);
    const char *names[1000];
    const cJSON *nl = cJSON_GetObjectItemCaseSensitive(j, "names");
    bool named = cJSON_GetArraySize(nl) == classes;
    for (int i = 0; i < classes && m; i++) {
        const cJSON *row = cJSON_GetArrayItem(rows, i);
        for (int k = 0; k < classes; k++) {
            const cJSON *v = cJSON_GetArrayItem(row, k);
            m[i * classes + k] = cJSON_IsNumber(v) ? v->valuedouble : 0;
        }
        const cJSON *name = cJSON_GetArrayItem(nl, i);
        named &= cJSON_IsString(name);
        names[i] = cJSON_IsString(name) ? name->valuestring : NULL;
    }
    if (m)
        chart_confusion(b, "chart-confusion", classes, m, named ? names : NULL);
    free(m);
}

static void check_table(sbuf *b, const cJSON *check)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(check, "checks"), *c;
    if (!cJSON_IsArray(list)) { /* a layout this report does not know: shown as it is */
        char *text = cJSON_Print(check);
        sb_puts(b, "<pre>");
        sb_html(b, text);
        sb_puts(b, "</pre>\n");
        free(text);
        return;
    }
    sb_puts(b, "<table class=\"list\" id=\"checks\"><tr><th>#</th><th>check</th><th>verdict</th>"
               "<th>result</th></tr>\n");
    cJSON_ArrayForEach(c, list)
    {
        const char *verdict = str(c, "verdict") ? str(c, "verdict") : "?";
        const char *title = str(c, "title") ? str(c, "title") : str(c, "name");
        double n = num(c, "number");
        if (isfinite(n))
            sb_printf(b, "<tr><td>%.0f</td><td>", n);
        else
            sb_puts(b, "<tr><td></td><td>");
        sb_html(b, title);
        sb_puts(b, "</td><td><span class=\"v v-");
        sb_html(b, verdict);
        sb_puts(b, "\">");
        sb_html(b, verdict);
        sb_puts(b, "</span></td><td>");
        sb_html(b, str(c, "summary"));
        if (str(c, "advice")) {
            sb_puts(b, "<br><b>advice:</b> ");
            sb_html(b, str(c, "advice"));
        }
        const cJSON *figs = cJSON_GetObjectItemCaseSensitive(c, "figures"), *f;
        if (cJSON_GetArraySize(figs) > 0) {
            sb_puts(b, "<div class=\"figs\">");
            cJSON_ArrayForEach(f, figs)
            {
                if (!cJSON_IsNumber(f) || !f->string)
                    continue;
                sb_html(b, f->string);
                sb_printf(b, " %.4g &nbsp; ", f->valuedouble);
            }
            sb_puts(b, "</div>");
        }
        sb_puts(b, "</td></tr>\n");
    }
    sb_puts(b, "</table>\n");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder's files whose names end in ext, sorted (at most max). */
static int files_ending(const char *dir, const char *ext, char **out, int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    size_t el = strlen(ext);
    while (d && (e = readdir(d)) && n < max) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] != '.' && len > el && strcmp(e->d_name + len - el, ext) == 0)
            out[n] = strdup(e->d_name), n += out[n] != NULL;
    }
    if (d)
        closedir(d);
    qsort(out, (size_t)n, sizeof *out, by_name);
    return n;
}

static bool contains_ci(const char *s, const char *word)
{
    for (size_t wl = strlen(word); *s; s++)
        if (strncasecmp(s, word, wl) == 0)
            return true;
    return false;
}

/* A caption for a figure: what gradus check --out names its files, else the file's name. */
static void caption(sbuf *b, const char *name)
{
    if (strcmp(name, "lr_range.svg") == 0)
        sb_puts(b, "The learning-rate range test (lr_range.svg): loss against a growing rate");
    else if (strcmp(name, "first_batch.png") == 0)
        sb_puts(b, "The first training batch as the network sees it (first_batch.png)");
    else
        sb_html(b, name);
}

/* An SVG figure inline, from its <svg to its last </svg> (the XML prolog, if any, left
 * out); one with scripts is shown as an image, where they cannot run. */
static bool embed_svg(sbuf *b, const char *path, const char *name)
{
    size_t len;
    bool missing;
    char *text = read_text(path, &len, &missing, MAX_PICTURE);
    if (!text)
        return false;
    char *start = strstr(text, "<svg"), *end = start ? strstr(start, "</svg>") : NULL;
    for (char *e = end; e; e = strstr(e + 1, "</svg>"))
        end = e;
    if (!start || !end) {
        free(text);
        return false;
    }
    end += strlen("</svg>");
    sb_puts(b, "<figure class=\"chart figure\" id=\"figure-");
    sb_html(b, name);
    sb_puts(b, "\"><figcaption>");
    caption(b, name);
    sb_puts(b, "</figcaption>\n");
    if (contains_ci(text, "<script")) {
        sb_puts(b, "<img class=\"mark\" alt=\"\" src=\"data:image/svg+xml;base64,");
        sb_base64(b, (const unsigned char *)start, (size_t)(end - start));
        sb_puts(b, "\">");
    } else {
        sb_put(b, start, (size_t)(end - start));
    }
    sb_puts(b, "\n</figure>\n");
    free(text);
    return true;
}

static bool embed_png(sbuf *b, const char *path, const char *name)
{
    static const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t len;
    bool missing;
    unsigned char *data = (unsigned char *)read_text(path, &len, &missing, MAX_PICTURE);
    if (!data || len < 8 || memcmp(data, magic, 8) != 0) {
        free(data);
        return false;
    }
    sb_puts(b, "<figure class=\"chart picture\" id=\"picture-");
    sb_html(b, name);
    sb_puts(b, "\"><figcaption>");
    caption(b, name);
    sb_puts(b, "</figcaption>\n<img class=\"mark\" alt=\"");
    sb_html(b, name);
    sb_puts(b, "\" src=\"data:image/png;base64,");
    sb_base64(b, data, len);
    sb_puts(b, "\">\n</figure>\n");
    free(data);
    return true;
}

/* Every *.svg (the learning-rate range test's curve) and *.png (the first batch as the
 * network sees it) in the folder. */
static void figures(sbuf *b, const report *r, const char *ext, const char *what, const char *how)
{
    char *names[32];
    int n = files_ending(r->dir, ext, names, 32), shown = 0;
    sb_puts(b, "<div class=\"grid\">\n");
    for (int i = 0; i < n; i++) {
        char path[4096];
        path_in(path, sizeof path, r->dir, names[i]);
        shown += ext[1] == 's' ? embed_svg(b, path, names[i]) : embed_png(b, path, names[i]);
        free(names[i]);
    }
    if (!shown)
        report_absent(b, ext + 1, what, how);
    sb_puts(b, "</div>\n");
}

static void checks_section(sbuf *b, const report *r)
{
    sb_puts(b, "<h2>Checks before training</h2>\n");
    if (r->check)
        check_table(b, r->check);
    else
        report_absent(b, "check", r->check_unreadable ? "check.json could not be read." : "check.json: absent.",
               "<code>gradus check --out DIR</code> runs the sanity checks (the loss at "
               "initialisation, gradients, overfitting a tiny subset, ...) with this run's flags "
               "and saves their results in the run folder.");
    sb_puts(b, "<h3>Learning-rate range test</h3>\n");
    figures(b, r, ".svg", "No range-test figure (*.svg) in the run folder.",
            "<code>gradus check --out DIR</code> runs the learning-rate range test and saves its "
            "curve as DIR/lr_range.svg (the library's gd_lr_range_write_svg).");
    sb_puts(b, "<h3>What the network sees</h3>\n");
    figures(b, r, ".png", "No picture of a batch (*.png) in the run folder.",
            "<code>gradus check --out DIR</code> draws the first training batch exactly as it "
            "enters the model, after preprocessing and augmentation, as DIR/first_batch.png "
            "(the library's gd_run_batch_picture).");
}

static void footer(sbuf *b, const report *r)
{
    static const char *const files[] = {"config.json", "metrics.jsonl", "summary.json",
                                        "confusion.json", "monitor.jsonl", "check.json"};
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    sb_printf(b, "<footer>Made by gradus %s (<code>gradus report</code>) on %s from: ", gd_version(), when);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        struct stat st;
        bool here = stat(path_in(path, sizeof path, r->dir, files[i]), &st) == 0;
        sb_printf(b, "%s%s%s", i ? ", " : "", files[i], here ? "" : " (absent)");
    }
    sb_puts(b, ".</footer>\n");
}

static void page(sbuf *b, const report *r)
{
    report_page_open(b, r->dir);
    page_header(b, r);
    epoch_charts(b, r);
    step_charts(b, r);
    lr_chart(b, r);
    monitor_section(b, r);
    confusion_section(b, r);
    checks_section(b, r);
    footer(b, r);
    report_page_close(b);
}

/* ------------------------------------------------------------ the command */

static void report_free(report *r)
{
    cJSON_Delete(r->config), cJSON_Delete(r->summary), cJSON_Delete(r->confusion);
    cJSON_Delete(r->check), cJSON_Delete(r->mon.start), cJSON_Delete(r->mon.records);
    cJSON_Delete(r->mon.warnings);
    dvec *v[] = {&r->ep.epoch, &r->ep.train_loss, &r->ep.train_acc, &r->ep.val_loss, &r->ep.val_acc,
                 &r->ep.lr, &r->mon.step, &r->mon.epoch, &r->mon.loss, &r->mon.lr};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        free(v[i]->v);
}

static int parse_args(report *r, int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(HELP, stdout);
            print_common_help(stdout);
            return -1;
        }
        if (opt != 'o')
            return fail(EXIT_USAGE, CMD, "unknown or incomplete flag '%s' (gradus report --help lists them)",
                        argv[optind - 1]);
        r->out = optarg;
    }
    if (optind != argc - 1)
        return fail(EXIT_USAGE, CMD, "%s (gradus report RUN_DIR|STUDY_DIR [--output FILE])",
                    optind == argc ? "give the run or study folder" : "give one folder");
    r->dir = argv[optind];
    return EXIT_OK;
}

int run_report(const char *dir, const char *out, bool quiet)
{
    report r = {.dir = dir, .out = out};
    int rc = check_run_dir(r.dir);
    if (rc == EXIT_OK)
        rc = read_run(&r);
    char path[4096];
    if (rc == EXIT_OK) {
        sbuf b = {0};
        page(&b, &r);
        const char *to = r.out ? r.out : path_in(path, sizeof path, r.dir, "report.html");
        if ((rc = report_save(&b, to, CMD)) == EXIT_OK && !quiet)
            printf("report: %s (%.0f KB)\n", to, (double)b.len / 1024);
    }
    report_free(&r);
    return rc;
}

/* A folder with study.json is a study (gradus search --out), else a run. */
static bool is_study(const char *dir)
{
    char path[4096];
    struct stat st;
    return stat(path_in(path, sizeof path, dir, "study.json"), &st) == 0;
}

int cmd_report(int argc, char **argv)
{
    report r = {0};
    int rc = parse_args(&r, argc, argv);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    return is_study(r.dir) ? search_report(r.dir, r.out) : run_report(r.dir, r.out, false);
}
