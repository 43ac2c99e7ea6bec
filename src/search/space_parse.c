/* The text of a search space: one parameter a line (or a --param flag),
 *
 *     NAME = KIND ( ARG , ARG ... ) [ if NAME = VALUE | if NAME in ( VALUE , ... ) ] [# ...]
 *
 * with blanks anywhere between the pieces (docs/search.md has the grammar and its
 * examples). The parser is a cursor over one line: each piece either advances it or fails
 * with "ORIGIN, column C: what is wrong", C counted in bytes from 1. */
#include "search.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 2^53: integers beyond it are not all doubles, so int(lo, hi) stops there. */
#define INT_BOUND 9007199254740992.0
/* A space file is a few lines; anything larger is no space file. */
#define SPACE_FILE_MAX (1 << 20)

typedef struct cursor {
    const char *text, *origin;
    size_t pos;
    char *msg;
} cursor;

static gd_status fail_at(const cursor *c, size_t pos, const char *what, const char *detail)
{
    return gd_fail(c->msg, GD_ERR_INVALID_ARGUMENT, "%.80s, column %zu: %s%.80s", c->origin,
                   pos + 1, what, detail ? detail : "");
}

static void skip_blanks(cursor *c)
{
    while (c->text[c->pos] == ' ' || c->text[c->pos] == '\t' || c->text[c->pos] == '\r')
        c->pos++;
}

/* Nothing but a comment or blanks remains. */
static bool at_end(cursor *c)
{
    skip_blanks(c);
    return c->text[c->pos] == '\0' || c->text[c->pos] == '#';
}

static bool take_char(cursor *c, char ch)
{
    skip_blanks(c);
    if (c->text[c->pos] != ch)
        return false;
    c->pos++;
    return true;
}

static gd_status expect_char(cursor *c, char ch, const char *what)
{
    return take_char(c, ch) ? GD_OK : fail_at(c, c->pos, what, NULL);
}

/* A name: a letter or '_', then letters, digits and '_' (a setting's key, a {name}). */
static gd_status take_name(cursor *c, char *out, size_t len, const char *what)
{
    skip_blanks(c);
    size_t start = c->pos, n = 0;
    const char *t = c->text + start;
    if (isalpha((unsigned char)t[0]) || t[0] == '_')
        while (isalnum((unsigned char)t[n]) || t[n] == '_')
            n++;
    if (n == 0)
        return fail_at(c, start, what, NULL);
    if (n >= len)
        return fail_at(c, start, "a name longer than 63 characters", NULL);
    memcpy(out, t, n);
    out[n] = '\0';
    c->pos += n;
    return GD_OK;
}

/* A value: a run of printable characters other than blanks and the grammar's own
 * , ( ) = # { } and quotes: "1e-4", "sgd", "step:10:0.5". */
static bool value_char(char ch)
{
    return ch > ' ' && ch < 127 && !strchr(",()=#{}\"'", ch);
}

static gd_status take_value(cursor *c, char *out, size_t *start)
{
    skip_blanks(c);
    *start = c->pos;
    size_t n = 0;
    while (value_char(c->text[c->pos + n]))
        n++;
    if (n == 0)
        return fail_at(c, c->pos, "expected a value", NULL);
    if (n >= GD_PARAM_TEXT_MAX)
        return fail_at(c, c->pos, "a value longer than 63 characters", NULL);
    memcpy(out, c->text + c->pos, n);
    out[n] = '\0';
    c->pos += n;
    return GD_OK;
}

/* A list "( V , V ... )" of at most max values into vals; *n of them, each's column. */
static gd_status take_list(cursor *c, char (*vals)[GD_PARAM_TEXT_MAX], size_t *cols, int max,
                           int *n)
{
    gd_status st = expect_char(c, '(', "expected '(' after the kind");
    for (*n = 0; st == GD_OK;) {
        skip_blanks(c);
        if (*n == max)
            return fail_at(c, c->pos, *n == 2 ? "expected ')': a range has two ends" :
                                                "more than 64 options", NULL);
        st = take_value(c, vals[*n], &cols[*n]);
        if (st != GD_OK)
            return st;
        (*n)++;
        if (take_char(c, ')'))
            return GD_OK;
        st = expect_char(c, ',', "expected ',' or ')'");
    }
    return st;
}

typedef struct kind_name {
    const char *name;
    gd_param_kind kind;
} kind_name;

static const kind_name kinds[] = {
    {"uniform", GD_PARAM_UNIFORM}, {"loguniform", GD_PARAM_LOGUNIFORM}, {"int", GD_PARAM_INT},
    {"logint", GD_PARAM_LOGINT},   {"choice", GD_PARAM_CHOICE},
};

