/* Shared publishing machinery (see publish.h). zlib, liblzma and libzstd are
 * driven here and their errors translated; nothing above sees them. */
#include "publish.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "consign/fileio.h"
#include "consign/keys.h"
#include "consign/path.h"
#include "store.h"

/* Index compression levels: small, fast-changing text; the ratio between
 * xz -6 and -3 on a Packages file is within a few per cent, the time is not. */
#define GZ_LEVEL       9
#define XZ_LEVEL       3
#define ZST_LEVEL      10
#define XZ_CHUNK_LEVEL 6 /* chunks are compressed once and cached */
#define TMP_PREFIX     ".consign-tmp."

const char *
idx_suffix(enum idx_fmt fmt)
{
    switch (fmt) {
    case IDX_GZ:
        return ".gz";
    case IDX_XZ:
        return ".xz";
    case IDX_ZST:
        return ".zst";
    default:
        return "";
    }
}

int
publish_is_tmp(const char *name)
{
    return strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
}

/* Write compressed (or plain) bytes to file f and its digests. */
static int
file_out(struct consign_ctx *ctx, struct idx_file *f, const void *p, size_t n)
{
    int rc;

    if (!n)
        return 0;
    if ((rc = consign_hash_update(ctx, f->h256, p, n)) ||
        (f->h512 && (rc = consign_hash_update(ctx, f->h512, p, n))))
        return rc;
    f->size += n;
    return consign_write_all(ctx, f->fd, p, n, f->tmp);
}

static int
codec_init(struct consign_ctx *ctx, struct idx_file *f)
{
    switch (f->fmt) {
    case IDX_GZ: {
        z_stream *z = consign_calloc(ctx, 1, sizeof(*z));
        if (!z)
            return CONSIGN_E_NOMEM;
        /* 16 + 15: a gzip wrapper with no name and a zero time stamp. */
        if (deflateInit2(z, GZ_LEVEL, Z_DEFLATED, 16 + 15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(z);
            return consign_fail(ctx, CONSIGN_E_NOMEM, "zlib: cannot start a gzip stream");
        }
        f->z = z;
        return 0;
    }
    case IDX_XZ: {
        lzma_stream *z = consign_calloc(ctx, 1, sizeof(*z));
        if (!z)
            return CONSIGN_E_NOMEM;
        if (lzma_easy_encoder(z, XZ_LEVEL, LZMA_CHECK_CRC64) != LZMA_OK) {
            free(z);
            return consign_fail(ctx, CONSIGN_E_NOMEM, "liblzma: cannot start an xz stream");
        }
        f->z = z;
        return 0;
    }
    case IDX_ZST: {
        ZSTD_CCtx *z = ZSTD_createCCtx();
        if (!z || ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, ZST_LEVEL)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1))) {
            ZSTD_freeCCtx(z);
            return consign_fail(ctx, CONSIGN_E_NOMEM, "libzstd: cannot start a zstd stream");
        }
        f->z = z;
        return 0;
    }
    default:
        return 0;
    }
}

static void
codec_free(struct idx_file *f)
{
    if (!f->z)
        return;
    switch (f->fmt) {
    case IDX_GZ:
        deflateEnd(f->z);
        free(f->z);
        break;
    case IDX_XZ:
        lzma_end(f->z);
        free(f->z);
        break;
    case IDX_ZST:
        ZSTD_freeCCtx(f->z);
        break;
    default:
        break;
    }
    f->z = NULL;
}

