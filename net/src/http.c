/* consign net: HTTP(S) downloads over libcurl (see consign/net.h).
 *
 * libcurl stays inside this file: its codes are translated here into consign
 * codes with a message that names the URL (without credentials). Only
 * options present in libcurl 7.68 or later are used unconditionally; newer
 * ones are guarded by LIBCURL_VERSION_NUM, so the same code builds against
 * the system libcurl and the bootstrap's static one (scripts/static-curl.sh). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/net.h"

#define DEFAULT_CONNECT_TIMEOUT 15L
#define DEFAULT_LOW_SPEED_LIMIT 1024L
#define DEFAULT_LOW_SPEED_TIME  30L
#define DEFAULT_RETRIES         2
#define DEFAULT_BACKOFF_MS      500U
#define MAX_BACKOFF_MS          10000U
#define MAX_RETRIES             10
#define MAX_REDIRS              5L
#define CA_BLOB_MAX             (4u * 1024 * 1024)
#define URL_MAX                 8192

static const char *const default_ca_files[] = {
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
};

struct consign_net {
    CURL *curl;
    char *ca_file;              /* one anchor file, or */
    struct consign_buf ca_blob; /* several, concatenated */
    char *pin, *proxy, *no_proxy, *proxy_user, *proxy_password, *user_agent;
    int no_env_proxy, allow_http, retries;
    long connect_timeout, low_speed_limit, low_speed_time, timeout;
    unsigned backoff_ms;
    long long retry_after; /* seconds a 429/503 asked for in the last request; 0: none */
};

/* One attempt's state, shared with the callbacks. */
struct xfer {
    CURL *curl;
    struct consign_buf *buf;   /* a buffer download, or */
    int fd;                    /* a file download (-1: none) */
    unsigned long long cap;    /* total bytes allowed (offset included) */
    unsigned long long offset; /* bytes already there before this attempt (resume) */
    unsigned long long got;    /* body bytes this attempt */
    long status;
    int status_seen, bad_status, too_big, write_errno, restarted, bad_range;
    long long range_start, range_total;    /* Content-Range of the last response, -1: none */
    long long retry_after;                 /* Retry-After of the last response, -1: none */
    const struct consign_net_request *req; /* its progress callback, its conditions */
    struct curl_slist *headers;            /* conditional GET */
    char etag[CONSIGN_NET_VALIDATOR_MAX], last_modified[CONSIGN_NET_VALIDATOR_MAX];
    char date[CONSIGN_NET_VALIDATOR_MAX];
    int not_modified;
};

/* A response header's value into out (bounded; "" when too long). */
static void
header_value(const char *p, size_t len, size_t name_len, char *out, size_t cap)
{
    const char *v = p + name_len, *end = p + len;

    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    if ((size_t)(end - v) >= cap) {
        out[0] = '\0';
        return;
    }
    memcpy(out, v, (size_t)(end - v));
    out[end - v] = '\0';
}