static gd_status take_kind(cursor *c, gd_param_kind *kind)
{
    char name[GD_PARAM_TEXT_MAX];
    skip_blanks(c);
    size_t start = c->pos;
    gd_status st = take_name(c, name, sizeof name, "expected a kind: uniform, loguniform, "
                                                   "int, logint or choice");
    for (size_t i = 0; st == GD_OK && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(name, kinds[i].name) == 0) {
            *kind = kinds[i].kind;
            return GD_OK;
        }
    if (st != GD_OK)
        return st;
    return fail_at(c, start, "no kind is named ",
                   "this: use uniform, loguniform, int, logint or choice");
}

static bool parse_number(const char *text, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(text, &end);
    return !errno && end != text && !*end && isfinite(*v);
}

/* The two ends of a numeric kind, checked for that kind. */
static gd_status set_range(const cursor *c, gd_param_info *q, char (*vals)[GD_PARAM_TEXT_MAX],
                           const size_t *cols, int n, size_t close)
{
    if (n != 2)
        return fail_at(c, close, "a range needs two numbers, (lo, hi)", NULL);
    double v[2];
    bool whole = q->kind == GD_PARAM_INT || q->kind == GD_PARAM_LOGINT;
    for (int i = 0; i < 2; i++) {
        if (!parse_number(vals[i], &v[i]))
            return fail_at(c, cols[i], "not a finite number: ", vals[i]);
        if (whole && (v[i] != floor(v[i]) || fabs(v[i]) > INT_BOUND))
            return fail_at(c, cols[i], "not an integer (within 2^53): ", vals[i]);
    }
    if (q->kind == GD_PARAM_LOGUNIFORM && v[0] <= 0)
        return fail_at(c, cols[0], "loguniform's lower end must be above 0 (its logarithm "
                                   "is drawn): ", vals[0]);
    if (q->kind == GD_PARAM_LOGINT && v[0] < 1)
        return fail_at(c, cols[0], "logint's lower end must be at least 1 (its logarithm "
                                   "is drawn): ", vals[0]);
    if (!(v[0] < v[1]))
        return fail_at(c, cols[1], "the upper end must be above the lower (a fixed value "
                                   "is a flag, not a parameter): ", vals[1]);
    q->lo = v[0];
    q->hi = v[1];
    return GD_OK;
}

/* The options of a choice: two or more, each once. */
static gd_status set_options(const cursor *c, gd_param *p, char (*vals)[GD_PARAM_TEXT_MAX],
                             const size_t *cols, int n)
{
    if (n < 2)
        return fail_at(c, cols[0], "a choice needs two options or more (a fixed value is a "
                                   "flag, not a parameter)", NULL);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(vals[i], vals[j]) == 0)
                return fail_at(c, cols[i], "an option given twice: ", vals[i]);
    p->option = calloc((size_t)n, sizeof *p->option);
    if (!p->option)
        return gd_fail(c->msg, GD_ERR_NO_MEMORY, "%s: out of memory", c->origin);
    p->info.options = n;
    for (int i = 0; i < n; i++)
        if (!(p->option[i] = strdup(vals[i])))
            return gd_fail(c->msg, GD_ERR_NO_MEMORY, "%s: out of memory", c->origin);
    p->info.option = (const char *const *)p->option;
    return GD_OK;
}

static gd_status take_args(cursor *c, gd_param *p)
{
    char vals[GD_PARAM_MAX_OPTIONS][GD_PARAM_TEXT_MAX];
    size_t cols[GD_PARAM_MAX_OPTIONS];
    int n = 0;
    bool choice = p->info.kind == GD_PARAM_CHOICE;
    gd_status st = take_list(c, vals, cols, choice ? GD_PARAM_MAX_OPTIONS : 2, &n);
    if (st != GD_OK)
        return st;
    return choice ? set_options(c, p, vals, cols, n) : set_range(c, &p->info, vals, cols, n,
                                                                 c->pos - 1);
}

/* The option index of value in the choice q, or -1. */
static int option_index(const gd_param_info *q, const char *value)
{
    for (int i = 0; i < q->options; i++)
        if (strcmp(q->option[i], value) == 0)
            return i;
    return -1;
}

