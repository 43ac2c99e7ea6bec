/* safetensors files: a writer that packs tensors behind a JSON header, and a reader that
 * trusts nothing in a file until it has checked it. */
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* safetensors data are little-endian and gradus copies them as they lie in memory. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gradus reads and writes safetensors data in place: it needs a little-endian machine"
#endif

/* A header above this is no model's: refuse it before parsing (huggingface's own reader
 * has the same limit). */
#define GD_ST_HEADER_MAX (100u * 1000 * 1000)
/* JSON numbers are doubles: integers up to 2^53 are exact. */
#define GD_ST_INT_MAX 9007199254740992.0

struct gd_st_item {
    const void *data;
    uint64_t bytes;
};

static const char *dtype_name(gd_dtype dtype) { return dtype == GD_DTYPE_I64 ? "I64" : "F32"; }
static uint64_t dtype_size(gd_dtype dtype) { return dtype == GD_DTYPE_I64 ? 8 : 4; }

const char *gd_st_shape_str(int ndim, const int64_t *dims, char *buf, size_t len)
{
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, i ? ", %lld" : "%lld", (long long)dims[i]);
    if (at < len)
        snprintf(buf + at, len - at, "]");
    return buf;
}

/* ---------------------------------------------------------------- writing */

void gd_st_writer_init(gd_st_writer *w, char *msg)
{
    *w = (gd_st_writer){.msg = msg};
    w->header = cJSON_CreateObject();
    /* First in the header, where huggingface's writer puts it. */
    w->metadata = cJSON_AddObjectToObject(w->header, "__metadata__");
    if (!w->metadata)
        w->status = gd_fail(msg, GD_ERR_NO_MEMORY, "out of memory for a file header");
}

void gd_st_writer_free(gd_st_writer *w)
{
    cJSON_Delete(w->header);
    free(w->items);
    *w = (gd_st_writer){0};
}

static gd_status grow(gd_st_writer *w)
{
    if (w->nitems < w->cap)
        return GD_OK;
    size_t cap = w->cap ? 2 * w->cap : 32;
    gd_st_item *items = realloc(w->items, cap * sizeof *items);
    if (!items)
        return gd_fail(w->msg, GD_ERR_NO_MEMORY, "out of memory listing tensors");
    w->items = items;
    w->cap = cap;
    return GD_OK;
}

static bool add_number(cJSON *array, double value)
{
    return cJSON_AddItemToArray(array, cJSON_CreateNumber(value));
}

/* {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}, or NULL without memory. */
static cJSON *entry_json(gd_dtype dtype, int ndim, const int64_t *dims, uint64_t begin,
                         uint64_t end)
{
    cJSON *e = cJSON_CreateObject();
    bool ok = cJSON_AddStringToObject(e, "dtype", dtype_name(dtype)) != NULL;
    cJSON *shape = cJSON_AddArrayToObject(e, "shape");
    cJSON *offsets = cJSON_AddArrayToObject(e, "data_offsets");
    ok = ok && shape && offsets;
    for (int i = 0; ok && i < ndim; i++)
        ok = add_number(shape, (double)dims[i]);
    if (ok && add_number(offsets, (double)begin) && add_number(offsets, (double)end))
        return e;
    cJSON_Delete(e);
    return NULL;
}

void gd_st_add(gd_st_writer *w, const char *name, gd_dtype dtype, int ndim, const int64_t *dims,
               const void *data)
{
    if (w->status != GD_OK)
        return;
    if (cJSON_GetObjectItemCaseSensitive(w->header, name)) {
        w->status = gd_fail(w->msg, GD_ERR_INVALID_ARGUMENT, "two tensors are named %s", name);
        return;
    }
    uint64_t bytes = dtype_size(dtype);
    for (int i = 0; i < ndim; i++)
        bytes *= (uint64_t)dims[i];
    if ((w->status = grow(w)) != GD_OK)
        return;
    cJSON *e = entry_json(dtype, ndim, dims, w->offset, w->offset + bytes);
    if (!e || !cJSON_AddItemToObject(w->header, name, e)) {
        cJSON_Delete(e);
        w->status = gd_fail(w->msg, GD_ERR_NO_MEMORY, "out of memory describing tensor %s", name);
        return;
    }
    w->items[w->nitems++] = (gd_st_item){.data = data, .bytes = bytes};
    w->offset += bytes;
}

