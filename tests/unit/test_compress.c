/* consign_compressor: xz and zstd streams that decode to their input and are
 * byte-for-byte the same whatever the number of threads (forced with
 * CONSIGN_COMPRESS_THREADS) and however the input is cut into writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lzma.h>
#include <zstd.h>

#include "consign/compress.h"

#define XZ   CONSIGN_COMPRESS_XZ
#define ZSTD CONSIGN_COMPRESS_ZSTD

/* A growing output buffer for the sink. */
struct out {
    unsigned char *p;
    size_t len, cap;
    size_t fail_after; /* 0: never; else fail once len would exceed it */
    unsigned calls;
};

static int
sink(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct out *o = user;

    o->calls++;
    if (o->fail_after && o->len + n > o->fail_after)
        return consign_fail(ctx, CONSIGN_E_IO, "test sink: disk full");
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 1 << 16;
        while (cap < o->len + n)
            cap *= 2;
        o->p = realloc(o->p, cap);
        assert_non_null(o->p);
        o->cap = cap;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

/* Deterministic input that compresses about as well as a program tree: words
 * from a small vocabulary, with stretches of noise. */
static unsigned char *
make_input(size_t n)
{
    static const char *const words[] = {"class ",  "java/lang/", "Object", "\n",     "\0\0\0\0",
                                        "return ", "consign",    "agent ", "0123",   "libjvm",
                                        "String",  " = ",        "();",    "\t\t\t", "ELF"};
    unsigned char *p = malloc(n ? n : 1);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t i = 0;

    assert_non_null(p);
    while (i < n) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        if ((x >> 60) == 0) {
            size_t k = (size_t)(x >> 32) % 200;
            while (k-- && i < n) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                p[i++] = (unsigned char)(x >> 56);
            }
        } else {
            const char *w = words[(x >> 33) % (sizeof(words) / sizeof(words[0]))];
            size_t k = w[0] ? strlen(w) : 4;
            for (size_t j = 0; j < k && i < n; j++)
                p[i++] = (unsigned char)w[j];
        }
    }
    return p;
}

static void
set_threads(unsigned threads)
{
    char s[16];

    if (!threads) {
        unsetenv("CONSIGN_COMPRESS_THREADS");
        return;
    }
    snprintf(s, sizeof(s), "%u", threads);
    setenv("CONSIGN_COMPRESS_THREADS", s, 1);
}

/* Compress in writes of at most chunk bytes with threads threads (0: default). */
static struct out
compress(enum consign_pkg_compress alg, int level, unsigned threads, const unsigned char *in,
         size_t n, size_t chunk)
{
    struct consign_ctx ctx;
    struct consign_compressor *c = NULL;
    struct out o = {0};
    size_t i;

    consign_ctx_init(&ctx, NULL, NULL);
    set_threads(threads);
    assert_int_equal(consign_compressor_new(&ctx, alg, level, sink, &o, &c), 0);
    set_threads(0);
    for (i = 0; i < n; i += chunk) {
        size_t k = n - i < chunk ? n - i : chunk;
        assert_int_equal(consign_compressor_write(&ctx, c, in + i, k), 0);
    }
    assert_int_equal(consign_compressor_finish(&ctx, c), 0);
    consign_compressor_free(c);
    return o;
}

static unsigned char *
unxz(const struct out *o, size_t *len)
{
    lzma_stream s = LZMA_STREAM_INIT;
    size_t cap = 1 << 20;
    unsigned char *p = malloc(cap);
    lzma_ret r;

    assert_non_null(p);
    assert_int_equal(lzma_stream_decoder(&s, UINT64_MAX, LZMA_TELL_UNSUPPORTED_CHECK), LZMA_OK);
    s.next_in = o->p;
    s.avail_in = o->len;
    s.next_out = p;
    s.avail_out = cap;
    do {
        if (!s.avail_out) {
            p = realloc(p, cap * 2);
            assert_non_null(p);
            s.next_out = p + cap;
            s.avail_out = cap;
            cap *= 2;
        }
        r = lzma_code(&s, LZMA_FINISH);
    } while (r == LZMA_OK);
    assert_int_equal(r, LZMA_STREAM_END);
    assert_int_equal(s.avail_in, 0);
    *len = cap - s.avail_out;
    lzma_end(&s);
    return p;
}