/* Feed n bytes (finish: end the stream) through file f's codec. */
static int
codec_push(struct consign_ctx *ctx, struct idx_file *f, const void *p, size_t n, int finish)
{
    unsigned char out[65536];
    int rc = 0;

    switch (f->fmt) {
    case IDX_PLAIN:
        return file_out(ctx, f, p, n);
    case IDX_GZ: {
        z_stream *z = f->z;
        int zr;
        z->next_in = (Bytef *)(uintptr_t)p;
        z->avail_in = (uInt)n;
        do {
            z->next_out = out;
            z->avail_out = sizeof(out);
            zr = deflate(z, finish ? Z_FINISH : Z_NO_FLUSH);
            if (zr == Z_STREAM_ERROR)
                return consign_fail(ctx, CONSIGN_E_INTERNAL, "zlib: deflate failed");
            if ((rc = file_out(ctx, f, out, sizeof(out) - z->avail_out)))
                return rc;
        } while (z->avail_out == 0 || (finish && zr != Z_STREAM_END));
        return 0;
    }
    case IDX_XZ: {
        lzma_stream *z = f->z;
        lzma_ret lr;
        z->next_in = p;
        z->avail_in = n;
        do {
            z->next_out = out;
            z->avail_out = sizeof(out);
            lr = lzma_code(z, finish ? LZMA_FINISH : LZMA_RUN);
            if (lr != LZMA_OK && lr != LZMA_STREAM_END)
                return consign_fail(ctx,
                                    lr == LZMA_MEM_ERROR ? CONSIGN_E_NOMEM : CONSIGN_E_INTERNAL,
                                    "liblzma: compression failed (%d)", (int)lr);
            if ((rc = file_out(ctx, f, out, sizeof(out) - z->avail_out)))
                return rc;
        } while (z->avail_out == 0 || (finish && lr != LZMA_STREAM_END));
        return 0;
    }
    case IDX_ZST: {
        ZSTD_inBuffer in = {p, n, 0};
        size_t left;
        do {
            ZSTD_outBuffer ob = {out, sizeof(out), 0};
            left = ZSTD_compressStream2(f->z, &ob, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(left))
                return consign_fail(ctx, CONSIGN_E_INTERNAL, "libzstd: %s",
                                    ZSTD_getErrorName(left));
            if ((rc = file_out(ctx, f, out, ob.pos)))
                return rc;
        } while (finish ? left != 0 : in.pos < in.size);
        return 0;
    }
    }
    return 0;
}

int
idx_open(struct consign_ctx *ctx, struct idx_out *o, const char *dir, const enum idx_fmt *fmts,
         size_t n, int with_sha512)
{
    int rc = 0;

    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < IDX_MAX_FILES; i++)
        o->f[i].fd = -1;
    if (n > IDX_MAX_FILES)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "too many index formats");
    if ((rc = consign_mkdirs(ctx, dir, 0755)) ||
        (rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &o->open_h)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct idx_file *f = &o->f[i];
        o->nf++;
        f->fmt = fmts[i];
        if (!(f->tmp = consign_asprintf(ctx, "%s/" TMP_PREFIX "XXXXXX", dir))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        f->fd = mkostemp(f->tmp, O_CLOEXEC);
        if (f->fd < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", dir);
            free(f->tmp);
            f->tmp = NULL;
            goto out;
        }
        if (fchmod(f->fd, 0644) < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", f->tmp);
            goto out;
        }
        if ((rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &f->h256)) ||
            (with_sha512 && (rc = consign_hash_new(ctx, CONSIGN_HASH_SHA512, &f->h512))) ||
            (rc = codec_init(ctx, f)))
            goto out;
    }
out:
    if (rc)
        o->failed = 1;
    return rc;
}

int
idx_write(struct consign_ctx *ctx, struct idx_out *o, const void *p, size_t n)
{
    int rc = 0;

    if (o->failed)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "index write after a failure");
    if ((rc = consign_hash_update(ctx, o->open_h, p, n)))
        goto out;
    o->open_size += n;
    if (o->cachedir) {
        rc = consign_buf_append(ctx, &o->chunk, p, n);
        goto out;
    }
    for (size_t i = 0; i < o->nf; i++)
        if ((rc = codec_push(ctx, &o->f[i], p, n, 0)))
            goto out;
out:
    if (rc)
        o->failed = 1;
    return rc;
}

/* --- chunked indexes -------------------------------------------------------------- */

#define CHUNK_MAGIC "CCH1"
#define CHUNK_HEAD  (4 + 8 + 8 + 32) /* magic, unpadded size, size, SHA-256 of the payload */
#define CHUNK_MAX   (64u << 20)

static const char *
fmt_tag(enum idx_fmt fmt)
{
    /* The level is part of the name: another level is another chunk. */
    switch (fmt) {
    case IDX_GZ:
        return "gz9";
    case IDX_XZ:
        return "xz6c"; /* preset 6, the dictionary cut to the chunk */
    case IDX_ZST:
        return "zst10";
    default:
        return "plain";
    }
}

