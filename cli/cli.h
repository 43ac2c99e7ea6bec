/* The gradus command: shared declarations of its subcommands. The command line is a client
 * of include/gradus.h only; it never reaches into the library's internals. */
#ifndef GD_CLI_H
#define GD_CLI_H

#include <gradus.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit codes, documented in `gradus --help`. */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_RUN = 1, /* a file could not be read or written, or a library call failed */
    EXIT_USAGE = 2,       /* unknown flag, bad flag value, missing argument */
    EXIT_BAD_DATA = 3,    /* an input file is malformed (wrong magic, truncated, ragged CSV) */
    EXIT_DIVERGED = 4,    /* the loss became NaN or infinite */
    EXIT_CHECK_FAILED = 5, /* gradus check: a check failed */
    EXIT_INTERRUPTED = 130 /* gradus train: stopped by Ctrl-C (SIGINT), as a shell reports it */
};

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_lab(int argc, char **argv);

/* Prints "gradus CMD: message" to stderr and returns code (for `return fail(...)`). */
int fail(int code, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The exit code for a library status: bad data for format errors, usage for shapes and
 * values that do not fit, else a run failure. */
int exit_code_for(gd_status st);

/* 1234567 as "1,234,567" into buf (size bytes), for counts a reader takes in at a glance. */
const char *group_digits(char *buf, size_t size, int64_t v);
/* text's words from column indent + strlen(lead), after lead, wrapped before column
 * width (a word longer than a line stands alone on its line). */
void print_wrapped(FILE *out, int indent, const char *lead, const char *text, int width);
/* Strict number parsing for flag values; false when text is not entirely a number. */
bool parse_int64(const char *text, int64_t *out);
bool parse_double(const char *text, double *out);
/* A size in bytes: digits, then optionally K, M, G or T (powers of 1024, either case). */
bool parse_size(const char *text, uint64_t *out);

/* Flags every command takes, handled before the command parses its own: --memory-limit
 * SIZE (or --memory-limit=SIZE) is taken out of argv and, else GRADUS_MEMORY_LIMIT, sets
 * gd_set_memory_limit. Returns EXIT_OK or EXIT_USAGE after a message naming the text. */
int take_common_flags(const char *cmd, int *argc, char **argv);
/* Their --help lines, printed after each command's own. */
void print_common_help(FILE *out);
/* Prints message and returns exit_code_for(st); for GD_ERR_LIMIT it says how to raise
 * the limit. */
int fail_status(const char *cmd, gd_status st, const char *message);

/* --data and the CSV flags that go with it (gd_data_load's arguments). */
typedef struct data_source {
    const char *name;
    int label_column;
    bool csv_header;
} data_source;
/* Reads --input of predict: IDX images (by magic) or CSV with csv's options, path NULL
 * for CSV on standard input; *is_csv says which was read (CSV values are used as they
 * are, IDX pixels divided by 255). */
int load_inputs(const char *cmd, const char *path, const gd_data_options *csv, gd_dataset **out,
                bool *is_csv);

/* EXIT_USAGE, with a message, when the data's samples are not the model's input size. */
int check_input_size(const char *cmd, const gd_model *m, gd_dataset *ds);
#endif
