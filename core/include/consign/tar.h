/* consign core: a bounded tar writer and push reader, libc only (they are
 * linked into the static on-target installer).
 *
 * The writer makes deterministic POSIX ustar: owner root:root (0/0), the
 * given mtime and permission bits, and a pax 'x' extended header only for
 * what ustar cannot hold (a path beyond name/prefix, a link target over 100
 * bytes, a size of 8 GiB or more). GNU tar and bsdtar read it.
 *
 * The reader is a push parser: feed it the archive in chunks of any size and
 * it calls back for each entry and its data. It holds one 512-byte header and
 * at most one bounded extended header, checks every header (checksum, magic,
 * strict numeric fields), every path (relative, no "..") and the caller's
 * limits. It reads ustar, pax ('x' records path, linkpath, size, mtime and
 * consign's CONSIGN.filter=x86, whose filter it undoes before the data
 * callback; 'g' skipped) and GNU ('L'/'K' long names) archives.
 *
 * Errors name the entry: "tar: entry 12 'opt/x/y': ...". Malformed archives
 * fail with CONSIGN_E_SYNTAX, unsafe paths with CONSIGN_E_UNSAFE_PATH,
 * exceeded limits with CONSIGN_E_TOOBIG. */
#ifndef CONSIGN_TAR_H
#define CONSIGN_TAR_H

#include <stddef.h>

#include "consign/error.h"
#include "consign/fileio.h"

#define CONSIGN_TAR_BLOCK   512
#define CONSIGN_TAR_PAX_MAX (64u << 10) /* bytes of one 'x' or 'g' extended header */
#define CONSIGN_TAR_META_MAX (64ULL << 20) /* bytes of all extended headers of an archive */

#define CONSIGN_TAR_DEFAULT_MAX_TOTAL   (4ULL << 30)
#define CONSIGN_TAR_DEFAULT_MAX_ENTRIES 1000000ULL

/* --- writer ------------------------------------------------------------------ */

struct consign_tar_writer;

/* A writer that passes every block it makes to sink (consign/fileio.h); a
 * non-zero return from sink fails the call that wrote and every later one. */
int consign_tar_writer_new(struct consign_ctx *ctx, consign_block_fn sink, void *user,
                           struct consign_tar_writer **out);

/* Paths are relative and normal ("opt/x/lib/a.jar": no leading '/', no "."
 * or ".." component, no empty component, no trailing '/'); anything else is
 * CONSIGN_E_INVALID or CONSIGN_E_UNSAFE_PATH. Only the permission bits
 * (07777) of mode are written. mtime is seconds since the epoch, 0 to
 * 8589934591 (CONSIGN_E_INVALID otherwise). */

/* A directory entry (written "path/", as GNU tar does). */
int consign_tar_write_dir(struct consign_ctx *ctx, struct consign_tar_writer *w, const char *path,
                          unsigned mode, long long mtime);

/* A symbolic link to target (not empty, at most CONSIGN_PATH_MAX bytes; not
 * judged: readers decide what targets they accept). Written with mode 0777. */
int consign_tar_write_symlink(struct consign_ctx *ctx, struct consign_tar_writer *w,
                              const char *path, const char *target, long long mtime);

/* Start a regular file of exactly size bytes: write them with
 * consign_tar_write_data, then call consign_tar_write_file_end. No other
 * entry may be written in between (CONSIGN_E_USAGE). */
int consign_tar_write_file_begin(struct consign_ctx *ctx, struct consign_tar_writer *w,
                                 const char *path, unsigned mode, unsigned long long size,
                                 long long mtime);

/* Flags of consign_tar_write_file_begin_ext. */
#define CONSIGN_TAR_X86 0x1u /* the data goes through the x86 filter (consign/x86filter.h),
                                marked by a pax record CONSIGN.filter=x86 */

/* consign_tar_write_file_begin with flags (0 or CONSIGN_TAR_X86). The
 * filter keeps the size; consign_tar_write_data takes the file's own bytes.
 * Only consign's reader undoes the filter: other tar programs extract such
 * a file with its branches rewritten. */
int consign_tar_write_file_begin_ext(struct consign_ctx *ctx, struct consign_tar_writer *w,
                                     const char *path, unsigned mode, unsigned long long size,
                                     long long mtime, unsigned flags);

