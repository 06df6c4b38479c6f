/* APT repositories: pool, Packages indexes with by-hash copies, Release,
 * InRelease and Release.gpg, and the atomic switch.
 *
 * Publish order (what makes a fetch during a publish see one repository):
 *   1. every new index is written under its by-hash name;
 *   2. Release is made and signed; the new generation is recorded;
 *   3. the plain names (Packages, .gz, .xz) are re-linked to the new files;
 *   4. Release.gpg, Release and last InRelease are renamed into place;
 *   5. by-hash files older than the kept generations, and pool files no
 *      longer listed, are deleted.
 * A client that has the old InRelease finds its indexes under by-hash until
 * the generation after next; a kill at any point leaves a served tree that
 * one of the two InRelease files describes. */
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consign/fileio.h"
#include "consign/keys.h"
#include "consign/repo.h"
#include "consign/repository.h"
#include "publish.h"
#include "store.h"

#define DEFAULT_ARCHS       "amd64 arm64"
#define DEFAULT_VALID       (30LL * 86400)
#define DEFAULT_BYHASH_KEEP 3
#define MAX_ARCHS           16
#define MAX_COMPS           1024
#define STANZA_MAX          (4u << 20)

static const enum idx_fmt packages_fmts[] = {IDX_PLAIN, IDX_GZ, IDX_XZ};
#define NFMTS 3

/* --- names ---------------------------------------------------------------------- */

static int
deb_name_ok(const char *s)
{
    if (strlen(s) < 2 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("+.-", *s)))
            return 0;
    return 1;
}

static int
arch_ok(const char *s)
{
    if (!*s || strlen(s) > 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return 0;
    return 1;
}

/* Suite and component names: letters, digits, '.', '_', '-'. */
static int
dist_name_ok(const char *s)
{
    if (!*s || strlen(s) > 64 || s[0] == '.' || s[0] == '-')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("._-", *s)))
            return 0;
    return 1;
}

static int
check_dist(struct consign_ctx *ctx, const char *what, const char *s)
{
    if (!s || !dist_name_ok(s))
        return consign_fail(ctx, CONSIGN_E_USAGE, "%s %s: use letters, digits, '.', '_', '-'", what,
                            s ? s : "(none)");
    return 0;
}

/* pool/COMPONENT/PREFIX/NAME/NAME_VERSION_ARCH.deb, the epoch left out. */
static char *
pool_path(struct consign_ctx *ctx, const char *component, const char *name, const char *version,
          const char *arch)
{
    const char *colon = strchr(version, ':');
    int plen = strncmp(name, "lib", 3) == 0 && name[3] ? 4 : 1;

    return consign_asprintf(ctx, "pool/%s/%.*s/%s/%s_%s_%s.deb", component, plen, name, name, name,
                            colon ? colon + 1 : version, arch);
}

/* --- add ------------------------------------------------------------------------ */

struct read_job {
    const struct store *st;
    const char *root, *component;
    const char *const *files;
    struct store_pkg **newp;
    unsigned char *linked; /* put in the pool by the reader */
    unsigned hashes;
};

static int pkg_from_info(struct consign_ctx *ctx, struct store_pkg *p,
                         const struct consign_deb_info *info, const char *src);

/* Read, hash and name one package; when its pool file is new, link it into
 * the pool right away (undone if the batch fails), so that the pool's
 * directories are made on every core while other files are still hashed.
 * The parsed control data is dropped at once: memory does not grow with the
 * batch beyond the cached stanzas. */
static int
read_one(struct consign_ctx *ctx, void *user, size_t i)
{
    struct read_job *j = user;
    struct consign_deb_info *info = NULL;
    struct store_pkg *p = NULL;
    char *full = NULL;
    struct stat sb;
    int rc, linked = 0;

    if ((rc = consign_deb_info_read_ext(ctx, j->files[i], j->hashes, &info)))
        goto out;
    if (!(p = consign_calloc(ctx, 1, sizeof(*p))) ||
        !(p->path = pool_path(ctx, j->component, consign_deb_info_get(info, "Package") ?: "",
                              consign_deb_info_get(info, "Version") ?: "",
                              consign_deb_info_get(info, "Architecture") ?: ""))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = pkg_from_info(ctx, p, info, j->files[i])))
        goto out;
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
    consign_deb_info_free(info);
    store_pkg_free(p);
    free(full);
    return rc;
}

static unsigned
hash_mask(int sha512)
{
    return (1u << CONSIGN_HASH_SHA256) | (sha512 ? 1u << CONSIGN_HASH_SHA512 : 0);
}

/* Fill p's name, version, arch and cached stanza from info. */
static int
pkg_from_info(struct consign_ctx *ctx, struct store_pkg *p, const struct consign_deb_info *info,
              const char *src)
{
    const char *name = consign_deb_info_get(info, "Package");
    const char *version = consign_deb_info_get(info, "Version");
    const char *arch = consign_deb_info_get(info, "Architecture");
    struct consign_buf stanza;
    int rc = 0;

    consign_buf_init(&stanza, STANZA_MAX);
    if (!deb_name_ok(name)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: Package: not a valid name: %s", src, name);
        goto out;
    }
    if (!consign_deb_version_ok(version)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: Version: not a valid version: %s", src,
                          version);
        goto out;
    }
    if (!arch_ok(arch)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: Architecture: not valid: %s", src, arch);
        goto out;
    }
    free(p->name);
    free(p->version);
    free(p->arch);
    p->name = p->version = p->arch = NULL;
    if (!(p->name = consign_strdup(ctx, name)) || !(p->version = consign_strdup(ctx, version)) ||
        !(p->arch = consign_strdup(ctx, arch))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    snprintf(p->sha256, sizeof(p->sha256), "%s",
             consign_deb_info_digest(info, CONSIGN_HASH_SHA256));
    p->flags = consign_deb_info_digest(info, CONSIGN_HASH_SHA512) ? STORE_PKG_SHA512 : 0;
    if ((rc = consign_deb_info_stanza(ctx, info, p->path, 1, &stanza)) ||
        (rc = store_blob_set(ctx, p, 0, stanza.data ? stanza.data : "", stanza.len)))
        goto out;
out:
    consign_buf_free(&stanza);
    return rc;
}

