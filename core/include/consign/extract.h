/* consign core: safe extraction of a tar stream into an existing, empty
 * staging directory, libc only (it runs in the static on-target installer).
 *
 * Nothing is ever written outside the directory: it is opened once, and for
 * every entry each path component is opened with openat(O_DIRECTORY |
 * O_NOFOLLOW), so no symlink (from an earlier entry or planted meanwhile) is
 * ever traversed. Files are created O_EXCL | O_NOFOLLOW with their mode set
 * before any data is written; directories named by entries get their mode
 * and mtime at finish, so a read-only directory does not block later files.
 *
 * Refused, with the entry in the message ("tar: entry 3 'a/b': ..."):
 *   CONSIGN_E_UNSAFE_PATH  absolute or ".." paths, a path through a symlink
 *                          ("symlink in path"), hardlinks, symlinks whose
 *                          target is absolute or climbs out of the directory
 *   CONSIGN_E_INVALID      devices, fifos and other special entries;
 *                          setuid/setgid modes unless allow_setid
 *   CONSIGN_E_EXISTS       a second entry for a file or symlink, a directory
 *                          where a file is, and the reverse
 *   CONSIGN_E_TOOBIG       more data or entries than the limits allow
 *   CONSIGN_E_SYNTAX       a malformed or truncated archive (consign/tar.h)
 * On any failure the caller removes the staging directory, for instance with
 * consign_extract_remove_tree. */
#ifndef CONSIGN_EXTRACT_H
#define CONSIGN_EXTRACT_H

#include <stddef.h>

#include "consign/error.h"
#include "consign/tar.h"

struct consign_extract_opts {
    int allow_setid;                /* 0 (default): setuid and setgid modes are refused */
    int sync;                       /* 1: everything is on disk (syncfs) before finish returns */
    unsigned long long max_total;   /* data bytes; 0: CONSIGN_TAR_DEFAULT_MAX_TOTAL */
    unsigned long long max_entries; /* 0: CONSIGN_TAR_DEFAULT_MAX_ENTRIES */
};

struct consign_extract;

/* Extract into dir, which must exist, be a directory (not a symlink to one)
 * and be empty (CONSIGN_E_EXISTS otherwise). o NULL: the defaults. */
int consign_extract_new(struct consign_ctx *ctx, const char *dir,
                        const struct consign_extract_opts *o, struct consign_extract **out);

/* Bytes of the tar stream, split anywhere. After a failure every call fails. */
int consign_extract_feed(struct consign_ctx *ctx, struct consign_extract *x, const void *p,
                         size_t n);

/* The stream is complete: checks the end-of-archive marker, gives explicit
 * directories their mode and mtime (deepest first), and with o->sync flushes
 * the file system. Only a 0 return means the tree is complete. */
int consign_extract_finish(struct consign_ctx *ctx, struct consign_extract *x);

/* Regular files created, and data bytes written, so far. */
unsigned long long consign_extract_files(const struct consign_extract *x);
unsigned long long consign_extract_bytes(const struct consign_extract *x);

/* Accepts NULL. Closes what is open; removes nothing. */
void consign_extract_free(struct consign_extract *x);

/* The extractor's policy for one entry, without touching the disk (also
 * used by the fuzz target): o NULL means the defaults. Refuses hardlinks,
 * devices, fifos and other special types, setuid/setgid unless allowed, the
 * archive root "." as anything but a directory, and symlink targets that are
 * absolute or, resolved lexically from the link's directory, leave the tree.
 * A target may only climb ("..") at its start: "../../lib/x" is accepted
 * from deep enough, "a/../x" is refused, so a chain of links cannot climb
 * out through one another either. */
int consign_extract_check_entry(struct consign_ctx *ctx, const struct consign_tar_entry *e,
                                const struct consign_extract_opts *o);

/* Delete dir and everything under it without following symlinks (each level
 * opened with O_NOFOLLOW, entries removed with unlinkat) and without crossing
 * into another file system. Directories are made writable by their owner
 * first. A missing dir is not an error; "/" is refused. Holds a bounded
 * number of descriptors however deep the tree is. */
int consign_extract_remove_tree(struct consign_ctx *ctx, const char *dir);

#endif