static void
put_be64(unsigned char *p, unsigned long long v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static unsigned long long
get_be64(const unsigned char *p)
{
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Compress one chunk alone, appending to out; *unpadded is xz's Unpadded Size. */
static int
chunk_compress(struct consign_ctx *ctx, enum idx_fmt fmt, const void *in, size_t n,
               struct consign_buf *out, unsigned long long *unpadded)
{
    unsigned char *tmp = NULL;
    size_t bound = 0, got = 0;
    int rc = 0;

    *unpadded = 0;
    switch (fmt) {
    case IDX_GZ: {
        z_stream z;
        memset(&z, 0, sizeof(z));
        if (deflateInit2(&z, GZ_LEVEL, Z_DEFLATED, 16 + 15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
            rc = consign_fail(ctx, CONSIGN_E_NOMEM, "zlib: cannot start a gzip stream");
            goto out;
        }
        bound = deflateBound(&z, (uLong)n) + 64;
        if (!(tmp = malloc(bound))) {
            deflateEnd(&z);
            rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
            goto out;
        }
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        z.next_out = tmp;
        z.avail_out = (uInt)bound;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
            deflateEnd(&z);
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "zlib: deflate failed");
            goto out;
        }
        got = bound - z.avail_out;
        deflateEnd(&z);
        break;
    }
    case IDX_ZST: {
        ZSTD_CCtx *z = ZSTD_createCCtx();
        bound = ZSTD_compressBound(n);
        if (!z || ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, ZST_LEVEL)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1)) ||
            !(tmp = malloc(bound))) {
            ZSTD_freeCCtx(z);
            rc = consign_fail(ctx, CONSIGN_E_NOMEM, "libzstd: cannot start a zstd frame");
            goto out;
        }
        got = ZSTD_compress2(z, tmp, bound, in, n);
        ZSTD_freeCCtx(z);
        if (ZSTD_isError(got)) {
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "libzstd: %s", ZSTD_getErrorName(got));
            goto out;
        }
        break;
    }
    case IDX_XZ: {
        lzma_options_lzma opt;
        lzma_filter filters[2];
        lzma_block block;
        lzma_ret lr;
        if (lzma_lzma_preset(&opt, XZ_CHUNK_LEVEL)) {
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "liblzma: no preset %d", XZ_CHUNK_LEVEL);
            goto out;
        }
        /* A dictionary no larger than the chunk: the same matches can be
         * found, but the encoder no longer sets up (and the kernel no longer
         * zero-fills and unmaps) preset 6's 8 MiB dictionary and its match
         * finder's tables, about 90 MiB, for every 64 KiB chunk. */
        while (opt.dict_size / 2 >= LZMA_DICT_SIZE_MIN && opt.dict_size / 2 >= n)
            opt.dict_size /= 2;
        filters[0].id = LZMA_FILTER_LZMA2;
        filters[0].options = &opt;
        filters[1].id = LZMA_VLI_UNKNOWN;
        filters[1].options = NULL;
        memset(&block, 0, sizeof(block));
        block.version = 0;
        block.check = LZMA_CHECK_CRC64;
        block.filters = filters;
        bound = lzma_block_buffer_bound(n);
        if (!bound || !(tmp = malloc(bound))) {
            rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
            goto out;
        }
        lr = lzma_block_buffer_encode(&block, NULL, in, n, tmp, &got, bound);
        if (lr != LZMA_OK) {
            rc = consign_fail(ctx, lr == LZMA_MEM_ERROR ? CONSIGN_E_NOMEM : CONSIGN_E_INTERNAL,
                              "liblzma: block encoding failed (%d)", (int)lr);
            goto out;
        }
        *unpadded = lzma_block_unpadded_size(&block);
        break;
    }
    default:
        rc = consign_buf_append(ctx, out, in, n);
        goto out;
    }
    rc = consign_buf_append(ctx, out, tmp, got);
out:
    free(tmp);
    return rc;
}

/* A cached chunk, checked against the SHA-256 it carries; 1 when found. */
static int
chunk_load(struct consign_ctx *ctx, const char *path, unsigned long long size,
           struct consign_buf *out, unsigned long long *unpadded)
{
    struct consign_ctx quiet;
    unsigned char md[CONSIGN_HASH_MAX];
    char *data = NULL;
    size_t len = 0;
    int found = 0;

