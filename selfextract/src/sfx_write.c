/* Building a .bin: stub, zstd payload, info block, signed M, key, footer.
 * One pass: every byte is hashed as it is written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "consign/buf.h"
#include "consign/hash.h"
#include "consign/keys.h"
#include "consign/pkg.h"
#include "consign/product.h"
#include "consign/sfx.h"
#include "consign/tar.h"
#include "consign/x86filter.h"
#include "sfx_private.h"

#define NAME_BUF 512

struct out {
    int fd;
    struct consign_hash *h;
    unsigned long long off;
    ZSTD_CCtx *z;
    unsigned char *zbuf;
    size_t zcap;
    unsigned long long raw;
    /* v2: the chunk being hashed, and the table of finished chunks' digests */
    int chunking;
    size_t chunk_fill;
    struct consign_buf table;
};

/* End the chunk being hashed (at CONSIGN_SFX_CHUNK bytes, or at the end of
 * the stub and of the payload: each region starts a new chunk). */
static int
chunk_end(struct consign_ctx *ctx, struct out *o)
{
    unsigned char md[CONSIGN_HASH_MAX];
    int rc;

    if (!o->chunk_fill)
        return 0;
    if ((rc = consign_hash_final(ctx, o->h, md)) ||
        (rc = consign_buf_append(ctx, &o->table, md, 32)))
        return rc;
    consign_hash_free(o->h);
    o->h = NULL;
    o->chunk_fill = 0;
    return consign_hash_new(ctx, CONSIGN_HASH_SHA256, &o->h);
}

static int
out_write(struct consign_ctx *ctx, struct out *o, const void *p, size_t n)
{
    const unsigned char *c = p;
    size_t done = 0;
    int rc;

    if ((rc = consign_write_all(ctx, o->fd, p, n, "installer")))
        return rc;
    o->off += n;
    while (o->chunking && done < n) {
        size_t take = CONSIGN_SFX_CHUNK - o->chunk_fill;
        if (take > n - done)
            take = n - done;
        if ((rc = consign_hash_update(ctx, o->h, c + done, take)))
            return rc;
        o->chunk_fill += take;
        done += take;
        if (o->chunk_fill == CONSIGN_SFX_CHUNK && (rc = chunk_end(ctx, o)))
            return rc;
    }
    return 0;
}

static int
z_push(struct consign_ctx *ctx, struct out *o, const void *p, size_t n, ZSTD_EndDirective end)
{
    ZSTD_inBuffer in = {p, n, 0};
    int rc;

    for (;;) {
        ZSTD_outBuffer ob = {o->zbuf, o->zcap, 0};
        size_t left = ZSTD_compressStream2(o->z, &ob, &in, end);
        if (ZSTD_isError(left))
            return consign_fail(ctx, CONSIGN_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(left));
        if (ob.pos && (rc = out_write(ctx, o, o->zbuf, ob.pos)))
            return rc;
        if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
            return 0;
    }
}

/* Tar bytes arrive here and leave compressed. */
static int
tar_sink(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct out *o = user;

    o->raw += n;
    return z_push(ctx, o, p, n, ZSTD_e_continue);
}

static int
copy_fd(struct consign_ctx *ctx, struct out *o, const char *path, unsigned long long *size)
{
    unsigned char buf[64 * 1024];
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
    unsigned long long n = 0;

    if (fd < 0)
        return consign_fail_errno(ctx, errno, "%s", path);
    for (;;) {
        ssize_t got = consign_read(fd, buf, sizeof(buf));
        if (got < 0) {
            rc = consign_fail_errno(ctx, errno, "read %s", path);
            break;
        }
        if (got == 0)
            break;
        if ((rc = out_write(ctx, o, buf, (size_t)got)))
            break;
        n += (unsigned long long)got;
    }
    close(fd);
    *size = n;
    return rc;
}

static int
under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

struct stats {
    unsigned long long files, entries;
};

static int
entry_block(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_tar_write_data(ctx, user, p, n);
}

/* x86 machine code (ELF objects: the runtime's libjvm.so is most of a
 * payload) goes through the branch filter, which makes it compress about 6%
 * smaller; an unreadable file is left to the stream to report. */
