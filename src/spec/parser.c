/* The spec's grammar, by recursive descent over the tokens:
 *
 *   spec   := layer+ END
 *   layer  := NAME [ '(' args ')' ]          (residual: NAME '(' layer+ ')')
 *   args   := [ arg { ',' arg } ]
 *   arg    := [ NAME '=' ] value
 *   value  := NUMBER | NAME [ '(' args ')' ]
 *
 * The parser knows no layer but residual; which names and arguments exist is the
 * binder's and the builder's business. */
#include "spec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper nesting is surely a mistake, and the bound keeps the recursion off the stack's
 * limits whatever the text. */
#define MAX_DEPTH 32

typedef struct parser {
    const gd_spec_token *t;     /* the next token */
    const gd_spec_token *first; /* p->t[-1] exists only past it */
    gd_spec_tree *tree;
    size_t nnodes, nargs;
    int depth;
    char *msg;
} parser;

static gd_spec_node *new_node(parser *p)
{
    gd_spec_node *n = &p->tree->nodes[p->nnodes++];
    n->tok = p->t++;
    return n;
}

/* "expected WHAT, found TOKEN" at the next token; extra is appended as it is. */
static gd_status expected(parser *p, const char *what, const char *extra)
{
    char found[64];
    return gd_spec_fail(p->msg, GD_ERR_INVALID_ARGUMENT, p->t, "expected %s, found %s%s", what,
                        gd_spec_token_str(p->t, found, sizeof found), extra);
}

/* The token before the next one, or NULL at the start of the spec. */
static const gd_spec_token *previous(const parser *p) { return p->t > p->first ? p->t - 1 : NULL; }

static gd_status open_paren(parser *p, gd_spec_node *n)
{
    if (++p->depth > MAX_DEPTH)
        return gd_spec_fail(p->msg, GD_ERR_INVALID_ARGUMENT, p->t,
                            "parentheses nest more than %d deep", MAX_DEPTH);
    n->open = p->t++;
    return GD_OK;
}

static void close_paren(parser *p, gd_spec_node *n)
{
    p->depth--;
    n->close = p->t++;
}

static gd_status parse_args(parser *p, gd_spec_node *call);

static gd_status parse_value(parser *p, const gd_spec_token *key, gd_spec_node **out)
{
    char what[96];
    if (p->t->kind == GD_TOK_NUMBER) {
        *out = new_node(p);
        return GD_OK;
    }
    if (p->t->kind != GD_TOK_NAME) {
        /* A positional value follows '(' or ',', so previous() is never NULL here. */
        const gd_spec_token *before = previous(p);
        if (key)
            snprintf(what, sizeof what, "a value after '%.*s='", key->len, key->text);
        else
            snprintf(what, sizeof what, "a value after '%.*s'", before ? before->len : 0,
                     before ? before->text : "");
        return expected(p, what, "");
    }
    *out = new_node(p);
    return p->t->kind == GD_TOK_LPAREN ? parse_args(p, *out) : GD_OK;
}

static gd_status parse_arg(parser *p, gd_spec_arg *arg)
{
    /* The end token stops every scan, so looking one past a name stays inside the array. */
    if (p->t->kind == GD_TOK_NAME && p->t[1].kind == GD_TOK_EQUALS) {
        arg->key = p->t;
        p->t += 2;
    }
    return parse_value(p, arg->key, &arg->value);
}

static gd_status parse_args(parser *p, gd_spec_node *call)
{
    gd_status st = open_paren(p, call);
    if (st != GD_OK)
        return st;
    gd_spec_arg **link = &call->args;
    /* After a comma an argument must follow: a trailing comma finds ')' instead. */
    bool more = p->t->kind != GD_TOK_RPAREN;
    while (more) {
        gd_spec_arg *arg = &p->tree->args[p->nargs++];
        *link = arg;
        link = &arg->next;
        if ((st = parse_arg(p, arg)) != GD_OK)
            return st;
        more = p->t->kind == GD_TOK_COMMA;
        p->t += more;
    }
    if (p->t->kind != GD_TOK_RPAREN) {
        char what[96];
        snprintf(what, sizeof what, "',' or ')' in the arguments of '%.*s(' (opened at %d:%d)",
                 call->tok->len, call->tok->text, call->open->line, call->open->col);
        return expected(p, what, "");
    }
    close_paren(p, call);
    return GD_OK;
}

static gd_status parse_layers(parser *p, const gd_spec_node *block, gd_spec_node **first);

