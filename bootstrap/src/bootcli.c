/* The bootstrap's command line: msiexec switches, PROPERTY=VALUE pairs and
 * GNU long options on one line (docs/internals/bootstrap-cli.md). libc only.
 *
 * Every argument lands in a slot (the token, the proxy host, the log file,
 * ...). A slot may be filled by several spellings (PROPERTY_PROXY_HOST and
 * --proxy-host) and more than once, as long as the values agree. The rules
 * between slots are checked once the whole line is read, then the secret
 * files are read. No message quotes a value. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consign/bootcli.h"
#include "consign/buf.h"

/* Longest piece of an argument (a switch or property name, a path) quoted. */
#define QUOTE_MAX      64
#define PATH_QUOTE_MAX 256

enum slot {
    SL_LOG,
    SL_ROOT,
    SL_CA,
    SL_AUTO,
    SL_USEPROXY,
    SL_PAC,
    SL_HOST,
    SL_PORT,
    SL_USER,
    SL_PASS,
    SL_TOKEN,
    SL_TOKENFILE,
    SL_PASSFILE,
    SL_COUNT
};

enum kind {
    K_PATH,   /* a file or directory name */
    K_BOOL,   /* a property boolean: 1, 0 or empty */
    K_YESNO,  /* --auto-update yes|no */
    K_URL,    /* http(s)://host[:port][/...] */
    K_HOST,   /* a host name or address */
    K_PORT,   /* 1..65535 */
    K_TEXT,   /* plain text (the proxy user) */
    K_SECRET, /* the token or the proxy password, in argv */
};

static const struct prop {
    const char *name;
    enum slot slot;
    enum kind kind;
} props[] = {
    {"PROPERTY_TOKEN", SL_TOKEN, K_SECRET},      {"PROPERTY_AUTOUPDATE", SL_AUTO, K_BOOL},
    {"PROPERTY_USE_PROXY", SL_USEPROXY, K_BOOL}, {"PROPERTY_PROXY_PAC_URL", SL_PAC, K_URL},
    {"PROPERTY_PROXY_HOST", SL_HOST, K_HOST},    {"PROPERTY_PROXY_PORT", SL_PORT, K_PORT},
    {"PROPERTY_PROXY_USER", SL_USER, K_TEXT},    {"PROPERTY_PROXY_PASSWORD", SL_PASS, K_SECRET},
};

enum flag { F_NONE, F_INSTALL, F_UNINSTALL, F_QUIET, F_PURGE, F_HELP, F_VERSION, F_IGNORE };

static const struct longopt {
    const char *name;
    enum flag flag; /* F_NONE: takes a value */
    enum slot slot;
    enum kind kind;
} longopts[] = {
    {"--install", F_INSTALL, SL_COUNT, K_PATH},
    {"--uninstall", F_UNINSTALL, SL_COUNT, K_PATH},
    {"--quiet", F_QUIET, SL_COUNT, K_PATH},
    {"--purge", F_PURGE, SL_COUNT, K_PATH},
    {"--help", F_HELP, SL_COUNT, K_PATH},
    {"--version", F_VERSION, SL_COUNT, K_PATH},
    {"--log", F_NONE, SL_LOG, K_PATH},
    {"--root", F_NONE, SL_ROOT, K_PATH},
    {"--ca-bundle", F_NONE, SL_CA, K_PATH},
    {"--token-file", F_NONE, SL_TOKENFILE, K_PATH},
    {"--proxy-password-file", F_NONE, SL_PASSFILE, K_PATH},
    {"--token", F_NONE, SL_TOKEN, K_SECRET},
    {"--auto-update", F_NONE, SL_AUTO, K_YESNO},
    {"--proxy-pac-url", F_NONE, SL_PAC, K_URL},
    {"--proxy-host", F_NONE, SL_HOST, K_HOST},
    {"--proxy-port", F_NONE, SL_PORT, K_PORT},
    {"--proxy-user", F_NONE, SL_USER, K_TEXT},
};

/* msiexec switches, lower case, without the leading '/' or '-'. "l" and its
 * modifiers are handled apart. */