static unsigned
file_flags(const struct consign_pkg_entry *e)
{
    unsigned char head[20];
    size_t n = 0;

    if (e->size < 64)
        return 0;
    if (e->data) {
        memcpy(head, e->data, sizeof(head));
        n = sizeof(head);
    } else if (e->src) {
        int fd = open(e->src, O_RDONLY | O_CLOEXEC);
        ssize_t got;
        if (fd < 0)
            return 0;
        got = consign_read(fd, head, sizeof(head));
        close(fd);
        n = got > 0 ? (size_t)got : 0;
    }
    return consign_x86f_wanted(head, n) ? CONSIGN_TAR_X86 : 0;
}

/* One package model's entries that a .bin install places. */
static int
add_pkg(struct consign_ctx *ctx, const struct consign_pkg *pkg, struct consign_tar_writer *w,
        struct stats *st)
{
    const char *name = pkg->product->name;
    char opt[NAME_BUF], etc[NAME_BUF], unit[NAME_BUF], initd[NAME_BUF];
    char upd[NAME_BUF], timer[NAME_BUF], rot[NAME_BUF];
    size_t i;
    int rc = 0;

    snprintf(opt, sizeof(opt), "/opt/%s", name);
    snprintf(etc, sizeof(etc), "/etc/opt/%s", name);
    snprintf(unit, sizeof(unit), "/lib/systemd/system/%s.service", name);
    snprintf(upd, sizeof(upd), "/lib/systemd/system/%s-update.service", name);
    snprintf(timer, sizeof(timer), "/lib/systemd/system/%s-update.timer", name);
    snprintf(initd, sizeof(initd), "/etc/init.d/%s", name);
    snprintf(rot, sizeof(rot), "/etc/logrotate.d/%s", name);
    for (i = 0; !rc && i < pkg->nentries; i++) {
        const struct consign_pkg_entry *e = &pkg->entries[i];
        const char *rel = e->path + 1;
        if (!under(e->path, opt) && !under(e->path, etc) && strcmp(e->path, unit) != 0 &&
            strcmp(e->path, upd) != 0 && strcmp(e->path, timer) != 0 &&
            strcmp(e->path, initd) != 0 && strcmp(e->path, rot) != 0)
            continue;
        st->entries++;
        switch (e->type) {
        case CONSIGN_PKG_DIR:
            rc = consign_tar_write_dir(ctx, w, rel, e->mode, (long long)e->mtime);
            break;
        case CONSIGN_PKG_SYMLINK:
            rc = consign_tar_write_symlink(ctx, w, rel, e->link, (long long)e->mtime);
            break;
        case CONSIGN_PKG_FILE:
            st->files += e->size;
            if (!(rc = consign_tar_write_file_begin_ext(ctx, w, rel, e->mode, e->size,
                                                        (long long)e->mtime, file_flags(e))) &&
                !(rc = consign_pkg_entry_stream(ctx, e, entry_block, w)))
                rc = consign_tar_write_file_end(ctx, w);
            break;
        }
        if (rc)
            rc = consign_err_context(ctx, rc, "%s", e->path);
    }
    return rc;
}

struct job {
    const struct consign_product *product;
    const struct consign_sfx_build_opts *o;
    const char *tar_path;                 /* build_raw */
    long long epoch;                      /* < 0: now */
    const char *kind;                     /* NULL: an installer */
    const struct consign_sfx_file *files; /* build_files */
    size_t n_files;
};

static int
payload_from_product(struct consign_ctx *ctx, struct job *j, struct out *o, struct stats *st)
{
    struct consign_tar_writer *w = NULL;
    struct consign_pkg *pkg = NULL;
    struct consign_pkg_opts po;
    int kinds[2] = {CONSIGN_PKG_RUNTIME, CONSIGN_PKG_AGENT};
    int rc, k;

    if ((rc = consign_tar_writer_new(ctx, tar_sink, o, &w)))
        return rc;
    for (k = 0; k < 2; k++) {
        memset(&po, 0, sizeof(po));
        po.format = CONSIGN_PKG_DEB;
        po.kind = kinds[k];
        po.launcher_path = j->o->launcher_path;
        po.tool_path = j->o->tool_path;
        po.installer = 1;
        po.update_conf = j->o->update_conf;
        po.update_conf_len = j->o->update_conf_len;
        po.update_root = j->o->update_root;
        po.update_root_len = j->o->update_root_len;
        if (kinds[k] == CONSIGN_PKG_RUNTIME && !j->product->runtime.name)
            continue;
        if ((rc = consign_pkg_new(ctx, j->product, &po, &pkg)) || (rc = add_pkg(ctx, pkg, w, st)))
            goto out;
        consign_pkg_free(pkg);
        pkg = NULL;
    }
    rc = consign_tar_writer_finish(ctx, w);
out:
    consign_pkg_free(pkg);
    consign_tar_writer_free(w);
    return rc;
}

