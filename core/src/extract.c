/* Safe extraction of a tar stream under one directory, and removal of a
 * tree, both by openat/unlinkat from one directory descriptor without ever
 * following a symlink. libc only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/extract.h"
#include "consign/fileio.h"
#include "consign/path.h"

#define REMOVE_REL_MAX (1u << 20) /* bytes of a path below the tree being removed */

/* A directory named by an entry: its mode and mtime are applied at finish. */
struct dir_fix {
    char *path;
    unsigned mode;
    long long mtime;
    size_t depth; /* number of '/' in path */
    size_t seq;   /* entry order: a later entry for the same directory wins */
};

struct consign_extract {
    struct consign_extract_opts opts;
    struct consign_tar_reader *reader;
    int dirfd;
    int fd; /* the regular file being written, or -1 */
    unsigned mode;
    long long mtime;
    struct dir_fix *dirs;
    size_t ndirs, capdirs;
    unsigned long long files, bytes;
    int failed;   /* the code of the first failure */
    mode_t umask; /* the process's, read once: what creation modes lose */
    /* The last parent directory opened (tar lists a directory's files
     * together): its path relative to dirfd and its descriptor, or -1. Safe
     * to reuse: extraction never removes or renames, so the directory that
     * was reached without symlinks stays the one the path names. */
    char *last_parent;
    int last_parent_fd;
};

/* --- policy ------------------------------------------------------------------ */

/* A symlink target must be relative and, resolved lexically from the link's
 * directory, stay inside; ".." only at its start, so that no chain of links
 * can climb out through another link's "..". */
static int
check_symlink(struct consign_ctx *ctx, const char *path, const char *target)
{
    size_t depth = 0;
    const char *p;
    int named = 0;

    if (!target || !target[0])
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "symlink without a target");
    if (target[0] == '/')
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "symlink to the absolute path '%s' refused",
                            target);
    for (p = path; *p; p++)
        if (*p == '/')
            depth++;
    for (p = target; *p;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (named)
                return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH,
                                    "symlink target '%s' refused: '..' after a name", target);
            if (depth == 0)
                return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH,
                                    "symlink target '%s' refused: it leads outside the directory",
                                    target);
            depth--;
        } else if (n && !(n == 1 && p[0] == '.')) {
            named = 1;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    return 0;
}

int
consign_extract_check_entry(struct consign_ctx *ctx, const struct consign_tar_entry *e,
                            const struct consign_extract_opts *o)
{
    int allow_setid = o ? o->allow_setid : 0;
    int rc;

    if (!e->path || strcmp(e->path, ".") == 0) {
        if (e->path && e->type == CONSIGN_TAR_DIR)
            return 0;
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "only a directory may name the root");
    }
    if ((rc = consign_path_check_rel(ctx, e->path)))
        return rc;
    switch (e->type) {
    case CONSIGN_TAR_HARDLINK:
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "hardlink to '%s' refused",
                            e->link ? e->link : "");
    case CONSIGN_TAR_OTHER:
        switch (e->typeflag) {
        case '3':
            return consign_fail(ctx, CONSIGN_E_INVALID, "character device refused");
        case '4':
            return consign_fail(ctx, CONSIGN_E_INVALID, "block device refused");
        case '6':
            return consign_fail(ctx, CONSIGN_E_INVALID, "fifo refused");
        default:
            return consign_fail(ctx, CONSIGN_E_INVALID, "entry of type 0x%02x refused",
                                (unsigned char)e->typeflag);
        }
    case CONSIGN_TAR_SYMLINK:
        return check_symlink(ctx, e->path, e->link);
    case CONSIGN_TAR_FILE:
    case CONSIGN_TAR_DIR:
        if ((e->mode & 06000) && !allow_setid)
            return consign_fail(ctx, CONSIGN_E_INVALID, "setuid/setgid mode %04o refused", e->mode);
        return 0;
    }
    return consign_fail(ctx, CONSIGN_E_INVALID, "unknown entry type");
}

