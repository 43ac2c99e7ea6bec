/* IDX files, the format of MNIST and Fashion-MNIST (LeCun, Cortes and Burges,
 * http://yann.lecun.com/exdb/mnist/): a magic number 00 00 TT DD (TT the element type,
 * 0x08 uint8 or 0x0D float32; DD the number of dimensions), DD big-endian uint32
 * dimensions, then the elements, big-endian, row-major.
 *
 * Images are N x H x W; each sample becomes 1 x H x W, with a channel dimension so that a
 * convolution takes it as it is (a linear layer needs it flattened; the command line does
 * that). uint8 pixels become x / 255 in float32, exactly torchvision's ToTensor
 * (img.float().div(255)); float32 elements are kept as they are and must be finite.
 * Labels are N uint8; num_classes is the largest label + 1. Without a labels file (NULL,
 * to predict), every label is 0 and num_classes 1.
 *
 * Files are read through zlib's gzread, which reads plain files transparently. Nothing in
 * a header is trusted: the dimensions are checked against overflow and against what the
 * file can hold before anything is allocated (a plain file's size exactly; a gzip file's
 * contents are at most 1032 times its size, deflate's largest expansion per the zlib
 * FAQ) and against the memory limit, and the body must then be exactly as long as the
 * header says. A gzip file's body gets memory only once the file has shown that it holds
 * it (its trailer's length, else a counting pass), so a header that lies costs nothing. */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_U8 0x08
#define IDX_F32 0x0D
#define DEFLATE_MAX_RATIO 1032
#define CHUNK (1 << 16) /* bytes per gzread; a multiple of 4, so floats never straddle */

typedef enum idx_role { IDX_IMAGES, IDX_LABELS } idx_role;

typedef struct idx_file {
    const char *path;
    idx_role role;
    gzFile gz;
    int type;
    int64_t dims[3];
    int64_t header_bytes, data_bytes;
    bool proven; /* the file is known to hold data_bytes after the header */
} idx_file;

static const char *role_noun(idx_role role) { return role == IDX_IMAGES ? "pixels" : "labels"; }

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* zlib's error, as an I/O error (with errno's text) or a corrupt gzip stream. */
static gd_status stream_error(const idx_file *f, char *msg)
{
    int zerr;
    const char *text = gzerror(f->gz, &zerr);
    if (zerr == Z_ERRNO)
        return gd_fail(msg, GD_ERR_IO, "%s: %s", f->path, strerror(errno));
    return gd_fail(msg, GD_ERR_FORMAT, "%s: corrupt gzip data: %s", f->path, text);
}

/* Reads up to len bytes into buf and stores the count in *got: short only at the end of
 * the file. */
static gd_status read_some(const idx_file *f, void *buf, int64_t len, int64_t *got, char *msg)
{
    *got = 0;
    while (*got < len) {
        int64_t left = len - *got;
        int r = gzread(f->gz, (char *)buf + *got, (unsigned)(left < CHUNK ? left : CHUNK));
        if (r < 0)
            return stream_error(f, msg);
        if (r == 0)
            break;
        *got += r;
    }
    return GD_OK;
}

/* Reads exactly len bytes of what (a part of the file, for the message). */
static gd_status read_exact(const idx_file *f, void *buf, int64_t len, const char *what,
                            char *msg)
{
    int64_t got;
    gd_status st = read_some(f, buf, len, &got, msg);
    if (st == GD_OK && got < len)
        return gd_fail(msg, GD_ERR_FORMAT, "%s: truncated: expected %lld bytes of %s, found %lld",
                       f->path, (long long)len, what, (long long)got);
    return st;
}

static gd_status check_magic(const idx_file *f, const unsigned char *magic, char *msg)
{
    bool images = f->role == IDX_IMAGES;
    int want_ndim = images ? 3 : 1;
    bool type_ok = magic[2] == IDX_U8 || (images && magic[2] == IDX_F32);
    if (magic[0] || magic[1] || !type_ok)
        return gd_fail(msg, GD_ERR_FORMAT,
                       "%s: not an IDX %s file: magic number 0x%08x, expected 0x%08x%s", f->path,
                       images ? "image" : "label", (unsigned)be32(magic),
                       IDX_U8 << 8 | want_ndim,
                       images ? " (uint8) or 0x00000d03 (float32)" : " (uint8)");
    if (magic[3] != want_ndim)
        return gd_fail(msg, GD_ERR_FORMAT,
                       "%s: magic number 0x%08x declares %d dimensions, IDX %s have %d",
                       f->path, (unsigned)be32(magic), magic[3], images ? "images" : "labels",
                       want_ndim);
    return GD_OK;
}