    consign_ctx_init(&quiet, NULL, NULL);
    if (consign_file_read(&quiet, path, CHUNK_MAX, &data, &len) != 0)
        goto out;
    if (len < CHUNK_HEAD || memcmp(data, CHUNK_MAGIC, 4) != 0 ||
        get_be64((unsigned char *)data + 12) != size ||
        consign_hash_buf(&quiet, CONSIGN_HASH_SHA256, data + CHUNK_HEAD, len - CHUNK_HEAD, md) ||
        memcmp(md, data + 20, 32) != 0) {
        consign_log(ctx, CONSIGN_LOG_DEBUG, "%s: damaged cache entry, compressing again", path);
        goto out;
    }
    *unpadded = get_be64((unsigned char *)data + 4);
    consign_buf_reset(out);
    if (consign_buf_append(ctx, out, data + CHUNK_HEAD, len - CHUNK_HEAD) != 0)
        goto out;
    utimensat(AT_FDCWD, path, NULL, 0); /* used now: kept by idx_cache_prune */
    found = 1;
out:
    free(data);
    return found;
}

/* Store a chunk in the cache; a cache that cannot be written only costs time. */
static void
chunk_store(struct consign_ctx *ctx, const char *path, const struct consign_buf *payload,
            unsigned long long unpadded, unsigned long long size)
{
    unsigned char head[CHUNK_HEAD], md[CONSIGN_HASH_MAX];
    char *tmp = consign_asprintf(ctx, "%s.%ld.tmp", path, (long)getpid());
    int fd;

    if (!tmp)
        return;
    memcpy(head, CHUNK_MAGIC, 4);
    put_be64(head + 4, unpadded);
    put_be64(head + 12, size);
    if (consign_hash_buf(ctx, CONSIGN_HASH_SHA256, payload->data ? payload->data : "", payload->len,
                         md) != 0) {
        free(tmp);
        return;
    }
    memcpy(head + 20, md, 32);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        int ok =
            consign_write_all(ctx, fd, head, sizeof(head), tmp) == 0 &&
            consign_write_all(ctx, fd, payload->data ? payload->data : "", payload->len, tmp) == 0;
        close(fd);
        if (!ok || rename(tmp, path) != 0)
            unlink(tmp);
    }
    free(tmp);
}

static int
xz_stream_begin(struct consign_ctx *ctx, struct idx_file *f)
{
    lzma_stream_flags flags;
    uint8_t head[LZMA_STREAM_HEADER_SIZE];

    memset(&flags, 0, sizeof(flags));
    flags.version = 0;
    flags.check = LZMA_CHECK_CRC64;
    if (lzma_stream_header_encode(&flags, head) != LZMA_OK ||
        !(f->xz_index = lzma_index_init(NULL)))
        return consign_fail(ctx, CONSIGN_E_NOMEM, "liblzma: cannot start an xz stream");
    return file_out(ctx, f, head, sizeof(head));
}

static int
xz_stream_end(struct consign_ctx *ctx, struct idx_file *f)
{
    lzma_stream_flags flags;
    uint8_t foot[LZMA_STREAM_HEADER_SIZE];
    lzma_vli isize = lzma_index_size(f->xz_index);
    unsigned char *buf = malloc((size_t)isize);
    size_t pos = 0;
    int rc;

    if (!buf)
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    memset(&flags, 0, sizeof(flags));
    flags.version = 0;
    flags.check = LZMA_CHECK_CRC64;
    flags.backward_size = isize;
    if (lzma_index_buffer_encode(f->xz_index, buf, &pos, (size_t)isize) != LZMA_OK ||
        lzma_stream_footer_encode(&flags, foot) != LZMA_OK) {
        free(buf);
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "liblzma: cannot end the xz stream");
    }
    rc = file_out(ctx, f, buf, pos);
    free(buf);
    return rc ? rc : file_out(ctx, f, foot, sizeof(foot));
}

/* Pending chunks are compressed in batches of this many bytes, on every core. */
#define CHUNK_BATCH (2u << 20)

struct chunk_job {
    struct idx_out *o;
    size_t nfmt; /* compressed formats per chunk */
    size_t fmt_of[IDX_MAX_FILES];
    struct consign_buf *payload; /* [chunk * nfmt + k] */
    unsigned long long *unpadded;
    unsigned char *compressed; /* 1 when not found in the cache */
};

