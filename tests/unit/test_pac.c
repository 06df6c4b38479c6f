/* PAC: the URL and answer parsers on their own, then real PAC scripts
 * evaluated by libpacparser in the child: answers, hostile scripts (loops,
 * memory bombs, huge or garbage answers), and what is left behind. */
#include <ctype.h>
#include <signal.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/pac.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Under AddressSanitizer the child's allocator is ASan's: out of address
 * space it may die in its own mmap ("ERROR: Failed to mmap", SIGABRT) before
 * pacparser sees a NULL, so a memory bomb may end as a crash there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static void
assert_memory_refused(int rc, const char *msg, const char *want)
{
    if (UNDER_ASAN && rc == CONSIGN_E_EXEC && strstr(msg, "PAC: evaluation crashed (signal "))
        return;
    assert_int_equal(rc, CONSIGN_E_TOOBIG);
    assert_string_equal(msg, want);
}

static long long
ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* No child of ours is left: none to reap (no zombie) and none in /proc. */
static void
assert_no_children(void)
{
    pid_t self = getpid();
    struct dirent *e;
    DIR *d;

    errno = 0;
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    d = opendir("/proc");
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[300], stat[512], *close_paren;
        long ppid = 0;
        ssize_t n;
        int fd;

        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        fd = open(path, O_RDONLY);
        if (fd < 0)
            continue; /* gone meanwhile */
        n = read(fd, stat, sizeof(stat) - 1);
        close(fd);
        if (n <= 0)
            continue;
        stat[n] = '\0';
        /* "pid (comm) state ppid ...": comm may hold anything but ends at the last ')'. */
        close_paren = strrchr(stat, ')');
        if (!close_paren || sscanf(close_paren + 1, " %*c %ld", &ppid) != 1)
            continue;
        if (ppid == self)
            fail_msg("process %s is still a child of the test", e->d_name);
    }
    closedir(d);
}

/* Evaluate script for url; returns the code, the message in msg. */
static int
eval(const char *script, const char *url, const struct consign_pac_limits *lim,
     struct consign_pac_result *res, char *msg, size_t msgn)
{
    struct consign_ctx ctx;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    rc = consign_pac_find_proxy(&ctx, script, strlen(script), url, lim, res);
    snprintf(msg, msgn, "%s", rc ? consign_err_msg(&ctx) : "");
    return rc;
}

static void
assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("'%s' does not contain '%s'", hay, needle);
}

static void
assert_entry(const struct consign_pac_entry *e, enum consign_pac_type t, const char *host,
             unsigned port)
{
    assert_int_equal(e->type, t);
    assert_string_equal(e->host, host);
    assert_int_equal(e->port, port);
}

/* ---- the URL parser ---------------------------------------------------------- */

static void
test_url_good(void **state)
{
    static const struct {
        const char *in, *scheme, *host;
        unsigned port;
        const char *url;
    } cases[] = {
        {"http://example.com/a/b?c=d#frag", "http", "example.com", 0, "http://example.com/a/b?c=d"},
        {"HTTP://Example.COM", "http", "example.com", 0, "http://example.com/"},
        {"http://h:8080?q", "http", "h", 8080, "http://h:8080/?q"},
        {"http://user:pa55@proxy.corp:3128/x", "http", "proxy.corp", 3128,
         "http://proxy.corp:3128/x"},
        {"http://a@b@host/x", "http", "host", 0, "http://host/x"},
        {"https://user:secret@dl.vendor.example/agent/1.2?token=abc", "https", "dl.vendor.example",
         0, "https://dl.vendor.example/"},
        {"wss://h.example:8443/socket", "wss", "h.example", 8443, "wss://h.example:8443/"},
        {"http://10.1.2.3/", "http", "10.1.2.3", 0, "http://10.1.2.3/"},
        {"http://[::1]:8080/p", "http", "::1", 8080, "http://[::1]:8080/p"},
        {"http://[2001:DB8::1]/", "http", "2001:db8::1", 0, "http://[2001:db8::1]/"},
        {"ftp://files.example./pub", "ftp", "files.example.", 0, "ftp://files.example./pub"},
        {"http://in_ternal-host.lan/it's", "http", "in_ternal-host.lan", 0,
         "http://in_ternal-host.lan/it%27s"},
        {"http://h/%41%2f", "http", "h", 0, "http://h/%41%2f"},
        {"svn+ssh://h:65535/", "svn+ssh", "h", 65535, "svn+ssh://h:65535/"},
    };
    struct consign_pac_url u;
    struct consign_ctx ctx;
    size_t i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (consign_pac_parse_url(&ctx, cases[i].in, &u))
            fail_msg("%s: %s", cases[i].in, consign_err_msg(&ctx));
        assert_string_equal(u.scheme, cases[i].scheme);
        assert_string_equal(u.host, cases[i].host);
        assert_int_equal(u.port, cases[i].port);
        assert_string_equal(u.url, cases[i].url);
    }
}