/* --- walking without symlinks -------------------------------------------------- */

/* Copy one path component (n bytes at p) into comp, refusing what a normal
 * path cannot hold. */
static int
component(struct consign_ctx *ctx, const char *p, size_t n, char comp[NAME_MAX + 1])
{
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "not a normal path");
    if (n > NAME_MAX)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "a path component is longer than %d bytes",
                            NAME_MAX);
    memcpy(comp, p, n);
    comp[n] = '\0';
    return 0;
}

/* Open the directory name in dirfd with O_NOFOLLOW; with create, make it
 * first if missing (exactly 0755). shown (len bytes) is the path so far. */
static int
open_dir_at(struct consign_ctx *ctx, int dirfd, const char *name, int create, const char *shown,
            size_t len, int *out)
{
    struct stat st;
    int fd, err, made = 0;

    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(dirfd, name, 0700) == 0)
            made = 1;
        else if (errno != EEXIST)
            return consign_fail_errno(ctx, errno, "%.*s", (int)len, shown);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        err = errno;
        if ((err == ELOOP || err == ENOTDIR) &&
            fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISLNK(st.st_mode))
                return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "symlink in path: '%.*s'", (int)len,
                                    shown);
            return consign_fail(ctx, CONSIGN_E_EXISTS, "'%.*s' exists and is not a directory",
                                (int)len, shown);
        }
        return consign_fail_errno(ctx, err, "%.*s", (int)len, shown);
    }
    /* mkdirat applied the umask; directories made here are exactly 0755. */
    if (made && fchmod(fd, 0755) < 0) {
        err = errno;
        close(fd);
        return consign_fail_errno(ctx, err, "%.*s", (int)len, shown);
    }
    *out = fd;
    return 0;
}

/* Open the directory that holds the last component of the normal relative
 * path, one component at a time from rootfd. *out is rootfd itself for a
 * top-level name (the caller closes it only if it differs); the last
 * component is copied, checked, into base_buf. */
static int
open_parent(struct consign_ctx *ctx, int rootfd, const char *path, int create, int *out,
            char base_buf[NAME_MAX + 1])
{
    char comp[NAME_MAX + 1];
    const char *p = path, *slash;
    int cur = rootfd, fd, rc = 0;

    *out = -1;
    while ((slash = strchr(p, '/'))) {
        if ((rc = component(ctx, p, (size_t)(slash - p), comp)) ||
            (rc = open_dir_at(ctx, cur, comp, create, path, (size_t)(slash - path), &fd)))
            goto out;
        if (cur != rootfd)
            close(cur);
        cur = fd;
        p = slash + 1;
    }
    if ((rc = component(ctx, p, strlen(p), base_buf)))
        goto out;
    *out = cur;
    cur = rootfd;
out:
    if (cur != rootfd)
        close(cur);
    return rc;
}

/* --- the extractor's callbacks -------------------------------------------------- */

/* Create a regular file that must not exist yet; it stays open for the data. */
static int
make_file(struct consign_ctx *ctx, struct consign_extract *x, int parent, const char *base,
          const struct consign_tar_entry *e)
{
    mode_t want = e->mode & 07777, made = want & 0777 & ~x->umask;
    int fd, err;

    /* Created with at most the final permission bits (never a window with
     * others); setuid/setgid and what the umask took are added before any data. */
    fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, made);
    if (fd < 0) {
        if (errno == EEXIST)
            return consign_fail(ctx, CONSIGN_E_EXISTS, "already extracted (duplicate entry)");
        return consign_fail_errno(ctx, errno, "create");
    }
    if (made != want && fchmod(fd, want) < 0) {
        err = errno;
        close(fd);
        return consign_fail_errno(ctx, err, "chmod");
    }
    x->fd = fd;
    x->mode = e->mode & 07777;
    x->mtime = e->mtime;
    return 0;
}

/* Make (or accept an existing) directory; its mode and mtime wait for finish,
 * so a read-only directory does not stop the files that follow it. */
