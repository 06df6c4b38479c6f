/* consign delta: patches between two releases, for delta updates.
 *
 * A patch turns the payload tar of one .bin (the base, which an installed
 * agent keeps: consign/sfx_install.h CONSIGN_BASE_TAR) into the payload tar
 * of a newer .bin. It is a zstd frame compressed with the whole base as its
 * prefix (`zstd --patch-from`), the window raised to cover the base and
 * long-distance matching on, so unchanged files cost almost nothing. The
 * updater applies it only when its base's SHA-256 is the one the patch
 * records, and checks the result against the SHA-256 recorded for the new
 * tar; both are signed in the TUF targets metadata (the patch target's
 * custom "patch" object), so a patch is trusted exactly as a full release. */
#ifndef CONSIGN_DELTA_H
#define CONSIGN_DELTA_H

#include "consign/error.h"

#define CONSIGN_DELTA_MAX_TAR (2ULL << 30) /* a base or result larger is not patched */

struct consign_delta_info {
    char from_version[128];    /* the base .bin's version ("1.0.0-1") */
    char from_sha256[65];      /* of the base's payload tar */
    unsigned long long from_length;
    char version[128];         /* the new .bin's version */
    char sha256[65];           /* of the new payload tar */
    unsigned long long length;
    char signer[41];           /* the new .bin's signer */
    char arch[16];
    unsigned long long patch_length;
};

/* Verify both .bins (the same product and architecture, the old one older),
 * and write the patch to out atomically. level: zstd 1..19 (0: 19). */
int consign_delta_make(struct consign_ctx *ctx, const char *old_bin, const char *new_bin, int level,
                       const char *out, struct consign_delta_info *info);

/* The zstd window a patch of these sizes needs (log2), for both sides:
 * base and result together, at most 2^31. */
static inline unsigned
consign_delta_window_log(unsigned long long base, unsigned long long result)
{
    unsigned long long need = base + result;
    unsigned w = 10;

    while (w < 31 && (1ULL << w) < need)
        w++;
    return w;
}

#endif
