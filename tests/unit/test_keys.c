/* Release keys: expiry parsing, fingerprint grouping and the OpenPGP packet
 * pieces consign writes itself (no GnuPG needed). The reference signature is
 * gpg 2.2.40's, by an Ed25519 key with --faked-system-time 1800000000!. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/hash.h"
#include "consign/keys.h"

#include "../../keys/src/openpgp.h"

#define DAY 86400ULL

/* Parse s and return the seconds, failing the test when parsing fails. */
static unsigned long long
expire_ok(const char *s)
{
    struct consign_ctx ctx;
    unsigned long long v = 12345;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_keys_parse_expire(&ctx, s, &v), CONSIGN_OK);
    return v;
}

/* Parsing s must fail with CONSIGN_E_INVALID, a message, and leave out alone. */
static void
expire_bad(const char *s)
{
    struct consign_ctx ctx;
    unsigned long long v = 12345;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_keys_parse_expire(&ctx, s, &v), CONSIGN_E_INVALID);
    assert_int_equal(ctx.err_code, CONSIGN_E_INVALID);
    assert_true(strlen(consign_err_msg(&ctx)) > 10);
    assert_int_equal(v, 12345);
}

static void
test_expire_units(void **state)
{
    (void)state;
    assert_int_equal(expire_ok("2y"), 730 * DAY);
    assert_int_equal(expire_ok("1y"), 365 * DAY);
    assert_int_equal(expire_ok("18m"), 18 * 30 * DAY);
    assert_int_equal(expire_ok("6w"), 42 * DAY);
    assert_int_equal(expire_ok("30d"), 30 * DAY);
    assert_int_equal(expire_ok("3600s"), 3600);
    assert_int_equal(expire_ok("1s"), 1);
    assert_int_equal(expire_ok("007d"), 7 * DAY);
}

static void
test_expire_never(void **state)
{
    (void)state;
    assert_int_equal(expire_ok("0"), 0);
    assert_int_equal(expire_ok("never"), 0);
    /* A zero period also means "does not expire", as in gpg. */
    assert_int_equal(expire_ok("0d"), 0);
}

static void
test_expire_limits(void **state)
{
    (void)state;
    /* OpenPGP keeps the validity period in 32 bits of seconds. */
    assert_int_equal(expire_ok("4294967295s"), 4294967295ULL);
    assert_int_equal(expire_ok("136y"), 136 * 365 * DAY);
    expire_bad("4294967296s");
    expire_bad("137y");
    expire_bad("49711d");
    /* Overflow of the number itself, and of number times unit. */
    expire_bad("18446744073709551615s");
    expire_bad("18446744073709551616s");
    expire_bad("99999999999999999999y");
    expire_bad("1000000000000000000000000d");
    expire_bad("213503982334601y");
}

static void
test_expire_garbage(void **state)
{
    (void)state;
    expire_bad("");
    expire_bad(NULL);
    expire_bad("y");
    expire_bad("2");
    expire_bad("2x");
    expire_bad("2Y");
    expire_bad("2 y");
    expire_bad(" 2y");
    expire_bad("2y ");
    expire_bad("-2y");
    expire_bad("+2y");
    expire_bad("2yy");
    expire_bad("1y6m");
    expire_bad("0x10d");
    expire_bad("2.5y");
    expire_bad("Never");
    expire_bad("nevers");
    expire_bad("00");
}

static void
test_fpr_group(void **state)
{
    char out[CONSIGN_FPR_GROUPED_LEN + 1];

    (void)state;
    consign_keys_fpr_group("FCB9DC04DE502CBA0F39BFAFBFB4716B93A8397B", out);
    assert_string_equal(out, "FCB9 DC04 DE50 2CBA 0F39  BFAF BFB4 716B 93A8 397B");
    assert_int_equal(strlen(out), CONSIGN_FPR_GROUPED_LEN);
    /* Lower case is raised; an already grouped form comes out unchanged. */
    consign_keys_fpr_group("fcb9dc04de502cba0f39bfafbfb4716b93a8397b", out);
    assert_string_equal(out, "FCB9 DC04 DE50 2CBA 0F39  BFAF BFB4 716B 93A8 397B");
    consign_keys_fpr_group("FCB9 DC04 DE50 2CBA 0F39  BFAF BFB4 716B 93A8 397B", out);
    assert_string_equal(out, "FCB9 DC04 DE50 2CBA 0F39  BFAF BFB4 716B 93A8 397B");
    consign_keys_fpr_group("0000000000000000000000000000000000000000", out);
    assert_string_equal(out, "0000 0000 0000 0000 0000  0000 0000 0000 0000 0000");
}

