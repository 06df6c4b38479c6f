/* Patches between two releases (consign/delta.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "consign/buf.h"
#include "consign/delta.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/sfx.h"
#include "consign/version.h"

static int
to_buf(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_buf_append(ctx, user, p, n);
}

/* A verified .bin's payload tar, whole, into memory (bounded). */
static int
load_tar(struct consign_ctx *ctx, const char *path, struct consign_buf *tar, char version[128],
         char arch[16], char name[128], char signer[41])
{
    const struct consign_sfx_info *info;
    struct consign_sfx *s = NULL;
    int fd, rc;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return consign_fail_errno(ctx, errno, "%s", path);
    if ((rc = consign_sfx_open(ctx, fd, &s)) || (rc = consign_sfx_verify(ctx, s)))
        goto out;
    info = consign_sfx_info_get(s);
    if (strcmp(info->kind, CONSIGN_SFX_KIND_INSTALLER) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "not an installer (%s)", info->kind);
        goto out;
    }
    if (consign_sfx_header_get(s)->payload_raw > CONSIGN_DELTA_MAX_TAR) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "payload over %llu bytes: no patch",
                          CONSIGN_DELTA_MAX_TAR);
        goto out;
    }
    snprintf(version, 128, "%s", info->version);
    snprintf(arch, 16, "%s", info->arch);
    snprintf(name, 128, "%s", info->name);
    snprintf(signer, 41, "%s", consign_sfx_signer(s));
    rc = consign_sfx_payload(ctx, s, to_buf, tar);
out:
    consign_sfx_free(s);
    close(fd);
    return rc ? consign_err_context(ctx, rc, "%s", path) : 0;
}

struct patch_out {
    const void *data;
    size_t len;
};

static int
write_patch(struct consign_ctx *ctx, int fd, void *user)
{
    struct patch_out *p = user;
    return consign_write_all(ctx, fd, p->data, p->len, "patch");
}

int
consign_delta_make(struct consign_ctx *ctx, const char *old_bin, const char *new_bin, int level,
                   const char *out, struct consign_delta_info *info)
{
    struct consign_buf a, b;
    char oname[128], nname[128], oarch[16], osigner[41];
    unsigned char md[CONSIGN_HASH_MAX];
    ZSTD_CCtx *cc = NULL;
    void *patch = NULL;
    size_t cap, n;
    struct patch_out po;
    int rc;

    memset(info, 0, sizeof(*info));
    consign_buf_init(&a, (size_t)CONSIGN_DELTA_MAX_TAR);
    consign_buf_init(&b, (size_t)CONSIGN_DELTA_MAX_TAR);
    if ((rc = load_tar(ctx, old_bin, &a, info->from_version, oarch, oname, osigner)) ||
        (rc = load_tar(ctx, new_bin, &b, info->version, info->arch, nname, info->signer)))
        goto out;
    if (strcmp(oname, nname) != 0 || strcmp(oarch, info->arch) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s is %s (%s), %s is %s (%s)", old_bin, oname,
                          oarch, new_bin, nname, info->arch);
        goto out;
    }
    if (consign_deb_vercmp(info->from_version, info->version) >= 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s (%s) is not older than %s (%s)", old_bin,
                          info->from_version, new_bin, info->version);
        goto out;
    }
    if ((rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, a.data, a.len, md)))
        goto out;
    consign_hex(md, 32, info->from_sha256);
    info->from_length = a.len;
    if ((rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, b.data, b.len, md)))
        goto out;
    consign_hex(md, 32, info->sha256);
    info->length = b.len;

    cap = ZSTD_compressBound(b.len);
    if (!(cc = ZSTD_createCCtx()) || !(patch = malloc(cap ? cap : 1))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    /* --patch-from: the base is the prefix; the window spans it all. */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level ? level : 19)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog,
                                            (int)consign_delta_window_log(a.len, b.len))) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_enableLongDistanceMatching, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_refPrefix(cc, a.data ? a.data : "", a.len))) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "zstd: patch parameters refused");
        goto out;
    }
    n = ZSTD_compress2(cc, patch, cap, b.data ? b.data : "", b.len);
    if (ZSTD_isError(n)) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(n));
        goto out;
    }
    info->patch_length = n;
    po.data = patch;
    po.len = n;
    rc = consign_file_write_atomic_with(ctx, out, 0644, write_patch, &po);
out:
    ZSTD_freeCCtx(cc);
    free(patch);
    consign_buf_free(&a);
    consign_buf_free(&b);
    return rc ? consign_err_context(ctx, rc, "delta") : 0;
}