void gd_st_add_metadata(gd_st_writer *w, const char *key, const char *value)
{
    if (w->status == GD_OK && !cJSON_AddStringToObject(w->metadata, key, value))
        w->status = gd_fail(w->msg, GD_ERR_NO_MEMORY, "out of memory for metadata %s", key);
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The 8-byte length and the JSON padded with spaces to a multiple of 8 (malloc'd). */
static unsigned char *header_bytes(const char *json, size_t *len)
{
    size_t json_len = strlen(json), header_len = (json_len + 7) / 8 * 8;
    unsigned char *buf = malloc(8 + header_len);
    if (!buf)
        return NULL;
    put_le64(buf, header_len);
    memcpy(buf + 8, json, json_len);
    memset(buf + 8 + json_len, ' ', header_len - json_len);
    *len = 8 + header_len;
    return buf;
}

/* The header, then each tensor from where it lies: the file is written without a copy of
 * its data, which for a checkpoint is the model's parameters and optimiser state. */
gd_status gd_st_write(gd_st_writer *w, const char *path)
{
    if (w->status != GD_OK)
        return w->status;
    char *json = cJSON_PrintUnformatted(w->header);
    size_t header_len = 0;
    unsigned char *header = json ? header_bytes(json, &header_len) : NULL;
    gd_span *spans = header ? malloc((w->nitems + 1) * sizeof *spans) : NULL;
    free(json);
    gd_status st = GD_OK;
    if (!spans) {
        st = gd_fail(w->msg, GD_ERR_NO_MEMORY, "%s: out of memory for the header of %zu tensors",
                     path, w->nitems);
    } else {
        spans[0] = (gd_span){header, header_len};
        for (size_t i = 0; i < w->nitems; i++)
            spans[i + 1] = (gd_span){w->items[i].data, (size_t)w->items[i].bytes};
        st = gd_write_spans_atomic(path, spans, w->nitems + 1, w->msg);
    }
    free(spans);
    free(header);
    return st;
}

/* ---------------------------------------------------------------- reading */

gd_status gd_st_fail(const gd_st_file *f, gd_status status, const char *fmt, ...)
{
    char detail[GD_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return gd_fail(f->msg, status, "%s: %s", f->path, detail);
}

void gd_st_close(gd_st_file *f)
{
    cJSON_Delete(f->header);
    free(f->entries);
    free(f->by_name);
    free(f->bytes);
    f->header = NULL;
    f->entries = NULL;
    f->by_name = NULL;
    f->bytes = NULL;
    f->count = 0;
}

static int entry_by_name(const void *a, const void *b)
{
    return strcmp((*(const gd_st_entry *const *)a)->name, (*(const gd_st_entry *const *)b)->name);
}

const gd_st_entry *gd_st_find(const gd_st_file *f, const char *name)
{
    const gd_st_entry key = {.name = name}, *k = &key;
    const gd_st_entry **hit = f->count ? bsearch(&k, f->by_name, f->count, sizeof *f->by_name, entry_by_name)
                                       : NULL;
    return hit ? *hit : NULL;
}

const char *gd_st_metadata(const gd_st_file *f, const char *key)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(f->header, "__metadata__");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, key));
}

/* The whole file into f->bytes, with 8 spare bytes so that the data can be moved to an
 * 8-byte boundary (see align_data). */
