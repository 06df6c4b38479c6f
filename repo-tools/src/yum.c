/* YUM repositories: Packages/, repodata/ with primary, filelists and other
 * under checksum-prefixed names, repomd.xml and its detached signature.
 *
 * Publish order: the three metadata files land under their unique names
 * first; repomd.xml.asc and repomd.xml are renamed in last, back to back.
 * Metadata files of the kept generations stay, so a client holding the
 * previous repomd.xml still finds what it lists. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consign/fileio.h"
#include "consign/keys.h"
#include "consign/repository.h"
#include "consign/rpminfo.h"
#include "publish.h"
#include "store.h"

#define DEFAULT_KEEP_MD 3
#define FRAGMENT_MAX    (256u << 20)

enum { B_PRIMARY, B_FILELISTS, B_OTHER };

static const char *const md_names[] = {"primary", "filelists", "other"};

/* "[E:]V-R" split back into its parts (into buf). */
struct evr {
    unsigned long long epoch;
    const char *v, *r;
    char buf[512];
};

static void
evr_split(const char *s, struct evr *e)
{
    char *colon, *dash;

    snprintf(e->buf, sizeof(e->buf), "%s", s);
    e->epoch = 0;
    e->v = e->buf;
    colon = strchr(e->buf, ':');
    if (colon) {
        *colon = '\0';
        e->epoch = strtoull(e->buf, NULL, 10);
        e->v = colon + 1;
    }
    dash = strrchr((char *)e->v, '-');
    e->r = NULL;
    if (dash) {
        *dash = '\0';
        e->r = dash + 1;
    }
}

static int
evr_cmp(const char *a, const char *b)
{
    struct evr x, y;

    evr_split(a, &x);
    evr_split(b, &y);
    return consign_rpm_evr_cmp(x.epoch, x.v, x.r ? x.r : "", y.epoch, y.v, y.r ? y.r : "");
}

/* --- add ------------------------------------------------------------------------ */

struct read_job {
    const struct store *st;
    const char *root;
    const char *const *files;
    struct store_pkg **newp;
    unsigned char *linked; /* put in the pool by the reader */
};

static char *pool_path(struct consign_ctx *ctx, const struct consign_rpm_info *info);
static int pkg_from_info(struct consign_ctx *ctx, struct store_pkg *p,
                         const struct consign_rpm_info *info, long long mtime);

/* Read, hash and name one package and make its cached fragments; when its
 * pool file is new, link it into the pool right away (undone if the batch
 * fails), so that the pool's directories are made on every core while other
 * files are still hashed. The parsed header is dropped at once: a batch of
 * thousands never holds more than the fragments the database keeps. */
static int
read_one(struct consign_ctx *ctx, void *user, size_t i)
{
    struct read_job *j = user;
    struct consign_rpm_info *info = NULL;
    struct store_pkg *p = NULL;
    char *full = NULL;
    struct stat sb;
    int rc, linked = 0;

    if ((rc = consign_rpm_info_read(ctx, j->files[i], &info)))
        goto out;
    if (!(p = consign_calloc(ctx, 1, sizeof(*p))) || !(p->path = pool_path(ctx, info))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!store_token_ok(p->path, 1)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: name not usable in a path", j->files[i]);
        goto out;
    }
    if (stat(j->files[i], &sb) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", j->files[i]);
        goto out;
    }
    if ((rc = pkg_from_info(ctx, p, info, (long long)sb.st_mtim.tv_sec))) {
        rc = consign_err_context(ctx, rc, "%s", j->files[i]);
        goto out;
    }
    consign_rpm_info_free(info);
    info = NULL;
    if (!store_find(j->st, p->path)) {
        if (!(full = consign_asprintf(ctx, "%s/%s", j->root, p->path))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = publish_link_new(ctx, j->files[i], full, &sb, &linked)))
            goto out;
        if (linked) {
            store_identity_set(p, &sb);
            j->linked[i] = 1;
        }
    }
    j->newp[i] = p;
    p = NULL;
out:
    consign_rpm_info_free(info);
    store_pkg_free(p);
    free(full);
    return rc;
}