static size_t
chunk_start(const struct idx_out *o, size_t c)
{
    return c ? o->cuts[c - 1] : 0;
}

/* Job i: chunk i / nfmt in compressed format i % nfmt, from the cache or compressed. */
static int
chunk_job_run(struct consign_ctx *ctx, void *user, size_t i)
{
    struct chunk_job *j = user;
    struct idx_out *o = j->o;
    size_t c = i / j->nfmt, start = chunk_start(o, c), len = o->cuts[c] - start;
    enum idx_fmt fmt = o->f[j->fmt_of[i % j->nfmt]].fmt;
    const char *in = (o->chunk.data ? o->chunk.data : "") + start;
    unsigned char md[CONSIGN_HASH_MAX];
    char hex[65], *path = NULL;
    int rc;

    if ((rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, in, len, md)))
        return rc;
    consign_hex(md, 32, hex);
    if (!(path = consign_asprintf(ctx, "%s/%s.%s", o->cachedir, hex, fmt_tag(fmt))))
        return CONSIGN_E_NOMEM;
    if (!chunk_load(ctx, path, len, &j->payload[i], &j->unpadded[i])) {
        consign_buf_reset(&j->payload[i]);
        if ((rc = chunk_compress(ctx, fmt, in, len, &j->payload[i], &j->unpadded[i])) == 0) {
            chunk_store(ctx, path, &j->payload[i], j->unpadded[i], len);
            j->compressed[i] = 1;
        }
    }
    free(path);
    return rc;
}

/* Compress (or find) every pending chunk, in parallel, and append them in order. */
static int
flush_chunks(struct consign_ctx *ctx, struct idx_out *o)
{
    struct chunk_job j;
    size_t njobs;
    int rc = 0;

    memset(&j, 0, sizeof(j));
    j.o = o;
    for (size_t i = 0; i < o->nf; i++)
        if (o->f[i].fmt != IDX_PLAIN)
            j.fmt_of[j.nfmt++] = i;
    njobs = o->ncuts * j.nfmt;
    if (!o->ncuts)
        return 0;
    if (!(j.payload = consign_calloc(ctx, njobs + 1, sizeof(*j.payload))) ||
        !(j.unpadded = consign_calloc(ctx, njobs + 1, sizeof(*j.unpadded))) ||
        !(j.compressed = consign_calloc(ctx, njobs + 1, 1))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < njobs; i++)
        consign_buf_init(&j.payload[i], CHUNK_MAX);
    if (njobs && (rc = store_parallel(ctx, njobs, chunk_job_run, &j)))
        goto out;
    for (size_t c = 0; c < o->ncuts; c++) {
        size_t start = chunk_start(o, c), len = o->cuts[c] - start, k = 0;
        const char *in = (o->chunk.data ? o->chunk.data : "") + start;
        for (size_t i = 0; i < o->nf; i++) {
            struct idx_file *f = &o->f[i];
            const struct consign_buf *pl;
            if (f->fmt == IDX_PLAIN) {
                if ((rc = file_out(ctx, f, in, len)))
                    goto out;
                continue;
            }
            pl = &j.payload[c * j.nfmt + k];
            if (f->fmt == IDX_XZ &&
                lzma_index_append(f->xz_index, NULL, j.unpadded[c * j.nfmt + k], len) != LZMA_OK) {
                rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "liblzma: xz index append failed");
                goto out;
            }
            o->chunks_compressed += j.compressed[c * j.nfmt + k];
            k++;
            if ((rc = file_out(ctx, f, pl->data ? pl->data : "", pl->len)))
                goto out;
        }
        o->nchunks++;
    }
    o->ncuts = 0;
    consign_buf_reset(&o->chunk);
out:
    if (j.payload)
        for (size_t i = 0; i < njobs; i++)
            consign_buf_free(&j.payload[i]);
    free(j.payload);
    free(j.unpadded);
    free(j.compressed);
    return rc;
}