static const struct sw {
    const char *name;
    enum flag flag;
} switches[] = {
    {"i", F_INSTALL}, {"install", F_INSTALL}, {"x", F_UNINSTALL},      {"uninstall", F_UNINSTALL},
    {"q", F_QUIET},   {"qn", F_QUIET},        {"quiet", F_QUIET},      {"?", F_HELP},
    {"h", F_HELP},    {"help", F_HELP},       {"norestart", F_IGNORE},
};

struct state {
    struct consign_ctx *ctx;
    struct consign_bootcli *out;
    const char *src[SL_COUNT]; /* the argument that first filled each slot */
    const char *val[SL_COUNT]; /* its value (normalised for booleans); not for secrets */
    struct consign_secret *secret[SL_COUNT]; /* SL_TOKEN, SL_PASS */
    const char *action_src;
    const char *purge_src;
    const char *prop_proxy_src;  /* the first PROPERTY_PROXY_* with a value */
    const char *argv_secret_src; /* the first secret read from argv */
};

static int badcmd(struct consign_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
badcmd(struct consign_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    consign_failv(ctx, CONSIGN_E_USAGE, fmt, ap);
    va_end(ap);
    return CONSIGN_BOOTCLI_EXIT_BADCMD;
}

static int
nomem(struct consign_ctx *ctx)
{
    consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    return CONSIGN_BOOTCLI_EXIT_FATAL;
}

static int
lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int
ieq(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return b[n] == '\0';
}

/* How much of an argument may be quoted: up to '=' (a value may follow) and
 * at most QUOTE_MAX bytes. */
static int
quotable(const char *a)
{
    size_t n = strcspn(a, "=");

    return (int)(n > QUOTE_MAX ? QUOTE_MAX : n);
}

/* ---- values ----------------------------------------------------------------- */

/* What the settings file takes: no control characters, no spaces around, bounded. */
static const char *
text_problem(const char *v, size_t n)
{
    size_t i;

    if (n == 0)
        return "empty";
    if (n > CONSIGN_BOOTCLI_VALUE_MAX)
        return "too long";
    for (i = 0; i < n; i++)
        if ((unsigned char)v[i] < ' ' || v[i] == 0x7f)
            return "control characters not allowed";
    if (v[0] == ' ' || v[n - 1] == ' ')
        return "leading or trailing spaces";
    return NULL;
}

static int
is_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The install core's host rule (install/src/conf.c): names, IPv4, IPv6 in
 * brackets or not. */
static int
host_ok(const char *v)
{
    size_t i, n = strlen(v);

    if (n == 0 || n > 253)
        return 0;
    for (i = 0; i < n; i++)
        if (!(is_alnum((unsigned char)v[i]) || v[i] == '.' || v[i] == '-' || v[i] == ':' ||
              v[i] == '[' || v[i] == ']'))
            return 0;
    return v[0] != '-' && v[0] != '.';
}

static int
port_parse(const char *v, unsigned *port)
{
    unsigned long long n;

    if (consign_parse_u64(v, 65535, &n) || n == 0)
        return -1;
    *port = (unsigned)n;
    return 0;
}

/* http:// or https://, a host of URL characters (no userinfo), an optional
 * port, then anything printable. The settings file's rule without file://. */
static int
url_ok(const char *v)
{
    const char *h, *e;

    if (strncmp(v, "http://", 7) == 0)
        h = v + 7;
    else if (strncmp(v, "https://", 8) == 0)
        h = v + 8;
    else
        return 0;
    for (e = h; *e && *e != '/' && *e != ':'; e++)
        if (!(is_alnum((unsigned char)*e) || *e == '.' || *e == '-' || *e == '[' || *e == ']'))
            return 0;
    if (e == h)
        return 0;
    if (*e == ':') {
        char num[8];
        unsigned port;
        size_t n = strcspn(e + 1, "/");
        if (n == 0 || n >= sizeof(num))
            return 0;
        memcpy(num, e + 1, n);
        num[n] = '\0';
        if (port_parse(num, &port))
            return 0;
    }
    for (; *e; e++)
        if ((unsigned char)*e <= ' ' || *e == 0x7f)
            return 0;
    return 1;
}

static int
secret_new(struct consign_ctx *ctx, const char *p, size_t n, struct consign_secret **out)
{
    struct consign_secret *s = calloc(1, sizeof(*s));

    if (!s || !(s->data = malloc(n + 1))) {
        free(s);
        return nomem(ctx);
    }
    memcpy(s->data, p, n);
    s->data[n] = '\0';
    s->len = n;
    *out = s;
    return 0;
}

static int
secret_eq(const struct consign_secret *a, const char *b, size_t n)
{
    unsigned char d = 0;
    size_t i;

    if (a->len != n)
        return 0;
    for (i = 0; i < n; i++)
        d |= (unsigned char)(a->data[i] ^ b[i]);
    return d == 0;
}

/* Keep a secret; a second source must carry the same value. */
static int
put_secret(struct state *st, enum slot slot, const char *src, const char *v, size_t n)
{
    const char *why = text_problem(v, n);

    if (why)
        return badcmd(st->ctx, "%s: %s", src, why);
    if (st->secret[slot]) {
        if (!secret_eq(st->secret[slot], v, n))
            return badcmd(st->ctx, "%s conflicts with %s given earlier", src, st->src[slot]);
        return 0;
    }
    st->src[slot] = src;
    return secret_new(st->ctx, v, n, &st->secret[slot]);
}

static int
put_value(struct state *st, enum slot slot, const char *src, const char *v)
{
    if (st->src[slot]) {
        if (strcmp(st->val[slot], v) != 0)
            return badcmd(st->ctx, "%s conflicts with %s given earlier", src, st->src[slot]);
        return 0;
    }
    st->src[slot] = src;
    st->val[slot] = v;
    return 0;
}

static int
is_proxy_slot(enum slot s)
{
    return s == SL_PAC || s == SL_HOST || s == SL_PORT || s == SL_USER || s == SL_PASS ||
           s == SL_PASSFILE;
}

/* One value for a slot. src names the argument in messages. v is argv's
 * string: a secret is copied, then blanked there. */
static int
assign(struct state *st, enum slot slot, enum kind kind, const char *src, char *v, int property)
{
    const char *why, *val = v;
    unsigned port;
    int rc;

    if (!v[0]) {
        if (!property)
            return badcmd(st->ctx, "%s needs a value", src);
        if (kind != K_BOOL)
            return 0; /* an empty property is no property (msiexec) */
        return put_value(st, slot, src, "0");
    }
    if (kind == K_SECRET) {
        rc = put_secret(st, slot, src, v, strlen(v));
        explicit_bzero(v, strlen(v));
        st->out->secret_on_command_line = 1;
        if (!st->argv_secret_src)
            st->argv_secret_src = src;
        if (rc == 0 && property && slot == SL_PASS && !st->prop_proxy_src)
            st->prop_proxy_src = src;
        return rc;
    }
    if ((why = text_problem(v, strlen(v))))
        return badcmd(st->ctx, "%s: %s", src, why);
    switch (kind) {
    case K_BOOL:
        if (strcmp(v, "1") != 0 && strcmp(v, "0") != 0)
            return badcmd(st->ctx, "%s: use 1, 0 or an empty value", src);
        break;
    case K_YESNO:
        if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
            return badcmd(st->ctx, "%s: use yes or no", src);
        val = strcmp(v, "yes") == 0 ? "1" : "0";
        break;
    case K_URL:
        if (!url_ok(v))
            return badcmd(st->ctx, "%s: not an http:// or https:// URL (no user:password@)", src);
        break;
    case K_HOST:
        if (!host_ok(v))
            return badcmd(st->ctx, "%s: not a host name or address", src);
        break;
    case K_PORT:
        if (port_parse(v, &port))
            return badcmd(st->ctx, "%s: not a port number (1-65535)", src);
        break;
    case K_PATH:
    case K_TEXT:
    case K_SECRET:
        break;
    }
    if ((rc = put_value(st, slot, src, val)))
        return rc;
    if (property && is_proxy_slot(slot) && !st->prop_proxy_src)
        st->prop_proxy_src = src;
    return 0;
}

/* ---- arguments -------------------------------------------------------------- */

static const struct prop *
find_prop(const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (ieq(name, props[i].name, n))
            return &props[i];
    return NULL;
}

static int
is_prop_name(const char *a, size_t n)
{
    size_t i;

    if (n == 0 || !(is_alnum((unsigned char)a[0]) || a[0] == '_') || (a[0] >= '0' && a[0] <= '9'))
        return 0;
    for (i = 1; i < n; i++)
        if (!(is_alnum((unsigned char)a[i]) || a[i] == '_' || a[i] == '.'))
            return 0;
    return 1;
}

/* A flag from any style. */
static int
flag(struct state *st, enum flag f, const char *src)
{
    struct consign_bootcli *o = st->out;

    switch (f) {
    case F_INSTALL:
    case F_UNINSTALL: {
        enum consign_bootcli_action a =
            f == F_INSTALL ? CONSIGN_BOOTCLI_INSTALL : CONSIGN_BOOTCLI_UNINSTALL;
        if (st->action_src && o->action != a)
            return badcmd(st->ctx, "%s conflicts with %s given earlier", src, st->action_src);
        o->action = a;
        st->action_src = src;
        return 0;
    }
    case F_QUIET:
        o->quiet = 1;
        return 0;
    case F_PURGE:
        o->purge = 1;
        st->purge_src = src;
        return 0;
    case F_HELP:
        o->action = CONSIGN_BOOTCLI_HELP;
        return 0;
    case F_VERSION:
        o->action = CONSIGN_BOOTCLI_VERSION;
        return 0;
    case F_IGNORE:
    case F_NONE:
        return 0;
    }
    return 0;
}

/* The value of an option that takes the next argument. A missing one, or a
 * next argument that is plainly another option or a property, is an error. */
static int
next_value(struct state *st, int argc, char **argv, int *i, const char *src, char **v)
{
    const char *n, *eq;

    if (*i + 1 >= argc)
        return badcmd(st->ctx, "%s needs a value", src);
    n = argv[*i + 1];
    eq = strchr(n, '=');
    if (strncmp(n, "--", 2) == 0 || (eq && find_prop(n, (size_t)(eq - n))))
        return badcmd(st->ctx, "%s needs a value", src);
    *v = argv[++*i];
    return 0;
}

static int
long_option(struct state *st, int argc, char **argv, int *i)
{
    char *a = argv[*i], *v = NULL;
    size_t n = strcspn(a, "="), k;

    for (k = 0; k < sizeof(longopts) / sizeof(longopts[0]); k++) {
        const struct longopt *lo = &longopts[k];
        int rc;
        if (strlen(lo->name) != n || strncmp(a, lo->name, n) != 0)
            continue;
        if (lo->flag != F_NONE) {
            if (a[n] == '=')
                return badcmd(st->ctx, "%s takes no value", lo->name);
            return flag(st, lo->flag, lo->name);
        }
        if (a[n] == '=')
            v = a + n + 1;
        else if ((rc = next_value(st, argc, argv, i, lo->name, &v)))
            return rc;
        return assign(st, lo->slot, lo->kind, lo->name, v, 0);
    }
    return badcmd(st->ctx, "unknown option '%.*s'", quotable(a), a);
}

static int
msi_switch(struct state *st, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *m;
    char name[16];
    size_t n = strlen(a + 1), k;
    char *v;
    int rc;

    if (n == 0 || n >= sizeof(name))
        return badcmd(st->ctx, "unknown switch '%.*s'", quotable(a), a);
    for (k = 0; k <= n; k++)
        name[k] = (char)lower((unsigned char)a[1 + k]);
    for (k = 0; k < sizeof(switches) / sizeof(switches[0]); k++)
        if (strcmp(name, switches[k].name) == 0)
            return flag(st, switches[k].flag, a);
    /* /l[iwearucmopvx+!*] FILE, and Burn's /log FILE. */
    if (name[0] == 'l' &&
        (strcmp(name, "log") == 0 || strspn(name + 1, "iwearucmopvx+!*") == n - 1)) {
        if ((rc = next_value(st, argc, argv, i, a, &v)))
            return rc;
        if ((rc = assign(st, SL_LOG, K_PATH, a, v, 0)))
            return rc;
        m = strcmp(name, "log") == 0 ? "" : name + 1;
        if (strchr(m, 'v') || strchr(m, 'x'))
            st->out->log_verbose = 1;
        if (strchr(m, '+'))
            st->out->log_append = 1;
        return 0;
    }
    return badcmd(st->ctx, "unknown switch '%.*s'", quotable(a), a);
}

static int
property(struct state *st, int index, char *a)
{
    char *eq = strchr(a, '=');
    const struct prop *p;
    size_t n;

    if (!eq) {
        p = find_prop(a, strlen(a));
        if (p)
            return badcmd(st->ctx, "%s needs =VALUE (an empty value is written %s=)", p->name,
                          p->name);
        /* Not quoted: a bare word may be a token pasted without its name. */
        return badcmd(st->ctx,
                      "argument %d is not a switch, an option or PROPERTY=VALUE (not shown: it "
                      "may be a secret)",
                      index);
    }
    n = (size_t)(eq - a);
    if (!is_prop_name(a, n))
        return badcmd(st->ctx, "argument %d is not PROPERTY=VALUE (not shown: it may be a secret)",
                      index);
    p = find_prop(a, n);
    if (!p)
        return badcmd(st->ctx, "unknown property '%.*s'", quotable(a), a);
    return assign(st, p->slot, p->kind, p->name, eq + 1, 1);
}

/* ---- secrets from files and the environment ---------------------------------- */

static int
read_secret_file(struct state *st, enum slot into, const char *src, const char *path)
{
    char buf[CONSIGN_SECRET_MAX + 1];
    struct stat sb;
    size_t len = 0;
    const char *why;
    char *nl;
    int fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &sb) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return badcmd(st->ctx, "%s '%.*s': %s", src, PATH_QUOTE_MAX, path, strerror(e));
    }
    if (S_ISREG(sb.st_mode) && (sb.st_mode & 077)) {
        close(fd);
        return badcmd(st->ctx,
                      "%s '%.*s': open to group or others (mode %03o); chmod 600 it or use "
                      "/dev/stdin",
                      src, PATH_QUOTE_MAX, path, (unsigned)(sb.st_mode & 0777));
    }
    if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode) && !S_ISCHR(sb.st_mode)) {
        close(fd);
        return badcmd(st->ctx, "%s '%.*s': not a file", src, PATH_QUOTE_MAX, path);
    }
    while (len < sizeof(buf) && !memchr(buf, '\n', len)) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            explicit_bzero(buf, sizeof(buf));
            return badcmd(st->ctx, "%s '%.*s': %s", src, PATH_QUOTE_MAX, path, strerror(e));
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    nl = memchr(buf, '\n', len);
    if (nl)
        len = (size_t)(nl - buf);
    if (len && buf[len - 1] == '\r')
        len--;
    why = memchr(buf, '\0', len) ? "control characters not allowed" : text_problem(buf, len);
    if (why)
        rc = badcmd(st->ctx, "%s '%.*s': %s", src, PATH_QUOTE_MAX, path,
                    len > CONSIGN_BOOTCLI_VALUE_MAX ? "first line too long" : why);
    else if (st->secret[into] && !secret_eq(st->secret[into], buf, len))
        rc = badcmd(st->ctx, "%s conflicts with %s given earlier", src, st->src[into]);
    else if (st->secret[into])
        rc = 0;
    else if ((rc = secret_new(st->ctx, buf, len, &st->secret[into])) == 0)
        st->src[into] = src;
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