static unsigned char *
unzstd(const struct out *o, size_t *len)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer in = {o->p, o->len, 0};
    size_t cap = 1 << 20, r;
    ZSTD_outBuffer out = {malloc(cap), cap, 0};

    assert_non_null(d);
    assert_non_null(out.dst);
    do {
        if (out.pos == out.size) {
            out.size *= 2;
            out.dst = realloc(out.dst, out.size);
            assert_non_null(out.dst);
        }
        r = ZSTD_decompressStream(d, &out, &in);
        assert_false(ZSTD_isError(r));
    } while (r && in.pos < in.size);
    assert_int_equal(r, 0);
    assert_int_equal(in.pos, in.size);
    *len = out.pos;
    ZSTD_freeDCtx(d);
    return out.dst;
}

/* The xz stream's number of blocks, from its index. */
static uint64_t
xz_blocks(const struct out *o)
{
    lzma_stream_flags f;
    lzma_index *idx = NULL;
    uint64_t memlimit = UINT64_MAX, n;
    size_t pos;

    assert_true(o->len >= 24);
    assert_int_equal(lzma_stream_footer_decode(&f, o->p + o->len - LZMA_STREAM_HEADER_SIZE),
                     LZMA_OK);
    assert_int_equal(f.check, LZMA_CHECK_CRC64);
    pos = o->len - LZMA_STREAM_HEADER_SIZE - (size_t)f.backward_size;
    assert_int_equal(lzma_index_buffer_decode(&idx, &memlimit, NULL, o->p, &pos,
                                              o->len - LZMA_STREAM_HEADER_SIZE),
                     LZMA_OK);
    n = lzma_index_block_count(idx);
    lzma_index_end(idx, NULL);
    return n;
}

static void
check_round_trip(enum consign_pkg_compress alg, const struct out *o, const unsigned char *in,
                 size_t n)
{
    size_t len = 0;
    unsigned char *back = alg == XZ ? unxz(o, &len) : unzstd(o, &len);

    assert_int_equal(len, n);
    assert_true(n == 0 || memcmp(back, in, n) == 0);
    free(back);
    if (alg == XZ) {
        /* CRC64, as xz and dpkg-deb write it; one block per started 8 MiB. */
        assert_int_equal(o->p[7], LZMA_CHECK_CRC64);
        assert_int_equal(xz_blocks(o),
                         (n + CONSIGN_COMPRESS_XZ_BLOCK - 1) / CONSIGN_COMPRESS_XZ_BLOCK);
    } else {
        /* A content checksum in the frame header descriptor. */
        assert_true(o->len > 5);
        assert_true(o->p[4] & 0x04);
    }
}

static void
assert_same(const struct out *a, const struct out *b)
{
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->p, b->p, a->len);
}

/* Compress with each thread count and write size; all outputs identical. */
static void
check_stable(enum consign_pkg_compress alg, int level, size_t n, const unsigned *threads,
             size_t nthreads)
{
    unsigned char *in = make_input(n);
    struct out first = compress(alg, level, threads[0], in, n, 65536);
    size_t i;

    check_round_trip(alg, &first, in, n);
    for (i = 1; i < nthreads; i++) {
        /* Odd write sizes too: libarchive's are not fixed either. */
        struct out o = compress(alg, level, threads[i], in, n, i % 2 ? 10240 : 1000003);
        assert_same(&first, &o);
        free(o.p);
    }
    free(first.p);
    free(in);
}

static void
test_xz_empty(void **state)
{
    static const unsigned t[] = {1, 2, 4, 0};
    (void)state;
    check_stable(XZ, 6, 0, t, 4);
}

