/* Reproducible multi-threaded xz and zstd streams (see consign/compress.h).
 * liblzma and libzstd errors are translated here and never reach callers raw. */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lzma.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "consign/compress.h"

/* Compressed bytes are handed to the sink in blocks of this size. */
#define OUT_SIZE (256u << 10)
/* The default thread count never exceeds this: memory grows with it. */
#define THREADS_MAX 8
/* The limit of CONSIGN_COMPRESS_THREADS. */
#define THREADS_ENV_MAX 64
/* zstd overlap: each job reloads the last 1/8 of the window (1 MiB at
 * level 19) before its own data; 9 (the whole window) compresses a little
 * better and takes noticeably longer. Fixed, as the job size is. */
#define ZSTD_OVERLAP_LOG 6
/* What one zstd worker holds at most at level 19: match tables (~80 MiB),
 * window, its job's input and output. An estimate: libzstd offers none for
 * its workers' mode. */
#define ZSTD_WORKER_MEM (128ull << 20)

struct consign_compressor {
    enum consign_pkg_compress alg;
    consign_block_fn sink;
    void *sink_user;
    lzma_stream xz;
    int xz_open;
    ZSTD_CCtx *zstd;
    unsigned char *out; /* OUT_SIZE bytes, filled up to out_len */
    size_t out_len;
    int rc;       /* the first failure; every later call fails */
    int finished; /* consign_compressor_finish succeeded */
};

static const char *
alg_name(enum consign_pkg_compress alg)
{
    return alg == CONSIGN_COMPRESS_ZSTD ? "zstd" : "xz";
}

/* The CPUs this process may run on: a container's cpuset, not the whole host. */
static unsigned
cpu_count(void)
{
    cpu_set_t set;
    long n;

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* CONSIGN_COMPRESS_THREADS: *out = 0 when unset. */
static int
threads_from_env(struct consign_ctx *ctx, unsigned *out)
{
    const char *s = getenv("CONSIGN_COMPRESS_THREADS");
    unsigned long v;
    char *end;

    *out = 0;
    if (!s || !s[0])
        return 0;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno || *end || v < 1 || v > THREADS_ENV_MAX)
        return consign_fail(ctx, CONSIGN_E_USAGE,
                            "CONSIGN_COMPRESS_THREADS: '%.32s' is not a number from 1 to %d", s,
                            THREADS_ENV_MAX);
    *out = (unsigned)v;
    return 0;
}

/* Bytes the encoders of `threads` threads may hold (an estimate for zstd). */
static uint64_t
memusage(enum consign_pkg_compress alg, int level, unsigned threads)
{
    if (alg == CONSIGN_COMPRESS_XZ) {
        lzma_mt mt;

        memset(&mt, 0, sizeof(mt));
        mt.threads = threads;
        mt.block_size = CONSIGN_COMPRESS_XZ_BLOCK;
        mt.preset = (uint32_t)level;
        mt.check = LZMA_CHECK_CRC64;
        return lzma_stream_encoder_mt_memusage(&mt);
    }
    (void)level;
    return (uint64_t)threads * ZSTD_WORKER_MEM;
}

unsigned
consign_compress_threads(struct consign_ctx *ctx, enum consign_pkg_compress alg, int level)
{
    uint64_t limit = lzma_physmem() / 4;
    unsigned n, min = alg == CONSIGN_COMPRESS_XZ ? 2 : 1;

    if (threads_from_env(ctx, &n))
        return 0;
    if (n)
        return n;
    n = cpu_count();
    if (n > THREADS_MAX)
        n = THREADS_MAX;
    if (n < min)
        n = min;
    /* The output does not depend on the count, so memory may lower it. */
    while (limit && n > min && memusage(alg, level, n) > limit)
        n--;
    return n;
}

static int
xz_fail(struct consign_ctx *ctx, lzma_ret r, const char *what)
{
    switch (r) {
    case LZMA_MEM_ERROR:
        return consign_fail(ctx, CONSIGN_E_NOMEM, "xz: %s: out of memory", what);
    case LZMA_OPTIONS_ERROR:
        return consign_fail(ctx, CONSIGN_E_INTERNAL,
                            "xz: %s: this liblzma does not support the options", what);
    case LZMA_UNSUPPORTED_CHECK:
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "xz: %s: this liblzma has no CRC64", what);
    case LZMA_PROG_ERROR:
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "xz: %s: liblzma: programming error", what);
    default:
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "xz: %s: liblzma error %d", what, (int)r);
    }
}