/* The dimensions' product must fit, and the file must be able to hold it. */
static gd_status check_size(idx_file *f, int ndim, int64_t file_bytes, char *msg)
{
    int64_t elem = f->type == IDX_F32 ? 4 : 1, count = 1;
    for (int i = 0; i < ndim; i++) {
        if (f->dims[i] == 0)
            return gd_fail(msg, GD_ERR_FORMAT, "%s: dimension %d is 0", f->path, i);
        /* Room for the float32 copy too, hence INT64_MAX / 4. */
        if (!gd_mul_within(count, f->dims[i], INT64_MAX / 4, &count))
            return gd_fail(msg, GD_ERR_FORMAT, "%s: dimensions %lld x %lld x %lld overflow",
                           f->path, (long long)f->dims[0], (long long)f->dims[1],
                           (long long)f->dims[2]);
    }
    f->data_bytes = count * elem;
    int64_t header = f->header_bytes = 4 + 4 * ndim;
    if (file_bytes < 0)
        return GD_OK; /* not a regular file: the read will tell */
    if (gzdirect(f->gz) && f->data_bytes > file_bytes - header)
        return gd_fail(msg, GD_ERR_FORMAT, "%s: truncated: expected %lld bytes of %s, found %lld",
                       f->path, (long long)f->data_bytes, role_noun(f->role),
                       (long long)(file_bytes - header));
    if (!gzdirect(f->gz) && f->data_bytes / DEFLATE_MAX_RATIO > file_bytes)
        return gd_fail(msg, GD_ERR_FORMAT,
                       "%s: header declares %lld bytes of %s, more than a %lld-byte gzip file "
                       "can hold",
                       f->path, (long long)f->data_bytes, role_noun(f->role),
                       (long long)file_bytes);
    return GD_OK;
}

static gd_status read_header(idx_file *f, int64_t file_bytes, char *msg)
{
    unsigned char magic[4], dims[12];
    gd_status st = read_exact(f, magic, 4, "magic number", msg);
    if (!st)
        st = check_magic(f, magic, msg);
    if (st)
        return st;
    int ndim = magic[3];
    if ((st = read_exact(f, dims, 4 * ndim, "dimensions", msg)))
        return st;
    f->type = magic[2];
    f->dims[1] = f->dims[2] = 1;
    for (int i = 0; i < ndim; i++)
        f->dims[i] = be32(dims + 4 * i);
    return check_size(f, ndim, file_bytes, msg);
}

/* What the images and labels will take, checked against the memory limit before any is
 * read (or a gzip file decompressed to count them); the message names the file and its
 * header's claim. */
static gd_status check_memory(const idx_file *img, char *msg)
{
    gd_shape s = {.ndim = 3, .dims = {1, img->dims[1], img->dims[2]}};
    char what[GD_MSG_MAX / 2];
    snprintf(what, sizeof what, "%s: %lld images of %lld x %lld (as its header says)",
             img->path, (long long)img->dims[0], (long long)img->dims[1],
             (long long)img->dims[2]);
    return gd_dataset_check_memory(img->dims[0], &s, img->type == IDX_U8, what, msg);
}

/* A gzip file's last 4 bytes: the length of what it holds, modulo 2^32 (RFC 1952's
 * ISIZE; of the last member only, when members were concatenated). */
static bool gzip_isize(const char *path, uint32_t *isize)
{
    FILE *fp = fopen(path, "rb");
    unsigned char b[4];
    bool ok = fp && fseek(fp, -4, SEEK_END) == 0 && fread(b, 1, 4, fp) == 4;
    if (fp)
        fclose(fp);
    *isize = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
    return ok;
}

/* Proves that a gzip file holds the body its header claims before memory is given for
 * it: a header that lies would otherwise cost what it claims, up to 1032 times the file's
 * size. The trailer's length agreeing is the honest case; else one pass decompresses and
 * counts (a cut stream, a liar, or concatenated members), then the file is read again. */
