/* consign_net without a server (tests/e2e/net.sh has the real ones): URL
 * redaction, option and request checks, the scheme policy, a refused
 * connection (127.0.0.1 port 1) and the URLs the TUF adapter builds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/net.h"

static void
redacted(const char *url, const char *want)
{
    char out[256];

    consign_net_redact_url(url, out, sizeof(out));
    assert_string_equal(out, want);
}

static void
test_redact(void **state)
{
    char small[8];

    (void)state;
    redacted("https://example.org/a", "https://example.org/a");
    redacted("https://user:secret@example.org/a", "https://***@example.org/a");
    redacted("http://u:p@w@host:8080/x?y@z", "http://***@host:8080/x?y@z");
    redacted("https://host/path@notuser", "https://host/path@notuser");
    redacted("user:pw@host", "***@host");
    redacted(NULL, "(none)");
    consign_net_redact_url("https://user:secret@example.org/", small, sizeof(small));
    assert_int_equal(strlen(small), 7);
    assert_null(strstr(small, "secret"));
}

/* A handle that trusts a CA file that exists (its content is not read). */
static struct consign_net *
handle(struct consign_ctx *ctx, int allow_http)
{
    struct consign_net_options o;
    struct consign_net *n = NULL;

    consign_net_options_init(&o);
    o.ca_files[0] = "/dev/null";
    o.n_ca_files = 1;
    o.allow_http = allow_http;
    o.retries = -1;
    o.no_env_proxy = 1;
    o.connect_timeout = 5;
    assert_int_equal(consign_net_new(ctx, &o, &n), 0);
    return n;
}

static void
test_options(void **state)
{
    struct consign_net_options o;
    struct consign_net *n = NULL;
    struct consign_ctx ctx;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_net_free(NULL);
    consign_net_options_init(&o);
    o.ca_files[0] = "/nonexistent/ca.pem";
    o.n_ca_files = 1;
    assert_int_equal(consign_net_new(&ctx, &o, &n), CONSIGN_E_NOTFOUND);
    assert_null(n);
    assert_non_null(strstr(consign_err_msg(&ctx), "/nonexistent/ca.pem"));
    o.n_ca_files = CONSIGN_NET_MAX_CA_FILES + 1;
    assert_int_equal(consign_net_new(&ctx, &o, &n), CONSIGN_E_USAGE);
    /* Two files: read and joined (a missing one is named). */
    o.ca_files[0] = "/dev/null";
    o.ca_files[1] = "/nonexistent/second.pem";
    o.n_ca_files = 2;
    assert_int_equal(consign_net_new(&ctx, &o, &n), CONSIGN_E_NOTFOUND);
    assert_non_null(strstr(consign_err_msg(&ctx), "second.pem"));
    /* Credentials are copied: the caller may wipe its own at once. */
    o.n_ca_files = 1;
    o.proxy_user = "u";
    o.proxy_password = "p";
    assert_int_equal(consign_net_new(&ctx, &o, &n), 0);
    consign_net_free(n);
}

static void
test_requests(void **state)
{
    static const char *const plain[] = {"http://127.0.0.1:1/base"};
    static const char *const ftp[] = {"ftp://127.0.0.1:1/base"};
    struct consign_net_request r;
    struct consign_ctx ctx;
    struct consign_buf b;
    struct consign_net *n;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 1024);
    n = handle(&ctx, 0);
    memset(&r, 0, sizeof(r));
    r.expect_len = -1;
    assert_int_equal(consign_net_get(&ctx, n, &r, &b), CONSIGN_E_USAGE); /* no mirror */
    r.mirrors = plain;
    r.n_mirrors = 1;
    assert_int_equal(consign_net_get(&ctx, n, &r, &b), CONSIGN_E_USAGE); /* no cap */
    r.max_len = 100;
    r.name = "file";
    assert_int_equal(consign_net_get(&ctx, n, &r, &b), CONSIGN_E_USAGE); /* http refused */
    assert_non_null(strstr(consign_err_msg(&ctx), "only https://"));
    assert_non_null(strstr(consign_err_msg(&ctx), "http://127.0.0.1:1/base/file"));
    r.mirrors = ftp;
    assert_int_equal(consign_net_get(&ctx, n, &r, &b), CONSIGN_E_USAGE);
    consign_net_free(n);

    /* http allowed: nothing listens on port 1, a network error naming the URL. */
    n = handle(&ctx, 1);
    r.mirrors = plain;
    r.name = "/file";
    assert_int_equal(consign_net_get(&ctx, n, &r, &b), CONSIGN_E_NETWORK);
    assert_non_null(strstr(consign_err_msg(&ctx), "GET http://127.0.0.1:1/base/file:"));
    assert_int_equal(b.len, 0);
    /* A download that fails leaves neither the file nor an empty .part. */
    {
        char dir[] = "/tmp/test_net.XXXXXX", dest[64], part[80];
        assert_non_null(mkdtemp(dir));
        snprintf(dest, sizeof(dest), "%s/out", dir);
        snprintf(part, sizeof(part), "%s/out.part", dir);
        assert_int_equal(consign_net_download(&ctx, n, &r, dest), CONSIGN_E_NETWORK);
        assert_int_not_equal(access(dest, F_OK), 0);
        assert_int_not_equal(access(part, F_OK), 0);
        assert_int_equal(rmdir(dir), 0);
    }
    consign_net_free(n);
    consign_buf_free(&b);
}

static void
test_tuf_adapter(void **state)
{
    struct consign_net_tuf t;
    struct consign_ctx ctx;
    struct consign_buf b;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    memset(&t, 0, sizeof(t));
    t.net = handle(&ctx, 1);
    t.metadata_urls[0] = "http://127.0.0.1:1/m";
    t.n_metadata_urls = 1;
    t.targets_urls[0] = "http://127.0.0.1:1/t/";
    t.n_targets_urls = 1;
    consign_buf_init(&b, 512);
    assert_int_equal(consign_net_tuf_fetch(&t, "metadata/1.%3F.json", 512, &b), CONSIGN_E_NETWORK);
    assert_non_null(strstr(t.last_error, "GET http://127.0.0.1:1/m/1.%3F.json:"));
    assert_int_equal(consign_net_tuf_fetch(&t, "targets/dir/b c%.txt", 512, &b), CONSIGN_E_NETWORK);
    assert_non_null(strstr(t.last_error, "GET http://127.0.0.1:1/t/dir/b%20c%25.txt:"));
    assert_int_equal(consign_net_tuf_fetch(&t, "elsewhere/x", 512, &b), CONSIGN_E_INVALID);
    consign_net_free(t.net);
    consign_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_tuf_adapter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