/* A raw tar for the tests: counted, not interpreted. */
static int
payload_from_tar(struct consign_ctx *ctx, struct job *j, struct out *o, struct stats *st)
{
    unsigned char buf[64 * 1024];
    int fd = open(j->tar_path, O_RDONLY | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return consign_fail_errno(ctx, errno, "%s", j->tar_path);
    for (;;) {
        ssize_t got = consign_read(fd, buf, sizeof(buf));
        if (got <= 0) {
            if (got < 0)
                rc = consign_fail_errno(ctx, errno, "read %s", j->tar_path);
            break;
        }
        if ((rc = tar_sink(ctx, o, buf, (size_t)got)))
            break;
    }
    close(fd);
    st->files = o->raw;
    st->entries = o->raw / 512;
    return rc;
}

/* A payload of files held in memory (a bootstrap's configuration). */
static int
payload_from_files(struct consign_ctx *ctx, struct job *j, struct out *o, struct stats *st)
{
    struct consign_tar_writer *w = NULL;
    long long mtime = j->epoch >= 0 ? j->epoch : (long long)time(NULL);
    size_t i;
    int rc;

    if ((rc = consign_tar_writer_new(ctx, tar_sink, o, &w)))
        return rc;
    for (i = 0; i < j->n_files; i++) {
        const struct consign_sfx_file *f = &j->files[i];
        if ((rc = consign_tar_write_file_begin(ctx, w, f->path, f->mode, f->len, mtime)) ||
            (rc = consign_tar_write_data(ctx, w, f->data, f->len)) ||
            (rc = consign_tar_write_file_end(ctx, w)))
            goto out;
        st->files += f->len;
        st->entries++;
    }
    rc = consign_tar_writer_finish(ctx, w);
out:
    consign_tar_writer_free(w);
    return rc;
}

static int
hex_to_fpr(const char *hex, unsigned char out[20])
{
    int i;

    for (i = 0; i < 20; i++) {
        unsigned v = 0;
        int k;
        for (k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            v <<= 4;
            if ('0' <= c && c <= '9')
                v |= (unsigned)(c - '0');
            else if ('a' <= c && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else if ('A' <= c && c <= 'F')
                v |= (unsigned)(c - 'A' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

static int
write_bin(struct consign_ctx *ctx, int fd, void *user)
{
    struct job *j = user;
    struct consign_sfx_header h;
    struct consign_sfx_info info;
    struct consign_buf ib, sig, key;
    struct consign_sign_opts so;
    struct stats st = {0, 0};
    unsigned char m[CONSIGN_SFX_M_LEN], foot[CONSIGN_SFX_FOOTER_LEN];
    unsigned char digest[CONSIGN_HASH_MAX];
    char fpr[CONSIGN_FPR_LEN + 1], *eula = NULL, version[NAME_BUF];
    size_t eula_len = 0;
    struct out o;
    int rc, level = j->o->level ? j->o->level : 19;

    memset(&o, 0, sizeof(o));
    memset(&h, 0, sizeof(h));
    consign_buf_init(&ib, CONSIGN_SFX_INFO_MAX);
    consign_buf_init(&sig, CONSIGN_SFX_SIG_MAX);
    consign_buf_init(&key, CONSIGN_SFX_KEY_MAX);
    consign_buf_init(&o.table, CONSIGN_SFX_TABLE_MAX);
    o.fd = fd;
    o.chunking = 1;
    if ((rc = consign_keys_active(ctx, j->o->keydir, fpr)) ||
        (rc = consign_keys_export(ctx, j->o->keydir, fpr, CONSIGN_KEY_FORMAT_APT, &key)) ||
        (rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &o.h)))
        goto out;
    if (hex_to_fpr(fpr, h.fpr)) {
        rc = consign_fail(ctx, CONSIGN_E_KEY, "active key: bad fingerprint");
        goto out;
    }
    /* Only the primary key packet: the reader refuses what M does not bind
     * (user IDs and self-signatures are not covered by the signature). */
    {
        size_t hdr, total;
        int tag;
        if (consign__sfx_pgp_packet((const unsigned char *)key.data, key.len, &tag, &hdr, &total) ||
            tag != 6) {
            rc = consign_fail(ctx, CONSIGN_E_KEY, "active key: the export is not a public key");
            goto out;
        }
        key.len = total;
    }
    {
        unsigned long long stub = 0;
        rc = copy_fd(ctx, &o, j->o->stub_path, &stub);
        h.stub_size = stub;
        if (rc || (rc = chunk_end(ctx, &o)))
            goto out;
    }
    h.payload_off = o.off;
    o.zcap = ZSTD_CStreamOutSize();
    if (!(o.z = ZSTD_createCCtx()) || !(o.zbuf = malloc(o.zcap))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    if (level < 1 || level > 19) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "compression level %d: use 1 to 19", level);
        goto out;
    }
    /* Workers >= 1 always: zstd's output is then the same for any count. */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(o.z, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(o.z, ZSTD_c_windowLog, CONSIGN_SFX_WINDOW_LOG)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(
            o.z, ZSTD_c_nbWorkers,
            j->o->threads > 0 ? j->o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN)))) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "zstd: cannot set parameters");
        goto out;
    }
    rc = j->files      ? payload_from_files(ctx, j, &o, &st)
         : j->tar_path ? payload_from_tar(ctx, j, &o, &st)
                       : payload_from_product(ctx, j, &o, &st);
    if (rc || (rc = z_push(ctx, &o, NULL, 0, ZSTD_e_end)) || (rc = chunk_end(ctx, &o)))
        goto out;
    o.chunking = 0;
    h.payload_size = o.off - h.payload_off;
    h.payload_raw = o.raw;
    h.payload_files = st.files;
    h.payload_entries = st.entries;

    /* The info block. */
    memset(&info, 0, sizeof(info));
    if (j->product->has_epoch)
        snprintf(version, sizeof(version), "%lu:%s-%s", j->product->epoch, j->product->version,
                 j->product->release);
    else
        snprintf(version, sizeof(version), "%s-%s", j->product->version, j->product->release);
    info.name = j->product->name;
    info.version = version;
    info.summary = j->product->summary;
    info.vendor = j->product->vendor;
    info.homepage = j->product->homepage;
    info.arch = consign_arch_deb(j->product->arch);
    info.token_required = j->product->settings.token == CONSIGN_TOKEN_REQUIRED;
    info.proxy = j->product->settings.proxy;
    info.auto_update = j->product->settings.auto_update;
    info.built = j->epoch >= 0 ? j->epoch : (long long)time(NULL);
    info.kind = j->kind;
    if (j->product->eula) {
        if ((rc = consign_file_read(ctx, j->product->eula, CONSIGN_SFX_INFO_MAX / 2, &eula,
                                    &eula_len)))
            goto out;
        info.eula = eula;
        info.eula_len = eula_len;
    }
    if ((rc = consign__sfx_info_format(ctx, &info, &ib)))
        goto out;
    h.info_off = o.off;
    h.info_size = ib.len;
    /* The table: the chunks' digests, the info block's, then M signs the
     * table's (docs/internals/sfx-format.md). */
    if ((rc = out_write(ctx, &o, ib.data, ib.len)) ||
        (rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, ib.data, ib.len, digest)) ||
        (rc = consign_buf_append(ctx, &o.table, digest, 32)) ||
        (rc = out_write(ctx, &o, o.table.data, o.table.len)) ||
        (rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, o.table.data, o.table.len, digest)))
        goto out;
    h.hashed_end = o.off;
    h.version = CONSIGN_SFX_VERSION;
    memcpy(h.sha256, digest, 32);
    consign__sfx_m_encode(&h, m);

    memset(&so, 0, sizeof(so));
    so.mode = CONSIGN_SIG_DETACHED;
    so.armor = 0;
    so.created = j->epoch >= 0 ? j->epoch : CONSIGN_SIG_TIME_NOW;
    if ((rc = consign_keys_sign_ext(ctx, j->o->keydir, j->o->passphrase, &so, m, sizeof(m), NULL,
                                    NULL, &sig)))
        goto out;
    memset(foot, 0, sizeof(foot));
    memcpy(foot, CONSIGN_SFX_FOOTER_MAGIC, 8);
    consign__put32(foot + 8, CONSIGN_SFX_M_LEN);
    consign__put32(foot + 12, (uint32_t)sig.len);
    consign__put32(foot + 16, (uint32_t)key.len);
    consign__put64(foot + 20, o.off + sizeof(m) + sig.len + key.len + sizeof(foot));
    if ((rc = consign_write_all(ctx, fd, m, sizeof(m), "installer")) ||
        (rc = consign_write_all(ctx, fd, sig.data, sig.len, "installer")) ||
        (rc = consign_write_all(ctx, fd, key.data, key.len, "installer")) ||
        (rc = consign_write_all(ctx, fd, foot, sizeof(foot), "installer")))
        goto out;
    consign_log(ctx, CONSIGN_LOG_INFO,
                "installer: stub %llu + payload %llu (tar %llu) + info %llu bytes, signed by %s",
                (unsigned long long)h.stub_size, (unsigned long long)h.payload_size,
                (unsigned long long)h.payload_raw, (unsigned long long)h.info_size, fpr);