/* A validator we send back: printable, no CR/LF (it becomes a header line). */
static int
validator_ok(const char *v)
{
    size_t i;

    if (!v || !v[0] || strlen(v) >= CONSIGN_NET_VALIDATOR_MAX)
        return 0;
    for (i = 0; v[i]; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return 0;
    return 1;
}

void
consign_net_options_init(struct consign_net_options *o)
{
    memset(o, 0, sizeof(*o));
}

void
consign_net_redact_url(const char *url, char *out, size_t out_len)
{
    const char *auth, *end, *at = NULL, *p;

    if (!out_len)
        return;
    if (!url) {
        snprintf(out, out_len, "(none)");
        return;
    }
    auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    end = auth + strcspn(auth, "/?#");
    for (p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (at)
        snprintf(out, out_len, "%.*s***%s", (int)(auth - url), url, at);
    else
        snprintf(out, out_len, "%s", url);
}

/* ---- setup ---- */

static int
load_ca_blob(struct consign_ctx *ctx, struct consign_net *n, const struct consign_net_options *o)
{
    char *data = NULL;
    size_t i, len = 0;
    int rc = 0;

    consign_buf_init(&n->ca_blob, CA_BLOB_MAX);
    for (i = 0; i < o->n_ca_files; i++) {
        if ((rc = consign_file_read(ctx, o->ca_files[i], CA_BLOB_MAX, &data, &len)) ||
            (rc = consign_buf_append(ctx, &n->ca_blob, data, len)) ||
            (rc = consign_buf_puts(ctx, &n->ca_blob, "\n"))) {
            consign_err_context(ctx, rc, "CA file %s", o->ca_files[i]);
            goto out;
        }
        free(data);
        data = NULL;
    }
out:
    free(data);
    return rc;
}

static int
dup_opt(struct consign_ctx *ctx, const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    return (*out = consign_strdup(ctx, s)) ? 0 : CONSIGN_E_NOMEM;
}

int
consign_net_new(struct consign_ctx *ctx, const struct consign_net_options *o,
                struct consign_net **out)
{
    struct consign_net *n = NULL;
    const char *ca = NULL;
    size_t i;
    int rc = 0;

    *out = NULL;
    if (o->n_ca_files > CONSIGN_NET_MAX_CA_FILES) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "net: at most %d CA files",
                          CONSIGN_NET_MAX_CA_FILES);
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "net: libcurl initialisation failed");
        goto out;
    }
    if (!(n = consign_calloc(ctx, 1, sizeof(*n)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    consign_buf_init(&n->ca_blob, CA_BLOB_MAX);
    if (o->n_ca_files == 1) {
        ca = o->ca_files[0];
    } else if (o->n_ca_files == 0) {
        for (i = 0; i < sizeof(default_ca_files) / sizeof(default_ca_files[0]) && !ca; i++)
            if (consign_is_file(default_ca_files[i]) && access(default_ca_files[i], R_OK) == 0)
                ca = default_ca_files[i];
        if (!ca) {
            rc = consign_fail(ctx, CONSIGN_E_NOTFOUND,
                              "net: no CA bundle found (looked for %s and 4 others); name one",
                              default_ca_files[0]);
            goto out;
        }
    } else {
#if LIBCURL_VERSION_NUM >= 0x074d00
        if ((rc = load_ca_blob(ctx, n, o)))
            goto out;
#else
        rc = consign_fail(ctx, CONSIGN_E_USAGE,
                          "net: this libcurl takes one CA file; concatenate them");
        goto out;
#endif
    }
    if (ca && access(ca, R_OK) != 0) {
        rc = consign_fail_errno(ctx, errno, "net: CA file %s", ca);
        goto out;
    }
    if ((rc = dup_opt(ctx, ca, &n->ca_file)) || (rc = dup_opt(ctx, o->pinned_pubkey, &n->pin)) ||
        (rc = dup_opt(ctx, o->proxy, &n->proxy)) ||
        (rc = dup_opt(ctx, o->no_proxy, &n->no_proxy)) ||
        (rc = dup_opt(ctx, o->proxy_user, &n->proxy_user)) ||
        (rc = dup_opt(ctx, o->proxy_password, &n->proxy_password)) ||
        (rc = dup_opt(ctx, o->user_agent ? o->user_agent : "consign/" CONSIGN_VERSION,
                      &n->user_agent)))
        goto out;
    n->no_env_proxy = o->no_env_proxy;
    n->allow_http = o->allow_http;
    n->connect_timeout = o->connect_timeout > 0 ? o->connect_timeout : DEFAULT_CONNECT_TIMEOUT;
    n->low_speed_limit = o->low_speed_limit > 0 ? o->low_speed_limit : DEFAULT_LOW_SPEED_LIMIT;
    n->low_speed_time = o->low_speed_time > 0 ? o->low_speed_time : DEFAULT_LOW_SPEED_TIME;
    n->timeout = o->timeout > 0 ? o->timeout : 0;
    n->retries = o->retries < 0 ? 0 : o->retries == 0 ? DEFAULT_RETRIES : o->retries;
    if (n->retries > MAX_RETRIES)
        n->retries = MAX_RETRIES;
    n->backoff_ms = o->backoff_ms ? o->backoff_ms : DEFAULT_BACKOFF_MS;
    if (!(n->curl = curl_easy_init())) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, "net: libcurl handle");
        goto out;
    }
    *out = n;
    n = NULL;
out:
    consign_net_free(n);
    return rc;
}