static int
zstd_fail(struct consign_ctx *ctx, size_t r, const char *what)
{
    if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
        return consign_fail(ctx, CONSIGN_E_NOMEM, "zstd: %s: out of memory", what);
    return consign_fail(ctx, CONSIGN_E_INTERNAL, "zstd: %s: %s", what, ZSTD_getErrorName(r));
}

/* A zstd parameter that must take effect: the output depends on it. */
static int
zstd_set(struct consign_ctx *ctx, ZSTD_CCtx *z, ZSTD_cParameter p, int value, const char *what)
{
    size_t r = ZSTD_CCtx_setParameter(z, p, value);

    if (!ZSTD_isError(r))
        return 0;
    if (p == ZSTD_c_nbWorkers)
        return consign_fail(ctx, CONSIGN_E_INTERNAL,
                            "zstd: this libzstd was built without multithreading");
    return zstd_fail(ctx, r, what);
}

/* Hand the full output buffer (or, at the end, what it holds) to the sink. */
static int
drain(struct consign_ctx *ctx, struct consign_compressor *c)
{
    size_t n = c->out_len;

    if (!n)
        return 0;
    c->out_len = 0;
    return c->sink(ctx, c->sink_user, c->out, n);
}

static int
xz_open(struct consign_ctx *ctx, struct consign_compressor *c, int level, unsigned threads)
{
    lzma_stream init = LZMA_STREAM_INIT;
    lzma_mt mt;
    lzma_ret r;

    /* Every field fixed: the output depends on all of them but threads. */
    memset(&mt, 0, sizeof(mt));
    mt.flags = 0;
    mt.threads = threads;
    mt.block_size = CONSIGN_COMPRESS_XZ_BLOCK;
    mt.timeout = 0;
    mt.preset = (uint32_t)level;
    mt.filters = NULL;
    mt.check = LZMA_CHECK_CRC64;
    c->xz = init;
    if ((r = lzma_stream_encoder_mt(&c->xz, &mt)) != LZMA_OK)
        return xz_fail(ctx, r, "starting the encoder");
    c->xz_open = 1;
    return 0;
}

static int
zstd_open(struct consign_ctx *ctx, struct consign_compressor *c, int level, unsigned threads)
{
    int rc;

    if (!(c->zstd = ZSTD_createCCtx()))
        return consign_fail(ctx, CONSIGN_E_NOMEM, "zstd: out of memory");
    if ((rc = zstd_set(ctx, c->zstd, ZSTD_c_compressionLevel, level, "level")) ||
        (rc = zstd_set(ctx, c->zstd, ZSTD_c_checksumFlag, 1, "checksum")) ||
        (rc = zstd_set(ctx, c->zstd, ZSTD_c_nbWorkers, (int)threads, "workers")) ||
        (rc = zstd_set(ctx, c->zstd, ZSTD_c_jobSize, (int)CONSIGN_COMPRESS_ZSTD_JOB, "job size")) ||
        (rc = zstd_set(ctx, c->zstd, ZSTD_c_overlapLog, ZSTD_OVERLAP_LOG, "overlap")))
        return rc;
    return 0;
}

