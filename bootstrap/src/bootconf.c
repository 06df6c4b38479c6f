/* The bootstrap's embedded configuration (consign/bootconf.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "consign/bootconf.h"
#include "consign/buf.h"

int
consign_bootconf_name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '~' || c == '-'))
            return 0;
    }
    return 1;
}

/* https://HOST..., or http:// to a loopback host (tests, a local mirror).
 * Printable ASCII without spaces or quotes. */
static int
url_ok(const char *u)
{
    const char *host;
    size_t i, n = strlen(u);

    if (n > CONSIGN_BOOTCONF_URL_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f || u[i] == '"' ||
            u[i] == '\\' || u[i] == '\'')
            return 0;
    if (strncasecmp(u, "https://", 8) == 0)
        host = u + 8;
    else if (strncasecmp(u, "http://", 7) == 0) {
        host = u + 7;
        if (strncmp(host, "127.0.0.1", 9) != 0 && strncasecmp(host, "localhost", 9) != 0 &&
            strncmp(host, "[::1]", 5) != 0)
            return 0;
        i = host[0] == '[' ? 5 : 9;
        if (host[i] && host[i] != ':' && host[i] != '/')
            return 0;
    } else
        return 0;
    return host[0] && host[0] != '/' && host[0] != ':' && !strchr(host, '@') &&
           !strchr(host, '#') && !strchr(host, '?');
}

static int
fpr_ok(const char *s)
{
    size_t i;

    for (i = 0; i < 40; i++)
        if (!(('0' <= s[i] && s[i] <= '9') || ('A' <= s[i] && s[i] <= 'F')))
            return 0;
    return s[40] == '\0';
}

/* sha256//BASE64 (44 characters of a SHA-256), ';'-separated, at most 8. */
static int
pin_ok(const char *p)
{
    int n = 0;

    for (;;) {
        size_t i;
        if (strncmp(p, "sha256//", 8) != 0 || ++n > 8)
            return 0;
        p += 8;
        for (i = 0; i < 44; i++)
            if (!(('A' <= p[i] && p[i] <= 'Z') || ('a' <= p[i] && p[i] <= 'z') ||
                  ('0' <= p[i] && p[i] <= '9') || p[i] == '+' || p[i] == '/' ||
                  (p[i] == '=' && i == 43)))
                return 0;
        p += 44;
        if (*p == '\0')
            return 1;
        if (*p++ != ';')
            return 0;
    }
}

