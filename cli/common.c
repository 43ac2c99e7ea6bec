/* What the subcommands share: errors, number parsing, data sources, evaluation. */
#include "cli.h"
#include "progress.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fail(int code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    progress_clear(); /* not onto the progress bar's line */
    fprintf(stderr, "gradus %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* Malformed files, and files too large for the memory limit, are bad data; shapes or
 * values that do not fit are the caller's usage. */
int exit_code_for(gd_status st)
{
    if (st == GD_ERR_FORMAT || st == GD_ERR_LIMIT)
        return EXIT_BAD_DATA;
    return st == GD_ERR_SHAPE || st == GD_ERR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE_RUN;
}

bool parse_int64(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return false;
    *out = v;
    return true;
}

bool parse_double(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool parse_size(const char *text, uint64_t *out)
{
    static const char units[] = "KMGT";
    if (!isdigit((unsigned char)text[0])) /* strtoull would take a sign or spaces */
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    int shift = 0;
    if (*end) { /* strchr finds the terminator too: *end is not it here */
        const char *unit = strchr(units, toupper((unsigned char)*end));
        if (!unit || end[1])
            return false;
        shift = 10 * (int)(unit - units + 1);
    }
    if (errno || v > UINT64_MAX >> shift)
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

#define MEMORY_LIMIT_ENV "GRADUS_MEMORY_LIMIT"
#define SIZE_WANTED "expected a positive size in bytes, with an optional K, M, G or T (powers of 1024), e.g. 512M"

/* source and text as the user wrote them: "--memory-limit 12X", "GRADUS_MEMORY_LIMIT=12X". */
static int set_memory_limit(const char *cmd, const char *source, char separator, const char *text)
{
    uint64_t bytes;
    if (!parse_size(text, &bytes) || bytes == 0) /* 0 would silently mean "the default" */
        return fail(EXIT_USAGE, cmd, "%s%c%s: " SIZE_WANTED, source, separator, text);
    gd_set_memory_limit(bytes);
    return EXIT_OK;
}

int take_common_flags(const char *cmd, int *argc, char **argv)
{
    static const char flag[] = "--memory-limit";
    const size_t len = sizeof flag - 1;
    const char *given = NULL;
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) { /* getopt's end of flags: keep the rest as it is */
            while (i < *argc)
                argv[kept++] = argv[i++];
            break;
        }
        if (strncmp(argv[i], flag, len) != 0 || (argv[i][len] != '\0' && argv[i][len] != '=')) {
            argv[kept++] = argv[i];
            continue;
        }
        if (argv[i][len] == '=')
            given = argv[i] + len + 1;
        else if (i + 1 < *argc)
            given = argv[++i];
        else
            return fail(EXIT_USAGE, cmd, "%s needs a SIZE (gradus %s --help)", flag, cmd);
    }
    argv[kept] = NULL;
    *argc = kept;
    const char *env = getenv(MEMORY_LIMIT_ENV);
    if (given) /* the flag wins over the environment */
        return set_memory_limit(cmd, flag, ' ', given);
    return env && *env ? set_memory_limit(cmd, MEMORY_LIMIT_ENV, '=', env) : EXIT_OK;
}

void print_common_help(FILE *out)
{
    fprintf(out, "\nevery command:\n"
                 "  --memory-limit SIZE  the most memory one data set, model or file may take, in\n"
                 "                       bytes or with K, M, G or T (powers of 1024: 512M, 4G);\n"
                 "                       beyond it the command exits 3     [half the physical RAM]\n"
                 "                       (also " MEMORY_LIMIT_ENV "=SIZE; the flag wins)\n");
}

int fail_status(const char *cmd, gd_status st, const char *message)
{
    if (st == GD_ERR_LIMIT)
        return fail(exit_code_for(st), cmd, "%s (raise it with --memory-limit SIZE or %s)", message,
                    MEMORY_LIMIT_ENV);
    return fail(exit_code_for(st), cmd, "%s", message);
}

static int read_status(const char *cmd, gd_status st, const gd_error *err)
{
    return st == GD_OK ? EXIT_OK : fail_status(cmd, st, err->message);
}

/* IDX files begin with two zero bytes, a type byte and a dimension count. */
static bool looks_like_idx(const char *path)
{
    size_t len = strlen(path);
    if (len > 3 && strcmp(path + len - 3, ".gz") == 0)
        return true;
    FILE *f = fopen(path, "rb");
    unsigned char magic[4] = {1, 1, 1, 1};
    if (f) {
        size_t got = fread(magic, 1, 4, f);
        (void)got;
        fclose(f);
    }
    return magic[0] == 0 && magic[1] == 0 && (magic[2] == 0x08 || magic[2] == 0x0D);
}

/* With a shape, CSV goes through gd_data_load, which gives its rows that shape. */
static gd_status read_csv(const char *path, const gd_data_options *csv, gd_dataset **out,
                          gd_error *err)
{
    if (!csv->csv_shape || !*csv->csv_shape)
        return gd_dataset_read_csv(out, path, csv->label_column, csv->csv_header, err);
    size_t len = strlen(path) + 5;
    char *source = malloc(len);
    if (!source)
        return GD_ERR_NO_MEMORY;
    snprintf(source, len, "csv:%s", path);
    gd_status st = gd_data_load(source, csv, out, NULL, err);
    free(source);
    return st;
}

int load_inputs(const char *cmd, const char *path, const gd_data_options *csv, gd_dataset **out,
                bool *is_csv)
{
    gd_error err = {{0}};
    /* Standard input is read once, as CSV: sniffing its magic would consume it. */
    *is_csv = !path || !looks_like_idx(path);
    gd_status st = *is_csv ? read_csv(path ? path : "/dev/stdin", csv, out, &err)
                           : gd_dataset_read_idx(out, path, NULL, &err);
    if (st == GD_ERR_NO_MEMORY && !err.message[0])
        snprintf(err.message, sizeof err.message, "out of memory");
    return read_status(cmd, st, &err);
}

int check_input_size(const char *cmd, const gd_model *m, gd_dataset *ds)
{
    gd_error err;
    gd_status st = gd_model_check_input(m, ds, &err);
    return st == GD_OK ? EXIT_OK : fail_status(cmd, st, err.message);
}

const char *group_digits(char *buf, size_t size, int64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v), at = 0;
    for (int i = 0; i < n && at + 2 < (int)size; i++) {
        if (i > 0 && (n - i) % 3 == 0 && digits[i - 1] != '-')
            buf[at++] = ',';
        buf[at++] = digits[i];
    }
    buf[at] = '\0';
    return buf;
}

void print_wrapped(FILE *out, int indent, const char *lead, const char *text, int width)
{
    int col = fprintf(out, "%*s%s", indent, "", lead);
    bool first = true;
    while (*text) {
        text += strspn(text, " \t\n");
        size_t word = strcspn(text, " \t\n");
        if (!word)
            break;
        if (!first && col + 1 + (int)word > width) {
            col = fprintf(out, "\n%*s", indent + (int)strlen(lead), "") - 1;
        } else if (!first) {
            fputc(' ', out);
            col++;
        }
        col += fprintf(out, "%.*s", (int)word, text);
        text += word;
        first = false;
    }
    fputc('\n', out);
}
