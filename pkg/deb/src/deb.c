/* The .deb writer: control.tar and data.tar through libarchive, compressed by
 * consign_compressor on every core, in an ar archive laid out byte for byte as
 * dpkg-deb lays it out. libarchive errors are translated here and never reach
 * callers raw. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "consign/buf.h"
#include "consign/compress.h"
#include "consign/deb.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/path.h"
#include "consign/pkg.h"

/* control.tar, compressed, in memory: md5sums of a million files still fit. */
#define DEB_CONTROL_MAX (256u << 20)
/* The uncompressed control and md5sums files. */
#define DEB_TEXT_MAX (512u << 20)
#define DEB_BLOCK    65536
/* Fixed compression levels: the output depends on them (and not on the
 * number of threads, see consign/compress.h). xz -6 is dpkg-deb's default;
 * zstd -19 is the strongest level below the "ultra" ones, so its window stays
 * at 8 MiB and unpacking on the target needs little memory. */
#define DEB_XZ_LEVEL   6
#define DEB_ZSTD_LEVEL 19

/* One libarchive writer and where its bytes go: a file descriptor or a
 * buffer, through a compressor for the tar members. */
struct writer {
    struct consign_ctx *ctx;
    struct archive *a;
    struct consign_compressor *z; /* tar: what libarchive writes goes here */
    const char *what;             /* the member or file written, for messages */
    int fd;                       /* -1: append to buf */
    struct consign_buf *buf;      /* when fd is -1 */
    unsigned long long written;   /* bytes to fd or buf (compressed for tar) */
    int sink_rc;                  /* an error the sink has already recorded in ctx */
    int discard;                  /* cleaning up after a failure: drop whatever comes */
};

/* What consign_pkg_write_file's callback needs. */
struct job {
    struct consign_pkg *pkg;
    const char *dir;
    const char *filename;
};

/* A file of control.tar. */
struct member {
    const char *name;
    const char *data;
    size_t len;
    unsigned mode;
};

/* consign_block_fn: bytes for the fd or the buffer (compressed, for tar). */
static int
out_write(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct writer *w = user;
    const char *s = p;
    size_t done = 0;

    if (w->fd < 0) {
        if ((w->sink_rc = consign_buf_append(ctx, w->buf, p, n)))
            return consign_err_context(ctx, w->sink_rc, "writing %s", w->what);
        w->written += n;
        return 0;
    }
    while (done < n) {
        ssize_t k = write(w->fd, s + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return w->sink_rc = consign_fail_errno(ctx, k < 0 ? errno : EIO, "writing %s", w->what);
        done += (size_t)k;
    }
    w->written += n;
    return 0;
}

/* libarchive's write callback: the ar bytes, or the tar bytes to compress. */
static la_ssize_t
sink_write(struct archive *a, void *user, const void *p, size_t n)
{
    struct writer *w = user;
    int rc;

    (void)a;
    if (w->discard)
        return (la_ssize_t)n;
    rc = w->z ? consign_compressor_write(w->ctx, w->z, p, n) : out_write(w->ctx, w, p, n);
    if (rc) {
        /* out_write names the member; a compressor's own failure does not. */
        if (!w->sink_rc)
            w->sink_rc = consign_err_context(w->ctx, rc, "%s", w->what);
        return -1;
    }
    return (la_ssize_t)n;
}

/* Turn a failed libarchive call into a consign error naming what was written. */
static int
writer_fail(struct writer *w)
{
    const char *msg;

    if (w->sink_rc)
        return w->sink_rc;
    if (archive_errno(w->a) == ENOMEM)
        return consign_fail(w->ctx, CONSIGN_E_NOMEM, "%s: out of memory", w->what);
    msg = archive_error_string(w->a);
    return consign_fail(w->ctx, CONSIGN_E_IO, "%s: libarchive: %s", w->what,
                        msg ? msg : "unknown error");
}

/* Open a GNU tar writer (tar != 0), its output compressed as asked, or an
 * ar writer. libarchive itself never compresses: its filters run on one thread. */
static int
writer_open(struct writer *w, int tar, enum consign_pkg_compress compress)
{
    struct archive *a;
    int r, rc;

    if (!(a = w->a = archive_write_new()))
        return consign_fail(w->ctx, CONSIGN_E_NOMEM, NULL);
    if (tar &&
        (rc = consign_compressor_new(
             w->ctx, compress, compress == CONSIGN_COMPRESS_ZSTD ? DEB_ZSTD_LEVEL : DEB_XZ_LEVEL,
             out_write, w, &w->z)))
        return consign_err_context(w->ctx, rc, "%s", w->what);
    /* BSD ar writes names of up to 16 characters as they are, space-padded,
     * with no trailing '/': what dpkg-deb writes. */
    r = tar ? archive_write_set_format_gnutar(a) : archive_write_set_format_ar_bsd(a);
    if (r == ARCHIVE_OK)
        r = archive_write_add_filter_none(a);
    if (r != ARCHIVE_OK)
        return writer_fail(w);
    /* No padding of the last block: the member sizes are exact. */
    if (archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, w, NULL, sink_write, NULL) != ARCHIVE_OK)
        return writer_fail(w);
    return 0;
}

