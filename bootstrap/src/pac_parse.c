/* The PAC side that needs no JavaScript: the URL handed to FindProxyForURL
 * and the answer it gives. libc only; every input is bounded. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "consign/bytes.h"
#include "consign/pac.h"

/* Longest piece of outside text quoted in an error message. */
#define QUOTE_MAX 64

static int
is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int
lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Space, tab, CR, LF, VT, FF: what may surround entries of a PAC answer. */
static int
is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The characters RFC 3986 allows in a URL (unreserved, reserved, '%'). */
static int
url_char(int c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL);
}

/* Copy at most QUOTE_MAX bytes of p into q for an error message, printable
 * ASCII only ('?' for the rest, "..." when cut). */
static void
quote(char *q, size_t qn, const char *p, size_t n)
{
    size_t i, o = 0, take = n > QUOTE_MAX ? QUOTE_MAX : n;

    for (i = 0; i < take && o + 1 < qn; i++) {
        unsigned char c = (unsigned char)p[i];
        q[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (take < n && o + 4 < qn) {
        memcpy(q + o, "...", 3);
        o += 3;
    }
    q[o] = '\0';
}

/* A port: 1 to 5 digits, 1..65535. */
static int
parse_port(const char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    size_t i;

    if (n == 0 || n > 5)
        return -1;
    for (i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *out = v;
    return 0;
}

/* A host name or IPv4 address: labels of letters, digits, '-' and '_',
 * 1..63 bytes each, separated by single dots, one trailing dot allowed.
 * Written lower case into out (CONSIGN_PAC_HOST_MAX + 1 bytes). */
static int
parse_name(const char *p, size_t n, char *out, const char **why)
{
    size_t i, label = 0;

    if (n == 0) {
        *why = "empty host";
        return -1;
    }
    if (n > CONSIGN_PAC_HOST_MAX) {
        *why = "host name longer than 253 bytes";
        return -1;
    }
    for (i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c == '.') {
            if (label == 0) {
                *why = "empty label in host name";
                return -1;
            }
            label = 0;
        } else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_') {
            if (++label > 63) {
                *why = "label longer than 63 bytes in host name";
                return -1;
            }
        } else {
            *why = "character not allowed in a host name";
            return -1;
        }
        out[i] = (char)lower(c);
    }
    if (n == 1 && p[0] == '.') {
        *why = "empty label in host name";
        return -1;
    }
    out[n] = '\0';
    return 0;
}

/* The inside of "[...]": an IPv6 address (no zone). */
static int
parse_v6(const char *p, size_t n, char *out, const char **why)
{
    char tmp[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    size_t i;

    if (n == 0 || n >= sizeof(tmp)) {
        *why = "not an IPv6 address in brackets";
        return -1;
    }
    for (i = 0; i < n; i++)
        tmp[i] = (char)lower((unsigned char)p[i]);
    tmp[n] = '\0';
    if (inet_pton(AF_INET6, tmp, bin) != 1) {
        *why = "not an IPv6 address in brackets";
        return -1;
    }
    memcpy(out, tmp, n + 1);
    return 0;
}

/* host[:port] or [v6][:port], all n bytes. *port stays 0 when none is given. */
static int
parse_hostport(const char *p, size_t n, char *host, unsigned *port, const char **why)
{
    const char *colon;

    *port = 0;
    if (n > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        size_t rest;
        if (!close) {
            *why = "'[' without ']'";
            return -1;
        }
        if (parse_v6(p + 1, (size_t)(close - p - 1), host, why))
            return -1;
        rest = n - (size_t)(close + 1 - p);
        if (rest == 0)
            return 0;
        if (close[1] != ':' || parse_port(close + 2, rest - 1, port)) {
            *why = "bad port (1 to 65535)";
            return -1;
        }
        return 0;
    }
    for (colon = p; colon < p + n; colon++)
        if (!(is_alpha(*colon) || is_digit(*colon) || (*colon && strchr("-._:", *colon)))) {
            *why = "character not allowed in a host name";
            return -1;
        }
    colon = memchr(p, ':', n);
    if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - p))) {
        *why = "IPv6 address without brackets";
        return -1;
    }
    if (parse_name(p, colon ? (size_t)(colon - p) : n, host, why))
        return -1;
    if (colon && parse_port(colon + 1, n - (size_t)(colon + 1 - p), port)) {
        *why = "bad port (1 to 65535)";
        return -1;
    }
    return 0;
}