static void
free_secret_str(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

void
consign_net_free(struct consign_net *n)
{
    if (!n)
        return;
    if (n->curl)
        curl_easy_cleanup(n->curl);
    free(n->ca_file);
    consign_buf_free(&n->ca_blob);
    free(n->pin);
    free_secret_str(n->proxy);
    free(n->no_proxy);
    free_secret_str(n->proxy_user);
    free_secret_str(n->proxy_password);
    free(n->user_agent);
    free(n);
}

/* ---- callbacks ---- */

static size_t
on_header(char *p, size_t size, size_t nmemb, void *user)
{
    struct xfer *x = user;
    size_t len = size * nmemb;
    char line[256];
    unsigned long long s, e, t;

    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        x->range_start = x->range_total = -1; /* a new response (redirect, 407, 100) */
        x->retry_after = -1;
        return len;
    }
    if (len >= 5 && strncasecmp(p, "ETag:", 5) == 0) {
        header_value(p, len, 5, x->etag, sizeof(x->etag));
        return len;
    }
    if (len >= 14 && strncasecmp(p, "Last-Modified:", 14) == 0) {
        header_value(p, len, 14, x->last_modified, sizeof(x->last_modified));
        return len;
    }
    if (len >= 5 && strncasecmp(p, "Date:", 5) == 0) {
        header_value(p, len, 5, x->date, sizeof(x->date));
        return len;
    }
    if (len >= 12 && len < sizeof(line) && strncasecmp(p, "Retry-After:", 12) == 0) {
        char *v = line + 12;
        memcpy(line, p, len);
        line[len] = '\0';
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\r\n")] = '\0';
        /* delta-seconds, or an HTTP-date (RFC 9110, 10.2.3) */
        if (*v >= '0' && *v <= '9') {
            if (consign_parse_u64(v, 365ULL * 86400, &s) == 0)
                x->retry_after = (long long)s;
        } else {
            time_t when = curl_getdate(v, NULL), now = time(NULL);
            if (when != (time_t)-1)
                x->retry_after = when > now ? (long long)(when - now) : 0;
        }
        return len;
    }
    if (len >= 14 && len < sizeof(line) && strncasecmp(p, "Content-Range:", 14) == 0) {
        memcpy(line, p, len);
        line[len] = '\0';
        if (sscanf(line + 14, " bytes %llu-%llu/%llu", &s, &e, &t) == 3 && s <= e && e < t &&
            t <= (unsigned long long)INT64_MAX) {
            x->range_start = (long long)s;
            x->range_total = (long long)t;
        }
    }
    return len;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *user)
{
    struct xfer *x = user;
    size_t len = size * nmemb, off;

    if (!x->status_seen) {
        x->status_seen = 1;
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
        if (x->status != 200 && x->status != 206) {
            x->bad_status = 1;
            return 0; /* no error pages in the output */
        }
        if (x->offset && x->status == 200) {
            /* The server ignored the Range: start over. */
            if (x->fd >= 0 && (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0)) {
                x->write_errno = errno;
                return 0;
            }
            x->offset = 0;
            x->restarted = 1;
        } else if (x->status == 206 &&
                   (x->range_start < 0 || (unsigned long long)x->range_start != x->offset)) {
            x->bad_range = 1;
            return 0;
        }
    }
    if (x->offset > x->cap || len > x->cap - x->offset || x->got > x->cap - x->offset - len) {
        x->too_big = 1;
        return 0;
    }
    if (x->buf) {
        if (consign_buf_append(NULL, x->buf, p, len)) {
            x->too_big = 1;
            return 0;
        }
    } else {
        for (off = 0; off < len;) {
            ssize_t w = write(x->fd, p + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                x->write_errno = w < 0 ? errno : EIO;
                return 0;
            }
            off += (size_t)w;
        }
    }
    x->got += len;
    if (x->req && x->req->progress)
        x->req->progress(x->req->progress_user, x->offset + x->got,
                         x->req->expect_len >= 0 ? (unsigned long long)x->req->expect_len : 0);
    return len;
}

/* ---- one attempt ---- */

static const char *
url_scheme(const char *url)
{
    if (strncasecmp(url, "https://", 8) == 0)
        return "https";
    if (strncasecmp(url, "http://", 7) == 0)
        return "http";
    return NULL;
}

/* Every option matters (a pin or a CA file silently dropped would be a
 * hole): the first one libcurl refuses fails the request. */
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (e == CURLE_OK && (e = curl_easy_setopt(c, opt, val)) != CURLE_OK)                      \
            what = #opt;                                                                           \
    } while (0)

