/* The bootstrap's command line (bootstrap/src/bootcli.c): every combination
 * of the property table against a model of the rules, the three styles
 * mixed, conflicts, secret files, and no secret in any message. */
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

#include "consign/bootcli.h"
#include "consign/error.h"

#define TOKEN  "Tok3n-Secret-7f3a"
#define PASSWD "Pa55-Secret-b81c"

/* ---- helpers ---------------------------------------------------------------- */

static char logbuf[65536];

static void
capture(void *user, enum consign_log_level level, const char *msg)
{
    size_t n = strlen(logbuf);

    (void)user;
    snprintf(logbuf + n, sizeof(logbuf) - n, "%d:%s\n", (int)level, msg);
}

/* No secret value may appear in the error message or in what was logged. */
static void
assert_no_secret(const struct consign_ctx *ctx, const char *const *extra)
{
    static const char *const secrets[] = {TOKEN, PASSWD, "Tok3n", "Pa55", "hunter2", "s3cr3t"};
    size_t i;

    for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        if (strstr(consign_err_msg(ctx), secrets[i]) || strstr(logbuf, secrets[i]))
            fail_msg("secret '%s' in message '%s' / log '%s'", secrets[i], consign_err_msg(ctx),
                     logbuf);
    }
    for (; extra && *extra; extra++)
        if (strstr(consign_err_msg(ctx), *extra) || strstr(logbuf, *extra))
            fail_msg("'%s' in message '%s' / log '%s'", *extra, consign_err_msg(ctx), logbuf);
}

/* Parse a NULL-ended list of arguments (copied: the parser blanks secrets). */
struct run {
    struct consign_ctx ctx;
    struct consign_bootcli b;
    char *argv[64];
    int argc;
    int rc;
};

static void
run_env(struct run *r, const char *const *envp, const char *const *args)
{
    int i;

    memset(r, 0, sizeof(*r));
    logbuf[0] = '\0';
    consign_ctx_init(&r->ctx, capture, NULL);
    r->ctx.log_level = CONSIGN_LOG_DEBUG;
    r->argv[0] = strdup("consign-bootstrap");
    for (i = 0; args[i]; i++)
        r->argv[i + 1] = strdup(args[i]);
    r->argc = i + 1;
    r->rc = consign_bootcli_parse(&r->ctx, r->argc, r->argv, envp, &r->b);
    assert_no_secret(&r->ctx, NULL);
    if (r->rc)
        assert_true(consign_err_msg(&r->ctx)[0] != '\0');
}

static void
done(struct run *r)
{
    int i;

    consign_bootcli_free(&r->b);
    for (i = 0; i < r->argc; i++)
        free(r->argv[i]);
}

#define RUN(r, ...)                                                                                \
    do {                                                                                           \
        static const char *const args_[] = {__VA_ARGS__, NULL};                                    \
        run_env((r), NULL, args_);                                                                 \
    } while (0)

static void
expect_bad(const char *want, const char *const *args)
{
    struct run r;

    run_env(&r, NULL, args);
    if (r.rc != CONSIGN_BOOTCLI_EXIT_BADCMD || !strstr(consign_err_msg(&r.ctx), want))
        fail_msg("rc %d, message '%s', wanted 1639 with '%s'", r.rc, consign_err_msg(&r.ctx), want);
    done(&r);
}

#define BAD(want, ...)                                                                             \
    do {                                                                                           \
        static const char *const args_[] = {__VA_ARGS__, NULL};                                    \
        expect_bad((want), args_);                                                                 \
    } while (0)

static char tmpdir[256];

static const char *
write_file(const char *name, const char *content, size_t len, mode_t mode)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    FILE *f;

    snprintf(p, 512, "%s/%s", tmpdir, name);
    unlink(p);
    f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(p, mode), 0);
    return p;
}

/* ---- the property table, every combination ----------------------------------- */

enum { P_TOKEN, P_AUTO, P_USE, P_PAC, P_HOST, P_PORT, P_USER, P_PASS, P_N };
enum { ABSENT, EMPTY, VALUE };

