/* The bootstrap's embedded configuration (bootstrap/src/bootconf.c): what it
 * accepts, what it refuses and why, and that format() writes what parse()
 * reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consign/bootconf.h"

#define FPR1 "4DE6DC2031A6A0E5196EF59C1CC06AF90F380B33"
#define FPR2 "0123456789ABCDEF0123456789ABCDEF01234567"
#define PIN  "ZP3zOLJy3vVtVyVPo9N8XlzOyq4LDDGpT1RtL56dYUk="

static int
parse(const char *text, struct consign_bootconf *c, struct consign_ctx *ctx)
{
    consign_ctx_init(ctx, NULL, NULL);
    return consign_bootconf_parse(ctx, text, strlen(text), c);
}

static void
test_good(void **state)
{
    struct consign_bootconf c;
    struct consign_ctx ctx;

    (void)state;
    assert_int_equal(parse("format=1\n# a comment\nname=example-agent\nchannel=beta\n"
                           "url=https://dl.example.com/agent/\nurl=https://mirror.example.net/a\n"
                           "url=http://127.0.0.1:8080/repo\nsigner=" FPR1 "\nsigner=" FPR2
                           "\npin=sha256//" PIN ";sha256//" PIN "\n",
                           &c, &ctx),
                     0);
    assert_string_equal(c.name, "example-agent");
    assert_string_equal(c.channel, "beta");
    assert_int_equal(c.n_urls, 3);
    assert_string_equal(c.urls[0], "https://dl.example.com/agent"); /* trailing '/' dropped */
    assert_string_equal(c.urls[2], "http://127.0.0.1:8080/repo");
    assert_int_equal(c.n_signers, 2);
    assert_string_equal(c.signers[1], FPR2);
    assert_string_equal(c.pin, "sha256//" PIN ";sha256//" PIN);
    consign_bootconf_free(&c);
    consign_bootconf_free(NULL);
}

static void
test_roundtrip(void **state)
{
    struct consign_bootconf c, back;
    struct consign_ctx ctx;
    struct consign_buf b;
    char *urls[2] = {"https://a.example.com/x", "http://localhost:9/y"};

    (void)state;
    memset(&c, 0, sizeof(c));
    c.name = "agent";
    c.channel = "stable";
    c.urls[0] = urls[0];
    c.urls[1] = urls[1];
    c.n_urls = 2;
    c.signers[0] = FPR1;
    c.n_signers = 1;
    c.pin = "sha256//" PIN;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, CONSIGN_BOOTCONF_MAX);
    assert_int_equal(consign_bootconf_format(&ctx, &c, &b), 0);
    assert_int_equal(consign_bootconf_parse(&ctx, b.data, b.len, &back), 0);
    assert_string_equal(back.name, "agent");
    assert_string_equal(back.urls[1], "http://localhost:9/y");
    assert_string_equal(back.signers[0], FPR1);
    assert_string_equal(back.pin, "sha256//" PIN);
    consign_bootconf_free(&back);
    /* format refuses what parse would refuse. */
    consign_buf_reset(&b);
    c.urls[0] = "ftp://x.example.com/";
    assert_int_equal(consign_bootconf_format(&ctx, &c, &b), CONSIGN_E_INVALID);
    consign_buf_free(&b);
}

static void
expect_bad(const char *text, int code, const char *needle)
{
    struct consign_bootconf c;
    struct consign_ctx ctx;
    int rc = parse(text, &c, &ctx);

    if (rc != code || !strstr(consign_err_msg(&ctx), needle)) {
        print_error("input: %s\ngot %d '%s', expected %d '%s'\n", text, rc, consign_err_msg(&ctx),
                    code, needle);
        fail();
    }
    consign_bootconf_free(&c);
}

#define BASE "format=1\nname=a\nchannel=stable\nsigner=" FPR1 "\n"

