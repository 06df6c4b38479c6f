/* consign sfx_install: install or upgrade an agent from a verified .bin.
 *
 * The one install flow of the routes that do not go through a package
 * manager: the .bin's own stub runs it on itself, the bootstrap downloader
 * on the .bin it fetched (and the auto-updater will). In order: the upgrade
 * trust check (an installed agent accepts only keys it trusts, or the one
 * the user names), the license (paged, must be accepted), the questions for
 * what the answers lack, free space, then the install core: staged
 * extraction, the stub copied as the installed tools (NAME-config,
 * NAME-uninstall), one switch. It talks to the person installing only
 * through the consign_ui it is given. */
#ifndef CONSIGN_SFX_INSTALL_H
#define CONSIGN_SFX_INSTALL_H

#include "consign/error.h"
#include "consign/install.h"
#include "consign/sfx.h"
#include "consign/ui.h"

struct consign_sfx_install_opts {
    const char *root;          /* NULL: the real system */
    int interactive;           /* may ask through the ui (a terminal, not quiet) */
    int asked;                 /* the settings questions were asked already (the bootstrap
                                  asks before it downloads): only the license is left */
    int accept_eula;           /* the license was accepted (option or response file) */
    const char *trust_new_key; /* a fingerprint an upgrade may be signed by; or NULL */
    const char *save_response; /* write the answers there after the install; or NULL */
    /* How to give the token without a terminal, for the message when it is
     * missing ("pass --token-file FILE or set NAME_TOKEN"). */
    const char *token_hint;
    /* How to accept the license without a terminal ("pass --accept-eula"). */
    const char *eula_hint;
    int no_wait; /* another install running: CONSIGN_E_LOCKED instead of waiting */
    /* Keep the installed payload as the base of later delta updates: its
     * compressed bytes and its tar's SHA-256 go to
     * ROOT/var/opt/NAME/update/cache (CONSIGN_BASE_DIR). */
    int keep_base;
};

/* The base of delta updates: the payload tar of the installed version,
 * zstd-compressed (CONSIGN_BASE_TAR), described by CONSIGN_BASE_INFO
 * ("version=", "sha256=" and "length=" of the uncompressed tar). Checked
 * again against the signed patch metadata before use. */
#define CONSIGN_BASE_DIR  "update/cache" /* under /var/opt/NAME */
#define CONSIGN_BASE_TAR  "payload.tar.zst"
#define CONSIGN_BASE_INFO "payload.info"
struct consign_base_info {
    char version[128];
    char sha256[65]; /* lower-case hex */
    unsigned long long length;
};
int consign_base_info_read(struct consign_ctx *ctx, const char *dir, struct consign_base_info *out);
int consign_base_info_write(struct consign_ctx *ctx, const char *dir,
                            const struct consign_base_info *in);

/* s: opened and verified from fd (consign_sfx_verify_meta is enough: the
 * install reads the stub and the payload once, checking each chunk). answers: what the
 * options, a response file and the environment said; the questions add to
 * it. Errors: CONSIGN_E_UNTRUSTED (an upgrade signed by a key the install
 * does not trust), CONSIGN_E_USAGE (the license or a required token missing
 * without a terminal), CONSIGN_E_CANCELLED (the license was declined),
 * CONSIGN_E_LOCKED (no_wait and another install runs), or the install
 * core's. The previous install is unchanged on any failure. */
int consign_sfx_install(struct consign_ctx *ctx, const struct consign_ui *ui, struct consign_sfx *s,
                        int fd, const struct consign_sfx_install_opts *o,
                        struct consign_conf *answers);

/* "ABCD EF01 ... " groups of four, a double space in the middle (out: 64). */
void consign_fpr_group(const char *fpr, char out[64]);
/* Two fingerprints equal, ignoring spaces and case; both must have 40 hex digits. */
int consign_fpr_equal(const char *a, const char *b);

#endif
