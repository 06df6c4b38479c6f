/* consign bootstrap: proxy auto-config (PAC) evaluation.
 *
 * A PAC file is JavaScript that defines FindProxyForURL(url, host). The
 * bootstrap gets its text (fetched directly, never through a proxy it names)
 * and asks it which proxies to use for one URL. The script is evaluated by
 * Duktape in a child process with a wall-clock
 * timeout, a CPU limit and an address-space limit, so a script that loops,
 * eats memory or crashes the engine ends the child, never the bootstrap.
 * See docs/internals/pac.md for the design and the grammar of results.
 *
 * The URL and result parsers are pure, bounded and fuzzed
 * (fuzz/fuzz_pacresult.c); they run in the calling process. */
#ifndef CONSIGN_PAC_H
#define CONSIGN_PAC_H

#include <stddef.h>

#include "consign/error.h"

#define CONSIGN_PAC_URL_MAX     4096        /* bytes of a URL, given or made */
#define CONSIGN_PAC_HOST_MAX    253         /* a DNS name; IPv6 literals are shorter */
#define CONSIGN_PAC_SCHEME_MAX  32          /* bytes of a URL scheme */
#define CONSIGN_PAC_MAX_ENTRIES 16          /* proxies kept from one result, in order */
#define CONSIGN_PAC_RESULT_MAX  (64u << 10) /* the largest max_result a caller may ask for */

#define CONSIGN_PAC_DEFAULT_TIMEOUT_MS 5000u
#define CONSIGN_PAC_DEFAULT_MEM        (256u << 20)
#define CONSIGN_PAC_DEFAULT_SCRIPT_MAX (1u << 20)
#define CONSIGN_PAC_DEFAULT_RESULT_MAX 4096u

/* Limits of one evaluation; a zero field takes its default. */
struct consign_pac_limits {
    unsigned timeout_ms; /* wall clock for loading the script and FindProxyForURL (5000) */
    unsigned cpu_s;      /* RLIMIT_CPU of the child (0: the timeout rounded up, plus 1 s) */
    size_t mem_bytes;    /* address space the child may add to what it inherits (256 MiB) */
    size_t max_script;   /* bytes of PAC text (1 MiB) */
    size_t max_result;   /* bytes of the answer (4096; CONSIGN_PAC_RESULT_MAX at most) */
    /* What myIpAddress() returns (an IPv4 or IPv6 literal); NULL: the
     * address of the interface that routes outwards, else 127.0.0.1. */
    const char *my_ip;
};

enum consign_pac_type {
    CONSIGN_PAC_DIRECT = 0,
    CONSIGN_PAC_PROXY,  /* "PROXY" or "HTTP": an HTTP proxy (CONNECT for https) */
    CONSIGN_PAC_HTTPS,  /* an HTTP proxy reached over TLS */
    CONSIGN_PAC_SOCKS4, /* "SOCKS" or "SOCKS4" */
    CONSIGN_PAC_SOCKS5,
};

struct consign_pac_entry {
    enum consign_pac_type type;
    char host[CONSIGN_PAC_HOST_MAX + 1]; /* "" for DIRECT; lower case; IPv6 without brackets */
    unsigned port;                       /* 0 for DIRECT; the type's default when not given */
};

/* The proxies to try, in order. */
struct consign_pac_result {
    size_t n;
    size_t dropped; /* well-formed entries after the first CONSIGN_PAC_MAX_ENTRIES, not kept */
    struct consign_pac_entry e[CONSIGN_PAC_MAX_ENTRIES];
};

/* A URL as the PAC script sees it. */
struct consign_pac_url {
    char scheme[CONSIGN_PAC_SCHEME_MAX + 1]; /* lower case */
    char host[CONSIGN_PAC_HOST_MAX + 1];     /* lower case; IPv6 without brackets */
    unsigned port;                           /* 0 when the URL names none */
    /* What FindProxyForURL is given: scheme://host[:port]/path?query without
     * the userinfo and the fragment; for https and wss only scheme://host[:port]/
     * (as browsers do: the path may hold a token). A "'" is written %27. */
    char url[CONSIGN_PAC_URL_MAX + 1];
};

/* Split url (scheme://[user[:password]@]host[:port][/path][?query][#fragment];
 * host a DNS name, an IPv4 address or an IPv6 literal in brackets) into *out.
 * Strict: printable ASCII only, the characters RFC 3986 allows, well-formed
 * %XX escapes, a port of 1 to 65535. Errors never quote the userinfo.
 * CONSIGN_E_INVALID, or CONSIGN_E_TOOBIG past CONSIGN_PAC_URL_MAX. */
int consign_pac_parse_url(struct consign_ctx *ctx, const char *url, struct consign_pac_url *out);

/* Parse what FindProxyForURL returned (len bytes, not NUL-terminated):
 * entries separated by ';', each "DIRECT" or "TYPE host[:port]" with TYPE one
 * of PROXY, HTTP, HTTPS, SOCKS, SOCKS4, SOCKS5 (any case), whitespace around
 * and between tolerated, empty entries skipped. Anything else, or no entry at
 * all, is CONSIGN_E_INVALID naming the entry. */
int consign_pac_parse_result(struct consign_ctx *ctx, const char *s, size_t len,
                             struct consign_pac_result *out);

/* Evaluate pac (pac_len bytes of PAC text, no NUL) for url in a child process
 * and parse the answer into *out. lim may be NULL (all defaults). The engine's
 * messages never reach our stdout or stderr: they are captured (bounded) into
 * the error message, and logged at CONSIGN_LOG_DEBUG.
 *
 * Errors, all prefixed "PAC: ": CONSIGN_E_INVALID (a bad URL or limit, a
 * timeout, the CPU limit, a failing FindProxyForURL, a garbage answer),
 * CONSIGN_E_SYNTAX (the script does not load, or defines no FindProxyForURL),
 * CONSIGN_E_TOOBIG (script, answer or memory over the limit), CONSIGN_E_EXEC
 * (the child could not start or crashed), CONSIGN_E_NOMEM, CONSIGN_E_IO.
 *
 * Forks: call it from a single-threaded process, or one whose other threads
 * hold no lock the child needs (glibc's malloc is safe across fork). The
 * child is reaped before return; the caller must not reap it (SIGCHLD must
 * not be ignored or handled by a waitpid(-1) loop while this runs). */
int consign_pac_find_proxy(struct consign_ctx *ctx, const char *pac, size_t pac_len,
                           const char *url, const struct consign_pac_limits *lim,
                           struct consign_pac_result *out);

/* "DIRECT", "PROXY", "HTTPS", "SOCKS4", "SOCKS5" ("?" out of range). */
const char *consign_pac_type_name(enum consign_pac_type type);

#endif