/* End the pending data as a chunk (an empty one only when even_empty). */
static int
cut_chunk(struct consign_ctx *ctx, struct idx_out *o, int even_empty)
{
    size_t start = chunk_start(o, o->ncuts);

    if (o->chunk.len == start && !even_empty)
        return 0;
    if (o->ncuts == o->capcuts) {
        size_t cap = o->capcuts ? 2 * o->capcuts : 64;
        size_t *n = consign_reallocarray(ctx, o->cuts, cap, sizeof(*n));
        if (!n)
            return CONSIGN_E_NOMEM;
        o->cuts = n;
        o->capcuts = cap;
    }
    o->cuts[o->ncuts++] = o->chunk.len;
    return o->chunk.len >= CHUNK_BATCH ? flush_chunks(ctx, o) : 0;
}

int
idx_cut(struct consign_ctx *ctx, struct idx_out *o)
{
    int rc;

    if (!o->cachedir)
        return 0;
    if (o->failed)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "index cut after a failure");
    if ((rc = cut_chunk(ctx, o, 0)))
        o->failed = 1;
    return rc;
}

int
idx_open_chunked(struct consign_ctx *ctx, struct idx_out *o, const char *dir,
                 const enum idx_fmt *fmts, size_t n, int with_sha512, const char *cachedir)
{
    int rc;

    if ((rc = idx_open(ctx, o, dir, fmts, n, with_sha512)))
        return rc;
    if ((rc = consign_mkdirs(ctx, cachedir, 0755)))
        goto out;
    o->cachedir = cachedir;
    consign_buf_init(&o->chunk, 2 * CHUNK_MAX);
    for (size_t i = 0; i < o->nf; i++) {
        codec_free(&o->f[i]); /* chunks are compressed one by one */
        if (o->f[i].fmt == IDX_XZ && (rc = xz_stream_begin(ctx, &o->f[i])))
            goto out;
    }
out:
    if (rc)
        o->failed = 1;
    return rc;
}

int
idx_boundary(const char *name, const char *next_name)
{
    unsigned h = 2166136261u; /* FNV-1a */

    if (!next_name || strcmp(name, next_name) == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return (h & 63) == 0;
}

void
idx_cache_prune(struct consign_ctx *ctx, const char *cachedir, long long since)
{
    DIR *d = opendir(cachedir);
    struct dirent *de;
    struct stat sb;

    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
            (long long)sb.st_mtim.tv_sec < since && unlinkat(dirfd(d), de->d_name, 0) == 0)
            consign_log(ctx, CONSIGN_LOG_DEBUG, "%s/%s: unused, removed", cachedir, de->d_name);
    }
    if (d)
        closedir(d);
}

int
idx_finish(struct consign_ctx *ctx, struct idx_out *o)
{
    unsigned char md[CONSIGN_HASH_MAX];
    int rc = 0;

    if (o->failed)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "index finish after a failure");
    if (o->cachedir) {
        /* An empty index still gets one (empty) chunk: a valid empty file. */
        if ((rc = idx_cut(ctx, o)) || (!o->nchunks && !o->ncuts && (rc = cut_chunk(ctx, o, 1))) ||
            (rc = flush_chunks(ctx, o)))
            goto out;
    }
    if ((rc = consign_hash_final(ctx, o->open_h, md)))
        goto out;
    consign_hex(md, 32, o->open_sha256);
    for (size_t i = 0; i < o->nf; i++) {
        struct idx_file *f = &o->f[i];
        if (o->cachedir) {
            if (f->fmt == IDX_XZ && (rc = xz_stream_end(ctx, f)))
                goto out;
        } else if (f->fmt != IDX_PLAIN && (rc = codec_push(ctx, f, NULL, 0, 1))) {
            goto out;
        }
        if ((rc = consign_hash_final(ctx, f->h256, md)))
            goto out;
        consign_hex(md, 32, f->sha256);
        if (f->h512) {
            if ((rc = consign_hash_final(ctx, f->h512, md)))
                goto out;
            consign_hex(md, 64, f->sha512);
        }
        if (fsync(f->fd) < 0 || close(f->fd) < 0) {
            f->fd = -1;
            rc = consign_fail_errno(ctx, errno, "%s", f->tmp);
            goto out;
        }
        f->fd = -1;
        codec_free(f);
    }
out:
    if (rc)
        o->failed = 1;
    return rc;
}

int
idx_place(struct consign_ctx *ctx, struct idx_out *o, size_t i, const char *path)
{
    struct idx_file *f = &o->f[i];

    if (!f->tmp)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "%s: index already placed", path);
    if (rename(f->tmp, path) < 0)
        return consign_fail_errno(ctx, errno, "%s", path);
    free(f->tmp);
    f->tmp = NULL;
    return 0;
}