/* "if NAME = VALUE" or "if NAME in ( VALUE , ... )": NAME an earlier choice. */
static gd_status take_condition(cursor *c, const gd_space *sp, gd_param *p)
{
    char name[GD_PARAM_TEXT_MAX], word[GD_PARAM_TEXT_MAX];
    skip_blanks(c);
    size_t start = c->pos;
    gd_status st = take_name(c, name, sizeof name, "expected the name a condition is on");
    if (st != GD_OK)
        return st;
    int parent = gd_space_find(sp, name);
    if (parent < 0)
        return fail_at(c, start, "a condition must be on an earlier parameter; none is "
                                 "named ", name);
    const gd_param_info *q = &sp->param[parent].info;
    if (q->kind != GD_PARAM_CHOICE)
        return fail_at(c, start, "a condition must be on a choice parameter: ", name);
    char vals[GD_PARAM_MAX_OPTIONS][GD_PARAM_TEXT_MAX];
    size_t cols[GD_PARAM_MAX_OPTIONS];
    int n = 1;
    skip_blanks(c);
    size_t here = c->pos;
    if (take_char(c, '='))
        st = take_value(c, vals[0], &cols[0]);
    else if (take_name(c, word, sizeof word, "expected '=' or 'in'") == GD_OK &&
             strcmp(word, "in") == 0)
        st = take_list(c, vals, cols, GD_PARAM_MAX_OPTIONS, &n);
    else
        return fail_at(c, here, "expected '=' or 'in' after the condition's name", NULL);
    for (int i = 0; st == GD_OK && i < n; i++) {
        int k = option_index(q, vals[i]);
        if (k < 0)
            return fail_at(c, cols[i], "the condition's parameter has no such option: ",
                           vals[i]);
        p->info.when |= (uint64_t)1 << k;
    }
    p->info.parent = parent;
    return st;
}

static gd_status take_param(cursor *c, const gd_space *sp, gd_param *p)
{
    char name[GD_PARAM_TEXT_MAX];
    skip_blanks(c);
    p->name_column = (int)c->pos + 1;
    gd_status st = take_name(c, name, sizeof name, "expected a parameter's name");
    if (st == GD_OK && gd_space_find(sp, name) >= 0)
        return fail_at(c, (size_t)p->name_column - 1, "a parameter given twice: ", name);
    if (st == GD_OK && !(p->name = strdup(name)))
        return gd_fail(c->msg, GD_ERR_NO_MEMORY, "%s: out of memory", c->origin);
    if (st == GD_OK)
        st = expect_char(c, '=', "expected '=' after the name");
    if (st == GD_OK)
        st = take_kind(c, &p->info.kind);
    if (st == GD_OK)
        st = take_args(c, p);
    if (st != GD_OK || at_end(c))
        return st;
    size_t here = c->pos;
    char word[GD_PARAM_TEXT_MAX];
    if (take_name(c, word, sizeof word, "") != GD_OK || strcmp(word, "if") != 0)
        return fail_at(c, here, "expected 'if', a comment or the end", NULL);
    st = take_condition(c, sp, p);
    if (st == GD_OK && !at_end(c))
        return fail_at(c, c->pos, "expected a comment or the end after the condition", NULL);
    return st;
}

gd_status gd_space_add(gd_space *sp, const char *text, const char *origin, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!sp || !text)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "space: NULL argument");
    cursor c = {text, origin ? origin : "--param", 0, msg};
    if (at_end(&c))
        return GD_OK;
    if (sp->count == GD_SPACE_MAX_PARAMS)
        return fail_at(&c, c.pos, "more than 32 parameters", NULL);
    gd_param p = {.info = {.parent = -1}};
    gd_status st = take_param(&c, sp, &p);
    if (st == GD_OK && !(p.origin = strdup(c.origin)))
        st = gd_fail(msg, GD_ERR_NO_MEMORY, "%s: out of memory", c.origin);
    if (st == GD_OK)
        return gd_space_take(sp, &p, msg);
    gd_param_release(&p);
    return st;
}

/* The whole file (NUL-terminated, malloc'd), refused when large or holding a NUL byte. */
static gd_status read_text(const char *path, char **out, char *msg)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return gd_fail(msg, GD_ERR_IO, "%.120s: %s", path, strerror(errno));
    char *text = malloc(SPACE_FILE_MAX + 1);
    size_t n = text ? fread(text, 1, SPACE_FILE_MAX + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    gd_status st = GD_OK;
    if (!text)
        st = gd_fail(msg, GD_ERR_NO_MEMORY, "%.120s: out of memory", path);
    else if (bad)
        st = gd_fail(msg, GD_ERR_IO, "%.120s: could not be read", path);
    else if (n > SPACE_FILE_MAX)
        st = gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%.120s: larger than 1 MB, no space file",
                     path);
    else if (memchr(text, '\0', n))
        st = gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "%.120s: holds a NUL byte, no space file",
                     path);
    if (st != GD_OK) {
        free(text);
        return st;
    }
    text[n] = '\0';
    *out = text;
    return GD_OK;
}

gd_status gd_space_read(gd_space *sp, const char *path, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (!sp || !path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "space: NULL argument");
    char *text = NULL;
    gd_status st = read_text(path, &text, msg);
    char *line = text;
    for (long number = 1; st == GD_OK && line; number++) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char origin[160];
        snprintf(origin, sizeof origin, "%.120s line %ld", path, number);
        st = gd_space_add(sp, line, origin, err);
        line = next;
    }
    free(text);
    return st;
}