static void
test_url_bad(void **state)
{
    static const struct {
        const char *in, *why;
    } cases[] = {
        {"", "scheme://"},
        {"example.com/x", "scheme://"},
        {"http:/x", "scheme://"},
        {"1http://h/", "scheme://"},
        {"http://", "empty host"},
        {"http:///path", "empty host"},
        {"http://user:pw@/x", "empty host"},
        {"http://h:/", "bad port"},
        {"http://h:0/", "bad port"},
        {"http://h:65536/", "bad port"},
        {"http://h:123456/", "bad port"},
        {"http://h:8x/", "bad port"},
        {"http://::1/", "without brackets"},
        {"http://[::1/", "without ']'"},
        {"http://[zz::1]/", "IPv6"},
        {"http://[::1]x/", "bad port"},
        {"http://[fe80::1%25eth0]/", "IPv6"},
        {"http://a..b/", "empty label"},
        {"http://.a/", "empty label"},
        {"http://./", "empty label"},
        {"http://h!x/", "not allowed in a host"},
        {"http://h/a b", "byte 11"},
        {"http://h/a\\'+alert(1)+'", "byte 11"},
        {"http://h/\"", "not allowed"},
        {"http://h/\x01", "not allowed"},
        {"http://h/\xc3\xa9", "not allowed"},
        {"http://h/%4", "%-escape"},
        {"http://h/%zz", "%-escape"},
        {"http://h\n/", "not allowed"},
    };
    struct consign_pac_url u;
    struct consign_ctx ctx;
    char big[CONSIGN_PAC_URL_MAX + 16], label[80];
    size_t i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (consign_pac_parse_url(&ctx, cases[i].in, &u) != CONSIGN_E_INVALID)
            fail_msg("'%s' accepted", cases[i].in);
        assert_contains(consign_err_msg(&ctx), cases[i].why);
    }
    /* Over-long URL, label, host name. */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "http://h/", 9);
    assert_int_equal(consign_pac_parse_url(&ctx, big, &u), CONSIGN_E_TOOBIG);
    memset(label, 'a', sizeof(label));
    snprintf(big, sizeof(big), "http://%.64s.example/", label);
    assert_int_equal(consign_pac_parse_url(&ctx, big, &u), CONSIGN_E_INVALID);
    assert_contains(consign_err_msg(&ctx), "63");
    snprintf(big, sizeof(big), "http://%.63s.%.63s.%.63s.%.63s/", label, label, label, label);
    assert_int_equal(consign_pac_parse_url(&ctx, big, &u), CONSIGN_E_INVALID);
    assert_contains(consign_err_msg(&ctx), "253");
    snprintf(big, sizeof(big), "http://%.63s.%.63s.%.63s.%.61s/", label, label, label, label);
    assert_int_equal(consign_pac_parse_url(&ctx, big, &u), 0);
    /* A path that only fits before "'" becomes "%27". */
    memset(big, 'p', sizeof(big));
    memcpy(big, "http://h/", 9);
    big[CONSIGN_PAC_URL_MAX - 1] = '\'';
    big[CONSIGN_PAC_URL_MAX] = '\0';
    assert_int_equal(consign_pac_parse_url(&ctx, big, &u), CONSIGN_E_TOOBIG);
}

/* Error messages never show what came before the '@'. */
static void
test_url_errors_hide_userinfo(void **state)
{
    static const char *const bad[] = {
        "http://alice:s3cr3t@h:99999/",
        "http://alice:s3cr3t@[::1/",
        "http://alice:s3cr3t@bad!host/",
        "http://alice:s3cr3t@h/\x7f",
    };
    struct consign_pac_url u;
    struct consign_ctx ctx;
    size_t i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(consign_pac_parse_url(&ctx, bad[i], &u), 0);
        assert_null(strstr(consign_err_msg(&ctx), "s3cr3t"));
        assert_null(strstr(consign_err_msg(&ctx), "alice"));
    }
}

/* ---- the answer parser -------------------------------------------------------- */

static int
parse(const char *s, struct consign_pac_result *r, char *msg, size_t msgn)
{
    struct consign_ctx ctx;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    rc = consign_pac_parse_result(&ctx, s, strlen(s), r);
    snprintf(msg, msgn, "%s", rc ? consign_err_msg(&ctx) : "");
    return rc;
}