/* Flush everything (the tar trailer, the compressor's tail) and check it was written. */
static int
writer_close(struct writer *w)
{
    int rc;

    if (archive_write_close(w->a) != ARCHIVE_OK)
        return writer_fail(w);
    if (w->z && (rc = consign_compressor_finish(w->ctx, w->z)))
        return w->sink_rc ? rc : consign_err_context(w->ctx, rc, "%s", w->what);
    return 0;
}

static void
writer_free(struct writer *w)
{
    if (!w)
        return;
    if (w->a) {
        /* What close still flushes after a failure is dropped. */
        w->discard = 1;
        archive_write_close(w->a);
        archive_write_free(w->a);
        w->a = NULL;
    }
    consign_compressor_free(w->z);
    w->z = NULL;
}

static int
put_header(struct writer *w, const char *path, unsigned type, unsigned mode,
           unsigned long long size, time_t mtime, const char *link)
{
    struct archive_entry *e = archive_entry_new();
    int r;

    if (!e)
        return consign_fail(w->ctx, CONSIGN_E_NOMEM, NULL);
    archive_entry_copy_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_mtime(e, mtime, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_copy_uname(e, "root");
    archive_entry_copy_gname(e, "root");
    if (link)
        archive_entry_copy_symlink(e, link);
    r = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (r == ARCHIVE_OK)
        return 0;
    r = writer_fail(w);
    return w->sink_rc ? r : consign_err_context(w->ctx, r, "%s", path);
}

static int
put_data(struct writer *w, const void *p, size_t n)
{
    la_ssize_t k;

    if (!n)
        return 0;
    k = archive_write_data(w->a, p, n);
    if (k < 0)
        return writer_fail(w);
    /* libarchive cuts what exceeds the size in the header. */
    if ((size_t)k != n)
        return consign_fail(w->ctx, CONSIGN_E_IO, "changed while being packaged");
    return 0;
}

static int
put_block(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    (void)ctx;
    return put_data(user, p, n);
}

static int
one_line(struct consign_ctx *ctx, const char *field, const char *value)
{
    if (!value || !value[0])
        return consign_fail(ctx, CONSIGN_E_INVALID, "control: %s is empty", field);
    if (strpbrk(value, "\r\n"))
        return consign_fail(ctx, CONSIGN_E_INVALID, "control: %s: more than one line", field);
    return 0;
}

/* The extended description: one space before each line, " ." for a blank
 * line, blank lines at either end dropped, nothing rewrapped. */
static int
put_description(struct consign_ctx *ctx, struct consign_buf *out, const char *text)
{
    size_t blanks = 0, n;
    int started = 0, rc;

    if (strchr(text, '\r'))
        return consign_fail(ctx, CONSIGN_E_INVALID, "control: description: carriage return");
    while (*text) {
        const char *nl = strchr(text, '\n');
        n = nl ? (size_t)(nl - text) : strlen(text);
        if (strspn(text, " \t") >= n) {
            blanks++;
        } else {
            for (; started && blanks; blanks--)
                if ((rc = consign_buf_puts(ctx, out, " .\n")))
                    return rc;
            blanks = 0;
            started = 1;
            if ((rc = consign_buf_printf(ctx, out, " %.*s\n", (int)n, text)))
                return rc;
        }
        text += n + (nl ? 1 : 0);
    }
    return 0;
}

/* Installed-Size as dpkg-gencontrol counts it over the package tree: KiB
 * rounded up per file and symlink, 1 per directory including "./". */
static unsigned long long
installed_kib(const struct consign_pkg *pkg)
{
    unsigned long long kib = 1;
    size_t i;

    for (i = 0; i < pkg->nentries; i++) {
        const struct consign_pkg_entry *e = &pkg->entries[i];
        kib += e->type == CONSIGN_PKG_DIR ? 1 : (e->size + 1023) / 1024;
    }
    return kib;
}

static int
control_text(struct consign_ctx *ctx, const struct consign_pkg *pkg, struct consign_buf *out)
{
    const struct consign_product *p = pkg->product;
    int rc;

    if ((rc = one_line(ctx, "Package", pkg->name)) || (rc = one_line(ctx, "Version", pkg->evr)) ||
        (rc = one_line(ctx, "Architecture", pkg->arch)) ||
        (rc = one_line(ctx, "Maintainer", p->maintainer)) ||
        (rc = one_line(ctx, "Section", p->section)) ||
        (rc = one_line(ctx, "Description", pkg->summary)) ||
        (pkg->depends_name && (rc = one_line(ctx, "Depends", pkg->depends_name))) ||
        (p->homepage && (rc = one_line(ctx, "Homepage", p->homepage))))
        return rc;
    rc = consign_buf_printf(ctx, out,
                            "Package: %s\n"
                            "Version: %s\n"
                            "Architecture: %s\n"
                            "Maintainer: %s\n"
                            "Installed-Size: %llu\n",
                            pkg->name, pkg->evr, pkg->arch, p->maintainer, installed_kib(pkg));
    if (!rc && pkg->depends_name)
        rc = consign_buf_printf(ctx, out, "Depends: %s (= %s)\n", pkg->depends_name, pkg->evr);
    if (!rc)
        rc = consign_buf_printf(ctx, out, "Section: %s\nPriority: optional\n", p->section);
    if (!rc && p->homepage)
        rc = consign_buf_printf(ctx, out, "Homepage: %s\n", p->homepage);
    if (!rc)
        rc = consign_buf_printf(ctx, out, "Description: %s\n", pkg->summary);
    if (!rc && pkg->opts.kind == CONSIGN_PKG_RUNTIME)
        rc = consign_buf_printf(ctx, out,
                                " The runtime that %s runs on; it is used by that agent only.\n"
                                " .\n",
                                p->agent.name);
    if (!rc && p->description)
        rc = put_description(ctx, out, p->description);
    return rc;
}

/* md5sums lists every file but the conffiles (their digests are in dpkg's
 * status), paths without the leading "/", as dh_md5sums writes it. */
static int
md5sums_text(struct consign_ctx *ctx, const struct consign_pkg *pkg, struct consign_buf *md5s,
             struct consign_buf *conffiles)
{
    char hex[33];
    size_t i;
    int rc;

    for (i = 0; i < pkg->nentries; i++) {
        const struct consign_pkg_entry *e = &pkg->entries[i];
        if (e->type != CONSIGN_PKG_FILE)
            continue;
        if (strpbrk(e->path, "\r\n"))
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: a newline in a file name", e->path);
        if (e->config) {
            rc = consign_buf_printf(ctx, conffiles, "%s\n", e->path);
        } else {
            consign_hex(e->md5, 16, hex);
            rc = consign_buf_printf(ctx, md5s, "%s  %s\n", hex, e->path + 1);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int
cmp_member(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

/* control.tar into out: "./" and the control files, sorted by name. */
static int
write_control(struct consign_ctx *ctx, const struct consign_pkg *pkg, const char *what,
              struct consign_buf *out)
{
    struct writer w = {.ctx = ctx, .what = what, .fd = -1, .buf = out};
    struct consign_buf control, md5s, conffiles;
    struct member m[8];
    char path[64];
    size_t i, n = 0;
    int rc;

    consign_buf_init(&control, DEB_TEXT_MAX);
    consign_buf_init(&md5s, DEB_TEXT_MAX);
    consign_buf_init(&conffiles, DEB_TEXT_MAX);
    if ((rc = control_text(ctx, pkg, &control)) || (rc = md5sums_text(ctx, pkg, &md5s, &conffiles)))
        goto out;
    m[n++] = (struct member){"control", control.data, control.len, 0644};
    if (md5s.len)
        m[n++] = (struct member){"md5sums", md5s.data, md5s.len, 0644};
    if (conffiles.len)
        m[n++] = (struct member){"conffiles", conffiles.data, conffiles.len, 0644};
    for (i = 0; i < pkg->nscripts; i++) {
        const char *s = pkg->scripts[i].name;
        if (strcmp(s, "preinst") != 0 && strcmp(s, "postinst") != 0 && strcmp(s, "prerm") != 0 &&
            strcmp(s, "postrm") != 0) {
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "'%s' is not a dpkg maintainer script", s);
            goto out;
        }
        if (n == sizeof(m) / sizeof(m[0])) {
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "too many maintainer scripts");
            goto out;
        }
        m[n++] = (struct member){s, pkg->scripts[i].text, strlen(pkg->scripts[i].text), 0755};
    }
    qsort(m, n, sizeof(m[0]), cmp_member);
    if ((rc = writer_open(&w, 1, pkg->opts.compress)) ||
        (rc = put_header(&w, "./", AE_IFDIR, 0755, 0, pkg->build_time, NULL)))
        goto out;
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "./%s", m[i].name);
        if ((rc = put_header(&w, path, AE_IFREG, m[i].mode, m[i].len, pkg->build_time, NULL)) ||
            (rc = put_data(&w, m[i].data, m[i].len)))
            goto out;
    }
    rc = writer_close(&w);
out:
    writer_free(&w);
    consign_buf_free(&control);
    consign_buf_free(&md5s);
    consign_buf_free(&conffiles);
    return rc;
}

/* data.tar into fd: "./", then every entry of the model in its order. */
static int
write_data(struct consign_ctx *ctx, const struct consign_pkg *pkg, const char *what, int fd,
           unsigned long long *size)
{
    struct writer w = {.ctx = ctx, .what = what, .fd = fd};
    char path[CONSIGN_PATH_MAX + 3];
    size_t i;
    int rc;

    if ((rc = writer_open(&w, 1, pkg->opts.compress)) ||
        (rc = put_header(&w, "./", AE_IFDIR, 0755, 0, pkg->build_time, NULL)))
        goto out;
    for (i = 0; i < pkg->nentries; i++) {
        const struct consign_pkg_entry *e = &pkg->entries[i];
        int dir = e->type == CONSIGN_PKG_DIR;

        if (e->path[0] != '/' ||
            snprintf(path, sizeof(path), ".%s%s", e->path, dir ? "/" : "") >= (int)sizeof(path)) {
            rc = consign_fail(ctx, CONSIGN_E_INVALID,
                              "%s: not an absolute path of at most %d "
                              "bytes",
                              e->path, CONSIGN_PATH_MAX);
            goto out;
        }
        switch (e->type) {
        case CONSIGN_PKG_DIR:
            rc = put_header(&w, path, AE_IFDIR, e->mode, 0, e->mtime, NULL);
            break;
        case CONSIGN_PKG_SYMLINK:
            rc = put_header(&w, path, AE_IFLNK, e->mode, 0, e->mtime, e->link);
            break;
        case CONSIGN_PKG_FILE:
            if ((rc = put_header(&w, path, AE_IFREG, e->mode, e->size, e->mtime, NULL)))
                break;
            /* A read error names the file; a write error is about the archive. */
            if ((rc = consign_pkg_entry_stream(ctx, e, put_block, &w)) && !w.sink_rc)
                rc = consign_err_context(ctx, rc, "%s", e->path);
            break;
        }
        if (rc)
            goto out;
    }
    if (!(rc = writer_close(&w)))
        *size = w.written;
out:
    writer_free(&w);
    return rc;
}

/* An anonymous temporary file in dir (same file system as the package), for
 * data.tar: ar needs its size before its bytes. Nothing is left on a crash. */
static int
open_temp(struct consign_ctx *ctx, const char *dir, int *out)
{
    char *tmp;
    int fd;

    *out = -1;
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) {
        *out = fd;
        return 0;
    }
    /* File systems without O_TMPFILE: a named file, unlinked at once. */
    if (!(tmp = consign_asprintf(ctx, "%s/.consign-deb-data.XXXXXX", dir)))
        return CONSIGN_E_NOMEM;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int rc = consign_fail_errno(ctx, errno, "%s: temporary file", dir);
        free(tmp);
        return rc;
    }
    unlink(tmp);
    free(tmp);
    *out = fd;
    return 0;
}