static int
set_options(struct consign_ctx *ctx, struct consign_net *n, struct xfer *x, const char *url,
            const char *scheme, char *errbuf)
{
    CURL *c = n->curl;
    CURLcode e = CURLE_OK;
    const char *what = NULL;
    char range[32];

    curl_easy_reset(c);
    SET(CURLOPT_URL, url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, n->allow_http ? "http,https" : "https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, scheme);
#else
    SET(CURLOPT_PROTOCOLS,
        n->allow_http ? (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS) : (long)CURLPROTO_HTTPS);
    SET(CURLOPT_REDIR_PROTOCOLS,
        strcmp(scheme, "https") == 0 ? (long)CURLPROTO_HTTPS : (long)CURLPROTO_HTTP);
#endif
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, MAX_REDIRS);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_CAPATH, NULL);
    if (n->ca_file) {
        SET(CURLOPT_CAINFO, n->ca_file);
        SET(CURLOPT_PROXY_CAINFO, n->ca_file);
    } else {
#if LIBCURL_VERSION_NUM >= 0x074d00
        struct curl_blob blob = {n->ca_blob.data, n->ca_blob.len, CURL_BLOB_COPY};
        SET(CURLOPT_CAINFO, NULL);
        SET(CURLOPT_CAINFO_BLOB, &blob);
        SET(CURLOPT_PROXY_CAINFO, NULL);
        SET(CURLOPT_PROXY_CAINFO_BLOB, &blob);
#endif
    }
    if (n->pin)
        SET(CURLOPT_PINNEDPUBLICKEY, n->pin);
    if (n->proxy)
        SET(CURLOPT_PROXY, n->proxy);
    else if (n->no_env_proxy)
        SET(CURLOPT_PROXY, ""); /* none, whatever the environment says */
    if (n->no_proxy)
        SET(CURLOPT_NOPROXY, n->no_proxy);
    if (n->proxy_user)
        SET(CURLOPT_PROXYUSERNAME, n->proxy_user);
    if (n->proxy_password)
        SET(CURLOPT_PROXYPASSWORD, n->proxy_password);
    SET(CURLOPT_PROXYAUTH, (long)CURLAUTH_ANY);
    SET(CURLOPT_CONNECTTIMEOUT, n->connect_timeout);
    SET(CURLOPT_LOW_SPEED_LIMIT, n->low_speed_limit);
    SET(CURLOPT_LOW_SPEED_TIME, n->low_speed_time);
    if (n->timeout)
        SET(CURLOPT_TIMEOUT, n->timeout);
    SET(CURLOPT_USERAGENT, n->user_agent);
    SET(CURLOPT_MAXFILESIZE_LARGE,
        (curl_off_t)(x->cap - x->offset > (unsigned long long)INT64_MAX ? INT64_MAX
                                                                        : x->cap - x->offset));
    if (x->offset) {
        snprintf(range, sizeof(range), "%llu-", x->offset);
        SET(CURLOPT_RANGE, range); /* copied by libcurl */
    }
    if (x->req && !x->offset) {
        char h[CONSIGN_NET_VALIDATOR_MAX + 32];
        struct curl_slist *l;
        if (validator_ok(x->req->if_none_match)) {
            snprintf(h, sizeof(h), "If-None-Match: %s", x->req->if_none_match);
            if ((l = curl_slist_append(x->headers, h)))
                x->headers = l;
        }
        if (validator_ok(x->req->if_modified_since)) {
            snprintf(h, sizeof(h), "If-Modified-Since: %s", x->req->if_modified_since);
            if ((l = curl_slist_append(x->headers, h)))
                x->headers = l;
        }
        if (x->headers)
            SET(CURLOPT_HTTPHEADER, x->headers);
    }
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, x);
    if (e != CURLE_OK)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "net: libcurl refused %s (%s)", what,
                            curl_easy_strerror(e));
    return 0;
}
#undef SET

static int
is_transient_curl(CURLcode res)
{
    switch (res) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int
is_tls_curl(CURLcode res)
{
    switch (res) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_INITFAILED:
        return 1;
    default:
        return 0;
    }
}