static char *
evr_string(struct consign_ctx *ctx, const struct consign_rpm_info *info)
{
    int has_epoch;
    unsigned long long e = consign_rpm_info_epoch(info, &has_epoch);

    if (has_epoch)
        return consign_asprintf(ctx, "%llu:%s-%s", e, consign_rpm_info_version(info),
                                consign_rpm_info_release(info));
    return consign_asprintf(ctx, "%s-%s", consign_rpm_info_version(info),
                            consign_rpm_info_release(info));
}

/* Packages/n/NAME-VERSION-RELEASE.ARCH.rpm */
static char *
pool_path(struct consign_ctx *ctx, const struct consign_rpm_info *info)
{
    const char *name = consign_rpm_info_name(info);
    char c = name[0] >= 'A' && name[0] <= 'Z' ? (char)(name[0] - 'A' + 'a') : name[0];

    return consign_asprintf(ctx, "Packages/%c/%s-%s-%s.%s.rpm", c, name,
                            consign_rpm_info_version(info), consign_rpm_info_release(info),
                            consign_rpm_info_arch(info));
}

/* Fill p's identity-independent fields and the three cached fragments. */
static int
pkg_from_info(struct consign_ctx *ctx, struct store_pkg *p, const struct consign_rpm_info *info,
              long long mtime)
{
    struct consign_buf b;
    int rc = 0;

    consign_buf_init(&b, FRAGMENT_MAX);
    free(p->name);
    free(p->version);
    free(p->arch);
    p->name = p->version = p->arch = NULL;
    if (!(p->name = consign_strdup(ctx, consign_rpm_info_name(info))) ||
        !(p->version = evr_string(ctx, info)) ||
        !(p->arch = consign_strdup(ctx, consign_rpm_info_arch(info)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!store_token_ok(p->name, 0) || !store_token_ok(p->version, 0) ||
        !store_token_ok(p->arch, 0)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "name, version or arch not usable in a path");
        goto out;
    }
    snprintf(p->sha256, sizeof(p->sha256), "%s", consign_rpm_info_sha256(info));
    if ((rc = consign_rpm_info_primary_xml(ctx, info, p->path, mtime, &b)) ||
        (rc = store_blob_set(ctx, p, B_PRIMARY, b.data ? b.data : "", b.len)))
        goto out;
    consign_buf_reset(&b);
    if ((rc = consign_rpm_info_filelists_xml(ctx, info, &b)) ||
        (rc = store_blob_set(ctx, p, B_FILELISTS, b.data ? b.data : "", b.len)))
        goto out;
    consign_buf_reset(&b);
    if ((rc = consign_rpm_info_other_xml(ctx, info, &b)) ||
        (rc = store_blob_set(ctx, p, B_OTHER, b.data ? b.data : "", b.len)))
        goto out;
out:
    consign_buf_free(&b);
    return rc;
}

static int
cmp_newest_first(const void *a, const void *b)
{
    const struct store_pkg *x = *(struct store_pkg *const *)a, *y = *(struct store_pkg *const *)b;
    return -evr_cmp(x->version, y->version);
}

static int
apply_keep(struct consign_ctx *ctx, struct store *st, const char *name, const char *arch,
           unsigned keep)
{
    struct store_pkg **v = NULL;
    size_t n = 0;
    int rc = 0;

    if (!keep)
        return 0;
    if (!(v = consign_calloc(ctx, st->npkgs + 1, sizeof(*v))))
        return CONSIGN_E_NOMEM;
    for (size_t i = 0; i < st->npkgs; i++)
        if (strcmp(st->pkgs[i]->name, name) == 0 && strcmp(st->pkgs[i]->arch, arch) == 0)
            v[n++] = st->pkgs[i];
    if (n > keep) {
        qsort(v, n, sizeof(*v), cmp_newest_first);
        for (size_t i = keep; i < n; i++) {
            consign_log(ctx, CONSIGN_LOG_INFO, "%s %s %s: dropped (keeping the newest %u)",
                        v[i]->name, v[i]->version, v[i]->arch, keep);
            v[i]->nmembers = 0; /* marks it */
        }
        for (size_t i = st->npkgs; i-- > 0;)
            if (st->pkgs[i]->nmembers == 0 && strcmp(st->pkgs[i]->name, name) == 0 &&
                strcmp(st->pkgs[i]->arch, arch) == 0 && (rc = store_remove(ctx, st, i)))
                break;
    }
    free(v);
    return rc;
}

int
consign_repo_yum_add(struct consign_ctx *ctx, const char *root,
                     const struct consign_yum_add_opts *opts, const char *const *files,
                     size_t nfiles)
{
    struct store *st = NULL;
    struct read_job job;
    struct store_pkg **newp = NULL;
    char **created = NULL, *full = NULL, **names = NULL;
    size_t ncreated = 0;
    struct stat sb;
    int rc = 0;

    memset(&job, 0, sizeof(job));
    if (!nfiles) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "no packages given");
        goto out;
    }
    if ((rc = store_open(ctx, root, STORE_YUM, 1, &st)))
        goto out;
    if (!(newp = consign_calloc(ctx, nfiles, sizeof(*newp))) ||
        !(job.linked = consign_calloc(ctx, nfiles, 1)) ||
        !(names = consign_calloc(ctx, 2 * nfiles, sizeof(*names))) ||
        !(created = consign_calloc(ctx, nfiles, sizeof(*created)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    job = (struct read_job){st, root, files, newp, job.linked};
    /* Read every file (in parallel), new ones linked into the pool: nothing
     * else changes until all are good, and those links go again if not. */
    rc = store_parallel(ctx, nfiles, read_one, &job);
    for (size_t i = 0; i < nfiles; i++)
        if (job.linked[i] && newp[i] &&
            !(created[ncreated++] = consign_asprintf(ctx, "%s/%s", root, newp[i]->path)) && !rc)
            rc = CONSIGN_E_NOMEM;
    if (rc)
        goto out;
    for (size_t i = 0; i < nfiles; i++) {
        const struct store_pkg *p = newp[i];
        for (size_t j = 0; j < st->npkgs; j++) {
            const struct store_pkg *q = st->pkgs[j];
            if (strcmp(q->name, p->name) == 0 && strcmp(q->arch, p->arch) == 0 &&
                evr_cmp(q->version, p->version) == 0 && strcmp(q->sha256, p->sha256) != 0) {
                rc = consign_fail(ctx, CONSIGN_E_EXISTS,
                                  "%s: %s %s %s is already in the repository (%s) with other "
                                  "content; give the new build a new release",
                                  files[i], p->name, p->version, p->arch, q->path);
                goto out;
            }
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(newp[j]->path, p->path) == 0 && strcmp(newp[j]->sha256, p->sha256) != 0) {
                rc = consign_fail(ctx, CONSIGN_E_EXISTS,
                                  "%s: %s %s %s is also given as %s, with other content", files[i],
                                  p->name, p->version, p->arch, files[j]);
                goto out;
            }
    }
    for (size_t i = 0; i < nfiles; i++) {
        struct store_pkg *p = newp[i];
        int dup = 0;
        if (job.linked[i] || store_find(st, p->path))
            continue;
        for (size_t j = 0; j < i; j++)
            dup |= strcmp(newp[j]->path, p->path) == 0;
        if (dup)
            continue;
        free(full);
        if (!(full = consign_asprintf(ctx, "%s/%s", root, p->path))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = publish_import(ctx, files[i], full)))
            goto out;
        created[ncreated++] = consign_strdup(ctx, full);
        if (stat(full, &sb) < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", full);
            goto out;
        }
        store_identity_set(p, &sb);
    }
    for (size_t i = 0; i < nfiles; i++) {
        struct store_pkg *p = newp[i];
        if (!(names[2 * i] = consign_strdup(ctx, p->name)) ||
            !(names[2 * i + 1] = consign_strdup(ctx, p->arch))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if (store_find(st, p->path))
            continue;
        newp[i] = NULL;
        /* YUM has no suites: one member marks the package as listed. */
        if ((rc = store_member_add(ctx, p, "-", "-")) || (rc = store_add(ctx, st, p)))
            goto out;
        consign_log(ctx, CONSIGN_LOG_INFO, "%s %s %s", p->name, p->version, p->arch);
    }
    for (size_t i = 0; i < nfiles; i++)
        if ((rc = apply_keep(ctx, st, names[2 * i], names[2 * i + 1], opts ? opts->keep : 0)))
            goto out;
    if ((rc = store_save(ctx, st)))
        goto out;
    ncreated = 0;
out:
    for (size_t i = 0; i < ncreated; i++)
        if (created[i])
            publish_unlink_new(root, created[i]);
    if (created)
        for (size_t i = 0; i < nfiles; i++)
            free(created[i]);
    free(created);
    if (newp)
        for (size_t i = 0; i < nfiles; i++)
            store_pkg_free(newp[i]);
    free(newp);
    if (names)
        for (size_t i = 0; i < 2 * nfiles; i++)
            free(names[i]);
    free(names);
    free(job.linked);
    free(full);
    store_close(st);
    return rc;
}

/* --- remove and list ----------------------------------------------------------- */

/* NAME, NAME=VERSION, NAME=VERSION-RELEASE, NAME=EPOCH:VERSION-RELEASE. */
static int
spec_matches(const char *spec, const struct store_pkg *p)
{
    const char *eq = strchr(spec, '=');
    size_t nlen = eq ? (size_t)(eq - spec) : strlen(spec);
    struct evr have, want;

    if (strlen(p->name) != nlen || strncmp(p->name, spec, nlen) != 0)
        return 0;
    if (!eq)
        return 1;
    evr_split(p->version, &have);
    evr_split(eq + 1, &want);
    if (strchr(eq + 1, ':') && want.epoch != have.epoch)
        return 0;
    if (consign_rpm_vercmp(have.v, want.v) != 0)
        return 0;
    return !want.r || (have.r && consign_rpm_vercmp(have.r, want.r) == 0);
}

int
consign_repo_yum_remove(struct consign_ctx *ctx, const char *root, const char *const *specs,
                        size_t nspecs, size_t *removed)
{
    struct store *st = NULL;
    int rc = 0;

    *removed = 0;
    if ((rc = store_open(ctx, root, STORE_YUM, 0, &st)))
        goto out;
    for (size_t s = 0; s < nspecs; s++) {
        size_t hits = 0;
        for (size_t i = st->npkgs; i-- > 0;) {
            if (!spec_matches(specs[s], st->pkgs[i]))
                continue;
            consign_log(ctx, CONSIGN_LOG_INFO, "%s %s %s: removed", st->pkgs[i]->name,
                        st->pkgs[i]->version, st->pkgs[i]->arch);
            if ((rc = store_remove(ctx, st, i)))
                goto out;
            hits++;
        }
        if (!hits) {
            rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s: not in the repository", specs[s]);
            goto out;
        }
        *removed += hits;
    }
    rc = store_save(ctx, st);
out:
    store_close(st);
    if (rc)
        *removed = 0;
    return rc;
}

static int
cmp_order(const void *a, const void *b)
{
    const struct store_pkg *x = *(struct store_pkg *const *)a, *y = *(struct store_pkg *const *)b;
    int c;

    if ((c = strcmp(x->name, y->name)) || (c = evr_cmp(x->version, y->version)))
        return c;
    return strcmp(x->arch, y->arch);
}

int
consign_repo_yum_list(struct consign_ctx *ctx, const char *root, consign_repo_list_fn fn,
                      void *user)
{
    struct store *st = NULL;
    struct store_pkg **v = NULL;
    int rc = 0;

    if ((rc = store_open(ctx, root, STORE_YUM, 0, &st)))
        goto out;
    if (!(v = consign_calloc(ctx, st->npkgs + 1, sizeof(*v)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (st->npkgs)
        memcpy(v, st->pkgs, st->npkgs * sizeof(*v));
    qsort(v, st->npkgs, sizeof(*v), cmp_order);
    for (size_t i = 0; i < st->npkgs; i++) {
        struct consign_repo_entry e = {NULL,          NULL,       v[i]->name,
                                       v[i]->version, v[i]->arch, v[i]->path};
        if ((rc = fn(ctx, user, &e)))
            goto out;
    }
out:
    free(v);
    store_close(st);
    return rc;
}

/* --- publish ------------------------------------------------------------------- */

struct ypub {
    struct store *st;
    const char *root;
    struct store_pkg **sorted;
    struct store_pkg **recheck;
    size_t nrecheck;
    int compat;
    struct idx_out out[3];
    char *dir;      /* ROOT/repodata */
    char *cachedir; /* ROOT/.consign/chunks-yum */
};

static int
recheck_one(struct consign_ctx *ctx, void *user, size_t i)
{
    struct ypub *yp = user;
    struct store_pkg *p = yp->recheck[i];
    struct consign_rpm_info *info = NULL;
    char *full = NULL, oldsha[65];
    struct stat sb;
    int rc = 0;

    if (!(full = consign_asprintf(ctx, "%s/%s", yp->root, p->path))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_rpm_info_read(ctx, full, &info)))
        goto out;
    if (stat(full, &sb) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", full);
        goto out;
    }
    memcpy(oldsha, p->sha256, sizeof(oldsha));
    if ((rc = pkg_from_info(ctx, p, info, (long long)sb.st_mtim.tv_sec)))
        goto out;
    if (strcmp(oldsha, p->sha256) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID,
                          "%s: changed since it was added (other content); add the package "
                          "again or restore the file",
                          full);
        goto out;
    }
    store_identity_set(p, &sb);
out:
    consign_rpm_info_free(info);
    free(full);
    return rc;
}

/* Write one of the three metadata documents (job i) under a temporary name. */
static int
md_one(struct consign_ctx *ctx, void *user, size_t i)
{
    struct ypub *yp = user;
    enum idx_fmt fmt = yp->compat ? IDX_GZ : IDX_ZST;
    struct consign_buf head;
    const char *foot;
    int rc = 0;

    consign_buf_init(&head, 4096);
    /* The header (with the package count) and the footer are chunks of their
     * own, so the packages' chunks stay the same as packages come and go. */
    if ((rc = idx_open_chunked(ctx, &yp->out[i], yp->dir, &fmt, 1, 0, yp->cachedir)) ||
        (rc = consign_rpm_md_header(ctx, (enum consign_rpm_md)i, yp->st->npkgs, &head)) ||
        (rc = idx_write(ctx, &yp->out[i], head.data, head.len)) || (rc = idx_cut(ctx, &yp->out[i])))
        goto out;
    for (size_t k = 0; k < yp->st->npkgs; k++) {
        const struct store_pkg *p = yp->sorted[k];
        if ((rc = idx_write(ctx, &yp->out[i], p->blob[i], p->bloblen[i])))
            goto out;
        store_blob_release(yp->st, p, (int)i);
        if (idx_boundary(p->name, k + 1 < yp->st->npkgs ? yp->sorted[k + 1]->name : NULL) &&
            (rc = idx_cut(ctx, &yp->out[i])))
            goto out;
    }
    foot = consign_rpm_md_footer((enum consign_rpm_md)i);
    if ((rc = idx_cut(ctx, &yp->out[i])) ||
        (rc = idx_write(ctx, &yp->out[i], foot, strlen(foot))) ||
        (rc = idx_finish(ctx, &yp->out[i])))
        goto out;
out:
    consign_buf_free(&head);
    if (rc)
        rc = consign_err_context(ctx, rc, "repodata: %s", md_names[i]);
    return rc;
}

static int
customer_files(struct consign_ctx *ctx, const char *root,
               const struct consign_yum_publish_opts *opts)
{
    char *key = NULL, *fpr = NULL, *repo = NULL, *text = NULL;
    const char *name = opts->name, *url = opts->url;
    size_t ulen;
    int rc = 0;

    if (!name || !url)
        return 0;
    if (!store_token_ok(name, 0) || strpbrk(name, "[]=#")) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "--name %s: not usable as a repository id", name);
        goto out;
    }
    if ((rc = publish_url_ok(ctx, url)))
        goto out;
    ulen = strlen(url);
    while (ulen > 0 && url[ulen - 1] == '/')
        ulen--;
    if (!(key = consign_asprintf(ctx, "%s/RPM-GPG-KEY-%s", root, name)) ||
        !(fpr = consign_asprintf(ctx, "%s/%s.fingerprint", root, name)) ||
        !(repo = consign_asprintf(ctx, "%s/%s.repo", root, name)) ||
        !(text = consign_asprintf(ctx,
                                  "[%s]\nname=%s\nbaseurl=%.*s\nenabled=1\ngpgcheck=1\n"
                                  "repo_gpgcheck=1\ngpgkey=%.*s/RPM-GPG-KEY-%s\n",
                                  name, name, (int)ulen, url, (int)ulen, url, name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = publish_key_files(ctx, opts->keydir, NULL, key, fpr)) ||
        (rc = publish_text(ctx, repo, text)))
        goto out;
out:
    free(key);
    free(fpr);
    free(repo);
    free(text);
    return rc;
}

int
consign_repo_yum_publish(struct consign_ctx *ctx, const char *root,
                         const struct consign_yum_publish_opts *opts)
{
    struct ypub yp;
    struct consign_buf repomd, sig;
    struct consign_sign_opts so;
    char *path = NULL, *names[3] = {NULL, NULL, NULL}, *tmpx = NULL, *tmpa = NULL;
    char *finalx = NULL, *finala = NULL;
    long long now, now_real;
    unsigned keep = opts->keep_metadata ? opts->keep_metadata : DEFAULT_KEEP_MD;
    int rc = 0;

    memset(&yp, 0, sizeof(yp));
    consign_buf_init(&repomd, 1u << 20);
    consign_buf_init(&sig, 1u << 20);
    yp.root = root;
    yp.compat = opts->compat;
    if (keep < 2)
        keep = 2;
    if (!opts->keydir) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "a key directory is needed to sign");
        goto out;
    }
    if ((rc = store_open(ctx, root, STORE_YUM, 0, &yp.st)) || (rc = publish_now(ctx, &now)))
        goto out;
    now_real = (long long)time(NULL) - 1;
    if (!(yp.dir = consign_asprintf(ctx, "%s/repodata", root)) ||
        !(yp.cachedir = consign_asprintf(ctx, "%s/chunks-yum", yp.st->statedir)) ||
        !(yp.recheck = consign_calloc(ctx, yp.st->npkgs + 1, sizeof(*yp.recheck))) ||
        !(yp.sorted = consign_calloc(ctx, yp.st->npkgs + 1, sizeof(*yp.sorted)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < yp.st->npkgs; i++) {
        struct stat sb;
        free(path);
        if (!(path = consign_asprintf(ctx, "%s/%s", root, yp.st->pkgs[i]->path))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if (stat(path, &sb) < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", path);
            goto out;
        }
        if (!store_identity_same(yp.st->pkgs[i], &sb))
            yp.recheck[yp.nrecheck++] = yp.st->pkgs[i];
    }
    if (yp.nrecheck && (rc = store_parallel(ctx, yp.nrecheck, recheck_one, &yp)))
        goto out;
    if (yp.st->npkgs)
        memcpy(yp.sorted, yp.st->pkgs, yp.st->npkgs * sizeof(*yp.sorted));
    qsort(yp.sorted, yp.st->npkgs, sizeof(*yp.sorted), cmp_order);
    /* 1. primary, filelists and other, in parallel, then under their unique names. */
    if ((rc = store_parallel(ctx, 3, md_one, &yp)))
        goto out;
    for (size_t i = 0; i < 3; i++) {
        const struct idx_file *f = &yp.out[i].f[0];
        if (!(names[i] = consign_asprintf(ctx, "%s-%s.xml%s", f->sha256, md_names[i],
                                          idx_suffix(f->fmt)))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        free(path);
        if (!(path = consign_asprintf(ctx, "%s/%s", yp.dir, names[i]))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = idx_place(ctx, &yp.out[i], 0, path)))
            goto out;
    }
    /* 2. repomd.xml and its signature, under temporary names. */
    if ((rc = consign_buf_printf(ctx, &repomd,
                                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" "
                                 "xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n"
                                 "  <revision>%lld</revision>\n",
                                 now)))
        goto out;
    for (size_t i = 0; i < 3; i++) {
        const struct idx_out *o = &yp.out[i];
        if ((rc = consign_buf_printf(ctx, &repomd,
                                     "  <data type=\"%s\">\n"
                                     "    <checksum type=\"sha256\">%s</checksum>\n"
                                     "    <open-checksum type=\"sha256\">%s</open-checksum>\n"
                                     "    <location href=\"repodata/%s\"/>\n"
                                     "    <timestamp>%lld</timestamp>\n"
                                     "    <size>%llu</size>\n"
                                     "    <open-size>%llu</open-size>\n"
                                     "  </data>\n",
                                     md_names[i], o->f[0].sha256, o->open_sha256, names[i], now,
                                     o->f[0].size, o->open_size)))
            goto out;
    }
    if ((rc = consign_buf_puts(ctx, &repomd, "</repomd>\n")))
        goto out;
    so.mode = CONSIGN_SIG_DETACHED;
    so.armor = 1;
    so.created = now;
    if ((rc = consign_keys_sign_ext(ctx, opts->keydir, opts->passphrase, &so, repomd.data,
                                    repomd.len, NULL, NULL, &sig)))
        goto out;
    if (!(tmpx = consign_asprintf(ctx, "%s/.consign-tmp.repomd.xml", yp.dir)) ||
        !(tmpa = consign_asprintf(ctx, "%s/.consign-tmp.repomd.xml.asc", yp.dir)) ||
        !(finalx = consign_asprintf(ctx, "%s/repomd.xml", yp.dir)) ||
        !(finala = consign_asprintf(ctx, "%s/repomd.xml.asc", yp.dir))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_file_write_atomic(ctx, tmpx, repomd.data, repomd.len, 0644)) ||
        (rc = consign_file_write_atomic(ctx, tmpa, sig.data, sig.len, 0644)))
        goto out;
    if ((rc = store_gen_push(ctx, yp.st, "repodata", names, 3, keep)) ||
        (rc = store_save(ctx, yp.st)))
        goto out;
    /* 3. The switch. */
    if ((rc = publish_newer_mtime(ctx, tmpx, finalx)) ||
        (rc = publish_newer_mtime(ctx, tmpa, finala)))
        goto out;
    if (rename(tmpx, finalx) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", finalx);
        goto out;
    }
    if (rename(tmpa, finala) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", finala);
        goto out;
    }
    if ((rc = publish_sync_dir(ctx, yp.dir)))
        goto out;
    consign_log(ctx, CONSIGN_LOG_INFO, "published %s (%zu packages)", root, yp.st->npkgs);
    /* 4. Clean up: metadata of older generations, our temporary files, dropped packages. */
    {
        DIR *d = opendir(yp.dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                strcmp(de->d_name, "repomd.xml") == 0 ||
                strcmp(de->d_name, "repomd.xml.asc") == 0 ||
                store_gen_keeps(yp.st, "repodata", de->d_name))
                continue;
            if (de->d_name[0] == '.' && !publish_is_tmp(de->d_name))
                continue;
            unlinkat(dirfd(d), de->d_name, 0);
        }
        if (d)
            closedir(d);
    }
    /* Saved again only when dropped packages were forgotten: a database of
     * thousands of packages is megabytes to write and fsync. */
    if (store_drop_files(ctx, yp.st) && (rc = store_save(ctx, yp.st)))
        goto out;
    idx_cache_prune(ctx, yp.cachedir, now_real);
    rc = customer_files(ctx, root, opts);
out:
    for (size_t i = 0; i < 3; i++) {
        idx_close(&yp.out[i]);
        free(names[i]);
    }
    if (rc && tmpx)
        unlink(tmpx);
    if (rc && tmpa)
        unlink(tmpa);
    free(tmpx);
    free(tmpa);
    free(finalx);
    free(finala);
    free(path);
    free(yp.dir);
    free(yp.cachedir);
    free(yp.recheck);
    free(yp.sorted);
    consign_buf_free(&repomd);
    consign_buf_free(&sig);
    store_close(yp.st);
    return rc;
}