static const char *const pname[P_N] = {
    "PROPERTY_TOKEN",      "PROPERTY_AUTOUPDATE", "PROPERTY_USE_PROXY",  "PROPERTY_PROXY_PAC_URL",
    "PROPERTY_PROXY_HOST", "PROPERTY_PROXY_PORT", "PROPERTY_PROXY_USER", "PROPERTY_PROXY_PASSWORD",
};
static const char *const pvalue[P_N] = {
    TOKEN,  "1",     "1",    "https://wpad.corp.example/proxy.pac", "proxy.corp.example",
    "3128", "alice", PASSWD,
};

/* The rules, written from the table in docs/internals/bootstrap-cli.md. */
static int
model_ok(const int *s, int quiet)
{
    int pac = s[P_PAC] == VALUE, host = s[P_HOST] == VALUE, port = s[P_PORT] == VALUE;
    int user = s[P_USER] == VALUE, pass = s[P_PASS] == VALUE;
    int any = pac || host || port || user || pass;

    if (quiet && s[P_TOKEN] != VALUE)
        return 0;
    if (s[P_USE] != VALUE)
        return !any; /* absent, or empty (no proxy): no proxy field may be given */
    if (pac)
        return !host && !port && !user && !pass;
    if (!host)
        return 0;
    return port && (!pass || user);
}

static void
test_table_all_combinations(void **state)
{
    int s[P_N], combo, total = 1, k, quiet, ok = 0;

    (void)state;
    for (k = 0; k < P_N; k++)
        total *= 3;
    for (quiet = 0; quiet < 2; quiet++)
        for (combo = 0; combo < total; combo++) {
            char buf[P_N][128];
            const char *args[P_N + 3];
            int n = 0, c = combo;
            struct run r;

            args[n++] = "/i";
            if (quiet)
                args[n++] = "/q";
            for (k = 0; k < P_N; k++) {
                s[k] = c % 3;
                c /= 3;
                if (s[k] == ABSENT)
                    continue;
                /* Alternate the case of the names: they are case-insensitive. */
                snprintf(buf[k], sizeof(buf[k]), "%s=%s", pname[k], s[k] == VALUE ? pvalue[k] : "");
                if ((combo + k) % 2)
                    for (char *p = buf[k]; *p != '='; p++)
                        if (*p >= 'A' && *p <= 'Z')
                            *p = (char)(*p - 'A' + 'a');
                args[n++] = buf[k];
            }
            args[n] = NULL;
            run_env(&r, NULL, args);
            if (model_ok(s, quiet) != (r.rc == 0))
                fail_msg("combo %d quiet %d: rc %d '%s'", combo, quiet, r.rc,
                         consign_err_msg(&r.ctx));
            if (r.rc == 0) {
                const struct consign_bootcli *b = &r.b;
                ok++;
                assert_int_equal(b->action, CONSIGN_BOOTCLI_INSTALL);
                assert_int_equal(b->quiet, quiet);
                assert_int_equal(b->auto_update, s[P_AUTO] != EMPTY);
                assert_int_equal(b->auto_update_given, s[P_AUTO] != ABSENT);
                if (s[P_TOKEN] == VALUE) {
                    assert_non_null(b->token);
                    assert_string_equal(b->token->data, TOKEN);
                    assert_string_equal(b->token_from, "PROPERTY_TOKEN");
                    assert_true(strstr(logbuf, "PROPERTY_TOKEN put a secret") != NULL);
                } else
                    assert_null(b->token);
                assert_int_equal(b->use_proxy, s[P_PAC] == VALUE || s[P_HOST] == VALUE);
                assert_int_equal(b->use_proxy_given, s[P_USE] != ABSENT);
                if (s[P_PAC] == VALUE)
                    assert_string_equal(b->proxy_pac_url, pvalue[P_PAC]);
                else
                    assert_null(b->proxy_pac_url);
                if (s[P_HOST] == VALUE) {
                    assert_string_equal(b->proxy_host, pvalue[P_HOST]);
                    assert_int_equal(b->proxy_port, 3128);
                    assert_string_equal(b->proxy_port_str, "3128");
                } else {
                    assert_null(b->proxy_host);
                    assert_int_equal(b->proxy_port, 0);
                }
                if (s[P_USER] == VALUE)
                    assert_string_equal(b->proxy_user, "alice");
                if (s[P_PASS] == VALUE)
                    assert_string_equal(b->proxy_password->data, PASSWD);
                else
                    assert_null(b->proxy_password);
                /* argv no longer shows the secrets. */
                for (k = 0; k < r.argc; k++)
                    assert_null(strstr(r.argv[k], "Secret"));
            }
            done(&r);
        }
    /* The model is not trivially all-fail. */
    assert_true(ok > 100);
}

