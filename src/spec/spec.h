/* The model specification language (docs/spec.md), private to src/spec/: a lexer that
 * turns the text into tokens, a parser that turns tokens into a tree of calls, a binder
 * that matches a call's arguments to a signature, and the builder that adds the layers.
 *
 * Every error message starts "spec LINE:COLUMN: " (both 1-based, columns in bytes) and
 * says what was expected and what was found. */
#ifndef GD_SPEC_H
#define GD_SPEC_H

#include "../core/internal.h"

/* ------------------------------------------------------------------ tokens */

typedef enum gd_spec_tok_kind {
    GD_TOK_END,
    GD_TOK_NAME,   /* [A-Za-z_][A-Za-z0-9_]* */
    GD_TOK_NUMBER, /* decimal, as strtod reads it; finite */
    GD_TOK_LPAREN,
    GD_TOK_RPAREN,
    GD_TOK_COMMA,
    GD_TOK_EQUALS
} gd_spec_tok_kind;

typedef struct gd_spec_token {
    gd_spec_tok_kind kind;
    const char *text; /* into the spec; not terminated */
    int len;
    int line, col;
    double number; /* GD_TOK_NUMBER */
} gd_spec_token;

/* Tokenises src (comments and whitespace dropped) into a new array ending with one
 * GD_TOK_END; free() it. */
gd_status gd_spec_lex(const char *src, gd_spec_token **tokens, size_t *count, char *msg);

/* "spec LINE:COL: " + the formatted rest, at token at. */
gd_status gd_spec_fail(char *msg, gd_status status, const gd_spec_token *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A token for messages: "'linear'", "')'" or "end of spec". */
const char *gd_spec_token_str(const gd_spec_token *t, char *buf, size_t len);

/* -------------------------------------------------------------------- tree */

typedef struct gd_spec_node gd_spec_node;

typedef struct gd_spec_arg {
    const gd_spec_token *key; /* NULL for a positional argument */
    gd_spec_node *value;
    struct gd_spec_arg *next;
} gd_spec_arg;

/* A number, or a name with an optional argument list: a layer ("linear(10)"), an
 * initialiser ("normal(std=0.01)") or a word ("true", "fan_out"). */
struct gd_spec_node {
    const gd_spec_token *tok;
    const gd_spec_token *open, *close; /* the parentheses; NULL when there are none */
    gd_spec_arg *args;
    gd_spec_node *body; /* the layers inside a residual(...) */
    gd_spec_node *next; /* the next layer of the same list */
};

/* The layer whose parentheses hold layers rather than arguments. */
#define GD_SPEC_BLOCK "residual"

typedef struct gd_spec_tree {
    gd_spec_node *layers; /* the top-level list */
    gd_spec_node *nodes;  /* storage: one slot per token is always enough */
    gd_spec_arg *args;
} gd_spec_tree;

gd_status gd_spec_parse(const gd_spec_token *tokens, size_t count, gd_spec_tree *tree, char *msg);
void gd_spec_tree_free(gd_spec_tree *tree);
/* A node's text, as written (a call with its arguments), for messages. */
const char *gd_spec_node_str(const gd_spec_node *n, char *buf, size_t len);

/* -------------------------------------------------------------- arguments */

typedef enum gd_spec_type {
    GD_ARG_SIZE,     /* a positive integer */
    GD_ARG_COUNT,    /* a non-negative integer */
    GD_ARG_REAL,     /* any finite number */
    GD_ARG_POSITIVE, /* a number > 0 */
    GD_ARG_PROB,     /* a number in [0, 1) */
    GD_ARG_UNIT,     /* a number in [0, 1] */
    GD_ARG_BOOL,     /* true or false */
    GD_ARG_WORD,     /* one of the param's words */
    GD_ARG_INIT      /* an initialiser call, bound later by gd_spec_bind_init */
} gd_spec_type;

#define GD_SPEC_MAX_PARAMS 10

typedef struct gd_spec_param {
    const char *names; /* "pad|padding": the first is the one messages use */
    gd_spec_type type;
    double def;        /* the default (a word's index, a bool's 0 or 1); NAN: none */
    bool required;
    bool keyword_only;
    const char *words; /* GD_ARG_WORD: "fan_in|fan_out", in the enum's order */
} gd_spec_param;

/* Table entries: an optional parameter with its default, a required one, a word. */
#define GD_SPEC_OPT(names_, type_, def_) {.names = (names_), .type = (type_), .def = (def_)}
#define GD_SPEC_REQUIRED(names_, type_)                                                    \
    {.names = (names_), .type = (type_), .def = NAN, .required = true}
#define GD_SPEC_WORD(names_, words_, def_)                                                 \
    {.names = (names_), .type = GD_ARG_WORD, .def = (def_), .words = (words_)}

typedef struct gd_spec_signature {
    const char *names;   /* "bn|batchnorm" */
    const char *example; /* "linear(10)": shown when a required argument is missing */
    gd_spec_param params[GD_SPEC_MAX_PARAMS]; /* ended by one without names */
} gd_spec_signature;

typedef struct gd_spec_bound {
    bool given;
    double num;  /* numbers; bools as 0 or 1; words as their index */
    const gd_spec_node *node; /* the value as written; NULL when not given */
} gd_spec_bound;

/* Matches the arguments of call to sig's parameters (positional in order, then by name)
 * and checks each value's type; out[i] gets parameter i, its default when not given
 * (NAN past the last parameter). */
gd_status gd_spec_bind(const gd_spec_node *call, const gd_spec_signature *sig,
                       gd_spec_bound out[GD_SPEC_MAX_PARAMS], char *msg);
/* Whether word (len bytes) is one of alts ("bn|batchnorm"); its index there, or -1. */
int gd_spec_word_index(const char *alts, const char *word, int len);
/* Did you mean: start with the unknown word, offer each list of candidates
 * ("bn|batchnorm"), then format " (did you mean 'linear'?)", or "" when none is close. */
typedef struct gd_spec_suggestion {
    const char *word;
    int word_len;
    const char *best;
    int best_len, best_score;
} gd_spec_suggestion;
void gd_spec_suggest_start(gd_spec_suggestion *s, const char *word, int len);
void gd_spec_suggest_from(gd_spec_suggestion *s, const char *alts);
const char *gd_spec_suggest_str(const gd_spec_suggestion *s, char *buf, size_t len);

/* ----------------------------------------------------------- initialisers */

typedef struct gd_spec_initialiser gd_spec_initialiser;

/* An initialiser named in a spec, with its arguments bound. */
typedef struct gd_spec_init_call {
    const gd_spec_initialiser *kind;
    const gd_spec_node *node;
    gd_spec_bound args[GD_SPEC_MAX_PARAMS];
} gd_spec_init_call;

/* Resolves value ("zeros", "normal(std=0.01)") to an initialiser and binds its arguments. */
gd_status gd_spec_bind_init(const gd_spec_node *value, gd_spec_init_call *call, char *msg);
/* Fills t (the tensor called name) as call says, drawing from rng. */
gd_status gd_spec_apply_init(const gd_spec_init_call *call, gd_tensor *t, const char *name,
                             gd_rng *rng, char *msg);

#endif
