/* consign core: safe paths. Everything that lands under an install root or a
 * repository root goes through these checks, so no input can name a file
 * outside it. */
#ifndef CONSIGN_PATH_H
#define CONSIGN_PATH_H

#include <stddef.h>

#include "consign/error.h"

#define CONSIGN_PATH_MAX 4096

/* Normalise an absolute path: collapse "//" and "/./", drop a trailing "/".
 * Refuses relative input, ".." components and over-long paths
 * (CONSIGN_E_UNSAFE_PATH). *out is owned by the caller. */
int consign_path_normalize_abs(struct consign_ctx *ctx, const char *path, char **out);

/* Check a relative path from an archive or index: not empty, not absolute,
 * no ".." component, no NUL, bounded length. */
int consign_path_check_rel(struct consign_ctx *ctx, const char *rel);

/* Join root and an absolute or relative in-root path, refusing escapes.
 * root "" or NULL means the real system root. *out is owned by the caller. */
int consign_path_in_root(struct consign_ctx *ctx, const char *root, const char *path, char **out);

/* Directory part of path, as a new string ("." for a bare name). */
char *consign_path_dirname_dup(struct consign_ctx *ctx, const char *path);

/* Resolve rel against base unless rel is absolute. *out is owned by the caller. */
int consign_path_resolve(struct consign_ctx *ctx, const char *base, const char *rel, char **out);

#endif