/* ---- styles, case, flags -------------------------------------------------------- */

static void
test_mixed_styles(void **state)
{
    struct run r;

    (void)state;
    RUN(&r, "-I", "/QN", "--proxy-host=proxy.corp", "Property_Use_Proxy=1", "--proxy-port", "8080",
        "property_token=" TOKEN, "/L*V", "/var/log/boot.log", "--auto-update", "no", "/NoRestart",
        "--root", "/tmp/img", "--ca-bundle=/etc/ca.pem");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.b.action, CONSIGN_BOOTCLI_INSTALL);
    assert_true(r.b.quiet);
    assert_string_equal(r.b.proxy_host, "proxy.corp");
    assert_int_equal(r.b.proxy_port, 8080);
    assert_string_equal(r.b.token->data, TOKEN);
    assert_string_equal(r.b.log, "/var/log/boot.log");
    assert_true(r.b.log_verbose);
    assert_false(r.b.log_append);
    assert_false(r.b.auto_update);
    assert_string_equal(r.b.root, "/tmp/img");
    assert_string_equal(r.b.ca_bundle, "/etc/ca.pem");
    assert_true(r.b.secret_on_command_line);
    done(&r);

    /* No action at all: install, interactive, token asked later. */
    RUN(&r, "--proxy-pac-url", "http://wpad/proxy.pac");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.b.action, CONSIGN_BOOTCLI_INSTALL);
    assert_false(r.b.quiet);
    assert_null(r.b.token);
    assert_true(r.b.use_proxy);
    done(&r);

    /* Long options imply the proxy; USE_PROXY=1 may still be said. */
    RUN(&r, "/i", "--proxy-host", "10.0.0.1", "--proxy-port", "3128", "PROPERTY_USE_PROXY=1");
    assert_int_equal(r.rc, 0);
    done(&r);
    RUN(&r, "/i", "--proxy-host", "[2001:db8::1]", "--proxy-port", "3128", "--proxy-user", "bob");
    assert_int_equal(r.rc, 0);
    assert_null(r.b.proxy_password);
    done(&r);

    /* Every quiet spelling. */
    RUN(&r, "-q", "--token-file", "/dev/null"); /* /dev/null: empty, refused below */
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    done(&r);
    RUN(&r, "/Quiet", "PROPERTY_TOKEN=" TOKEN);
    assert_int_equal(r.rc, 0);
    assert_true(r.b.quiet);
    done(&r);
    RUN(&r, "--quiet", "PROPERTY_TOKEN=" TOKEN, "/qn", "/Q");
    assert_int_equal(r.rc, 0);
    done(&r);

    /* After "--" only properties. */
    RUN(&r, "/i", "--", "PROPERTY_TOKEN=" TOKEN);
    assert_int_equal(r.rc, 0);
    done(&r);
    BAD("argument 2 is not", "--", "/i");
}

static void
test_log_switches(void **state)
{
    struct run r;

    (void)state;
    RUN(&r, "/l", "a.log");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.b.log, "a.log");
    assert_false(r.b.log_verbose);
    done(&r);
    RUN(&r, "-L*vx+", "b.log");
    assert_int_equal(r.rc, 0);
    assert_true(r.b.log_verbose);
    assert_true(r.b.log_append);
    done(&r);
    RUN(&r, "/log", "c.log", "--log=c.log");
    assert_int_equal(r.rc, 0);
    assert_false(r.b.log_verbose);
    done(&r);
    RUN(&r, "/lv", "d.log");
    assert_int_equal(r.rc, 0);
    assert_true(r.b.log_verbose);
    done(&r);
    BAD("/l*v needs a value", "/i", "/l*v");
    BAD("/l needs a value", "/l", "--quiet");
    BAD("/L needs a value", "/L", "PROPERTY_TOKEN=hunter2");
    BAD("--log needs a value", "--log=");
    BAD("unknown switch '/lz'", "/lz", "x.log");
    BAD("--log conflicts with /l*v", "/l*v", "a.log", "--log", "b.log");
}

