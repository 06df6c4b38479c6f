/* Unit tests of the install core: settings files, staged installs, upgrades,
 * refusals and removal, in temporary roots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/extract.h"
#include "consign/fileio.h"
#include "consign/install.h"
#include "consign/tar.h"

static struct consign_ctx ctx;

static int
setup(void **state)
{
    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    return 0;
}

static char *
tmpdir(void)
{
    char *d = strdup("/tmp/consign-test-install-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void
rmtree(const char *d)
{
    assert_int_equal(consign_extract_remove_tree(&ctx, d), 0);
}

static char *
slurp(const char *root, const char *rel)
{
    char path[4096], *data = NULL;
    size_t len;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    if (consign_file_read(&ctx, path, 1 << 20, &data, &len))
        return NULL;
    return data;
}

static mode_t
mode_of(const char *root, const char *rel)
{
    char path[4096];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    if (lstat(path, &st) < 0)
        return (mode_t)-1;
    return st.st_mode;
}

static int
to_buf(struct consign_ctx *c, void *user, const void *p, size_t n)
{
    return consign_buf_append(c, user, p, n);
}

/* A small payload: the agent's tree, a config file, a unit; extra adds one
 * more path (which may be one the install core must refuse). */
static void
make_payload(struct consign_buf *b, const char *text, const char *extra)
{
    struct consign_tar_writer *w = NULL;
    size_t n = strlen(text);

    consign_buf_init(b, 1 << 20);
    assert_int_equal(consign_tar_writer_new(&ctx, to_buf, b, &w), 0);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "opt/demo", 0755, 0), 0);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "opt/demo/bin", 0755, 0), 0);
    assert_int_equal(consign_tar_write_file_begin(&ctx, w, "opt/demo/bin/run", 0755, n, 0), 0);
    assert_int_equal(consign_tar_write_data(&ctx, w, text, n), 0);
    assert_int_equal(consign_tar_write_file_end(&ctx, w), 0);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "etc/opt/demo", 0755, 0), 0);
    assert_int_equal(consign_tar_write_file_begin(&ctx, w, "etc/opt/demo/opts.ini", 0644, n, 0), 0);
    assert_int_equal(consign_tar_write_data(&ctx, w, text, n), 0);
    assert_int_equal(consign_tar_write_file_end(&ctx, w), 0);
    assert_int_equal(
        consign_tar_write_file_begin(&ctx, w, "lib/systemd/system/demo.service", 0644, 4, 0), 0);
    assert_int_equal(consign_tar_write_data(&ctx, w, "[x]\n", 4), 0);
    assert_int_equal(consign_tar_write_file_end(&ctx, w), 0);
    if (extra) {
        assert_int_equal(consign_tar_write_file_begin(&ctx, w, extra, 0644, 1, 0), 0);
        assert_int_equal(consign_tar_write_data(&ctx, w, "x", 1), 0);
        assert_int_equal(consign_tar_write_file_end(&ctx, w), 0);
    }
    assert_int_equal(consign_tar_writer_finish(&ctx, w), 0);
    consign_tar_writer_free(w);
}

static int
install(const char *root, const char *version, const char *text, const char *extra,
        const struct consign_conf *settings)
{
    struct consign_install_opts o;
    struct consign_install *in = NULL;
    struct consign_buf b;
    int rc;

    make_payload(&b, text, extra);
    memset(&o, 0, sizeof(o));
    o.root = root;
    o.name = "demo";
    o.version = version;
    o.signer_fpr = "0123456789ABCDEF0123456789ABCDEF01234567";
    rc = consign_install_begin(&ctx, &o, &in);
    if (!rc)
        rc = consign_install_feed(&ctx, in, b.data, b.len);
    if (!rc)
        rc = consign_install_commit(&ctx, in, settings);
    consign_install_free(in);
    consign_buf_free(&b);
    return rc;
}

static void
test_conf_validate(void **state)
{
    (void)state;
    assert_int_equal(consign_conf_validate(&ctx, "proxy_port", "3128"), 0);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_port", "0"), CONSIGN_E_INVALID);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_port", "65536"), CONSIGN_E_INVALID);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_port", "80x"), CONSIGN_E_INVALID);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_pac_url", "http://wpad/proxy.pac"), 0);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_pac_url", "https://p.example:8443/x"), 0);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_pac_url", "ftp://x/y"), CONSIGN_E_INVALID);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_pac_url", "http://:80/"),
                     CONSIGN_E_INVALID);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_pac_url", "http://a b/"),
                     CONSIGN_E_INVALID);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_host", "proxy.corp.example"), 0);
    assert_int_equal(consign_conf_validate(&ctx, "proxy_host", "bad/host"), CONSIGN_E_INVALID);
    assert_int_equal(consign_conf_validate(&ctx, "auto_update", "yes"), 0);
    assert_int_equal(consign_conf_validate(&ctx, "auto_update", "maybe"), CONSIGN_E_INVALID);
    assert_int_equal(consign_conf_validate(&ctx, "token", "abc\ndef"), CONSIGN_E_INVALID);
    assert_int_equal(consign_conf_validate(&ctx, "nonsense", "1"), CONSIGN_E_INVALID);
    assert_true(consign_conf_is_secret("token"));
    assert_true(consign_conf_is_secret("proxy_password"));
    assert_false(consign_conf_is_secret("proxy_user"));
}

