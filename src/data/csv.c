/* CSV of numbers: comma-separated, one sample per row, an optional header row (skipped
 * unread), an optional label column, blank lines allowed only at the end, "\n" or "\r\n"
 * line endings. No quoting: every cell is a number, blanks around it allowed. Each cell
 * must be a whole strtod number that is finite (so "nan", "inf", "1e999" and "2x" are
 * rejected); the label must moreover be an integer in [0, 255]. Errors read
 * FILE:LINE:COLUMN: with LINE and COLUMN 1-based and COLUMN the CSV column (the field),
 * which for wide files says more than a character offset. strtod reads the decimal point
 * of LC_NUMERIC, which is "." unless the program has called setlocale. */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv_reader {
    const char *path;
    int label_column; /* < 0: none */
    int64_t line;     /* the current line, 1-based */
    int ncols;        /* of the first data row; 0 before it */
    int nfeat;
    int64_t rows, cap;
    float *x;
    int32_t *y;
    int32_t max_label;
} csv_reader;

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Trims cell in place to *text, parses it into *v; the reason it is not a number, or
 * NULL. */
static const char *parse_number(char *cell, char **text, double *v)
{
    while (is_blank(*cell))
        cell++;
    char *end = cell + strlen(cell);
    while (end > cell && is_blank(end[-1]))
        *--end = '\0';
    *text = cell;
    if (!*cell)
        return "empty cell";
    char *stop;
    *v = strtod(cell, &stop);
    if (stop != end)
        return "is not a number";
    /* The float32 conversion must stay finite too ("1e39"). */
    if (!isfinite((float)*v))
        return "is not a finite number";
    return NULL;
}

static gd_status first_row(csv_reader *r, int cols, char *msg)
{
    if (r->label_column >= cols)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT,
                       "%s:%lld: label column %d (0-based) is out of range: the row has %d "
                       "columns",
                       r->path, (long long)r->line, r->label_column, cols);
    r->ncols = cols;
    r->nfeat = cols - (r->label_column >= 0);
    if (r->nfeat < 1)
        return gd_fail(msg, GD_ERR_FORMAT, "%s:%lld: no feature columns besides the label",
                       r->path, (long long)r->line);
    return GD_OK;
}

/* Room for one more row, doubling from about 64 KB of floats (a fixed count of rows would
 * give a file of a million columns gigabytes at its first row), each size held to the
 * memory limit: the file has proved, row by row, that it holds what is allocated. */
static gd_status reserve_row(csv_reader *r, char *msg)
{
    if (r->rows < r->cap)
        return GD_OK;
    int64_t first = (1 << 14) / r->nfeat > 0 ? (1 << 14) / r->nfeat : 1;
    int64_t cap = r->cap ? 2 * r->cap : first, floats;
    char what[GD_MSG_MAX / 2];
    snprintf(what, sizeof what, "%s: %lld rows of %d values", r->path, (long long)cap, r->nfeat);
    if (!gd_mul_within(cap, r->nfeat, INT64_MAX / (int64_t)sizeof(float), &floats))
        return gd_fail(msg, GD_ERR_LIMIT, "%s: too many rows", r->path);
    gd_status st = gd_check_memory(msg, what, (uint64_t)floats * sizeof(float) +
                                                  (uint64_t)cap * sizeof(int32_t));
    if (st)
        return st;
    float *x = realloc(r->x, (size_t)floats * sizeof *x);
    if (x)
        r->x = x;
    int32_t *y = x ? realloc(r->y, (size_t)cap * sizeof *y) : NULL;
    if (!y)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%s: out of memory at line %lld", r->path,
                       (long long)r->line);
    r->y = y;
    r->cap = cap;
    return GD_OK;
}

static gd_status store_label(csv_reader *r, int col, const char *text, double v, char *msg)
{
    if (!(v >= 0 && v == floor(v)))
        return gd_fail(msg, GD_ERR_FORMAT, "%s:%lld:%d: label \"%.32s\" is not a non-negative "
                       "integer", r->path, (long long)r->line, col + 1, text);
    if (v >= GD_DATA_MAX_CLASSES)
        return gd_fail(msg, GD_ERR_FORMAT, "%s:%lld:%d: label %.32s exceeds %d", r->path,
                       (long long)r->line, col + 1, text, GD_DATA_MAX_CLASSES - 1);
    r->y[r->rows] = (int32_t)v;
    if (r->y[r->rows] > r->max_label)
        r->max_label = r->y[r->rows];
    return GD_OK;
}