out:
    free(eula);
    consign_hash_free(o.h);
    consign_buf_free(&o.table);
    ZSTD_freeCCtx(o.z);
    free(o.zbuf);
    consign_buf_free(&ib);
    consign_buf_free(&sig);
    consign_buf_free(&key);
    return rc;
}

static int
build(struct consign_ctx *ctx, const struct consign_product *product,
      const struct consign_sfx_build_opts *o, const char *tar_path, struct job *jf, const char *out)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    unsigned long long epoch;
    struct job j;
    int rc;

    memset(&j, 0, sizeof(j));
    j.product = product;
    j.o = o;
    j.tar_path = tar_path;
    j.epoch = -1;
    if (jf) {
        j.kind = jf->kind;
        j.files = jf->files;
        j.n_files = jf->n_files;
    }
    if (sde && *sde) {
        if (consign_parse_u64(sde, (1ULL << 40), &epoch))
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "SOURCE_DATE_EPOCH: expected seconds since 1970, got '%.40s'", sde);
        j.epoch = (long long)epoch;
    }
    if (product->service.name && strcmp(product->service.name, product->name) != 0)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "sfx: the service must be named like the product (%s)", product->name);
    if (!o->stub_path)
        return consign_fail(ctx, CONSIGN_E_USAGE, "sfx: no stub given");
    rc = consign_file_write_atomic_with(ctx, out, 0755, write_bin, &j);
    return rc ? consign_err_context(ctx, rc, "sfx %s", out) : 0;
}

int
consign_sfx_build(struct consign_ctx *ctx, const struct consign_product *product,
                  const struct consign_sfx_build_opts *o, const char *out)
{
    if (!o->launcher_path)
        return consign_fail(ctx, CONSIGN_E_USAGE, "sfx: no launcher given");
    return build(ctx, product, o, NULL, NULL, out);
}

int
consign_sfx_build_files(struct consign_ctx *ctx, const struct consign_product *product,
                        const struct consign_sfx_build_opts *o, const char *kind,
                        const struct consign_sfx_file *files, size_t n_files, const char *out)
{
    struct job jf;

    memset(&jf, 0, sizeof(jf));
    jf.kind = kind;
    jf.files = files;
    jf.n_files = n_files;
    if (!files || !n_files)
        return consign_fail(ctx, CONSIGN_E_USAGE, "sfx: no files for the payload");
    return build(ctx, product, o, NULL, &jf, out);
}

int
consign_sfx_build_raw(struct consign_ctx *ctx, const struct consign_product *product,
                      const struct consign_sfx_build_opts *o, const char *tar_path, const char *out)
{
    return build(ctx, product, o, tar_path, NULL, out);
}