static int
make_dir(struct consign_ctx *ctx, struct consign_extract *x, int parent, const char *base,
         const struct consign_tar_entry *e)
{
    struct dir_fix *d;
    const char *p;
    int fd, rc;

    if ((rc = open_dir_at(ctx, parent, base, 1, e->path, strlen(e->path), &fd)))
        return rc;
    close(fd);
    if (x->ndirs == x->capdirs) {
        size_t cap = x->capdirs ? 2 * x->capdirs : 64;
        if (!(d = consign_reallocarray(ctx, x->dirs, cap, sizeof(*d))))
            return CONSIGN_E_NOMEM;
        x->dirs = d;
        x->capdirs = cap;
    }
    d = &x->dirs[x->ndirs];
    if (!(d->path = consign_strdup(ctx, e->path)))
        return CONSIGN_E_NOMEM;
    d->mode = e->mode & 07777;
    d->mtime = e->mtime;
    d->seq = x->ndirs;
    for (d->depth = 0, p = e->path; *p; p++)
        d->depth += *p == '/';
    x->ndirs++;
    return 0;
}

static int
make_symlink(struct consign_ctx *ctx, int parent, const char *base,
             const struct consign_tar_entry *e)
{
    struct timespec ts[2] = {{e->mtime, 0}, {e->mtime, 0}};

    if (symlinkat(e->link, parent, base) < 0) {
        if (errno == EEXIST)
            return consign_fail(ctx, CONSIGN_E_EXISTS, "already extracted (duplicate entry)");
        return consign_fail_errno(ctx, errno, "symlink");
    }
    if (utimensat(parent, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return consign_fail_errno(ctx, errno, "symlink mtime");
    return 0;
}

/* The directory that holds path's last component, walked from dirfd
 * without symlinks (open_parent), or the one the previous entry used when
 * the prefix is the same. *out is borrowed (x keeps it). */
static int
parent_of(struct consign_ctx *ctx, struct consign_extract *x, const char *path, int *out,
          char base[NAME_MAX + 1])
{
    const char *slash = strrchr(path, '/');
    size_t plen = slash ? (size_t)(slash - path) : 0;
    int fd = -1, rc;

    if (plen && x->last_parent && strlen(x->last_parent) == plen &&
        memcmp(x->last_parent, path, plen) == 0) {
        if ((rc = component(ctx, slash + 1, strlen(slash + 1), base)))
            return rc;
        *out = x->last_parent_fd;
        return 0;
    }
    if ((rc = open_parent(ctx, x->dirfd, path, 1, &fd, base)))
        return rc;
    if (fd == x->dirfd) { /* a top-level name */
        *out = fd;
        return 0;
    }
    if (x->last_parent_fd >= 0)
        close(x->last_parent_fd);
    free(x->last_parent);
    x->last_parent_fd = fd;
    if (!(x->last_parent = consign_strndup(ctx, path, plen)))
        return CONSIGN_E_NOMEM;
    *out = fd;
    return 0;
}

/* Each entry: the policy first, then its parent walked without symlinks. */
static int
x_entry(struct consign_ctx *ctx, void *user, const struct consign_tar_entry *e)
{
    struct consign_extract *x = user;
    char base[NAME_MAX + 1];
    int parent = -1, rc;

    if ((rc = consign_extract_check_entry(ctx, e, &x->opts)))
        goto out;
    if (strcmp(e->path, ".") == 0) /* the staging directory itself: left as it is */
        goto out;
    if ((rc = parent_of(ctx, x, e->path, &parent, base)))
        goto out;
    switch (e->type) {
    case CONSIGN_TAR_FILE:
        rc = make_file(ctx, x, parent, base, e);
        break;
    case CONSIGN_TAR_DIR:
        rc = make_dir(ctx, x, parent, base, e);
        break;
    case CONSIGN_TAR_SYMLINK:
        rc = make_symlink(ctx, parent, base, e);
        break;
    default:
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "entry type not checked");
        break;
    }
out:
    return rc;
}

static int
x_data(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct consign_extract *x = user;
    int rc;

    if (x->fd < 0)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "data without an open file");
    if ((rc = consign_write_all(ctx, x->fd, p, n, "write")))
        return rc;
    x->bytes += n;
    return 0;
}

