/* The x86 branch filter: known rewrites, exact inversion for any bytes cut
 * anywhere, and the tar writer and reader carrying filtered files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/fileio.h"
#include "consign/tar.h"
#include "consign/x86filter.h"

/* A small deterministic generator (the tests must not depend on rand()). */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static unsigned
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 16);
}

/* Bytes dense in what the filter looks at: opcodes E8/E9 and top bytes 00/FF. */
static void
fill_code_like(unsigned char *p, size_t n)
{
    static const unsigned char pick[] = {0xE8, 0xE9, 0x00, 0xFF, 0x48, 0x89};
    for (size_t i = 0; i < n; i++)
        p[i] = next() % 3 ? pick[next() % sizeof(pick)] : (unsigned char)next();
}

/* Run the whole buffer through the filter in pieces of random size, the way
 * the tar writer and reader do (undecided bytes carried to the next piece);
 * the last undecided bytes stay as they are. */
static void
run_chunked(unsigned char *p, size_t n, int decode, size_t maxpiece)
{
    struct consign_x86f f;
    size_t start = 0, avail = 0;

    consign_x86f_init(&f, decode);
    while (start + avail < n) {
        size_t piece = 1 + next() % maxpiece;
        if (piece > n - start - avail)
            piece = n - start - avail;
        avail += piece;
        size_t done = consign_x86f_run(&f, p + start, avail);
        assert_true(avail - done <= 4);
        start += done;
        avail -= done;
    }
    assert_int_equal(f.pos, start);
}

static void
test_known_rewrites(void **state)
{
    unsigned char b[0x140];
    struct consign_x86f f;
    (void)state;

    memset(b, 0x90, sizeof(b));
    /* A call at 0x100 to +0x10: the displacement becomes 0x110. */
    memcpy(b + 0x100, "\xE8\x10\x00\x00\x00", 5);
    /* A jump at 0x20 to -16: (-16 + 0x20) mod 2^25 = 0x10. */
    memcpy(b + 0x20, "\xE9\xF0\xFF\xFF\xFF", 5);
    /* A call at 0x40 to -0x50: (-0x50 + 0x40) mod 2^25 = 2^25 - 0x10, bit
     * 24 set, so the top byte is 0xFF. */
    memcpy(b + 0x40, "\xE8\xB0\xFF\xFF\xFF", 5);
    /* E8 with a far displacement (top byte 0x12) is left, and so is the E8
     * two bytes into it: the next decision is 4 bytes on. */
    memcpy(b + 0x60, "\xE8\x00\xE8\x05\x12\x00\x00", 7);
    consign_x86f_init(&f, 0);
    assert_int_equal(consign_x86f_run(&f, b, sizeof(b)), sizeof(b) - 4);
    assert_memory_equal(b + 0x100, "\xE8\x10\x01\x00\x00", 5);
    assert_memory_equal(b + 0x20, "\xE9\x10\x00\x00\x00", 5);
    assert_memory_equal(b + 0x40, "\xE8\xF0\xFF\xFF\xFF", 5);
    assert_memory_equal(b + 0x60, "\xE8\x00\xE8\x05\x12\x00\x00", 7);
    consign_x86f_init(&f, 1);
    assert_int_equal(consign_x86f_run(&f, b, sizeof(b)), sizeof(b) - 4);
    assert_memory_equal(b + 0x100, "\xE8\x10\x00\x00\x00", 5);
    assert_memory_equal(b + 0x20, "\xE9\xF0\xFF\xFF\xFF", 5);
    assert_memory_equal(b + 0x40, "\xE8\xB0\xFF\xFF\xFF", 5);

    /* Fewer than 5 bytes: nothing decided. */
    consign_x86f_init(&f, 0);
    assert_int_equal(consign_x86f_run(&f, b, 4), 0);
    assert_int_equal(consign_x86f_run(&f, b, 0), 0);
}

/* Decode(encode(x)) == x for code-like and random bytes, whatever the
 * pieces; and the encoding does not depend on how the input was cut. */