static gd_status prove_gzip_body(idx_file *f, char *msg)
{
    uint32_t isize;
    if (gzip_isize(f->path, &isize) && isize == (uint32_t)(f->header_bytes + f->data_bytes)) {
        f->proven = true;
        return GD_OK;
    }
    unsigned char buf[CHUNK];
    int64_t count = 0, got;
    gd_status st;
    do {
        st = read_some(f, buf, CHUNK, &got, msg);
        count += got;
    } while (!st && got == CHUNK && count < f->data_bytes);
    if (st)
        return st;
    if (count < f->data_bytes)
        return gd_fail(msg, GD_ERR_FORMAT, "%s: truncated: expected %lld bytes of %s, found %lld",
                       f->path, (long long)f->data_bytes, role_noun(f->role), (long long)count);
    if (gzrewind(f->gz) != 0 || gzseek(f->gz, (z_off_t)f->header_bytes, SEEK_SET) < 0)
        return stream_error(f, msg);
    f->proven = true;
    return GD_OK;
}

static gd_status idx_open(idx_file *f, const char *path, idx_role role, char *msg)
{
    *f = (idx_file){.path = path, .role = role};
    struct stat sb;
    errno = 0;
    if (stat(path, &sb) != 0 || !(f->gz = gzopen(path, "rb")))
        return gd_fail(msg, GD_ERR_IO, "%s: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(f->gz, 1 << 17);
    bool regular = S_ISREG(sb.st_mode);
    gd_status st = read_header(f, regular ? (int64_t)sb.st_size : -1, msg);
    if (!st && role == IDX_IMAGES)
        st = check_memory(f, msg);
    if (st || !regular)
        return st; /* a pipe cannot be read twice: its body grows as it arrives */
    return gzdirect(f->gz) ? (f->proven = true, GD_OK) : prove_gzip_body(f, msg);
}

/* float32 elements [from, from + count) of body, big-endian as read, become floats in
 * place; false at a non-finite one, whose index goes to *bad. */
static bool floats_in_place(unsigned char *body, int64_t from, int64_t count, int64_t *bad)
{
    for (int64_t i = from; i < from + count; i++) {
        uint32_t bits = be32(body + 4 * i);
        float v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) {
            *bad = i;
            return false;
        }
        memcpy(body + 4 * i, &v, sizeof v);
    }
    return true;
}

/* Room for at least want bytes of the body in *buf (capacity *cap), doubling up to the
 * header's size: a body not proven (from a pipe) is given memory as it arrives. */
static gd_status reserve_body(const idx_file *f, unsigned char **buf, int64_t *cap, int64_t want,
                              char *msg)
{
    if (want <= *cap)
        return GD_OK;
    int64_t grown = *cap * 2 > want ? *cap * 2 : want;
    grown = grown < f->data_bytes ? grown : f->data_bytes;
    unsigned char *b = realloc(*buf, (size_t)grown + 1); /* +1: malloc(0) may be NULL */
    if (!b)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "%s: out of memory for %lld bytes of %s", f->path,
                       (long long)grown, role_noun(f->role));
    *buf = b;
    *cap = grown;
    return GD_OK;
}

/* Checks that nothing follows the body, and that a gzip stream ends whole. */
static gd_status read_end(const idx_file *f, char *msg)
{
    unsigned char byte;
    int64_t got;
    gd_status st = read_some(f, &byte, 1, &got, msg);
    if (st)
        return st;
    if (got)
        return gd_fail(msg, GD_ERR_FORMAT, "%s: trailing data after the %lld bytes of %s",
                       f->path, (long long)f->data_bytes, role_noun(f->role));
    int zerr;
    gzerror(f->gz, &zerr);
    if (zerr == Z_BUF_ERROR) /* zlib's "unexpected end of file": the gzip trailer is gone */
        return gd_fail(msg, GD_ERR_FORMAT, "%s: gzip stream cut short after the %s", f->path,
                       role_noun(f->role));
    return GD_OK;
}

/* The whole body into *body (malloc'd), float32 elements as floats, then the end. */
static gd_status read_body(const idx_file *f, unsigned char **body, char *msg)
{
    int64_t cap = 0, done = 0, got, bad;
    int64_t first = f->proven ? f->data_bytes : CHUNK;
    gd_status st = reserve_body(f, body, &cap, first, msg);
    while (!st && done < f->data_bytes) {
        int64_t want = f->data_bytes - done < CHUNK ? f->data_bytes - done : CHUNK;
        if ((st = reserve_body(f, body, &cap, done + want, msg)) ||
            (st = read_some(f, *body + done, want, &got, msg)))
            break;
        if (got < want)
            return gd_fail(msg, GD_ERR_FORMAT,
                           "%s: truncated: expected %lld bytes of %s, found %lld", f->path,
                           (long long)f->data_bytes, role_noun(f->role), (long long)(done + got));
        /* CHUNK is a multiple of 4: a chunk holds whole floats. */
        if (f->type == IDX_F32 && !floats_in_place(*body, done / 4, got / 4, &bad))
            return gd_fail(msg, GD_ERR_FORMAT, "%s: image %lld, pixel %lld is not finite",
                           f->path, (long long)(bad / (f->dims[1] * f->dims[2])),
                           (long long)(bad % (f->dims[1] * f->dims[2])));
        done += got;
    }
    return st ? st : read_end(f, msg);
}