static int
from_env(struct state *st, enum slot into, const char *const *envp, const char *var)
{
    size_t n = strlen(var);
    const char *why;

    for (; envp && *envp; envp++) {
        const char *e = *envp;
        if (strncmp(e, var, n) != 0 || e[n] != '=')
            continue;
        e += n + 1;
        if (!e[0])
            return 0; /* set but empty: not given */
        if ((why = text_problem(e, strlen(e))))
            return badcmd(st->ctx, "%s (environment): %s", var, why);
        st->src[into] = var;
        return secret_new(st->ctx, e, strlen(e), &st->secret[into]);
    }
    return 0;
}

/* ---- the rules between arguments --------------------------------------------- */

static int
check_rules(struct state *st)
{
    static const enum slot install_only[] = {SL_TOKEN, SL_TOKENFILE, SL_AUTO, SL_USEPROXY,
                                             SL_PAC,   SL_HOST,      SL_PORT, SL_USER,
                                             SL_PASS,  SL_PASSFILE,  SL_CA};
    static const enum slot not_with_pac[] = {SL_HOST, SL_PORT, SL_USER, SL_PASS, SL_PASSFILE};
    static const enum slot proxy[] = {SL_PAC, SL_HOST, SL_PORT, SL_USER, SL_PASS, SL_PASSFILE};
    const char *const *src = st->src;
    const char *pass = src[SL_PASS] ? src[SL_PASS] : src[SL_PASSFILE];
    size_t k;

    if (st->out->action == CONSIGN_BOOTCLI_UNINSTALL) {
        for (k = 0; k < sizeof(install_only) / sizeof(install_only[0]); k++)
            if (src[install_only[k]])
                return badcmd(st->ctx, "%s is for installing, not with %s", src[install_only[k]],
                              st->action_src);
        return 0;
    }
    if (st->purge_src)
        return badcmd(st->ctx, "%s goes with /x or --uninstall only", st->purge_src);
    if (src[SL_USEPROXY] && strcmp(st->val[SL_USEPROXY], "0") == 0) {
        for (k = 0; k < sizeof(proxy) / sizeof(proxy[0]); k++)
            if (src[proxy[k]])
                return badcmd(st->ctx, "%s given while %s is empty or 0", src[proxy[k]],
                              src[SL_USEPROXY]);
        return 0;
    }
    if (src[SL_USEPROXY] && !src[SL_PAC] && !src[SL_HOST])
        return badcmd(st->ctx, "%s=1 needs PROPERTY_PROXY_PAC_URL or PROPERTY_PROXY_HOST",
                      src[SL_USEPROXY]);
    if (!src[SL_USEPROXY] && st->prop_proxy_src)
        return badcmd(st->ctx, "%s needs PROPERTY_USE_PROXY=1", st->prop_proxy_src);
    if (src[SL_PAC]) {
        for (k = 0; k < sizeof(not_with_pac) / sizeof(not_with_pac[0]); k++)
            if (src[not_with_pac[k]])
                return badcmd(st->ctx, "%s conflicts with %s: a PAC file names its own proxies",
                              src[not_with_pac[k]], src[SL_PAC]);
        return 0;
    }
    if (!src[SL_HOST]) {
        for (k = 0; k < sizeof(proxy) / sizeof(proxy[0]); k++)
            if (src[proxy[k]])
                return badcmd(st->ctx, "%s needs a proxy host (PROPERTY_PROXY_HOST, --proxy-host)",
                              src[proxy[k]]);
        return 0;
    }
    if (!src[SL_PORT])
        return badcmd(st->ctx, "%s needs a proxy port (PROPERTY_PROXY_PORT, --proxy-port)",
                      src[SL_HOST]);
    if (pass && !src[SL_USER])
        return badcmd(st->ctx, "%s needs a proxy user (PROPERTY_PROXY_USER, --proxy-user)", pass);
    return 0;
}