static void
test_conf_roundtrip(void **state)
{
    struct consign_conf c = {0}, d = {0};
    char *dir = tmpdir(), conf[4096], *txt;

    (void)state;
    snprintf(conf, sizeof(conf), "%s/conf", dir);
    assert_int_equal(consign_conf_set(&ctx, &c, "token", "s3cret"), 0);
    assert_int_equal(consign_conf_set(&ctx, &c, "proxy_host", "p.example"), 0);
    assert_int_equal(consign_conf_set(&ctx, &c, "proxy_port", "8080"), 0);
    assert_int_equal(consign_conf_set(&ctx, &c, "proxy_port", "3128"), 0);
    assert_int_equal(consign_conf_set(&ctx, &c, "proxy_host", NULL), 0);
    assert_null(consign_conf_get(&c, "proxy_host"));
    assert_int_equal(consign_conf_save(&ctx, conf, &c), 0);
    assert_int_equal(mode_of(dir, "conf/secrets.conf") & 07777, 0600);
    assert_int_equal(mode_of(dir, "conf/agent.conf") & 07777, 0640);
    txt = slurp(dir, "conf/agent.conf");
    assert_non_null(txt);
    assert_null(strstr(txt, "s3cret"));
    assert_non_null(strstr(txt, "proxy_port=3128\n"));
    free(txt);
    txt = slurp(dir, "conf/secrets.conf");
    assert_non_null(strstr(txt, "token=s3cret\n"));
    free(txt);
    assert_int_equal(consign_conf_load(&ctx, conf, &d), 0);
    assert_string_equal(consign_conf_get(&d, "token"), "s3cret");
    assert_string_equal(consign_conf_get(&d, "proxy_port"), "3128");
    consign_conf_free(&c);
    consign_conf_free(&d);
    consign_conf_free(NULL);
    rmtree(dir);
    free(dir);
}

