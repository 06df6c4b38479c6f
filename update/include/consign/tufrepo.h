/* consign tufrepo: the repository side of The Update Framework (spec 1.0).
 *
 * Maintains a TUF repository with the four top-level roles (root, targets,
 * snapshot, timestamp), Ed25519 keys and consistent snapshots, for the
 * client in consign/tuf.h:
 *
 *   REPO/metadata/N.root.json          every root version (the client walks them)
 *   REPO/metadata/root.json            a copy of the newest root (initial trust)
 *   REPO/metadata/V.targets.json       every targets version
 *   REPO/metadata/V.snapshot.json      every snapshot version
 *   REPO/metadata/timestamp.json       the one unversioned file, written last
 *   REPO/targets/DIR/SHA256.FILE       target DIR/FILE, named by its hash
 *   REPO/.lock                         flock(2)ed while the repository changes
 *
 * The private keys live in KEYDIR/tuf/ as unencrypted PKCS#8 PEM files,
 * mode 0600, one file per key, named ROLE-KEYID16.pem (the first 16 hex
 * digits of the key ID). Keys are matched to roles by their key ID, so the
 * names are only a convenience; keys replaced by a rotation move to
 * KEYDIR/tuf/retired/. Root may have several keys and a threshold.
 *
 * Files are written as canonical JSON ({"signatures": [...], "signed":
 * {...}}), each atomically (temporary file, fsync, rename); the files a new
 * timestamp names exist before the timestamp does. Times come from the
 * options, else SOURCE_DATE_EPOCH, else the clock: with the same keys and
 * inputs, the metadata is byte-identical (Ed25519 signatures are
 * deterministic). Nothing is printed; private key material is never logged. */
#ifndef CONSIGN_TUFREPO_H
#define CONSIGN_TUFREPO_H

#include <stddef.h>

#include "consign/error.h"
#include "consign/tuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default lifetimes (seconds). */
#define CONSIGN_TUFREPO_ROOT_EXPIRY      (365LL * 86400)
#define CONSIGN_TUFREPO_TARGETS_EXPIRY   (90LL * 86400)
#define CONSIGN_TUFREPO_SNAPSHOT_EXPIRY  (7LL * 86400)
#define CONSIGN_TUFREPO_TIMESTAMP_EXPIRY (1LL * 86400)
#define CONSIGN_TUFREPO_MAX_ROOT_KEYS    16

struct consign_tufrepo_options {
    const char *keydir; /* the key directory (keys under KEYDIR/tuf/) */
    const char *repo;   /* the repository directory */
    /* Lifetimes in seconds, indexed by enum consign_tuf_type; 0: the default. */
    long long expiry[CONSIGN_TUF_NTYPES];
    /* Signing time; 0: SOURCE_DATE_EPOCH when set, else time(NULL). */
    long long now;
    /* init and rotate("root"): root keys to make (0: 1, or as many as before
     * on rotation) and the root threshold (0: 1, or as before). */
    unsigned root_keys;
    unsigned root_threshold;
};

void consign_tufrepo_options_init(struct consign_tufrepo_options *o);

/* What a patch artifact turns into what (consign/delta.h): its target's
 * custom fields also get {"patch": {"from_version", "from_sha256",
 * "from_length", "install_version", "sha256", "length", "signer"}}. */
struct consign_tufrepo_patch {
    const char *from_version, *from_sha256;
    long long from_length;
    const char *install_version, *sha256; /* the new .bin's version, its payload tar */
    long long length;
    const char *signer;
};

/* One payload of a release: a file and where it runs. */
struct consign_tufrepo_artifact {
    const char *file; /* the local file to publish */
    const char *os;   /* "linux" when NULL */
    const char *arch; /* "amd64", "arm64", ... (required) */
    const struct consign_tufrepo_patch *patch; /* a delta, or NULL: a full release */
};

/* A release: its artifacts become targets PRODUCT/VERSION/OS-ARCH/BASENAME,
 * each with "custom": {"version", "channel", "rollout", "min_version"}
 * (min_version left out when NULL). Names and versions: letters, digits and
 * ". _ + ~ -", not starting with '.' or '-'. */
struct consign_tufrepo_release {
    const char *product;
    const char *version;
    const char *channel;     /* "stable" when NULL */
    int rollout;             /* percentage 0..100 */
    const char *min_version; /* the oldest version that may update to this one, or NULL */
    const struct consign_tufrepo_artifact *artifacts;
    size_t n_artifacts;
};

/* Create the repository: keys for every role that has none in KEYDIR/tuf/
 * (o->root_keys root keys; existing keys are reused), root version 1 with
 * o->root_threshold, empty targets, snapshot and timestamp version 1.
 * CONSIGN_E_EXISTS when REPO already holds metadata. */
int consign_tufrepo_init(struct consign_ctx *ctx, const struct consign_tufrepo_options *o);

/* Add a release's targets (replacing entries with the same path) and sign
 * new targets, snapshot and timestamp versions. */
int consign_tufrepo_publish(struct consign_ctx *ctx, const struct consign_tufrepo_options *o,
                            const struct consign_tufrepo_release *rel);

/* Sign the next timestamp version (same snapshot, new expiry). */
int consign_tufrepo_refresh_timestamp(struct consign_ctx *ctx,
                                      const struct consign_tufrepo_options *o);

/* Replace the keys of role with new ones and write root N+1, signed by a
 * threshold of the old root keys and by the new root's keys; then re-sign
 * what the new keys cover (targets, snapshot and timestamp as needed). The
 * old key files move to KEYDIR/tuf/retired/. *new_version (may be NULL)
 * receives the new root version. */
int consign_tufrepo_rotate(struct consign_ctx *ctx, const struct consign_tufrepo_options *o,
                           enum consign_tuf_type role, long long *new_version);

/* "root", "targets", "snapshot", "timestamp" to the type; 0 on success. */
int consign_tufrepo_role_parse(const char *name, enum consign_tuf_type *out);

#ifdef __cplusplus
}
#endif
#endif