static void
test_result_good(void **state)
{
    struct consign_pac_result r;
    struct consign_buf b;
    struct consign_ctx ctx;
    char msg[CONSIGN_ERR_MAX];
    int i;

    (void)state;
    assert_int_equal(parse("DIRECT", &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.n, 1);
    assert_entry(&r.e[0], CONSIGN_PAC_DIRECT, "", 0);

    assert_int_equal(
        parse(" PROXY proxy.corp:3128; PROXY [2001:db8::2]:8080 ;DIRECT", &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.n, 3);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "proxy.corp", 3128);
    assert_entry(&r.e[1], CONSIGN_PAC_PROXY, "2001:db8::2", 8080);
    assert_entry(&r.e[2], CONSIGN_PAC_DIRECT, "", 0);

    /* Any case, tabs and newlines, empty entries, default ports. */
    assert_int_equal(parse(";;\tproxy\tA.Example ;\n http h2:81; HTTPS tls.example;socks s;"
                           "SOCKS4 s4:1081 ;Socks5 [::1];  direct ;",
                           &r, msg, sizeof(msg)),
                     0);
    assert_int_equal(r.n, 7);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "a.example", 80);
    assert_entry(&r.e[1], CONSIGN_PAC_PROXY, "h2", 81);
    assert_entry(&r.e[2], CONSIGN_PAC_HTTPS, "tls.example", 443);
    assert_entry(&r.e[3], CONSIGN_PAC_SOCKS4, "s", 1080);
    assert_entry(&r.e[4], CONSIGN_PAC_SOCKS4, "s4", 1081);
    assert_entry(&r.e[5], CONSIGN_PAC_SOCKS5, "::1", 1080);
    assert_entry(&r.e[6], CONSIGN_PAC_DIRECT, "", 0);
    assert_string_equal(consign_pac_type_name(r.e[5].type), "SOCKS5");

    /* More than 16 entries: the first 16 kept, the rest counted. */
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 4096);
    for (i = 0; i < 20; i++)
        assert_int_equal(consign_buf_printf(&ctx, &b, "PROXY p%d:%d;", i, 1000 + i), 0);
    assert_int_equal(consign_pac_parse_result(&ctx, b.data, b.len, &r), 0);
    assert_int_equal(r.n, CONSIGN_PAC_MAX_ENTRIES);
    assert_int_equal(r.dropped, 4);
    assert_entry(&r.e[15], CONSIGN_PAC_PROXY, "p15", 1015);
    /* ... but every entry is still checked. */
    assert_int_equal(consign_buf_puts(&ctx, &b, "PROXY bad host"), 0);
    assert_int_equal(consign_pac_parse_result(&ctx, b.data, b.len, &r), CONSIGN_E_INVALID);
    assert_contains(consign_err_msg(&ctx), "entry 21");
    assert_int_equal(r.n, 0);
    consign_buf_free(&b);
}

static void
test_result_garbage(void **state)
{
    static const struct {
        const char *in, *why;
    } cases[] = {
        {"", "no entry"},
        {"   ", "no entry"},
        {" ; ;; ", "no entry"},
        {"DIRECTX", "unknown type"},
        {"undefined", "unknown type"},
        {"42", "unknown type"},
        {"QUIC q:443", "unknown type"},
        {"PROXY", "no host"},
        {"PROXY   ", "no host"},
        {"DIRECT x:1", "DIRECT takes no host"},
        {"PROXY a:1 b:2", "more than one"},
        {"PROXY a:1, PROXY b:2", "more than one"},
        {"PROXY a:0", "bad port"},
        {"PROXY a:65536", "bad port"},
        {"PROXY a:", "bad port"},
        {"PROXY a:-1", "bad port"},
        {"PROXY a:1x", "bad port"},
        {"PROXY ::1:80", "without brackets"},
        {"PROXY [::1:80", "without ']'"},
        {"PROXY [nope]:80", "IPv6"},
        {"PROXY a..b:1", "empty label"},
        {"PROXY http://a:1", "host name"},
        {"PROXY user@a:1", "host name"},
        {"DIRECT; PROXY a/b:1", "entry 2"},
        {"PROXY h\x01:1", "host name"},
    };
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];
    struct consign_ctx ctx;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (parse(cases[i].in, &r, msg, sizeof(msg)) != CONSIGN_E_INVALID)
            fail_msg("'%s' accepted", cases[i].in);
        assert_contains(msg, cases[i].why);
        assert_int_equal(r.n, 0);
    }
    /* A NUL inside an entry; a long entry is quoted cut, printable. */
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_pac_parse_result(&ctx, "PROXY a\0:1", 10, &r), CONSIGN_E_INVALID);
    assert_contains(consign_err_msg(&ctx), "NUL");
    assert_int_equal(
        parse("PROXY aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x1b[31m:1",
              &r, msg, sizeof(msg)),
        CONSIGN_E_INVALID);
    assert_contains(msg, "...'");
    assert_null(strchr(msg, '\x1b'));
}

/* ---- evaluation ------------------------------------------------------------- */

static const char *const routing_pac =
    "function FindProxyForURL(url, host) {\n"
    "  if (isPlainHostName(host) || dnsDomainIs(host, '.intra.example'))\n"
    "    return 'DIRECT';\n"
    "  if (shExpMatch(host, '*.vendor.example'))\n"
    "    return 'PROXY vendor-proxy.corp:3128; PROXY backup.corp:8080; DIRECT';\n"
    "  if (isInNet(host, '10.0.0.0', '255.0.0.0'))\n"
    "    return 'SOCKS5 socks.corp:1080';\n"
    "  if (host == 'exact.example')\n"
    "    return 'HTTPS tls-proxy.corp:443';\n"
    "  return 'PROXY default.corp:3128';\n"
    "}\n";