static void
test_fpr_group_invalid(void **state)
{
    char out[CONSIGN_FPR_GROUPED_LEN + 1];

    (void)state;
    /* Anything but 40 hex digits gives an empty string, never a partial group. */
    memset(out, 'x', sizeof(out));
    consign_keys_fpr_group("FCB9DC04DE502CBA0F39BFAFBFB4716B93A8397", out);
    assert_string_equal(out, "");
    memset(out, 'x', sizeof(out));
    consign_keys_fpr_group("FCB9DC04DE502CBA0F39BFAFBFB4716B93A8397BA", out);
    assert_string_equal(out, "");
    consign_keys_fpr_group("FCB9DC04DE502CBA0F39BFAFBFB4716B93A8397G", out);
    assert_string_equal(out, "");
    consign_keys_fpr_group("0xFCB9DC04DE502CBA0F39BFAFBFB4716B93A8397B", out);
    assert_string_equal(out, "");
    consign_keys_fpr_group("", out);
    assert_string_equal(out, "");
    consign_keys_fpr_group(NULL, out);
    assert_string_equal(out, "");
    /* A 64-digit (v5) fingerprint does not fit the v4 form. */
    consign_keys_fpr_group("FCB9DC04DE502CBA0F39BFAFBFB4716B93A8397BFCB9DC04DE502CBA0F39BFAF", out);
    assert_string_equal(out, "");
}

/* The text gpg signed: trailing blanks, a dash line, a "From " line, a CR,
 * empty and blank lines, no final newline. */
static const char gpg_text[] = "Origin: x  \n-dash\nFrom me\n\tTab \t\ncr\r\n\n  \nlast no nl  ";

/* gpg --detach-sign of gpg_text (binary document, EdDSA, SHA-512). */
static const unsigned char gpg_sig[] = {
    0x88, 0x75, 0x04, 0x00, 0x16, 0x0a, 0x00, 0x1d, 0x16, 0x21, 0x04, 0x3e, 0xe2, 0x7e, 0x04,
    0x94, 0xa9, 0xbc, 0xa1, 0x10, 0x81, 0xa4, 0x27, 0x2a, 0xa1, 0xab, 0xc6, 0x04, 0x8d, 0xe4,
    0xd0, 0x05, 0x02, 0x6b, 0x49, 0xd2, 0x00, 0x00, 0x0a, 0x09, 0x10, 0x2a, 0xa1, 0xab, 0xc6,
    0x04, 0x8d, 0xe4, 0xd0, 0xee, 0xa8, 0x01, 0x00, 0xdb, 0xc7, 0xa9, 0xa5, 0xc0, 0x7d, 0xfd,
    0xe4, 0x7b, 0x6e, 0x7a, 0xff, 0xb4, 0xeb, 0x6c, 0xc3, 0x20, 0x70, 0xe0, 0x4f, 0x23, 0xe1,
    0x5c, 0x8f, 0x9f, 0xf1, 0xbb, 0xda, 0xda, 0x00, 0x96, 0x18, 0x01, 0x00, 0xba, 0x8a, 0x25,
    0x8a, 0xba, 0xfe, 0x8b, 0x3b, 0xbc, 0xf0, 0x9f, 0xf6, 0x02, 0xc3, 0xd2, 0xda, 0x0b, 0x80,
    0xa3, 0x19, 0x33, 0xc4, 0xbc, 0x17, 0xdd, 0xa7, 0x75, 0x00, 0x50, 0x98, 0xde, 0x02};

/* gpg --armor --detach-sign of the same: the same packet, armored. */
static const char gpg_armored[] =
    "-----BEGIN PGP SIGNATURE-----\n"
    "\n"
    "iHUEABYKAB0WIQQ+4n4ElKm8oRCBpCcqoavGBI3k0AUCa0nSAAAKCRAqoavGBI3k\n"
    "0O6oAQDbx6mlwH395Htuev+062zDIHDgTyPhXI+f8bva2gCWGAEAuoolirr+izu8\n"
    "8J/2AsPS2guAoxkzxLwX3ad1AFCY3gI=\n"
    "=jT7D\n"
    "-----END PGP SIGNATURE-----\n";