/* ---- entry points ------------------------------------------------------------ */

static int
finish(struct state *st, const char *const *envp)
{
    struct consign_bootcli *o = st->out;
    int rc;

    if (o->action == CONSIGN_BOOTCLI_HELP || o->action == CONSIGN_BOOTCLI_VERSION)
        return 0;
    if ((rc = check_rules(st)))
        return rc;
    if (st->src[SL_TOKENFILE] &&
        (rc = read_secret_file(st, SL_TOKEN, st->src[SL_TOKENFILE], st->val[SL_TOKENFILE])))
        return rc;
    if (st->src[SL_PASSFILE] &&
        (rc = read_secret_file(st, SL_PASS, st->src[SL_PASSFILE], st->val[SL_PASSFILE])))
        return rc;
    if (o->action == CONSIGN_BOOTCLI_INSTALL && !st->secret[SL_TOKEN] &&
        (rc = from_env(st, SL_TOKEN, envp, CONSIGN_BOOTCLI_ENV_TOKEN)))
        return rc;
    if (st->src[SL_USER] && !st->secret[SL_PASS] &&
        (rc = from_env(st, SL_PASS, envp, CONSIGN_BOOTCLI_ENV_PROXY_PASSWORD)))
        return rc;
    if (o->action == CONSIGN_BOOTCLI_INSTALL && o->quiet && !st->secret[SL_TOKEN])
        return badcmd(st->ctx, "quiet install without a token: give PROPERTY_TOKEN=..., "
                               "--token-file FILE or " CONSIGN_BOOTCLI_ENV_TOKEN);

    o->log = st->val[SL_LOG];
    o->root = st->val[SL_ROOT];
    o->ca_bundle = st->val[SL_CA];
    o->auto_update_given = st->src[SL_AUTO] != NULL;
    o->auto_update = !st->src[SL_AUTO] || strcmp(st->val[SL_AUTO], "1") == 0;
    o->use_proxy_given = st->src[SL_USEPROXY] || st->src[SL_PAC] || st->src[SL_HOST];
    o->use_proxy = st->src[SL_PAC] || st->src[SL_HOST];
    o->proxy_pac_url = st->val[SL_PAC];
    o->proxy_host = st->val[SL_HOST];
    if (st->src[SL_PORT] && port_parse(st->val[SL_PORT], &o->proxy_port) == 0) {
        unsigned p = o->proxy_port;
        char tmp[6];
        size_t n = 0, k;
        do {
            tmp[n++] = (char)('0' + p % 10);
            p /= 10;
        } while (p);
        for (k = 0; k < n; k++)
            o->proxy_port_str[k] = tmp[n - 1 - k];
        o->proxy_port_str[n] = '\0';
    }
    o->proxy_user = st->val[SL_USER];
    o->token = st->secret[SL_TOKEN];
    o->token_from = st->secret[SL_TOKEN] ? st->src[SL_TOKEN] : NULL;
    o->proxy_password = st->secret[SL_PASS];
    st->secret[SL_TOKEN] = st->secret[SL_PASS] = NULL;
    if (st->argv_secret_src)
        consign_log(st->ctx, CONSIGN_LOG_WARN,
                    "%s put a secret on the command line, where other users can see it (ps); "
                    "prefer --token-file or --proxy-password-file",
                    st->argv_secret_src);
    return 0;
}

