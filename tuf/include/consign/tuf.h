/* consign tuf: a client of The Update Framework (specification 1.0).
 *
 * Two layers:
 *  - metadata: parse a role file (root, timestamp, snapshot, targets with
 *    delegations) into checked C structs, verify its signatures against a key
 *    set and a threshold, check its expiry against a fixed time;
 *  - client: the update workflow of the specification's section 5 (root
 *    chain, timestamp, snapshot, targets, delegated targets, target files),
 *    over a caller's fetch callback and a local directory of trusted
 *    metadata.
 *
 * Signatures are checked over the canonical JSON of "signed" (consign/json.h)
 * with ed25519, ecdsa-sha2-nistp256 (DER signatures) and rsassa-pss-sha256.
 * Attacks get their own codes: CONSIGN_E_UNTRUSTED (no trusted key signed),
 * CONSIGN_E_BAD_SIGNATURE (signed, but below the threshold),
 * CONSIGN_E_EXPIRED, CONSIGN_E_ROLLBACK (a version lower than the trusted
 * one), CONSIGN_E_MISMATCH (version, length or hashes differ from what the
 * trusted referring metadata says), CONSIGN_E_TOOBIG (a download cap). */
#ifndef CONSIGN_TUF_H
#define CONSIGN_TUF_H

#include <stddef.h>
#include <sys/types.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/hash.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- metadata ---- */

enum consign_tuf_type {
    CONSIGN_TUF_ROOT,
    CONSIGN_TUF_TIMESTAMP,
    CONSIGN_TUF_SNAPSHOT,
    CONSIGN_TUF_TARGETS,
};
#define CONSIGN_TUF_NTYPES 4

#define CONSIGN_TUF_KEYID_LEN 64 /* hex of SHA-256 */

/* The public part of a key, loaded for verification (opaque). */
struct consign_tuf_pkey;

struct consign_tuf_key {
    char *keyid;   /* as listed (not required to be its key's hash, see verify_role) */
    char *keytype; /* "ed25519", "ecdsa", "ecdsa-sha2-nistp256", "rsa", or other */
    char *scheme;
    struct consign_tuf_pkey *pkey; /* NULL: an unsupported type or scheme, never counts */
};

/* A top-level role of root, or a delegated role of a targets file. */
struct consign_tuf_role {
    char *name; /* delegated roles only */
    char **keyids;
    size_t n_keyids;
    long long threshold;
    /* Delegated roles only. Neither list: the role matches no target. */
    int terminating;
    char **paths; /* patterns: '*' and '?' within one path component */
    size_t n_paths;
    char **hash_prefixes; /* lower-case hex prefixes of SHA-256(target path) */
    size_t n_hash_prefixes;
};

struct consign_tuf_hashes {
    unsigned char sha256[32], sha512[64];
    int has_sha256, has_sha512;
    size_t n_other; /* listed algorithms we do not know (ignored) */
};

/* A "meta" entry of timestamp or snapshot. length -1: not listed. */
struct consign_tuf_metafile {
    char *name;
    long long version;
    long long length;
    struct consign_tuf_hashes hashes;
    int has_hashes;
};

struct consign_tuf_target {
    char *path;
    long long length;
    struct consign_tuf_hashes hashes;
    char *custom; /* canonical JSON of "custom", or NULL */
};

struct consign_tuf_signature {
    char *keyid;
    unsigned char *sig; /* decoded; NULL (len 0) when the hex was empty or invalid */
    size_t sig_len;
};

struct consign_tuf_metadata {
    enum consign_tuf_type type;
    char *spec_version;
    long long version;
    long long expires; /* seconds since the epoch (UTC) */

    unsigned char *signed_bytes; /* canonical JSON of "signed": what the signatures cover */
    size_t signed_len;
    struct consign_tuf_signature *sigs;
    size_t n_sigs;

    /* root: its keys; targets: the delegations' keys. Sorted by keyid. */
    struct consign_tuf_key *keys;
    size_t n_keys;

    /* root */
    int consistent_snapshot;
    struct consign_tuf_role roles[CONSIGN_TUF_NTYPES]; /* indexed by enum consign_tuf_type */