static void
test_refused(void **state)
{
    (void)state;
    expect_bad("name=a\nformat=1\n", CONSIGN_E_SYNTAX, "line 1: expected format=1 first");
    expect_bad("format=2\n", CONSIGN_E_SYNTAX, "format=1");
    expect_bad(BASE "url=https://a.example.com", CONSIGN_E_SYNTAX, "no end of line");
    expect_bad(BASE "url=https://a.example.com\nfoo=bar\n", CONSIGN_E_SYNTAX,
               "line 6: unknown key 'foo'");
    expect_bad(BASE "url\n", CONSIGN_E_SYNTAX, "not key=value");
    expect_bad(BASE, CONSIGN_E_SYNTAX, "a url and a signer are required");
    expect_bad("format=1\nname=a\nchannel=s\nurl=https://x.example.com\n", CONSIGN_E_SYNTAX,
               "required");
    expect_bad(BASE "name=b\nurl=https://a.example.com\n", CONSIGN_E_INVALID, "name given twice");
    expect_bad("format=1\nname=../x\n", CONSIGN_E_INVALID, "bad name");
    expect_bad("format=1\nchannel=a b\n", CONSIGN_E_INVALID, "bad channel");
    /* URLs: https, or http to loopback only; no userinfo, spaces or quotes. */
    expect_bad(BASE "url=http://dl.example.com/\n", CONSIGN_E_INVALID, "url: https://");
    expect_bad(BASE "url=http://127.0.0.1.evil.example/\n", CONSIGN_E_INVALID, "url");
    expect_bad(BASE "url=http://localhostx/\n", CONSIGN_E_INVALID, "url");
    expect_bad(BASE "url=https://user:pw@dl.example.com/\n", CONSIGN_E_INVALID, "url");
    expect_bad(BASE "url=https://dl.example.com/a b\n", CONSIGN_E_INVALID, "url");
    expect_bad(BASE "url=https://\n", CONSIGN_E_INVALID, "url");
    expect_bad(BASE "url=file:///etc/passwd\n", CONSIGN_E_INVALID, "url");
    /* Signers: 40 upper-case hex. */
    expect_bad(BASE "signer=" FPR1 "00\n", CONSIGN_E_INVALID, "signer");
    expect_bad(BASE "signer=4de6dc2031a6a0e5196ef59c1cc06af90f380b33\n", CONSIGN_E_INVALID,
               "signer");
    /* Pins: sha256// and 44 base64 characters, ';'-separated. */
    expect_bad(BASE "url=https://a.example.com\npin=sha256//abc\n", CONSIGN_E_INVALID, "pin");
    expect_bad(BASE "url=https://a.example.com\npin=md5//" PIN "\n", CONSIGN_E_INVALID, "pin");
    expect_bad(BASE "url=https://a.example.com\npin=sha256//" PIN ";\n", CONSIGN_E_INVALID, "pin");
    expect_bad(BASE "url=https://a.example.com\npin=sha256//" PIN "\npin=sha256//" PIN "\n",
               CONSIGN_E_INVALID, "pin given twice");
    {
        char big[CONSIGN_BOOTCONF_MAX + 16];
        struct consign_bootconf c;
        struct consign_ctx ctx;
        memset(big, '#', sizeof(big));
        big[sizeof(big) - 1] = '\n';
        consign_ctx_init(&ctx, NULL, NULL);
        assert_int_equal(consign_bootconf_parse(&ctx, big, sizeof(big), &c), CONSIGN_E_TOOBIG);
        consign_bootconf_free(&c);
    }
    {
        static const char nul[] = "format=1\nname=a\0b\n";
        struct consign_bootconf c;
        struct consign_ctx ctx;
        consign_ctx_init(&ctx, NULL, NULL);
        assert_int_equal(consign_bootconf_parse(&ctx, nul, sizeof(nul) - 1, &c), CONSIGN_E_SYNTAX);
        consign_bootconf_free(&c);
    }
}

static void
test_limits(void **state)
{
    char text[8192];
    size_t n = 0, i;
    struct consign_bootconf c;
    struct consign_ctx ctx;

    (void)state;
    n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", BASE);
    for (i = 0; i < CONSIGN_BOOTCONF_URLS; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "url=https://m%zu.example.com/\n", i);
    assert_int_equal(parse(text, &c, &ctx), 0);
    assert_int_equal(c.n_urls, CONSIGN_BOOTCONF_URLS);
    consign_bootconf_free(&c);
    snprintf(text + n, sizeof(text) - n, "url=https://one-more.example.com/\n");
    assert_int_equal(parse(text, &c, &ctx), CONSIGN_E_INVALID);
    assert_non_null(strstr(consign_err_msg(&ctx), "more than 16 urls"));
    consign_bootconf_free(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