static gd_status read_all(gd_st_file *f, size_t *len)
{
    FILE *fp = fopen(f->path, "rb");
    if (!fp)
        return gd_st_fail(f, GD_ERR_IO, "cannot open: %s", strerror(errno));
    struct stat sb;
    gd_status st = GD_OK;
    if (fstat(fileno(fp), &sb) != 0)
        st = gd_st_fail(f, GD_ERR_IO, "cannot read its size: %s", strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = gd_st_fail(f, GD_ERR_IO, "not a regular file");
    else if ((st = gd_check_memory(f->msg, f->path, (uint64_t)sb.st_size + 8)) != GD_OK)
        ; /* the message names the file and its size */
    else if (!(f->bytes = calloc((size_t)sb.st_size + 8, 1)))
        st = gd_st_fail(f, GD_ERR_NO_MEMORY, "%lld bytes do not fit in memory",
                        (long long)sb.st_size);
    else if (fread(f->bytes, 1, (size_t)sb.st_size, fp) != (size_t)sb.st_size)
        st = gd_st_fail(f, GD_ERR_IO, "read failed: %s", ferror(fp) ? strerror(errno) : "file shrank");
    fclose(fp);
    if (st == GD_OK)
        *len = (size_t)sb.st_size;
    return st;
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static const char *json_type(const cJSON *j)
{
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a boolean";
    return "null";
}

/* Parses the header, which must be one JSON object and nothing else but whitespace. */
static gd_status parse_json(gd_st_file *f, const char *text, size_t n)
{
    const char *end = NULL;
    f->header = cJSON_ParseWithLengthOpts(text, n, &end, false);
    if (!f->header)
        return gd_st_fail(f, GD_ERR_FORMAT, "the header is not valid JSON (error at byte %td of it)",
                          end ? end - text : (ptrdiff_t)0);
    for (; end < text + n; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n')
            return gd_st_fail(f, GD_ERR_FORMAT, "the header has text after its JSON (at byte %td)",
                              end - text);
    if (!cJSON_IsObject(f->header))
        return gd_st_fail(f, GD_ERR_FORMAT, "the header is %s; it must be a JSON object",
                          json_type(f->header));
    return GD_OK;
}

/* Moves the data to an 8-byte boundary when a foreign writer left the header unpadded, so
 * that F32 tensors (whose sizes are all multiples of 4) can be read as floats in place. */
static unsigned char *align_data(gd_st_file *f, size_t start, size_t data_len)
{
    size_t aligned = (start + 7) / 8 * 8;
    if (aligned != start)
        memmove(f->bytes + aligned, f->bytes + start, data_len);
    return f->bytes + aligned;
}

/* What a file that is no safetensors file looks like, for its message: PyTorch's own
 * torch.save format (a zip archive since 1.6, "PK"; a pickle, 0x80, before), named by its
 * bytes or its .pt/.pth name, gets the conversion; a JSON file is named as one. */
static const char *foreign_hint(const gd_st_file *f, size_t len)
{
    const unsigned char *b = f->bytes;
    const char *dot = strrchr(f->path, '.');
    bool torch_name = dot && (strcmp(dot, ".pt") == 0 || strcmp(dot, ".pth") == 0);
    if (torch_name || (len >= 2 && b[0] == 'P' && b[1] == 'K') || (len >= 1 && b[0] == 0x80))
        return "; for PyTorch's torch.save, convert with safetensors.torch.save_file("
               "model.state_dict(), \"m.safetensors\") (docs/pytorch.md)";
    if (len >= 1 && (b[0] == '{' || b[0] == '['))
        return "; it starts as JSON does";
    return "";
}

static gd_status parse_header(gd_st_file *f, size_t len, unsigned char **data,
                              size_t *data_len)
{
    if (len < 8)
        return gd_st_fail(f, GD_ERR_FORMAT,
                          "%zu bytes; a safetensors file starts with an 8-byte header length", len);
    uint64_t n = get_le64(f->bytes);
    if (n > GD_ST_HEADER_MAX)
        return gd_st_fail(f, GD_ERR_FORMAT,
                          "not a safetensors file (header length %llu is absurd: over %u)%s",
                          (unsigned long long)n, GD_ST_HEADER_MAX, foreign_hint(f, len));
    if (n > len - 8)
        return gd_st_fail(f, GD_ERR_FORMAT,
                          "%sthe header length is %llu bytes but only %zu bytes follow it%s",
                          len > 8 && f->bytes[8] != '{' ? "not a safetensors file: " : "",
                          (unsigned long long)n, len - 8, foreign_hint(f, len));
    gd_status st = parse_json(f, (const char *)f->bytes + 8, (size_t)n);
    if (st != GD_OK)
        return st;
    *data_len = len - 8 - (size_t)n;
    *data = align_data(f, 8 + (size_t)n, *data_len);
    return GD_OK;
}

/* A JSON integer in [0, 2^53]; what and index name the field in a message. */
static gd_status get_count(const gd_st_file *f, const cJSON *j, const char *name, const char *what,
                           int index, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s: %s[%d] is %s; it must be an integer >= 0",
                          name, what, index, json_type(j));
    double d = j->valuedouble;
    if (d < 0 || d > GD_ST_INT_MAX || d != floor(d))
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s: %s[%d] is %g; it must be an integer in [0, 2^53]",
                          name, what, index, d);
    *out = (uint64_t)d;
    return GD_OK;
}

/* Real safetensors dtypes gradus has no use for, named as such in messages. */
static bool foreign_dtype(const char *s)
{
    static const char *const known[] = {"F64", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I32",
                                        "I16", "I8",  "U64",  "U32",     "U16",     "U8",
                                        "BOOL"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(s, known[i]) == 0)
            return true;
    return false;
}

static gd_status parse_dtype(const gd_st_file *f, const cJSON *j, const char *name, gd_dtype *out)
{
    if (!j)
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s has no dtype", name);
    if (!cJSON_IsString(j))
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s: dtype is %s; it must be a string", name,
                          json_type(j));
    if (strcmp(j->valuestring, "F32") == 0 || strcmp(j->valuestring, "I64") == 0) {
        *out = j->valuestring[0] == 'F' ? GD_DTYPE_F32 : GD_DTYPE_I64;
        return GD_OK;
    }
    if (foreign_dtype(j->valuestring))
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s has dtype %s; gradus reads F32 and I64", name,
                          j->valuestring);
    return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s has unknown dtype \"%.40s\"", name, j->valuestring);
}