    /* timestamp (just snapshot.json) and snapshot: sorted by name */
    struct consign_tuf_metafile *meta;
    size_t n_meta;

    /* targets: sorted by path; delegated roles in their order of priority */
    struct consign_tuf_target *targets;
    size_t n_targets;
    int has_delegations;
    struct consign_tuf_role *delegations;
    size_t n_delegations;
};

/* "root", "timestamp", ... */
const char *consign_tuf_type_name(enum consign_tuf_type t);

/* Parse one metadata file ({"signed": ..., "signatures": [...]}) of the
 * expected type. Checks every field's type, "_type", spec_version (major 1),
 * version >= 1, the expiry's format, thresholds >= 1, unique keyids per role
 * and per signatures array, unique delegated role names that are not
 * top-level names, and computes the canonical bytes the signatures cover. Unknown fields are allowed (and
 * signed over). Nothing is verified or trusted yet. Errors: CONSIGN_E_SYNTAX
 * (JSON), CONSIGN_E_INVALID (TUF), CONSIGN_E_TOOBIG. *out is the caller's. */
int consign_tuf_metadata_parse(struct consign_ctx *ctx, const char *data, size_t len,
                               enum consign_tuf_type type, struct consign_tuf_metadata **out);
void consign_tuf_metadata_free(struct consign_tuf_metadata *md);

/* Verify md's signatures for role, with keys from keys (sorted by keyid,
 * as in a parsed root or targets). Each key counts at most once, also when
 * the same public key is listed under two keyids; only the first signature
 * listed for a keyid is tried; keyids not listed in role (or without a
 * usable key) are ignored; bad signatures do not count. what names the file
 * in messages. 0 when at least role->threshold keys of the role signed.
 * CONSIGN_E_UNTRUSTED when no key of the role signed at all,
 * CONSIGN_E_BAD_SIGNATURE when some did but too few were valid. */
int consign_tuf_verify_role(struct consign_ctx *ctx, const struct consign_tuf_metadata *md,
                            const struct consign_tuf_key *keys, size_t n_keys,
                            const struct consign_tuf_role *role, const char *what);

/* CONSIGN_E_EXPIRED when now >= md->expires. */
int consign_tuf_check_expiry(struct consign_ctx *ctx, const struct consign_tuf_metadata *md,
                             long long now, const char *what);

/* Lookups (borrowed; NULL if absent). */
const struct consign_tuf_key *consign_tuf_find_key(const struct consign_tuf_key *keys,
                                                   size_t n_keys, const char *keyid);
const struct consign_tuf_metafile *consign_tuf_find_meta(const struct consign_tuf_metadata *md,
                                                         const char *name);
const struct consign_tuf_target *consign_tuf_find_target(const struct consign_tuf_metadata *md,
                                                         const char *path);

/* Does a delegated role cover this target path? */
int consign_tuf_role_matches(const struct consign_tuf_role *role, const char *target_path);

/* Check data against a length (-1: none) and hashes (NULL: none). At least
 * one known hash must be listed, and every known one must match.
 * CONSIGN_E_MISMATCH otherwise. */
int consign_tuf_check_file(struct consign_ctx *ctx, const void *data, size_t len, long long length,
                           const struct consign_tuf_hashes *hashes, const char *what);

/* The same for a file, streamed (never read whole). */
int consign_tuf_check_path(struct consign_ctx *ctx, const char *path, long long length,
                           const struct consign_tuf_hashes *hashes, const char *what);

/* "YYYY-MM-DDTHH:MM:SSZ" to seconds since the epoch. 0 on success. */
int consign_tuf_parse_time(const char *s, long long *out);

/* ---- client ---- */

/* Fetch name into out, which the client has initialised with consign_buf_init
 * (out, max_len): appending past max_len fails with CONSIGN_E_TOOBIG, which
 * the callback should return. CONSIGN_E_NOTFOUND means the file does not
 * exist (it ends the root chain); any other non-zero code aborts the update.
 * name is relative: the metadata prefix or the targets prefix, then a
 * metadata file name (percent-encoded role name) or a target path. */
typedef int (*consign_tuf_fetch_fn)(void *user, const char *name, size_t max_len,
                                    struct consign_buf *out);