static void
test_inverse_any_chunking(void **state)
{
    size_t n = 1 << 20, changed = 0;
    unsigned char *orig = malloc(n), *a = malloc(n), *b = malloc(n);
    (void)state;

    assert_non_null(orig);
    assert_non_null(a);
    assert_non_null(b);
    for (int round = 0; round < 6; round++) {
        if (round % 2)
            for (size_t i = 0; i < n; i++)
                orig[i] = (unsigned char)next();
        else
            fill_code_like(orig, n);
        memcpy(a, orig, n);
        memcpy(b, orig, n);
        run_chunked(a, n, 0, round < 2 ? 7 : 100000);
        run_chunked(b, n, 0, n);
        assert_memory_equal(a, b, n);
        for (size_t i = 0; i < n; i++)
            changed += a[i] != orig[i];
        run_chunked(a, n, 1, round < 4 ? 3 : 65536);
        assert_memory_equal(a, orig, n);
    }
    assert_true(changed > 1000); /* the filter did rewrite something */
    free(orig);
    free(a);
    free(b);
}

static void
test_wanted(void **state)
{
    unsigned char h[64];
    (void)state;

    memset(h, 0, sizeof(h));
    memcpy(h, "\177ELF\2\1\1", 7);
    h[18] = 62; /* EM_X86_64 */
    assert_true(consign_x86f_wanted(h, sizeof(h)));
    h[18] = 3; /* EM_386 */
    assert_true(consign_x86f_wanted(h, sizeof(h)));
    h[18] = 183; /* EM_AARCH64 */
    assert_false(consign_x86f_wanted(h, sizeof(h)));
    h[18] = 62;
    assert_false(consign_x86f_wanted(h, 19));
    h[5] = 2; /* big-endian */
    assert_false(consign_x86f_wanted(h, sizeof(h)));
    assert_false(consign_x86f_wanted((const unsigned char *)"#!/bin/sh\n echo hello world", 27));
}

/* --- through tar ----------------------------------------------------------- */

static int
sink_buf(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_buf_append(ctx, user, p, n);
}

struct got {
    struct consign_buf data;
    int files;
};

static int
on_data(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct got *g = user;
    return consign_buf_append(ctx, &g->data, p, n);
}

static int
on_entry(struct consign_ctx *ctx, void *user, const struct consign_tar_entry *e)
{
    struct got *g = user;
    (void)ctx;
    g->files += e->type == CONSIGN_TAR_FILE;
    return 0;
}

/* Feed an archive in pieces of random size; the reader's return code. */
static int
read_back(struct consign_ctx *ctx, const struct consign_buf *tar, struct got *g)
{
    struct consign_tar_callbacks cb = {on_entry, on_data, NULL};
    struct consign_tar_reader *r = NULL;
    size_t pos = 0;
    int rc;

    consign_buf_init(&g->data, 1 << 22);
    g->files = 0;
    if ((rc = consign_tar_reader_new(ctx, NULL, &cb, g, &r)))
        return rc;
    while (!rc && pos < tar->len) {
        size_t piece = 1 + next() % 70000;
        if (piece > tar->len - pos)
            piece = tar->len - pos;
        rc = consign_tar_reader_feed(ctx, r, tar->data + pos, piece);
        pos += piece;
    }
    if (!rc)
        rc = consign_tar_reader_finish(ctx, r);
    consign_tar_reader_free(r);
    return rc;
}