struct ver_ref {
    struct store_pkg *p;
};

static int
cmp_newest_first(const void *a, const void *b)
{
    const struct store_pkg *x = *(struct store_pkg *const *)a, *y = *(struct store_pkg *const *)b;
    return -consign_deb_vercmp(x->version, y->version);
}

/* Keep the newest keep versions of name/arch in suite/component. */
static int
apply_keep(struct consign_ctx *ctx, struct store *st, const char *suite, const char *component,
           const char *name, const char *arch, unsigned keep)
{
    struct store_pkg **v = NULL;
    size_t n = 0;
    int rc = 0;

    if (!keep)
        return 0;
    if (!(v = consign_calloc(ctx, st->npkgs + 1, sizeof(*v))))
        return CONSIGN_E_NOMEM;
    for (size_t i = 0; i < st->npkgs; i++) {
        struct store_pkg *p = st->pkgs[i];
        if (strcmp(p->name, name) == 0 && strcmp(p->arch, arch) == 0 &&
            store_member_has(p, suite, component))
            v[n++] = p;
    }
    if (n <= keep)
        goto out;
    qsort(v, n, sizeof(*v), cmp_newest_first);
    for (size_t i = keep; i < n; i++) {
        consign_log(ctx, CONSIGN_LOG_INFO, "%s/%s: %s %s %s: dropped (keeping the newest %u)",
                    suite, component, v[i]->name, v[i]->version, v[i]->arch, keep);
        store_member_del(v[i], suite, component);
    }
    for (size_t i = st->npkgs; i-- > 0;)
        if (st->pkgs[i]->nmembers == 0 && (rc = store_remove(ctx, st, i)))
            goto out;
out:
    free(v);
    return rc;
}

