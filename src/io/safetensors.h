/* Reading and writing safetensors files (huggingface's format), for model files and
 * checkpoints.
 *
 * Layout: an 8-byte little-endian u64 N, N bytes of JSON, then the data. The JSON maps each
 * tensor name to {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, offsets
 * relative to the data's start, and may hold "__metadata__": {string: string}. gradus writes
 * tensors packed in the order added and pads the JSON with spaces to a multiple of 8 bytes,
 * so that the data starts aligned. Data are little-endian: gradus copies bytes as they lie
 * in memory, which assumes a little-endian machine (x86-64, arm64 as Linux runs it). */
#ifndef GD_SAFETENSORS_H
#define GD_SAFETENSORS_H

#include "../core/internal.h"

#include <cjson/cJSON.h>

/* --------------------------------------------------------------- writing */

typedef struct gd_st_item gd_st_item;

/* Collects tensors and metadata, then writes them in one go. The first failure sticks:
 * later calls do nothing and gd_st_write returns it, so a writer reads as a list of adds. */
typedef struct gd_st_writer {
    cJSON *header;
    cJSON *metadata;
    gd_st_item *items;
    size_t nitems, cap;
    uint64_t offset; /* bytes of data so far */
    gd_status status;
    char *msg; /* GD_MSG_MAX bytes */
} gd_st_writer;

void gd_st_writer_init(gd_st_writer *w, char *msg);
/* Adds a tensor whose bytes lie at data; they are read at gd_st_write, so they must stay
 * valid until then. ndim 0 is a scalar (shape []). */
void gd_st_add(gd_st_writer *w, const char *name, gd_dtype dtype, int ndim, const int64_t *dims,
               const void *data);
void gd_st_add_metadata(gd_st_writer *w, const char *key, const char *value);
/* Writes the file atomically (gd_write_file_atomic); the message names path. */
gd_status gd_st_write(gd_st_writer *w, const char *path);
void gd_st_writer_free(gd_st_writer *w);

/* --------------------------------------------------------------- reading */

typedef struct gd_st_entry {
    const char *name;
    gd_dtype dtype;
    int ndim;
    int64_t dims[GD_MAX_DIMS];
    int64_t numel;
    const unsigned char *data; /* numel elements; I64 data may be only 4-byte aligned */
    gd_tensor view;            /* F32 only: a view of data, for lookups by tensor */
} gd_st_entry;

typedef struct gd_st_file {
    const char *path;
    unsigned char *bytes; /* the whole file */
    cJSON *header;
    gd_st_entry *entries; /* in the header's order */
    size_t count;
    const gd_st_entry **by_name; /* the same, sorted by name: lookups are binary searches */
    char *msg; /* GD_MSG_MAX bytes */
} gd_st_file;

/* Reads path and validates all of it: sizes, JSON, every entry's dtype (F32 or I64), shape
 * and offsets, and that the tensors tile the data without overlap or gap. On failure f
 * holds nothing (gd_st_close is still safe) and msg names the file and the problem. */
gd_status gd_st_read(gd_st_file *f, const char *path, char *msg);
void gd_st_close(gd_st_file *f);
/* The tensor named name, or NULL; O(log count), so that checking a model of thousands of
 * tensors against a file stays fast. */
const gd_st_entry *gd_st_find(const gd_st_file *f, const char *name);
/* A metadata value, or NULL when absent. */
const char *gd_st_metadata(const gd_st_file *f, const char *key);
/* Formats f's failure into f->msg as "PATH: ..." and returns status. */
gd_status gd_st_fail(const gd_st_file *f, gd_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "[10, 128]" (or "[]"), for messages. */
const char *gd_st_shape_str(int ndim, const int64_t *dims, char *buf, size_t len);

#endif
