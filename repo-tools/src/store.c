/* The repository database (see store.h for the model).
 *
 * File format, version 1 (every token free of white space):
 *
 *     consign-repo-db 1 apt|yum
 *     set KEY VALUE...
 *     pkg PATH DEV INO SIZE MTIME_NS SHA256 FLAGS NAME VERSION ARCH NMEMBERS LEN0 LEN1 LEN2
 *     in SUITE COMPONENT            (NMEMBERS lines)
 *     <LEN0 + LEN1 + LEN2 bytes>\n
 *     gen DIR NAME...
 *     drop PATH
 *     end
 *
 * The file is our own output, but it lives on disk beside what is served, so
 * it is parsed like outside input: every length is checked against what is
 * left and a damaged file is refused with the line it broke on. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consign/fileio.h"

#define DB_MAGIC      "consign-repo-db"
#define DB_LINE_MAX   (64u << 10)
#define DB_TOKENS_MAX 4096

static const char *
kind_name(enum store_kind k)
{
    return k == STORE_APT ? "apt" : "yum";
}

int
store_token_ok(const char *s, int allow_slash)
{
    if (!s || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f)
            return 0;
        if (*p == '/' && !allow_slash)
            return 0;
    }
    if (allow_slash && (s[0] == '/' || strstr(s, "//") || strstr(s, "/../") ||
                        strncmp(s, "../", 3) == 0 || strstr(s, "/./")))
        return 0;
    return 1;
}

void
store_pkg_free(struct store_pkg *p)
{
    if (!p)
        return;
    free(p->path);
    free(p->name);
    free(p->version);
    free(p->arch);
    for (size_t i = 0; i < p->nmembers; i++) {
        free(p->members[i].suite);
        free(p->members[i].component);
    }
    free(p->members);
    for (int i = 0; i < STORE_BLOBS; i++)
        free(p->blob_owned[i]);
    free(p);
}

static void
gen_free(struct store_gen *g)
{
    free(g->dir);
    for (size_t i = 0; i < g->nnames; i++)
        free(g->names[i]);
    free(g->names);
}

void
store_close(struct store *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->npkgs; i++)
        store_pkg_free(st->pkgs[i]);
    free(st->pkgs);
    for (size_t i = 0; i < st->nsettings; i++) {
        free(st->keys[i]);
        free(st->values[i]);
    }
    free(st->keys);
    free(st->values);
    for (size_t i = 0; i < st->ngens; i++)
        gen_free(&st->gens[i]);
    free(st->gens);
    for (size_t i = 0; i < st->ndrops; i++)
        free(st->drops[i]);
    free(st->drops);
    if (st->map)
        munmap(st->map, st->maplen);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    free(st->root);
    free(st->statedir);
    free(st->dbpath);
    free(st);
}

const char *
store_get(const struct store *st, const char *key)
{
    for (size_t i = 0; i < st->nsettings; i++)
        if (strcmp(st->keys[i], key) == 0)
            return st->values[i];
    return NULL;
}

int
store_set(struct consign_ctx *ctx, struct store *st, const char *key, const char *value)
{
    char *v = NULL, *k = NULL, **nk, **nv;
    int rc = 0;

    if (!store_token_ok(key, 0) || strpbrk(value, "\n\r")) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "setting %s: bad value", key);
        goto out;
    }
    if (!(v = consign_strdup(ctx, value))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < st->nsettings; i++)
        if (strcmp(st->keys[i], key) == 0) {
            free(st->values[i]);
            st->values[i] = v;
            v = NULL;
            goto out;
        }
    if (!(k = consign_strdup(ctx, key)) ||
        !(nk = consign_reallocarray(ctx, st->keys, st->nsettings + 1, sizeof(*nk)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    st->keys = nk;
    if (!(nv = consign_reallocarray(ctx, st->values, st->nsettings + 1, sizeof(*nv)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    st->values = nv;
    st->keys[st->nsettings] = k;
    st->values[st->nsettings] = v;
    st->nsettings++;
    k = v = NULL;
out:
    free(k);
    free(v);
    return rc;
}

struct store_pkg *
store_find(const struct store *st, const char *path)
{
    for (size_t i = 0; i < st->npkgs; i++)
        if (strcmp(st->pkgs[i]->path, path) == 0)
            return st->pkgs[i];
    return NULL;
}

int
store_add(struct consign_ctx *ctx, struct store *st, struct store_pkg *p)
{
    struct store_pkg **n;

    if (st->npkgs == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        if (!(n = consign_reallocarray(ctx, st->pkgs, cap, sizeof(*n)))) {
            store_pkg_free(p);
            return CONSIGN_E_NOMEM;
        }
        st->pkgs = n;
        st->cap = cap;
    }
    st->pkgs[st->npkgs++] = p;
    store_drop_del(st, p->path);
    return 0;
}

int
store_remove(struct consign_ctx *ctx, struct store *st, size_t i)
{
    struct store_pkg *p = st->pkgs[i];
    int rc = store_drop_add(ctx, st, p->path);

    if (rc)
        return rc;
    memmove(&st->pkgs[i], &st->pkgs[i + 1], (st->npkgs - i - 1) * sizeof(*st->pkgs));
    st->npkgs--;
    store_pkg_free(p);
    return 0;
}

int
store_member_has(const struct store_pkg *p, const char *suite, const char *component)
{
    for (size_t i = 0; i < p->nmembers; i++)
        if (strcmp(p->members[i].suite, suite) == 0 &&
            strcmp(p->members[i].component, component) == 0)
            return 1;
    return 0;
}

int
store_member_add(struct consign_ctx *ctx, struct store_pkg *p, const char *suite,
                 const char *component)
{
    struct store_member *n;
    char *s = NULL, *c = NULL;

    if (store_member_has(p, suite, component))
        return 0;
    if (!(s = consign_strdup(ctx, suite)) || !(c = consign_strdup(ctx, component)) ||
        !(n = consign_reallocarray(ctx, p->members, p->nmembers + 1, sizeof(*n)))) {
        free(s);
        free(c);
        return CONSIGN_E_NOMEM;
    }
    p->members = n;
    p->members[p->nmembers].suite = s;
    p->members[p->nmembers].component = c;
    p->nmembers++;
    return 0;
}

void
store_member_del(struct store_pkg *p, const char *suite, const char *component)
{
    for (size_t i = 0; i < p->nmembers; i++)
        if (strcmp(p->members[i].suite, suite) == 0 &&
            strcmp(p->members[i].component, component) == 0) {
            free(p->members[i].suite);
            free(p->members[i].component);
            memmove(&p->members[i], &p->members[i + 1],
                    (p->nmembers - i - 1) * sizeof(*p->members));
            p->nmembers--;
            return;
        }
}

int
store_blob_set(struct consign_ctx *ctx, struct store_pkg *p, int i, const void *data, size_t len)
{
    char *copy = malloc(len + 1);

    if (!copy)
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    free(p->blob_owned[i]);
    p->blob_owned[i] = copy;
    p->blob[i] = copy;
    p->bloblen[i] = len;
    return 0;
}

void
store_blob_release(const struct store *st, const struct store_pkg *p, int i)
{
    const char *b = p->blob[i], *base = st->map;
    long pg = sysconf(_SC_PAGESIZE);
    size_t start, end;

    if (!base || pg <= 0 || b < base || b >= base + st->maplen || !p->bloblen[i])
        return;
    /* Whole pages inside the entry only: neighbours may be in use. */
    start = ((size_t)(b - base) + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
    end = ((size_t)(b - base) + p->bloblen[i]) / (size_t)pg * (size_t)pg;
    if (end > start)
        madvise((char *)base + start, end - start, MADV_DONTNEED);
}