int
consign_repo_apt_add(struct consign_ctx *ctx, const char *root,
                     const struct consign_apt_add_opts *opts, const char *const *files,
                     size_t nfiles)
{
    const char *component = opts->component ? opts->component : "main";
    struct store *st = NULL;
    struct read_job job;
    struct store_pkg **newp = NULL;
    char **created = NULL, *full = NULL, **names = NULL;
    size_t ncreated = 0;
    struct stat sb;
    int rc = 0, sha512;

    memset(&job, 0, sizeof(job));
    if ((rc = check_dist(ctx, "suite", opts->suite)) ||
        (rc = check_dist(ctx, "component", component)))
        goto out;
    if (!nfiles) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "no packages given");
        goto out;
    }
    if ((rc = store_open(ctx, root, STORE_APT, 1, &st)))
        goto out;
    sha512 = store_get(st, "sha512") && strcmp(store_get(st, "sha512"), "1") == 0;
    if (!(newp = consign_calloc(ctx, nfiles, sizeof(*newp))) ||
        !(job.linked = consign_calloc(ctx, nfiles, 1)) ||
        !(names = consign_calloc(ctx, 2 * nfiles, sizeof(*names))) ||
        !(created = consign_calloc(ctx, nfiles, sizeof(*created)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    job = (struct read_job){st, root, component, files, newp, job.linked, hash_mask(sha512)};
    /* 1. Read every file (in parallel), new ones linked into the pool: nothing
     * else changes until all are good, and those links go again if not. */
    rc = store_parallel(ctx, nfiles, read_one, &job);
    for (size_t i = 0; i < nfiles; i++)
        if (job.linked[i] && newp[i] &&
            !(created[ncreated++] = consign_asprintf(ctx, "%s/%s", root, newp[i]->path)) && !rc)
            rc = CONSIGN_E_NOMEM;
    if (rc)
        goto out;
    /* 2. Check each against the repository and the others. */
    for (size_t i = 0; i < nfiles; i++) {
        const struct store_pkg *p = newp[i];
        for (size_t j = 0; j < st->npkgs; j++) {
            const struct store_pkg *q = st->pkgs[j];
            if (strcmp(q->name, p->name) == 0 && strcmp(q->arch, p->arch) == 0 &&
                consign_deb_vercmp(q->version, p->version) == 0 &&
                strcmp(q->sha256, p->sha256) != 0) {
                rc = consign_fail(ctx, CONSIGN_E_EXISTS,
                                  "%s: %s %s %s is already in the repository (%s) with other "
                                  "content; give the new build a new version",
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
    /* 3. Copy what is new and not linked yet into the pool. */
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
    /* 4. Record them. */
    for (size_t i = 0; i < nfiles; i++) {
        struct store_pkg *p = newp[i], *have = store_find(st, p->path);
        if (!(names[2 * i] = consign_strdup(ctx, p->name)) ||
            !(names[2 * i + 1] = consign_strdup(ctx, p->arch))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if (!have) {
            newp[i] = NULL;
            if ((rc = store_add(ctx, st, p)))
                goto out;
            have = p;
        }
        if ((rc = store_member_add(ctx, have, opts->suite, component)))
            goto out;
        store_drop_del(st, have->path);
        consign_log(ctx, CONSIGN_LOG_INFO, "%s/%s: %s %s %s", opts->suite, component, have->name,
                    have->version, have->arch);
    }
    for (size_t i = 0; i < nfiles; i++)
        if ((rc = apply_keep(ctx, st, opts->suite, component, names[2 * i], names[2 * i + 1],
                             opts->keep)))
            goto out;
    if ((rc = store_save(ctx, st)))
        goto out;
    ncreated = 0; /* kept */
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

int
consign_repo_apt_remove(struct consign_ctx *ctx, const char *root, const char *suite,
                        const char *component, const char *const *specs, size_t nspecs,
                        size_t *removed)
{
    struct store *st = NULL;
    int rc = 0;

    *removed = 0;
    if ((rc = check_dist(ctx, "suite", suite)) ||
        (component && (rc = check_dist(ctx, "component", component))))
        goto out;
    if ((rc = store_open(ctx, root, STORE_APT, 0, &st)))
        goto out;
    for (size_t s = 0; s < nspecs; s++) {
        const char *eq = strchr(specs[s], '=');
        size_t nlen = eq ? (size_t)(eq - specs[s]) : strlen(specs[s]);
        size_t hits = 0;
        for (size_t i = 0; i < st->npkgs; i++) {
            struct store_pkg *p = st->pkgs[i];
            if (strlen(p->name) != nlen || strncmp(p->name, specs[s], nlen) != 0 ||
                (eq && consign_deb_vercmp(p->version, eq + 1) != 0))
                continue;
            for (size_t m = p->nmembers; m-- > 0;) {
                if (strcmp(p->members[m].suite, suite) != 0 ||
                    (component && strcmp(p->members[m].component, component) != 0))
                    continue;
                consign_log(ctx, CONSIGN_LOG_INFO, "%s/%s: %s %s %s: removed", suite,
                            p->members[m].component, p->name, p->version, p->arch);
                store_member_del(p, p->members[m].suite, p->members[m].component);
                hits++;
            }
        }
        if (!hits) {
            rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s: not in suite %s%s%s", specs[s], suite,
                              component ? "/" : "", component ? component : "");
            goto out;
        }
        *removed += hits;
    }
    for (size_t i = st->npkgs; i-- > 0;)
        if (st->pkgs[i]->nmembers == 0 && (rc = store_remove(ctx, st, i)))
            goto out;
    rc = store_save(ctx, st);
out:
    store_close(st);
    if (rc)
        *removed = 0;
    return rc;
}

struct member_ref {
    const struct store_pkg *p;
    const struct store_member *m;
};

static int
cmp_member(const void *a, const void *b)
{
    const struct member_ref *x = a, *y = b;
    int c;

    if ((c = strcmp(x->m->suite, y->m->suite)) || (c = strcmp(x->m->component, y->m->component)) ||
        (c = strcmp(x->p->name, y->p->name)) ||
        (c = consign_deb_vercmp(x->p->version, y->p->version)))
        return c;
    return strcmp(x->p->arch, y->p->arch);
}

int
consign_repo_apt_list(struct consign_ctx *ctx, const char *root, const char *suite,
                      consign_repo_list_fn fn, void *user)
{
    struct store *st = NULL;
    struct member_ref *refs = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if ((rc = store_open(ctx, root, STORE_APT, 0, &st)))
        goto out;
    for (size_t i = 0; i < st->npkgs; i++)
        cap += st->pkgs[i]->nmembers;
    if (!(refs = consign_calloc(ctx, cap + 1, sizeof(*refs)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < st->npkgs; i++)
        for (size_t m = 0; m < st->pkgs[i]->nmembers; m++)
            if (!suite || strcmp(st->pkgs[i]->members[m].suite, suite) == 0) {
                refs[n].p = st->pkgs[i];
                refs[n++].m = &st->pkgs[i]->members[m];
            }
    qsort(refs, n, sizeof(*refs), cmp_member);
    for (size_t i = 0; i < n; i++) {
        struct consign_repo_entry e = {refs[i].m->suite,   refs[i].m->component, refs[i].p->name,
                                       refs[i].p->version, refs[i].p->arch,      refs[i].p->path};
        if ((rc = fn(ctx, user, &e)))
            goto out;
    }
out:
    free(refs);
    store_close(st);
    return rc;
}

/* --- publish ------------------------------------------------------------------- */

struct index_job {
    const char *suite, *component, *arch;
    char *dir;     /* dists/SUITE/COMPONENT/binary-ARCH, relative */
    char *fulldir; /* the same under the root */
    struct idx_out out;
    int done;
};

struct publish {
    struct store *st;
    const char *root;
    int sha512; /* SHA512 in the Packages stanzas (Release always has it) */
    char **suites;
    size_t nsuites;
    int *chosen; /* per suite: published this time */
    char *archs[MAX_ARCHS];
    size_t narchs;
    char *comps[MAX_COMPS]; /* of every suite, owned; jobs borrow them */
    size_t ncomps;
    struct index_job *jobs;
    size_t njobs;
    struct store_pkg **recheck;
    size_t nrecheck;
    char *cachedir; /* compressed chunks of the indexes: ROOT/.consign/chunks-apt */
};

static int
recheck_one(struct consign_ctx *ctx, void *user, size_t i)
{
    struct publish *pb = user;
    struct store_pkg *p = pb->recheck[i];
    struct consign_deb_info *info = NULL;
    char *full = NULL, *oldname = NULL, *oldver = NULL, *oldarch = NULL, oldsha[65];
    struct stat sb;
    int rc = 0;

    if (!(full = consign_asprintf(ctx, "%s/%s", pb->root, p->path))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_deb_info_read_ext(ctx, full, hash_mask(pb->sha512), &info)))
        goto out;
    if (stat(full, &sb) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", full);
        goto out;
    }
    memcpy(oldsha, p->sha256, sizeof(oldsha));
    if (!(oldname = consign_strdup(ctx, p->name)) || !(oldver = consign_strdup(ctx, p->version)) ||
        !(oldarch = consign_strdup(ctx, p->arch))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = pkg_from_info(ctx, p, info, full)))
        goto out;
    if (strcmp(oldsha, p->sha256) != 0 || strcmp(oldname, p->name) != 0 ||
        strcmp(oldver, p->version) != 0 || strcmp(oldarch, p->arch) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID,
                          "%s: changed since it was added (other content); add the package "
                          "again or restore the file",
                          full);
        goto out;
    }
    store_identity_set(p, &sb);
out:
    consign_deb_info_free(info);
    free(full);
    free(oldname);
    free(oldver);
    free(oldarch);
    return rc;
}

static int
cmp_index_order(const void *a, const void *b)
{
    const struct store_pkg *x = *(struct store_pkg *const *)a, *y = *(struct store_pkg *const *)b;
    int c;

    if ((c = strcmp(x->name, y->name)) || (c = consign_deb_vercmp(x->version, y->version)))
        return c;
    return strcmp(x->arch, y->arch);
}

/* Write one Packages index (plain, gz, xz) under temporary names. */
static int
index_one(struct consign_ctx *ctx, void *user, size_t i)
{
    struct publish *pb = user;
    struct index_job *j = &pb->jobs[i];
    struct store_pkg **v = NULL;
    size_t n = 0;
    int rc = 0;

    if (!(v = consign_calloc(ctx, pb->st->npkgs + 1, sizeof(*v))))
        return CONSIGN_E_NOMEM;
    for (size_t k = 0; k < pb->st->npkgs; k++) {
        struct store_pkg *p = pb->st->pkgs[k];
        if ((strcmp(p->arch, j->arch) == 0 || strcmp(p->arch, "all") == 0) &&
            store_member_has(p, j->suite, j->component))
            v[n++] = p;
    }
    qsort(v, n, sizeof(*v), cmp_index_order);
    if ((rc = idx_open_chunked(ctx, &j->out, j->fulldir, packages_fmts, NFMTS, 1, pb->cachedir)))
        goto out;
    for (size_t k = 0; k < n; k++) {
        const char *s = v[k]->blob[0];
        size_t len = v[k]->bloblen[0];
        /* The cached stanza carries SHA512 when it was computed; drop it
         * unless this repository publishes it. */
        const char *cut = pb->sha512 ? NULL : memmem(s, len, "\nSHA512: ", 9);
        if (cut) {
            const char *eol = memchr(cut + 1, '\n', (size_t)(s + len - cut - 1));
            if ((rc = idx_write(ctx, &j->out, s, (size_t)(cut - s) + 1)))
                goto out;
            if (eol && (rc = idx_write(ctx, &j->out, eol + 1, (size_t)(s + len - eol - 1))))
                goto out;
        } else if ((rc = idx_write(ctx, &j->out, s, len))) {
            goto out;
        }
        if ((rc = idx_write(ctx, &j->out, "\n", 1)))
            goto out;
        if (idx_boundary(v[k]->name, k + 1 < n ? v[k + 1]->name : NULL) &&
            (rc = idx_cut(ctx, &j->out)))
            goto out;
    }
    if ((rc = idx_finish(ctx, &j->out)))
        goto out;
    j->done = 1;
out:
    free(v);
    if (rc)
        rc = consign_err_context(ctx, rc, "%s", j->dir);
    return rc;
}

static int
has_str(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

/* Split a space-separated list (of at most max items) into out (strdup'ed). */
static int
split_list(struct consign_ctx *ctx, const char *s, char **out, size_t max, size_t *n)
{
    const char *p = s;

    *n = 0;
    while (*p) {
        size_t len;
        while (*p == ' ' || *p == ',')
            p++;
        len = strcspn(p, " ,");
        if (!len)
            break;
        if (*n == max)
            return consign_fail(ctx, CONSIGN_E_INVALID, "too many items in \"%s\"", s);
        if (!(out[*n] = consign_strndup(ctx, p, len)))
            return CONSIGN_E_NOMEM;
        (*n)++;
        p += len;
    }
    return 0;
}

/* A setting from opts, else the recorded one, else def; recorded afterwards. */
static int
setting(struct consign_ctx *ctx, struct store *st, const char *key, const char *given,
        const char *def, const char **out)
{
    int rc;

    if (given && *given && (rc = store_set(ctx, st, key, given)))
        return rc;
    *out = store_get(st, key);
    if (!*out && def) {
        if ((rc = store_set(ctx, st, key, def)))
            return rc;
        *out = store_get(st, key);
    }
    return 0;
}

static int
release_text(struct consign_ctx *ctx, struct publish *pb, const char *suite, const char *origin,
             const char *label, const char *description, long long now, long long valid,
             struct consign_buf *b)
{
    char date[40], until[40];
    char *comps[64];
    size_t ncomps = 0;
    int rc = 0;

    publish_rfc1123(now, date);
    publish_rfc1123(now + valid, until);
    for (size_t i = 0; i < pb->njobs; i++)
        if (strcmp(pb->jobs[i].suite, suite) == 0 &&
            !has_str(comps, ncomps, pb->jobs[i].component) && ncomps < 64)
            comps[ncomps++] = (char *)pb->jobs[i].component;
    if ((rc = consign_buf_printf(ctx, b,
                                 "Origin: %s\nLabel: %s\nSuite: %s\nCodename: %s\nDate: %s\n",
                                 origin, label, suite, suite, date)) ||
        (valid > 0 && (rc = consign_buf_printf(ctx, b, "Valid-Until: %s\n", until))) ||
        (rc = consign_buf_puts(ctx, b, "Architectures:")))
        goto out;
    for (size_t i = 0; i < pb->narchs; i++)
        if ((rc = consign_buf_printf(ctx, b, " %s", pb->archs[i])))
            goto out;
    if ((rc = consign_buf_puts(ctx, b, "\nComponents:")))
        goto out;
    for (size_t i = 0; i < ncomps; i++)
        if ((rc = consign_buf_printf(ctx, b, " %s", comps[i])))
            goto out;
    if ((rc = consign_buf_puts(ctx, b, "\n")) ||
        (description && *description &&
         (rc = consign_buf_printf(ctx, b, "Description: %s\n", description))) ||
        (rc = consign_buf_puts(ctx, b, "Acquire-By-Hash: yes\n")))
        goto out;
    for (int h = 0; h < 2; h++) {
        if ((rc = consign_buf_puts(ctx, b, h ? "SHA512:\n" : "SHA256:\n")))
            goto out;
        for (size_t i = 0; i < pb->njobs; i++) {
            const struct index_job *j = &pb->jobs[i];
            if (strcmp(j->suite, suite) != 0)
                continue;
            for (size_t f = 0; f < j->out.nf; f++) {
                const struct idx_file *x = &j->out.f[f];
                if ((rc = consign_buf_printf(ctx, b, " %s %16llu %s/binary-%s/Packages%s\n",
                                             h ? x->sha512 : x->sha256, x->size, j->component,
                                             j->arch, idx_suffix(x->fmt))))
                    goto out;
            }
        }
    }
out:
    return rc;
}

/* Remove every by-hash file of dir that no kept generation lists, and our
 * temporary files left by a killed publish. */
static void
prune_dir(struct consign_ctx *ctx, struct store *st, const char *root, const char *dir)
{
    static const char *const sub[] = {"by-hash/SHA256", "by-hash/SHA512", ""};
    for (size_t s = 0; s < 3; s++) {
        char *path = consign_asprintf(ctx, "%s/%s/%s", root, dir, sub[s]);
        DIR *d = path ? opendir(path) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.' && !publish_is_tmp(de->d_name))
                continue;
            if (sub[s][0] ? store_gen_keeps(st, dir, de->d_name) : !publish_is_tmp(de->d_name))
                continue;
            char *f = consign_asprintf(ctx, "%s/%s", path, de->d_name);
            if (f && unlinkat(dirfd(d), de->d_name, 0) == 0)
                consign_log(ctx, CONSIGN_LOG_DEBUG, "removed %s", f);
            free(f);
        }
        if (d)
            closedir(d);
        free(path);
    }
}

/* Release, Release.gpg and InRelease of each chosen suite, under temporary
 * names in dists/SUITE; all signatures in one signing session. */
static int
write_releases(struct consign_ctx *ctx, struct publish *pb,
               const struct consign_apt_publish_opts *opts, const char *origin, const char *label,
               const char *desc, long long now, long long valid)
{
    struct consign_sign_opts detached = {CONSIGN_SIG_DETACHED, 1, now};
    struct consign_sign_opts clear = {CONSIGN_SIG_CLEARSIGN, 1, now};
    struct consign_buf *bufs = NULL; /* per suite: Release, Release.gpg, InRelease */
    struct consign_sign_job *jobs = NULL;
    static const char *const names[] = {"Release", "Release.gpg", "InRelease"};
    size_t njobs = 0;
    char *path = NULL;
    int rc = 0;

    if (!(bufs = consign_calloc(ctx, 3 * pb->nsuites + 1, sizeof(*bufs))) ||
        !(jobs = consign_calloc(ctx, 2 * pb->nsuites + 1, sizeof(*jobs)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < 3 * pb->nsuites; i++)
        consign_buf_init(&bufs[i], 64u << 20);
    for (size_t s = 0; s < pb->nsuites; s++) {
        struct consign_buf *b = &bufs[3 * s];
        if (!pb->chosen[s])
            continue;
        if ((rc = release_text(ctx, pb, pb->suites[s], origin, label, desc, now, valid, b)))
            goto out;
        jobs[njobs++] = (struct consign_sign_job){&detached, b->data, b->len, NULL, NULL, b + 1};
        jobs[njobs++] = (struct consign_sign_job){&clear, b->data, b->len, NULL, NULL, b + 2};
    }
    if ((rc = consign_keys_sign_batch(ctx, opts->keydir, opts->passphrase, jobs, njobs)))
        goto out;
    for (size_t s = 0; s < pb->nsuites; s++) {
        if (!pb->chosen[s])
            continue;
        for (size_t k = 0; k < 3; k++) {
            const struct consign_buf *b = &bufs[3 * s + k];
            free(path);
            if (!(path = consign_asprintf(ctx, "%s/dists/%s/.consign-tmp.%s", pb->root,
                                          pb->suites[s], names[k]))) {
                rc = CONSIGN_E_NOMEM;
                goto out;
            }
            if ((rc = consign_file_write_atomic(ctx, path, b->data ? b->data : "", b->len, 0644)))
                goto out;
        }
    }
out:
    if (bufs)
        for (size_t i = 0; i < 3 * pb->nsuites; i++)
            consign_buf_free(&bufs[i]);
    free(bufs);
    free(jobs);
    free(path);
    return rc;
}

static int
customer_files(struct consign_ctx *ctx, struct publish *pb,
               const struct consign_apt_publish_opts *opts)
{
    char *gpg = NULL, *asc = NULL, *fpr = NULL, *path = NULL, *text = NULL;
    const char *name = opts->name, *url = opts->url;
    int rc = 0;

    if (!name || !url)
        return 0;
    if (!deb_name_ok(name)) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "--name %s: use a package-style name", name);
        goto out;
    }
    if ((rc = publish_url_ok(ctx, url)))
        goto out;
    if (!(gpg = consign_asprintf(ctx, "%s/%s.gpg", pb->root, name)) ||
        !(asc = consign_asprintf(ctx, "%s/%s.asc", pb->root, name)) ||
        !(fpr = consign_asprintf(ctx, "%s/%s.fingerprint", pb->root, name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = publish_key_files(ctx, opts->keydir, gpg, asc, fpr)))
        goto out;
    for (size_t s = 0; s < pb->nsuites; s++) {
        const char *suite = pb->suites[s];
        struct consign_buf comps;
        consign_buf_init(&comps, 4096);
        for (size_t i = 0; i < pb->njobs && !rc; i++)
            if (strcmp(pb->jobs[i].suite, suite) == 0 &&
                !(comps.len && strstr(comps.data, pb->jobs[i].component)))
                rc = consign_buf_printf(ctx, &comps, "%s%s", comps.len ? " " : "",
                                        pb->jobs[i].component);
        for (int form = 0; form < 2 && !rc; form++) {
            free(path);
            free(text);
            text = NULL;
            path = pb->nsuites == 1 ? consign_asprintf(ctx, "%s/%s.%s", pb->root, name,
                                                       form ? "list" : "sources")
                                    : consign_asprintf(ctx, "%s/%s-%s.%s", pb->root, name, suite,
                                                       form ? "list" : "sources");
            if (form == 0)
                text = consign_asprintf(ctx,
                                        "Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n"
                                        "Signed-By: /etc/apt/keyrings/%s.gpg\n",
                                        url, suite, comps.data ? comps.data : "main", name);
            else
                text = consign_asprintf(ctx, "deb [signed-by=/etc/apt/keyrings/%s.gpg] %s %s %s\n",
                                        name, url, suite, comps.data ? comps.data : "main");
            if (!path || !text)
                rc = CONSIGN_E_NOMEM;
            else
                rc = publish_text(ctx, path, text);
        }
        consign_buf_free(&comps);
        if (rc)
            goto out;
    }
out:
    free(gpg);
    free(asc);
    free(fpr);
    free(path);
    free(text);
    return rc;
}

int
consign_repo_apt_publish(struct consign_ctx *ctx, const char *root,
                         const struct consign_apt_publish_opts *opts)
{
    struct publish pb;
    struct consign_buf release;
    const char *origin, *label, *archs, *desc, *v;
    char num[32], *path = NULL, *rel = NULL, *gpgf = NULL, *inrel = NULL, *tmpdir = NULL;
    char **names = NULL;
    long long now, now_real, valid;
    unsigned keep;
    int rc = 0;

    memset(&pb, 0, sizeof(pb));
    consign_buf_init(&release, 64u << 20);
    pb.root = root;
    if (!opts->keydir) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "a key directory is needed to sign");
        goto out;
    }
    if ((rc = store_open(ctx, root, STORE_APT, 0, &pb.st)))
        goto out;
    /* Settings: given, else recorded, else the default; all recorded. */
    if ((rc = setting(ctx, pb.st, "origin", opts->origin, opts->name ? opts->name : "consign",
                      &origin)) ||
        (rc = setting(ctx, pb.st, "label", opts->label, origin, &label)) ||
        (rc = setting(ctx, pb.st, "architectures", opts->architectures, DEFAULT_ARCHS, &archs)) ||
        (rc = setting(ctx, pb.st, "description", opts->description, NULL, &desc)))
        goto out;
    if (opts->valid_seconds >= 0) {
        snprintf(num, sizeof(num), "%lld", opts->valid_seconds);
        if ((rc = store_set(ctx, pb.st, "valid-seconds", num)))
            goto out;
    }
    v = store_get(pb.st, "valid-seconds");
    valid = v ? atoll(v) : DEFAULT_VALID;
    if (opts->sha512 >= 0 && (rc = store_set(ctx, pb.st, "sha512", opts->sha512 ? "1" : "0")))
        goto out;
    pb.sha512 = store_get(pb.st, "sha512") && strcmp(store_get(pb.st, "sha512"), "1") == 0;
    keep = opts->by_hash_keep ? opts->by_hash_keep : DEFAULT_BYHASH_KEEP;
    if (keep < 2)
        keep = 2; /* the generation a client may still hold must stay */
    if ((rc = split_list(ctx, archs, pb.archs, MAX_ARCHS, &pb.narchs)))
        goto out;
    for (size_t i = 0; i < pb.narchs; i++)
        if (!arch_ok(pb.archs[i]) || strcmp(pb.archs[i], "all") == 0) {
            rc = consign_fail(ctx, CONSIGN_E_USAGE,
                              "architecture %s: not allowed (\"all\" packages are folded into "
                              "each architecture's index)",
                              pb.archs[i]);
            goto out;
        }
    if ((rc = publish_now(ctx, &now)))
        goto out;
    now_real = (long long)time(NULL) - 1; /* cached chunks not used from here on are pruned */

    /* 1. Every package still what was added? Re-read only those whose file
     * identity changed (or that lack a digest now asked for). */
    if (!(pb.recheck = consign_calloc(ctx, pb.st->npkgs + 1, sizeof(*pb.recheck)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < pb.st->npkgs; i++) {
        struct store_pkg *p = pb.st->pkgs[i];
        struct stat sb;
        free(path);
        if (!(path = consign_asprintf(ctx, "%s/%s", root, p->path))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if (stat(path, &sb) < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", path);
            goto out;
        }
        if (!store_identity_same(p, &sb) || (pb.sha512 && !(p->flags & STORE_PKG_SHA512)))
            pb.recheck[pb.nrecheck++] = p;
        else if (strcmp(p->arch, "all") != 0 && !has_str(pb.archs, pb.narchs, p->arch)) {
            rc = consign_fail(ctx, CONSIGN_E_INVALID,
                              "%s: architecture %s is not among the repository's (%s); publish "
                              "with --architectures",
                              p->path, p->arch, archs);
            goto out;
        }
    }
    if (pb.nrecheck) {
        consign_log(ctx, CONSIGN_LOG_INFO, "reading %zu package(s) that changed on disk",
                    pb.nrecheck);
        if ((rc = store_parallel(ctx, pb.nrecheck, recheck_one, &pb)))
            goto out;
    }

    /* 2. Suites and components: those with packages and those published before. */
    if (!(pb.suites = consign_calloc(ctx, 1024, sizeof(*pb.suites)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    {
        const char *known = store_get(pb.st, "suites");
        char *ks[256];
        size_t nk = 0;
        if (known && (rc = split_list(ctx, known, ks, 256, &nk)))
            goto out;
        for (size_t i = 0; i < nk; i++)
            pb.suites[pb.nsuites++] = ks[i];
        for (size_t i = 0; i < pb.st->npkgs; i++)
            for (size_t m = 0; m < pb.st->pkgs[i]->nmembers; m++) {
                const char *s = pb.st->pkgs[i]->members[m].suite;
                if (!has_str(pb.suites, pb.nsuites, s) && pb.nsuites < 1024 &&
                    !(pb.suites[pb.nsuites++] = consign_strdup(ctx, s))) {
                    rc = CONSIGN_E_NOMEM;
                    goto out;
                }
            }
    }
    if (!pb.nsuites) {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s: nothing to publish (add packages first)",
                          root);
        goto out;
    }
    for (size_t i = 0; i < opts->nsuites; i++)
        if (!has_str(pb.suites, pb.nsuites, opts->suites[i])) {
            rc =
                consign_fail(ctx, CONSIGN_E_NOTFOUND, "suite %s: not in %s", opts->suites[i], root);
            goto out;
        }
    {
        struct consign_buf all;
        consign_buf_init(&all, 1u << 20);
        for (size_t i = 0; i < pb.nsuites && !rc; i++)
            rc = consign_buf_printf(ctx, &all, "%s%s", i ? " " : "", pb.suites[i]);
        if (!rc)
            rc = store_set(ctx, pb.st, "suites", all.data);
        consign_buf_free(&all);
        if (rc)
            goto out;
    }
    if (!(pb.jobs = consign_calloc(ctx, MAX_COMPS * pb.narchs + 1, sizeof(*pb.jobs)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!(pb.chosen = consign_calloc(ctx, pb.nsuites, sizeof(*pb.chosen)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (size_t s = 0; s < pb.nsuites; s++) {
        char key[128], *comps[64];
        size_t nc = 0;
        const char *known;
        int chosen = !opts->nsuites;
        for (size_t i = 0; i < opts->nsuites; i++)
            chosen |= strcmp(opts->suites[i], pb.suites[s]) == 0;
        pb.chosen[s] = chosen;
        snprintf(key, sizeof(key), "components.%s", pb.suites[s]);
        known = store_get(pb.st, key);
        if (known && (rc = split_list(ctx, known, comps, 64, &nc)))
            goto out;
        for (size_t i = 0; i < pb.st->npkgs; i++)
            for (size_t m = 0; m < pb.st->pkgs[i]->nmembers; m++) {
                const struct store_member *mm = &pb.st->pkgs[i]->members[m];
                if (strcmp(mm->suite, pb.suites[s]) == 0 && !has_str(comps, nc, mm->component)) {
                    if (nc == 64) {
                        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "suite %s: over 64 components",
                                          pb.suites[s]);
                        goto out;
                    }
                    if (!(comps[nc++] = consign_strdup(ctx, mm->component))) {
                        rc = CONSIGN_E_NOMEM;
                        goto out;
                    }
                }
            }
        {
            struct consign_buf cl;
            consign_buf_init(&cl, 1u << 16);
            for (size_t c = 0; c < nc && !rc; c++)
                rc = consign_buf_printf(ctx, &cl, "%s%s", c ? " " : "", comps[c]);
            if (!rc && cl.len)
                rc = store_set(ctx, pb.st, key, cl.data);
            consign_buf_free(&cl);
        }
        for (size_t c = 0; c < nc && !rc; c++) {
            if (pb.ncomps == MAX_COMPS) {
                rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "over %d components", MAX_COMPS);
                break;
            }
            pb.comps[pb.ncomps++] = comps[c]; /* owned by pb from now on */
            comps[c] = NULL;
            for (size_t a = 0; a < pb.narchs && !rc && chosen; a++) {
                struct index_job *j = &pb.jobs[pb.njobs++];
                j->suite = pb.suites[s];
                j->component = pb.comps[pb.ncomps - 1];
                j->arch = pb.archs[a];
                if (!(j->dir = consign_asprintf(ctx, "dists/%s/%s/binary-%s", j->suite,
                                                j->component, j->arch)) ||
                    !(j->fulldir = consign_asprintf(ctx, "%s/%s", root, j->dir)))
                    rc = CONSIGN_E_NOMEM;
            }
        }
        for (size_t c = 0; c < nc; c++)
            free(comps[c]);
        if (rc)
            goto out;
    }

    /* 3. The indexes, under temporary names (in parallel). */
    if (!(pb.cachedir = consign_asprintf(ctx, "%s/chunks-apt", pb.st->statedir))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = store_parallel(ctx, pb.njobs, index_one, &pb)))
        goto out;
    /* 4. Under their by-hash names. */
    for (size_t i = 0; i < pb.njobs; i++) {
        struct index_job *j = &pb.jobs[i];
        char *hashdir256 = consign_asprintf(ctx, "%s/by-hash/SHA256", j->fulldir);
        char *hashdir512 = consign_asprintf(ctx, "%s/by-hash/SHA512", j->fulldir);
        if (!hashdir256 || !hashdir512 || (rc = consign_mkdirs(ctx, hashdir256, 0755)) ||
            (rc = consign_mkdirs(ctx, hashdir512, 0755))) {
            rc = rc ? rc : CONSIGN_E_NOMEM;
        }
        for (size_t f = 0; f < j->out.nf && !rc; f++) {
            struct idx_file *x = &j->out.f[f];
            char *d256 = consign_asprintf(ctx, "%s/%s", hashdir256, x->sha256);
            char *d512 = consign_asprintf(ctx, "%s/%s", hashdir512, x->sha512);
            if (!d256 || !d512)
                rc = CONSIGN_E_NOMEM;
            else if (!(rc = idx_place(ctx, &j->out, f, d256)))
                rc = publish_link_replace(ctx, d256, d512);
            free(d256);
            free(d512);
        }
        if (!rc)
            rc = publish_sync_dir(ctx, hashdir256);
        free(hashdir256);
        free(hashdir512);
        if (rc)
            goto out;
    }
    /* 5. Release, signed, under temporary names; then the generation is recorded. */
    if ((rc = write_releases(ctx, &pb, opts, origin, label, desc, now, valid)))
        goto out;
    for (size_t i = 0; i < pb.njobs; i++) {
        struct index_job *j = &pb.jobs[i];
        size_t n = 0;
        free(names);
        if (!(names = consign_calloc(ctx, 2 * IDX_MAX_FILES, sizeof(*names)))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        for (size_t f = 0; f < j->out.nf; f++) {
            names[n++] = j->out.f[f].sha256;
            names[n++] = j->out.f[f].sha512;
        }
        if ((rc = store_gen_push(ctx, pb.st, j->dir, names, n, keep)))
            goto out;
    }
    if ((rc = store_save(ctx, pb.st)))
        goto out;
    /* 6. The switch: plain index names, then Release.gpg, Release, InRelease. */
    for (size_t i = 0; i < pb.njobs; i++) {
        struct index_job *j = &pb.jobs[i];
        for (size_t f = 0; f < j->out.nf; f++) {
            char *src =
                consign_asprintf(ctx, "%s/by-hash/SHA256/%s", j->fulldir, j->out.f[f].sha256);
            char *dst =
                consign_asprintf(ctx, "%s/Packages%s", j->fulldir, idx_suffix(j->out.f[f].fmt));
            rc = src && dst ? publish_link_replace(ctx, src, dst) : CONSIGN_E_NOMEM;
            free(src);
            free(dst);
            if (rc)
                goto out;
        }
        if ((rc = publish_sync_dir(ctx, j->fulldir)))
            goto out;
    }
    for (size_t s = 0; s < pb.nsuites; s++) {
        static const char *const order[] = {"Release.gpg", "Release", "InRelease"};
        if (!pb.chosen[s])
            continue;
        for (size_t k = 0; k < 3; k++) {
            char *src =
                consign_asprintf(ctx, "%s/dists/%s/.consign-tmp.%s", root, pb.suites[s], order[k]);
            char *dst = consign_asprintf(ctx, "%s/dists/%s/%s", root, pb.suites[s], order[k]);
            if (!src || !dst)
                rc = CONSIGN_E_NOMEM;
            else if (!(rc = publish_newer_mtime(ctx, src, dst)) && rename(src, dst) < 0)
                rc = consign_fail_errno(ctx, errno, "%s", dst);
            free(src);
            free(dst);
            if (rc)
                goto out;
        }
        free(path);
        if (!(path = consign_asprintf(ctx, "%s/dists/%s", root, pb.suites[s]))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = publish_sync_dir(ctx, path)))
            goto out;
        consign_log(ctx, CONSIGN_LOG_INFO, "published %s", pb.suites[s]);
    }
    /* 7. Clean up what no kept generation needs. */
    for (size_t i = 0; i < pb.njobs; i++)
        prune_dir(ctx, pb.st, root, pb.jobs[i].dir);
    /* Saved again only when dropped packages were forgotten: a database of
     * thousands of packages is megabytes to write and fsync. */
    if (store_drop_files(ctx, pb.st) && (rc = store_save(ctx, pb.st)))
        goto out;
    if (!opts->nsuites)
        idx_cache_prune(ctx, pb.cachedir, now_real);
    rc = customer_files(ctx, &pb, opts);
out:
    for (size_t i = 0; i < pb.ncomps; i++)
        free(pb.comps[i]);
    for (size_t i = 0; i < pb.njobs; i++) {
        struct index_job *j = &pb.jobs[i];
        free(j->dir);
        free(j->fulldir);
        idx_close(&j->out);
    }
    free(pb.jobs);
    for (size_t i = 0; i < pb.nsuites; i++)
        free(pb.suites[i]);
    free(pb.suites);
    free(pb.chosen);
    for (size_t i = 0; i < pb.narchs; i++)
        free(pb.archs[i]);
    free(pb.recheck);
    free(pb.cachedir);
    free(names);
    free(path);
    free(rel);
    free(gpgf);
    free(inrel);
    free(tmpdir);
    consign_buf_free(&release);
    store_close(pb.st);
    return rc;
}