static void
test_eval_routes(void **state)
{
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];

    (void)state;
    assert_int_equal(eval("function FindProxyForURL(u, h) { return 'DIRECT'; }",
                          "https://dl.vendor.example/x", NULL, &r, msg, sizeof(msg)),
                     0);
    assert_int_equal(r.n, 1);
    assert_entry(&r.e[0], CONSIGN_PAC_DIRECT, "", 0);

    assert_int_equal(eval(routing_pac, "http://wiki.intra.example/", NULL, &r, msg, sizeof(msg)),
                     0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.e[0].type, CONSIGN_PAC_DIRECT);
    assert_int_equal(eval(routing_pac, "http://localhost:8080/", NULL, &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.e[0].type, CONSIGN_PAC_DIRECT);

    if (eval(routing_pac, "https://dl.vendor.example/agent.bin", NULL, &r, msg, sizeof(msg)))
        fail_msg("%s", msg);
    assert_int_equal(r.n, 3);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "vendor-proxy.corp", 3128);
    assert_entry(&r.e[1], CONSIGN_PAC_PROXY, "backup.corp", 8080);
    assert_entry(&r.e[2], CONSIGN_PAC_DIRECT, "", 0);

    assert_int_equal(eval(routing_pac, "http://10.20.30.40/", NULL, &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.n, 1);
    assert_entry(&r.e[0], CONSIGN_PAC_SOCKS5, "socks.corp", 1080);

    assert_int_equal(eval(routing_pac, "https://EXACT.example/", NULL, &r, msg, sizeof(msg)), 0);
    assert_entry(&r.e[0], CONSIGN_PAC_HTTPS, "tls-proxy.corp", 443);

    assert_int_equal(eval(routing_pac, "http://192.0.2.1/", NULL, &r, msg, sizeof(msg)), 0);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "default.corp", 3128);

    /* alert() is there, as in browsers, and says nothing. */
    assert_int_equal(eval("function FindProxyForURL(u, h) { alert('for ' + h); return 'DIRECT'; }",
                          "http://h/", NULL, &r, msg, sizeof(msg)),
                     0);
    assert_int_equal(r.e[0].type, CONSIGN_PAC_DIRECT);
    assert_no_children();
}

/* What the script is given: no userinfo, no fragment; https without path. */
static void
test_eval_url_given(void **state)
{
    static const char *const pac =
        "function FindProxyForURL(url, host) {\n"
        "  if (url.indexOf('@') >= 0 || url.indexOf('s3cr3t') >= 0 || url.indexOf('alice') >= 0)\n"
        "    return 'PROXY leaked:1';\n"
        "  if (url == 'http://h.example:8080/p?q=1' && host == 'h.example') return 'PROXY a:1';\n"
        "  if (url == 'https://h.example/' && host == 'h.example') return 'PROXY b:2';\n"
        "  if (url == 'http://[::1]/' && host == '::1') return 'PROXY c:3';\n"
        "  if (url == \"http://h.example/it%27s\") return 'PROXY d:4';\n"
        "  return 'PROXY wrong:9';\n"
        "}\n";
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];

    (void)state;
    assert_int_equal(
        eval(pac, "http://alice:s3cr3t@h.example:8080/p?q=1#s3cr3t", NULL, &r, msg, sizeof(msg)),
        0);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "a", 1);
    assert_int_equal(
        eval(pac, "https://alice:s3cr3t@H.Example/path?token=s3cr3t", NULL, &r, msg, sizeof(msg)),
        0);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "b", 2);
    assert_int_equal(eval(pac, "http://alice@[::1]", NULL, &r, msg, sizeof(msg)), 0);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "c", 3);
    assert_int_equal(eval(pac, "http://h.example/it's", NULL, &r, msg, sizeof(msg)), 0);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "d", 4);
    /* A URL that could break out of pacparser's quoting never reaches it. */
    assert_int_equal(eval(pac, "http://h/\\');while(1);('", NULL, &r, msg, sizeof(msg)),
                     CONSIGN_E_INVALID);
    assert_contains(msg, "PAC: URL");
}

static void
test_eval_my_ip(void **state)
{
    static const char *const pac = "function FindProxyForURL(u, h) {"
                                   "  return 'PROXY ' + myIpAddress() + ':3128'; }";
    struct consign_pac_limits lim = {0};
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];

    (void)state;
    lim.my_ip = "192.0.2.7";
    assert_int_equal(eval(pac, "http://h/", &lim, &r, msg, sizeof(msg)), 0);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "192.0.2.7", 3128);
    lim.my_ip = "192.0.2.7; DIRECT";
    assert_int_equal(eval(pac, "http://h/", &lim, &r, msg, sizeof(msg)), CONSIGN_E_INVALID);
    assert_contains(msg, "my IP");
    /* Without it: the outward interface's address (or 127.0.0.1). */
    assert_int_equal(eval(pac, "http://h/", NULL, &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.e[0].type, CONSIGN_PAC_PROXY);
}