static void
test_help_and_version(void **state)
{
    static const char *const helps[] = {"/?", "-?", "/h", "-H", "/HELP", "--help"};
    struct run r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
        const char *args[] = {"/i", "/q", helps[i], "/bogus", NULL};
        run_env(&r, NULL, args);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.b.action, CONSIGN_BOOTCLI_HELP);
        done(&r);
    }
    RUN(&r, "--version");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.b.action, CONSIGN_BOOTCLI_VERSION);
    done(&r);
    /* Mistakes before the help still count. */
    BAD("unknown switch '/bogus'", "/bogus", "/?");
    BAD("--help takes no value", "--help=1");
    assert_non_null(strstr(consign_bootcli_usage(), "PROPERTY_PROXY_PAC_URL"));
    assert_non_null(strstr(consign_bootcli_usage(), "1639"));
}

/* ---- errors ---------------------------------------------------------------------- */

static void
test_unknown_and_malformed(void **state)
{
    (void)state;
    BAD("unknown property 'PROPERTY_TOKENS'", "/i", "PROPERTY_TOKENS=" TOKEN);
    BAD("unknown property 'INSTALLDIR'", "INSTALLDIR=/opt");
    BAD("unknown property 'property_proxy'", "property_proxy=x");
    BAD("unknown switch '/a'", "/a");
    BAD("unknown switch '/passive'", "/passive");
    BAD("unknown switch '-'", "-");
    BAD("unknown switch '/'", "/");
    BAD("unknown switch '/PROPERTY_TOKEN'", "/PROPERTY_TOKEN=hunter2");
    BAD("unknown option '--tokens'", "--tokens=hunter2");
    BAD("unknown option '--insta'", "--insta");
    BAD("--install takes no value", "--install=yes");
    BAD("argument 2 is not a switch", "/i", "hunter2");
    BAD("argument 1 is not PROPERTY=VALUE", "hun ter2=s3cr3t");
    BAD("argument 1 is not PROPERTY=VALUE", "=hunter2");
    BAD("PROPERTY_TOKEN needs =VALUE", "property_token");
    BAD("--token needs a value", "--token");
    BAD("--token needs a value", "--token=");
    BAD("--proxy-host needs a value", "--proxy-host", "--proxy-port", "1");
    BAD("--root needs a value", "--root", "PROPERTY_TOKEN=hunter2");
}

static void
test_values(void **state)
{
    (void)state;
    BAD("PROPERTY_PROXY_PORT: not a port", "PROPERTY_USE_PROXY=1", "PROPERTY_PROXY_HOST=h",
        "PROPERTY_PROXY_PORT=0");
    BAD("PROPERTY_PROXY_PORT: not a port", "PROPERTY_PROXY_PORT=65536");
    BAD("--proxy-port: not a port", "--proxy-port=http");
    BAD("--proxy-port: not a port", "--proxy-port=-1");
    BAD("PROPERTY_PROXY_HOST: not a host", "PROPERTY_PROXY_HOST=alice:hunter2@proxy");
    BAD("PROPERTY_PROXY_HOST: not a host", "PROPERTY_PROXY_HOST=-proxy");
    BAD("--proxy-host: not a host", "--proxy-host=proxy corp");
    BAD("PROPERTY_PROXY_PAC_URL: not an http", "PROPERTY_PROXY_PAC_URL=ftp://wpad/p.pac");
    BAD("PROPERTY_PROXY_PAC_URL: not an http", "PROPERTY_PROXY_PAC_URL=file:///etc/p.pac");
    BAD("PROPERTY_PROXY_PAC_URL: not an http",
        "PROPERTY_PROXY_PAC_URL=http://alice:hunter2@wpad/p.pac");
    BAD("--proxy-pac-url: not an http", "--proxy-pac-url=https://wpad:99999/p.pac");
    BAD("PROPERTY_AUTOUPDATE: use 1, 0", "PROPERTY_AUTOUPDATE=yes");
    BAD("PROPERTY_USE_PROXY: use 1, 0", "PROPERTY_USE_PROXY=true");
    BAD("--auto-update: use yes or no", "--auto-update=1");
    BAD("PROPERTY_TOKEN: leading or trailing", "PROPERTY_TOKEN= hunter2");
    BAD("PROPERTY_TOKEN: control characters", "PROPERTY_TOKEN=hunter2\n");
    BAD("PROPERTY_PROXY_PASSWORD: control", "PROPERTY_PROXY_PASSWORD=hun\tter2");
    BAD("--proxy-user: control", "--proxy-user=a\x01");
    {
        char big[CONSIGN_BOOTCLI_VALUE_MAX + 32];
        const char *args[] = {big, NULL};
        memcpy(big, "PROPERTY_TOKEN=", 15);
        memset(big + 15, 'x', sizeof(big) - 16);
        big[sizeof(big) - 1] = '\0';
        expect_bad("PROPERTY_TOKEN: too long", args);
    }
}

