/* The package model: entries, ancestors, ownership, clamped times, clashes,
 * and generated scripts that the shells accept. */
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
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/pkg.h"
#include "consign/product.h"

static char dir[64];

static void
write_file(const char *rel, const char *text, mode_t mode)
{
    struct consign_ctx ctx;
    char path[256];
    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    assert_int_equal(consign_file_write_atomic(&ctx, path, text, strlen(text), mode), 0);
}

static int
setup(void **state)
{
    struct consign_ctx ctx;
    char p[128];
    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(dir, sizeof(dir), "/tmp/consign-pkg.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(p, sizeof(p), "%s/rt/bin", dir);
    if (consign_mkdirs(&ctx, p, 0755))
        return -1;
    write_file("rt/bin/java", "#!/bin/sh\n", 0755);
    write_file("rt/release", "JAVA_VERSION=17\n", 0644);
    write_file("agent.jar", "PK-not-really", 0600);
    write_file("start-agent.ini", "-Xmx64m\n", 0644);
    write_file("launch", "ELF", 0700);
    snprintf(p, sizeof(p), "%s/rt/bin/link", dir);
    return symlink("java", p);
}

static int
teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char product_text[] =
    "consign: 1\nname: tiny\nversion: 2.1\nrelease: 3\nsummary: Tiny\n"
    "description: A tiny agent.\nmaintainer: T <t@example.org>\nlicense: MIT\n"
    "agent:\n  files:\n"
    "    - {src: agent.jar, dst: /opt/tiny/lib/agent.jar, mode: '0644'}\n"
    "    - {src: start-agent.ini, dst: /etc/opt/tiny/start-agent.ini, config: true}\n"
    "runtime:\n  files:\n    - {src: rt, dst: /opt/tiny/jre}\n"
    "service:\n  exec: [/opt/tiny/jre/bin/java, -jar, '{root}/opt/tiny/lib/agent.jar']\n";

static struct consign_product *
load_product(const char *text)
{
    struct consign_ctx ctx;
    struct consign_product *p = NULL;
    char path[128];

    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(path, sizeof(path), "%s/product.yaml", dir);
    assert_int_equal(consign_file_write_atomic(&ctx, path, text, strlen(text), 0644), 0);
    if (consign_product_load(&ctx, path, NULL, NULL, &p))
        fail_msg("%s", consign_err_msg(&ctx));
    return p;
}

static struct consign_pkg *
make(struct consign_product *p, enum consign_pkg_format f, enum consign_pkg_kind k)
{
    struct consign_ctx ctx;
    struct consign_pkg *pkg = NULL;
    struct consign_pkg_opts o = {.format = f, .kind = k, .compress = CONSIGN_COMPRESS_XZ};
    char launcher[128];

    snprintf(launcher, sizeof(launcher), "%s/launch", dir);
    o.launcher_path = launcher;
    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_pkg_new(&ctx, p, &o, &pkg) || consign_pkg_digest(&ctx, pkg))
        fail_msg("%s", consign_err_msg(&ctx));
    return pkg;
}

static const struct consign_pkg_entry *
find(const struct consign_pkg *pkg, const char *path)
{
    size_t i;
    for (i = 0; i < pkg->nentries; i++)
        if (strcmp(pkg->entries[i].path, path) == 0)
            return &pkg->entries[i];
    return NULL;
}