/* A file's data is complete: its mtime last, since writing changed it. */
static int
x_entry_end(struct consign_ctx *ctx, void *user)
{
    struct consign_extract *x = user;
    struct timespec ts[2] = {{x->mtime, 0}, {x->mtime, 0}};
    int fd = x->fd, rc = 0;

    if (fd < 0)
        return 0;
    x->fd = -1;
    /* write(2) clears setuid/setgid for a writer without CAP_FSETID. */
    if ((x->mode & 06000) && fchmod(fd, x->mode) < 0) {
        rc = consign_fail_errno(ctx, errno, "chmod");
        goto out;
    }
    if (futimens(fd, ts) < 0) {
        rc = consign_fail_errno(ctx, errno, "mtime");
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = consign_fail_errno(ctx, errno, "close");
        goto out;
    }
    fd = -1;
    x->files++;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* --- the extractor ----------------------------------------------------------------- */

/* Is the directory open at fd empty? */
static int
dir_empty(struct consign_ctx *ctx, int fd, const char *dir)
{
    struct dirent *de;
    DIR *d;
    int dfd, rc = 0;

    dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || !(d = fdopendir(dfd))) {
        rc = consign_fail_errno(ctx, errno, "%s", dir);
        if (dfd >= 0)
            close(dfd);
        return rc;
    }
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            rc = consign_fail(ctx, CONSIGN_E_EXISTS, "%s: staging directory is not empty", dir);
            break;
        }
    }
    closedir(d);
    return rc;
}

int
consign_extract_new(struct consign_ctx *ctx, const char *dir, const struct consign_extract_opts *o,
                    struct consign_extract **out)
{
    static const struct consign_tar_callbacks cb = {x_entry, x_data, x_entry_end};
    struct consign_tar_limits lim = {0, 0, 0};
    struct consign_extract *x = NULL;
    int rc = 0;

