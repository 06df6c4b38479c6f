/* consign bootstrap: building the signed bootstrap downloader (host side).
 *
 * A bootstrap is the program consign-bootstrap followed by a signed payload
 * in the .bin format (kind=bootstrap, consign/sfx.h): its configuration
 * (consign/bootconf.h) and the TUF root its downloads are checked against.
 * Beside it goes NAME-bootstrap.asc, a detached armored OpenPGP signature of
 * the whole file by the same release key, for `gpg --verify`. */
#ifndef CONSIGN_BOOTSTRAP_H
#define CONSIGN_BOOTSTRAP_H

#include <stddef.h>

#include "consign/error.h"
#include "consign/secret.h"

struct consign_product;

struct consign_bootstrap_build_opts {
    const char *program_path; /* the consign-bootstrap program to put first */
    const char *keydir;       /* release key directory: signs, and names the signer */
    const struct consign_secret *passphrase;
    const char *tuf_root;    /* root.json path; NULL: KEYDIR/tuf/root.json */
    const char *const *urls; /* TUF repository base URLs, in order */
    size_t n_urls;
    const char *channel; /* NULL: the product's distribution.channel, else "stable" */
    /* More release keys the downloaded .bin may be signed by (40 hex each),
     * besides the key directory's active key: a key rotation announced
     * ahead. */
    const char *const *extra_signers;
    size_t n_extra_signers;
    /* The repository servers' public keys, "sha256//BASE64[;...]" (as
     * curl --pinnedpubkey takes them), or NULL: the CA check alone. */
    const char *pin;
};

/* The configuration text (consign/bootconf.h) and the checked TUF root
 * (*root: malloc'ed) of a bootstrap, or with for_updater of an installed
 * updater (adds the product's health_url and probation): the .bin's
 * /opt/NAME/lib/consign/update.conf and root.json. program_path is not used. */
struct consign_buf;
int consign_bootstrap_make_conf(struct consign_ctx *ctx, const struct consign_product *product,
                                const struct consign_bootstrap_build_opts *o, int for_updater,
                                struct consign_buf *text, char **root, size_t *root_len);

/* Write out (mode 0755, atomically) and out.asc. SOURCE_DATE_EPOCH makes
 * both reproducible. */
int consign_bootstrap_build(struct consign_ctx *ctx, const struct consign_product *product,
                            const struct consign_bootstrap_build_opts *o, const char *out);

#endif