int
consign_pac_parse_url(struct consign_ctx *ctx, const char *url, struct consign_pac_url *out)
{
    size_t len = strnlen(url, CONSIGN_PAC_URL_MAX + 1), i, o, slen, alen;
    const char *auth, *end, *at, *rest, *why = NULL;
    char q[QUOTE_MAX + 8];
    int strip_path;

    memset(out, 0, sizeof(*out));
    if (len > CONSIGN_PAC_URL_MAX)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "URL longer than %d bytes", CONSIGN_PAC_URL_MAX);
    for (i = 0; i < len; i++) {
        int c = (unsigned char)url[i];
        if (!url_char(c))
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "URL: byte %zu is not allowed in a URL (0x%02x)", i + 1, c);
        if (c == '%' && (i + 2 >= len || consign_hexval((unsigned char)url[i + 1]) < 0 ||
                         consign_hexval((unsigned char)url[i + 2]) < 0))
            return consign_fail(ctx, CONSIGN_E_INVALID, "URL: bad %%-escape at byte %zu", i + 1);
    }
    /* scheme "://" */
    for (slen = 0; slen < len && url[slen] != ':'; slen++)
        if (!(is_alpha(url[slen]) || (slen > 0 && (is_digit(url[slen]) || url[slen] == '+' ||
                                                   url[slen] == '-' || url[slen] == '.'))))
            break;
    if (slen == 0 || slen > CONSIGN_PAC_SCHEME_MAX || len - slen < 3 ||
        memcmp(url + slen, "://", 3) != 0)
        return consign_fail(ctx, CONSIGN_E_INVALID, "URL does not start with scheme://");
    for (i = 0; i < slen; i++)
        out->scheme[i] = (char)lower((unsigned char)url[i]);
    out->scheme[slen] = '\0';
    /* authority: up to the first '/', '?' or '#'; userinfo up to its last '@' */
    auth = url + slen + 3;
    end = auth + strcspn(auth, "/?#");
    alen = (size_t)(end - auth);
    for (at = NULL, i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i;
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    if (parse_hostport(auth, alen, out->host, &out->port, &why)) {
        quote(q, sizeof(q), auth, alen);
        return consign_fail(ctx, CONSIGN_E_INVALID, "URL: host '%s': %s", q, why);
    }
    /* path and query, without the fragment */
    rest = end;
    len = strcspn(rest, "#");
    strip_path = strcmp(out->scheme, "https") == 0 || strcmp(out->scheme, "wss") == 0;
    o = (size_t)snprintf(out->url, sizeof(out->url), "%s://%s%s%s", out->scheme,
                         strchr(out->host, ':') ? "[" : "", out->host,
                         strchr(out->host, ':') ? "]" : "");
    if (out->port)
        o += (size_t)snprintf(out->url + o, sizeof(out->url) - o, ":%u", out->port);
    if (strip_path || len == 0 || rest[0] != '/')
        out->url[o++] = '/';
    if (!strip_path) {
        for (i = 0; i < len; i++) {
            const char *piece = rest[i] == '\'' ? "%27" : NULL;
            size_t pn = piece ? 3 : 1;
            if (o + pn > CONSIGN_PAC_URL_MAX)
                return consign_fail(ctx, CONSIGN_E_TOOBIG, "URL longer than %d bytes",
                                    CONSIGN_PAC_URL_MAX);
            memcpy(out->url + o, piece ? piece : rest + i, pn);
            o += pn;
        }
    }
    out->url[o] = '\0';
    return 0;
}

