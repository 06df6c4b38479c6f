/* What the APT and YUM publishers share: index files written once through
 * several compressors at the same time with their digests, files put in
 * place by rename, pool copies, signatures, the customer's key files.
 * Private to repo-tools. */
#ifndef CONSIGN_REPO_PUBLISH_H
#define CONSIGN_REPO_PUBLISH_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/hash.h"
#include "consign/secret.h"

enum idx_fmt { IDX_PLAIN, IDX_GZ, IDX_XZ, IDX_ZST };

#define IDX_MAX_FILES 3

struct idx_file {
    enum idx_fmt fmt;
    int fd;
    char *tmp; /* the temporary file, until idx_place */
    unsigned long long size;
    void *xz_index; /* chunked xz: the stream's index of blocks */
    char sha256[65];
    char sha512[129];
    struct consign_hash *h256, *h512;
    void *z; /* the compressor's state */
};

/* One index written to up to IDX_MAX_FILES files (plain and compressed) in one pass. */
struct idx_out {
    struct consign_ctx *ctx;
    struct idx_file f[IDX_MAX_FILES];
    size_t nf;
    unsigned long long open_size; /* bytes before compression */
    char open_sha256[65];
    struct consign_hash *open_h;
    int failed;
    /* Chunked mode (cachedir set): see idx_open_chunked. */
    const char *cachedir;
    struct consign_buf chunk; /* pending chunks' bytes */
    size_t *cuts;             /* end offset of each pending chunk in chunk */
    size_t ncuts, capcuts;
    size_t nchunks;           /* chunks written */
    size_t chunks_compressed; /* chunks not found in the cache */
};

/* Open temporary files in dir (created 0755) for each format. */
int idx_open(struct consign_ctx *ctx, struct idx_out *o, const char *dir, const enum idx_fmt *fmts,
             size_t n, int with_sha512);
int idx_write(struct consign_ctx *ctx, struct idx_out *o, const void *p, size_t n);

/* Like idx_open, but each compressed file is made of independently
 * compressed chunks (gzip members, xz blocks of one stream, zstd frames:
 * what every decoder reads as one stream), cut where idx_cut is called. A
 * chunk whose bytes were compressed before is taken from cachedir instead
 * of being compressed again, so an index of thousands of entries with one
 * new entry costs one chunk's compression. Output depends on the content
 * and the cut points only. */
int idx_open_chunked(struct consign_ctx *ctx, struct idx_out *o, const char *dir,
                     const enum idx_fmt *fmts, size_t n, int with_sha512, const char *cachedir);
/* End the current chunk (nothing happens for an empty one). */
int idx_cut(struct consign_ctx *ctx, struct idx_out *o);
/* Delete cached chunks last used before since (seconds), keeping the rest. */
void idx_cache_prune(struct consign_ctx *ctx, const char *cachedir, long long since);
/* Where a chunk boundary may fall in a sorted list of names: after name when
 * the next entry has another name and name's hash picks it (1 in 64), so
 * that boundaries stay put when entries come and go elsewhere. */
int idx_boundary(const char *name, const char *next_name);
/* Flush the compressors, fsync and close; the digests are then known. */
int idx_finish(struct consign_ctx *ctx, struct idx_out *o);
/* Rename file i's temporary file to path (an existing file is replaced). */
int idx_place(struct consign_ctx *ctx, struct idx_out *o, size_t i, const char *path);
/* Remove whatever temporary files are left; accepts a zeroed or finished o. */
void idx_close(struct idx_out *o);

/* The file name suffix of a format ("", ".gz", ".xz", ".zst"). */
const char *idx_suffix(enum idx_fmt fmt);

/* Make dst a hard link to src, replacing dst atomically (a link under a
 * temporary name, then rename); falls back to a copy across file systems. */
int publish_link_replace(struct consign_ctx *ctx, const char *src, const char *dst);

/* Put a copy of file src at dst (created with its parents), keeping src's
 * mtime, through a temporary file and rename. A hard link is used when src
 * and dst share a file system. */
int publish_import(struct consign_ctx *ctx, const char *src, const char *dst);

/* Hard-link src to dst (its directories made as needed) when dst does not
 * exist yet and both share a file system: how add puts packages in the pool
 * while other packages are still being read. *linked says whether it did (sb
 * then describes dst); when not, the caller imports the file later. */
int publish_link_new(struct consign_ctx *ctx, const char *src, const char *dst, struct stat *sb,
                     int *linked);

/* Undo an add's new pool file: unlink path (under root) and the directories
 * it leaves empty. path is changed. */
void publish_unlink_new(const char *root, char *path);

/* Before tmp replaces path: give tmp a modification time later than path's
 * (now, or path's + 1 s when path is as new), so that web servers, which
 * compare Last-Modified in whole seconds, never answer a client's
 * If-Modified-Since with "304 Not Modified" for a file published in the same
 * second as the one it has. */
int publish_newer_mtime(struct consign_ctx *ctx, const char *tmp, const char *path);

/* fsync a directory (after renames in it). */
int publish_sync_dir(struct consign_ctx *ctx, const char *dir);

/* The time stamp a publish uses: SOURCE_DATE_EPOCH when set, else now. */
int publish_now(struct consign_ctx *ctx, long long *out);

/* "Sat, 21 Nov 2026 10:00:00 +0000" (RFC 1123, C locale). */
void publish_rfc1123(long long t, char out[40]);

/* The customer's key files beside the repository: BASE.gpg (binary keyring)
 * and BASE.asc, plus BASE.fingerprint (one grouped fingerprint per line),
 * holding every key of keydir that has not expired or been revoked, the
 * active one first. Each path may be NULL. */
int publish_key_files(struct consign_ctx *ctx, const char *keydir, const char *gpg_path,
                      const char *asc_path, const char *fpr_path);

/* Is url fit for the customer files (http, https or file; no blanks or quotes)? */
int publish_url_ok(struct consign_ctx *ctx, const char *url);

/* Write a small text file atomically (0644). */
int publish_text(struct consign_ctx *ctx, const char *path, const char *text);

/* Is name one of our temporary files (left by a killed publish)? */
int publish_is_tmp(const char *name);

#endif