/* The standard helper functions (bootstrap/src/pac_js.h and the natives),
 * each with a known answer, encoded into the proxy's host name. */
static void
test_eval_helpers(void **state)
{
    static const char *const pac =
        "function FindProxyForURL(url, host) {\n"
        "  var r = [];\n"
        "  function b(x) { r.push(x === true ? 't' : x === false ? 'f' : String(x)); }\n"
        "  b(shExpMatch('www.example.com', '*.example.com'));\n"     /* t */
        "  b(shExpMatch('example.com', '*.example.com'));\n"         /* f */
        "  b(shExpMatch('a[b].c', 'a[b].?'));\n"                    /* t: no classes */
        "  b(shExpMatch('abc', 'a*b*c*'));\n"                        /* t */
        "  b(shExpMatch('ab', 'a?b'));\n"                            /* f */
        "  b(isPlainHostName('intranet'));\n"                        /* t */
        "  b(isPlainHostName('a.b'));\n"                             /* f */
        "  b(dnsDomainIs('www.Example.com', '.example.com'));\n"     /* t */
        "  b(dnsDomainIs('www.example.org', '.example.com'));\n"     /* f */
        "  b(localHostOrDomainIs('www', 'www.example.com'));\n"      /* t */
        "  b(localHostOrDomainIs('www.example.com', 'www.example.com'));\n" /* t */
        "  b(localHostOrDomainIs('www.other.com', 'www.example.com'));\n"   /* f */
        "  b(isInNet('10.1.2.3', '10.0.0.0', '255.0.0.0'));\n"      /* t */
        "  b(isInNet('11.1.2.3', '10.0.0.0', '255.0.0.0'));\n"      /* f */
        "  b(isInNet('localhost', '127.0.0.0', '255.0.0.0'));\n"     /* t: resolved */
        "  b(isInNetEx('192.168.1.7', '192.168.0.0/16'));\n"        /* t */
        "  b(isInNetEx('192.169.1.7', '192.168.0.0/16'));\n"        /* f */
        "  b(dnsDomainLevels('a.b.c'));\n"                           /* 2 */
        "  b(dnsDomainLevels('www'));\n"                             /* 0 */
        "  b(convert_addr('1.2.3.4'));\n"                            /* 16909060 */
        "  b(dnsResolve('localhost'));\n"                            /* 127.0.0.1 */
        "  b(isResolvable('no-such-host.invalid'));\n"               /* f */
        "  b(dnsResolve('no-such-host.invalid'));\n"                 /* null */
        "  b(myIpAddress());\n"                                      /* 10.9.8.7 */
        "  b(weekdayRange('SUN', 'SAT'));\n"                         /* t */
        "  b(weekdayRange('XYZ'));\n"                                /* f */
        "  b(timeRange(0, 24));\n"                                   /* t */
        "  b(timeRange(0, 0, 0, 23, 59, 59));\n"                     /* t */
        "  b(dateRange('JAN', 'DEC'));\n"                            /* t */
        "  b(dateRange(1, 31));\n"                                   /* t */
        "  b(dateRange(1970, 1971));\n"                              /* f */
        "  alert('checked ' + r.length);\n"
        "  return 'PROXY h-' + r.join('-') + '.example:8080; DIRECT';\n"
        "}\n";
    struct consign_pac_limits lim = {0};
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];

    (void)state;
    lim.my_ip = "10.9.8.7";
    if (eval(pac, "https://www.example.com/", &lim, &r, msg, sizeof(msg)))
        fail_msg("%s", msg);
    assert_int_equal(r.n, 2);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY,
                 "h-t-f-t-t-f-t-f-t-f-t-t-f-t-f-t-t-f-2-0-16909060-127.0.0.1-f-null-10.9.8.7-t-f-"
                 "t-t-t-t-f.example",
                 8080);
    assert_int_equal(r.e[1].type, CONSIGN_PAC_DIRECT);
}

/* A typical corporate PAC file. */
static void
test_eval_corporate(void **state)
{
    static const char *const pac =
        "function FindProxyForURL(url, host) {\n"
        "  if (isPlainHostName(host) || dnsDomainIs(host, '.corp.example') ||\n"
        "      isInNet(host, '10.0.0.0', '255.0.0.0'))\n"
        "    return 'DIRECT';\n"
        "  if (shExpMatch(url, 'https://updates.*'))\n"
        "    return 'PROXY proxy1.corp.example:3128; PROXY proxy2.corp.example:3128; DIRECT';\n"
        "  return 'PROXY proxy.corp.example:8080';\n"
        "}\n";
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];

    (void)state;
    assert_int_equal(eval(pac, "https://updates.example.com/x", NULL, &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.n, 3);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "proxy1.corp.example", 3128);
    assert_entry(&r.e[1], CONSIGN_PAC_PROXY, "proxy2.corp.example", 3128);
    assert_int_equal(eval(pac, "https://wiki.corp.example/", NULL, &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.e[0].type, CONSIGN_PAC_DIRECT);
    assert_int_equal(eval(pac, "http://10.1.1.1/", NULL, &r, msg, sizeof(msg)), 0);
    assert_int_equal(r.e[0].type, CONSIGN_PAC_DIRECT);
    assert_int_equal(eval(pac, "http://www.example.org/", NULL, &r, msg, sizeof(msg)), 0);
    assert_entry(&r.e[0], CONSIGN_PAC_PROXY, "proxy.corp.example", 8080);
}

