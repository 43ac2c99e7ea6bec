/* The study journal's reader: a study's trials and the last status of each, from the
 * journal's lines in order. A line that is not a whole event is skipped with a warning
 * naming its number, so one bad line (a disk's garbage, a writer killed mid-line, an
 * edit by hand) costs that line and no more. */
#include "search.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRIAL_LIMIT 9007199254740992.0 /* 2^53: the journal's trial numbers are below */

typedef struct trial_slot {
    gd_trial_record rec;
    char **name, **value, *message;
    double *curve; /* val_accuracy by epoch - 1 (NaN: not reported) */
    int64_t curve_cap;
} trial_slot;

struct gd_study {
    const char *path; /* during the load only */
    trial_slot *trial;
    size_t count, cap;
    char *warning[GD_STUDY_MAX_WARNINGS];
    size_t warnings;
    int64_t lines, events;
};

static void release_slot(trial_slot *t)
{
    for (int i = 0; i < t->rec.params; i++) {
        free(t->name[i]);
        free(t->value[i]);
    }
    free(t->name);
    free(t->value);
    free(t->message);
    free(t->curve);
}

void gd_study_free(gd_study *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->count; i++)
        release_slot(&st->trial[i]);
    free(st->trial);
    for (size_t i = 0; i < st->warnings && i < GD_STUDY_MAX_WARNINGS; i++)
        free(st->warning[i]);
    free(st);
}

/* Keeps "PATH line N: what" (the first GD_STUDY_MAX_WARNINGS; the rest are counted). */
static void warn(gd_study *st, int64_t line, const char *what, const char *detail)
{
    if (st->warnings < GD_STUDY_MAX_WARNINGS) {
        char text[GD_MSG_MAX];
        snprintf(text, sizeof text, "%.100s line %lld: %s%.60s", st->path, (long long)line, what,
                 detail ? detail : "");
        st->warning[st->warnings] = strdup(text); /* NULL when out of memory: no text */
    }
    st->warnings++;
}

/* ------------------------------------------------------------- the trials */

/* The slot of trial t, or where it would go (its index in the sorted array). */
static size_t slot_index(const gd_study *st, uint64_t t)
{
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->trial[mid].rec.trial < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static trial_slot *find_slot(gd_study *st, uint64_t t)
{
    size_t i = slot_index(st, t);
    return i < st->count && st->trial[i].rec.trial == t ? &st->trial[i] : NULL;
}

static trial_slot *insert_slot(gd_study *st, uint64_t t)
{
    if (st->count == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 16;
        trial_slot *more = realloc(st->trial, cap * sizeof *more);
        if (!more)
            return NULL;
        st->trial = more;
        st->cap = cap;
    }
    size_t i = slot_index(st, t);
    memmove(&st->trial[i + 1], &st->trial[i], (st->count - i) * sizeof *st->trial);
    st->count++;
    memset(&st->trial[i], 0, sizeof st->trial[i]);
    return &st->trial[i];
}

/* ------------------------------------------------------------ one line */

typedef struct event {
    gd_event_kind kind;
    uint64_t trial, seed;
    int64_t epoch;
    bool has_epoch;
    const cJSON *train_loss, *val_loss, *val_accuracy, *params, *message;
} event;

static bool whole_number(const cJSON *v, double limit, double *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < limit) ||
        v->valuedouble != floor(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

static bool parse_seed(const cJSON *v, uint64_t *seed)
{
    const char *s = cJSON_GetStringValue(v);
    if (!s || !(s[0] >= '0' && s[0] <= '9'))
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    *seed = n;
    return !errno && !*end;
}

/* The parameters of a started line: at most GD_SPACE_MAX_PARAMS, each a text or null,
 * each name once. */
static const char *check_params(const cJSON *params)
{
    if (!cJSON_IsObject(params))
        return "\"params\" is missing or no object";
    int n = 0;
    for (const cJSON *p = params->child; p; p = p->next, n++) {
        if (n == GD_SPACE_MAX_PARAMS)
            return "more than 32 parameters";
        if (!p->string || !p->string[0])
            return "a parameter without a name";
        if (!cJSON_IsNull(p) && !(cJSON_IsString(p) && strlen(p->valuestring) < GD_PARAM_TEXT_MAX))
            return "a parameter's value is neither a text of at most 63 bytes nor null";
        for (const cJSON *q = params->child; q != p; q = q->next)
            if (strcmp(q->string, p->string) == 0)
                return "a parameter named twice";
    }
    return NULL;
}

/* A figure: absent or null (not known), or a number. */
static bool figure(const cJSON *line, const char *key, const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(line, key);
    *out = v;
    return !v || cJSON_IsNull(v) || cJSON_IsNumber(v);
}

static const char *parse_kind(const cJSON *line, event *e)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(line, "event"));
    if (!name)
        return "no \"event\" text";
    for (int k = GD_EVENT_STARTED; k <= GD_EVENT_FAILED; k++)
        if (strcmp(name, gd_event_name((gd_event_kind)k)) == 0) {
            e->kind = (gd_event_kind)k;
            return NULL;
        }
    return "an \"event\" of no known kind";
}

