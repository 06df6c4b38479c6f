/* consign net: HTTP(S) downloads over libcurl, bounded and TLS-first.
 *
 * One handle (struct consign_net) carries the options: trust anchors (a PEM
 * bundle, or several files: any certificate in them may anchor), an optional
 * public-key pin of the server, a proxy with credentials (or https_proxy and
 * no_proxy from the environment), timeouts, retries with backoff for
 * transient failures, and the scheme policy (https only unless http is
 * explicitly allowed; redirects never leave the allowed schemes).
 *
 * Every download has a hard length cap: a Content-Length above it is refused
 * before any byte of the body is read, and the transfer stops as soon as more
 * bytes arrive than allowed (CONSIGN_E_TOOBIG). A request names a list of
 * mirrors (base URLs) and a relative name; mirrors are tried in order and the
 * next one is used when one fails. Downloads to a file resume a partial file
 * with an HTTP Range request after a dropped connection and check the final
 * length.
 *
 * Error codes: CONSIGN_E_NOTFOUND (HTTP 404 or 410), CONSIGN_E_TOOBIG,
 * CONSIGN_E_PERM (HTTP 401/403, or the proxy refused the credentials: 407),
 * CONSIGN_E_CRYPTO (TLS: certificate, pin or handshake), CONSIGN_E_MISMATCH
 * (the caller's check refused the bytes, or the final length is wrong),
 * CONSIGN_E_USAGE (a URL with a refused scheme), CONSIGN_E_NETWORK (the rest).
 * Messages name the URL without any user:password part; proxy credentials
 * never appear in a message or a log line. libcurl's codes stay inside.
 *
 * Thread use: one handle per thread. consign_net_new calls
 * curl_global_init (once per process). */
#ifndef CONSIGN_NET_H
#define CONSIGN_NET_H

#include <stddef.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/tuf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CONSIGN_NET_MAX_CA_FILES 8
#define CONSIGN_NET_MAX_MIRRORS  16

struct consign_net_options {
    /* PEM files of trusted CAs (several certificates each is fine). None:
     * the first existing of the usual system bundles
     * (/etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt,
     * ...). Only these anchors are trusted (no CA directory). */
    const char *ca_files[CONSIGN_NET_MAX_CA_FILES];
    size_t n_ca_files;
    /* "sha256//BASE64[;sha256//BASE64...]" of the server's public key, or NULL. */
    const char *pinned_pubkey;

    /* Proxy URL ("http://host:port"), or NULL: https_proxy, http_proxy and
     * no_proxy from the environment, unless no_env_proxy is set (then: none). */
    const char *proxy;
    int no_env_proxy;
    const char *no_proxy; /* hosts that bypass the proxy (curl's syntax), or NULL */
    /* Credentials for the proxy (Basic, Digest or NTLM, whichever it asks
     * for). The password may be a consign_secret's data; it is copied and
     * wiped when the handle is freed. Never logged. */
    const char *proxy_user;
    const char *proxy_password;

    long connect_timeout;   /* seconds; 0: 15 */
    long low_speed_limit;   /* bytes per second; 0: 1024 */
    long low_speed_time;    /* seconds below that limit before giving up; 0: 30 */
    long timeout;           /* whole transfer, seconds; 0: none */
    int retries;            /* extra attempts per mirror for transient failures; 0: 2, -1: none */
    unsigned backoff_ms;    /* the first wait between attempts, doubled each time; 0: 500 */
    int allow_http;         /* accept http:// URLs (tests, local repositories) */
    const char *user_agent; /* NULL: "consign/VERSION" */
};

struct consign_net;

void consign_net_options_init(struct consign_net_options *o);
int consign_net_new(struct consign_ctx *ctx, const struct consign_net_options *o,
                    struct consign_net **out);
/* Accepts NULL. */
void consign_net_free(struct consign_net *n);

/* Optional check of a complete download (a buffer or a file) before it is
 * accepted: non-zero refuses it and the next mirror is tried. */