static void
test_install_upgrade_uninstall(void **state)
{
    struct consign_conf s = {0}, got = {0};
    struct consign_installed q;
    char *root = tmpdir(), *a, *id1, conf[4096];

    (void)state;
    assert_int_equal(consign_conf_set(&ctx, &s, "token", "t0ken"), 0);
    assert_int_equal(install(root, "1.0.0-1", "one\n", NULL, &s), 0);
    assert_int_equal(consign_install_query(&ctx, root, "demo", &q), 0);
    assert_true(q.present);
    assert_string_equal(q.version, "1.0.0-1");
    a = slurp(root, "opt/demo/bin/run");
    assert_string_equal(a, "one\n");
    free(a);
    assert_true(S_ISLNK(mode_of(root, "opt/demo/bin")));
    assert_true(S_ISLNK(mode_of(root, "opt/demo/current")));
    assert_int_equal(mode_of(root, "var/opt/demo/conf/secrets.conf") & 07777, 0600);
    assert_true(S_ISDIR(mode_of(root, "var/opt/demo/logs")));
    assert_true(S_ISREG(mode_of(root, "etc/systemd/system/demo.service")));
    assert_true(
        consign_install_trusts(&ctx, root, "demo", "0123456789abcdef0123456789abcdef01234567"));
    assert_false(
        consign_install_trusts(&ctx, root, "demo", "1123456789abcdef0123456789abcdef01234567"));
    snprintf(conf, sizeof(conf), "%s/var/opt/demo/conf", root);
    assert_int_equal(consign_conf_load(&ctx, conf, &got), 0);
    id1 = strdup(consign_conf_get(&got, "agent_id"));
    assert_int_equal(strlen(id1), 32);
    consign_conf_free(&got);

    /* The admin edits the config file; an upgrade keeps it and the settings. */
    {
        char p[4096];
        snprintf(p, sizeof(p), "%s/etc/opt/demo/opts.ini", root);
        assert_int_equal(consign_file_write_atomic(&ctx, p, "mine\n", 5, 0644), 0);
    }
    assert_int_equal(install(root, "1.0.1-1", "two\n", NULL, NULL), 0);
    a = slurp(root, "opt/demo/bin/run");
    assert_string_equal(a, "two\n");
    free(a);
    a = slurp(root, "etc/opt/demo/opts.ini");
    assert_string_equal(a, "mine\n");
    free(a);
    a = slurp(root, "etc/opt/demo/opts.ini.consign-new");
    assert_string_equal(a, "two\n");
    free(a);
    assert_int_equal(consign_conf_load(&ctx, conf, &got), 0);
    assert_string_equal(consign_conf_get(&got, "token"), "t0ken");
    assert_string_equal(consign_conf_get(&got, "agent_id"), id1);
    consign_conf_free(&got);
    assert_true(S_ISDIR(mode_of(root, "opt/demo/versions/1.0.0-1")));

    /* Settings given as removals drop installed keys; others stay. */
    {
        struct consign_conf rm = {0};
        assert_int_equal(consign_conf_set(&ctx, &rm, "proxy_host", "p.example"), 0);
        assert_int_equal(consign_conf_set(&ctx, &rm, "proxy_port", "3128"), 0);
        assert_int_equal(install(root, "1.0.1-1", "two\n", NULL, &rm), 0);
        consign_conf_free(&rm);
        assert_int_equal(consign_conf_load(&ctx, conf, &got), 0);
        assert_string_equal(consign_conf_get(&got, "proxy_host"), "p.example");
        consign_conf_free(&got);
        assert_int_equal(consign_conf_set_removal(&ctx, &rm, "proxy_host"), 0);
        assert_int_equal(consign_conf_set_removal(&ctx, &rm, "proxy_port"), 0);
        assert_int_equal(consign_conf_set_removal(&ctx, &rm, "nonsense"), CONSIGN_E_INVALID);
        assert_int_equal(install(root, "1.0.1-1", "two\n", NULL, &rm), 0);
        consign_conf_free(&rm);
        assert_int_equal(consign_conf_load(&ctx, conf, &got), 0);
        assert_null(consign_conf_get(&got, "proxy_host"));
        assert_null(consign_conf_get(&got, "proxy_port"));
        assert_string_equal(consign_conf_get(&got, "token"), "t0ken");
        consign_conf_free(&got);
    }

    /* Reinstalling the running version lands beside it, then switches. */
    assert_int_equal(install(root, "1.0.1-1", "two again\n", NULL, NULL), 0);
    a = slurp(root, "opt/demo/bin/run");
    assert_string_equal(a, "two again\n");
    free(a);

    /* A payload with a path outside the agent's changes nothing. */
    assert_int_equal(install(root, "1.0.2-1", "three\n", "etc/cron.d/evil", NULL),
                     CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(mode_of(root, "etc/cron.d"), (mode_t)-1);
    a = slurp(root, "opt/demo/bin/run");
    assert_string_equal(a, "two again\n");
    free(a);
    assert_int_equal(mode_of(root, "opt/demo/versions/1.0.2-1"), (mode_t)-1);

    /* Uninstall keeps the data; purge removes it. */
    assert_int_equal(consign_uninstall(&ctx, root, "demo", 0, 1), 0);
    assert_int_equal(mode_of(root, "opt/demo"), (mode_t)-1);
    assert_int_equal(mode_of(root, "etc/systemd/system/demo.service"), (mode_t)-1);
    assert_true(S_ISREG(mode_of(root, "var/opt/demo/conf/secrets.conf")));
    assert_int_equal(consign_uninstall(&ctx, root, "demo", 1, 1), 0);
    assert_int_equal(mode_of(root, "var/opt/demo"), (mode_t)-1);
    assert_int_equal(mode_of(root, "etc/opt/demo"), (mode_t)-1);
    free(id1);
    consign_conf_free(&s);
    rmtree(root);
    free(root);
}

static void
test_foreign_install_refused(void **state)
{
    char *root = tmpdir(), p[4096];

    (void)state;
    snprintf(p, sizeof(p), "%s/opt/demo/bin", root);
    assert_int_equal(consign_mkdirs(&ctx, p, 0755), 0);
    assert_int_equal(install(root, "1.0.0-1", "one\n", NULL, NULL), CONSIGN_E_EXISTS);
    assert_int_equal(consign_uninstall(&ctx, root, "demo", 0, 1), CONSIGN_E_EXISTS);
    assert_true(S_ISDIR(mode_of(root, "opt/demo/bin")));
    rmtree(root);
    free(root);
}

static void
test_names(void **state)
{
    (void)state;
    assert_true(consign_install_name_ok("example-agent"));
    assert_false(consign_install_name_ok("../x"));
    assert_false(consign_install_name_ok("A"));
    assert_false(consign_install_name_ok(""));
    assert_int_equal(install("/tmp", "../1", "x", NULL, NULL), CONSIGN_E_INVALID);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_conf_validate, setup),
        cmocka_unit_test_setup(test_conf_roundtrip, setup),
        cmocka_unit_test_setup(test_install_upgrade_uninstall, setup),
        cmocka_unit_test_setup(test_foreign_install_refused, setup),
        cmocka_unit_test_setup(test_names, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