static void
test_empty_values(void **state)
{
    struct run r;

    (void)state;
    /* The vendor's template line with only the token filled in. */
    RUN(&r, "/i", "/q", "PROPERTY_AUTOUPDATE=1", "PROPERTY_TOKEN=" TOKEN,
        "PROPERTY_USE_PROXY=", "PROPERTY_PROXY_PAC_URL=", "PROPERTY_PROXY_HOST=",
        "PROPERTY_PROXY_PORT=", "PROPERTY_PROXY_USER=", "PROPERTY_PROXY_PASSWORD=");
    assert_int_equal(r.rc, 0);
    assert_true(r.b.auto_update);
    assert_false(r.b.use_proxy);
    assert_true(r.b.use_proxy_given);
    done(&r);
    RUN(&r, "PROPERTY_AUTOUPDATE=", "PROPERTY_USE_PROXY=0");
    assert_int_equal(r.rc, 0);
    assert_false(r.b.auto_update);
    assert_false(r.b.use_proxy);
    done(&r);
    /* An empty token is no token: a quiet install then fails. */
    BAD("quiet install without a token", "/i", "/q", "PROPERTY_TOKEN=");
    /* An empty property next to a filled one is not a conflict... */
    RUN(&r, "PROPERTY_PROXY_HOST=", "PROPERTY_USE_PROXY=1", "PROPERTY_PROXY_HOST=h",
        "PROPERTY_PROXY_PORT=1", "PROPERTY_PROXY_PORT=");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.b.proxy_host, "h");
    done(&r);
    /* ...but an empty boolean says no. */
    BAD("PROPERTY_AUTOUPDATE conflicts with PROPERTY_AUTOUPDATE",
        "PROPERTY_AUTOUPDATE=", "PROPERTY_AUTOUPDATE=1");
}