static void
test_eval_timeout(void **state)
{
    struct consign_pac_limits lim = {0};
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];
    long long t0;

    (void)state;
    lim.timeout_ms = 1000;
    lim.cpu_s = 30; /* the wall clock ends it, not the CPU limit */
    t0 = ms_now();
    assert_int_equal(eval("function FindProxyForURL(u, h) { while (true) {} }", "http://h/", &lim,
                          &r, msg, sizeof(msg)),
                     CONSIGN_E_INVALID);
    assert_string_equal(msg, "PAC: FindProxyForURL did not return within 1 s");
    assert_true(ms_now() - t0 < 5000);
    assert_int_equal(r.n, 0);
    assert_no_children();

    lim.timeout_ms = 700;
    assert_int_equal(eval("for (;;) {}", "http://h/", &lim, &r, msg, sizeof(msg)),
                     CONSIGN_E_INVALID);
    assert_string_equal(msg, "PAC: the script did not finish loading within 700 ms");
    assert_no_children();
}

static void
test_eval_cpu_limit(void **state)
{
    struct consign_pac_limits lim = {0};
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];

    (void)state;
    lim.timeout_ms = 60000;
    lim.cpu_s = 1;
    assert_int_equal(eval("function FindProxyForURL(u, h) { var i = 0; while (true) i++; }",
                          "http://h/", &lim, &r, msg, sizeof(msg)),
                     CONSIGN_E_INVALID);
    assert_string_equal(msg, "PAC: the script used more than 1 s of CPU time");
    assert_no_children();
}

static void
test_eval_memory_bomb(void **state)
{
    struct consign_pac_limits lim = {0};
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];
    int rc;

    (void)state;
    lim.timeout_ms = 30000;
    rc = eval("function FindProxyForURL(u, h) {\n"
              "  var s = 'xxxxxxxxxxxxxxxx';\n"
              "  while (true) s = s + s;\n"
              "}\n",
              "http://h/", &lim, &r, msg, sizeof(msg));
    assert_memory_refused(rc, msg, "PAC: the script ran out of memory (256 MiB)");
    assert_no_children();

    /* The same at load time, with a smaller limit. */
    lim.mem_bytes = 64u << 20;
    rc = eval("var a = []; var s = 'yyyyyyyyyyyyyyyy';"
              "while (true) { s = s + s; a.push(s + 'z'); }",
              "http://h/", &lim, &r, msg, sizeof(msg));
    assert_memory_refused(rc, msg, "PAC: the script ran out of memory (64 MiB)");
    assert_no_children();
}

static void
test_eval_bad_scripts(void **state)
{
    struct consign_pac_limits lim = {0};
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];

    (void)state;
    assert_int_equal(eval("function FindProxyForURL(u, h) {\n  return 'DIRECT'\n  }}\n",
                          "http://h/", NULL, &r, msg, sizeof(msg)),
                     CONSIGN_E_SYNTAX);
    /* The line where the engine noticed: the stray brace's or the end's. */
    assert_contains(msg, "PAC: the script is invalid: line ");
    assert_contains(msg, "SyntaxError");
    assert_null(strstr(msg, "pacparser.c"));

    assert_int_equal(eval("var notIt = 1; function findProxyForURL(u, h) { return 'DIRECT'; }",
                          "http://h/", NULL, &r, msg, sizeof(msg)),
                     CONSIGN_E_SYNTAX);
    assert_string_equal(msg, "PAC: the script defines no function FindProxyForURL");
    assert_int_equal(
        eval("var FindProxyForURL = 'DIRECT';", "http://h/", NULL, &r, msg, sizeof(msg)),
        CONSIGN_E_SYNTAX);
    assert_int_equal(eval("", "http://h/", NULL, &r, msg, sizeof(msg)), CONSIGN_E_SYNTAX);

    /* Top-level code that throws; FindProxyForURL that throws. */
    assert_int_equal(eval("undefinedFunction();", "http://h/", NULL, &r, msg, sizeof(msg)),
                     CONSIGN_E_SYNTAX);
    assert_contains(msg, "undefinedFunction");
    assert_int_equal(eval("function FindProxyForURL(u, h) { throw 'no proxy for you'; }",
                          "http://h/", NULL, &r, msg, sizeof(msg)),
                     CONSIGN_E_INVALID);
    assert_contains(msg, "PAC: FindProxyForURL failed:");
    assert_contains(msg, "no proxy for you");

    /* Bytes we refuse before starting anything. */
    {
        struct consign_ctx ctx;
        consign_ctx_init(&ctx, NULL, NULL);
        assert_int_equal(consign_pac_find_proxy(&ctx, "var a;\0", 7, "http://h/", NULL, &r),
                         CONSIGN_E_INVALID);
        assert_contains(consign_err_msg(&ctx), "NUL");
    }
    lim.max_script = 10;
    assert_int_equal(eval("function FindProxyForURL(u, h) { return 'DIRECT'; }", "http://h/", &lim,
                          &r, msg, sizeof(msg)),
                     CONSIGN_E_TOOBIG);
    lim.max_script = 0;
    lim.max_result = CONSIGN_PAC_RESULT_MAX + 1;
    assert_int_equal(eval("", "http://h/", &lim, &r, msg, sizeof(msg)), CONSIGN_E_INVALID);
    assert_int_equal(eval("", "not a url", NULL, &r, msg, sizeof(msg)), CONSIGN_E_INVALID);
    assert_contains(msg, "PAC: URL");
    assert_no_children();
}