static gd_status parse_block(parser *p, gd_spec_node *n)
{
    if (p->t->kind != GD_TOK_LPAREN)
        return expected(p, "'(' after '" GD_SPEC_BLOCK "'",
                        " (a residual block holds layers, e.g. residual(linear(64) relu))");
    gd_status st = open_paren(p, n);
    if (st == GD_OK && p->t->kind == GD_TOK_RPAREN)
        return expected(p, "a layer inside '" GD_SPEC_BLOCK "('", "");
    if (st == GD_OK)
        st = parse_layers(p, n, &n->body);
    if (st == GD_OK)
        close_paren(p, n);
    return st;
}

static gd_status not_a_layer(parser *p, const gd_spec_node *block)
{
    char what[96] = "a layer name";
    const char *hint = "";
    if (block)
        snprintf(what, sizeof what, "a layer or ')' closing '" GD_SPEC_BLOCK "(' at %d:%d",
                 block->open->line, block->open->col);
    if (p->t->kind == GD_TOK_COMMA)
        hint = " (layers are separated by spaces, not commas)";
    else if (p->t->kind == GD_TOK_NUMBER && previous(p) && previous(p)->kind == GD_TOK_NAME)
        hint = " (arguments go in parentheses, e.g. linear(10))";
    else if (p->t->kind == GD_TOK_RPAREN)
        hint = " (it closes no '(')";
    return expected(p, what, hint);
}

/* The layers of the spec (block NULL) or of a residual block, up to its ')'. */
static gd_status parse_layers(parser *p, const gd_spec_node *block, gd_spec_node **first)
{
    gd_spec_tok_kind end = block ? GD_TOK_RPAREN : GD_TOK_END;
    gd_spec_node **link = first;
    while (p->t->kind != end) {
        if (p->t->kind != GD_TOK_NAME)
            return not_a_layer(p, block);
        gd_spec_node *n = new_node(p);
        *link = n;
        link = &n->next;
        bool is_block = n->tok->len == (int)sizeof GD_SPEC_BLOCK - 1 &&
                        memcmp(n->tok->text, GD_SPEC_BLOCK, sizeof GD_SPEC_BLOCK - 1) == 0;
        gd_status st = GD_OK;
        if (is_block)
            st = parse_block(p, n);
        else if (p->t->kind == GD_TOK_LPAREN)
            st = parse_args(p, n);
        if (st != GD_OK)
            return st;
    }
    return GD_OK;
}

gd_status gd_spec_parse(const gd_spec_token *tokens, size_t count, gd_spec_tree *tree, char *msg)
{
    *tree = (gd_spec_tree){0};
    /* count came from an allocation of count tokens, so these sizes do not wrap. */
    gd_status limit = gd_check_memory(msg, "spec: the tree of the text",
                                      (uint64_t)count * (sizeof *tree->nodes + sizeof *tree->args));
    if (limit != GD_OK)
        return limit;
    tree->nodes = calloc(count, sizeof *tree->nodes);
    tree->args = calloc(count, sizeof *tree->args);
    if (!tree->nodes || !tree->args) {
        gd_spec_tree_free(tree);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "spec: out of memory for %zu tokens", count);
    }
    parser p = {.t = tokens, .first = tokens, .tree = tree, .msg = msg};
    if (tokens->kind == GD_TOK_END)
        return gd_spec_fail(msg, GD_ERR_INVALID_ARGUMENT, tokens,
                            "the spec is empty: expected at least one layer, e.g. 'linear(10)'");
    return parse_layers(&p, NULL, &tree->layers);
}

void gd_spec_tree_free(gd_spec_tree *tree)
{
    free(tree->nodes);
    free(tree->args);
    *tree = (gd_spec_tree){0};
}

const char *gd_spec_node_str(const gd_spec_node *n, char *buf, size_t len)
{
    const char *s = n->tok->text, *end = n->close ? n->close->text + 1 : s + n->tok->len;
    size_t k = 0;
    buf[k++] = '\'';
    /* Whitespace runs (a call written over several lines) read as one space. */
    for (; s < end && k + 5 < len; s++) {
        bool space = isspace((unsigned char)*s);
        if (!space || !isspace((unsigned char)s[1]))
            buf[k++] = space ? ' ' : *s;
    }
    if (s < end) {
        buf[k++] = '.';
        buf[k++] = '.';
        buf[k++] = '.';
    }
    buf[k++] = '\'';
    buf[k] = '\0';
    return buf;
}
