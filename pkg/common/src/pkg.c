/* The package model: entries from the product's trees plus generated files. */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/path.h"
#include "consign/pkg.h"
#include "pkg_private.h"

#define PKG_MAX_ENTRIES 1000000
#define PKG_MAX_DEPTH   64

struct builder {
    struct consign_ctx *ctx;
    struct consign_pkg *pkg;
    size_t cap;
};

static struct consign_pkg_entry *
add_entry(struct builder *b, const char *path, enum consign_pkg_entry_type type)
{
    struct consign_pkg *pkg = b->pkg;
    struct consign_pkg_entry *e;

    if (pkg->nentries >= PKG_MAX_ENTRIES) {
        consign_fail(b->ctx, CONSIGN_E_TOOBIG, "more than %d files", PKG_MAX_ENTRIES);
        return NULL;
    }
    if (pkg->nentries == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 64;
        e = consign_reallocarray(b->ctx, pkg->entries, ncap, sizeof(*e));
        if (!e)
            return NULL;
        pkg->entries = e;
        b->cap = ncap;
    }
    e = &pkg->entries[pkg->nentries];
    memset(e, 0, sizeof(*e));
    if (!(e->path = consign_strdup(b->ctx, path)))
        return NULL;
    pkg->nentries++;
    e->type = type;
    e->mode = type == CONSIGN_PKG_FILE ? 0644 : 0755;
    e->mtime = pkg->build_time;
    return e;
}

static time_t
clamp(const struct consign_pkg *pkg, time_t t)
{
    return pkg->reproducible && t > pkg->build_time ? pkg->build_time : t;
}

static int walk(struct builder *b, const char *src, const char *dst,
                const struct consign_file_spec *spec, int depth);