static void
test_conflicts(void **state)
{
    struct run r;

    (void)state;
    BAD("/x conflicts with /i", "/i", "/x");
    BAD("--install conflicts with /X", "/X", "--install");
    BAD("--uninstall conflicts with -i", "-i", "--uninstall");
    BAD("PROPERTY_PROXY_HOST conflicts with PROPERTY_PROXY_PAC_URL", "PROPERTY_USE_PROXY=1",
        "PROPERTY_PROXY_PAC_URL=http://wpad/p.pac", "PROPERTY_PROXY_HOST=h",
        "PROPERTY_PROXY_PORT=1");
    BAD("--proxy-host conflicts with --proxy-pac-url", "--proxy-pac-url=http://wpad/p.pac",
        "--proxy-host=h");
    BAD("PROPERTY_PROXY_PASSWORD conflicts with PROPERTY_PROXY_PAC_URL", "PROPERTY_USE_PROXY=1",
        "PROPERTY_PROXY_PAC_URL=http://wpad/p.pac", "PROPERTY_PROXY_PASSWORD=hunter2");
    BAD("PROPERTY_PROXY_HOST needs PROPERTY_USE_PROXY=1", "PROPERTY_PROXY_HOST=h",
        "PROPERTY_PROXY_PORT=1");
    BAD("PROPERTY_PROXY_PASSWORD needs PROPERTY_USE_PROXY=1", "PROPERTY_PROXY_PASSWORD=hunter2");
    BAD("--proxy-host given while PROPERTY_USE_PROXY is empty",
        "PROPERTY_USE_PROXY=", "--proxy-host=h", "--proxy-port=1");
    BAD("PROPERTY_USE_PROXY=1 needs", "PROPERTY_USE_PROXY=1");
    BAD("PROPERTY_USE_PROXY=1 needs", "PROPERTY_USE_PROXY=1", "PROPERTY_PROXY_PORT=1");
    BAD("--proxy-host needs a proxy port", "--proxy-host=h");
    BAD("--proxy-port needs a proxy host", "--proxy-port=1");
    BAD("--proxy-user needs a proxy host", "--proxy-user=u");
    BAD("PROPERTY_PROXY_PASSWORD needs a proxy user", "PROPERTY_USE_PROXY=1",
        "PROPERTY_PROXY_HOST=h", "PROPERTY_PROXY_PORT=1", "PROPERTY_PROXY_PASSWORD=hunter2");
    /* The same setting twice, in any spelling. */
    BAD("--proxy-host conflicts with PROPERTY_PROXY_HOST", "PROPERTY_USE_PROXY=1",
        "PROPERTY_PROXY_HOST=a", "--proxy-host=b");
    BAD("PROPERTY_PROXY_PORT conflicts with PROPERTY_PROXY_PORT", "PROPERTY_PROXY_PORT=1",
        "property_proxy_port=2");
    BAD("PROPERTY_TOKEN conflicts with PROPERTY_TOKEN", "PROPERTY_TOKEN=" TOKEN,
        "PROPERTY_TOKEN=hunter2");
    BAD("--token conflicts with PROPERTY_TOKEN", "PROPERTY_TOKEN=" TOKEN, "--token=hunter2");
    BAD("PROPERTY_PROXY_PASSWORD conflicts with PROPERTY_PROXY_PASSWORD",
        "PROPERTY_PROXY_PASSWORD=" PASSWD, "PROPERTY_PROXY_PASSWORD=s3cr3t");
    BAD("PROPERTY_AUTOUPDATE conflicts with --auto-update", "--auto-update=no",
        "PROPERTY_AUTOUPDATE=1");
    BAD("--token-file conflicts with --token-file", "--token-file=/a", "--token-file=/b");
    /* Equal repeats are fine. */
    RUN(&r, "PROPERTY_TOKEN=" TOKEN, "--token", TOKEN, "/i", "--install", "--auto-update=no",
        "PROPERTY_AUTOUPDATE=0", "PROPERTY_AUTOUPDATE=");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.b.token->data, TOKEN);
    assert_false(r.b.auto_update);
    done(&r);
    /* Uninstall takes no install settings; --purge needs uninstall. */
    BAD("PROPERTY_TOKEN is for installing, not with /x", "/x", "PROPERTY_TOKEN=" TOKEN);
    BAD("--proxy-host is for installing, not with --uninstall", "--uninstall", "--proxy-host=h");
    BAD("--purge goes with /x", "/i", "--purge");
    RUN(&r, "/x", "/q", "--purge", "/l*v", "x.log", "--root=/img");
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.b.action, CONSIGN_BOOTCLI_UNINSTALL);
    assert_true(r.b.purge);
    assert_null(r.b.token);
    done(&r);
}

/* ---- secrets: files, environment, argv ----------------------------------------- */

