/* Binding a call's arguments to a signature, as Python binds them: positional arguments
 * in order, then keywords, each parameter at most once, keyword-only ones by name only.
 * Values are checked against the parameter's type here, so every message can name the
 * call, the parameter and the text that was found. Close misspellings get a suggestion. */
#include "spec.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int gd_spec_word_index(const char *alts, const char *word, int len)
{
    int index = 0;
    for (const char *s = alts; *s; index++) {
        size_t n = strcspn(s, "|");
        if ((int)n == len && memcmp(s, word, n) == 0)
            return index;
        s += n + (s[n] == '|');
    }
    return -1;
}

/* --------------------------------------------------------------- suggestions */

#define SUGGEST_MAX_LEN 32

/* Optimal string alignment distance: Levenshtein plus swaps of neighbours, the commonest
 * typing slip ("lienar"). */
static int edit_distance(const char *a, int la, const char *b, int lb)
{
    int d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* Lower is closer; INT_MAX is too far to suggest. Two edits are a slip in a long word
 * but a different word when it has three letters; a prefix ("kaiming") is a slip too. */
static int closeness(const char *word, int len, const char *cand, int cand_len)
{
    if (len > SUGGEST_MAX_LEN || cand_len > SUGGEST_MAX_LEN)
        return INT_MAX;
    int d = edit_distance(word, len, cand, cand_len);
    if (d <= (len < 5 ? 1 : 2))
        return d;
    if (len >= 3 && len < cand_len && memcmp(word, cand, (size_t)len) == 0)
        return 3;
    return INT_MAX;
}

void gd_spec_suggest_start(gd_spec_suggestion *s, const char *word, int len)
{
    *s = (gd_spec_suggestion){.word = word, .word_len = len, .best_score = INT_MAX};
}

void gd_spec_suggest_from(gd_spec_suggestion *s, const char *alts)
{
    for (const char *c = alts; *c;) {
        int n = (int)strcspn(c, "|");
        int score = closeness(s->word, s->word_len, c, n);
        if (score < s->best_score) {
            s->best = c;
            s->best_len = n;
            s->best_score = score;
        }
        c += n + (c[n] == '|');
    }
}

const char *gd_spec_suggest_str(const gd_spec_suggestion *s, char *buf, size_t len)
{
    if (s->best)
        snprintf(buf, len, " (did you mean '%.*s'?)", s->best_len, s->best);
    else
        buf[0] = '\0';
    return buf;
}

/* ------------------------------------------------------------------- binding */

/* The first of alts ("pad|padding" -> "pad"), for messages. */
static int first_len(const char *alts) { return (int)strcspn(alts, "|"); }

static int count_params(const gd_spec_signature *sig)
{
    int n = 0;
    while (n < GD_SPEC_MAX_PARAMS && sig->params[n].names)
        n++;
    return n;
}

static int count_positional(const gd_spec_signature *sig)
{
    int n = 0;
    while (n < GD_SPEC_MAX_PARAMS && sig->params[n].names && !sig->params[n].keyword_only)
        n++;
    return n;
}

static const char *type_str(const gd_spec_param *p, char *buf, size_t len)
{
    static const char *const names[] = {
        [GD_ARG_SIZE] = "a positive integer",
        [GD_ARG_COUNT] = "a non-negative integer",
        [GD_ARG_REAL] = "a number",
        [GD_ARG_POSITIVE] = "a positive number",
        [GD_ARG_PROB] = "a number in [0, 1)",
        [GD_ARG_UNIT] = "a number in [0, 1]",
        [GD_ARG_BOOL] = "true or false",
        [GD_ARG_INIT] = "an initialiser such as kaiming_normal or normal(std=0.01)",
    };
    if (p->type != GD_ARG_WORD)
        return names[p->type];
    size_t k = (size_t)snprintf(buf, len, "one of ");
    for (const char *w = p->words; *w && k + 1 < len; w++)
        k += (size_t)snprintf(buf + k, len - k, *w == '|' ? ", " : "%c", *w);
    return buf;
}

static bool in_domain(gd_spec_type type, double x)
{
    switch (type) {
    case GD_ARG_SIZE: return x >= 1 && x <= INT_MAX && x == floor(x);
    case GD_ARG_COUNT: return x >= 0 && x <= INT_MAX && x == floor(x);
    case GD_ARG_POSITIVE: return x > 0;
    case GD_ARG_PROB: return x >= 0 && x < 1;
    case GD_ARG_UNIT: return x >= 0 && x <= 1;
    default: return true; /* GD_ARG_REAL: the lexer admits finite numbers only */
    }
}

/* The value of v for parameter p: a number in its domain, a word's index, or (for an
 * initialiser, bound later) 0. False when v does not fit. */
static bool convert(const gd_spec_param *p, const gd_spec_node *v, double *out)
{
    bool is_word = v->tok->kind == GD_TOK_NAME && !v->open;
    switch (p->type) {
    case GD_ARG_INIT:
        *out = 0;
        return v->tok->kind == GD_TOK_NAME;
    case GD_ARG_BOOL:
    case GD_ARG_WORD: {
        int i = is_word ? gd_spec_word_index(p->type == GD_ARG_BOOL ? "false|true" : p->words,
                                             v->tok->text, v->tok->len)
                        : -1;
        *out = i;
        return i >= 0;
    }
    default:
        *out = v->tok->number;
        return v->tok->kind == GD_TOK_NUMBER && in_domain(p->type, v->tok->number);
    }
}

static gd_status wrong_value(const gd_spec_node *call, const gd_spec_param *p,
                             const gd_spec_node *v, char *msg)
{
    char type[160], found[64], hint[64] = "";
    if ((p->type == GD_ARG_BOOL || p->type == GD_ARG_WORD) && v->tok->kind == GD_TOK_NAME) {
        gd_spec_suggestion s;
        gd_spec_suggest_start(&s, v->tok->text, v->tok->len);
        gd_spec_suggest_from(&s, p->type == GD_ARG_BOOL ? "false|true" : p->words);
        gd_spec_suggest_str(&s, hint, sizeof hint);
    }
    return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, v->tok,
                        "expected %s for %.*s's %.*s, found %s%s", type_str(p, type, sizeof type),
                        call->tok->len, call->tok->text, first_len(p->names), p->names,
                        gd_spec_node_str(v, found, sizeof found), hint);
}