static int
walk_dir(struct builder *b, const char *src, const char *dst, const struct consign_file_spec *spec,
         int depth)
{
    struct dirent **ents = NULL;
    char *s = NULL, *d = NULL;
    int n, i, rc = 0;

    n = scandir(src, &ents, NULL, alphasort);
    if (n < 0)
        return consign_fail_errno(b->ctx, errno, "%s", src);
    for (i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (rc || strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        free(s);
        free(d);
        s = consign_asprintf(b->ctx, "%s/%s", src, nm);
        d = consign_asprintf(b->ctx, "%s/%s", dst, nm);
        if (!s || !d)
            rc = CONSIGN_E_NOMEM;
        else
            rc = walk(b, s, d, spec, depth + 1);
    }
    for (i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    free(s);
    free(d);
    return rc;
}

/* Add src (file, directory tree or symlink) as dst, entry by entry. */
static int
walk(struct builder *b, const char *src, const char *dst, const struct consign_file_spec *spec,
     int depth)
{
    struct consign_pkg_entry *e;
    char target[CONSIGN_PATH_MAX];
    struct stat st;
    ssize_t n;

    if (depth > PKG_MAX_DEPTH)
        return consign_fail(b->ctx, CONSIGN_E_TOOBIG, "%s: directory tree too deep", src);
    if (lstat(src, &st) < 0)
        return consign_fail_errno(b->ctx, errno, "%s", src);
    if (S_ISDIR(st.st_mode)) {
        if (!(e = add_entry(b, dst, CONSIGN_PKG_DIR)))
            return b->ctx->err_code;
        e->mode = st.st_mode & 07777;
        e->mtime = clamp(b->pkg, st.st_mtime);
        return walk_dir(b, src, dst, spec, depth);
    }
    if (S_ISLNK(st.st_mode)) {
        n = readlink(src, target, sizeof(target) - 1);
        if (n < 0)
            return consign_fail_errno(b->ctx, errno, "%s", src);
        target[n] = '\0';
        if (!(e = add_entry(b, dst, CONSIGN_PKG_SYMLINK)) ||
            !(e->link = consign_strdup(b->ctx, target)))
            return b->ctx->err_code ? b->ctx->err_code : CONSIGN_E_NOMEM;
        e->mode = 0777;
        e->size = (unsigned long long)n;
        e->mtime = clamp(b->pkg, st.st_mtime);
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return consign_fail(b->ctx, CONSIGN_E_INVALID,
                            "%s: not a regular file, directory or symlink", src);
    /* Fail now, not halfway through writing the archive. */
    if (access(src, R_OK) < 0)
        return consign_fail_errno(b->ctx, errno, "%s", src);
    if (!(e = add_entry(b, dst, CONSIGN_PKG_FILE)) || !(e->src = consign_strdup(b->ctx, src)))
        return b->ctx->err_code ? b->ctx->err_code : CONSIGN_E_NOMEM;
    e->mode = spec && spec->mode >= 0 ? (unsigned)spec->mode : (st.st_mode & 07777);
    e->size = (unsigned long long)st.st_size;
    e->mtime = clamp(b->pkg, st.st_mtime);
    e->config = spec ? spec->config : 0;
    return 0;
}

/* A generated file: content in memory. data is copied. */
static int
add_data(struct builder *b, const char *path, const void *data, size_t len, unsigned mode,
         int config)
{
    struct consign_pkg_entry *e = add_entry(b, path, CONSIGN_PKG_FILE);

    if (!e || !(e->data = malloc(len ? len : 1)))
        return e ? consign_fail(b->ctx, CONSIGN_E_NOMEM, NULL) : b->ctx->err_code;
    memcpy(e->data, data, len);
    e->size = len;
    e->mode = mode;
    e->config = config;
    return 0;
}

/* A generated symlink, dated like the build. */
static int
add_link(struct builder *b, const char *path, const char *target)
{
    struct consign_pkg_entry *e = add_entry(b, path, CONSIGN_PKG_SYMLINK);

    if (!e || !(e->link = consign_strdup(b->ctx, target)))
        return b->ctx->err_code ? b->ctx->err_code : CONSIGN_E_NOMEM;
    e->mode = 0777;
    e->size = strlen(target);
    return 0;
}

/* The agent tool and its names: for a .bin bin/consign-target with
 * bin/NAME-config, NAME-update and NAME-uninstall (the install core links
 * them at the top of /opt/NAME); for a package the config-only build
 * bin/consign-config, bin/NAME-config and /opt/NAME/NAME-config. */
static int
add_tools(struct builder *b)
{
    const struct consign_pkg_opts *o = &b->pkg->opts;
    const char *name = b->pkg->product->name;
    static const char *const names[] = {"config", "update", "uninstall"};
    char dst[CONSIGN_PATH_MAX], target[CONSIGN_PATH_MAX];
    size_t i;
    int rc;

    const char *file = o->installer ? "consign-target" : "consign-config";

    snprintf(dst, sizeof(dst), "/opt/%s/bin/%s", name, file);
    if ((rc = walk(b, o->tool_path, dst, NULL, 0)))
        return rc;
    b->pkg->entries[b->pkg->nentries - 1].mode = 0755;
    for (i = 0; i < (o->installer ? 3u : 1u); i++) {
        snprintf(dst, sizeof(dst), "/opt/%s/bin/%s-%s", name, name, names[i]);
        if ((rc = add_link(b, dst, file)))
            return rc;
    }
    if (!o->installer) {
        snprintf(dst, sizeof(dst), "/opt/%s/%s-config", name, name);
        snprintf(target, sizeof(target), "bin/%s-config", name);
        if ((rc = add_link(b, dst, target)))
            return rc;
    }
    return 0;
}

__attribute__((format(printf, 6, 7))) static int
add_text(struct builder *b, struct consign_buf *text, unsigned mode, int config, int gzip,
         const char *fmt, ...)
{
    struct consign_buf gz;
    char path[CONSIGN_PATH_MAX];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vsnprintf(path, sizeof(path), fmt, ap) >= (int)sizeof(path);
    va_end(ap);
    if (rc)
        return consign_fail(b->ctx, CONSIGN_E_TOOBIG, "path too long");
    if (!gzip)
        return add_data(b, path, text->data, text->len, mode, config);
    consign_buf_init(&gz, 64u << 20);
    rc = consign__pkg_gzip(b->ctx, text->data, text->len, &gz);
    if (!rc)
        rc = add_data(b, path, gz.data, gz.len, mode, config);
    consign_buf_free(&gz);
    return rc;
}

static int
cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct consign_pkg_entry *)a)->path,
                  ((const struct consign_pkg_entry *)b)->path);
}