static char *
dup_n(const char *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static int
set_once(struct consign_ctx *ctx, char **slot, char *v, const char *key, int lineno)
{
    if (*slot) {
        free(v);
        return consign_fail(ctx, CONSIGN_E_INVALID, "line %d: %s given twice", lineno, key);
    }
    *slot = v;
    return 0;
}

int
consign_bootconf_parse(struct consign_ctx *ctx, const char *text, size_t len,
                       struct consign_bootconf *out)
{
    size_t pos = 0;
    int lineno = 0, rc = 0, have_format = 0, have_probation = 0;

    memset(out, 0, sizeof(*out));
    out->probation = 120;
    if (len > CONSIGN_BOOTCONF_MAX)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "bootstrap.conf: %zu bytes, at most %d", len,
                            CONSIGN_BOOTCONF_MAX);
    while (pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos), *eq;
        size_t n = nl ? (size_t)(nl - line) : len - pos, klen;
        char *v = NULL;

        pos += n + (nl ? 1 : 0);
        lineno++;
        if (!nl) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: no end of line", lineno);
            goto out;
        }
        if (n == 0 || line[0] == '#')
            continue;
        if (memchr(line, '\0', n) || !(eq = memchr(line, '=', n))) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: not key=value", lineno);
            goto out;
        }
        klen = (size_t)(eq - line);
        if (!(v = dup_n(eq + 1, n - klen - 1))) {
            rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
            goto out;
        }
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(line, k, klen) == 0)
        if (!have_format) {
            int good = KEY("format") && strcmp(v, "1") == 0;
            free(v);
            if (!good) {
                rc =
                    consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: expected format=1 first", lineno);
                goto out;
            }
            have_format = 1;
        } else if (KEY("name") || KEY("channel")) {
            const char *key = KEY("name") ? "name" : "channel";
            if (!consign_bootconf_name_ok(v)) {
                free(v);
                rc = consign_fail(ctx, CONSIGN_E_INVALID, "line %d: bad %s", lineno, key);
                goto out;
            }
            if ((rc = set_once(ctx, key[0] == 'n' ? &out->name : &out->channel, v, key, lineno)))
                goto out;
        } else if (KEY("url")) {
            size_t l = strlen(v);
            while (l > 0 && v[l - 1] == '/')
                v[--l] = '\0';
            if (!url_ok(v) || out->n_urls == CONSIGN_BOOTCONF_URLS) {
                free(v);
                rc = consign_fail(ctx, CONSIGN_E_INVALID,
                                  out->n_urls == CONSIGN_BOOTCONF_URLS
                                      ? "line %d: more than 16 urls"
                                      : "line %d: url: https:// expected (http:// only to a "
                                        "loopback address)",
                                  lineno);
                goto out;
            }
            out->urls[out->n_urls++] = v;
        } else if (KEY("pin")) {
            if (!pin_ok(v)) {
                free(v);
                rc = consign_fail(ctx, CONSIGN_E_INVALID,
                                  "line %d: pin: sha256//BASE64 (of a SHA-256) expected, "
                                  "';'-separated",
                                  lineno);
                goto out;
            }
            if ((rc = set_once(ctx, &out->pin, v, "pin", lineno)))
                goto out;
        } else if (KEY("health_url")) {
            if (strncmp(v, "http://", 7) != 0 || !url_ok(v)) {
                free(v);
                rc = consign_fail(ctx, CONSIGN_E_INVALID,
                                  "line %d: health_url: http:// to a loopback address expected",
                                  lineno);
                goto out;
            }
            if ((rc = set_once(ctx, &out->health_url, v, "health_url", lineno)))
                goto out;
        } else if (KEY("probation")) {
            unsigned long long sec;
            int bad = have_probation || consign_parse_u64(v, 86400, &sec) < 0 || sec == 0;
            free(v);
            if (bad) {
                rc =
                    consign_fail(ctx, CONSIGN_E_INVALID,
                                 "line %d: probation: seconds (1 to 86400) expected, once", lineno);
                goto out;
            }
            out->probation = (unsigned long)sec;
            have_probation = 1;
        } else if (KEY("signer")) {
            if (!fpr_ok(v) || out->n_signers == CONSIGN_BOOTCONF_SIGNERS) {
                free(v);
                rc = consign_fail(ctx, CONSIGN_E_INVALID,
                                  "line %d: signer: 40 upper-case hex digits expected (at most "
                                  "8 signers)",
                                  lineno);
                goto out;
            }
            out->signers[out->n_signers++] = v;
        } else {
            free(v);
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: unknown key '%.*s'", lineno,
                              klen > 32 ? 32 : (int)klen, line);
            goto out;
        }
#undef KEY
    }
    if (!have_format || !out->name || !out->channel || !out->n_urls || !out->n_signers)
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX,
                          "format, name, channel, a url and a signer are required");
out:
    return rc ? consign_err_context(ctx, rc, "bootstrap.conf") : 0;
}

int
consign_bootconf_format(struct consign_ctx *ctx, const struct consign_bootconf *c,
                        struct consign_buf *out)
{
    struct consign_bootconf check;
    size_t i;
    int rc;

    if ((rc = consign_buf_printf(ctx, out, "format=1\nname=%s\nchannel=%s\n",
                                 c->name ? c->name : "", c->channel ? c->channel : "")))
        return rc;
    for (i = 0; !rc && i < c->n_urls; i++)
        rc = consign_buf_printf(ctx, out, "url=%s\n", c->urls[i]);
    for (i = 0; !rc && i < c->n_signers; i++)
        rc = consign_buf_printf(ctx, out, "signer=%s\n", c->signers[i]);
    if (!rc && c->pin)
        rc = consign_buf_printf(ctx, out, "pin=%s\n", c->pin);
    if (!rc && c->health_url)
        rc = consign_buf_printf(ctx, out, "health_url=%s\n", c->health_url);
    if (!rc && c->probation && c->probation != 120)
        rc = consign_buf_printf(ctx, out, "probation=%lu\n", c->probation);
    if (rc)
        return rc;
    rc = consign_bootconf_parse(ctx, out->data, out->len, &check);
    consign_bootconf_free(&check);
    return rc;
}

void
consign_bootconf_free(struct consign_bootconf *c)
{
    size_t i;

    if (!c)
        return;
    free(c->name);
    free(c->channel);
    for (i = 0; i < c->n_urls; i++)
        free(c->urls[i]);
    for (i = 0; i < c->n_signers; i++)
        free(c->signers[i]);
    free(c->pin);
    free(c->health_url);
    memset(c, 0, sizeof(*c));
}
