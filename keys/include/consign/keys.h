/* consign keys: release keys kept in a key directory.
 *
 * A key directory DIR holds its own GnuPG home, DIR/gnupg (mode 0700), and a
 * file DIR/active naming the fingerprint that signs releases. Every operation
 * runs GnuPG (through GPGME) against that home only: the user's ~/.gnupg and
 * $GNUPGHOME are never read or written. GPGME errors are translated here. */
#ifndef CONSIGN_KEYS_H
#define CONSIGN_KEYS_H

#include <stddef.h>
#include <time.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/secret.h"

#define CONSIGN_FPR_LEN         40 /* hex digits of a v4 fingerprint */
#define CONSIGN_FPR_GROUPED_LEN 50 /* "XXXX XXXX XXXX XXXX XXXX  XXXX ..." */

enum consign_key_algo {
    CONSIGN_KEY_RSA4096 = 0, /* default: RHEL/CentOS 7's rpm cannot verify ed25519 */
    CONSIGN_KEY_ED25519,
};

enum consign_key_format {
    CONSIGN_KEY_FORMAT_APT, /* binary OpenPGP keyring, what apt's Signed-By wants */
    CONSIGN_KEY_FORMAT_ASC, /* ASCII-armored public key (RPM-GPG-KEY, .asc) */
};

struct consign_keygen_opts {
    const char *name;
    const char *email;
    enum consign_key_algo algo;
    unsigned long long expire_seconds;       /* 0: never expires */
    const struct consign_secret *passphrase; /* NULL: unprotected (dev keys) */
};

struct consign_key_info {
    char fpr[CONSIGN_FPR_LEN + 1];
    char *uid;     /* "Name <email>" */
    char algo[32]; /* "rsa4096", "ed25519" */
    time_t created;
    time_t expires; /* 0: never */
    int has_secret;
    int active; /* the key named in DIR/active */
    int expired;
    int revoked;
};

/* Parse "2y", "18m", "6w", "30d", "3600s", "0" or "never" into seconds. */
int consign_keys_parse_expire(struct consign_ctx *ctx, const char *s, unsigned long long *out);

/* Format a 40-hex fingerprint as ten upper-case groups of four with a double
 * space in the middle, the form install guides print. */
void consign_keys_fpr_group(const char *fpr, char out[CONSIGN_FPR_GROUPED_LEN + 1]);

/* Create a new signing key in keydir (created 0700 if missing) and make it
 * the active key. Refuses a keydir that already has an active key unless
 * `add` is set (rotation). fpr_out receives the new fingerprint. */
int consign_keys_generate(struct consign_ctx *ctx, const char *keydir,
                          const struct consign_keygen_opts *opts, int add,
                          char fpr_out[CONSIGN_FPR_LEN + 1]);

/* The active key's fingerprint. */
int consign_keys_active(struct consign_ctx *ctx, const char *keydir,
                        char fpr_out[CONSIGN_FPR_LEN + 1]);

/* Export public key material. fpr NULL: the active key. Appends to out. */
int consign_keys_export(struct consign_ctx *ctx, const char *keydir, const char *fpr,
                        enum consign_key_format format, struct consign_buf *out);

/* All keys of keydir; free with consign_keys_info_free. */
int consign_keys_list(struct consign_ctx *ctx, const char *keydir, struct consign_key_info **out,
                      size_t *count);
void consign_keys_info_free(struct consign_key_info *list, size_t count);

enum consign_sig_mode {
    CONSIGN_SIG_DETACHED,  /* Release.gpg, repomd.xml.asc, SHA256SUMS.asc */
    CONSIGN_SIG_CLEARSIGN, /* InRelease */
};

/* Signatures are OpenPGP v4 packets with a SHA-512 digest, made by the active
 * key. consign writes the packet itself and gpg-agent only computes the RSA or
 * Ed25519 value, so the signature time is the caller's to choose: with a fixed
 * time, the same key and data give the same bytes (both schemes are
 * deterministic), as reproducible builds need. The bytes are those gpg 2.2
 * writes for that time. */

#define CONSIGN_SIG_TIME_NOW (-1LL)

/* How consign_keys_sign_ext signs. */
struct consign_sign_opts {
    enum consign_sig_mode mode; /* detached or clearsigned */
    int armor;                  /* armor a detached signature (clearsigned text always is) */
    long long created;          /* signature time, seconds since 1970; < 0: now. A time
                                 * before the signing key's creation becomes that
                                 * creation time: an older signature would be invalid. */
};

/* Supplies the data a streamed signing covers: stores up to n bytes in buf
 * and their number in *got (0 at the end); returns 0 or an error code
 * (recorded in ctx), which then becomes the signing's result. */
typedef int (*consign_sign_read_fn)(struct consign_ctx *ctx, void *user, void *buf, size_t n,
                                    size_t *got);

/* Sign len bytes at data, or, when read is not NULL, what read supplies, as
 * opts says (NULL: detached, binary, now). passphrase may be NULL. Appends to
 * out; on failure out is left as it was. */
int consign_keys_sign_ext(struct consign_ctx *ctx, const char *keydir,
                          const struct consign_secret *passphrase,
                          const struct consign_sign_opts *opts, const void *data, size_t len,
                          consign_sign_read_fn read, void *user, struct consign_buf *out);

/* One signature of a batch: what consign_keys_sign_ext takes. */
struct consign_sign_job {
    const struct consign_sign_opts *opts; /* NULL: detached, binary, now */
    const void *data;
    size_t len;
    consign_sign_read_fn read; /* when not NULL, the data comes from it */
    void *user;
    struct consign_buf *out; /* appended to */
};

/* Make several signatures with the active key in one gpg-agent session (a
 * repository's InRelease and Release.gpg for each suite). On failure every
 * out is left as it was. The key's facts and the agent's socket are cached
 * in DIR/signer.cache (valid while DIR/active and the GnuPG home's keyring and
 * trust database are unchanged), so a signing needs no key listing. */
int consign_keys_sign_batch(struct consign_ctx *ctx, const char *keydir,
                            const struct consign_secret *passphrase,
                            const struct consign_sign_job *jobs, size_t njobs);

/* The signature time a reproducible build wants: SOURCE_DATE_EPOCH when set
 * (which the sign call raises to the key's creation time if older), else
 * CONSIGN_SIG_TIME_NOW. A malformed value is an error (CONSIGN_E_INVALID). */
int consign_keys_sig_time_env(struct consign_ctx *ctx, long long *created);

/* Sign data with the active key, now. armor applies to detached signatures;
 * clearsigned text is always armored. passphrase may be NULL. */
int consign_keys_sign(struct consign_ctx *ctx, const char *keydir,
                      const struct consign_secret *passphrase, enum consign_sig_mode mode,
                      int armor, const void *data, size_t len, struct consign_buf *out);

/* A detached signature, like consign_keys_sign, over data too large to hold
 * in memory (an RPM header followed by its payload), read through read. */
int consign_keys_sign_stream(struct consign_ctx *ctx, const char *keydir,
                             const struct consign_secret *passphrase, int armor,
                             consign_sign_read_fn read, void *user, struct consign_buf *out);

#endif