static void
test_agent_deb(void **state)
{
    struct consign_product *p;
    struct consign_pkg *pkg;
    const struct consign_pkg_entry *e;
    struct consign_ctx ctx;
    char *fn;
    size_t i;

    (void)state;
    setenv("SOURCE_DATE_EPOCH", "1000", 1);
    p = load_product(product_text);
    pkg = make(p, CONSIGN_PKG_DEB, CONSIGN_PKG_AGENT);
    assert_string_equal(pkg->name, "tiny");
    assert_string_equal(pkg->evr, "2.1-3");
    assert_string_equal(pkg->arch, "amd64");
    assert_string_equal(pkg->depends_name, "tiny-runtime");
    assert_int_equal(pkg->reproducible, 1);
    for (i = 1; i < pkg->nentries; i++)
        assert_true(strcmp(pkg->entries[i - 1].path, pkg->entries[i].path) < 0);
    /* Every ancestor is there; only the product's own trees are owned. */
    assert_non_null(e = find(pkg, "/opt"));
    assert_int_equal(e->type, CONSIGN_PKG_DIR);
    assert_false(e->owned);
    assert_non_null(e = find(pkg, "/opt/tiny/lib"));
    assert_true(e->owned);
    assert_non_null(e = find(pkg, "/etc/opt/tiny"));
    assert_true(e->owned);
    assert_non_null(e = find(pkg, "/opt/tiny/lib/agent.jar"));
    assert_int_equal(e->mode, 0644);  /* from the product, not the 0600 source */
    assert_int_equal(e->mtime, 1000); /* clamped */
    assert_int_equal(e->size, 13);
    assert_non_null(e = find(pkg, "/etc/opt/tiny/start-agent.ini"));
    assert_true(e->config);
    assert_non_null(e = find(pkg, "/opt/tiny/bin/tiny-launch"));
    assert_int_equal(e->mode, 0755);
    assert_non_null(e = find(pkg, "/opt/tiny/lib/consign/launch.conf"));
    assert_non_null(strstr((const char *)e->data, "arg=/opt/tiny/jre/bin/java\n"));
    assert_non_null(find(pkg, "/lib/systemd/system/tiny.service"));
    assert_non_null(e = find(pkg, "/etc/init.d/tiny"));
    assert_true(e->config);
    assert_non_null(find(pkg, "/usr/share/doc/tiny/copyright"));
    assert_non_null(e = find(pkg, "/usr/share/doc/tiny/changelog.Debian.gz"));
    assert_int_equal(e->data[0], 0x1f);      /* gzip */
    assert_null(find(pkg, "/var/opt/tiny")); /* made by postinst, kept on remove */
    assert_int_equal(pkg->nscripts, 3);
    assert_non_null(consign_pkg_script_get(pkg, "postinst"));
    assert_non_null(strstr(consign_pkg_script_get(pkg, "postrm")->text, "rm -rf \"$VARDIR\""));
    consign_ctx_init(&ctx, NULL, NULL);
    fn = consign_pkg_filename(&ctx, pkg);
    assert_string_equal(fn, "tiny_2.1-3_amd64.deb");
    free(fn);
    consign_pkg_free(pkg);
    consign_product_free(p);
    unsetenv("SOURCE_DATE_EPOCH");
}

static void
test_runtime_rpm(void **state)
{
    struct consign_product *p;
    struct consign_pkg *pkg;
    const struct consign_pkg_entry *e;
    struct consign_ctx ctx;
    char *fn;

    (void)state;
    unsetenv("SOURCE_DATE_EPOCH");
    p = load_product(product_text);
    pkg = make(p, CONSIGN_PKG_RPM, CONSIGN_PKG_RUNTIME);
    assert_string_equal(pkg->name, "tiny-runtime");
    assert_string_equal(pkg->arch, "x86_64");
    assert_null(pkg->depends_name);
    assert_int_equal(pkg->reproducible, 0);
    assert_int_equal(pkg->nscripts, 0);
    assert_non_null(e = find(pkg, "/opt/tiny/jre/bin/java"));
    assert_int_equal(e->mode, 0755);
    assert_non_null(e = find(pkg, "/opt/tiny/jre/bin/link"));
    assert_int_equal(e->type, CONSIGN_PKG_SYMLINK);
    assert_string_equal(e->link, "java");
    assert_null(find(pkg, "/usr/share/doc/tiny-runtime/copyright")); /* deb only */
    assert_true(find(pkg, "/opt/tiny")->owned);
    /* SHA-256 of "JAVA_VERSION=17\n". */
    {
        char hex[65];
        e = find(pkg, "/opt/tiny/jre/release");
        consign_hex(e->sha256, 32, hex);
        assert_string_equal(hex,
                            "e71d2dbb0c21da80e5e97d11d73840409ba39cff077b447d5a5ff8e56c85f681");
    }
    consign_ctx_init(&ctx, NULL, NULL);
    fn = consign_pkg_filename(&ctx, pkg);
    assert_string_equal(fn, "tiny-runtime-2.1-3.x86_64.rpm");
    free(fn);
    consign_pkg_free(pkg);
    consign_product_free(p);
}