int
store_identity_same(const struct store_pkg *p, const struct stat *st)
{
    long long ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    return p->dev == (unsigned long long)st->st_dev && p->ino == (unsigned long long)st->st_ino &&
           p->size == (unsigned long long)st->st_size && p->mtime_ns == ns;
}

void
store_identity_set(struct store_pkg *p, const struct stat *st)
{
    p->dev = (unsigned long long)st->st_dev;
    p->ino = (unsigned long long)st->st_ino;
    p->size = (unsigned long long)st->st_size;
    p->mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static struct store_gen *
gen_at(const struct store *st, const char *dir, size_t *idx)
{
    for (size_t i = 0; i < st->ngens; i++)
        if (strcmp(st->gens[i].dir, dir) == 0) {
            if (idx)
                *idx = i;
            return &st->gens[i];
        }
    return NULL;
}

/* Append one generation record (names copied). */
static int
gen_append(struct consign_ctx *ctx, struct store *st, const char *dir, char *const *names, size_t n)
{
    struct store_gen *g, *ng;
    int rc = 0;

    if (!(ng = consign_reallocarray(ctx, st->gens, st->ngens + 1, sizeof(*ng))))
        return CONSIGN_E_NOMEM;
    st->gens = ng;
    g = &st->gens[st->ngens];
    memset(g, 0, sizeof(*g));
    st->ngens++;
    if (!(g->dir = consign_strdup(ctx, dir)) ||
        (n && !(g->names = consign_calloc(ctx, n, sizeof(*g->names))))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(g->names[i] = consign_strdup(ctx, names[i]))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        g->nnames++;
    }
out:
    return rc;
}

int
store_gen_push(struct consign_ctx *ctx, struct store *st, const char *dir, char *const *names,
               size_t n, size_t keep)
{
    size_t count = 0, idx;
    int rc;

    if ((rc = gen_append(ctx, st, dir, names, n)))
        return rc;
    for (size_t i = 0; i < st->ngens; i++)
        count += strcmp(st->gens[i].dir, dir) == 0;
    while (count > keep && gen_at(st, dir, &idx)) {
        gen_free(&st->gens[idx]);
        memmove(&st->gens[idx], &st->gens[idx + 1], (st->ngens - idx - 1) * sizeof(*st->gens));
        st->ngens--;
        count--;
    }
    return 0;
}

int
store_gen_keeps(const struct store *st, const char *dir, const char *name)
{
    for (size_t i = 0; i < st->ngens; i++) {
        if (strcmp(st->gens[i].dir, dir) != 0)
            continue;
        for (size_t j = 0; j < st->gens[i].nnames; j++)
            if (strcmp(st->gens[i].names[j], name) == 0)
                return 1;
    }
    return 0;
}

int
store_drop_add(struct consign_ctx *ctx, struct store *st, const char *path)
{
    char **n, *d;

    for (size_t i = 0; i < st->ndrops; i++)
        if (strcmp(st->drops[i], path) == 0)
            return 0;
    if (!(d = consign_strdup(ctx, path)))
        return CONSIGN_E_NOMEM;
    if (!(n = consign_reallocarray(ctx, st->drops, st->ndrops + 1, sizeof(*n)))) {
        free(d);
        return CONSIGN_E_NOMEM;
    }
    st->drops = n;
    st->drops[st->ndrops++] = d;
    return 0;
}

void
store_drop_del(struct store *st, const char *path)
{
    for (size_t i = 0; i < st->ndrops; i++)
        if (strcmp(st->drops[i], path) == 0) {
            free(st->drops[i]);
            memmove(&st->drops[i], &st->drops[i + 1], (st->ndrops - i - 1) * sizeof(*st->drops));
            st->ndrops--;
            return;
        }
}

/* Delete pool files no package lists any more, and their empty directories. */
size_t
store_drop_files(struct consign_ctx *ctx, struct store *st)
{
    size_t before = st->ndrops;

    for (size_t i = st->ndrops; i-- > 0;) {
        char *full;
        if (store_find(st, st->drops[i]))
            continue;
        full = consign_asprintf(ctx, "%s/%s", st->root, st->drops[i]);
        if (full && (unlink(full) == 0 || errno == ENOENT)) {
            consign_log(ctx, CONSIGN_LOG_INFO, "removed %s", st->drops[i]);
            for (char *slash = strrchr(full, '/'); slash; slash = strrchr(full, '/')) {
                *slash = '\0';
                if (strlen(full) <= strlen(st->root) + 5 || rmdir(full) < 0)
                    break;
            }
            store_drop_del(st, st->drops[i]);
        }
        free(full);
    }
    return before - st->ndrops;
}

/* --- loading ------------------------------------------------------------------ */

struct reader {
    const char *path;
    const char *p, *end;
    unsigned long long line;
    char *tok[DB_TOKENS_MAX];
    size_t ntok;
    char linebuf[DB_LINE_MAX + 1];
};

static int
corrupt(struct consign_ctx *ctx, struct reader *r, const char *what)
{
    return consign_fail(ctx, CONSIGN_E_SYNTAX,
                        "%s: line %llu: %s (the repository database is damaged; restore it "
                        "from a backup or rebuild the repository)",
                        r->path, r->line, what);
}

/* Split the next line into tokens (in linebuf). 0 at a line, 1 at the end. */
static int
next_line(struct consign_ctx *ctx, struct reader *r, int *eof)
{
    const char *nl;
    size_t len;
    char *s;

    *eof = 0;
    if (r->p >= r->end) {
        *eof = 1;
        return 0;
    }
    r->line++;
    nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (!nl)
        return corrupt(ctx, r, "unterminated line");
    len = (size_t)(nl - r->p);
    if (len > DB_LINE_MAX)
        return corrupt(ctx, r, "line too long");
    memcpy(r->linebuf, r->p, len);
    r->linebuf[len] = '\0';
    if (memchr(r->linebuf, '\0', len))
        return corrupt(ctx, r, "NUL byte");
    r->p = nl + 1;
    r->ntok = 0;
    s = r->linebuf;
    while (*s) {
        if (r->ntok == DB_TOKENS_MAX)
            return corrupt(ctx, r, "too many fields");
        r->tok[r->ntok++] = s;
        if (r->ntok == 2 && strcmp(r->tok[0], "set") == 0) {
            /* set KEY VALUE: the value is the rest of the line */
            char *sp = strchr(s, ' ');
            if (!sp)
                return corrupt(ctx, r, "set without value");
            *sp = '\0';
            r->tok[r->ntok++] = sp + 1;
            break;
        }
        s = strchr(s, ' ');
        if (!s)
            break;
        *s++ = '\0';
        if (!*s || *s == ' ')
            return corrupt(ctx, r, "empty field");
    }
    return 0;
}

static int
num(struct consign_ctx *ctx, struct reader *r, const char *s, unsigned long long max,
    unsigned long long *out)
{
    if (consign_parse_u64(s, max, out) != 0)
        return corrupt(ctx, r, "bad number");
    return 0;
}

static int
load_pkg(struct consign_ctx *ctx, struct store *st, struct reader *r)
{
    struct store_pkg *p = NULL;
    unsigned long long v, nmem, len[STORE_BLOBS], mt;
    int rc = 0, eof;

    if (r->ntok != 15) {
        rc = corrupt(ctx, r, "pkg: wrong number of fields");
        goto out;
    }
    if (!(p = consign_calloc(ctx, 1, sizeof(*p)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!store_token_ok(r->tok[1], 1) || strlen(r->tok[6]) != 64 || !store_token_ok(r->tok[8], 0) ||
        !store_token_ok(r->tok[9], 0) || !store_token_ok(r->tok[10], 0)) {
        rc = corrupt(ctx, r, "pkg: bad field");
        goto out;
    }
    if (!(p->path = consign_strdup(ctx, r->tok[1])) ||
        !(p->name = consign_strdup(ctx, r->tok[8])) ||
        !(p->version = consign_strdup(ctx, r->tok[9])) ||
        !(p->arch = consign_strdup(ctx, r->tok[10]))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = num(ctx, r, r->tok[2], ~0ULL, &p->dev)) ||
        (rc = num(ctx, r, r->tok[3], ~0ULL, &p->ino)) ||
        (rc = num(ctx, r, r->tok[4], ~0ULL, &p->size)) ||
        (rc = num(ctx, r, r->tok[5], (unsigned long long)1 << 62, &mt)) ||
        (rc = num(ctx, r, r->tok[7], 0xffffffffULL, &v)) ||
        (rc = num(ctx, r, r->tok[11], 1u << 16, &nmem)))
        goto out;
    p->mtime_ns = (long long)mt;
    p->flags = (unsigned)v;
    memcpy(p->sha256, r->tok[6], 64);
    for (int i = 0; i < STORE_BLOBS; i++)
        if ((rc = num(ctx, r, r->tok[12 + i], STORE_DB_MAX, &len[i])))
            goto out;
    for (unsigned long long i = 0; i < nmem; i++) {
        if ((rc = next_line(ctx, r, &eof)))
            goto out;
        if (eof || r->ntok != 3 || strcmp(r->tok[0], "in") != 0 || !store_token_ok(r->tok[1], 0) ||
            !store_token_ok(r->tok[2], 0)) {
            rc = corrupt(ctx, r, "pkg: bad member line");
            goto out;
        }
        if ((rc = store_member_add(ctx, p, r->tok[1], r->tok[2])))
            goto out;
    }
    for (int i = 0; i < STORE_BLOBS; i++) {
        if (len[i] > (unsigned long long)(r->end - r->p)) {
            rc = corrupt(ctx, r, "pkg: entry runs past the end of the file");
            goto out;
        }
        p->blob[i] = r->p;
        p->bloblen[i] = (size_t)len[i];
        r->p += len[i];
    }
    if (r->p >= r->end || *r->p != '\n') {
        rc = corrupt(ctx, r, "pkg: entry not followed by a newline");
        goto out;
    }
    r->p++;
    rc = store_add(ctx, st, p);
    p = NULL;
out:
    store_pkg_free(p);
    return rc;
}

static int
load(struct consign_ctx *ctx, struct store *st)
{
    struct reader *r = NULL;
    struct stat sb;
    int fd = -1, rc = 0, eof, ended = 0;

    fd = open(st->dbpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            goto out; /* a new repository */
        rc = consign_fail_errno(ctx, errno, "%s", st->dbpath);
        goto out;
    }
    if (fstat(fd, &sb) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", st->dbpath);
        goto out;
    }
    if ((unsigned long long)sb.st_size > STORE_DB_MAX) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: larger than %llu bytes", st->dbpath,
                          STORE_DB_MAX);
        goto out;
    }
    if (!(r = consign_calloc(ctx, 1, sizeof(*r)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    r->path = st->dbpath;
    if (sb.st_size > 0) {
        st->map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (st->map == MAP_FAILED) {
            st->map = NULL;
            rc = consign_fail_errno(ctx, errno, "%s", st->dbpath);
            goto out;
        }
        st->maplen = (size_t)sb.st_size;
    }
    r->p = st->map;
    r->end = r->p + st->maplen;
    if ((rc = next_line(ctx, r, &eof)))
        goto out;
    if (eof || r->ntok != 3 || strcmp(r->tok[0], DB_MAGIC) != 0) {
        rc = corrupt(ctx, r, "not a consign repository database");
        goto out;
    }
    if (strcmp(r->tok[1], "1") != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: database format %s is not supported",
                          st->dbpath, r->tok[1]);
        goto out;
    }
    if (strcmp(r->tok[2], kind_name(st->kind)) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: this is a %s repository, not %s", st->root,
                          r->tok[2], kind_name(st->kind));
        goto out;
    }
    while (!ended) {
        if ((rc = next_line(ctx, r, &eof)))
            goto out;
        if (eof) {
            rc = corrupt(ctx, r, "truncated (no end line)");
            goto out;
        }
        if (r->ntok == 0) {
            rc = corrupt(ctx, r, "empty line");
        } else if (strcmp(r->tok[0], "set") == 0 && r->ntok == 3) {
            rc = store_set(ctx, st, r->tok[1], r->tok[2]);
        } else if (strcmp(r->tok[0], "pkg") == 0) {
            rc = load_pkg(ctx, st, r);
        } else if (strcmp(r->tok[0], "gen") == 0 && r->ntok >= 2 && store_token_ok(r->tok[1], 1)) {
            for (size_t i = 2; i < r->ntok && !rc; i++)
                if (!store_token_ok(r->tok[i], 0))
                    rc = corrupt(ctx, r, "gen: bad name");
            if (!rc)
                rc = gen_append(ctx, st, r->tok[1], &r->tok[2], r->ntok - 2);
        } else if (strcmp(r->tok[0], "drop") == 0 && r->ntok == 2 && store_token_ok(r->tok[1], 1)) {
            rc = store_drop_add(ctx, st, r->tok[1]);
        } else if (strcmp(r->tok[0], "end") == 0 && r->ntok == 1) {
            ended = 1;
        } else {
            rc = corrupt(ctx, r, "unknown line");
        }
        if (rc)
            goto out;
    }
    if (r->p != r->end)
        rc = corrupt(ctx, r, "data after the end line");
out:
    if (fd >= 0)
        close(fd);
    free(r);
    return rc;
}

int
store_open(struct consign_ctx *ctx, const char *root, enum store_kind kind, int create,
           struct store **out)
{
    struct store *st = NULL;
    char *lockpath = NULL;
    int rc = 0;

    *out = NULL;
    if (!(st = consign_calloc(ctx, 1, sizeof(*st)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    st->lock_fd = -1;
    st->kind = kind;
    if (!(st->root = consign_strdup(ctx, root)) ||
        !(st->statedir = consign_asprintf(ctx, "%s/.consign", root)) ||
        !(st->dbpath = consign_asprintf(ctx, "%s/%s.db", st->statedir, kind_name(kind))) ||
        !(lockpath = consign_asprintf(ctx, "%s/lock", st->statedir))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!consign_is_dir(root)) {
        if (!create) {
            rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s: no repository here", root);
            goto out;
        }
    }
    if (!consign_is_dir(st->statedir)) {
        if (!create) {
            rc =
                consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s: no repository here (no .consign)", root);
            goto out;
        }
        if ((rc = consign_mkdirs(ctx, st->statedir, 0755)))
            goto out;
    }
    st->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (st->lock_fd < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", lockpath);
        goto out;
    }
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK) {
            rc = consign_fail_errno(ctx, errno, "%s: lock", lockpath);
            goto out;
        }
        consign_log(ctx, CONSIGN_LOG_INFO, "%s: waiting for another consign to finish", root);
        while (flock(st->lock_fd, LOCK_EX) < 0) {
            if (errno != EINTR) {
                rc = consign_fail_errno(ctx, errno, "%s: lock", lockpath);
                goto out;
            }
        }
    }
    if ((rc = load(ctx, st)))
        goto out;
    *out = st;
    st = NULL;
out:
    free(lockpath);
    store_close(st);
    return rc;
}

/* --- saving ------------------------------------------------------------------- */

static int
put(struct consign_ctx *ctx, int fd, struct consign_buf *b, const char *path, int force)
{
    int rc = 0;

    if (b->len && (force || b->len >= (1u << 20))) {
        rc = consign_write_all(ctx, fd, b->data, b->len, path);
        consign_buf_reset(b);
    }
    return rc;
}

static int
write_db(struct consign_ctx *ctx, int fd, void *user)
{
    struct store *st = user;
    struct consign_buf b;
    int rc = 0;

    consign_buf_init(&b, (size_t)STORE_DB_MAX);
    if ((rc = consign_buf_printf(ctx, &b, "%s 1 %s\n", DB_MAGIC, kind_name(st->kind))))
        goto out;
    for (size_t i = 0; i < st->nsettings; i++)
        if ((rc = consign_buf_printf(ctx, &b, "set %s %s\n", st->keys[i], st->values[i])))
            goto out;
    for (size_t i = 0; i < st->npkgs; i++) {
        const struct store_pkg *p = st->pkgs[i];
        if ((rc = consign_buf_printf(
                 ctx, &b, "pkg %s %llu %llu %llu %lld %s %u %s %s %s %zu %zu %zu %zu\n", p->path,
                 p->dev, p->ino, p->size, p->mtime_ns, p->sha256, p->flags, p->name, p->version,
                 p->arch, p->nmembers, p->bloblen[0], p->bloblen[1], p->bloblen[2])))
            goto out;
        for (size_t j = 0; j < p->nmembers; j++)
            if ((rc = consign_buf_printf(ctx, &b, "in %s %s\n", p->members[j].suite,
                                         p->members[j].component)))
                goto out;
        for (int j = 0; j < STORE_BLOBS; j++) {
            /* Small entries go through the buffer (one write per MiB, not
             * three per package); large ones straight from the mapping. */
            if (p->bloblen[j] < (64u << 10)) {
                if (p->bloblen[j] && (rc = consign_buf_append(ctx, &b, p->blob[j], p->bloblen[j])))
                    goto out;
            } else if ((rc = put(ctx, fd, &b, st->dbpath, 1)) ||
                       (rc = consign_write_all(ctx, fd, p->blob[j], p->bloblen[j], st->dbpath))) {
                goto out;
            }
            store_blob_release(st, p, j);
        }
        if ((rc = consign_buf_puts(ctx, &b, "\n")) || (rc = put(ctx, fd, &b, st->dbpath, 0)))
            goto out;
    }
    for (size_t i = 0; i < st->ngens; i++) {
        if ((rc = consign_buf_printf(ctx, &b, "gen %s", st->gens[i].dir)))
            goto out;
        for (size_t j = 0; j < st->gens[i].nnames; j++)
            if ((rc = consign_buf_printf(ctx, &b, " %s", st->gens[i].names[j])))
                goto out;
        if ((rc = consign_buf_puts(ctx, &b, "\n")))
            goto out;
    }
    for (size_t i = 0; i < st->ndrops; i++)
        if ((rc = consign_buf_printf(ctx, &b, "drop %s\n", st->drops[i])))
            goto out;
    if ((rc = consign_buf_puts(ctx, &b, "end\n")) || (rc = put(ctx, fd, &b, st->dbpath, 1)))
        goto out;
out:
    consign_buf_free(&b);
    return rc;
}

int
store_save(struct consign_ctx *ctx, struct store *st)
{
    /* The new file is written while blobs still point into the old mapping,
     * which stays valid after the rename (the mapping keeps the old inode). */
    return consign_file_write_atomic_with(ctx, st->dbpath, 0644, write_db, st);
}

/* --- threads ------------------------------------------------------------------ */

struct pool {
    store_job_fn fn;
    void *user;
    size_t n;
    size_t next;
    pthread_mutex_t mu;
    size_t fail_i;
    int fail_rc;
    char fail_msg[CONSIGN_ERR_MAX];
};

static void *
worker(void *arg)
{
    struct pool *pl = arg;
    struct consign_ctx ctx;
    size_t i;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        i = pl->next < pl->n && (!pl->fail_rc || pl->next < pl->fail_i) ? pl->next++ : pl->n;
        pthread_mutex_unlock(&pl->mu);
        if (i >= pl->n)
            break;
        consign_err_clear(&ctx);
        rc = pl->fn(&ctx, pl->user, i);
        if (rc) {
            pthread_mutex_lock(&pl->mu);
            if (!pl->fail_rc || i < pl->fail_i) {
                pl->fail_rc = rc;
                pl->fail_i = i;
                snprintf(pl->fail_msg, sizeof(pl->fail_msg), "%s", consign_err_msg(&ctx));
            }
            pthread_mutex_unlock(&pl->mu);
        }
    }
    return NULL;
}

int
store_parallel(struct consign_ctx *ctx, size_t n, store_job_fn fn, void *user)
{
    struct pool pl;
    pthread_t th[8];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nth = cpus < 1 ? 1 : (size_t)cpus, started = 0;
    int rc = 0;

    if (nth > 8)
        nth = 8;
    if (nth > n)
        nth = n;
    memset(&pl, 0, sizeof(pl));
    pl.fn = fn;
    pl.user = user;
    pl.n = n;
    pthread_mutex_init(&pl.mu, NULL);
    for (size_t t = 1; t < nth; t++) {
        if (pthread_create(&th[t], NULL, worker, &pl) != 0)
            break;
        started = t;
    }
    worker(&pl); /* this thread works too */
    for (size_t t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&pl.mu);
    if (pl.fail_rc)
        rc = consign_fail(ctx, pl.fail_rc, "%s", pl.fail_msg);
    return rc;
}