typedef int (*consign_net_check_fn)(struct consign_ctx *ctx, void *user, const char *data,
                                    size_t len, const char *path);

struct consign_net_request {
    const char *const *mirrors; /* base URLs, tried in order */
    size_t n_mirrors;
    const char *name;           /* appended after a '/' (NULL or "": the base URL itself) */
    size_t max_len;             /* required: the hard cap in bytes */
    long long expect_len;       /* -1: unknown; else the exact length required */
    consign_net_check_fn check; /* or NULL */
    void *check_user;
    /* Called as bytes arrive (done counts a resumed part; total is
     * expect_len, 0 when unknown), or NULL. */
    void (*progress)(void *user, unsigned long long done, unsigned long long total);
    void *progress_user;
    /* consign_net_download: no fsync before the rename (a file checked
     * again before use and removed after, where a crash costs only a new
     * download). */
    int no_sync;
    /* Conditional GET (consign_net_get): the validators of the copy the
     * caller holds, or NULL. A 304 answer is a success that leaves out
     * empty and sets *not_modified. */
    const char *if_none_match, *if_modified_since;
    int *not_modified;
    /* The ETag and Last-Modified of a 200 answer when they are strong (the
     * file was over a second old when served), or NULL
     * (CONSIGN_NET_VALIDATOR_MAX bytes each; "" when the server sent none). */
    char *etag_out, *last_modified_out;
};
#define CONSIGN_NET_VALIDATOR_MAX 128

/* GET into out (initialised by the caller with consign_buf_init; its own
 * cap applies too). out is emptied first and holds the body on success. */
int consign_net_get(struct consign_ctx *ctx, struct consign_net *n,
                    const struct consign_net_request *r, struct consign_buf *out);

/* GET into the file dest, through dest.part: an existing dest.part is
 * resumed with a Range request, as is a transfer the server cut short. The
 * final length is checked (expect_len, else what the server announced)
 * before dest.part is renamed to dest. On failure dest is untouched and
 * dest.part kept when resuming it may help (a network failure). */
int consign_net_download(struct consign_ctx *ctx, struct consign_net *n,
                         const struct consign_net_request *r, const char *dest);

/* After a failed request: the seconds a server answering 429 or 503 asked
 * for with Retry-After (the largest, over the mirrors tried), 0 when none
 * did. Such an answer is not retried on that mirror. */
long long consign_net_retry_after(const struct consign_net *n);

/* A URL fit for messages: any user:password@ part replaced by "***@"
 * (bounded, always NUL-terminated). */
void consign_net_redact_url(const char *url, char *out, size_t out_len);

/* ---- TUF ---- */

/* The fetch callback of consign/tuf.h over HTTP(S): names under
 * "metadata/" are fetched from each metadata base URL, names under
 * "targets/" from each targets base URL (mirrors, in order). */
struct consign_net_tuf {
    struct consign_net *net;
    const char *metadata_urls[CONSIGN_NET_MAX_MIRRORS];
    size_t n_metadata_urls;
    const char *targets_urls[CONSIGN_NET_MAX_MIRRORS];
    size_t n_targets_urls;
    /* The callback has no context of its own: failures are logged here (at
     * warning level) and the last message kept in last_error. */
    struct consign_ctx *log_ctx;
    char last_error[CONSIGN_ERR_MAX];
    /* The client's metadata directory, or NULL: timestamp.json is then
     * fetched conditionally (If-None-Match / If-Modified-Since with the
     * validators kept in DIR/timestamp.validators), and a 304 hands the
     * client its own trusted copy, which it checks again (signature,
     * version, expiry) as if downloaded. */
    const char *cache_dir;
};

/* user: a struct consign_net_tuf *. */
int consign_net_tuf_fetch(void *user, const char *name, size_t max_len, struct consign_buf *out);

#ifdef __cplusplus
}
#endif
#endif
