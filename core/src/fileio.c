/* File I/O shared by every component: bounded reads and crash-safe writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/path.h"

ssize_t
consign_read(int fd, void *buf, size_t n)
{
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

int
consign_file_stream(struct consign_ctx *ctx, const char *path, consign_block_fn fn, void *user,
                    unsigned long long *size)
{
    unsigned long long total = 0;
    unsigned char *block = NULL;
    int fd = -1, rc = 0;
    ssize_t n;

    if (!(block = malloc(1 << 16))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    while ((n = consign_read(fd, block, 1 << 16)) > 0) {
        total += (unsigned long long)n;
        if ((rc = fn(ctx, user, block, (size_t)n)))
            goto out;
    }
    if (n < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    if (size)
        *size = total;
out:
    if (fd >= 0)
        close(fd);
    free(block);
    return rc;
}

static int
append_block(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_buf_append(ctx, user, p, n);
}

int
consign_file_read(struct consign_ctx *ctx, const char *path, size_t cap, char **buf, size_t *len)
{
    struct consign_buf b;
    int rc;

    *buf = NULL;
    consign_buf_init(&b, cap);
    rc = consign_file_stream(ctx, path, append_block, &b, NULL);
    if (rc == CONSIGN_E_TOOBIG)
        rc = consign_fail(ctx, rc, "%s: larger than %zu bytes", path, cap);
    if (!rc && !b.data)
        rc = consign_buf_append(ctx, &b, "", 0);
    if (!rc)
        *buf = consign_buf_steal(&b, len);
    consign_buf_free(&b);
    return rc;
}

int
consign_write_all(struct consign_ctx *ctx, int fd, const void *p, size_t n, const char *what)
{
    const char *c = p;

    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return consign_fail_errno(ctx, errno, "%s", what);
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void
fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int
consign_file_write_atomic_with(struct consign_ctx *ctx, const char *path, mode_t mode,
                               consign_file_writer_fn writer, void *user)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char *dir = NULL, *tmp = NULL;
    int fd = -1, rc = 0;

    if (!(dir = consign_path_dirname_dup(ctx, path)) ||
        !(tmp = consign_asprintf(ctx, "%s/.%s.XXXXXX", dir, base))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        free(tmp);
        tmp = NULL;
        goto out;
    }
    /* mkostemp made it 0600; set the final mode before any data is written. */
    if (fchmod(fd, mode) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", tmp);
        goto out;
    }
    if ((rc = writer(ctx, fd, user)))
        goto out;
    if (fsync(fd) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", tmp);
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = consign_fail_errno(ctx, errno, "%s", tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    fsync_dir(dir);
out:
    if (fd >= 0)
        close(fd);
    if (rc && tmp)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

struct mem_writer {
    const char *path;
    const void *data;
    size_t len;
};

static int
write_mem(struct consign_ctx *ctx, int fd, void *user)
{
    const struct mem_writer *m = user;
    return consign_write_all(ctx, fd, m->data, m->len, m->path);
}

int
consign_file_write_atomic(struct consign_ctx *ctx, const char *path, const void *data, size_t len,
                          mode_t mode)
{
    struct mem_writer m = {path, data, len};
    return consign_file_write_atomic_with(ctx, path, mode, write_mem, &m);
}

int
consign_file_copy(struct consign_ctx *ctx, const char *src, const char *dst, mode_t mode)
{
    char block[65536];
    struct stat st;
    int in = -1, out = -1, rc = 0;
    ssize_t n;

    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0 || fstat(in, &st) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", src);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: not a regular file", src);
        goto out;
    }
    if (mode == (mode_t)-1)
        mode = st.st_mode & 07777;
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (out < 0 || fchmod(out, mode) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", dst);
        goto out;
    }
    while ((n = consign_read(in, block, sizeof(block))) > 0) {
        if ((rc = consign_write_all(ctx, out, block, (size_t)n, dst)))
            goto out;
    }
    if (n < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", src);
        goto out;
    }
    if (close(out) < 0) {
        out = -1;
        rc = consign_fail_errno(ctx, errno, "%s", dst);
        goto out;
    }
    out = -1;
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

int
consign_mkdirs(struct consign_ctx *ctx, const char *path, mode_t mode)
{
    char *p = NULL;
    size_t i, n;
    int rc = 0;

    if (!(p = consign_strdup(ctx, path)))
        return CONSIGN_E_NOMEM;
    n = strlen(p);
    for (i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        p[i] = '\0';
        if (mkdir(p, i < n ? 0755 : mode) == 0) {
            /* mkdir applied the umask; directories we create get exactly their mode. */
            if (chmod(p, i < n ? 0755 : mode) < 0) {
                rc = consign_fail_errno(ctx, errno, "%s", p);
                goto out;
            }
        } else if (errno != EEXIST) {
            rc = consign_fail_errno(ctx, errno, "%s", p);
            goto out;
        }
        if (i < n)
            p[i] = '/';
    }
    if (!consign_is_dir(path))
        rc = consign_fail(ctx, CONSIGN_E_EXISTS, "%s: exists and is not a directory", path);
out:
    free(p);
    return rc;
}

int
consign_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
consign_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int copy_tree_at(struct consign_ctx *ctx, const char *src, const char *dst, mode_t mode,
                        int depth);

static int
copy_dir(struct consign_ctx *ctx, const char *src, const char *dst, const struct stat *st,
         mode_t mode, int depth)
{
    struct dirent **ents = NULL;
    char *s = NULL, *d = NULL;
    int n = -1, i, rc = 0;

    if (mkdir(dst, st->st_mode & 07777) < 0 && errno != EEXIST) {
        rc = consign_fail_errno(ctx, errno, "%s", dst);
        goto out;
    }
    /* Sorted, so copies (and later archives) are made in a stable order. */
    n = scandir(src, &ents, NULL, alphasort);
    if (n < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", src);
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        free(s);
        free(d);
        s = consign_asprintf(ctx, "%s/%s", src, nm);
        d = consign_asprintf(ctx, "%s/%s", dst, nm);
        if (!s || !d) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = copy_tree_at(ctx, s, d, mode, depth + 1)))
            goto out;
    }
    if (chmod(dst, st->st_mode & 07777) < 0)
        rc = consign_fail_errno(ctx, errno, "%s", dst);