void
idx_close(struct idx_out *o)
{
    for (size_t i = 0; i < o->nf; i++) {
        struct idx_file *f = &o->f[i];
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
        if (f->tmp)
            unlink(f->tmp);
        free(f->tmp);
        f->tmp = NULL;
        codec_free(f);
        consign_hash_free(f->h256);
        consign_hash_free(f->h512);
        f->h256 = f->h512 = NULL;
        if (f->xz_index)
            lzma_index_end(f->xz_index, NULL);
        f->xz_index = NULL;
    }
    consign_buf_free(&o->chunk);
    free(o->cuts);
    o->cuts = NULL;
    o->ncuts = o->capcuts = 0;
    consign_hash_free(o->open_h);
    o->open_h = NULL;
    o->nf = 0;
}

/* --- files -------------------------------------------------------------------- */

int
publish_newer_mtime(struct consign_ctx *ctx, const char *tmp, const char *path)
{
    struct stat old, cur;
    struct timespec ts[2];

    if (stat(path, &old) != 0)
        return 0; /* nothing to be newer than */
    if (stat(tmp, &cur) != 0)
        return consign_fail_errno(ctx, errno, "%s", tmp);
    if (cur.st_mtim.tv_sec > old.st_mtim.tv_sec)
        return 0;
    ts[0].tv_sec = ts[1].tv_sec = old.st_mtim.tv_sec + 1;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    if (utimensat(AT_FDCWD, tmp, ts, 0) != 0)
        return consign_fail_errno(ctx, errno, "%s", tmp);
    return 0;
}

int
publish_sync_dir(struct consign_ctx *ctx, const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return consign_fail_errno(ctx, errno, "%s", dir);
    if (fsync(fd) < 0 && errno != EINVAL)
        rc = consign_fail_errno(ctx, errno, "%s", dir);
    close(fd);
    return rc;
}

static char *
tmp_beside(struct consign_ctx *ctx, const char *path)
{
    char *dir = consign_path_dirname_dup(ctx, path), *tmp = NULL;
    if (dir)
        tmp = consign_asprintf(ctx, "%s/" TMP_PREFIX "%ld.%lx", dir, (long)getpid(),
                               (unsigned long)random());
    free(dir);
    return tmp;
}

int
publish_link_replace(struct consign_ctx *ctx, const char *src, const char *dst)
{
    char *tmp = tmp_beside(ctx, dst);
    int rc = 0;

    if (!tmp)
        return CONSIGN_E_NOMEM;
    unlink(tmp);
    if (link(src, tmp) < 0) {
        if (errno != EXDEV && errno != EPERM) {
            rc = consign_fail_errno(ctx, errno, "%s", dst);
            goto out;
        }
        if ((rc = consign_file_copy(ctx, src, tmp, 0644)))
            goto out;
    }
    if (rename(tmp, dst) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", dst);
        goto out;
    }
out:
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

int
publish_import(struct consign_ctx *ctx, const char *src, const char *dst)
{
    char *dir = NULL, *tmp = NULL;
    struct stat sb;
    struct timespec ts[2];
    int rc = 0, fd = -1;

    if (stat(src, &sb) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", src);
        goto out;
    }
    if (!(dir = consign_path_dirname_dup(ctx, dst))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_mkdirs(ctx, dir, 0755)) || !(tmp = tmp_beside(ctx, dst))) {
        rc = rc ? rc : CONSIGN_E_NOMEM;
        goto out;
    }
    unlink(tmp);
    if (link(src, tmp) < 0) {
        if ((rc = consign_file_copy(ctx, src, tmp, 0644)))
            goto out;
        ts[0] = sb.st_atim;
        ts[1] = sb.st_mtim;
        fd = open(tmp, O_RDWR | O_CLOEXEC);
        if (fd < 0 || futimens(fd, ts) < 0 || fsync(fd) < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", tmp);
            goto out;
        }
    }
    if (rename(tmp, dst) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", dst);
        goto out;
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc && tmp)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

int
publish_link_new(struct consign_ctx *ctx, const char *src, const char *dst, struct stat *sb,
                 int *linked)
{
    char *dir = NULL;
    int rc = 0;

    *linked = 0;
    /* AT_SYMLINK_FOLLOW: a package given through a symbolic link is linked
     * itself, as a copy would take it. */
    if (linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) < 0) {
        if (errno != ENOENT)
            goto out; /* EEXIST, EXDEV, EPERM...: left to publish_import */
        if (!(dir = consign_path_dirname_dup(ctx, dst))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = consign_mkdirs(ctx, dir, 0755)))
            goto out;
        if (linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) < 0)
            goto out;
    }
    if (stat(dst, sb) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", dst);
        unlink(dst);
        goto out;
    }
    *linked = 1;