    *out = NULL;
    if (!(x = consign_calloc(ctx, 1, sizeof(*x))))
        return CONSIGN_E_NOMEM;
    x->fd = -1;
    x->last_parent_fd = -1;
    x->umask = umask(022); /* there is no way to read it without setting it */
    umask(x->umask);
    if (o)
        x->opts = *o;
    x->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (x->dirfd < 0) {
        struct stat st;
        int err = errno;
        /* O_DIRECTORY | O_NOFOLLOW on a symlink: ELOOP or ENOTDIR. */
        if ((err == ELOOP || err == ENOTDIR) && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
            rc = consign_fail(ctx, CONSIGN_E_UNSAFE_PATH,
                              "%s: a symlink (the staging directory must be a directory)", dir);
        else
            rc = consign_fail_errno(ctx, err, "%s", dir);
        goto out;
    }
    if ((rc = dir_empty(ctx, x->dirfd, dir)))
        goto out;
    lim.max_total = x->opts.max_total;
    lim.max_entries = x->opts.max_entries;
    if ((rc = consign_tar_reader_new(ctx, &lim, &cb, x, &x->reader)))
        goto out;
    *out = x;
    x = NULL;
out:
    consign_extract_free(x);
    return rc;
}

void
consign_extract_free(struct consign_extract *x)
{
    size_t i;

    if (!x)
        return;
    if (x->fd >= 0)
        close(x->fd);
    if (x->dirfd >= 0)
        close(x->dirfd);
    if (x->last_parent_fd >= 0)
        close(x->last_parent_fd);
    free(x->last_parent);
    consign_tar_reader_free(x->reader);
    for (i = 0; i < x->ndirs; i++)
        free(x->dirs[i].path);
    free(x->dirs);
    free(x);
}

int
consign_extract_feed(struct consign_ctx *ctx, struct consign_extract *x, const void *p, size_t n)
{
    int rc;

    if (x->failed)
        return consign_fail(ctx, x->failed, "extract: failed earlier");
    if ((rc = consign_tar_reader_feed(ctx, x->reader, p, n)))
        x->failed = rc;
    return rc;
}

/* Deepest directories first, so a parent's mode never blocks its children;
 * at one depth in entry order, so a later entry for a directory wins. */
static int
dir_fix_cmp(const void *a, const void *b)
{
    const struct dir_fix *x = a, *y = b;

    if (x->depth != y->depth)
        return x->depth > y->depth ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Give an explicit directory its mode and mtime, reached without symlinks. */
static int
apply_dir(struct consign_ctx *ctx, struct consign_extract *x, const struct dir_fix *d)
{
    struct timespec ts[2] = {{d->mtime, 0}, {d->mtime, 0}};
    char base[NAME_MAX + 1];
    int parent = -1, fd = -1, rc;

    if ((rc = open_parent(ctx, x->dirfd, d->path, 0, &parent, base)) ||
        (rc = open_dir_at(ctx, parent, base, 0, d->path, strlen(d->path), &fd)))
        goto out;
    if (fchmod(fd, d->mode) < 0 || futimens(fd, ts) < 0)
        rc = consign_fail_errno(ctx, errno, "%s", d->path);
out:
    if (fd >= 0)
        close(fd);
    if (parent >= 0 && parent != x->dirfd)
        close(parent);
    return rc ? consign_err_context(ctx, rc, "extract: directory") : 0;
}

int
consign_extract_finish(struct consign_ctx *ctx, struct consign_extract *x)
{
    size_t i;
    int rc;

    if (x->failed)
        return consign_fail(ctx, x->failed, "extract: failed earlier");
    if ((rc = consign_tar_reader_finish(ctx, x->reader)))
        goto out;
    if (x->ndirs)
        qsort(x->dirs, x->ndirs, sizeof(*x->dirs), dir_fix_cmp);
    for (i = 0; i < x->ndirs; i++)
        if ((rc = apply_dir(ctx, x, &x->dirs[i])))
            goto out;
    if (x->opts.sync && syncfs(x->dirfd) < 0)
        rc = consign_fail_errno(ctx, errno, "extract: sync");
out:
    if (rc)
        x->failed = rc;
    return rc;
}

unsigned long long
consign_extract_files(const struct consign_extract *x)
{
    return x->files;
}

unsigned long long
consign_extract_bytes(const struct consign_extract *x)
{
    return x->bytes;
}

/* --- removal ---------------------------------------------------------------------- */

/* Open the directory at rel below rootfd ("" for rootfd itself), never
 * through a symlink. */
static int
open_rel(struct consign_ctx *ctx, int rootfd, const char *rel, int *out)
{
    char base[NAME_MAX + 1];
    int parent = -1, rc;

    if (!rel[0]) {
        *out = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return *out < 0 ? consign_fail_errno(ctx, errno, ".") : 0;
    }
    if ((rc = open_parent(ctx, rootfd, rel, 0, &parent, base)) == 0)
        rc = open_dir_at(ctx, parent, base, 0, rel, strlen(rel), out);
    if (parent >= 0 && parent != rootfd)
        close(parent);
    return rc;
}

/* One pass over the directory at rel: remove every entry that is not a
 * directory and every empty subdirectory. *child gets the name of the first
 * subdirectory that is not empty, or stays NULL when the directory is empty.
 * Re-opening each level from the top keeps two descriptors open however
 * deep the tree is. */
static int
clear_level(struct consign_ctx *ctx, int rootfd, dev_t dev, const char *rel, char **child)
{
    struct dirent *de;
    struct stat st;
    DIR *d = NULL;
    int fd = -1, rc;

    *child = NULL;
    if ((rc = open_rel(ctx, rootfd, rel, &fd)))
        goto out;
    if (fstat(fd, &st) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", rel);
        goto out;
    }
    if (st.st_dev != dev) {
        rc = consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "%s: on another file system", rel);
        goto out;
    }
    /* Removing entries needs write and search permission on the directory. */
    if ((st.st_mode & 0700) != 0700 && fchmod(fd, (st.st_mode & 07777) | 0700) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", rel);
        goto out;
    }
    if (!(d = fdopendir(fd))) {
        rc = consign_fail_errno(ctx, errno, "%s", rel);
        goto out;
    }
    fd = -1;
    for (;;) {
        int isdir;

        errno = 0;
        if (!(de = readdir(d))) {
            if (errno)
                rc = consign_fail_errno(ctx, errno, "%s", rel);
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        isdir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                    continue;
                rc = consign_fail_errno(ctx, errno, "%s/%s", rel, de->d_name);
                break;
            }
            isdir = S_ISDIR(st.st_mode);
        }
        if (unlinkat(dirfd(d), de->d_name, isdir ? AT_REMOVEDIR : 0) == 0 || errno == ENOENT)
            continue;
        if (isdir && (errno == ENOTEMPTY || errno == EEXIST)) {
            if (!(*child = consign_strdup(ctx, de->d_name)))
                rc = CONSIGN_E_NOMEM;
            break;
        }
        rc = consign_fail_errno(ctx, errno, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        break;
    }
out:
    if (d)
        closedir(d);
    if (fd >= 0)
        close(fd);
    return rc;
}

int
consign_extract_remove_tree(struct consign_ctx *ctx, const char *dir)
{
    struct consign_buf rel;
    struct stat st, rootst;
    char *child = NULL;
    int rootfd, fd = -1, rc = 0;

    consign_buf_init(&rel, REMOVE_REL_MAX);
    rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0) {
        if (errno == ENOENT)
            goto out;
        if (errno == ELOOP || errno == ENOTDIR)
            rc = consign_fail(ctx, CONSIGN_E_UNSAFE_PATH,
                              "%s: not a directory (symlinks are not followed)", dir);
        else
            rc = consign_fail_errno(ctx, errno, "%s", dir);
        goto out;
    }
    if (fstat(rootfd, &st) < 0 || stat("/", &rootst) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", dir);
        goto out;
    }
    if (st.st_dev == rootst.st_dev && st.st_ino == rootst.st_ino) {
        rc = consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "%s: refusing to remove /", dir);
        goto out;
    }
    if ((rc = consign_buf_append(ctx, &rel, "", 0)))
        goto out;
    for (;;) {
        char *slash, *name;

        if ((rc = clear_level(ctx, rootfd, st.st_dev, rel.data, &child)))
            goto out;
        if (child) { /* descend into the first directory that was not empty */
            if ((rel.len && (rc = consign_buf_append(ctx, &rel, "/", 1))) ||
                (rc = consign_buf_puts(ctx, &rel, child)))
                goto out;
            free(child);
            child = NULL;
            continue;
        }
        if (!rel.len)
            break;
        /* rel is empty now: remove it from its parent and go back up. */
        slash = strrchr(rel.data, '/');
        name = slash ? slash + 1 : rel.data;
        if (slash)
            *slash = '\0';
        if ((rc = open_rel(ctx, rootfd, slash ? rel.data : "", &fd)))
            goto out;
        if (unlinkat(fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
            rc = consign_fail_errno(ctx, errno, "%s%s%s", slash ? rel.data : "", slash ? "/" : "",
                                    name);
            goto out;
        }
        close(fd);
        fd = -1;
        rel.len = slash ? (size_t)(slash - rel.data) : 0;
        rel.data[rel.len] = '\0';
    }
    close(rootfd);
    rootfd = -1;
    if (rmdir(dir) < 0 && errno != ENOENT)
        rc = consign_fail_errno(ctx, errno, "%s", dir);
out:
    if (rc && rc != CONSIGN_E_NOMEM && rootfd >= 0)
        consign_err_context(ctx, rc, "remove %s", dir);
    if (fd >= 0)
        close(fd);
    if (rootfd >= 0)
        close(rootfd);
    free(child);
    consign_buf_free(&rel);
    return rc;
}