static void
test_token_file(void **state)
{
    const char *p, *args[6];
    struct run r;

    (void)state;
    p = write_file("tok", TOKEN "\r\nsecond line\n", strlen(TOKEN) + 14, 0600);
    args[0] = "/i";
    args[1] = "/q";
    args[2] = "--token-file";
    args[3] = p;
    args[4] = NULL;
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.b.token->data, TOKEN);
    assert_string_equal(r.b.token_from, "--token-file");
    assert_false(r.b.secret_on_command_line);
    assert_null(strstr(logbuf, "command line"));
    done(&r);

    /* Same value on the command line: fine; another value: conflict. */
    args[4] = "PROPERTY_TOKEN=" TOKEN;
    args[5] = NULL;
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, 0);
    done(&r);
    args[4] = "PROPERTY_TOKEN=hunter2";
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    assert_non_null(strstr(consign_err_msg(&r.ctx), "--token-file conflicts with PROPERTY_TOKEN"));
    done(&r);
    args[4] = NULL;

    /* Open to group or others: refused, with the mode and no content. */
    args[3] = write_file("tok-0640", TOKEN "\n", strlen(TOKEN) + 1, 0640);
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    assert_non_null(strstr(consign_err_msg(&r.ctx), "open to group or others (mode 640)"));
    done(&r);
    args[3] = write_file("tok-0604", TOKEN, strlen(TOKEN), 0604);
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    done(&r);
    args[3] = write_file("tok-0400", TOKEN, strlen(TOKEN), 0400);
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.b.token->data, TOKEN);
    done(&r);

    /* Bad contents: named by the file, never quoted. */
    args[3] = write_file("tok-empty", "\nhunter2\n", 9, 0600);
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    assert_non_null(strstr(consign_err_msg(&r.ctx), "tok-empty': empty"));
    done(&r);
    args[3] = write_file("tok-space", "hunter2 \n", 9, 0600);
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    done(&r);
    args[3] = write_file("tok-nul", "hunt\0er2\n", 9, 0600);
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    assert_non_null(strstr(consign_err_msg(&r.ctx), "control characters"));
    done(&r);
    {
        static char big[CONSIGN_SECRET_MAX + 100];
        memset(big, 'h', sizeof(big));
        args[3] = write_file("tok-big", big, sizeof(big), 0600);
        run_env(&r, NULL, args);
        assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
        assert_non_null(strstr(consign_err_msg(&r.ctx), "too long"));
        done(&r);
        args[3] = write_file("tok-big2", big, CONSIGN_BOOTCLI_VALUE_MAX + 1, 0600);
        run_env(&r, NULL, args);
        assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
        done(&r);
        big[CONSIGN_BOOTCLI_VALUE_MAX] = '\n';
        args[3] = write_file("tok-max", big, sizeof(big), 0600);
        run_env(&r, NULL, args);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.b.token->len, CONSIGN_BOOTCLI_VALUE_MAX);
        done(&r);
    }
    args[3] = "/nonexistent/token";
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    assert_non_null(strstr(consign_err_msg(&r.ctx), "--token-file '/nonexistent/token': No such"));
    done(&r);
    args[3] = tmpdir;
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    done(&r);
    /* Help needs no token file. */
    args[3] = "/nonexistent/token";
    args[4] = "/?";
    run_env(&r, NULL, args);
    assert_int_equal(r.rc, 0);
    done(&r);
}

static void
test_password_file_and_env(void **state)
{
    const char *env[] = {"PATH=/bin", "CONSIGN_TOKEN=" TOKEN, "CONSIGN_PROXY_PASSWORD=" PASSWD,
                         NULL};
    const char *args[12];
    struct run r;

    (void)state;
    args[0] = "/i";
    args[1] = "/q";
    args[2] = "--proxy-host=h";
    args[3] = "--proxy-port=3128";
    args[4] = "--proxy-user=alice";
    args[5] = "--proxy-password-file";
    args[6] = write_file("pw", PASSWD "\n", strlen(PASSWD) + 1, 0600);
    args[7] = "--token-file";
    args[8] = write_file("tok2", "hunter2\n", 8, 0600);
    args[9] = NULL;
    run_env(&r, env, args);
    assert_int_equal(r.rc, 0);
    /* The command line wins over the environment, without a conflict. */
    assert_string_equal(r.b.token->data, "hunter2");
    assert_string_equal(r.b.proxy_password->data, PASSWD);
    done(&r);

    /* From the environment alone. */
    args[5] = NULL;
    run_env(&r, env, args);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.b.token->data, TOKEN);
    assert_string_equal(r.b.token_from, "CONSIGN_TOKEN");
    assert_string_equal(r.b.proxy_password->data, PASSWD);
    done(&r);
    /* No proxy user: the password variable is not read. */
    args[4] = NULL;
    run_env(&r, env, args);
    assert_int_equal(r.rc, 0);
    assert_null(r.b.proxy_password);
    done(&r);
    /* Empty variables are unset ones; bad ones are named. */
    {
        const char *env2[] = {"CONSIGN_TOKEN=", NULL};
        const char *env3[] = {"CONSIGN_TOKEN=hunter2\t", NULL};
        const char *a2[] = {"/q", NULL};
        run_env(&r, env2, a2);
        assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
        done(&r);
        run_env(&r, env3, a2);
        assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
        assert_non_null(strstr(consign_err_msg(&r.ctx), "CONSIGN_TOKEN (environment)"));
        done(&r);
    }
    /* A world-readable password file is refused too. */
    args[4] = "--proxy-user=alice";
    args[5] = "--proxy-password-file";
    args[6] = write_file("pw-644", PASSWD "\n", strlen(PASSWD) + 1, 0644);
    args[7] = NULL;
    run_env(&r, env, args);
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    assert_non_null(strstr(consign_err_msg(&r.ctx), "--proxy-password-file"));
    done(&r);
}