static const unsigned char gpg_fpr[CONSIGN__PGP_FPR_LEN] = {
    0x3e, 0xe2, 0x7e, 0x04, 0x94, 0xa9, 0xbc, 0xa1, 0x10, 0x81,
    0xa4, 0x27, 0x2a, 0xa1, 0xab, 0xc6, 0x04, 0x8d, 0xe4, 0xd0};

static struct consign__pgp_sig
gpg_sig_fields(void)
{
    struct consign__pgp_sig s;

    s.type = CONSIGN__PGP_SIG_BINARY;
    s.pk_algo = CONSIGN__PGP_PK_EDDSA;
    s.created = 1800000000;
    memcpy(s.fpr, gpg_fpr, sizeof(s.fpr));
    return s;
}

static void
test_crc24(void **state)
{
    (void)state;
    /* RFC 4880 6.1's initial value, and the CRC-24/OPENPGP check value. */
    assert_int_equal(consign__pgp_crc24("", 0), 0xb704ce);
    assert_int_equal(consign__pgp_crc24("123456789", 9), 0x21cf02);
    /* "=jT7D" in gpg's armor. */
    assert_int_equal(consign__pgp_crc24(gpg_sig, sizeof(gpg_sig)), 0x8d3ec3);
}

static void
test_armor(void **state)
{
    struct consign_ctx ctx;
    struct consign_buf out;
    unsigned char big[200];
    size_t i, lines = 0;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1 << 16);
    assert_int_equal(consign__pgp_armor(&ctx, gpg_sig, sizeof(gpg_sig), &out), 0);
    assert_string_equal(out.data, gpg_armored);
    /* 48 bytes make exactly one full line: no empty line before the CRC. */
    consign_buf_reset(&out);
    memset(big, 0xab, sizeof(big));
    assert_int_equal(consign__pgp_armor(&ctx, big, 48, &out), 0);
    assert_non_null(strstr(out.data, "\n\nq6ur"));
    assert_null(strstr(out.data + 32, "\n\n"));
    /* 200 bytes: 268 characters, lines of 64. */
    consign_buf_reset(&out);
    assert_int_equal(consign__pgp_armor(&ctx, big, sizeof(big), &out), 0);
    for (i = 0; i < out.len; i++)
        lines += out.data[i] == '\n';
    assert_int_equal(lines, 2 + 5 + 2);
    /* A full buffer leaves it as it was. */
    consign_buf_free(&out);
    consign_buf_init(&out, 40);
    assert_int_equal(consign_buf_puts(&ctx, &out, "kept"), 0);
    assert_int_equal(consign__pgp_armor(&ctx, big, sizeof(big), &out), CONSIGN_E_TOOBIG);
    assert_string_equal(out.data, "kept");
    consign_buf_free(&out);
}

static void
test_sig_hashed(void **state)
{
    struct consign__pgp_sig s = gpg_sig_fields();
    unsigned char hashed[CONSIGN__PGP_HASHED_LEN], trailer[CONSIGN__PGP_TRAILER_LEN];
    unsigned char d[CONSIGN_HASH_MAX];
    static const unsigned char want_trailer[] = {4, 0xff, 0, 0, 0, CONSIGN__PGP_HASHED_LEN};
    struct consign_hash *h = NULL;
    struct consign_ctx ctx;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign__pgp_sig_hashed(&s, hashed);
    consign__pgp_sig_trailer(trailer);
    /* The hashed part is the packet body's start (after the 2-byte header). */
    assert_memory_equal(hashed, gpg_sig + 2, sizeof(hashed));
    assert_memory_equal(trailer, want_trailer, sizeof(trailer));
    /* SHA-512(data || hashed part || trailer) starts with the packet's two bytes. */
    assert_int_equal(consign_hash_new(&ctx, CONSIGN_HASH_SHA512, &h), 0);
    assert_int_equal(consign_hash_update(&ctx, h, gpg_text, strlen(gpg_text)), 0);
    assert_int_equal(consign_hash_update(&ctx, h, hashed, sizeof(hashed)), 0);
    assert_int_equal(consign_hash_update(&ctx, h, trailer, sizeof(trailer)), 0);
    assert_int_equal(consign_hash_final(&ctx, h, d), 0);
    consign_hash_free(h);
    assert_memory_equal(d, gpg_sig + 2 + CONSIGN__PGP_HASHED_LEN + 12, 2);
    /* Signature type and creation time land where they belong. */
    s.type = CONSIGN__PGP_SIG_TEXT;
    s.created = 0x01020304;
    consign__pgp_sig_hashed(&s, hashed);
    assert_int_equal(hashed[1], 1);
    assert_int_equal(hashed[29], 5);
    assert_int_equal(hashed[30], 2);
    assert_memory_equal(hashed + 31, "\x01\x02\x03\x04", 4);
}