static void
test_eval_answers_refused(void **state)
{
    static const struct {
        const char *body;
        int code;
        const char *why;
    } cases[] = {
        {"return 'PROXY a b';", CONSIGN_E_INVALID, "returned garbage: entry 1 'PROXY a b'"},
        {"return 'DIRECT; PROXY x:';", CONSIGN_E_INVALID, "returned garbage: entry 2"},
        {"return 42;", CONSIGN_E_INVALID, "returned garbage"},
        {"return '';", CONSIGN_E_INVALID, "no entry"},
        {"return;", CONSIGN_E_INVALID, "returned undefined, not a string"},
        {"return null;", CONSIGN_E_INVALID, "returned null, not a string"},
        {"return 'PROXY evil.example:80\\u0001; DIRECT';", CONSIGN_E_INVALID, "garbage"},
        {"var s = 'PROXY a:1'; for (var i = 0; i < 12; i++) s = s + ';' + s; return s;",
         CONSIGN_E_TOOBIG, "more than the limit of 4096"},
    };
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX], pac[512];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(pac, sizeof(pac), "function FindProxyForURL(u, h) { %s }", cases[i].body);
        if (eval(pac, "http://h/", NULL, &r, msg, sizeof(msg)) != cases[i].code)
            fail_msg("%s: %s", cases[i].body, msg);
        assert_contains(msg, cases[i].why);
        assert_int_equal(r.n, 0);
    }
    assert_no_children();
}

/* A huge answer is cut in the child: the parent never holds more than the cap. */
static void
test_eval_huge_answer(void **state)
{
    struct consign_pac_limits lim = {0};
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];

    (void)state;
    lim.timeout_ms = 20000;
    assert_int_equal(eval("function FindProxyForURL(u, h) {"
                          "  var s = 'DIRECT; '; while (s.length < 32 * 1024 * 1024) s = s + s;"
                          "  return s; }",
                          "http://h/", &lim, &r, msg, sizeof(msg)),
                     CONSIGN_E_TOOBIG);
    assert_string_equal(msg, "PAC: FindProxyForURL returned 33554432 bytes, more than the limit "
                             "of 4096");
    /* Under a larger cap the same kind of answer is fine, 16 entries kept. */
    lim.max_result = 8192;
    assert_int_equal(eval("function FindProxyForURL(u, h) {"
                          "  var s = ''; for (var i = 0; i < 500; i++) s += 'PROXY p' + i + ':1;';"
                          "  return s; }",
                          "http://h/", &lim, &r, msg, sizeof(msg)),
                     0);
    assert_int_equal(r.n, CONSIGN_PAC_MAX_ENTRIES);
    assert_int_equal(r.dropped, 500 - CONSIGN_PAC_MAX_ENTRIES);
    assert_no_children();
}

/* pacparser's messages go to the error, not to our stdout or stderr. */
static void
test_eval_silent(void **state)
{
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX], path[] = "/tmp/test_pac.XXXXXX", got[64];
    int fd, save1, save2, rc;
    ssize_t n;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stdout);
    fflush(stderr);
    save1 = dup(1);
    save2 = dup(2);
    assert_true(save1 >= 0 && save2 >= 0);
    dup2(fd, 1);
    dup2(fd, 2);
    setenv("PACPARSER_DEBUG", "1", 1); /* pacparser's debug chatter: still not ours to print */
    rc = eval("function FindProxyForURL(u, h) { return 'DIRECT' +; }", "http://h/", NULL, &r, msg,
              sizeof(msg));
    eval("function FindProxyForURL(u, h) { return 'DIRECT'; }", "http://h/", NULL, &r, msg + 1000,
         sizeof(msg) - 1000);
    unsetenv("PACPARSER_DEBUG");
    fflush(stdout);
    fflush(stderr);
    dup2(save1, 1);
    dup2(save2, 2);
    close(save1);
    close(save2);
    assert_int_equal(rc, CONSIGN_E_SYNTAX);
    msg[999] = '\0';
    assert_contains(msg, "SyntaxError");
    n = pread(fd, got, sizeof(got), 0);
    close(fd);
    assert_int_equal(n, 0);
}