static int
under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every ancestor of every entry becomes a directory entry (owned only inside
 * the product's own trees); the list is sorted, directories given twice are
 * merged, and any other clash is refused. */
static int
finish_tree(struct builder *b)
{
    struct consign_pkg *pkg = b->pkg;
    const char *name = pkg->product->name;
    char opt[CONSIGN_PATH_MAX], etc[CONSIGN_PATH_MAX], doc[CONSIGN_PATH_MAX];
    char **anc = NULL;
    size_t i, j, nanc = 0, cap = 0, n;
    int rc = 0;

    qsort(pkg->entries, pkg->nentries, sizeof(*pkg->entries), cmp_entry);
    n = pkg->nentries;
    for (i = 0; i < n; i++) {
        char *p = consign_strdup(b->ctx, pkg->entries[i].path), *slash;
        if (!p) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        while ((slash = strrchr(p, '/')) && slash != p) {
            struct consign_pkg_entry key = {.path = p};
            *slash = '\0';
            if (bsearch(&key, pkg->entries, n, sizeof(*pkg->entries), cmp_entry))
                continue;
            if (nanc == cap) {
                char **na = consign_reallocarray(b->ctx, anc, cap ? cap * 2 : 32, sizeof(*na));
                if (!na) {
                    free(p);
                    rc = CONSIGN_E_NOMEM;
                    goto out;
                }
                anc = na;
                cap = cap ? cap * 2 : 32;
            }
            if (!(anc[nanc] = consign_strdup(b->ctx, p))) {
                free(p);
                rc = CONSIGN_E_NOMEM;
                goto out;
            }
            nanc++;
        }
        free(p);
    }
    if (nanc)
        qsort(anc, nanc, sizeof(*anc), cmp_str);
    for (i = 0; i < nanc; i++)
        if ((i == 0 || strcmp(anc[i], anc[i - 1]) != 0) && !add_entry(b, anc[i], CONSIGN_PKG_DIR)) {
            rc = b->ctx->err_code;
            goto out;
        }
    qsort(pkg->entries, pkg->nentries, sizeof(*pkg->entries), cmp_entry);

    snprintf(opt, sizeof(opt), "/opt/%s", name);
    snprintf(etc, sizeof(etc), "/etc/opt/%s", name);
    snprintf(doc, sizeof(doc), "/usr/share/doc/%s", pkg->name);
    for (i = 0, j = 0; i < pkg->nentries; i++) {
        struct consign_pkg_entry *e = &pkg->entries[i];
        if (j && strcmp(e->path, pkg->entries[j - 1].path) == 0) {
            if (e->type != CONSIGN_PKG_DIR || pkg->entries[j - 1].type != CONSIGN_PKG_DIR) {
                rc = consign_fail(b->ctx, CONSIGN_E_INVALID, "%s: listed twice in %s", e->path,
                                  pkg->name);
                goto out;
            }
            free(e->path);
            continue;
        }
        pkg->entries[j++] = *e;
    }
    pkg->nentries = j;
    for (i = 0; i < pkg->nentries; i++) {
        struct consign_pkg_entry *e = &pkg->entries[i];
        if (e->type == CONSIGN_PKG_DIR)
            e->owned = under(e->path, opt) || under(e->path, etc) || under(e->path, doc);
        else
            pkg->installed_size += e->size;
    }
out:
    for (i = 0; i < nanc; i++)
        free(anc[i]);
    free(anc);
    return rc;
}

static int
add_specs(struct builder *b, const struct consign_package_spec *spec)
{
    size_t i;
    int rc;

    for (i = 0; i < spec->nfiles; i++)
        if ((rc = walk(b, spec->files[i].src, spec->files[i].dst, &spec->files[i], 0)))
            return consign_err_context(
                b->ctx, rc, "%s.files[%zu]",
                b->pkg->opts.kind == CONSIGN_PKG_RUNTIME ? "runtime" : "agent", i);
    return 0;
}

static int
add_generated(struct builder *b)
{
    struct consign_pkg *pkg = b->pkg;
    const struct consign_product *p = pkg->product;
    const char *name = p->name;
    struct consign_buf t;
    int rc = 0;

    consign_buf_init(&t, 1 << 20);
    if (pkg->opts.kind == CONSIGN_PKG_AGENT) {
        if (!pkg->opts.launcher_path) {
            rc = consign_fail(b->ctx, CONSIGN_E_USAGE, "no launcher given for the agent package");
            goto out;
        }
        {
            char dst[CONSIGN_PATH_MAX];
            snprintf(dst, sizeof(dst), "/opt/%s/bin/%s-launch", name, name);
            if ((rc = walk(b, pkg->opts.launcher_path, dst, NULL, 0)))
                goto out;
            pkg->entries[pkg->nentries - 1].mode = 0755;
        }
        if ((rc = consign_product_launch_conf(b->ctx, p, &t)) ||
            (rc = add_text(b, &t, 0644, 0, 0, "/opt/%s/lib/consign/launch.conf", name)))
            goto out;
        if (pkg->opts.tool_path && (rc = add_tools(b)))
            goto out;
        if (pkg->opts.installer && pkg->opts.update_conf) {
            char path[CONSIGN_PATH_MAX];
            snprintf(path, sizeof(path), "/opt/%s/lib/consign/update.conf", name);
            if ((rc = add_data(b, path, pkg->opts.update_conf, pkg->opts.update_conf_len, 0644, 0)))
                goto out;
            snprintf(path, sizeof(path), "/opt/%s/lib/consign/root.json", name);
            if ((rc = add_data(b, path, pkg->opts.update_root, pkg->opts.update_root_len, 0644, 0)))
                goto out;
            consign_buf_reset(&t);
            if ((rc = consign__pkg_update_unit_text(b->ctx, p, &t)) ||
                (rc = add_text(b, &t, 0644, 0, 0, "%s/%s-update.service",
                               consign__pkg_unit_dir(pkg->opts.format), name)))
                goto out;
            consign_buf_reset(&t);
            if ((rc = consign__pkg_update_timer_text(b->ctx, p, &t)) ||
                (rc = add_text(b, &t, 0644, 0, 0, "%s/%s-update.timer",
                               consign__pkg_unit_dir(pkg->opts.format), name)))
                goto out;
        }
        consign_buf_reset(&t);
        if ((rc = consign__pkg_unit_text(b->ctx, p, &t)) ||
            (rc = add_text(b, &t, 0644, 0, 0, "%s/%s.service",
                           consign__pkg_unit_dir(pkg->opts.format), p->service.name)))
            goto out;
        consign_buf_reset(&t);
        /* dpkg wants init scripts as conffiles; RPM packaging rules want them not %config. */
        if ((rc = consign__pkg_initscript_text(b->ctx, p, &t)) ||
            (rc = add_text(b, &t, 0755, pkg->opts.format == CONSIGN_PKG_DEB, 0, "%s/%s",
                           consign__pkg_initd_dir(pkg->opts.format), p->service.name)))
            goto out;
        consign_buf_reset(&t);
        /* Configuration the admin may tune: a conffile / %config(noreplace). */
        if ((rc = consign__pkg_logrotate_text(b->ctx, p, &t)) ||
            (rc = add_text(b, &t, 0644, 1, 0, "/etc/logrotate.d/%s", name)))
            goto out;
    }
    if (pkg->opts.format == CONSIGN_PKG_DEB) {
        consign_buf_reset(&t);
        if ((rc = consign__pkg_copyright_text(b->ctx, pkg, &t)) ||
            (rc = add_text(b, &t, 0644, 0, 0, "/usr/share/doc/%s/copyright", pkg->name)))
            goto out;
        consign_buf_reset(&t);
        if ((rc = consign__pkg_changelog_text(b->ctx, pkg, &t)) ||
            (rc = add_text(b, &t, 0644, 0, 1, "/usr/share/doc/%s/changelog.Debian.gz", pkg->name)))
            goto out;
        consign_buf_reset(&t);
        if ((rc = consign__pkg_lintian_overrides(b->ctx, pkg, &t)) ||
            (rc = add_text(b, &t, 0644, 0, 0, "/usr/share/lintian/overrides/%s", pkg->name)))
            goto out;
    }
out:
    consign_buf_free(&t);
    return rc;
}

static int
read_epoch(struct consign_ctx *ctx, struct consign_pkg *pkg)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    unsigned long long v;

    if (!sde || !sde[0]) {
        pkg->build_time = time(NULL);
        return 0;
    }
    if (consign_parse_u64(sde, 253402300799ULL, &v) < 0)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "SOURCE_DATE_EPOCH: expected seconds since 1970, got '%.40s'", sde);
    pkg->build_time = (time_t)v;
    pkg->reproducible = 1;
    return 0;
}

