/* curlsmoke: fetches one URL with the static libcurl of scripts/static-curl.sh
 * (tests/e2e/static-curl.sh), the way the bootstrap downloader will.
 *
 *   curlsmoke [--cacert FILE] [--proxy URL] [--timeout SECONDS] [--verbose] URL
 *   curlsmoke --version
 *
 * The body goes to standard output. Exit 0 on HTTP status 200; otherwise 1
 * with one line on standard error, "curlsmoke: URL: " and curl's own error
 * message (or the HTTP status); 2 for a usage error.
 *
 * --cacert FILE    the CA certificates (PEM) that the server's, and an HTTPS
 *                  proxy's, certificate must chain to. Without it:
 *                  $SSL_CERT_FILE, else the first of the usual system bundles
 *                  (Debian/Ubuntu, RHEL/CentOS, SUSE, Alpine) that exists:
 *                  libcurl itself has no compiled-in CA path, so with none
 *                  of them https:// fails with curl's certificate error.
 * --proxy URL      http://, https:// or socks5h:// proxy, user:password@ in it
 *                  for Basic, Digest or NTLM proxy authentication. Without it
 *                  libcurl follows http_proxy, https_proxy and no_proxy.
 * --timeout N      whole transfer, seconds (default 60; 1..3600).
 *
 * Only http:// and https:// are fetched, redirects followed at most 5 times
 * and only to https:// (or http:// when the start was http://), and a body
 * stops at 1 GiB. */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BODY      (1024L * 1024L * 1024L)
#define MAX_REDIRECTS 5L

/* What the write callback needs. */
struct sink {
    CURL *h;
    long bytes;       /* body bytes written so far */
    int write_failed; /* stdout refused data */
    int too_big;      /* the body passed MAX_BODY */
};

static void
usage(void)
{
    fputs("usage: curlsmoke [--cacert FILE] [--proxy URL] [--timeout SECONDS] [--verbose] URL\n"
          "       curlsmoke --version\n",
          stderr);
}

/* Body data: to stdout when the status is 200, else dropped (an error page
 * is not the file). Returning less than given makes libcurl stop. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    long code = 0;

    if (curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
        return n;
    if (n > (size_t)(MAX_BODY - s->bytes)) {
        s->too_big = 1;
        return 0;
    }
    if (fwrite(data, 1, n, stdout) != n) {
        s->write_failed = 1;
        return 0;
    }
    s->bytes += (long)n;
    return n;
}

/* The CA file when none was given: $SSL_CERT_FILE, else a system bundle. */
static const char *
default_cacert(void)
{
    static const char *const bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Alpine */
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL, CentOS 7+, Fedora */
        "/etc/pki/tls/certs/ca-bundle.crt",                  /* RHEL, CentOS (older) */
        "/etc/ssl/ca-bundle.pem",                            /* SUSE */
        "/etc/ssl/cert.pem",                                 /* Alpine, others */
    };
    const char *env = getenv("SSL_CERT_FILE");
    size_t i;

    if (env != NULL && env[0] != '\0')
        return env;
    for (i = 0; i < sizeof(bundles) / sizeof(bundles[0]); i++)
        if (access(bundles[i], R_OK) == 0)
            return bundles[i];
    return NULL;
}

/* Seconds from text, 1..3600, or -1. */
static long
parse_seconds(const char *text)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 3600)
        return -1;
    return v;
}

/* Sets one option; on failure says which and returns non-zero. The option
 * names are only for the message. */
