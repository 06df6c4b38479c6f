/* The rpm payload: a cpio (newc) archive through libarchive, compressed by
 * consign_compressor with xz or zstd at a fixed level on every core; the
 * output does not depend on the number of cores, so it is reproducible. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "consign/buf.h"
#include "consign/compress.h"
#include "consign/hash.h"
#include "consign/path.h"
#include "rpm_private.h"

/* Fixed compression levels (PAYLOADFLAGS): the output depends on them. */
#define RPM_XZ_LEVEL   2
#define RPM_ZSTD_LEVEL 19
#define STR_(x)        #x
#define STR(x)         STR_(x)

/* Where libarchive's cpio goes: the compressor, then the temporary file and a
 * running SHA-256 of the compressed bytes. */
struct sink {
    struct consign_ctx *ctx;
    struct consign_compressor *z;
    int fd;
    struct consign_hash *sha256;
    unsigned long long cpio_len; /* uncompressed bytes */
    unsigned long long len;      /* compressed bytes */
    int rc;                      /* our own failure, recorded in ctx (libarchive only sees -1) */
};

/* One file's bytes on their way into the archive, hashed as they pass. */
struct feed {
    struct archive *a;
    struct sink *sink;
    struct consign_hash *sha256;
};

int
consign__rpm_listed(const struct consign_pkg_entry *e)
{
    return e->type != CONSIGN_PKG_DIR || e->owned;
}

/* consign_block_fn: compressed bytes into the temporary file and the hash. */
static int
out_write(struct consign_ctx *ctx, void *user, const void *buf, size_t n)
{
    struct sink *s = user;
    int rc;

    if ((rc = consign_write_all(ctx, s->fd, buf, n, "writing the rpm payload")) ||
        (rc = consign_hash_update(ctx, s->sha256, buf, n)))
        return s->rc = rc;
    s->len += n;
    return 0;
}

/* libarchive's write callback: the cpio stream, to be compressed. */
static la_ssize_t
sink_write(struct archive *a, void *user, const void *buf, size_t n)
{
    struct sink *s = user;
    int rc;

    /* out_write's failures say what they are; the compressor's own do not. */
    if (!s->rc && (rc = consign_compressor_write(s->ctx, s->z, buf, n)) && !s->rc)
        s->rc = consign_err_context(s->ctx, rc, "rpm payload");
    if (!s->rc) {
        s->cpio_len += n;
        return (la_ssize_t)n;
    }
    archive_set_error(a, EIO, "payload write failed");
    return -1;
}

/* Translate a libarchive failure; our sink's own error, when there is one,
 * already says what went wrong. */
static int
la_fail(struct consign_ctx *ctx, struct archive *a, const struct sink *s, const char *what)
{
    const char *msg = archive_error_string(a);

    if (s && s->rc)
        return s->rc;
    return consign_fail(ctx, CONSIGN_E_IO, "rpm payload: %s: libarchive: %s", what,
                        msg ? msg : "unknown error");
}

static int
feed_block(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct feed *f = user;
    la_ssize_t w = archive_write_data(f->a, p, n);

    if (w < 0 || (size_t)w != n)
        return la_fail(ctx, f->a, f->sink, "writing file data");
    return consign_hash_update(ctx, f->sha256, p, n);
}

/* libarchive with a fixed configuration: newc, unblocked, uncompressed
 * output (s->z compresses it), and the compressor for c at its fixed level. */
static int
setup(struct consign_ctx *ctx, struct archive *a, enum consign_pkg_compress c, struct sink *s,
      struct consign__rpm_payload *out)
{
    int zstd = c == CONSIGN_COMPRESS_ZSTD, rc;

    if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
        archive_write_add_filter_none(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK)
        return la_fail(ctx, a, NULL, "setting up cpio");
    out->compressor = zstd ? "zstd" : "xz";
    out->flags = zstd ? STR(RPM_ZSTD_LEVEL) : STR(RPM_XZ_LEVEL);
    if ((rc = consign_compressor_new(ctx, c, zstd ? RPM_ZSTD_LEVEL : RPM_XZ_LEVEL, out_write, s,
                                     &s->z)))
        return consign_err_context(ctx, rc, "rpm payload");
    return 0;
}