out:
    free(dir);
    return rc;
}

void
publish_unlink_new(const char *root, char *path)
{
    size_t keep = strlen(root) + 5; /* ROOT/pool, ROOT/Packages stay */

    if (unlink(path) < 0 && errno != ENOENT)
        return;
    for (char *slash = strrchr(path, '/'); slash; slash = strrchr(path, '/')) {
        *slash = '\0';
        if (strlen(path) <= keep || rmdir(path) < 0)
            break;
    }
}

int
publish_now(struct consign_ctx *ctx, long long *out)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    unsigned long long v;

    if (sde && *sde) {
        if (consign_parse_u64(sde, 253402300799ULL, &v) != 0)
            return consign_fail(ctx, CONSIGN_E_INVALID, "SOURCE_DATE_EPOCH: not a time: %s", sde);
        *out = (long long)v;
        return 0;
    }
    *out = (long long)time(NULL);
    return 0;
}

void
publish_rfc1123(long long t, char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int
publish_url_ok(struct consign_ctx *ctx, const char *url)
{
    if (strpbrk(url, " \t\n\"'") ||
        (strncmp(url, "https://", 8) && strncmp(url, "http://", 7) && strncmp(url, "file:", 5)))
        return consign_fail(ctx, CONSIGN_E_USAGE, "--url %s: not an http(s) or file URL", url);
    return 0;
}

int
publish_text(struct consign_ctx *ctx, const char *path, const char *text)
{
    return consign_file_write_atomic(ctx, path, text, strlen(text), 0644);
}

int
publish_key_files(struct consign_ctx *ctx, const char *keydir, const char *gpg_path,
                  const char *asc_path, const char *fpr_path)
{
    struct consign_key_info *keys = NULL;
    struct consign_buf bin, asc, fprs;
    char grouped[CONSIGN_FPR_GROUPED_LEN + 1];
    size_t nkeys = 0;
    int rc = 0, pass;

    consign_buf_init(&bin, 1u << 20);
    consign_buf_init(&asc, 1u << 20);
    consign_buf_init(&fprs, 64u << 10);
    if ((rc = consign_keys_list(ctx, keydir, &keys, &nkeys)))
        goto out;
    /* The active key first, then the others still valid (rotation: customers
     * trust the next key before it starts signing). */
    for (pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < nkeys; i++) {
            if ((pass == 0) != (keys[i].active != 0) || keys[i].expired || keys[i].revoked)
                continue;
            if ((rc =
                     consign_keys_export(ctx, keydir, keys[i].fpr, CONSIGN_KEY_FORMAT_APT, &bin)) ||
                (rc = consign_keys_export(ctx, keydir, keys[i].fpr, CONSIGN_KEY_FORMAT_ASC, &asc)))
                goto out;
            consign_keys_fpr_group(keys[i].fpr, grouped);
            if ((rc = consign_buf_printf(ctx, &fprs, "%s\n", grouped)))
                goto out;
        }
    if (!bin.len) {
        rc = consign_fail(ctx, CONSIGN_E_KEY, "%s: no usable key", keydir);
        goto out;
    }
    if ((gpg_path && (rc = consign_file_write_atomic(ctx, gpg_path, bin.data, bin.len, 0644))) ||
        (asc_path && (rc = consign_file_write_atomic(ctx, asc_path, asc.data, asc.len, 0644))) ||
        (fpr_path && (rc = consign_file_write_atomic(ctx, fpr_path, fprs.data, fprs.len, 0644))))
        goto out;
out:
    consign_keys_info_free(keys, nkeys);
    consign_buf_free(&bin);
    consign_buf_free(&asc);
    consign_buf_free(&fprs);
    return rc;
}
