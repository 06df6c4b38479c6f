/* consign core: secrets (passphrases, tokens, proxy passwords). They come
 * from a file or an environment variable, never from argv; they are wiped
 * when freed and never logged. */
#ifndef CONSIGN_SECRET_H
#define CONSIGN_SECRET_H

#include <stddef.h>

#include "consign/error.h"

#define CONSIGN_SECRET_MAX 4096

struct consign_secret {
    char *data; /* NUL-terminated */
    size_t len;
};

/* Read the first line of a file (trailing newline dropped). A file readable
 * by group or others is accepted but logged as a warning. */
int consign_secret_from_file(struct consign_ctx *ctx, const char *path,
                             struct consign_secret **out);
/* CONSIGN_E_NOTFOUND when the variable is unset. */
int consign_secret_from_env(struct consign_ctx *ctx, const char *var, struct consign_secret **out);
void consign_secret_free(struct consign_secret *s);

#endif