/* Perform one request; *transient says whether trying again may help. */
static int
attempt(struct consign_ctx *ctx, struct consign_net *n, struct xfer *x, const char *url,
        const char *shown, int *transient)
{
    char errbuf[CURL_ERROR_SIZE];
    const char *scheme = url_scheme(url), *why;
    long connect_code = 0;
    CURLcode res;
    int rc = 0;

    *transient = 0;
    errbuf[0] = '\0';
    if (!scheme || (strcmp(scheme, "http") == 0 && !n->allow_http)) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "GET %s: only https:// URLs are allowed%s", shown,
                          n->allow_http ? " (or http://)" : "");
        goto out;
    }
    x->status = 0;
    x->retry_after = -1;
    x->status_seen = x->bad_status = x->too_big = x->write_errno = x->bad_range = 0;
    x->got = 0;
    x->range_start = x->range_total = -1;
    x->etag[0] = x->last_modified[0] = x->date[0] = '\0';
    x->not_modified = 0;
    if ((rc = set_options(ctx, n, x, url, scheme, errbuf)))
        goto out;
    res = curl_easy_perform(n->curl);
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    curl_easy_getinfo(n->curl, CURLINFO_RESPONSE_CODE, &x->status);
    curl_easy_getinfo(n->curl, CURLINFO_HTTP_CONNECTCODE, &connect_code);
    why = errbuf[0] ? errbuf : curl_easy_strerror(res);

    if (x->too_big || res == CURLE_FILESIZE_EXCEEDED) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "GET %s: more than the %llu bytes allowed", shown,
                          x->cap);
    } else if (x->write_errno) {
        rc = consign_fail_errno(ctx, x->write_errno, "GET %s: writing the download", shown);
    } else if (res == CURLE_UNSUPPORTED_PROTOCOL) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE,
                          "GET %s: refused: a redirect to another scheme or an unsupported "
                          "protocol (%s)",
                          shown, why);
    } else if (res == CURLE_TOO_MANY_REDIRECTS) {
        rc = consign_fail(ctx, CONSIGN_E_NETWORK, "GET %s: more than %ld redirects", shown,
                          MAX_REDIRS);
    } else if (connect_code == 407 || connect_code == 401 || x->status == 407) {
        /* Some proxies (tinyproxy) answer wrong credentials with 401. */
        long code = connect_code ? connect_code : x->status;
        if (n->proxy_user || n->proxy_password)
            rc = consign_fail(ctx, CONSIGN_E_PERM,
                              "GET %s: the proxy refused the credentials (HTTP %ld)", shown, code);
        else
            rc = consign_fail(ctx, CONSIGN_E_PERM,
                              "GET %s: the proxy requires authentication, or refused the "
                              "credentials in its URL (HTTP %ld)",
                              shown, code);
    } else if (connect_code >= 300) {
        rc = consign_fail(ctx, CONSIGN_E_NETWORK, "GET %s: the proxy refused the tunnel (HTTP %ld)",
                          shown, connect_code);
        *transient = connect_code >= 500;
    } else if (x->status == 416 && x->offset) {
        rc = consign_fail(ctx, CONSIGN_E_MISMATCH,
                          "GET %s: the server refused to resume at byte %llu (HTTP 416)", shown,
                          x->offset);
    } else if (x->bad_range) {
        rc = consign_fail(ctx, CONSIGN_E_MISMATCH,
                          "GET %s: the server answered a Range request with another range", shown);
    } else if (x->status == 304 && res == CURLE_OK && x->req &&
               (validator_ok(x->req->if_none_match) || validator_ok(x->req->if_modified_since))) {
        x->not_modified = 1; /* the caller's copy is current */
    } else if (x->status >= 300 || (x->bad_status && x->status)) {
        if (x->status == 404 || x->status == 410)
            rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "GET %s: not found (HTTP %ld)", shown,
                              x->status);
        else if (x->status == 401 || x->status == 403)
            rc = consign_fail(ctx, CONSIGN_E_PERM, "GET %s: access refused (HTTP %ld)", shown,
                              x->status);
        else {
            rc = consign_fail(ctx, CONSIGN_E_NETWORK, "GET %s: HTTP %ld", shown, x->status);
            *transient = x->status == 408 || x->status == 429 || x->status >= 500;
            if ((x->status == 429 || x->status == 503) && x->retry_after >= 0) {
                /* The server said when: no retries before that (this mirror). */
                if (x->retry_after > n->retry_after)
                    n->retry_after = x->retry_after;
                *transient = 0;
                consign_err_context(ctx, rc, "retry after %lld s", x->retry_after);
            }
        }
    } else if (is_tls_curl(res)) {
        rc = consign_fail(ctx, CONSIGN_E_CRYPTO, "GET %s: TLS: %s", shown, why);
    } else if (res != CURLE_OK) {
        rc = consign_fail(ctx, CONSIGN_E_NETWORK, "GET %s: %s", shown, why);
        *transient = is_transient_curl(res);
    } else if (x->status != 200 && x->status != 206 && !(x->status == 0 && x->got == 0)) {
        rc = consign_fail(ctx, CONSIGN_E_NETWORK, "GET %s: unexpected HTTP status %ld", shown,
                          x->status);
    } else if (x->status == 200 && !x->status_seen && x->offset && x->fd >= 0) {
        /* An empty 200 to a Range request: the file is empty now. */
        if (ftruncate(x->fd, 0) != 0)
            rc = consign_fail_errno(ctx, errno, "GET %s: truncating the download", shown);
        x->offset = 0;
    }
out:
    return rc;
}

static void
backoff(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* BASE + "/" + name (no doubled slash). */
static char *
join_url(struct consign_ctx *ctx, const char *base, const char *name)
{
    size_t bl = strlen(base);

    if (!name || !name[0])
        return consign_strdup(ctx, base);
    while (name[0] == '/')
        name++;
    if (bl + strlen(name) + 2 > URL_MAX) {
        consign_fail(ctx, CONSIGN_E_TOOBIG, "net: URL longer than %d bytes", URL_MAX);
        return NULL;
    }
    return consign_asprintf(ctx, "%s%s%s", base, bl && base[bl - 1] == '/' ? "" : "/", name);
}

/* ---- downloads ---- */

enum target { TO_BUF, TO_FILE };

struct job {
    enum target kind;
    struct consign_buf *out;
    const char *dest;
    char *part;
    int fd;
};

static int
file_size(int fd, unsigned long long *size)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return -1;
    *size = (unsigned long long)st.st_size;
    return 0;
}

static int
truncate_part(struct consign_ctx *ctx, struct job *j)
{
    if (ftruncate(j->fd, 0) != 0 || lseek(j->fd, 0, SEEK_SET) != 0)
        return consign_fail_errno(ctx, errno, "%s", j->part);
    return 0;
}

