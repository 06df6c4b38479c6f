/* The repository database: which packages a repository holds, in which
 * suites and components, with each package's file identity, content hash and
 * cached index entries, plus the kept generations of published indexes.
 *
 * One text file per repository (ROOT/.consign/apt.db or yum.db), mapped
 * read-only: cached entries point into the mapping, so loading a database of
 * thousands of packages touches only what is used. Every command holds the
 * repository lock (ROOT/.consign/lock) from open to close. Private to
 * repo-tools. */
#ifndef CONSIGN_REPO_STORE_H
#define CONSIGN_REPO_STORE_H

#include <stddef.h>
#include <sys/stat.h>

#include "consign/buf.h"
#include "consign/error.h"

#define STORE_BLOBS  3
#define STORE_DB_MAX (4ULL << 30) /* a database larger than this is refused */

enum store_kind { STORE_APT, STORE_YUM };

/* Package flags recorded with the cached entries. */
#define STORE_PKG_SHA512 0x1u /* the cached stanza carries SHA512 */

struct store_member {
    char *suite;
    char *component;
};

struct store_pkg {
    char *path; /* relative to the root: pool/main/e/example-agent/... */
    unsigned long long dev, ino, size;
    long long mtime_ns;
    char sha256[65];
    unsigned flags;
    char *name, *version, *arch; /* version: Debian's, or rpm's [E:]V-R */
    struct store_member *members;
    size_t nmembers;
    const char *blob[STORE_BLOBS]; /* into the mapping, or blob_owned */
    size_t bloblen[STORE_BLOBS];
    char *blob_owned[STORE_BLOBS];
};

struct store_gen {
    char *dir;    /* relative to the root */
    char **names; /* file names kept in that directory (by-hash hex or repodata names) */
    size_t nnames;
};

struct store {
    char *root;
    char *statedir;
    char *dbpath;
    int lock_fd;
    enum store_kind kind;
    void *map;
    size_t maplen;
    struct store_pkg **pkgs;
    size_t npkgs, cap;
    char **keys, **values;
    size_t nsettings;
    struct store_gen *gens; /* per directory, oldest first */
    size_t ngens;
    char **drops; /* pool files to delete once a publish no longer lists them */
    size_t ndrops;
};

/* Lock the repository under root (created if create) and load its database. */
int store_open(struct consign_ctx *ctx, const char *root, enum store_kind kind, int create,
               struct store **out);
/* Write the database atomically. */
int store_save(struct consign_ctx *ctx, struct store *st);
/* Unlock and free. Accepts NULL. */
void store_close(struct store *st);

const char *store_get(const struct store *st, const char *key);
int store_set(struct consign_ctx *ctx, struct store *st, const char *key, const char *value);

struct store_pkg *store_find(const struct store *st, const char *path);
/* Append p (the store owns it from now on, also on failure). */
int store_add(struct consign_ctx *ctx, struct store *st, struct store_pkg *p);
/* Remove pkgs[i]; its file is scheduled for deletion after the next publish. */
int store_remove(struct consign_ctx *ctx, struct store *st, size_t i);
void store_pkg_free(struct store_pkg *p);

int store_member_has(const struct store_pkg *p, const char *suite, const char *component);
int store_member_add(struct consign_ctx *ctx, struct store_pkg *p, const char *suite,
                     const char *component);
void store_member_del(struct store_pkg *p, const char *suite, const char *component);

/* Replace cached entry i with a copy of data. */
int store_blob_set(struct consign_ctx *ctx, struct store_pkg *p, int i, const void *data,
                   size_t len);

/* Let the kernel drop the pages of cached entry i of p from this process's
 * memory if they come from the database's mapping (they are read again from
 * the file when next used): with thousands of packages, reading every entry
 * once must not keep the whole database resident. */
void store_blob_release(const struct store *st, const struct store_pkg *p, int i);

/* Does st describe the file now (device, inode, size, mtime)? */
int store_identity_same(const struct store_pkg *p, const struct stat *st);
void store_identity_set(struct store_pkg *p, const struct stat *st);

/* Record a new generation of names in dir, keeping the newest keep. */
int store_gen_push(struct consign_ctx *ctx, struct store *st, const char *dir, char *const *names,
                   size_t n, size_t keep);
/* Is name kept in dir by any recorded generation? */
int store_gen_keeps(const struct store *st, const char *dir, const char *name);

int store_drop_add(struct consign_ctx *ctx, struct store *st, const char *path);
void store_drop_del(struct store *st, const char *path);
/* After a switch: delete the pool files no package lists any more (and their
 * emptied directories), forgetting those dropped. Returns how many were
 * forgotten: the database needs saving again only then. */
size_t store_drop_files(struct consign_ctx *ctx, struct store *st);

/* Run fn(ctx, user, i) for i < n on up to the machine's CPUs (at most 8)
 * threads, each with a context of its own. On failure the error of the
 * lowest failing i is recorded in ctx. */
typedef int (*store_job_fn)(struct consign_ctx *ctx, void *user, size_t i);
int store_parallel(struct consign_ctx *ctx, size_t n, store_job_fn fn, void *user);

/* Is s a safe token for the database and for paths (no white space, no
 * slash unless allow_slash, not . or .., printable ASCII)? */
int store_token_ok(const char *s, int allow_slash);

#endif