/* Copy the finished data.tar from the temporary file into the ar member. */
static int
copy_temp(struct consign_ctx *ctx, struct writer *ar, int fd, unsigned long long size)
{
    unsigned char *block;
    unsigned long long left = size;
    int rc = 0;

    if (!(block = malloc(DEB_BLOCK)))
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    if (lseek(fd, 0, SEEK_SET) < 0) {
        rc = consign_fail_errno(ctx, errno, "data.tar: temporary file");
        goto out;
    }
    while (left) {
        ssize_t n = consign_read(fd, block, left < DEB_BLOCK ? (size_t)left : DEB_BLOCK);
        if (n <= 0) {
            rc = n < 0 ? consign_fail_errno(ctx, errno, "data.tar: temporary file")
                       : consign_fail(ctx, CONSIGN_E_IO, "data.tar: temporary file truncated");
            goto out;
        }
        if ((rc = put_data(ar, block, (size_t)n)))
            goto out;
        left -= (unsigned long long)n;
    }
out:
    free(block);
    return rc;
}

/* consign_pkg_writer_fn: the whole .deb into fd. */
static int
write_deb(struct consign_ctx *ctx, int fd, void *user)
{
    const struct job *j = user;
    const struct consign_pkg *pkg = j->pkg;
    const char *ext = pkg->opts.compress == CONSIGN_COMPRESS_ZSTD ? "zst" : "xz";
    struct writer ar = {.ctx = ctx, .what = "the package", .fd = fd};
    struct consign_buf control;
    unsigned long long data_size = 0;
    char control_name[32], data_name[32];
    int tmp = -1, rc;

    snprintf(control_name, sizeof(control_name), "control.tar.%s", ext);
    snprintf(data_name, sizeof(data_name), "data.tar.%s", ext);
    consign_buf_init(&control, DEB_CONTROL_MAX);
    if ((rc = write_control(ctx, pkg, control_name, &control)) ||
        (rc = open_temp(ctx, j->dir, &tmp)) ||
        (rc = write_data(ctx, pkg, data_name, tmp, &data_size)))
        goto out;
    if ((rc = writer_open(&ar, 0, pkg->opts.compress)) ||
        (rc = put_header(&ar, "debian-binary", AE_IFREG, 0644, 4, pkg->build_time, NULL)) ||
        (rc = put_data(&ar, "2.0\n", 4)) ||
        (rc = put_header(&ar, control_name, AE_IFREG, 0644, control.len, pkg->build_time, NULL)) ||
        (rc = put_data(&ar, control.data, control.len)) ||
        (rc = put_header(&ar, data_name, AE_IFREG, 0644, data_size, pkg->build_time, NULL)) ||
        (rc = copy_temp(ctx, &ar, tmp, data_size)))
        goto out;
    rc = writer_close(&ar);
out:
    writer_free(&ar);
    if (tmp >= 0)
        close(tmp);
    consign_buf_free(&control);
    return rc;
}

int
consign_deb_write(struct consign_ctx *ctx, struct consign_pkg *pkg, const char *dir,
                  char **out_path)
{
    struct job j = {.pkg = pkg, .dir = dir};
    char *filename = NULL;
    int rc;

    if (out_path)
        *out_path = NULL;
    if (pkg->opts.format != CONSIGN_PKG_DEB)
        return consign_fail(ctx, CONSIGN_E_USAGE, "%s: not a package model for .deb", pkg->name);
    if (!(filename = consign_pkg_filename(ctx, pkg))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    j.filename = filename;
    if ((rc = consign_pkg_digest(ctx, pkg)) ||
        (rc = consign_pkg_write_file(ctx, dir, filename, write_deb, &j))) {
        consign_err_context(ctx, rc, "%s", filename);
        goto out;
    }
    if (out_path && !(*out_path = consign_asprintf(ctx, "%s/%s", dir, filename)))
        rc = CONSIGN_E_NOMEM;
out:
    free(filename);
    return rc;
}