int
consign_pkg_new(struct consign_ctx *ctx, const struct consign_product *product,
                const struct consign_pkg_opts *opts, struct consign_pkg **out)
{
    struct consign_pkg *pkg = NULL;
    struct builder b;
    int rc;

    *out = NULL;
    if (opts->kind == CONSIGN_PKG_RUNTIME && !product->runtime.nfiles)
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s: the product has no runtime",
                            product->path);
    if (!(pkg = consign_calloc(ctx, 1, sizeof(*pkg))))
        return CONSIGN_E_NOMEM;
    pkg->product = product;
    pkg->opts = *opts;
    if (opts->kind == CONSIGN_PKG_AGENT) {
        pkg->name = product->agent.name;
        pkg->summary = product->agent.summary;
    } else {
        pkg->name = product->runtime.name;
        pkg->summary = product->runtime.summary;
    }
    pkg->arch = opts->format == CONSIGN_PKG_DEB ? consign_arch_deb(product->arch)
                                                : consign_arch_rpm(product->arch);
    if (product->has_epoch)
        pkg->evr =
            consign_asprintf(ctx, "%lu:%s-%s", product->epoch, product->version, product->release);
    else
        pkg->evr = consign_asprintf(ctx, "%s-%s", product->version, product->release);
    if (!pkg->evr) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (opts->kind == CONSIGN_PKG_AGENT && product->runtime.nfiles &&
        !(pkg->depends_name = consign_strdup(ctx, product->runtime.name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = read_epoch(ctx, pkg)))
        goto out;
    b.ctx = ctx;
    b.pkg = pkg;
    b.cap = 0;
    if ((rc = add_specs(&b,
                        opts->kind == CONSIGN_PKG_AGENT ? &product->agent : &product->runtime)) ||
        (rc = add_generated(&b)) || (rc = finish_tree(&b)))
        goto out;
    if (opts->kind == CONSIGN_PKG_AGENT && (rc = consign__pkg_make_scripts(ctx, pkg)))
        goto out;
    *out = pkg;
    pkg = NULL;
out:
    if (rc && pkg)
        consign_err_context(ctx, rc, "%s", pkg->name ? pkg->name : "package");
    consign_pkg_free(pkg);
    return rc;
}