static void
test_zstd_empty(void **state)
{
    static const unsigned t[] = {1, 2, 4, 0};
    (void)state;
    check_stable(ZSTD, 19, 0, t, 4);
}

static void
test_xz_small(void **state)
{
    static const unsigned t[] = {2, 1, 3, 0};
    (void)state;
    check_stable(XZ, 6, 1, t, 4);
    check_stable(XZ, 6, 300000, t, 4);
}

static void
test_zstd_small(void **state)
{
    static const unsigned t[] = {2, 1, 3, 0};
    (void)state;
    check_stable(ZSTD, 19, 1, t, 4);
    check_stable(ZSTD, 19, 300000, t, 4);
}

/* More than two blocks, so that the threads really do run side by side
 * (level 0: the block layout is the same at every level, and it is fast). */
static void
test_xz_large(void **state)
{
    static const unsigned t[] = {1, 3, 0};
    (void)state;
    check_stable(XZ, 0, 2 * CONSIGN_COMPRESS_XZ_BLOCK + 12345, t, 3);
}

/* The block size is exact: a stream of exactly one block has one. */
static void
test_xz_block_boundary(void **state)
{
    static const unsigned t[] = {2, 3};
    (void)state;
    check_stable(XZ, 0, CONSIGN_COMPRESS_XZ_BLOCK, t, 2);
}

static void
test_zstd_large(void **state)
{
    static const unsigned t[] = {1, 2, 3, 4, 8, 0};
    (void)state;
    check_stable(ZSTD, 3, 3 * CONSIGN_COMPRESS_ZSTD_JOB + 12345, t, 6);
}

/* zstd at the writers' level over more than one job: level 19 has its own
 * overlap and window. */
static void
test_zstd_level19(void **state)
{
    static const unsigned t[] = {1, 3};
    (void)state;
    check_stable(ZSTD, 19, CONSIGN_COMPRESS_ZSTD_JOB + 4096, t, 2);
}

static void
test_threads(void **state)
{
    struct consign_ctx ctx;
    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    set_threads(0);
    assert_true(consign_compress_threads(&ctx, XZ, 6) >= 2);
    assert_true(consign_compress_threads(&ctx, XZ, 6) <= 8);
    assert_true(consign_compress_threads(&ctx, ZSTD, 19) >= 1);
    set_threads(5);
    assert_int_equal(consign_compress_threads(&ctx, XZ, 6), 5);
    setenv("CONSIGN_COMPRESS_THREADS", "0", 1);
    assert_int_equal(consign_compress_threads(&ctx, XZ, 6), 0);
    assert_int_equal(ctx.err_code, CONSIGN_E_USAGE);
    assert_non_null(strstr(consign_err_msg(&ctx), "CONSIGN_COMPRESS_THREADS"));
    setenv("CONSIGN_COMPRESS_THREADS", "4x", 1);
    assert_int_equal(consign_compress_threads(&ctx, ZSTD, 19), 0);
    setenv("CONSIGN_COMPRESS_THREADS", "-1", 1);
    assert_int_equal(consign_compress_threads(&ctx, ZSTD, 19), 0);
    setenv("CONSIGN_COMPRESS_THREADS", "65", 1);
    assert_int_equal(consign_compress_threads(&ctx, ZSTD, 19), 0);
    set_threads(0);
}

static void
test_bad_arguments(void **state)
{
    struct consign_ctx ctx;
    struct consign_compressor *c = (void *)1;
    struct out o = {0};
    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_compressor_new(&ctx, XZ, 10, sink, &o, &c), CONSIGN_E_USAGE);
    assert_null(c);
    assert_int_equal(consign_compressor_new(&ctx, ZSTD, 0, sink, &o, &c), CONSIGN_E_USAGE);
    assert_int_equal(consign_compressor_new(&ctx, ZSTD, 20, sink, &o, &c), CONSIGN_E_USAGE);
    assert_int_equal(consign_compressor_new(&ctx, (enum consign_pkg_compress)7, 1, sink, &o, &c),
                     CONSIGN_E_USAGE);
    setenv("CONSIGN_COMPRESS_THREADS", "many", 1);
    assert_int_equal(consign_compressor_new(&ctx, XZ, 6, sink, &o, &c), CONSIGN_E_USAGE);
    assert_null(c);
    set_threads(0);
    consign_compressor_free(NULL);
}