static const cJSON *get_array(const gd_st_file *f, const cJSON *e, const char *key,
                              const char *name, gd_status *st)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(e, key);
    if (!j)
        *st = gd_st_fail(f, GD_ERR_FORMAT, "tensor %s has no %s", name, key);
    else if (!cJSON_IsArray(j))
        *st = gd_st_fail(f, GD_ERR_FORMAT, "tensor %s: %s is %s; it must be an array", name, key,
                         json_type(j));
    return *st == GD_OK ? j : NULL;
}

/* Shape and element count; the count must fit in 64 bits, bytes included. */
static gd_status parse_shape(const gd_st_file *f, const cJSON *e, gd_st_entry *t)
{
    gd_status st = GD_OK;
    const cJSON *shape = get_array(f, e, "shape", t->name, &st);
    if (!shape)
        return st;
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > GD_MAX_DIMS)
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s has %d dimensions; gradus reads at most %d",
                          t->name, ndim, GD_MAX_DIMS);
    bool empty = false;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = 0;
        if ((st = get_count(f, cJSON_GetArrayItem(shape, i), t->name, "shape", i, &d)) != GD_OK)
            return st;
        t->dims[i] = (int64_t)d;
        empty = empty || d == 0;
    }
    t->ndim = ndim;
    uint64_t numel = empty ? 0 : 1, limit = (uint64_t)INT64_MAX / dtype_size(t->dtype);
    for (int i = 0; i < ndim && numel; i++) {
        if (numel > limit / (uint64_t)t->dims[i]) {
            char s[96];
            return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s: shape %s has more elements than 64 bits count",
                              t->name, gd_st_shape_str(ndim, t->dims, s, sizeof s));
        }
        numel *= (uint64_t)t->dims[i];
    }
    t->numel = (int64_t)numel;
    return GD_OK;
}

static gd_status parse_offsets(const gd_st_file *f, const cJSON *e, gd_st_entry *t,
                               size_t data_len, uint64_t range[2])
{
    gd_status st = GD_OK;
    const cJSON *o = get_array(f, e, "data_offsets", t->name, &st);
    if (!o)
        return st;
    if (cJSON_GetArraySize(o) != 2)
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s: data_offsets has %d numbers; it needs 2",
                          t->name, cJSON_GetArraySize(o));
    for (int i = 0; i < 2; i++)
        if ((st = get_count(f, cJSON_GetArrayItem(o, i), t->name, "data_offsets", i, &range[i])) != GD_OK)
            return st;
    unsigned long long b = range[0], end = range[1];
    uint64_t need = (uint64_t)t->numel * dtype_size(t->dtype);
    char s[96];
    if (b > end)
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s: data_offsets [%llu, %llu] are not in order",
                          t->name, b, end);
    if (end > data_len)
        return gd_st_fail(f, GD_ERR_FORMAT,
                          "tensor %s: data_offsets [%llu, %llu] lie outside the %zu bytes of data",
                          t->name, b, end, data_len);
    if (end - b != need)
        return gd_st_fail(f, GD_ERR_FORMAT,
                          "tensor %s: data_offsets [%llu, %llu] hold %llu bytes; %s %s needs %llu",
                          t->name, b, end, end - b, dtype_name(t->dtype),
                          gd_st_shape_str(t->ndim, t->dims, s, sizeof s), (unsigned long long)need);
    return GD_OK;
}

static gd_status parse_entry(const gd_st_file *f, const cJSON *e, unsigned char *data,
                             size_t data_len, gd_st_entry *t, uint64_t range[2])
{
    t->name = e->string;
    if (!cJSON_IsObject(e))
        return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s is %s; it must be an object", t->name,
                          json_type(e));
    gd_status st = parse_dtype(f, cJSON_GetObjectItemCaseSensitive(e, "dtype"), t->name, &t->dtype);
    if (st != GD_OK || (st = parse_shape(f, e, t)) != GD_OK ||
        (st = parse_offsets(f, e, t, data_len, range)) != GD_OK)
        return st;
    t->data = data + range[0];
    if (t->dtype == GD_DTYPE_F32)
        t->view = gd_tensor_view((float *)(void *)(data + range[0]), t->ndim, t->dims);
    return GD_OK;
}