/* What is wrong with the line as an event, or NULL with e filled. */
static const char *parse_event(const cJSON *line, event *e)
{
    if (!cJSON_IsObject(line))
        return "not a JSON object";
    const char *bad = parse_kind(line, e);
    double v;
    if (bad)
        return bad;
    if (!whole_number(cJSON_GetObjectItemCaseSensitive(line, "trial"), TRIAL_LIMIT, &v))
        return "no \"trial\" number (an integer from 0 below 2^53)";
    e->trial = (uint64_t)v;
    const cJSON *epoch = cJSON_GetObjectItemCaseSensitive(line, "epoch");
    if (epoch && !whole_number(epoch, TRIAL_LIMIT, &v))
        return "an \"epoch\" that is no integer from 0 below 2^53";
    e->has_epoch = epoch != NULL;
    e->epoch = epoch ? (int64_t)v : 0;
    if (!figure(line, "train_loss", &e->train_loss) || !figure(line, "val_loss", &e->val_loss) ||
        !figure(line, "val_accuracy", &e->val_accuracy))
        return "a figure (train_loss, val_loss, val_accuracy) that is no number or null";
    e->message = cJSON_GetObjectItemCaseSensitive(line, "message");
    if (e->message && !cJSON_IsString(e->message))
        return "a \"message\" that is no text";
    if (e->kind != GD_EVENT_STARTED)
        return NULL;
    if (!parse_seed(cJSON_GetObjectItemCaseSensitive(line, "seed"), &e->seed))
        return "a started line without its \"seed\" (an unsigned integer as text)";
    e->params = cJSON_GetObjectItemCaseSensitive(line, "params");
    return check_params(e->params);
}

/* ------------------------------------------------------------ applying it */

static bool same_params(const trial_slot *t, const cJSON *params)
{
    int i = 0;
    for (const cJSON *p = params->child; p; p = p->next, i++) {
        const char *v = cJSON_IsString(p) ? p->valuestring : NULL;
        if (i >= t->rec.params || strcmp(t->name[i], p->string) != 0 ||
            (v == NULL) != (t->value[i] == NULL) || (v && strcmp(v, t->value[i]) != 0))
            return false;
    }
    return i == t->rec.params;
}

static gd_status keep_params(trial_slot *t, const cJSON *params)
{
    int n = cJSON_GetArraySize(params);
    t->name = calloc((size_t)n + 1, sizeof *t->name);
    t->value = calloc((size_t)n + 1, sizeof *t->value);
    if (!t->name || !t->value)
        return GD_ERR_NO_MEMORY;
    for (const cJSON *p = params->child; p; p = p->next) {
        int i = t->rec.params;
        t->name[i] = strdup(p->string);
        t->value[i] = cJSON_IsString(p) ? strdup(p->valuestring) : NULL;
        t->rec.params++; /* counted before the check, so that release frees both */
        if (!t->name[i] || (cJSON_IsString(p) && !t->value[i]))
            return GD_ERR_NO_MEMORY;
    }
    t->rec.name = (const char *const *)t->name;
    t->rec.value = (const char *const *)t->value;
    return GD_OK;
}

