/* The bootstrap's embedded configuration, libc only.
 *
 * `consign bootstrap build` writes the bootstrap program followed by a
 * signed payload (the .bin format, kind=bootstrap) of two files:
 *
 *   bootstrap/bootstrap.conf   key=value lines, below
 *   bootstrap/root.json        the TUF root the downloads are checked against
 *
 * bootstrap.conf:
 *
 *   format=1
 *   name=example-agent          the product (as in the info block)
 *   channel=stable              the release channel to install from
 *   url=https://dl.example.com/agent     a TUF repository; repeated: mirrors, in order
 *   signer=40 HEX                a release key the .bin must be signed by; repeated
 *   pin=sha256//BASE64[;sha256//BASE64]  optional: the repository servers' public keys
 *   health_url=http://127.0.0.1:PORT/PATH  optional (the updater's update.conf): the
 *                                agent's health check while a new version is on probation
 *   probation=SECONDS            optional: how long it has to pass it (1..86400, default 120)
 *
 * The same format is the installed updater's configuration,
 * /opt/NAME/lib/consign/update.conf (CONSIGN_UPDATECONF_FILE), written by
 * `consign sfx build` beside the TUF root it trusts (root.json).
 *
 * The bootstrap checks its own signature before it reads any of this. */
#ifndef CONSIGN_BOOTCONF_H
#define CONSIGN_BOOTCONF_H

#include <stddef.h>

#include "consign/buf.h"
#include "consign/error.h"

#define CONSIGN_BOOTCONF_FILE      "bootstrap/bootstrap.conf"
#define CONSIGN_BOOTCONF_ROOT_FILE "bootstrap/root.json"
#define CONSIGN_BOOTCONF_MAX       (64 * 1024) /* bytes of bootstrap.conf */
#define CONSIGN_BOOTCONF_URLS      16
#define CONSIGN_BOOTCONF_SIGNERS   8
#define CONSIGN_BOOTCONF_URL_MAX   2048

struct consign_bootconf {
    char *name;
    char *channel;
    char *urls[CONSIGN_BOOTCONF_URLS]; /* without a trailing '/' */
    size_t n_urls;
    char *signers[CONSIGN_BOOTCONF_SIGNERS]; /* 40 upper-case hex digits */
    size_t n_signers;
    char *pin;               /* libcurl's pinned public key form, or NULL */
    char *health_url;        /* http:// on the loopback, or NULL */
    unsigned long probation; /* seconds; 120 when not given */
};

#define CONSIGN_UPDATECONF_FILE "lib/consign/update.conf" /* under /opt/NAME */
#define CONSIGN_UPDATEROOT_FILE "lib/consign/root.json"

/* Parse len bytes (need not end with a NUL). Strict: format=1 first, known
 * keys only, name and channel once, at least one url (https://, or http://
 * for a loopback host), at least one signer. CONSIGN_E_SYNTAX or
 * CONSIGN_E_INVALID naming the line. *out is reset first; free it whatever
 * the result. */
int consign_bootconf_parse(struct consign_ctx *ctx, const char *text, size_t len,
                           struct consign_bootconf *out);
/* The text of c (checked as parse would). */
int consign_bootconf_format(struct consign_ctx *ctx, const struct consign_bootconf *c,
                            struct consign_buf *out);
/* Accepts NULL; c may be reused. */
void consign_bootconf_free(struct consign_bootconf *c);

/* A channel or product name as the TUF repository writes them: letters,
 * digits and ._+~- (1 to 64 bytes). */
int consign_bootconf_name_ok(const char *s);

#endif
