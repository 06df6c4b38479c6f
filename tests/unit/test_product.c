/* Product file parser: every fixture under tests/fixtures/product, plus
 * targeted checks of defaults, variables and bounds. */
#include <dirent.h>
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
#include "consign/fileio.h"
#include "consign/product.h"

static int
load(const char *name, struct consign_ctx *ctx, struct consign_product **p)
{
    consign_ctx_init(ctx, NULL, NULL);
    return consign_product_load(ctx, name, NULL, NULL, p);
}

/* Each bad-*.yaml names, on its first line, the exact message it must produce. */
static void
test_fixtures(void **state)
{
    struct dirent **ents = NULL;
    int n, i, bad = 0, good = 0;

    (void)state;
    assert_int_equal(chdir(CONSIGN_FIXTURES "/product"), 0);
    n = scandir(".", &ents, NULL, alphasort);
    assert_true(n > 0);
    for (i = 0; i < n; i++) {
        const char *f = ents[i]->d_name;
        struct consign_ctx ctx;
        struct consign_product *p = NULL;
        size_t len = strlen(f);
        int rc;

        if (len < 5 || strcmp(f + len - 5, ".yaml") != 0) {
            free(ents[i]);
            continue;
        }
        setenv("EXAMPLE_AGENT_BUILD", "build", 1);
        rc = load(f, &ctx, &p);
        if (strncmp(f, "good-", 5) == 0) {
            if (rc)
                fail_msg("%s: unexpected error: %s", f, consign_err_msg(&ctx));
            consign_product_free(p);
            good++;
        } else {
            char *text = NULL, *nl;
            size_t tlen;
            struct consign_ctx rctx;
            consign_ctx_init(&rctx, NULL, NULL);
            assert_int_equal(consign_file_read(&rctx, f, 1 << 20, &text, &tlen), 0);
            nl = strchr(text, '\n');
            if (nl)
                *nl = '\0';
            assert_non_null(strstr(text, "# expect: "));
            if (rc == 0)
                fail_msg("%s: accepted, expected: %s", f, text + 10);
            assert_int_equal(consign_exit_class(rc), 2);
            if (strcmp(consign_err_msg(&ctx), text + 10) != 0)
                fail_msg("%s:\n  got:      %s\n  expected: %s", f, consign_err_msg(&ctx),
                         text + 10);
            assert_null(p);
            free(text);
            bad++;
        }
        free(ents[i]);
    }
    free(ents);
    assert_true(good >= 1);
    assert_true(bad >= 20);
}

static void
test_defaults(void **state)
{
    struct consign_ctx ctx;
    struct consign_product *p = NULL;

    (void)state;
    assert_int_equal(chdir(CONSIGN_FIXTURES "/product"), 0);
    assert_int_equal(load("good-minimal.yaml", &ctx, &p), 0);
    assert_string_equal(p->name, "tiny-agent");
    assert_string_equal(p->version, "0.1");
    assert_string_equal(p->release, "1");
    assert_int_equal(p->has_epoch, 0);
    assert_int_equal(p->arch, CONSIGN_ARCH_AMD64);
    assert_string_equal(p->section, "misc");
    assert_string_equal(p->service.name, "tiny-agent");
    assert_string_equal(p->service.user, "root");
    assert_string_equal(p->service.group, "root");
    assert_int_equal(p->service.restart, CONSIGN_RESTART_ON_FAILURE);
    assert_int_equal(p->service.restart_sec, 5);
    assert_string_equal(p->service.options_file, "/etc/opt/tiny-agent/start-agent.ini");
    assert_int_equal(p->settings.token, CONSIGN_TOKEN_REQUIRED);
    assert_int_equal(p->settings.auto_update, 1);
    assert_int_equal(p->runtime.nfiles, 0);
    assert_string_equal(p->dist.channel, "stable");
    assert_int_equal(p->service.nexec, 2);
    assert_string_equal(p->service.exec[1], "--serve");
    /* Relative sources resolve against the product file's directory. */
    assert_string_equal(p->agent.files[0].src, "bin/tiny");
    consign_product_free(p);
}

static const char *
lookup(void *user, const char *name)
{
    (void)user;
    return strcmp(name, "B") == 0 ? "/from/define" : NULL;
}