int
consign_bootcli_parse(struct consign_ctx *ctx, int argc, char **argv,
                      const char *const *environ_or_null, struct consign_bootcli *out)
{
    struct state st;
    int i, rc = 0, options_done = 0;

    memset(out, 0, sizeof(*out));
    out->auto_update = 1;
    memset(&st, 0, sizeof(st));
    st.ctx = ctx;
    st.out = out;
    for (i = 1; i < argc && rc == 0; i++) {
        char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0)
            options_done = 1;
        else if (!options_done && a[0] == '-' && a[1] == '-')
            rc = long_option(&st, argc, argv, &i);
        else if (!options_done && (a[0] == '/' || a[0] == '-'))
            rc = msi_switch(&st, argc, argv, &i);
        else
            rc = property(&st, i, a);
        /* Help wins over whatever follows, as msiexec's /? does. */
        if (rc == 0 && out->action >= CONSIGN_BOOTCLI_HELP)
            break;
    }
    if (rc == 0)
        rc = finish(&st, environ_or_null);
    consign_secret_free(st.secret[SL_TOKEN]);
    consign_secret_free(st.secret[SL_PASS]);
    return rc;
}

size_t
consign_bootcli_settings(const struct consign_bootcli *b,
                         struct consign_bootcli_setting out[CONSIGN_BOOTCLI_SETTINGS_MAX])
{
    size_t n = 0;