/* The cells of one row, as numbers, into the next feature row and label. */
static gd_status parse_cells(csv_reader *r, char *line, char *msg)
{
    float *row = r->x + r->rows * r->nfeat;
    r->y[r->rows] = 0;
    char *cell = line;
    for (int c = 0; c < r->ncols; c++) {
        char *comma = strchr(cell, ','), *text;
        if (comma)
            *comma = '\0';
        double v;
        const char *why = parse_number(cell, &text, &v);
        gd_status st = GD_OK;
        if (why && !*text)
            st = gd_fail(msg, GD_ERR_FORMAT, "%s:%lld:%d: %s", r->path, (long long)r->line,
                         c + 1, why);
        else if (why)
            st = gd_fail(msg, GD_ERR_FORMAT, "%s:%lld:%d: \"%.32s\" %s", r->path,
                         (long long)r->line, c + 1, text, why);
        else if (c == r->label_column)
            st = store_label(r, c, text, v, msg);
        else
            *row++ = (float)v;
        if (st)
            return st;
        if (comma)
            cell = comma + 1;
    }
    r->rows++;
    return GD_OK;
}

static gd_status parse_row(csv_reader *r, char *line, char *msg)
{
    int cols = 1;
    for (const char *p = line; *p; p++)
        cols += *p == ',';
    gd_status st = r->ncols ? GD_OK : first_row(r, cols, msg);
    if (st)
        return st;
    /* The column named is the first missing or the first extra one. */
    if (cols != r->ncols)
        return gd_fail(msg, GD_ERR_FORMAT, "%s:%lld:%d: the row has %d columns, the first has %d",
                       r->path, (long long)r->line, (cols < r->ncols ? cols : r->ncols) + 1,
                       cols, r->ncols);
    if ((st = reserve_row(r, msg)))
        return st;
    return parse_cells(r, line, msg);
}

static bool blank_line(const char *line)
{
    while (is_blank(*line))
        line++;
    return !*line;
}

/* Every line of f; a blank line is an error only when data follows it. */
static gd_status parse_lines(csv_reader *r, FILE *f, bool has_header, char *msg)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t len;
    int64_t first_blank = 0;
    gd_status st = GD_OK;
    while (!st && (len = getline(&line, &size, f)) >= 0) {
        r->line++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (has_header && r->line == 1)
            continue;
        if (blank_line(line)) {
            first_blank = first_blank ? first_blank : r->line;
            continue;
        }
        if (first_blank)
            st = gd_fail(msg, GD_ERR_FORMAT, "%s:%lld:1: blank line inside the data", r->path,
                         (long long)first_blank);
        else
            st = parse_row(r, line, msg);
    }
    free(line);
    if (!st && ferror(f))
        st = gd_fail(msg, GD_ERR_IO, "%s: %s", r->path, strerror(errno));
    if (!st && r->rows == 0)
        st = gd_fail(msg, GD_ERR_FORMAT, "%s: no data rows", r->path);
    return st;
}

gd_status gd_dataset_read_csv(gd_dataset **out, const char *path, int label_column,
                              bool has_header, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!out || !path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "read_csv: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return gd_fail(msg, GD_ERR_IO, "%s: %s", path, strerror(errno));
    csv_reader r = {.path = path, .label_column = label_column < 0 ? -1 : label_column};
    gd_status st = parse_lines(&r, f, has_header, msg);
    fclose(f);
    /* The rows read become the data set's, trimmed to size: no second copy. */
    float *fit = st ? NULL : realloc(r.x, (size_t)(r.rows * r.nfeat) * sizeof(float));
    r.x = fit ? fit : r.x;
    if (!st && (st = gd_dataset_adopt(out, r.rows, &(gd_shape){.ndim = 1, .dims = {r.nfeat}},
                                      false, r.x, msg)) == GD_OK) {
        r.x = NULL;
        memcpy((*out)->labels, r.y, (size_t)r.rows * sizeof(int32_t));
        (*out)->num_classes = r.max_label + 1;
    }
    free(r.x);
    free(r.y);
    return st;
}