static gd_status unknown_option(const gd_spec_node *call, const gd_spec_signature *sig,
                                const gd_spec_token *key, char *msg)
{
    char hint[64], list[160] = "";
    gd_spec_suggestion s;
    gd_spec_suggest_start(&s, key->text, key->len);
    size_t k = 0;
    for (int i = 0; i < count_params(sig); i++) {
        gd_spec_suggest_from(&s, sig->params[i].names);
        if (k < sizeof list)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%.*s", i ? ", " : "",
                                  first_len(sig->params[i].names), sig->params[i].names);
    }
    return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, key,
                        "%.*s has no option '%.*s'%s; it takes %s", call->tok->len, call->tok->text,
                        key->len, key->text, gd_spec_suggest_str(&s, hint, sizeof hint), list);
}

/* Parentheses that hold nothing, or hold something where nothing is taken. */
static gd_status check_parentheses(const gd_spec_node *call, const gd_spec_signature *sig,
                                   char *msg)
{
    const gd_spec_token *name = call->tok;
    /* A residual's parentheses hold its layers, which the parser has already checked. */
    if (!call->open || call->body || (call->args && count_params(sig) > 0))
        return GD_OK;
    if (count_params(sig) == 0)
        return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, call->open,
                            "expected no arguments after '%.*s', found '(' (write '%.*s' alone)",
                            name->len, name->text, name->len, name->text);
    char type[160], hint[96] = "";
    bool any_required = false;
    for (int i = 0; i < count_params(sig); i++)
        any_required |= sig->params[i].required;
    if (!any_required)
        snprintf(hint, sizeof hint, " (write '%.*s' alone for the defaults)", name->len,
                 name->text);
    return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, call->close,
                        "expected %s after '%.*s(', found ')'%s",
                        type_str(&sig->params[0], type, sizeof type), name->len, name->text, hint);
}

/* Which parameter arg fills; -1 (with the message written) when none. */
static int param_for(const gd_spec_node *call, const gd_spec_signature *sig, const gd_spec_arg *arg,
                     int *positional, bool *keywords_seen, char *msg)
{
    if (arg->key) {
        *keywords_seen = true;
        for (int i = 0; i < count_params(sig); i++)
            if (gd_spec_word_index(sig->params[i].names, arg->key->text, arg->key->len) >= 0)
                return i;
        unknown_option(call, sig, arg->key, msg);
        return -1;
    }
    char found[64];
    if (*keywords_seen) {
        gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, arg->value->tok,
                     "expected name=value after a named argument of %.*s, found %s", call->tok->len,
                     call->tok->text, gd_spec_node_str(arg->value, found, sizeof found));
        return -1;
    }
    if (*positional >= count_positional(sig)) {
        gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, arg->value->tok,
                     "%.*s takes at most %d unnamed argument%s, found another: %s", call->tok->len,
                     call->tok->text, count_positional(sig), count_positional(sig) == 1 ? "" : "s",
                     gd_spec_node_str(arg->value, found, sizeof found));
        return -1;
    }
    return (*positional)++;
}

gd_status gd_spec_bind(const gd_spec_node *call, const gd_spec_signature *sig,
                       gd_spec_bound out[GD_SPEC_MAX_PARAMS], char *msg)
{
    for (int i = 0; i < GD_SPEC_MAX_PARAMS; i++)
        out[i] = (gd_spec_bound){.num = i < count_params(sig) ? sig->params[i].def : NAN};
    gd_status st = check_parentheses(call, sig, msg);
    if (st != GD_OK)
        return st;
    int positional = 0;
    bool keywords_seen = false;
    for (const gd_spec_arg *arg = call->args; arg; arg = arg->next) {
        int i = param_for(call, sig, arg, &positional, &keywords_seen, msg);
        if (i < 0)
            return GD_ERR_INVALID_ARGUMENT;
        const gd_spec_param *p = &sig->params[i];
        if (out[i].given)
            return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, arg->key ? arg->key : arg->value->tok,
                                "%.*s's %.*s is given twice", call->tok->len, call->tok->text,
                                first_len(p->names), p->names);
        if (!convert(p, arg->value, &out[i].num))
            return wrong_value(call, p, arg->value, msg);
        out[i].given = true;
        out[i].node = arg->value;
    }
    for (int i = 0; i < count_params(sig); i++) {
        const gd_spec_param *p = &sig->params[i];
        char type[160];
        if (p->required && !out[i].given)
            return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, call->tok,
                                "%.*s needs its %.*s (%s), e.g. '%s'", call->tok->len,
                                call->tok->text, first_len(p->names), p->names,
                                type_str(p, type, sizeof type), sig->example);
    }
    return GD_OK;
}