static void
test_sig_packet(void **state)
{
    struct consign__pgp_sig s = gpg_sig_fields();
    struct consign__pgp_mpi mpi[2];
    struct consign_ctx ctx;
    struct consign_buf out;
    unsigned char r[33];

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1 << 16);
    /* r with an extra leading zero byte, as an agent might send it. */
    r[0] = 0;
    memcpy(r + 1, gpg_sig + 53, 32);
    mpi[0] = (struct consign__pgp_mpi){r, sizeof(r)};
    mpi[1] = (struct consign__pgp_mpi){gpg_sig + 87, 32};
    assert_int_equal(consign__pgp_sig_packet(&ctx, &s, gpg_sig + 49, mpi, 2, &out), 0);
    assert_int_equal(out.len, sizeof(gpg_sig));
    assert_memory_equal(out.data, gpg_sig, sizeof(gpg_sig));
    consign_buf_free(&out);
}

static void
test_sig_packet_mpi(void **state)
{
    struct consign__pgp_sig s = gpg_sig_fields();
    static const unsigned char small[] = {0, 0, 0x01, 0xff}, zero[] = {0, 0};
    unsigned char large[300];
    struct consign__pgp_mpi m;
    struct consign_ctx ctx;
    struct consign_buf out;
    const unsigned char *p;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1 << 16);
    s.pk_algo = CONSIGN__PGP_PK_RSA;
    /* Leading zeros stripped, the exact bit count: 0x01ff is 9 bits. */
    m = (struct consign__pgp_mpi){small, sizeof(small)};
    assert_int_equal(
        consign__pgp_sig_packet(&ctx, &s, (const unsigned char *)"\x12\x34", &m, 1, &out), 0);
    p = (const unsigned char *)out.data;
    assert_int_equal(out.len, 2 + CONSIGN__PGP_HASHED_LEN + 12 + 2 + 4);
    assert_int_equal(p[0], 0x88);
    assert_int_equal(p[1], out.len - 2);
    assert_int_equal(p[4], CONSIGN__PGP_PK_RSA);
    assert_memory_equal(p + out.len - 6, "\x12\x34\x00\x09\x01\xff", 6);
    /* A body of 256 bytes or more takes the two-byte length. */
    consign_buf_reset(&out);
    memset(large, 0xff, sizeof(large));
    m = (struct consign__pgp_mpi){large, sizeof(large)};
    assert_int_equal(consign__pgp_sig_packet(&ctx, &s, (const unsigned char *)"ab", &m, 1, &out),
                     0);
    p = (const unsigned char *)out.data;
    assert_int_equal(p[0], 0x89);
    assert_int_equal(p[1] << 8 | p[2], out.len - 3);
    assert_memory_equal(p + 3 + CONSIGN__PGP_HASHED_LEN + 12 + 2, "\x09\x60", 2);
    /* A zero value is no signature; out stays as it was. */
    consign_buf_reset(&out);
    assert_int_equal(consign_buf_puts(&ctx, &out, "kept"), 0);
    m = (struct consign__pgp_mpi){zero, sizeof(zero)};
    assert_int_equal(consign__pgp_sig_packet(&ctx, &s, (const unsigned char *)"ab", &m, 1, &out),
                     CONSIGN_E_CRYPTO);
    assert_string_equal(out.data, "kept");
    consign_buf_free(&out);
}

/* Parse an S-expression given as a C string literal (with its length). */
#define SEXP(lit) (lit), sizeof(lit) - 1

