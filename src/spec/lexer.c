/* Tokens of the spec language: names, numbers, ( ) , =; '#' comments to the end of the
 * line and whitespace (newlines included) only separate tokens. */
#include "spec.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gd_status gd_spec_fail(char *msg, gd_status status, const gd_spec_token *at, const char *fmt, ...)
{
    int head = snprintf(msg, GD_MSG_MAX, "spec %d:%d: ", at->line, at->col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + head, GD_MSG_MAX - (size_t)head, fmt, ap);
    va_end(ap);
    return status;
}

const char *gd_spec_token_str(const gd_spec_token *t, char *buf, size_t len)
{
    if (t->kind == GD_TOK_END)
        snprintf(buf, len, "end of spec");
    else if (t->len > 40) /* keeps messages inside GD_MSG_MAX */
        snprintf(buf, len, "'%.37s...'", t->text);
    else
        snprintf(buf, len, "'%.*s'", t->len, t->text);
    return buf;
}

typedef struct lexer {
    const char *p;
    int line;
    const char *line_start;
} lexer;

static bool is_name_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
/* strchr(set, c) also finds the terminating NUL: every membership test goes through here. */
static bool in_set(const char *set, char c) { return c != '\0' && strchr(set, c) != NULL; }
static bool is_name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

static void skip_space_and_comments(lexer *lx)
{
    for (;;) {
        if (*lx->p == '\n') {
            lx->line++;
            lx->line_start = ++lx->p;
        } else if (isspace((unsigned char)*lx->p)) {
            lx->p++;
        } else if (*lx->p == '#') {
            while (*lx->p && *lx->p != '\n')
                lx->p++;
        } else {
            return;
        }
    }
}

static bool starts_number(const char *p)
{
    if (*p == '+' || *p == '-')
        p++;
    return isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]));
}

/* strtod also reads "inf", "nan" and hexadecimal ("0x1p3"); the language has decimal
 * numbers only, so whatever strtod took must be made of these characters. */
static gd_status lex_number(gd_spec_token *t, char *msg)
{
    char *end;
    t->number = strtod(t->text, &end);
    t->len = (int)(end - t->text);
    bool decimal = t->len > 0 && strspn(t->text, "0123456789.eE+-") >= (size_t)t->len;
    if (!decimal || is_name_char(*end) || *end == '.') {
        int n = 0;
        while (is_name_char(t->text[n]) || in_set(".+-", t->text[n]))
            n++;
        t->len = n;
        char found[64];
        return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, t, "expected a decimal number, found %s",
                            gd_spec_token_str(t, found, sizeof found));
    }
    /* Overflow gives inf; underflow (to a denormal or zero) is accepted: such a value
     * means zero to every layer. */
    if (!isfinite(t->number)) {
        char found[64];
        return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, t, "number %s is out of range",
                            gd_spec_token_str(t, found, sizeof found));
    }
    return GD_OK;
}

static const char punctuation[] = "(),=";
static const gd_spec_tok_kind punctuation_kind[] = {GD_TOK_LPAREN, GD_TOK_RPAREN, GD_TOK_COMMA,
                                                    GD_TOK_EQUALS};

/* The token at lx->p (after whitespace); advances past it. */
static gd_status next_token(lexer *lx, gd_spec_token *t, char *msg)
{
    skip_space_and_comments(lx);
    *t = (gd_spec_token){.text = lx->p, .line = lx->line, .col = (int)(lx->p - lx->line_start) + 1};
    const char *punct = in_set(punctuation, *lx->p) ? strchr(punctuation, *lx->p) : NULL;
    if (!*lx->p) {
        t->kind = GD_TOK_END;
    } else if (punct) {
        t->kind = punctuation_kind[punct - punctuation];
        t->len = 1;
    } else if (is_name_start(*lx->p)) {
        t->kind = GD_TOK_NAME;
        while (is_name_char(t->text[t->len]))
            t->len++;
    } else if (starts_number(lx->p)) {
        t->kind = GD_TOK_NUMBER;
        gd_status st = lex_number(t, msg);
        if (st != GD_OK)
            return st;
    } else {
        unsigned char c = (unsigned char)*lx->p;
        return isprint(c)
                   ? gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, t,
                                  "unexpected character '%c' (expected a layer, a number, "
                                  "a name or one of ( ) , =)",
                                  c)
                   : gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, t, "unexpected byte 0x%02x", c);
    }
    lx->p += t->len;
    return GD_OK;
}

gd_status gd_spec_lex(const char *src, gd_spec_token **tokens, size_t *count, char *msg)
{
    /* Every token but the end takes at least one byte. A model file's spec may be as long
     * as its header (100 MB): its tokens are checked against the memory limit. */
    size_t cap = strlen(src) + 1, bytes;
    if (!gd_size_mul(&bytes, cap, sizeof(gd_spec_token)))
        return gd_fail(msg, GD_ERR_LIMIT, "spec: %zu bytes of text are too many to read", cap);
    gd_status limit = gd_check_memory(msg, "spec: the tokens of the text", bytes);
    if (limit != GD_OK)
        return limit;
    gd_spec_token *t = calloc(cap, sizeof *t);
    if (!t)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "spec: out of memory for %zu bytes of text", cap);
    lexer lx = {.p = src, .line = 1, .line_start = src};
    size_t n = 0;
    do {
        gd_status st = next_token(&lx, &t[n], msg);
        if (st != GD_OK) {
            free(t);
            return st;
        }
    } while (t[n++].kind != GD_TOK_END);
    *tokens = t;
    *count = n;
    return GD_OK;
}