/* One mirror, with retries. The length is checked; the caller's check is not. */
static int
one_mirror(struct consign_ctx *ctx, struct consign_net *n, const struct consign_net_request *r,
           struct job *j, const char *url, const char *shown)
{
    struct xfer x;
    unsigned long long have = 0, total;
    unsigned delay = n->backoff_ms;
    int rc = 0, transient = 0, started_over = 0, try;

    for (try = 0; try <= n->retries; try++) {
        memset(&x, 0, sizeof(x));
        x.curl = n->curl;
        x.req = r;
        x.cap = r->max_len;
        x.fd = -1;
        if (j->kind == TO_BUF) {
            x.buf = j->out;
            consign_buf_reset(j->out);
            if (j->out->max < x.cap)
                x.cap = j->out->max;
        } else {
            x.fd = j->fd;
            if (file_size(j->fd, &have) != 0) {
                rc = consign_fail_errno(ctx, errno, "%s", j->part);
                goto out;
            }
            if (have > x.cap || (r->expect_len >= 0 && have > (unsigned long long)r->expect_len)) {
                if ((rc = truncate_part(ctx, j)))
                    goto out;
                have = 0;
            }
            if (lseek(j->fd, 0, SEEK_END) < 0) {
                rc = consign_fail_errno(ctx, errno, "%s", j->part);
                goto out;
            }
            x.offset = have;
            if (have && r->expect_len >= 0 && have == (unsigned long long)r->expect_len) {
                rc = 0; /* already complete */
                goto out;
            }
        }
        if (x.offset)
            consign_log(ctx, CONSIGN_LOG_INFO, "GET %s: resuming at byte %llu", shown, x.offset);
        else
            consign_log(ctx, CONSIGN_LOG_DEBUG, "GET %s", shown);
        rc = attempt(ctx, n, &x, url, shown, &transient);
        if (!rc && x.not_modified) {
            if (r->not_modified)
                *r->not_modified = 1;
            goto out;
        }
        if (!rc) {
            /* Validators are strong only when the file was older than a
             * second when it was served (RFC 9110, 8.8.2.2): one rewritten
             * within the same second keeps its date, and nginx's ETag is
             * made of date and size. */
            time_t lm = x.last_modified[0] ? curl_getdate(x.last_modified, NULL) : (time_t)-1;
            time_t dt = x.date[0] ? curl_getdate(x.date, NULL) : (time_t)-1;
            int strong = lm != (time_t)-1 && dt != (time_t)-1 && dt - lm >= 2;
            if (r->etag_out)
                snprintf(r->etag_out, CONSIGN_NET_VALIDATOR_MAX, "%s", strong ? x.etag : "");
            if (r->last_modified_out)
                snprintf(r->last_modified_out, CONSIGN_NET_VALIDATOR_MAX, "%s",
                         strong ? x.last_modified : "");
            /* The final length: what the caller expects, else what the server said. */
            total = x.offset + x.got;
            if (r->expect_len >= 0 && total != (unsigned long long)r->expect_len) {
                rc = consign_fail(ctx, CONSIGN_E_MISMATCH, "GET %s: %llu bytes, expected %lld",
                                  shown, total, r->expect_len);
            } else if (x.range_total >= 0 && x.status == 206 &&
                       total != (unsigned long long)x.range_total) {
                rc = consign_fail(ctx, CONSIGN_E_MISMATCH,
                                  "GET %s: %llu bytes, the server announced %lld", shown, total,
                                  x.range_total);
            }
            if (rc && j->kind == TO_FILE)
                truncate_part(ctx, j);
            goto out;
        }
        if (rc == CONSIGN_E_MISMATCH && j->kind == TO_FILE && x.offset) {
            /* A Range refused or answered with another range: start from
             * zero, at once the first time (it is no network trouble). */
            if (truncate_part(ctx, j))
                goto out;
            if (!started_over) {
                started_over = 1;
                consign_log(ctx, CONSIGN_LOG_INFO, "%s; starting over", consign_err_msg(ctx));
                try--;
                continue;
            }
            transient = 1;
        }
        if (!transient || try == n->retries)
            goto out;
        consign_log(ctx, CONSIGN_LOG_WARN, "%s; trying again in %u ms", consign_err_msg(ctx),
                    delay);
        backoff(delay);
        delay = delay > MAX_BACKOFF_MS / 2 ? MAX_BACKOFF_MS : delay * 2;
    }
out:
    return rc;
}

static int
run(struct consign_ctx *ctx, struct consign_net *n, const struct consign_net_request *r,
    struct job *j)
{
    char *url = NULL;
    char shown[512];
    size_t i;
    int rc = 0;

