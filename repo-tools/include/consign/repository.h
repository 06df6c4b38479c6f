/* consign repository: signed APT and YUM repositories, kept in a directory
 * that a web server serves as it is.
 *
 * `add` and `remove` change what a repository holds (its database under
 * ROOT/.consign and its pool); `publish` writes the indexes, signs them and
 * switches them in so that a client fetching meanwhile sees the old
 * repository or the new one, never a mix. Every call holds the repository's
 * lock for its whole run. See docs/consign-repo.md. */
#ifndef CONSIGN_REPOSITORY_H
#define CONSIGN_REPOSITORY_H

#include <stddef.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/secret.h"

#include "consign/version.h"

/* One package as `list` shows it. */
struct consign_repo_entry {
    const char *suite;     /* APT only */
    const char *component; /* APT only */
    const char *name;
    const char *version; /* Debian's, or rpm's [EPOCH:]VERSION-RELEASE */
    const char *arch;
    const char *path; /* relative to the root */
};
typedef int (*consign_repo_list_fn)(struct consign_ctx *ctx, void *user,
                                    const struct consign_repo_entry *e);

/* --- APT ---------------------------------------------------------------------- */

struct consign_apt_add_opts {
    const char *suite;
    const char *component; /* NULL: main */
    unsigned keep;         /* newest versions kept per name and architecture; 0: all */
};

int consign_repo_apt_add(struct consign_ctx *ctx, const char *root,
                         const struct consign_apt_add_opts *opts, const char *const *files,
                         size_t nfiles);

/* Remove NAME or NAME=VERSION from a suite (every component when component is
 * NULL). *removed counts the packages taken out. A spec matching nothing is
 * an error (CONSIGN_E_NOTFOUND) and nothing is removed. */
int consign_repo_apt_remove(struct consign_ctx *ctx, const char *root, const char *suite,
                            const char *component, const char *const *specs, size_t nspecs,
                            size_t *removed);

/* Every package of suite (all suites when NULL), sorted. */
int consign_repo_apt_list(struct consign_ctx *ctx, const char *root, const char *suite,
                          consign_repo_list_fn fn, void *user);

struct consign_apt_publish_opts {
    const char *keydir;
    const struct consign_secret *passphrase; /* NULL: unprotected key */
    const char *const *suites;               /* NULL: every suite */
    size_t nsuites;
    /* NULL or 0: keep what the repository recorded, else the default. */
    const char *origin;        /* default: the name, else "consign" */
    const char *label;         /* default: the origin */
    const char *architectures; /* default: "amd64 arm64" */
    const char *description;
    long long valid_seconds; /* < 0: default (30 days); 0: no Valid-Until */
    int sha512;              /* -1: as recorded (default off), 0 off, 1 on */
    unsigned by_hash_keep;   /* generations kept under by-hash; 0: default (3) */
    /* Customer files written beside the repository when both are set. */
    const char *url;
    const char *name;
};

int consign_repo_apt_publish(struct consign_ctx *ctx, const char *root,
                             const struct consign_apt_publish_opts *opts);

/* --- YUM ---------------------------------------------------------------------- */

struct consign_yum_add_opts {
    unsigned keep; /* newest versions kept per name and architecture; 0: all */
};

int consign_repo_yum_add(struct consign_ctx *ctx, const char *root,
                         const struct consign_yum_add_opts *opts, const char *const *files,
                         size_t nfiles);
/* Remove NAME, NAME=VERSION, NAME=VERSION-RELEASE or NAME=EPOCH:VERSION-RELEASE. */
int consign_repo_yum_remove(struct consign_ctx *ctx, const char *root, const char *const *specs,
                            size_t nspecs, size_t *removed);
int consign_repo_yum_list(struct consign_ctx *ctx, const char *root, consign_repo_list_fn fn,
                          void *user);

struct consign_yum_publish_opts {
    const char *keydir;
    const struct consign_secret *passphrase;
    int compat;             /* gzip instead of zstd (RHEL 7's yum) */
    unsigned keep_metadata; /* generations of repodata files kept; 0: default (3) */
    const char *url;
    const char *name;
};

int consign_repo_yum_publish(struct consign_ctx *ctx, const char *root,
                             const struct consign_yum_publish_opts *opts);

#endif