#define SET(h, opt, val)                                                                           \
    do {                                                                                           \
        CURLcode rc_ = curl_easy_setopt((h), (opt), (val));                                        \
        if (rc_ != CURLE_OK) {                                                                     \
            fprintf(stderr, "curlsmoke: %s: %s\n", #opt, curl_easy_strerror(rc_));                 \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

int
main(int argc, char **argv)
{
    const char *cacert = NULL, *proxy = NULL, *url = NULL;
    char err[CURL_ERROR_SIZE];
    struct sink sink = {0};
    long timeout = 60, code = 0;
    int verbose = 0, status = 1, i;
    CURLcode rc;
    CURL *h = NULL;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--version") == 0 && argc == 2) {
            puts(curl_version());
            return 0;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            verbose = 1;
        } else if ((strcmp(a, "--cacert") == 0 || strcmp(a, "--proxy") == 0 ||
                    strcmp(a, "--timeout") == 0) &&
                   i + 1 < argc) {
            const char *v = argv[++i];

            if (a[2] == 'c') {
                cacert = v;
            } else if (a[2] == 'p') {
                proxy = v;
            } else if ((timeout = parse_seconds(v)) < 0) {
                fprintf(stderr, "curlsmoke: --timeout wants 1..3600 seconds, not '%s'\n", v);
                return 2;
            }
        } else if (a[0] == '-' || url != NULL) {
            usage();
            return 2;
        } else {
            url = a;
        }
    }
    if (url == NULL) {
        usage();
        return 2;
    }
    /* With none at all, plain http:// still works and https:// fails
     * with curl's certificate error. */
    if (cacert == NULL)
        cacert = default_cacert();

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("curlsmoke: curl_global_init failed\n", stderr);
        return 1;
    }
    h = curl_easy_init();
    if (h == NULL) {
        fputs("curlsmoke: curl_easy_init failed\n", stderr);
        goto out;
    }
    err[0] = '\0';
    sink.h = h;
    SET(h, CURLOPT_ERRORBUFFER, err);
    SET(h, CURLOPT_URL, url);
    SET(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* A redirect may not leave https for http. */
    SET(h, CURLOPT_REDIR_PROTOCOLS_STR, strncmp(url, "https:", 6) == 0 ? "https" : "http,https");
    SET(h, CURLOPT_FOLLOWLOCATION, 1L);
    SET(h, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
    SET(h, CURLOPT_MAXFILESIZE, MAX_BODY);
    SET(h, CURLOPT_TIMEOUT, timeout);
    SET(h, CURLOPT_CONNECTTIMEOUT, timeout < 15 ? timeout : 15L);
    SET(h, CURLOPT_NOSIGNAL, 1L);
    SET(h, CURLOPT_USERAGENT, "consign-curlsmoke");
    SET(h, CURLOPT_WRITEFUNCTION, on_body);
    SET(h, CURLOPT_WRITEDATA, &sink);
    if (cacert != NULL) {
        SET(h, CURLOPT_CAINFO, cacert);
        SET(h, CURLOPT_PROXY_CAINFO, cacert);
    }
    SET(h, CURLOPT_SSL_VERIFYPEER, 1L);
    SET(h, CURLOPT_SSL_VERIFYHOST, 2L);
    SET(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    /* Any scheme the server or proxy offers, for credentials in the URLs. */
    SET(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_ANY);
    SET(h, CURLOPT_PROXYAUTH, (long)CURLAUTH_ANY);
    if (proxy != NULL)
        SET(h, CURLOPT_PROXY, proxy);
    if (verbose)
        SET(h, CURLOPT_VERBOSE, 1L);

    rc = curl_easy_perform(h);
    if (fflush(stdout) != 0)
        sink.write_failed = 1;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (sink.write_failed) {
        fprintf(stderr, "curlsmoke: %s: writing the body: %s\n", url, strerror(errno));
    } else if (sink.too_big) {
        fprintf(stderr, "curlsmoke: %s: the body is larger than %ld bytes\n", url, MAX_BODY);
    } else if (rc != CURLE_OK) {
        fprintf(stderr, "curlsmoke: %s: %s\n", url, err[0] ? err : curl_easy_strerror(rc));
    } else if (code != 200) {
        fprintf(stderr, "curlsmoke: %s: HTTP status %ld\n", url, code);
    } else {
        status = 0;
    }
out:
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return status;
}