    if (b->token)
        out[n++] = (struct consign_bootcli_setting){"token", b->token->data};
    if (b->auto_update_given)
        out[n++] = (struct consign_bootcli_setting){"auto_update", b->auto_update ? "yes" : "no"};
    if (b->use_proxy_given) {
        out[n++] = (struct consign_bootcli_setting){"proxy_pac_url", b->proxy_pac_url};
        out[n++] = (struct consign_bootcli_setting){"proxy_host", b->proxy_host};
        out[n++] = (struct consign_bootcli_setting){"proxy_port",
                                                    b->proxy_port ? b->proxy_port_str : NULL};
        out[n++] = (struct consign_bootcli_setting){"proxy_user", b->proxy_user};
        out[n++] = (struct consign_bootcli_setting){
            "proxy_password", b->proxy_password ? b->proxy_password->data : NULL};
    }
    return n;
}

void
consign_bootcli_free(struct consign_bootcli *b)
{
    if (!b)
        return;
    consign_secret_free(b->token);
    consign_secret_free(b->proxy_password);
    memset(b, 0, sizeof(*b));
    b->auto_update = 1;
}

const char *
consign_bootcli_usage(void)
{
    return "Install or remove the agent, msiexec style or with GNU options (mixed freely).\n"
           "\n"
           "Switches ('/' or '-', any case):\n"
           "  /i, --install             install or upgrade (the default)\n"
           "  /x, --uninstall           remove the agent (settings and logs are kept)\n"
           "  /q, /qn, --quiet          unattended: never ask, errors only\n"
           "  /l FILE, /l*v FILE, --log FILE   write a log (/l*v: verbose)\n"
           "  /norestart                accepted and ignored (nothing needs a reboot)\n"
           "  /?, /h, --help            this text\n"
           "  --version                 the version\n"
           "\n"
           "Properties (PROPERTY=VALUE, names in any case; an empty value is no value):\n"
           "  PROPERTY_TOKEN=T          the install token (required; see --token-file)\n"
           "  PROPERTY_AUTOUPDATE=1     automatic updates: 1 (default), empty or 0 for no\n"
           "  PROPERTY_USE_PROXY=1      use a proxy: then a PAC URL or a host and port\n"
           "  PROPERTY_PROXY_PAC_URL=U  proxy auto-config URL (http:// or https://)\n"
           "  PROPERTY_PROXY_HOST=H     proxy host name or address\n"
           "  PROPERTY_PROXY_PORT=P     proxy port (1-65535)\n"
           "  PROPERTY_PROXY_USER=U     proxy user name\n"
           "  PROPERTY_PROXY_PASSWORD=P proxy password (see --proxy-password-file)\n"
           "\n"
           "Options:\n"
           "  --token-file FILE         the token: first line of FILE (mode 0600 or a pipe);\n"
           "                            or " CONSIGN_BOOTCLI_ENV_TOKEN " in the environment\n"
           "  --token T                 the token on the command line (visible in ps)\n"
           "  --auto-update yes|no      automatic updates (default yes)\n"
           "  --proxy-pac-url URL, --proxy-host H, --proxy-port P, --proxy-user U\n"
           "  --proxy-password-file FILE   or " CONSIGN_BOOTCLI_ENV_PROXY_PASSWORD
           " in the environment\n"
           "  --ca-bundle FILE          trust these PEM certificates for the download\n"
           "  --root DIR                install under DIR instead of / (image builds)\n"
           "  --purge                   with /x: also delete settings and logs\n"
           "\n"
           "Exit codes: 0 success, 1602 cancelled, 1603 failed, 1618 another install is\n"
           "running, 1639 invalid command line.\n";
}