/* A fetch callback over a local directory (user: the directory path, a
 * const char *). Names must be safe relative paths. */
int consign_tuf_fetch_dir(void *user, const char *name, size_t max_len, struct consign_buf *out);

/* Download caps (bytes) for files whose length is not known in advance, and
 * the workflow's other bounds. Zero fields take the defaults. */
struct consign_tuf_limits {
    size_t root_max;             /* 512000 */
    size_t timestamp_max;        /* 16384 */
    size_t snapshot_max;         /* 2000000 */
    size_t targets_max;          /* 5000000, also delegated targets */
    size_t target_file_max;      /* 1 GiB: targets listed longer are refused */
    unsigned max_root_rotations; /* 32 new roots per update */
    unsigned max_delegations;    /* 32 roles visited per target lookup */
};

struct consign_tuf_options {
    const char *metadata_dir; /* holds root.json (required) and the other trusted files */
    consign_tuf_fetch_fn fetch;
    void *fetch_user;
    long long now; /* the fixed update start time; 0: time(NULL) when a refresh starts */
    const char *metadata_prefix; /* default "metadata/" */
    const char *targets_prefix;  /* default "targets/" */
    struct consign_tuf_limits limits;
};

struct consign_tuf_client;

void consign_tuf_options_init(struct consign_tuf_options *o);

/* Load the trusted root from metadata_dir/root.json; it must be signed by a
 * threshold of its own root keys (its expiry does not matter yet). */
int consign_tuf_client_new(struct consign_ctx *ctx, const struct consign_tuf_options *o,
                           struct consign_tuf_client **out);
void consign_tuf_client_free(struct consign_tuf_client *c);

/* Section 5.3: walk the root chain (N+1.root.json, ...) and check the final
 * root's expiry; deletes the local timestamp and snapshot when their keys
 * changed. Called by refresh. */
int consign_tuf_client_update_root(struct consign_ctx *ctx, struct consign_tuf_client *c);

/* Sections 5.1 to 5.6.6: root, timestamp, snapshot, top-level targets.
 * Every accepted file is persisted atomically; a refused one changes nothing. */
int consign_tuf_client_refresh(struct consign_ctx *ctx, struct consign_tuf_client *c);

/* Section 5.6.7: find a target in the delegation tree (pre-order depth
 * first, honouring terminating delegations), loading delegated roles as
 * needed. Refreshes first if that has not been done. *out is borrowed from
 * the client (valid until the next refresh or free). CONSIGN_E_NOTFOUND
 * when no trusted role lists it. */
int consign_tuf_client_find_target(struct consign_ctx *ctx, struct consign_tuf_client *c,
                                   const char *path, const struct consign_tuf_target **out);

/* Section 5.7: fetch a target (at most its listed length, named HASH.name
 * under consistent snapshots) and check its length and hashes. out must
 * have been initialised (consign_buf_init); it is emptied and receives the
 * verified bytes (freed again on failure). */
int consign_tuf_client_download_target(struct consign_ctx *ctx, struct consign_tuf_client *c,
                                       const struct consign_tuf_target *t, struct consign_buf *out);
/* The name t is fetched by after the targets prefix (HASH.FILE in its
 * directory under consistent snapshots); refuses a target listed longer
 * than the limit. For callers that download by themselves (to a file, with
 * resume) and check with consign_tuf_check_path. Caller frees *out. */
int consign_tuf_client_target_name(struct consign_ctx *ctx, const struct consign_tuf_client *c,
                                   const struct consign_tuf_target *t, char **out);
/* The targets prefix of the options ("targets/" by default). */
const char *consign_tuf_client_targets_prefix(const struct consign_tuf_client *c);

/* The same, then written atomically to dest with mode. */
int consign_tuf_client_download_target_to(struct consign_ctx *ctx, struct consign_tuf_client *c,
                                          const struct consign_tuf_target *t, const char *dest,
                                          mode_t mode);

/* The trusted top-level metadata (borrowed; NULL if none yet). */
const struct consign_tuf_metadata *consign_tuf_client_trusted(const struct consign_tuf_client *c,
                                                              enum consign_tuf_type type);

#ifdef __cplusplus
}
#endif
#endif