/* A script that crashes the engine (unbounded parser recursion). */
static void
test_eval_crash(void **state)
{
    struct consign_pac_limits lim = {0};
    struct consign_pac_result r;
    char msg[CONSIGN_ERR_MAX];
    size_t depth = 4u << 20, i;
    char *pac = malloc(2 * depth + 64);
    int rc;

    (void)state;
    assert_non_null(pac);
    memcpy(pac, "var x = ", 8);
    for (i = 0; i < depth; i++)
        pac[8 + i] = '[';
    for (i = 0; i < depth; i++)
        pac[8 + depth + i] = ']';
    memcpy(pac + 8 + 2 * depth, ";", 2);
    lim.max_script = 2 * depth + 64;
    lim.timeout_ms = 30000;
    rc = eval(pac, "http://h/", &lim, &r, msg, sizeof(msg));
    free(pac);
    /* Either the engine notices (an error) or it dies of a signal: never us. */
    assert_int_not_equal(rc, 0);
    print_message("deep nesting: %s\n", msg);
    if (rc == CONSIGN_E_EXEC)
        assert_contains(msg, "PAC: evaluation crashed (signal ");
    assert_no_children();
}

/* The evaluator's pid if child has one, else 0; its uid and state into *uid, *state. */
static pid_t
find_child(pid_t parent, long *uid, char *state)
{
    struct dirent *e;
    pid_t found = 0;
    DIR *d = opendir("/proc");

    assert_non_null(d);
    while (!found && (e = readdir(d)) != NULL) {
        char path[300], buf[4096], *p;
        long ppid = 0;
        ssize_t n;
        int fd;

        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
        if ((fd = open(path, O_RDONLY)) < 0)
            continue;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        if (!(p = strstr(buf, "\nPPid:")) || sscanf(p, "\nPPid: %ld", &ppid) != 1 || ppid != parent)
            continue;
        found = (pid_t)atol(e->d_name);
        if ((p = strstr(buf, "\nUid:")))
            sscanf(p, "\nUid: %*d %ld", uid); /* the effective uid */
        if ((p = strstr(buf, "\nState:")))
            sscanf(p, "\nState: %c", state);
    }
    closedir(d);
    return found;
}

/* The evaluator is not root, and dies with whoever called it. */
static void
test_eval_child_confined(void **state)
{
    struct consign_pac_limits lim = {0};
    pid_t caller, ev = 0;
    long uid = -1;
    char st = '?';
    int i, status;

    (void)state;
    fflush(NULL);
    caller = fork();
    assert_true(caller >= 0);
    if (caller == 0) {
        struct consign_pac_result r;
        char msg[CONSIGN_ERR_MAX];
        lim.timeout_ms = 20000;
        eval("function FindProxyForURL(u, h) { while (true) {} }", "http://h/", &lim, &r, msg,
             sizeof(msg));
        _exit(0);
    }
    for (i = 0; i < 500 && !ev; i++) {
        ev = find_child(caller, &uid, &st);
        if (!ev)
            usleep(10000);
    }
    if (!ev) {
        kill(caller, SIGKILL);
        waitpid(caller, &status, 0);
        fail_msg("no evaluator under the caller");
    }
    /* Wait until it is past its uid change (it starts as a copy of us). */
    for (i = 0; i < 300 && uid != 65534 && geteuid() == 0; i++) {
        usleep(10000);
        find_child(caller, &uid, &st);
    }
    if (geteuid() == 0)
        assert_int_equal(uid, 65534);
    else
        assert_int_equal(uid, (long)geteuid());
    kill(caller, SIGKILL);
    assert_int_equal(waitpid(caller, &status, 0), caller);
    /* The evaluator gets SIGKILL with its parent: gone, or a zombie of init. */
    for (i = 0; i < 500; i++) {
        char path[64], buf[512], *p;
        ssize_t n;
        int fd;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)ev);
        if ((fd = open(path, O_RDONLY)) < 0)
            break;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        p = strrchr(buf, ')');
        if (!p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X')
            break;
        usleep(10000);
    }
    assert_true(i < 500);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_good),
        cmocka_unit_test(test_url_bad),
        cmocka_unit_test(test_url_errors_hide_userinfo),
        cmocka_unit_test(test_result_good),
        cmocka_unit_test(test_result_garbage),
        cmocka_unit_test(test_eval_routes),
        cmocka_unit_test(test_eval_url_given),
        cmocka_unit_test(test_eval_my_ip),
        cmocka_unit_test(test_eval_helpers),
        cmocka_unit_test(test_eval_corporate),
        cmocka_unit_test(test_eval_timeout),
        cmocka_unit_test(test_eval_cpu_limit),
        cmocka_unit_test(test_eval_memory_bomb),
        cmocka_unit_test(test_eval_bad_scripts),
        cmocka_unit_test(test_eval_answers_refused),
        cmocka_unit_test(test_eval_huge_answer),
        cmocka_unit_test(test_eval_silent),
        cmocka_unit_test(test_eval_crash),
        cmocka_unit_test(test_eval_child_confined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