static void
test_sexp(void **state)
{
    struct consign__pgp_mpi m[2];
    struct consign_ctx ctx;
    size_t n = 9;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign__pgp_sexp_sig(&ctx, SEXP("(7:sig-val(3:rsa(1:s4:\x00\x81\x02\x03)))"),
                                           CONSIGN__PGP_PK_RSA, m, &n),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].n, 4);
    assert_memory_equal(m[0].p, "\x00\x81\x02\x03", 4);
    assert_int_equal(consign__pgp_sexp_sig(&ctx, SEXP("(7:sig-val(5:eddsa(1:r2:AB)(1:s3:CDE)))"),
                                           CONSIGN__PGP_PK_EDDSA, m, &n),
                     0);
    assert_int_equal(n, 2);
    assert_memory_equal(m[0].p, "AB", 2);
    assert_memory_equal(m[1].p, "CDE", 3);
    /* s before r, and lists after the algorithm's (flags) are fine. */
    assert_int_equal(
        consign__pgp_sexp_sig(&ctx, SEXP("(7:sig-val(5:eddsa(1:s1:S)(1:r1:R))(5:flags(1:x1:y)))"),
                              CONSIGN__PGP_PK_EDDSA, m, &n),
        0);
    assert_memory_equal(m[0].p, "R", 1);
    assert_memory_equal(m[1].p, "S", 1);
}

static void
sexp_bad(const char *p, size_t len, int algo)
{
    struct consign__pgp_mpi m[2];
    struct consign_ctx ctx;
    size_t n = 9;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign__pgp_sexp_sig(&ctx, p, len, algo, m, &n), CONSIGN_E_CRYPTO);
    assert_int_equal(n, 0);
    assert_non_null(strstr(consign_err_msg(&ctx), "gpg-agent"));
}

static void
test_sexp_bad(void **state)
{
    const int rsa = CONSIGN__PGP_PK_RSA, ed = CONSIGN__PGP_PK_EDDSA;
    static const char ok[] = "(7:sig-val(3:rsa(1:s2:ab)))";
    char deep[64];
    size_t i;

    (void)state;
    /* Every proper prefix of a good answer is refused. */
    for (i = 0; i < sizeof(ok) - 1; i++)
        sexp_bad(ok, i, rsa);
    sexp_bad(NULL, 0, rsa);
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s2:ab))))"), rsa);                   /* one ")" too many */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s2:ab)))\n"), rsa);                  /* trailing bytes */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s9:ab)))"), rsa);                    /* atom past the end */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s99999999999999999999:ab)))"), rsa); /* overflow */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s1000000:ab)))"), rsa);
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s:ab)))"), rsa);           /* no length */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s2ab)))"), rsa);           /* no colon */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s2:ab)(1:s2:cd)))"), rsa); /* s twice */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:r2:ab)(1:s2:cd)))"), rsa); /* r in RSA */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:n2:ab)))"), rsa);          /* unknown value */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s2:ab3:xyz)))"), rsa);     /* three atoms */
    sexp_bad(SEXP("(7:sig-val(3:rsa))"), rsa);                   /* no value */
    sexp_bad(SEXP("(7:sig-val(5:eddsa(1:s2:ab)))"), ed);         /* no r */
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s2:ab)))"), ed);           /* another algorithm */
    sexp_bad(SEXP("(7:sig-val(5:eddsa(1:r1:R)(1:s1:S)))"), rsa);
    sexp_bad(SEXP("(7:enc-val(3:rsa(1:s2:ab)))"), rsa);
    sexp_bad(SEXP("(7:sig-val(3:rsa(1:s2:ab))(5:flags"), rsa); /* unclosed extra list */
    /* Nesting deeper than anything an agent sends is refused, not recursed into. */
    memcpy(deep, "(7:sig-val(3:rsa(1:s2:ab))", 26);
    for (i = 26; i < 26 + 20; i++)
        deep[i] = '(';
    sexp_bad(deep, 46, rsa);
}

/* The cleartext sink of these tests: collect the canonical text. */
static int
buf_sink(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_buf_append(ctx, user, p, n);
}

/* Clearsign text the way gpg does: want_out is the framed text (without the
 * header lines), want_canon what is hashed. Fed whole and byte by byte. */