static void
test_tar_round_trip(void **state)
{
    struct consign_ctx ctx;
    struct consign_tar_writer *w = NULL;
    struct consign_buf tar;
    struct got g;
    size_t n = 300001;
    unsigned char *code = malloc(n);
    (void)state;

    assert_non_null(code);
    consign_ctx_init(&ctx, NULL, NULL);
    fill_code_like(code, n);
    consign_buf_init(&tar, 1 << 22);
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &tar, &w), 0);
    assert_int_equal(consign_tar_write_file_begin_ext(&ctx, w, "lib/libx.so", 0755, n, 1700000000LL,
                                                      CONSIGN_TAR_X86),
                     0);
    /* The writer gets the file in uneven pieces. */
    for (size_t pos = 0; pos < n;) {
        size_t piece = 1 + next() % 9000;
        if (piece > n - pos)
            piece = n - pos;
        assert_int_equal(consign_tar_write_data(&ctx, w, code + pos, piece), 0);
        pos += piece;
    }
    assert_int_equal(consign_tar_write_file_end(&ctx, w), 0);
    /* A plain file after it is not filtered. */
    assert_int_equal(consign_tar_write_file_begin(&ctx, w, "lib/plain", 0644, 10, 1700000000LL), 0);
    assert_int_equal(
        consign_tar_write_data(&ctx, w, "\xE8\x10\x00\x00\x00\xE8\x10\x00\x00\x00", 10), 0);
    assert_int_equal(consign_tar_write_file_end(&ctx, w), 0);
    assert_int_equal(consign_tar_writer_finish(&ctx, w), 0);
    consign_tar_writer_free(w);

    /* The archive marks the file and holds it rewritten. */
    assert_non_null(memmem(tar.data, tar.len, "CONSIGN.filter=x86\n", 19));
    assert_null(memmem(tar.data, tar.len, code + 1000, 64));
    assert_non_null(memmem(tar.data, tar.len, "\xE8\x10\x00\x00\x00\xE8\x10\x00\x00\x00", 10));

    assert_int_equal(read_back(&ctx, &tar, &g), 0);
    assert_int_equal(g.files, 2);
    assert_int_equal(g.data.len, n + 10);
    assert_memory_equal(g.data.data, code, n);
    assert_memory_equal(g.data.data + n, "\xE8\x10\x00\x00\x00\xE8\x10\x00\x00\x00", 10);
    consign_buf_free(&g.data);
    consign_buf_free(&tar);
    free(code);
}

/* Replace the first occurrence of from (same length) in the archive and fix
 * the checksum of the 512-byte header it is in or follows. */
static void
patch_pax(struct consign_buf *tar, const char *from, const char *to)
{
    unsigned char *p = memmem(tar->data, tar->len, from, strlen(from));
    assert_non_null(p);
    memcpy(p, to, strlen(to));
}

static void
test_tar_refusals(void **state)
{
    struct consign_ctx ctx;
    struct consign_tar_writer *w = NULL;
    struct consign_buf tar;
    struct got g;
    (void)state;

    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&tar, 1 << 22);
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &tar, &w), 0);
    assert_int_equal(
        consign_tar_write_file_begin_ext(&ctx, w, "a", 0644, 16, 1700000000LL, CONSIGN_TAR_X86), 0);
    assert_int_equal(consign_tar_write_data(&ctx, w,
                                            "ab\xE8\x10\x00\x00\x00"
                                            "cdef\xE9\1\2\3\xFF"
                                            "g",
                                            16),
                     0);
    assert_int_equal(consign_tar_write_file_end(&ctx, w), 0);
    assert_int_equal(consign_tar_writer_finish(&ctx, w), 0);
    consign_tar_writer_free(w);
    /* Unknown flags are a usage error. */
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &tar, &w), 0);
    assert_int_equal(consign_tar_write_file_begin_ext(&ctx, w, "a", 0644, 6, 0, 0x80),
                     CONSIGN_E_USAGE);
    consign_tar_writer_free(w);

    /* A fuzz seed (fuzz/corpus/tar/README) when asked. */
    if (getenv("CONSIGN_TAR_SEEDS")) {
        char path[512];
        snprintf(path, sizeof(path), "%s/ours-x86.tar", getenv("CONSIGN_TAR_SEEDS"));
        assert_int_equal(consign_file_write_atomic(&ctx, path, tar.data, tar.len, 0644), 0);
    }
    /* An unknown filter value (same length, so the record stays well formed:
     * the pax data is not covered by the header checksum). */
    patch_pax(&tar, "CONSIGN.filter=x86", "CONSIGN.filter=arm");
    assert_int_equal(read_back(&ctx, &tar, &g), CONSIGN_E_SYNTAX);
    assert_non_null(strstr(consign_err_msg(&ctx), "unknown CONSIGN.filter value"));
    consign_buf_free(&g.data);
    consign_buf_free(&tar);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_rewrites), cmocka_unit_test(test_inverse_any_chunking),
        cmocka_unit_test(test_wanted),         cmocka_unit_test(test_tar_round_trip),
        cmocka_unit_test(test_tar_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