static void
test_clash_and_errors(void **state)
{
    struct consign_product *p;
    struct consign_pkg *pkg = NULL;
    struct consign_ctx ctx;
    struct consign_pkg_opts o = {.format = CONSIGN_PKG_DEB,
                                 .kind = CONSIGN_PKG_AGENT,
                                 .compress = CONSIGN_COMPRESS_XZ,
                                 .launcher_path = "/nonexistent/launcher"};
    struct consign_buf b;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 1 << 16);
    /* The same target twice is refused. */
    assert_int_equal(consign_buf_puts(&ctx, &b, product_text), 0);
    *strstr(b.data, "runtime:") = '\0';
    b.len = strlen(b.data);
    assert_int_equal(consign_buf_puts(&ctx, &b,
                                      "    - {src: agent.jar, dst: /opt/tiny/lib/agent.jar}\n"
                                      "service:\n  exec: [/x]\n"),
                     0);
    p = load_product(b.data);
    pkg = NULL;
    assert_int_equal(consign_pkg_new(&ctx, p, &o, &pkg), CONSIGN_E_NOTFOUND); /* launcher */
    assert_non_null(strstr(consign_err_msg(&ctx), "/nonexistent/launcher"));
    o.kind = CONSIGN_PKG_RUNTIME;
    assert_int_equal(consign_pkg_new(&ctx, p, &o, &pkg), CONSIGN_E_INVALID);
    assert_non_null(strstr(consign_err_msg(&ctx), "has no runtime"));
    o.kind = CONSIGN_PKG_AGENT;
    {
        char launcher[128];
        snprintf(launcher, sizeof(launcher), "%s/launch", dir);
        o.launcher_path = launcher;
        assert_int_equal(consign_pkg_new(&ctx, p, &o, &pkg), CONSIGN_E_INVALID);
        assert_non_null(strstr(consign_err_msg(&ctx), "/opt/tiny/lib/agent.jar: listed twice"));
    }
    assert_null(pkg);
    consign_product_free(p);
    /* A bad SOURCE_DATE_EPOCH is an error, not a silent "now". */
    setenv("SOURCE_DATE_EPOCH", "yesterday", 1);
    p = load_product(product_text);
    assert_int_equal(consign_pkg_new(&ctx, p, &o, &pkg), CONSIGN_E_INVALID);
    assert_non_null(strstr(consign_err_msg(&ctx), "SOURCE_DATE_EPOCH"));
    unsetenv("SOURCE_DATE_EPOCH");
    consign_product_free(p);
    consign_buf_free(&b);
}

/* Every generated script must parse under dash and bash. */
static void
test_scripts_parse(void **state)
{
    static const char *const shells[] = {"sh -n", "bash -n"};
    struct consign_product *p;
    enum consign_pkg_format f;
    size_t i, s;

    (void)state;
    p = load_product(product_text);
    for (f = CONSIGN_PKG_DEB; f <= CONSIGN_PKG_RPM; f++) {
        struct consign_pkg *pkg = make(p, f, CONSIGN_PKG_AGENT);
        const struct consign_pkg_entry *init =
            find(pkg, f == CONSIGN_PKG_DEB ? "/etc/init.d/tiny" : "/etc/rc.d/init.d/tiny");
        assert_non_null(init);
        for (i = 0; i <= pkg->nscripts; i++) {
            const char *text = i < pkg->nscripts ? pkg->scripts[i].text : (const char *)init->data;
            size_t len = i < pkg->nscripts ? strlen(text) : (size_t)init->size;
            for (s = 0; s < 2; s++) {
                FILE *sh = popen(shells[s], "w");
                assert_non_null(sh);
                assert_int_equal(fwrite(text, 1, len, sh), len);
                if (pclose(sh) != 0)
                    fail_msg("%s rejects script %zu of format %d", shells[s], i, (int)f);
            }
        }
        consign_pkg_free(pkg);
    }
    consign_product_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_deb),
        cmocka_unit_test(test_runtime_rpm),
        cmocka_unit_test(test_clash_and_errors),
        cmocka_unit_test(test_scripts_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