static void
clear_case(const char *in, const char *want_out, const char *want_canon)
{
    static const char head[] = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n";
    struct consign__pgp_clear c;
    struct consign_buf out, canon;
    struct consign_ctx ctx;
    size_t i, step;

    consign_ctx_init(&ctx, NULL, NULL);
    for (step = 0; step < 2; step++) {
        consign_buf_init(&out, 1 << 16);
        consign_buf_init(&canon, 1 << 16);
        consign__pgp_clear_init(&c, &out, buf_sink, &canon);
        assert_int_equal(consign__pgp_clear_begin(&ctx, &c), 0);
        if (step == 0) {
            assert_int_equal(consign__pgp_clear_feed(&ctx, &c, in, strlen(in)), 0);
        } else {
            for (i = 0; in[i]; i++)
                assert_int_equal(consign__pgp_clear_feed(&ctx, &c, in + i, 1), 0);
        }
        assert_int_equal(consign__pgp_clear_end(&ctx, &c), 0);
        assert_true(out.len >= strlen(head));
        assert_memory_equal(out.data, head, strlen(head));
        assert_string_equal(out.data + strlen(head), want_out);
        assert_int_equal(canon.len, strlen(want_canon));
        assert_memory_equal(canon.data ? canon.data : "", want_canon, canon.len);
        consign_buf_free(&out);
        consign_buf_free(&canon);
    }
}

static void
test_clear_text(void **state)
{
    (void)state;
    /* What gpg --clearsign wrote for gpg_text. */
    clear_case(gpg_text, "Origin: x  \n- -dash\n- From me\n\tTab \t\ncr\r\n\n  \nlast no nl  \n",
               "Origin: x\r\n-dash\r\nFrom me\r\n\tTab\r\ncr\r\n\r\n\r\nlast no nl");
    clear_case("", "\n", "");
    clear_case("\n", "\n", "");
    clear_case("a\n", "a\n", "a");
    clear_case("a", "a\n", "a");
    clear_case("a\n\n", "a\n\n", "a\r\n");
    clear_case("a \t\r\nb", "a \t\r\nb\n", "a\r\nb");
    clear_case("a  b \n", "a  b \n", "a  b");
    clear_case("From \n", "- From \n", "From");
    clear_case("From x", "- From x\n", "From x");
    clear_case("Fro\nFrom\n from x\n", "Fro\nFrom\n from x\n", "Fro\r\nFrom\r\n from x");
    clear_case("--\n- x\n-", "- --\n- - x\n- -\n", "--\r\n- x\r\n-");
    clear_case("-----BEGIN PGP SIGNATURE-----\n", "- -----BEGIN PGP SIGNATURE-----\n",
               "-----BEGIN PGP SIGNATURE-----");
    clear_case(" \n \n", " \n \n", "\r\n");
}

static void
test_clear_text_long_blanks(void **state)
{
    struct consign__pgp_clear c;
    struct consign_buf out, canon;
    struct consign_ctx ctx;
    static char blanks[10000];

    (void)state;
    /* A run of blanks longer than the staging area, then more text. */
    memset(blanks, ' ', sizeof(blanks));
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1 << 16);
    consign_buf_init(&canon, 1 << 16);
    consign__pgp_clear_init(&c, &out, buf_sink, &canon);
    assert_int_equal(consign__pgp_clear_feed(&ctx, &c, "x", 1), 0);
    assert_int_equal(consign__pgp_clear_feed(&ctx, &c, blanks, sizeof(blanks)), 0);
    assert_int_equal(consign__pgp_clear_feed(&ctx, &c, "y", 1), 0);
    assert_int_equal(consign__pgp_clear_feed(&ctx, &c, blanks, sizeof(blanks)), 0);
    assert_int_equal(consign__pgp_clear_end(&ctx, &c), 0);
    assert_int_equal(canon.len, sizeof(blanks) + 2);
    assert_int_equal(canon.data[0], 'x');
    assert_int_equal(canon.data[canon.len - 1], 'y');
    assert_int_equal(out.len, 2 * sizeof(blanks) + 3);
    consign_buf_free(&out);
    consign_buf_free(&canon);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expire_units),
        cmocka_unit_test(test_expire_never),
        cmocka_unit_test(test_expire_limits),
        cmocka_unit_test(test_expire_garbage),
        cmocka_unit_test(test_fpr_group),
        cmocka_unit_test(test_fpr_group_invalid),
        cmocka_unit_test(test_crc24),
        cmocka_unit_test(test_armor),
        cmocka_unit_test(test_sig_hashed),
        cmocka_unit_test(test_sig_packet),
        cmocka_unit_test(test_sig_packet_mpi),
        cmocka_unit_test(test_sexp),
        cmocka_unit_test(test_sexp_bad),
        cmocka_unit_test(test_clear_text),
        cmocka_unit_test(test_clear_text_long_blanks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