int
consign_compressor_new(struct consign_ctx *ctx, enum consign_pkg_compress alg, int level,
                       consign_block_fn sink, void *sink_user, struct consign_compressor **out)
{
    struct consign_compressor *c = NULL;
    unsigned threads;
    int rc;

    *out = NULL;
    if (alg != CONSIGN_COMPRESS_XZ && alg != CONSIGN_COMPRESS_ZSTD)
        return consign_fail(ctx, CONSIGN_E_USAGE, "compression: unknown algorithm %d", (int)alg);
    if (alg == CONSIGN_COMPRESS_XZ ? level < 0 || level > 9 : level < 1 || level > 19)
        return consign_fail(ctx, CONSIGN_E_USAGE, "%s: level %d is out of range", alg_name(alg),
                            level);
    if (!sink)
        return consign_fail(ctx, CONSIGN_E_USAGE, "%s: no sink", alg_name(alg));
    if (!(threads = consign_compress_threads(ctx, alg, level)))
        return ctx->err_code ? ctx->err_code : CONSIGN_E_INTERNAL;
    if (!(c = calloc(1, sizeof(*c))) || !(c->out = malloc(OUT_SIZE))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    c->alg = alg;
    c->sink = sink;
    c->sink_user = sink_user;
    rc = alg == CONSIGN_COMPRESS_XZ ? xz_open(ctx, c, level, threads)
                                    : zstd_open(ctx, c, level, threads);
    if (rc)
        goto out;
    *out = c;
    c = NULL;
out:
    consign_compressor_free(c);
    return rc;
}

/* Run liblzma over n bytes (action LZMA_RUN) or to the end (LZMA_FINISH). */
static int
xz_code(struct consign_ctx *ctx, struct consign_compressor *c, const void *p, size_t n,
        lzma_action action)
{
    lzma_ret r;
    int rc;

    c->xz.next_in = p;
    c->xz.avail_in = n;
    for (;;) {
        c->xz.next_out = c->out + c->out_len;
        c->xz.avail_out = OUT_SIZE - c->out_len;
        r = lzma_code(&c->xz, action);
        c->out_len = OUT_SIZE - c->xz.avail_out;
        if (r != LZMA_OK && r != LZMA_STREAM_END)
            return xz_fail(ctx, r, action == LZMA_FINISH ? "finishing" : "compressing");
        if ((c->out_len == OUT_SIZE || r == LZMA_STREAM_END) && (rc = drain(ctx, c)))
            return rc;
        if (r == LZMA_STREAM_END || (action == LZMA_RUN && !c->xz.avail_in))
            return 0;
    }
}

/* Run libzstd over n bytes (ZSTD_e_continue) or to the end of the frame (ZSTD_e_end). */
static int
zstd_code(struct consign_ctx *ctx, struct consign_compressor *c, const void *p, size_t n,
          ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = {p, n, 0};
    size_t left;
    int rc;

    for (;;) {
        ZSTD_outBuffer o = {c->out, OUT_SIZE, c->out_len};

        /* In the workers' mode a call without progress waits for a job, never spins. */
        left = ZSTD_compressStream2(c->zstd, &o, &in, mode);
        c->out_len = o.pos;
        if (ZSTD_isError(left))
            return zstd_fail(ctx, left, mode == ZSTD_e_end ? "finishing" : "compressing");
        if ((c->out_len == OUT_SIZE || (mode == ZSTD_e_end && !left)) && (rc = drain(ctx, c)))
            return rc;
        if (mode == ZSTD_e_end ? !left : in.pos == in.size)
            return 0;
    }
}

/* Refuse a stream that failed or ended: the caller would write a broken one. */
static int
usable(struct consign_ctx *ctx, const struct consign_compressor *c)
{
    if (c->rc)
        return consign_fail(ctx, c->rc, "%s: the stream failed earlier", alg_name(c->alg));
    if (c->finished)
        return consign_fail(ctx, CONSIGN_E_USAGE, "%s: the stream is finished", alg_name(c->alg));
    return 0;
}

int
consign_compressor_write(struct consign_ctx *ctx, struct consign_compressor *c, const void *p,
                         size_t n)
{
    int rc;

    if ((rc = usable(ctx, c)))
        return rc;
    if (!n)
        return 0;
    /* Only ever ZSTD_e_continue here: a first call with ZSTD_e_end would
     * compress differently (single-threaded, size in the header). */
    rc = c->alg == CONSIGN_COMPRESS_XZ ? xz_code(ctx, c, p, n, LZMA_RUN)
                                       : zstd_code(ctx, c, p, n, ZSTD_e_continue);
    c->rc = rc;
    return rc;
}

int
consign_compressor_finish(struct consign_ctx *ctx, struct consign_compressor *c)
{
    int rc;

    if ((rc = usable(ctx, c)))
        return rc;
    rc = c->alg == CONSIGN_COMPRESS_XZ ? xz_code(ctx, c, NULL, 0, LZMA_FINISH)
                                       : zstd_code(ctx, c, NULL, 0, ZSTD_e_end);
    c->rc = rc;
    c->finished = !rc;
    return rc;
}

void
consign_compressor_free(struct consign_compressor *c)
{
    if (!c)
        return;
    if (c->xz_open)
        lzma_end(&c->xz);
    ZSTD_freeCCtx(c->zstd);
    free(c->out);
    free(c);
}