/* Data of the open file, in any number of calls. More bytes than declared
 * fail with CONSIGN_E_INVALID (and the writer is unusable afterwards). */
int consign_tar_write_data(struct consign_ctx *ctx, struct consign_tar_writer *w, const void *p,
                           size_t n);

/* Close the open file: fails with CONSIGN_E_INVALID if fewer bytes than
 * declared were written, else pads the data to a 512-byte block. */
int consign_tar_write_file_end(struct consign_ctx *ctx, struct consign_tar_writer *w);

/* End the archive with two zero blocks. No file may be open. */
int consign_tar_writer_finish(struct consign_ctx *ctx, struct consign_tar_writer *w);

/* Accepts NULL. Writes nothing. */
void consign_tar_writer_free(struct consign_tar_writer *w);

/* --- reader ------------------------------------------------------------------ */

enum consign_tar_type {
    CONSIGN_TAR_FILE,     /* '0', '\0', '7' (contiguous, as GNU tar treats it) */
    CONSIGN_TAR_DIR,      /* '5' */
    CONSIGN_TAR_SYMLINK,  /* '2' */
    CONSIGN_TAR_HARDLINK, /* '1' */
    CONSIGN_TAR_OTHER,    /* '3' char device, '4' block device, '6' fifo, GNU 'S', ... */
};

struct consign_tar_entry {
    /* Normal relative form: no leading "./" or '/', no "." or empty component,
     * no trailing '/'. The archive's own root ("./" or ".") is "." and is
     * only accepted as a directory. Checked with consign_path_check_rel. */
    const char *path;
    enum consign_tar_type type;
    char typeflag;           /* the header's byte */
    unsigned mode;           /* all 12 permission bits (07777) of the header */
    unsigned long long size; /* data bytes that follow (0 for directories and symlinks) */
    long long mtime;         /* seconds; a pax mtime's fraction is dropped (floor) */
    const char *link; /* symlink or hardlink target as written, not judged; NULL for others */
    unsigned long long index; /* 1 for the first entry (extended headers are not entries) */
};

/* A zero field means its default. */
struct consign_tar_limits {
    unsigned long long max_total;   /* sum of the entries' data sizes (what extraction
                                       writes); default CONSIGN_TAR_DEFAULT_MAX_TOTAL.
                                       Extended headers have their own bound,
                                       CONSIGN_TAR_META_MAX */
    unsigned long long max_entries; /* default CONSIGN_TAR_DEFAULT_MAX_ENTRIES */
    size_t max_path;                /* bytes of a path or link target; default CONSIGN_PATH_MAX */
};

/* Any callback may be NULL. A non-zero return stops the reader with that
 * code; the message gets the entry as context. Strings in the entry are
 * borrowed until entry_end returns. */
struct consign_tar_callbacks {
    /* Each entry, after its header and extended headers were checked. */
    int (*entry)(struct consign_ctx *ctx, void *user, const struct consign_tar_entry *e);
    /* A regular file's data, in order, exactly e->size bytes in total. Data
     * of other entry types (hardlinks, devices...) is skipped. */
    int (*data)(struct consign_ctx *ctx, void *user, const void *p, size_t n);
    /* After the last data byte (at once for an entry without data). */
    int (*entry_end)(struct consign_ctx *ctx, void *user);
};

struct consign_tar_reader;

/* lim NULL: the defaults. cb is copied. */
int consign_tar_reader_new(struct consign_ctx *ctx, const struct consign_tar_limits *lim,
                           const struct consign_tar_callbacks *cb, void *user,
                           struct consign_tar_reader **out);

/* Bytes of the archive, split anywhere (one byte at a time works). After the
 * end-of-archive marker (two zero blocks) only zero bytes are accepted. After
 * a failure every call fails. */
int consign_tar_reader_feed(struct consign_ctx *ctx, struct consign_tar_reader *r, const void *p,
                            size_t n);

/* The archive is complete: fails (CONSIGN_E_SYNTAX) unless the end-of-archive
 * marker was seen, which also means no entry was cut short. */
int consign_tar_reader_finish(struct consign_ctx *ctx, struct consign_tar_reader *r);

/* Entries seen so far. */
unsigned long long consign_tar_reader_entries(const struct consign_tar_reader *r);

/* Accepts NULL. */
void consign_tar_reader_free(struct consign_tar_reader *r);

#endif