static const struct {
    const char *word;
    enum consign_pac_type type;
    unsigned port;
} pac_types[] = {
    {"DIRECT", CONSIGN_PAC_DIRECT, 0},    {"PROXY", CONSIGN_PAC_PROXY, 80},
    {"HTTP", CONSIGN_PAC_PROXY, 80},      {"HTTPS", CONSIGN_PAC_HTTPS, 443},
    {"SOCKS", CONSIGN_PAC_SOCKS4, 1080},  {"SOCKS4", CONSIGN_PAC_SOCKS4, 1080},
    {"SOCKS5", CONSIGN_PAC_SOCKS5, 1080},
};

const char *
consign_pac_type_name(enum consign_pac_type type)
{
    switch (type) {
    case CONSIGN_PAC_DIRECT:
        return "DIRECT";
    case CONSIGN_PAC_PROXY:
        return "PROXY";
    case CONSIGN_PAC_HTTPS:
        return "HTTPS";
    case CONSIGN_PAC_SOCKS4:
        return "SOCKS4";
    case CONSIGN_PAC_SOCKS5:
        return "SOCKS5";
    }
    return "?";
}

/* One entry, p[0..n) without surrounding whitespace, n > 0. */
static int
parse_entry(const char *p, size_t n, struct consign_pac_entry *e, const char **why)
{
    size_t w = 0, i, k, h;

    while (w < n && !is_ws(p[w]))
        w++;
    for (k = 0; k < sizeof(pac_types) / sizeof(pac_types[0]); k++) {
        const char *word = pac_types[k].word;
        if (strlen(word) != w)
            continue;
        for (i = 0; i < w && lower((unsigned char)p[i]) == lower((unsigned char)word[i]); i++)
            ;
        if (i == w)
            break;
    }
    if (k == sizeof(pac_types) / sizeof(pac_types[0])) {
        *why = "unknown type (DIRECT, PROXY, HTTP, HTTPS, SOCKS, SOCKS4, SOCKS5)";
        return -1;
    }
    memset(e, 0, sizeof(*e));
    e->type = pac_types[k].type;
    if (e->type == CONSIGN_PAC_DIRECT) {
        if (w != n) {
            *why = "DIRECT takes no host";
            return -1;
        }
        return 0;
    }
    if (w == n) {
        *why = "no host:port";
        return -1;
    }
    while (w < n && is_ws(p[w]))
        w++;
    for (h = w; h < n && !is_ws(p[h]); h++)
        ;
    if (h != n) {
        *why = "more than one host:port";
        return -1;
    }
    if (parse_hostport(p + w, n - w, e->host, &e->port, why))
        return -1;
    if (!e->port)
        e->port = pac_types[k].port;
    return 0;
}

int
consign_pac_parse_result(struct consign_ctx *ctx, const char *s, size_t len,
                         struct consign_pac_result *out)
{
    size_t pos = 0, nth = 0;
    const char *why = NULL;
    char q[QUOTE_MAX + 8];

    memset(out, 0, sizeof(*out));
    if (len == 0)
        return consign_fail(ctx, CONSIGN_E_INVALID, "no entry (an empty answer)");
    while (pos <= len) {
        const char *semi = memchr(s + pos, ';', len - pos);
        size_t stop = semi ? (size_t)(semi - s) : len, a = pos, b = stop;
        struct consign_pac_entry e;

        while (a < b && is_ws(s[a]))
            a++;
        while (b > a && is_ws(s[b - 1]))
            b--;
        if (a < b) {
            nth++;
            if (memchr(s + a, '\0', b - a)) {
                why = "NUL byte";
            } else if (parse_entry(s + a, b - a, &e, &why) == 0) {
                why = NULL;
                if (out->n < CONSIGN_PAC_MAX_ENTRIES)
                    out->e[out->n++] = e;
                else
                    out->dropped++;
            }
            if (why) {
                memset(out, 0, sizeof(*out));
                quote(q, sizeof(q), s + a, b - a);
                return consign_fail(ctx, CONSIGN_E_INVALID, "entry %zu '%s': %s", nth, q, why);
            }
        }
        pos = stop + 1;
    }
    if (nth == 0)
        return consign_fail(ctx, CONSIGN_E_INVALID, "no entry (an empty answer)");
    return 0;
}