void
consign_pkg_free(struct consign_pkg *pkg)
{
    size_t i;

    if (!pkg)
        return;
    for (i = 0; i < pkg->nentries; i++) {
        free(pkg->entries[i].path);
        free(pkg->entries[i].src);
        free(pkg->entries[i].data);
        free(pkg->entries[i].link);
    }
    free(pkg->entries);
    for (i = 0; i < pkg->nscripts; i++)
        free(pkg->scripts[i].text);
    free(pkg->scripts);
    free(pkg->evr);
    free(pkg->depends_name);
    free(pkg);
}

int
consign_pkg_entry_stream(struct consign_ctx *ctx, const struct consign_pkg_entry *e,
                         consign_block_fn fn, void *user)
{
    unsigned long long size = 0;
    int rc;

    if (e->type != CONSIGN_PKG_FILE)
        return 0;
    if (!e->src)
        return fn(ctx, user, e->data, (size_t)e->size);
    if ((rc = consign_file_stream(ctx, e->src, fn, user, &size)))
        return rc;
    /* The size went into headers already; a file that changed under us is an error. */
    if (size != e->size)
        return consign_fail(ctx, CONSIGN_E_IO, "%s: changed while being packaged", e->src);
    return 0;
}

struct two_hashes {
    struct consign_hash *md5, *sha256;
};