/* A sink error comes back unchanged, and the stream refuses more. */
static void
sink_failure(enum consign_pkg_compress alg)
{
    struct consign_ctx ctx;
    struct consign_compressor *c = NULL;
    struct out o = {.fail_after = 1000};
    unsigned char *in = make_input(4 << 20);
    int rc = 0;
    size_t i;

    consign_ctx_init(&ctx, NULL, NULL);
    set_threads(2);
    assert_int_equal(consign_compressor_new(&ctx, alg, 1, sink, &o, &c), 0);
    set_threads(0);
    for (i = 0; !rc && i < (4u << 20); i += 65536)
        rc = consign_compressor_write(&ctx, c, in + i, 65536);
    if (!rc)
        rc = consign_compressor_finish(&ctx, c);
    assert_int_equal(rc, CONSIGN_E_IO);
    assert_string_equal(consign_err_msg(&ctx), "test sink: disk full");
    assert_int_equal(consign_compressor_write(&ctx, c, in, 10), CONSIGN_E_IO);
    assert_int_equal(consign_compressor_finish(&ctx, c), CONSIGN_E_IO);
    consign_compressor_free(c);
    free(o.p);
    free(in);
}

static void
test_sink_failure(void **state)
{
    (void)state;
    sink_failure(XZ);
    sink_failure(ZSTD);
}

static void
test_finish_twice(void **state)
{
    struct consign_ctx ctx;
    struct consign_compressor *c = NULL;
    struct out o = {0};
    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_compressor_new(&ctx, ZSTD, 19, sink, &o, &c), 0);
    assert_int_equal(consign_compressor_write(&ctx, c, "abc", 3), 0);
    assert_int_equal(consign_compressor_finish(&ctx, c), 0);
    assert_int_equal(consign_compressor_finish(&ctx, c), CONSIGN_E_USAGE);
    assert_int_equal(consign_compressor_write(&ctx, c, "abc", 3), CONSIGN_E_USAGE);
    consign_compressor_free(c);
    check_round_trip(ZSTD, &o, (const unsigned char *)"abc", 3);
    free(o.p);
}

/* A stream dropped before its end: the workers stop, nothing leaks (ASan). */
static void
test_free_unfinished(void **state)
{
    struct consign_ctx ctx;
    struct consign_compressor *c = NULL;
    struct out o = {0};
    unsigned char *in = make_input(CONSIGN_COMPRESS_XZ_BLOCK + 100);
    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_compressor_new(&ctx, XZ, 0, sink, &o, &c), 0);
    assert_int_equal(consign_compressor_write(&ctx, c, in, CONSIGN_COMPRESS_XZ_BLOCK + 100), 0);
    consign_compressor_free(c);
    c = NULL;
    assert_int_equal(consign_compressor_new(&ctx, ZSTD, 3, sink, &o, &c), 0);
    assert_int_equal(consign_compressor_write(&ctx, c, in, CONSIGN_COMPRESS_XZ_BLOCK + 100), 0);
    consign_compressor_free(c);
    free(o.p);
    free(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),         cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_xz_empty),        cmocka_unit_test(test_zstd_empty),
        cmocka_unit_test(test_xz_small),        cmocka_unit_test(test_zstd_small),
        cmocka_unit_test(test_xz_large),        cmocka_unit_test(test_xz_block_boundary),
        cmocka_unit_test(test_zstd_large),      cmocka_unit_test(test_zstd_level19),
        cmocka_unit_test(test_sink_failure),    cmocka_unit_test(test_finish_twice),
        cmocka_unit_test(test_free_unfinished),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