static gd_status check_metadata(const gd_st_file *f, const cJSON *meta)
{
    if (!cJSON_IsObject(meta))
        return gd_st_fail(f, GD_ERR_FORMAT, "__metadata__ is %s; it must be an object",
                          json_type(meta));
    for (const cJSON *j = meta->child; j; j = j->next)
        if (!cJSON_IsString(j))
            return gd_st_fail(f, GD_ERR_FORMAT, "metadata %s is %s; values must be strings",
                              j->string, json_type(j));
    return GD_OK;
}

/* A tensor's byte range, for checking that the tensors tile the data. */
typedef struct span {
    uint64_t begin, end;
    const char *name;
} span;

static int by_begin(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const span *)a)->name, ((const span *)b)->name);
}

/* Every byte of the data belongs to exactly one tensor (huggingface's reader demands the
 * same), and no name is used twice (JSON allows it; a lookup by name could not). */
static gd_status check_layout(const gd_st_file *f, span *s, size_t n, size_t data_len)
{
    qsort(s, n, sizeof *s, by_name);
    for (size_t i = 1; i < n; i++)
        if (strcmp(s[i - 1].name, s[i].name) == 0)
            return gd_st_fail(f, GD_ERR_FORMAT, "tensor %s appears twice in the header", s[i].name);
    qsort(s, n, sizeof *s, by_begin);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].begin < at)
            return gd_st_fail(f, GD_ERR_FORMAT, "tensors %s and %s overlap in the data",
                              s[i - 1].name, s[i].name);
        if (s[i].begin > at)
            return gd_st_fail(f, GD_ERR_FORMAT, "bytes [%llu, %llu) of the data belong to no tensor",
                              (unsigned long long)at, (unsigned long long)s[i].begin);
        at = s[i].end;
    }
    if (at != data_len)
        return gd_st_fail(f, GD_ERR_FORMAT, "the last %llu bytes of the data belong to no tensor",
                          (unsigned long long)(data_len - at));
    return GD_OK;
}

static gd_status parse_entries(gd_st_file *f, unsigned char *data, size_t data_len)
{
    size_t n = 0;
    for (const cJSON *e = f->header->child; e; e = e->next)
        n += strcmp(e->string, "__metadata__") != 0;
    f->entries = calloc(n + 1, sizeof *f->entries);
    span *spans = calloc(n + 1, sizeof *spans);
    gd_status st = f->entries && spans ? GD_OK : gd_st_fail(f, GD_ERR_NO_MEMORY, "out of memory for %zu tensors", n);
    for (const cJSON *e = f->header->child; st == GD_OK && e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            st = check_metadata(f, e);
            continue;
        }
        uint64_t range[2] = {0, 0};
        gd_st_entry *t = &f->entries[f->count];
        if ((st = parse_entry(f, e, data, data_len, t, range)) == GD_OK)
            spans[f->count++] = (span){range[0], range[1], t->name};
    }
    if (st == GD_OK)
        st = check_layout(f, spans, f->count, data_len);
    free(spans);
    /* Names are unique (check_layout), so a binary search finds the one entry. */
    if (st == GD_OK && !(f->by_name = malloc((f->count + 1) * sizeof *f->by_name)))
        st = gd_st_fail(f, GD_ERR_NO_MEMORY, "out of memory for %zu tensors", f->count);
    for (size_t i = 0; st == GD_OK && i < f->count; i++)
        f->by_name[i] = &f->entries[i];
    if (st == GD_OK)
        qsort(f->by_name, f->count, sizeof *f->by_name, entry_by_name);
    return st;
}

gd_status gd_st_read(gd_st_file *f, const char *path, char *msg)
{
    *f = (gd_st_file){.path = path, .msg = msg};
    size_t len = 0, data_len = 0;
    unsigned char *data = NULL;
    gd_status st = read_all(f, &len);
    if (st == GD_OK)
        st = parse_header(f, len, &data, &data_len);
    if (st == GD_OK)
        st = parse_entries(f, data, data_len);
    if (st != GD_OK)
        gd_st_close(f);
    return st;
}