static gd_status read_labels(const idx_file *f, gd_dataset *ds, char *msg)
{
    unsigned char *body = NULL;
    gd_status st = read_body(f, &body, msg);
    for (int64_t i = 0; !st && i < ds->n; i++)
        ds->labels[i] = body[i];
    free(body);
    return st;
}

/* Images and their labels; lab NULL: images alone, labelled 0. */
static gd_status read_pair(const idx_file *img, const idx_file *lab, gd_dataset **out,
                           char *msg)
{
    if (lab && img->dims[0] != lab->dims[0])
        return gd_fail(msg, GD_ERR_FORMAT, "%s has %lld images but %s has %lld labels",
                       img->path, (long long)img->dims[0], lab->path, (long long)lab->dims[0]);
    gd_shape s = {.ndim = 3, .dims = {1, img->dims[1], img->dims[2]}};
    unsigned char *body = NULL;
    gd_status st = read_body(img, &body, msg);
    if (!st)
        st = gd_dataset_adopt(out, img->dims[0], &s, img->type == IDX_U8, body, msg);
    if (st) {
        free(body);
        return st;
    }
    if (lab && (st = read_labels(lab, *out, msg))) {
        gd_dataset_free(*out);
        *out = NULL;
        return st;
    }
    int32_t max = 0;
    for (int64_t i = 0; i < (*out)->n; i++)
        max = (*out)->labels[i] > max ? (*out)->labels[i] : max;
    (*out)->num_classes = max + 1;
    return GD_OK;
}

gd_status gd_dataset_read_idx(gd_dataset **out, const char *images_path,
                              const char *labels_path, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!out || !images_path)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "read_idx: NULL argument");
    *out = NULL;
    idx_file img, lab = {.gz = NULL};
    gd_status st = idx_open(&img, images_path, IDX_IMAGES, msg);
    if (!st && labels_path)
        st = idx_open(&lab, labels_path, IDX_LABELS, msg);
    if (!st)
        st = read_pair(&img, labels_path ? &lab : NULL, out, msg);
    if (lab.gz)
        gzclose(lab.gz);
    if (img.gz)
        gzclose(img.gz);
    return st;
}

/* dir/name, or dir/name.gz when that is the one there (malloc'd). */
static gd_status find_file(const char *dir, const char *name, char **path, char *msg)
{
    size_t len = strlen(dir) + strlen(name) + sizeof "/.gz";
    struct stat sb;
    if (!(*path = malloc(len)))
        return gd_fail(msg, GD_ERR_NO_MEMORY, "read_idx_dir: out of memory");
    snprintf(*path, len, "%s/%s", dir, name);
    if (stat(*path, &sb) == 0)
        return GD_OK;
    strcat(*path, ".gz");
    if (stat(*path, &sb) == 0)
        return GD_OK;
    free(*path);
    *path = NULL;
    return gd_fail(msg, GD_ERR_IO, "%s: found neither %s nor %s.gz: %s", dir, name, name,
                   strerror(errno));
}

gd_status gd_dataset_read_idx_dir(gd_dataset **out, const char *dir, bool train, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = GD_ERR_BUF(err, scratch);
    if (!out || !dir)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "read_idx_dir: NULL argument");
    *out = NULL;
    const char *prefix = train ? "train" : "t10k";
    char images[32], labels[32], *images_path = NULL, *labels_path = NULL;
    snprintf(images, sizeof images, "%s-images-idx3-ubyte", prefix);
    snprintf(labels, sizeof labels, "%s-labels-idx1-ubyte", prefix);
    gd_status st = find_file(dir, images, &images_path, msg);
    if (!st)
        st = find_file(dir, labels, &labels_path, msg);
    if (!st)
        st = gd_dataset_read_idx(out, images_path, labels_path, err);
    free(images_path);
    free(labels_path);
    return st;
}