    n->retry_after = 0;
    if (!r->n_mirrors || !r->mirrors || !r->max_len) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "net: a request needs a mirror and a length cap");
        goto out;
    }
    for (i = 0; i < r->n_mirrors; i++) {
        free(url);
        if (!(url = join_url(ctx, r->mirrors[i], r->name))) {
            rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
            goto out;
        }
        consign_net_redact_url(url, shown, sizeof(shown));
        rc = one_mirror(ctx, n, r, j, url, shown);
        if (!rc && r->check) {
            if (j->kind == TO_BUF)
                rc = r->check(ctx, r->check_user, j->out->data ? j->out->data : "", j->out->len,
                              NULL);
            else
                rc = r->check(ctx, r->check_user, NULL, 0, j->part);
            if (rc) {
                consign_err_context(ctx, rc, "GET %s", shown);
                if (j->kind == TO_FILE)
                    truncate_part(ctx, j);
            }
        }
        if (!rc)
            goto out;
        if (rc == CONSIGN_E_NOMEM || rc == CONSIGN_E_IO)
            goto out; /* local trouble: another mirror will not help */
        /* A missing file is often expected (the end of a TUF root chain). */
        if (i + 1 < r->n_mirrors)
            consign_log(ctx, rc == CONSIGN_E_NOTFOUND ? CONSIGN_LOG_INFO : CONSIGN_LOG_WARN,
                        "%s; trying the next mirror", consign_err_msg(ctx));
    }
out:
    free(url);
    return rc;
}

int
consign_net_get(struct consign_ctx *ctx, struct consign_net *n, const struct consign_net_request *r,
                struct consign_buf *out)
{
    struct job j = {.kind = TO_BUF, .out = out, .fd = -1};
    int rc;

    consign_buf_reset(out);
    rc = run(ctx, n, r, &j);
    if (!rc && !out->data)
        rc = consign_buf_append(ctx, out, "", 0);
    if (rc)
        consign_buf_reset(out);
    return rc;
}