static gd_status start_trial(gd_study *st, const event *e, int64_t line)
{
    trial_slot *t = find_slot(st, e->trial);
    if (t) { /* started again: a resumed trial keeps its first parameters */
        if (!same_params(t, e->params) || t->rec.seed != e->seed) {
            char first[64];
            snprintf(first, sizeof first, "%lld's", (long long)t->rec.started_line);
            warn(st, line, "a trial started again with other parameters or seed than line ",
                 first);
        }
        t->rec.state = GD_TRIAL_RUNNING;
        return GD_OK;
    }
    if (!(t = insert_slot(st, e->trial)))
        return GD_ERR_NO_MEMORY;
    t->rec = (gd_trial_record){.trial = e->trial, .seed = e->seed, .state = GD_TRIAL_RUNNING,
                               .train_loss = NAN, .val_loss = NAN, .val_accuracy = NAN,
                               .best_val_accuracy = NAN, .message = "", .started_line = line};
    return keep_params(t, e->params);
}

static void take_figure(double *field, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        *field = v->valuedouble;
}

/* An epoch's validation accuracy into the trial's curve (a resumed trial may report an
 * epoch again: the later line wins), and the best of the curve so far. */
static gd_status record_epoch(trial_slot *t, int64_t epoch, const cJSON *acc)
{
    if (epoch < 1 || !cJSON_IsNumber(acc))
        return GD_OK;
    if (epoch > GD_STUDY_MAX_EPOCHS)
        return GD_OK; /* kept as the last figures, not on the curve */
    if (epoch > t->curve_cap) {
        int64_t cap = t->curve_cap ? t->curve_cap : 16;
        while (cap < epoch)
            cap *= 2;
        double *more = realloc(t->curve, (size_t)cap * sizeof *more);
        if (!more)
            return GD_ERR_NO_MEMORY;
        for (int64_t i = t->curve_cap; i < cap; i++)
            more[i] = NAN;
        t->curve = more;
        t->curve_cap = cap;
    }
    t->curve[epoch - 1] = acc->valuedouble;
    if (epoch > t->rec.curve_len)
        t->rec.curve_len = epoch;
    t->rec.curve = t->curve;
    t->rec.best_val_accuracy = NAN;
    for (int64_t i = 0; i < t->rec.curve_len; i++) /* the first of equal bests, as training */
        if (t->curve[i] > t->rec.best_val_accuracy ||
            (isnan(t->rec.best_val_accuracy) && !isnan(t->curve[i]))) {
            t->rec.best_val_accuracy = t->curve[i];
            t->rec.best_epoch = i + 1;
        }
    return GD_OK;
}

double gd_trial_best_until(const gd_trial_record *r, int64_t epoch)
{
    double best = NAN;
    for (int64_t i = 0; r && i < epoch && i < r->curve_len; i++)
        if (!isnan(r->curve[i]) && (isnan(best) || r->curve[i] > best))
            best = r->curve[i];
    return best;
}

static const gd_trial_state state_of[] = {
    [GD_EVENT_STARTED] = GD_TRIAL_RUNNING,   [GD_EVENT_EPOCH] = GD_TRIAL_RUNNING,
    [GD_EVENT_FINISHED] = GD_TRIAL_FINISHED, [GD_EVENT_PRUNED] = GD_TRIAL_PRUNED,
    [GD_EVENT_DIVERGED] = GD_TRIAL_DIVERGED, [GD_EVENT_FAILED] = GD_TRIAL_FAILED,
};

static gd_status apply_event(gd_study *st, const event *e, int64_t line)
{
    if (e->kind == GD_EVENT_STARTED) {
        gd_status s = start_trial(st, e, line);
        if (s != GD_OK)
            return s;
    }
    trial_slot *t = find_slot(st, e->trial);
    if (!t) {
        char what[96];
        snprintf(what, sizeof what, "a \"%s\" event of trial %llu, which no earlier line "
                 "started: skipped", gd_event_name(e->kind), (unsigned long long)e->trial);
        warn(st, line, what, NULL);
        return GD_OK;
    }
    if (e->has_epoch)
        t->rec.epoch = e->epoch;
    if (e->kind == GD_EVENT_EPOCH && record_epoch(t, e->epoch, e->val_accuracy) != GD_OK)
        return GD_ERR_NO_MEMORY;
    take_figure(&t->rec.train_loss, e->train_loss);
    take_figure(&t->rec.val_loss, e->val_loss);
    take_figure(&t->rec.val_accuracy, e->val_accuracy);
    if (e->message && e->kind != GD_EVENT_STARTED) {
        char *m = strdup(e->message->valuestring);
        if (!m)
            return GD_ERR_NO_MEMORY;
        free(t->message);
        t->rec.message = t->message = m;
    }
    t->rec.state = state_of[e->kind];
    t->rec.last_line = line;
    st->events++;
    return GD_OK;
}

