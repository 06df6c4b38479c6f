/* The shared core: error table and context, capped buffers, digests, safe
 * paths, atomic writes, secrets. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/path.h"
#include "consign/secret.h"

static char tmpdir[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/consign-unit.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_errors(void **state)
{
    struct consign_ctx ctx;
    int code;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    for (code = 1; code < CONSIGN_E__COUNT; code++) {
        assert_string_not_equal(consign_strerror(code), "unknown error");
        assert_true(strncmp(consign_strcode(code), "CONSIGN_E_", 10) == 0);
        assert_true(consign_exit_class(code) == 1 || consign_exit_class(code) == 2);
    }
    assert_int_equal(consign_exit_class(CONSIGN_OK), 0);
    assert_int_equal(consign_exit_class(CONSIGN_E_USAGE), 2);
    assert_int_equal(consign_exit_class(CONSIGN_E_IO), 1);
    assert_string_equal(consign_strerror(9999), "unknown error");

    assert_int_equal(consign_fail(&ctx, CONSIGN_E_SYNTAX, "line %d: bad", 12), CONSIGN_E_SYNTAX);
    assert_int_equal(consign_err_context(&ctx, CONSIGN_E_SYNTAX, "Packages"), CONSIGN_E_SYNTAX);
    assert_int_equal(consign_err_context(&ctx, CONSIGN_E_SYNTAX, "repo apt"), CONSIGN_E_SYNTAX);
    assert_string_equal(consign_err_msg(&ctx), "repo apt: Packages: line 12: bad");
    assert_int_equal(ctx.err_code, CONSIGN_E_SYNTAX);

    assert_int_equal(consign_fail_errno(&ctx, ENOENT, "/x"), CONSIGN_E_NOTFOUND);
    assert_string_equal(consign_err_msg(&ctx), "/x: No such file or directory");
    assert_int_equal(consign_fail_errno(&ctx, EACCES, "/y"), CONSIGN_E_PERM);
    assert_int_equal(consign_fail(&ctx, CONSIGN_E_NOMEM, NULL), CONSIGN_E_NOMEM);
    assert_string_equal(consign_err_msg(&ctx), "out of memory");
}

static void
capture(void *user, enum consign_log_level level, const char *msg)
{
    struct consign_buf *b = user;
    struct consign_ctx c;
    consign_ctx_init(&c, NULL, NULL);
    consign_buf_printf(&c, b, "%d:%s\n", (int)level, msg);
}

static void
test_log(void **state)
{
    struct consign_ctx ctx;
    struct consign_buf b;

    (void)state;
    consign_buf_init(&b, 4096);
    consign_ctx_init(&ctx, capture, &b);
    consign_log(&ctx, CONSIGN_LOG_WARN, "w%d", 1);
    consign_log(&ctx, CONSIGN_LOG_DEBUG, "hidden");
    ctx.log_level = CONSIGN_LOG_DEBUG;
    consign_log(&ctx, CONSIGN_LOG_DEBUG, "shown");
    assert_string_equal(b.data, "1:w1\n3:shown\n");
    consign_buf_free(&b);
}

static void
test_buf(void **state)
{
    struct consign_ctx ctx;
    struct consign_buf b;
    unsigned long long v;
    int i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 10);
    assert_int_equal(consign_buf_puts(&ctx, &b, "0123456789"), 0);
    assert_int_equal(consign_buf_puts(&ctx, &b, "x"), CONSIGN_E_TOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    consign_buf_reset(&b);
    assert_int_equal(consign_buf_printf(&ctx, &b, "%d-%s", 42, "ab"), 0);
    assert_string_equal(b.data, "42-ab");
    assert_int_equal(consign_buf_printf(&ctx, &b, "%s", "toolongforit"), CONSIGN_E_TOOBIG);
    consign_buf_free(&b);
    consign_buf_free(NULL);

    consign_buf_init(&b, 1 << 20);
    for (i = 0; i < 10000; i++)
        assert_int_equal(consign_buf_append(&ctx, &b, "abc", 3), 0);
    assert_int_equal(b.len, 30000);
    consign_buf_free_secure(&b);

    assert_int_equal(consign_parse_u64("12345", 99999, &v), 0);
    assert_int_equal(v, 12345);
    assert_int_equal(consign_parse_u64("100000", 99999, &v), -1);
    assert_int_equal(consign_parse_u64("18446744073709551616", ~0ULL, &v), -1);
    assert_int_equal(consign_parse_u64("18446744073709551615", ~0ULL, &v), 0);
    assert_int_equal(consign_parse_u64("-1", 10, &v), -1);
    assert_int_equal(consign_parse_u64("1 ", 10, &v), -1);
    assert_int_equal(consign_parse_u64("", 10, &v), -1);
}

static void
test_hash(void **state)
{
    struct consign_ctx ctx;
    struct consign_hash *h = NULL;
    unsigned char d[CONSIGN_HASH_MAX];
    char hex[2 * CONSIGN_HASH_MAX + 1], path[128];
    unsigned long long size = 0;
    FILE *f;
    int i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_hash_buf(&ctx, CONSIGN_HASH_SHA256, "abc", 3, d), 0);
    consign_hex(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(consign_hash_buf(&ctx, CONSIGN_HASH_MD5, "", 0, d), 0);
    consign_hex(d, 16, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    assert_int_equal(consign_hash_buf(&ctx, CONSIGN_HASH_SHA512, "abc", 3, d), 0);
    consign_hex(d, 64, hex);
    assert_string_equal(hex, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                             "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");

    /* Streaming in pieces equals one shot, and the hash restarts after final. */
    assert_int_equal(consign_hash_new(&ctx, CONSIGN_HASH_SHA256, &h), 0);
    assert_int_equal(consign_hash_update(&ctx, h, "a", 1), 0);
    assert_int_equal(consign_hash_update(&ctx, h, "bc", 2), 0);
    assert_int_equal(consign_hash_final(&ctx, h, d), 0);
    consign_hex(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(consign_hash_update(&ctx, h, "abc", 3), 0);
    assert_int_equal(consign_hash_final(&ctx, h, d), 0);
    consign_hex(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    consign_hash_free(h);
    consign_hash_free(NULL);

    /* A file larger than the read block: one million 'a' (FIPS 180-2 vector). */
    snprintf(path, sizeof(path), "%s/million", tmpdir);
    f = fopen(path, "w");
    assert_non_null(f);
    for (i = 0; i < 1000000; i++)
        fputc('a', f);
    fclose(f);
    assert_int_equal(consign_hash_file(&ctx, CONSIGN_HASH_SHA256, path, d, &size), 0);
    consign_hex(d, 32, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    assert_int_equal(size, 1000000);
    assert_int_equal(consign_hash_file(&ctx, CONSIGN_HASH_SHA256, "/nonexistent/x", d, NULL),
                     CONSIGN_E_NOTFOUND);
    assert_int_equal(consign_hash_len(CONSIGN_HASH_SHA1), 20);
    assert_string_equal(consign_hash_name(CONSIGN_HASH_SHA256), "SHA256");
}

static void
expect_path(const char *root, const char *in, const char *want)
{
    struct consign_ctx ctx;
    char *out = NULL;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    rc = consign_path_in_root(&ctx, root, in, &out);
    if (!want) {
        if (rc != CONSIGN_E_UNSAFE_PATH)
            fail_msg("in_root(%s, %s): accepted as %s", root, in, out ? out : "?");
        assert_null(out);
        return;
    }
    if (rc)
        fail_msg("in_root(%s, %s): %s", root, in, consign_err_msg(&ctx));
    assert_string_equal(out, want);
    free(out);
}

static void
test_paths(void **state)
{
    struct consign_ctx ctx;
    char *out = NULL;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    expect_path("/r", "/opt/a", "/r/opt/a");
    expect_path("/r/", "opt//a/./b/", "/r/opt/a/b");
    expect_path("", "/opt/a", "/opt/a");
    expect_path(NULL, "/", "/");
    expect_path("/", "/etc", "/etc");
    expect_path("/r", "/", "/r");
    expect_path("/r", "../etc/passwd", NULL);
    expect_path("/r", "/opt/../../etc", NULL);
    expect_path("/r", "a/b/..", NULL);
    expect_path("/r", "..", NULL);
    expect_path("/r", "...", "/r/...");
    expect_path("/r", "a..b", "/r/a..b");

    assert_int_equal(consign_path_check_rel(&ctx, "usr/bin/x"), 0);
    assert_int_equal(consign_path_check_rel(&ctx, "./usr/bin/x"), 0);
    assert_int_equal(consign_path_check_rel(&ctx, "/usr/bin/x"), CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(consign_path_check_rel(&ctx, ""), CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(consign_path_check_rel(&ctx, "a/../../b"), CONSIGN_E_UNSAFE_PATH);

    assert_int_equal(consign_path_normalize_abs(&ctx, "//opt///x/./y/", &out), 0);
    assert_string_equal(out, "/opt/x/y");
    free(out);
    assert_int_equal(consign_path_normalize_abs(&ctx, "opt/x", &out), CONSIGN_E_UNSAFE_PATH);
    assert_null(out);

    /* Over-long paths are refused, not truncated. */
    {
        char *lng = calloc(1, 6000);
        memset(lng, 'a', 5000);
        lng[0] = '/';
        assert_int_equal(consign_path_normalize_abs(&ctx, lng, &out), CONSIGN_E_UNSAFE_PATH);
        free(lng);
    }

    out = consign_path_dirname_dup(&ctx, "/a/b/c");
    assert_string_equal(out, "/a/b");
    free(out);
    out = consign_path_dirname_dup(&ctx, "c");
    assert_string_equal(out, ".");
    free(out);
    out = consign_path_dirname_dup(&ctx, "/c");
    assert_string_equal(out, "/");
    free(out);
}

static void
test_atomic_write(void **state)
{
    struct consign_ctx ctx;
    char path[128], *buf = NULL;
    struct stat st;
    size_t len;
    mode_t old = umask(022);

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(path, sizeof(path), "%s/conf/secrets", tmpdir);
    {
        char dir[128];
        snprintf(dir, sizeof(dir), "%s/conf", tmpdir);
        assert_int_equal(consign_mkdirs(&ctx, dir, 0750), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0750);
    }
    assert_int_equal(consign_file_write_atomic(&ctx, path, "one", 3, 0600), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(consign_file_write_atomic(&ctx, path, "second", 6, 0600), 0);
    assert_int_equal(consign_file_read(&ctx, path, 100, &buf, &len), 0);
    assert_int_equal(len, 6);
    assert_string_equal(buf, "second");
    free(buf);
    /* A read over the cap fails cleanly. */
    assert_int_equal(consign_file_read(&ctx, path, 3, &buf, &len), CONSIGN_E_TOOBIG);
    assert_null(buf);
    /* A write into a missing directory fails and leaves nothing behind. */
    snprintf(path, sizeof(path), "%s/missing/x", tmpdir);
    assert_int_equal(consign_file_write_atomic(&ctx, path, "x", 1, 0644), CONSIGN_E_NOTFOUND);
    umask(old);
}

static void
test_secret(void **state)
{
    struct consign_ctx ctx;
    struct consign_secret *s = NULL;
    char path[128];
    int fd;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(path, sizeof(path), "%s/pass", tmpdir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret word\nignored\n", 20), 20);
    close(fd);
    assert_int_equal(consign_secret_from_file(&ctx, path, &s), 0);
    assert_string_equal(s->data, "s3cret word");
    assert_int_equal(s->len, 11);
    consign_secret_free(s);
    consign_secret_free(NULL);

    setenv("CONSIGN_TEST_SECRET", "envpass", 1);
    assert_int_equal(consign_secret_from_env(&ctx, "CONSIGN_TEST_SECRET", &s), 0);
    assert_string_equal(s->data, "envpass");
    consign_secret_free(s);
    unsetenv("CONSIGN_TEST_SECRET");
    assert_int_equal(consign_secret_from_env(&ctx, "CONSIGN_TEST_SECRET", &s), CONSIGN_E_NOTFOUND);
    assert_null(s);
    /* The message names the variable, never a value. */
    assert_non_null(strstr(consign_err_msg(&ctx), "CONSIGN_TEST_SECRET"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors), cmocka_unit_test(test_log),
        cmocka_unit_test(test_buf),    cmocka_unit_test(test_hash),
        cmocka_unit_test(test_paths),  cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_secret),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