static int
hash_both(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct two_hashes *h = user;
    int rc = consign_hash_update(ctx, h->md5, p, n);
    return rc ? rc : consign_hash_update(ctx, h->sha256, p, n);
}

int
consign_pkg_digest(struct consign_ctx *ctx, struct consign_pkg *pkg)
{
    struct two_hashes h = {NULL, NULL};
    unsigned char d[CONSIGN_HASH_MAX];
    size_t i;
    int rc;

    if ((rc = consign_hash_new(ctx, CONSIGN_HASH_MD5, &h.md5)) ||
        (rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &h.sha256)))
        goto out;
    for (i = 0; i < pkg->nentries; i++) {
        struct consign_pkg_entry *e = &pkg->entries[i];
        if (e->type != CONSIGN_PKG_FILE)
            continue;
        if ((rc = consign_pkg_entry_stream(ctx, e, hash_both, &h)) ||
            (rc = consign_hash_final(ctx, h.md5, d)))
            goto out;
        memcpy(e->md5, d, 16);
        if ((rc = consign_hash_final(ctx, h.sha256, d)))
            goto out;
        memcpy(e->sha256, d, 32);
    }
out:
    consign_hash_free(h.md5);
    consign_hash_free(h.sha256);
    return rc;
}

const struct consign_pkg_script *
consign_pkg_script_get(const struct consign_pkg *pkg, const char *name)
{
    size_t i;
    for (i = 0; i < pkg->nscripts; i++)
        if (strcmp(pkg->scripts[i].name, name) == 0)
            return &pkg->scripts[i];
    return NULL;
}

int
consign_pkg_write_file(struct consign_ctx *ctx, const char *dir, const char *filename,
                       consign_pkg_writer_fn writer, void *user)
{
    char *dst = consign_asprintf(ctx, "%s/%s", dir, filename);
    int rc;

    if (!dst)
        return CONSIGN_E_NOMEM;
    rc = consign_file_write_atomic_with(ctx, dst, 0644, writer, user);
    free(dst);
    return rc;
}

char *
consign_pkg_filename(struct consign_ctx *ctx, const struct consign_pkg *pkg)
{
    const struct consign_product *p = pkg->product;
    if (pkg->opts.format == CONSIGN_PKG_DEB)
        return consign_asprintf(ctx, "%s_%s-%s_%s.deb", pkg->name, p->version, p->release,
                                pkg->arch);
    return consign_asprintf(ctx, "%s-%s-%s.%s.rpm", pkg->name, p->version, p->release, pkg->arch);
}
