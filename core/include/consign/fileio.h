/* consign core: bounded reads, atomic writes, directory creation. */
#ifndef CONSIGN_FILEIO_H
#define CONSIGN_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "consign/error.h"

/* read(2) that retries on EINTR: bytes read, 0 at end of file, -1 with errno set. */
ssize_t consign_read(int fd, void *buf, size_t n);

/* write(2) all of n bytes, retrying on EINTR; errors name what was being written. */
int consign_write_all(struct consign_ctx *ctx, int fd, const void *p, size_t n, const char *what);

/* Fill a new file through writer and put it in place atomically: a temporary
 * file in the same directory, created with mode, fsync'ed, renamed over path,
 * the directory fsync'ed. On failure nothing is left and the old file stays. */
typedef int (*consign_file_writer_fn)(struct consign_ctx *ctx, int fd, void *user);
int consign_file_write_atomic_with(struct consign_ctx *ctx, const char *path, mode_t mode,
                                   consign_file_writer_fn writer, void *user);

/* Called with each block of a streamed file; a non-zero return stops the stream. */
typedef int (*consign_block_fn)(struct consign_ctx *ctx, void *user, const void *p, size_t n);

/* Stream a file to fn in blocks of at most 64 KiB, never holding it whole.
 * *size (may be NULL) receives the number of bytes read. */
int consign_file_stream(struct consign_ctx *ctx, const char *path, consign_block_fn fn, void *user,
                        unsigned long long *size);

/* Read a whole file of at most cap bytes. *buf is NUL-terminated and owned by the caller. */
int consign_file_read(struct consign_ctx *ctx, const char *path, size_t cap, char **buf,
                      size_t *len);

/* Write a file atomically: a temporary file in the same directory, created
 * with `mode` from the start (never chmod'ed after the data), fsync'ed, renamed
 * over path, and the directory fsync'ed. On failure the old file is untouched. */
int consign_file_write_atomic(struct consign_ctx *ctx, const char *path, const void *data,
                              size_t len, mode_t mode);

/* Copy a regular file, keeping its permission bits unless mode != (mode_t)-1. */
int consign_file_copy(struct consign_ctx *ctx, const char *src, const char *dst, mode_t mode);

/* mkdir -p: missing parents are created 0755, the last directory with mode.
 * Existing directories are left as they are. */
int consign_mkdirs(struct consign_ctx *ctx, const char *path, mode_t mode);

/* Copy a file or a directory tree (regular files, directories, symlinks; other
 * types refused) to dst, keeping permission bits unless mode != (mode_t)-1,
 * in which case regular files get mode. Parents of dst are created 0755. */
int consign_copy_tree(struct consign_ctx *ctx, const char *src, const char *dst, mode_t mode);

/* Is it a directory / a regular file? (No error recorded.) */
int consign_is_dir(const char *path);
int consign_is_file(const char *path);

#endif