static bool blank(const char *text, size_t len);

static gd_status load_line(gd_study *st, const char *text, size_t len, int64_t line)
{
    /* cJSON stops after the first value: what follows it must be blank, not more. */
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (json && !blank(end, (size_t)(text + len - end))) {
        cJSON_Delete(json);
        json = NULL;
    }
    if (!json) {
        warn(st, line, "not JSON: skipped", NULL);
        return GD_OK;
    }
    event e = {0};
    const char *bad = parse_event(json, &e);
    gd_status s = GD_OK;
    if (bad)
        warn(st, line, bad, ": skipped");
    else
        s = apply_event(st, &e, line);
    cJSON_Delete(json);
    return s;
}

static bool blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
            return false;
    return true;
}

static gd_status load_text(gd_study *st, const char *text, size_t size)
{
    gd_status s = GD_OK;
    for (size_t at = 0; s == GD_OK && at < size;) {
        const char *nl = memchr(text + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (text + at)) : size - at;
        st->lines++;
        if (!nl && !blank(text + at, len))
            warn(st, st->lines, "cut short (no end of line), as a writer killed mid-line "
                                "leaves it: skipped", NULL);
        else if (!blank(text + at, len))
            s = load_line(st, text + at, len, st->lines);
        at += len + 1;
    }
    return s;
}

/* ---------------------------------------------------------------- loading */

static gd_status read_all(const char *path, char **out, size_t *size, char *msg)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        gd_status st = gd_fail(msg, GD_ERR_IO, "%.120s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    /* A line costs cJSON a few times its bytes, and one line is parsed at a time. */
    gd_status st = gd_check_memory(msg, path, (uint64_t)sb.st_size * 2);
    char *text = st == GD_OK ? malloc((size_t)sb.st_size + 1) : NULL;
    if (st == GD_OK && !text)
        st = gd_fail(msg, GD_ERR_NO_MEMORY, "%.120s: out of memory", path);
    size_t n = 0;
    while (st == GD_OK && n < (size_t)sb.st_size) {
        ssize_t r = read(fd, text + n, (size_t)sb.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            st = gd_fail(msg, GD_ERR_IO, "%.120s: %s", path, strerror(errno));
        if (r <= 0)
            break; /* a file that shrank while read: what was there */
        n += (size_t)r;
    }
    close(fd);
    if (st != GD_OK) {
        free(text);
        return st;
    }
    *out = text;
    *size = n;
    return GD_OK;
}

gd_status gd_study_load(gd_study **out, const char *path, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!out || !path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "study: NULL argument");
    *out = NULL;
    char *text = NULL;
    size_t size = 0;
    gd_status s = read_all(path, &text, &size, msg);
    if (s != GD_OK)
        return s;
    gd_study *st = calloc(1, sizeof *st);
    if (st) {
        st->path = path;
        s = load_text(st, text, size);
        st->path = NULL;
    }
    free(text);
    if (!st || s != GD_OK) {
        gd_study_free(st);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%.120s: out of memory", path);
    }
    *out = st;
    return GD_OK;
}

size_t gd_study_trial_count(const gd_study *st) { return st ? st->count : 0; }

const gd_trial_record *gd_study_trial(const gd_study *st, size_t index)
{
    return st && index < st->count ? &st->trial[index].rec : NULL;
}

const gd_trial_record *gd_study_find(const gd_study *st, uint64_t trial)
{
    const trial_slot *t = st ? find_slot((gd_study *)st, trial) : NULL;
    return t ? &t->rec : NULL;
}

size_t gd_study_warning_count(const gd_study *st) { return st ? st->warnings : 0; }

const char *gd_study_warning(const gd_study *st, size_t index)
{
    return st && index < st->warnings && index < GD_STUDY_MAX_WARNINGS ? st->warning[index]
                                                                          : NULL;
}

int64_t gd_study_lines(const gd_study *st) { return st ? st->lines : 0; }
int64_t gd_study_events(const gd_study *st) { return st ? st->events : 0; }