static void
test_variables(void **state)
{
    static const char head[] = "consign: 1\nname: vv\nversion: 1\nsummary: s\ndescription: d\n"
                               "maintainer: A <a@b.c>\nlicense: MIT\nservice: {exec: [/x]}\n"
                               "agent:\n  files:\n";
    struct consign_ctx ctx;
    struct consign_product *p = NULL;
    char doc[1024];

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(doc, sizeof(doc),
             "%s    - {src: '${B}/a', dst: /opt/vv/a}\n"
             "    - {src: '${NOPE:-/dflt}/b', dst: /opt/vv/b}\n"
             "    - {src: 'c$$d', dst: /opt/vv//./c/}\n",
             head);
    assert_int_equal(consign_product_parse(&ctx, "/p/x.yaml", doc, strlen(doc), lookup, NULL, &p),
                     0);
    assert_string_equal(p->agent.files[0].src, "/from/define/a");
    assert_string_equal(p->agent.files[1].src, "/dflt/b");
    assert_string_equal(p->agent.files[2].src, "/p/c$d");
    assert_string_equal(p->agent.files[2].dst, "/opt/vv/c");
    consign_product_free(p);

    snprintf(doc, sizeof(doc), "%s    - {src: '${NOPE}/a', dst: /opt/vv/a}\n", head);
    assert_int_equal(consign_product_parse(&ctx, "x.yaml", doc, strlen(doc), lookup, NULL, &p),
                     CONSIGN_E_INVALID);
    assert_string_equal(consign_err_msg(&ctx), "x.yaml:11: agent.files[0].src: variable NOPE is "
                                               "not set (define it or export it)");
    snprintf(doc, sizeof(doc), "%s    - {src: '$HOME/a', dst: /opt/vv/a}\n", head);
    assert_int_equal(consign_product_parse(&ctx, "x.yaml", doc, strlen(doc), lookup, NULL, &p),
                     CONSIGN_E_INVALID);
    assert_non_null(strstr(consign_err_msg(&ctx), "must start ${VARIABLE}"));
}

static void
test_bounds(void **state)
{
    struct consign_ctx ctx;
    struct consign_product *p = NULL;
    struct consign_buf b;
    int i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    /* Nesting deeper than the cap is refused, not recursed into. */
    consign_buf_init(&b, 1 << 20);
    for (i = 0; i < 100; i++)
        assert_int_equal(consign_buf_puts(&ctx, &b, "["), 0);
    assert_int_equal(consign_product_parse(&ctx, "deep.yaml", b.data, b.len, NULL, NULL, &p),
                     CONSIGN_E_SYNTAX);
    assert_non_null(strstr(consign_err_msg(&ctx), "nested too deeply"));
    consign_buf_free(&b);
    /* Over the size cap. */
    consign_buf_init(&b, 2u << 20);
    for (i = 0; i < (CONSIGN_PRODUCT_MAX_BYTES / 8) + 1; i++)
        assert_int_equal(consign_buf_puts(&ctx, &b, "#comment"), 0);
    assert_int_equal(consign_product_parse(&ctx, "big.yaml", b.data, b.len, NULL, NULL, &p),
                     CONSIGN_E_TOOBIG);
    consign_buf_free(&b);
    /* Two documents. */
    assert_int_equal(
        consign_product_parse(&ctx, "two.yaml", "a: 1\n---\nb: 2\n", 14, NULL, NULL, &p),
        CONSIGN_E_SYNTAX);
    assert_non_null(strstr(consign_err_msg(&ctx), "only one YAML document"));
    assert_null(p);
}

static void
test_launch_conf(void **state)
{
    struct consign_ctx ctx;
    struct consign_product *p = NULL;
    struct consign_buf b;

    (void)state;
    assert_int_equal(chdir(CONSIGN_FIXTURES "/product"), 0);
    assert_int_equal(load("good-minimal.yaml", &ctx, &p), 0);
    consign_buf_init(&b, 1 << 16);
    assert_int_equal(consign_product_launch_conf(&ctx, p, &b), 0);
    assert_non_null(strstr(b.data, "\nname=tiny-agent\n"
                                   "options_file=/etc/opt/tiny-agent/start-agent.ini\n"
                                   "arg=/opt/tiny-agent/bin/tiny\narg=--serve\n"));
    consign_buf_free(&b);
    consign_product_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),    cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_variables),   cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_launch_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