static int
add_entry(struct consign_ctx *ctx, struct archive *a, struct archive_entry *ae,
          struct consign_pkg_entry *e, unsigned long ino, struct sink *s, struct consign_hash *h)
{
    char name[CONSIGN_PATH_MAX + 2];
    unsigned char d[CONSIGN_HASH_MAX];
    struct feed f = {a, s, h};
    int rc;

    if (snprintf(name, sizeof(name), ".%s", e->path) >= (int)sizeof(name))
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: path too long", e->path);
    archive_entry_clear(ae);
    archive_entry_set_pathname(ae, name);
    archive_entry_set_ino64(ae, (la_int64_t)ino);
    archive_entry_set_nlink(ae, 1);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    archive_entry_set_mtime(ae, e->mtime > 0 ? e->mtime : 0, 0);
    archive_entry_set_perm(ae, e->mode & 07777);
    archive_entry_set_size(ae, 0);
    switch (e->type) {
    case CONSIGN_PKG_DIR:
        archive_entry_set_filetype(ae, AE_IFDIR);
        break;
    case CONSIGN_PKG_SYMLINK:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e->link);
        break;
    case CONSIGN_PKG_FILE:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, (la_int64_t)e->size);
        break;
    }
    if (archive_write_header(a, ae) != ARCHIVE_OK)
        return la_fail(ctx, a, s, e->path);
    if (e->type != CONSIGN_PKG_FILE)
        return 0;
    if ((rc = consign_pkg_entry_stream(ctx, e, feed_block, &f)) ||
        (rc = consign_hash_final(ctx, h, d)))
        return consign_err_context(ctx, rc, "%s", e->path);
    memcpy(e->sha256, d, 32);
    return 0;
}

int
consign__rpm_payload_write(struct consign_ctx *ctx, struct consign_pkg *pkg, const char *dir,
                           struct consign__rpm_payload *out)
{
    struct sink s = {.ctx = ctx, .fd = -1};
    struct consign_hash *file_sha = NULL;
    struct archive *a = NULL;
    struct archive_entry *ae = NULL;
    unsigned char d[CONSIGN_HASH_MAX];
    unsigned long ino = 0;
    char *tmp = NULL;
    size_t i;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->fd = -1;
    if (!(tmp = consign_asprintf(ctx, "%s/.%s.payload.XXXXXX", dir, pkg->name)))
        return CONSIGN_E_NOMEM;
    /* Unlinked at once: nothing is left behind, whatever happens next. */
    s.fd = mkostemp(tmp, O_CLOEXEC);
    if (s.fd < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", dir);
        goto out;
    }
    unlink(tmp);
    if ((rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &s.sha256)) ||
        (rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &file_sha)))
        goto out;
    if (!(a = archive_write_new()) || !(ae = archive_entry_new())) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    if ((rc = setup(ctx, a, pkg->opts.compress, &s, out)))
        goto out;
    if (archive_write_open(a, &s, NULL, sink_write, NULL) != ARCHIVE_OK) {
        rc = la_fail(ctx, a, &s, "opening the archive");
        goto out;
    }
    for (i = 0; i < pkg->nentries; i++) {
        if (!consign__rpm_listed(&pkg->entries[i]))
            continue;
        if ((rc = add_entry(ctx, a, ae, &pkg->entries[i], ++ino, &s, file_sha)))
            goto out;
    }
    if (archive_write_close(a) != ARCHIVE_OK) {
        rc = la_fail(ctx, a, &s, "finishing the archive");
        goto out;
    }
    if ((rc = consign_compressor_finish(ctx, s.z))) {
        if (!s.rc)
            consign_err_context(ctx, rc, "rpm payload");
        goto out;
    }
    out->cpio_len = s.cpio_len;
    out->len = s.len;
    if ((rc = consign_hash_final(ctx, s.sha256, d)))
        goto out;
    consign_hex(d, 32, out->sha256);
    out->fd = s.fd;
    s.fd = -1;
out:
    if (a)
        archive_write_free(a);
    consign_compressor_free(s.z);
    archive_entry_free(ae);
    consign_hash_free(s.sha256);
    consign_hash_free(file_sha);
    if (s.fd >= 0)
        close(s.fd);
    free(tmp);
    return rc;
}