int
consign_net_download(struct consign_ctx *ctx, struct consign_net *n,
                     const struct consign_net_request *r, const char *dest)
{
    struct job j = {.kind = TO_FILE, .dest = dest, .fd = -1};
    int rc;

    if (!(j.part = consign_asprintf(ctx, "%s.part", dest))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((j.fd = open(j.part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", j.part);
        goto out;
    }
    if ((rc = run(ctx, n, r, &j)))
        goto out;
    if ((!r->no_sync && fsync(j.fd) != 0) || close(j.fd) != 0) {
        j.fd = -1;
        rc = consign_fail_errno(ctx, errno, "%s", j.part);
        goto out;
    }
    j.fd = -1;
    if (rename(j.part, dest) != 0) {
        rc = consign_fail_errno(ctx, errno, "%s", dest);
        goto out;
    }
out:
    if (j.fd >= 0) {
        struct stat st;
        /* Keep a partial file only when resuming it may help. */
        if (rc != CONSIGN_E_NETWORK || (fstat(j.fd, &st) == 0 && st.st_size == 0))
            unlink(j.part);
        close(j.fd);
    }
    free(j.part);
    return rc;
}

/* ---- TUF ---- */

/* Percent-encode what is not plain in a URL path (a target path may hold
 * anything). */
static char *
escape_path(const char *s)
{
    static const char plain[] = "-._~/!$&'()*+,;=:@";
    static const char hexd[] = "0123456789ABCDEF";
    size_t n = strlen(s), i, o = 0;
    char *out;

    if (n > URL_MAX || !(out = malloc(n * 3 + 1)))
        return NULL;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            (ch && strchr(plain, ch))) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hexd[ch >> 4];
            out[o++] = hexd[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}

/* timestamp.json, fetched only when it changed: most update checks find
 * nothing new, and a 304 is a few hundred bytes where the file is most of a
 * kilobyte. The validators are only hints: whatever comes back, the TUF
 * client checks as a download. */
static int
conditional_timestamp(struct consign_ctx *ctx, struct consign_net_tuf *t,
                      struct consign_net_request *r, struct consign_buf *out)
{
    char etag[CONSIGN_NET_VALIDATOR_MAX] = "", lm[CONSIGN_NET_VALIDATOR_MAX] = "";
    char sum[65] = "", have[65] = "", *vpath = NULL, *tpath = NULL, *data = NULL, *local = NULL;
    char *line, *nl;
    unsigned char md[CONSIGN_HASH_MAX];
    struct consign_ctx quiet;
    size_t len = 0, local_len = 0;
    int nm = 0, rc;

    consign_ctx_init(&quiet, NULL, NULL);
    if (!(vpath = consign_asprintf(ctx, "%s/timestamp.validators", t->cache_dir)) ||
        !(tpath = consign_asprintf(ctx, "%s/timestamp.json", t->cache_dir))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    /* The validators count only for the very copy the client holds (a run
     * killed between the download and the client's save must not leave
     * validators of a file the client never kept). */
    if (consign_file_read(&quiet, tpath, r->max_len, &local, &local_len) == 0 &&
        consign_hash_buf(&quiet, CONSIGN_HASH_SHA256, local, local_len, md) == 0 &&
        consign_file_read(&quiet, vpath, 2 * CONSIGN_NET_VALIDATOR_MAX + 128, &data, &len) == 0) {
        consign_hex(md, 32, have);
        for (line = data; line && *line; line = nl ? nl + 1 : NULL) {
            if ((nl = strchr(line, '\n')))
                *nl = '\0';
            if (strncmp(line, "etag=", 5) == 0)
                snprintf(etag, sizeof(etag), "%s", line + 5);
            else if (strncmp(line, "last_modified=", 14) == 0)
                snprintf(lm, sizeof(lm), "%s", line + 14);
            else if (strncmp(line, "sha256=", 7) == 0)
                snprintf(sum, sizeof(sum), "%s", line + 7);
        }
        if (strcmp(sum, have) == 0) {
            r->if_none_match = etag[0] ? etag : NULL;
            r->if_modified_since = lm[0] ? lm : NULL;
        }
    }
    free(data);
    data = NULL;
    r->not_modified = &nm;
    r->etag_out = etag;
    r->last_modified_out = lm;
    if ((rc = consign_net_get(ctx, t->net, r, out)))
        goto out;
    if (nm) {
        /* Unchanged: the client's own copy, checked again by it. */
        consign_log(ctx, CONSIGN_LOG_DEBUG, "timestamp.json: not modified");
        consign_buf_reset(out);
        rc = consign_buf_append(ctx, out, local, local_len);
        goto out;
    }
    if ((etag[0] || lm[0]) && consign_hash_buf(&quiet, CONSIGN_HASH_SHA256,
                                               out->data ? out->data : "", out->len, md) == 0) {
        char text[2 * CONSIGN_NET_VALIDATOR_MAX + 128];
        int n;
        consign_hex(md, 32, sum);
        n = snprintf(text, sizeof(text), "etag=%s\nlast_modified=%s\nsha256=%s\n", etag, lm, sum);
        if (consign_file_write_atomic(&quiet, vpath, text, (size_t)n, 0644))
            consign_log(ctx, CONSIGN_LOG_DEBUG, "timestamp.validators not kept");
    }
out:
    free(vpath);
    free(tpath);
    free(data);
    free(local);
    return rc;
}

int
consign_net_tuf_fetch(void *user, const char *name, size_t max_len, struct consign_buf *out)
{
    struct consign_net_tuf *t = user;
    struct consign_net_request r;
    struct consign_ctx ctx;
    char *rel = NULL;
    int rc;

    if (t->log_ctx) {
        consign_ctx_init(&ctx, t->log_ctx->log_fn, t->log_ctx->log_user);
        ctx.log_level = t->log_ctx->log_level;
    } else
        consign_ctx_init(&ctx, NULL, NULL);
    memset(&r, 0, sizeof(r));
    r.max_len = max_len;
    r.expect_len = -1;
    if (strncmp(name, "metadata/", 9) == 0) {
        r.mirrors = t->metadata_urls;
        r.n_mirrors = t->n_metadata_urls;
        rel = strdup(name + 9); /* role names arrive percent-encoded already */
    } else if (strncmp(name, "targets/", 8) == 0) {
        r.mirrors = t->targets_urls;
        r.n_mirrors = t->n_targets_urls;
        rel = escape_path(name + 8);
    } else {
        rc = consign_fail(&ctx, CONSIGN_E_INVALID, "net: %.200s: neither metadata/ nor targets/",
                          name);
        goto out;
    }
    if (!rel) {
        rc = consign_fail(&ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    r.name = rel;
    if (t->cache_dir && strcmp(name, "metadata/timestamp.json") == 0) {
        rc = conditional_timestamp(&ctx, t, &r, out);
        goto out;
    }
    rc = consign_net_get(&ctx, t->net, &r, out);
out:
    if (rc) {
        snprintf(t->last_error, sizeof(t->last_error), "%s", consign_err_msg(&ctx));
        /* A missing file is part of the workflow (the end of the root chain). */
        if (t->log_ctx)
            consign_log(t->log_ctx, rc == CONSIGN_E_NOTFOUND ? CONSIGN_LOG_DEBUG : CONSIGN_LOG_WARN,
                        "%s", t->last_error);
    }
    free(rel);
    return rc;
}

long long
consign_net_retry_after(const struct consign_net *n)
{
    return n ? n->retry_after : 0;
}