out:
    for (i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    free(s);
    free(d);
    return rc;
}

static int
copy_tree_at(struct consign_ctx *ctx, const char *src, const char *dst, mode_t mode, int depth)
{
    char target[CONSIGN_PATH_MAX];
    struct stat st;
    ssize_t n;

    if (depth > 64)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: directory tree too deep", src);
    if (lstat(src, &st) < 0)
        return consign_fail_errno(ctx, errno, "%s", src);
    if (S_ISDIR(st.st_mode))
        return copy_dir(ctx, src, dst, &st, mode, depth);
    if (S_ISREG(st.st_mode))
        return consign_file_copy(ctx, src, dst, mode);
    if (S_ISLNK(st.st_mode)) {
        n = readlink(src, target, sizeof(target) - 1);
        if (n < 0)
            return consign_fail_errno(ctx, errno, "%s", src);
        target[n] = '\0';
        unlink(dst);
        if (symlink(target, dst) < 0)
            return consign_fail_errno(ctx, errno, "%s", dst);
        return 0;
    }
    return consign_fail(ctx, CONSIGN_E_INVALID, "%s: not a file, directory or symlink", src);
}

int
consign_copy_tree(struct consign_ctx *ctx, const char *src, const char *dst, mode_t mode)
{
    char *parent = consign_path_dirname_dup(ctx, dst);
    int rc;

    if (!parent)
        return CONSIGN_E_NOMEM;
    rc = consign_mkdirs(ctx, parent, 0755);
    free(parent);
    if (rc)
        return rc;
    return copy_tree_at(ctx, src, dst, mode, 0);
}