static void
test_quiet_needs_token(void **state)
{
    struct run r;

    (void)state;
    BAD("quiet install without a token", "/i", "/q");
    BAD("quiet install without a token", "/q", "PROPERTY_AUTOUPDATE=1");
    RUN(&r, "/i");
    assert_int_equal(r.rc, 0);
    assert_null(r.b.token);
    done(&r);
}

static void
test_argv_scrubbed_and_warned(void **state)
{
    struct run r;
    int i;

    (void)state;
    RUN(&r, "--token", TOKEN, "--proxy-host=h", "--proxy-port=1", "--proxy-user=u",
        "PROPERTY_PROXY_PASSWORD=" PASSWD, "PROPERTY_USE_PROXY=1");
    assert_int_equal(r.rc, 0);
    for (i = 0; i < r.argc; i++) {
        assert_null(strstr(r.argv[i], "Secret"));
    }
    assert_string_equal(r.argv[2], "");
    assert_string_equal(r.argv[6], "PROPERTY_PROXY_PASSWORD=");
    assert_non_null(strstr(logbuf, "1:--token put a secret on the command line"));
    done(&r);
    /* Even a refused secret is blanked. */
    RUN(&r, "PROPERTY_TOKEN=" TOKEN, "PROPERTY_TOKEN=hunter2");
    assert_int_equal(r.rc, CONSIGN_BOOTCLI_EXIT_BADCMD);
    assert_string_equal(r.argv[2], "PROPERTY_TOKEN=");
    done(&r);
}

static void
test_settings(void **state)
{
    struct consign_bootcli_setting s[CONSIGN_BOOTCLI_SETTINGS_MAX];
    struct run r;
    size_t n;

    (void)state;
    RUN(&r, "/i", "PROPERTY_TOKEN=" TOKEN, "PROPERTY_USE_PROXY=1", "PROPERTY_PROXY_HOST=p",
        "PROPERTY_PROXY_PORT=0080", "PROPERTY_PROXY_USER=u", "PROPERTY_PROXY_PASSWORD=" PASSWD);
    assert_int_equal(r.rc, 0);
    n = consign_bootcli_settings(&r.b, s);
    assert_int_equal(n, 6);
    assert_string_equal(s[0].key, "token");
    assert_string_equal(s[0].value, TOKEN);
    assert_string_equal(s[1].key, "proxy_pac_url");
    assert_null(s[1].value);
    assert_string_equal(s[2].value, "p");
    assert_string_equal(s[3].key, "proxy_port");
    assert_string_equal(s[3].value, "80");
    assert_string_equal(s[4].value, "u");
    assert_string_equal(s[5].key, "proxy_password");
    assert_string_equal(s[5].value, PASSWD);
    done(&r);
    /* Nothing given: nothing changes on an upgrade. */
    RUN(&r, "/i");
    assert_int_equal(consign_bootcli_settings(&r.b, s), 0);
    done(&r);
    /* USE_PROXY empty: the proxy settings are removed; AUTOUPDATE empty: no. */
    RUN(&r, "PROPERTY_USE_PROXY=", "PROPERTY_AUTOUPDATE=");
    n = consign_bootcli_settings(&r.b, s);
    assert_int_equal(n, 6);
    assert_string_equal(s[0].key, "auto_update");
    assert_string_equal(s[0].value, "no");
    for (size_t k = 1; k < n; k++)
        assert_null(s[k].value);
    done(&r);
    consign_bootcli_free(NULL);
}

static int
setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_bootcli.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_all_combinations),
        cmocka_unit_test(test_mixed_styles),
        cmocka_unit_test(test_log_switches),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_unknown_and_malformed),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_token_file),
        cmocka_unit_test(test_password_file_and_env),
        cmocka_unit_test(test_quiet_needs_token),
        cmocka_unit_test(test_argv_scrubbed_and_warned),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
