/* Release keys: expiry parsing and fingerprint grouping (no GnuPG needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "consign/error.h"
#include "consign/keys.h"

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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expire_units),  cmocka_unit_test(test_expire_never),
        cmocka_unit_test(test_expire_limits), cmocka_unit_test(test_expire_garbage),
        cmocka_unit_test(test_fpr_group),     cmocka_unit_test(test_fpr_group_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
