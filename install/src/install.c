/* The install core: staged, fsync'ed installs switched by one rename (see
 * consign/install.h for the layout). Used by the .bin stub, the bootstrap
 * downloader and the updater; libc only, so it links into static programs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/extract.h"
#include "consign/fileio.h"
#include "consign/install.h"
#include "consign/path.h"

struct consign_install {
    struct consign_install_opts o;
    char *root;     /* "" for the real system, else without a trailing '/' */
    char *optdir;   /* ROOT/opt/NAME */
    char *versions; /* ROOT/opt/NAME/versions */
    char *stage;    /* ROOT/opt/NAME/versions/.stage-V-XXXXXX */
    char *name;
    char *version;
    char *signer;
    int lockfd;
    struct consign_extract *x;
    int extracted; /* the payload stream ended well */
    int committed;
    /* Directories begin made (the deepest first): an aborted first install
     * removes them again, so the root is as it was. */
    char *made[8];
    size_t n_made;
    struct timespec versions_times[2]; /* of an existing versions/, put back on abort */
    int have_times;
};

int
consign_install_name_ok(const char *name)
{
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0 || n > CONSIGN_NAME_MAX)
        return 0;
    if (!(('a' <= name[0] && name[0] <= 'z') || ('0' <= name[0] && name[0] <= '9')))
        return 0;
    for (i = 1; i < n; i++)
        if (!(('a' <= name[i] && name[i] <= 'z') || ('0' <= name[i] && name[i] <= '9') ||
              name[i] == '.' || name[i] == '+' || name[i] == '-' || name[i] == '_'))
            return 0;
    return 1;
}

static int
version_ok(const char *v)
{
    size_t i, n = v ? strlen(v) : 0;

    if (n == 0 || n >= CONSIGN_VERSION_MAX || v[0] == '.')
        return 0;
    for (i = 0; i < n; i++)
        if (!(('a' <= v[i] && v[i] <= 'z') || ('A' <= v[i] && v[i] <= 'Z') ||
              ('0' <= v[i] && v[i] <= '9') || v[i] == '.' || v[i] == '+' || v[i] == '-' ||
              v[i] == '_' || v[i] == '~'))
            return 0;
    return 1;
}

static int
is_real_root(const char *root)
{
    return !root || !root[0] || strcmp(root, "/") == 0;
}

/* ROOT + pre + name + post (an absolute path), as a new string. */
static char *
rooted(struct consign_ctx *ctx, const char *root, const char *pre, const char *name,
       const char *post)
{
    char *abs = NULL, *out = NULL;

    abs = consign_asprintf(ctx, "%s%s%s", pre, name, post);
    if (abs && consign_path_in_root(ctx, root, abs, &out))
        out = NULL;
    free(abs);
    return out;
}

/* Run a program from the system's directories, without a shell. Returns its
 * exit status, or -1 when it could not run (logged). */
static int
run(struct consign_ctx *ctx, const char *const argv[])
{
    static const char *const dirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin"};
    char path[256];
    pid_t pid;
    size_t i;
    int st;

    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dirs[i], argv[0]);
        if (access(path, X_OK) == 0)
            break;
    }
    if (argv[0][0] == '/')
        snprintf(path, sizeof(path), "%s", argv[0]);
    else if (i == sizeof(dirs) / sizeof(dirs[0]))
        return -1;
    pid = fork();
    if (pid < 0) {
        consign_log(ctx, CONSIGN_LOG_WARN, "cannot run %s: %s", argv[0], strerror(errno));
        return -1;
    }
    if (pid == 0) {
        static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        int fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 0);
            close(fd);
        }
        execve(path, (char *const *)argv, envp);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
systemd_running(void)
{
    struct stat st;
    return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* Read ROOT/opt/NAME/current and the version recorded in that directory. */
static int
current_version(const char *optdir, char *dirname, size_t dn, char *version, size_t vn)
{
    char link[CONSIGN_PATH_MAX + CONSIGN_VERSION_MAX + 32], *p;
    char buf[CONSIGN_VERSION_MAX + 2];
    ssize_t n;
    int fd;

    snprintf(link, sizeof(link), "%s/current", optdir);
    n = readlink(link, buf, sizeof(buf) - 1);
    if (n <= 0 || (size_t)n >= sizeof(buf) - 1)
        return -1;
    buf[n] = '\0';
    if (strncmp(buf, "versions/", 9) != 0 || strchr(buf + 9, '/') || !version_ok(buf + 9))
        return -1;
    if (dirname)
        snprintf(dirname, dn, "%s", buf + 9);
    if (!version)
        return 0;
    snprintf(link, sizeof(link), "%s/%s/.version", optdir, buf);
    fd = open(link, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = consign_read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if ((p = strchr(buf, '\n')))
        *p = '\0';
    if (!version_ok(buf) || strlen(buf) >= vn)
        return -1;
    memcpy(version, buf, strlen(buf) + 1);
    return 0;
}

int
consign_install_query(struct consign_ctx *ctx, const char *root, const char *name,
                      struct consign_installed *out)
{
    char *optdir = NULL;
    struct stat st;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (!consign_install_name_ok(name))
        return consign_fail(ctx, CONSIGN_E_INVALID, "invalid product name '%.64s'", name);
    if (!(optdir = rooted(ctx, root, "/opt/", name, "")))
        return ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
    if (current_version(optdir, NULL, 0, out->version, sizeof(out->version)) == 0)
        out->present = 1;
    else if (lstat(optdir, &st) == 0) {
        char *bin = consign_asprintf(ctx, "%s/bin", optdir);
        struct stat bs;
        if (!bin) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        /* A package manager's install has real directories where ours has links. */
        out->foreign = lstat(bin, &bs) == 0 && S_ISDIR(bs.st_mode);
        free(bin);
    }
out:
    free(optdir);
    return rc;
}

int
consign_install_trusts(struct consign_ctx *ctx, const char *root, const char *name, const char *fpr)
{
    char *path = rooted(ctx, root, "/var/opt/", name, "/conf/trusted-keys");
    char *data = NULL, *line, *next;
    size_t len;
    int found = 0;

    if (!path)
        return 0;
    if (consign_file_read(ctx, path, 64 * 1024, &data, &len) == 0) {
        for (line = data; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            if (strcasecmp(line, fpr) == 0)
                found = 1;
        }
    }
    consign_err_clear(ctx);
    free(data);
    free(path);
    return found;
}

static int
add_trusted(struct consign_ctx *ctx, const char *root, const char *name, const char *fpr)
{
    char *path = NULL, *data = NULL;
    struct consign_buf b;
    size_t len = 0;
    int rc = 0;

    if (!fpr || consign_install_trusts(ctx, root, name, fpr))
        return 0;
    consign_buf_init(&b, 128 * 1024);
    if (!(path = rooted(ctx, root, "/var/opt/", name, "/conf/trusted-keys"))) {
        rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
        goto out;
    }
    rc = consign_file_read(ctx, path, 64 * 1024, &data, &len);
    if (rc == CONSIGN_E_NOTFOUND) {
        consign_err_clear(ctx);
        rc = consign_buf_puts(ctx, &b,
                              "# Fingerprints of the keys whose installers may upgrade this "
                              "agent, one per line.\n");
    } else if (!rc)
        rc = consign_buf_append(ctx, &b, data, len);
    if (!rc && b.len && b.data[b.len - 1] != '\n')
        rc = consign_buf_puts(ctx, &b, "\n");
    if (!rc)
        rc = consign_buf_printf(ctx, &b, "%s\n", fpr);
    if (!rc)
        rc = consign_file_write_atomic(ctx, path, b.data, b.len, 0644);
out:
    free(data);
    free(path);
    consign_buf_free(&b);
    return rc;
}

static int
lock_open(struct consign_ctx *ctx, const char *optdir, int no_wait, int *fd_out)
{
    char *p = consign_asprintf(ctx, "%s/.lock", optdir);
    int fd = -1, rc = 0;

    if (!p)
        return CONSIGN_E_NOMEM;
    fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", p);
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK) {
            rc = consign_fail_errno(ctx, errno, "lock %s", p);
            goto out;
        }
        if (no_wait) {
            rc = consign_fail(ctx, CONSIGN_E_LOCKED,
                              "another install of this agent is running (%s)", p);
            goto out;
        }
        consign_log(ctx, CONSIGN_LOG_INFO, "waiting for another install to finish (%s)", p);
        if (flock(fd, LOCK_EX) < 0) {
            rc = consign_fail_errno(ctx, errno, "lock %s", p);
            goto out;
        }
    }
    *fd_out = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    free(p);
    return rc;
}

/* Remove what killed installs left: staging and old-version directories. */
static void
clean_stale(struct consign_ctx *ctx, const char *versions)
{
    DIR *d = opendir(versions);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, ".stage-", 7) == 0 || strncmp(e->d_name, ".old-", 5) == 0) {
            char *p = consign_asprintf(ctx, "%s/%s", versions, e->d_name);
            if (p && consign_extract_remove_tree(ctx, p))
                consign_err_clear(ctx);
            free(p);
        }
    }
    closedir(d);
}

int
consign_install_begin(struct consign_ctx *ctx, const struct consign_install_opts *o,
                      struct consign_install **out)
{
    struct consign_extract_opts xo;
    struct consign_installed cur;
    struct consign_install *in = NULL;
    int rc = 0;

    *out = NULL;
    if (!consign_install_name_ok(o->name))
        return consign_fail(ctx, CONSIGN_E_INVALID, "invalid product name '%.64s'", o->name);
    if (!version_ok(o->version))
        return consign_fail(ctx, CONSIGN_E_INVALID, "invalid version '%.64s'", o->version);
    if ((rc = consign_install_query(ctx, o->root, o->name, &cur)))
        return rc;
    if (cur.foreign)
        return consign_fail(ctx, CONSIGN_E_EXISTS,
                            "/opt/%s holds an install made by the system's package manager; "
                            "upgrade it with apt-get or yum, or remove it first",
                            o->name);
    if (!(in = consign_calloc(ctx, 1, sizeof(*in))))
        return CONSIGN_E_NOMEM;
    in->lockfd = -1;
    in->o = *o;
    if (!(in->name = consign_strdup(ctx, o->name)) ||
        !(in->version = consign_strdup(ctx, o->version)) ||
        (o->signer_fpr && !(in->signer = consign_strdup(ctx, o->signer_fpr))) ||
        !(in->root = consign_strdup(ctx, is_real_root(o->root) ? "" : o->root))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    in->o.name = in->name;
    in->o.version = in->version;
    in->o.signer_fpr = in->signer;
    in->o.root = in->root;
    if (!is_real_root(o->root))
        in->o.no_service = 1;
    if (!(in->optdir = rooted(ctx, in->root, "/opt/", in->name, "")) ||
        !(in->versions = consign_asprintf(ctx, "%s/versions", in->optdir))) {
        rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
        goto out;
    }
    {
        /* Note which of versions, /opt/NAME, /opt, ... up to the root do not
         * exist yet. */
        char *d = consign_strdup(ctx, in->versions);
        struct stat st;
        while (d && in->n_made < sizeof(in->made) / sizeof(in->made[0]) && lstat(d, &st) < 0 &&
               errno == ENOENT) {
            char *slash = strrchr(d, '/');
            in->made[in->n_made++] = d;
            d = slash && slash != d ? consign_strndup(ctx, d, (size_t)(slash - d)) : NULL;
        }
        free(d);
        if (!in->n_made && lstat(in->versions, &st) == 0) {
            in->versions_times[0] = st.st_atim;
            in->versions_times[1] = st.st_mtim;
            in->have_times = 1;
        }
    }
    if ((rc = consign_mkdirs(ctx, in->versions, 0755)) ||
        (rc = lock_open(ctx, in->optdir, o->no_wait, &in->lockfd)))
        goto out;
    clean_stale(ctx, in->versions);
    if (!(in->stage = consign_asprintf(ctx, "%s/.stage-%s-XXXXXX", in->versions, in->version))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!mkdtemp(in->stage)) {
        rc = consign_fail_errno(ctx, errno, "%s", in->stage);
        free(in->stage);
        in->stage = NULL;
        goto out;
    }
    memset(&xo, 0, sizeof(xo));
    xo.sync = 1;
    xo.max_total = o->max_bytes;
    xo.max_entries = o->max_entries;
    if ((rc = consign_extract_new(ctx, in->stage, &xo, &in->x)))
        goto out;
    *out = in;
    in = NULL;
out:
    consign_install_free(in);
    return rc;
}

int
consign_install_feed(struct consign_ctx *ctx, struct consign_install *in, const void *p, size_t n)
{
    if (!in->x || in->extracted)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "payload fed after its end");
    return consign_extract_feed(ctx, in->x, p, n);
}

static int
finish_payload(struct consign_ctx *ctx, struct consign_install *in)
{
    int rc;

    if (in->extracted)
        return 0;
    if ((rc = consign_extract_finish(ctx, in->x)))
        return consign_err_context(ctx, rc, "payload");
    in->extracted = 1;
    return 0;
}

/* Only names in list may appear in dir (a directory of the staged tree). */
static int
only_names(struct consign_ctx *ctx, const char *stage, const char *rel, const char *const *allowed,
           size_t n)
{
    char *p = consign_asprintf(ctx, "%s/%s", stage, rel);
    struct dirent *e;
    DIR *d = NULL;
    size_t i;
    int rc = 0;

    if (!p)
        return CONSIGN_E_NOMEM;
    if (!(d = opendir(p))) {
        if (errno != ENOENT)
            rc = consign_fail_errno(ctx, errno, "%s", p);
        goto out;
    }
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        for (i = 0; i < n; i++)
            if (allowed[i] && strcmp(e->d_name, allowed[i]) == 0)
                break;
        if (i == n) {
            rc = consign_fail(ctx, CONSIGN_E_UNSAFE_PATH,
                              "payload: %s%s%.200s is outside what the agent may own", rel,
                              rel[0] ? "/" : "", e->d_name);
            goto out;
        }
    }
out:
    if (d)
        closedir(d);
    free(p);
    return rc;
}

/* The payload may hold opt/NAME/…, etc/opt/NAME/…, etc/init.d/NAME,
 * etc/logrotate.d/NAME and
 * lib/systemd/system/NAME.service (with the updater's NAME-update.service
 * and .timer); nothing else reaches the system. */
static int
check_tree(struct consign_ctx *ctx, struct consign_install *in)
{
    char unit[CONSIGN_NAME_MAX + 16], upd[CONSIGN_NAME_MAX + 24], tim[CONSIGN_NAME_MAX + 24];
    const char *top[] = {"opt", "etc", "lib"};
    const char *opt[] = {in->name};
    const char *etc[] = {"opt", "init.d", "logrotate.d"};
    const char *lib[] = {"systemd"};
    const char *sd[] = {"system"};
    const char *sys[] = {unit, upd, tim};
    int rc;

    snprintf(unit, sizeof(unit), "%s.service", in->name);
    snprintf(upd, sizeof(upd), "%s-update.service", in->name);
    snprintf(tim, sizeof(tim), "%s-update.timer", in->name);
    if ((rc = only_names(ctx, in->stage, "", top, 3)) ||
        (rc = only_names(ctx, in->stage, "opt", opt, 1)) ||
        (rc = only_names(ctx, in->stage, "etc", etc, 3)) ||
        (rc = only_names(ctx, in->stage, "etc/logrotate.d", opt, 1)) ||
        (rc = only_names(ctx, in->stage, "etc/opt", opt, 1)) ||
        (rc = only_names(ctx, in->stage, "etc/init.d", opt, 1)) ||
        (rc = only_names(ctx, in->stage, "lib", lib, 1)) ||
        (rc = only_names(ctx, in->stage, "lib/systemd", sd, 1)) ||
        (rc = only_names(ctx, in->stage, "lib/systemd/system", sys, 3)))
        return rc;
    return 0;
}

static int
mkdirs_at(struct consign_ctx *ctx, const char *base, const char *rel)
{
    char *p = consign_asprintf(ctx, "%s/%s", base, rel);
    int rc;

    if (!p)
        return CONSIGN_E_NOMEM;
    rc = consign_mkdirs(ctx, p, 0755);
    free(p);
    return rc;
}

int
consign_install_add_file(struct consign_ctx *ctx, struct consign_install *in, const char *rel,
                         unsigned mode, int fd, unsigned long long off, unsigned long long len)
{
    char *path = NULL, *dir = NULL;
    char buf[64 * 1024];
    int out = -1, rc;

    if ((rc = finish_payload(ctx, in)) || (rc = consign_path_check_rel(ctx, rel)))
        return rc;
    if (!(path = consign_asprintf(ctx, "%s/opt/%s/%s", in->stage, in->name, rel)) ||
        !(dir = consign_path_dirname_dup(ctx, path))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_mkdirs(ctx, dir, 0755)))
        goto out;
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    if (fchmod(out, mode & 0777) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    while (len) {
        size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = got < 0 ? consign_fail_errno(ctx, errno, "read %s", rel)
                         : consign_fail(ctx, CONSIGN_E_IO, "read %s: unexpected end", rel);
            goto out;
        }
        if ((rc = consign_write_all(ctx, out, buf, (size_t)got, path)))
            goto out;
        off += (unsigned long long)got;
        len -= (unsigned long long)got;
    }
    if (fsync(out) < 0)
        rc = consign_fail_errno(ctx, errno, "fsync %s", path);
out:
    if (out >= 0)
        close(out);
    free(path);
    free(dir);
    return rc;
}

int
consign_install_tmpfile(struct consign_ctx *ctx, struct consign_install *in, int *fd_out)
{
    char *path = consign_asprintf(ctx, "%s/.consign-tmp-XXXXXX", in->stage);
    int fd;

    *fd_out = -1;
    if (!path)
        return CONSIGN_E_NOMEM;
    /* Unlinked at once: it goes with the descriptor, whatever happens. */
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        int rc = consign_fail_errno(ctx, errno, "%s", path);
        free(path);
        return rc;
    }
    unlink(path);
    free(path);
    *fd_out = fd;
    return 0;
}

int
consign_install_add_symlink(struct consign_ctx *ctx, struct consign_install *in, const char *rel,
                            const char *target)
{
    char *path = NULL, *dir = NULL;
    int rc;

    if ((rc = finish_payload(ctx, in)) || (rc = consign_path_check_rel(ctx, rel)))
        return rc;
    if (target[0] == '/' || strstr(target, ".."))
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "link %s -> %s", rel, target);
    if (!(path = consign_asprintf(ctx, "%s/opt/%s/%s", in->stage, in->name, rel)) ||
        !(dir = consign_path_dirname_dup(ctx, path))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_mkdirs(ctx, dir, 0755)))
        goto out;
    if (symlink(target, path) < 0)
        rc = consign_fail_errno(ctx, errno, "%s", path);
out:
    free(path);
    free(dir);
    return rc;
}

/* Replace (or create) a symlink atomically: a temporary name, then rename. */
static int
link_replace(struct consign_ctx *ctx, const char *target, const char *path)
{
    char *tmp = consign_asprintf(ctx, "%s.consign-tmp", path);
    int rc = 0;

    if (!tmp)
        return CONSIGN_E_NOMEM;
    unlink(tmp);
    if (symlink(target, tmp) < 0 || rename(tmp, path) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

static int
fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    fsync(fd);
    close(fd);
    return 0;
}

/* Configuration keeps what the admin has: a file that exists stays; the
 * shipped one lands beside it as NAME.consign-new when they differ. */
static int
place_config(struct consign_ctx *ctx, const char *src, const char *dst)
{
    struct stat ss, ds;
    struct dirent *e;
    DIR *d = NULL;
    int rc = 0;

    if (lstat(src, &ss) < 0)
        return consign_fail_errno(ctx, errno, "%s", src);
    if (S_ISDIR(ss.st_mode)) {
        if (lstat(dst, &ds) < 0) {
            if (mkdir(dst, ss.st_mode & 07777) < 0)
                return consign_fail_errno(ctx, errno, "%s", dst);
        } else if (!S_ISDIR(ds.st_mode))
            return consign_fail(ctx, CONSIGN_E_EXISTS, "%s: not a directory", dst);
        if (!(d = opendir(src)))
            return consign_fail_errno(ctx, errno, "%s", src);
        while (!rc && (e = readdir(d))) {
            char *s, *t;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            s = consign_asprintf(ctx, "%s/%s", src, e->d_name);
            t = consign_asprintf(ctx, "%s/%s", dst, e->d_name);
            rc = s && t ? place_config(ctx, s, t) : CONSIGN_E_NOMEM;
            free(s);
            free(t);
        }
        closedir(d);
        return rc;
    }
    if (lstat(dst, &ds) < 0) {
        if (rename(src, dst) < 0)
            return consign_fail_errno(ctx, errno, "%s", dst);
        return 0;
    }
    if (S_ISREG(ss.st_mode) && S_ISREG(ds.st_mode)) {
        char *a = NULL, *b = NULL;
        size_t an = 0, bn = 0;
        if (consign_file_read(ctx, src, 1 << 20, &a, &an) == 0 &&
            consign_file_read(ctx, dst, 1 << 20, &b, &bn) == 0 && (an != bn || memcmp(a, b, an))) {
            char *n = consign_asprintf(ctx, "%s.consign-new", dst);
            if (n && rename(src, n) == 0)
                consign_log(ctx, CONSIGN_LOG_INFO, "kept %s; the new default is %s", dst, n);
            free(n);
        }
        consign_err_clear(ctx);
        free(a);
        free(b);
    }
    return 0;
}

/* Move a staged service file into place with an atomic write. */
static int
place_service_file(struct consign_ctx *ctx, const char *src, const char *dst, mode_t mode)
{
    char *data = NULL, *dir = NULL;
    size_t len = 0;
    int rc;

    rc = consign_file_read(ctx, src, 1 << 20, &data, &len);
    if (rc == CONSIGN_E_NOTFOUND) {
        consign_err_clear(ctx);
        return 0;
    }
    if (rc)
        return rc;
    if (!(dir = consign_path_dirname_dup(ctx, dst)))
        rc = CONSIGN_E_NOMEM;
    else if (!(rc = consign_mkdirs(ctx, dir, 0755)))
        rc = consign_file_write_atomic(ctx, dst, data, len, mode);
    free(data);
    free(dir);
    return rc;
}

static void
random_id(char out[33])
{
    unsigned char r[16];
    size_t i;

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || consign_read(fd, r, sizeof(r)) != (ssize_t)sizeof(r))
            memset(r, 0, sizeof(r));
        if (fd >= 0)
            close(fd);
    }
    for (i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

int
consign_conf_ensure_id(struct consign_ctx *ctx, struct consign_conf *c)
{
    char id[33];

    if (consign_conf_get(c, "agent_id"))
        return 0;
    random_id(id);
    return consign_conf_set(ctx, c, "agent_id", id);
}

static int
write_settings(struct consign_ctx *ctx, struct consign_install *in,
               const struct consign_conf *settings)
{
    struct consign_conf c = {0};
    char *confdir = NULL, *logs = NULL;
    size_t i;
    int rc;

    if (!(confdir = rooted(ctx, in->root, "/var/opt/", in->name, "/conf")) ||
        !(logs = rooted(ctx, in->root, "/var/opt/", in->name, "/logs"))) {
        rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_mkdirs(ctx, confdir, 0750)) || (rc = consign_mkdirs(ctx, logs, 0750)) ||
        (rc = consign_conf_load(ctx, confdir, &c)))
        goto out;
    for (i = 0; settings && i < settings->n; i++)
        if ((rc = consign_conf_set(ctx, &c, settings->items[i].key,
                                   settings->items[i].value[0] ? settings->items[i].value : NULL)))
            goto out;
    if ((rc = consign_conf_ensure_id(ctx, &c)))
        goto out;
    rc = consign_conf_save(ctx, confdir, &c);
out:
    consign_conf_free(&c);
    free(confdir);
    free(logs);
    return rc;
}

/* Links ROOT/opt/NAME/E -> current/E for each top entry E of the new version,
 * plus the two tools at the top; made once, before the switch. */
static int
make_top_links(struct consign_ctx *ctx, struct consign_install *in, const char *vdir)
{
    struct dirent *e;
    DIR *d;
    int rc = 0;

    if (!(d = opendir(vdir)))
        return consign_fail_errno(ctx, errno, "%s", vdir);
    while (!rc && (e = readdir(d))) {
        char *path, *target;
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        path = consign_asprintf(ctx, "%s/%s", in->optdir, e->d_name);
        target = consign_asprintf(ctx, "current/%s", e->d_name);
        if (!path || !target)
            rc = CONSIGN_E_NOMEM;
        else if (lstat(path, &st) < 0)
            rc = link_replace(ctx, target, path);
        else if (!S_ISLNK(st.st_mode))
            rc = consign_fail(ctx, CONSIGN_E_EXISTS, "%s exists and is not ours", path);
        free(path);
        free(target);
    }
    closedir(d);
    if (!rc) {
        /* /opt/NAME/NAME-config, NAME-update, NAME-uninstall and uninstall. */
        const char *tools[] = {"config", "update", "uninstall", "uninstall"};
        size_t i;
        for (i = 0; !rc && i < 4; i++) {
            char *src = consign_asprintf(ctx, "%s/bin/%s-%s", vdir, in->name, tools[i]);
            char *path = i == 3 ? consign_asprintf(ctx, "%s/uninstall", in->optdir)
                                : consign_asprintf(ctx, "%s/%s-%s", in->optdir, in->name, tools[i]);
            char *target = consign_asprintf(ctx, "current/bin/%s-%s", in->name, tools[i]);
            struct stat st;
            if (!src || !path || !target)
                rc = CONSIGN_E_NOMEM;
            else if (lstat(src, &st) == 0 && lstat(path, &st) < 0)
                rc = link_replace(ctx, target, path);
            free(src);
            free(path);
            free(target);
        }
    }
    return rc;
}

/* Keep the version now current and the one before it (for rollback). */
static void
drop_old_versions(struct consign_ctx *ctx, struct consign_install *in, const char *keep1,
                  const char *keep2)
{
    DIR *d = opendir(in->versions);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char *p;
        if (e->d_name[0] == '.' || strcmp(e->d_name, keep1) == 0 ||
            (keep2 && strcmp(e->d_name, keep2) == 0))
            continue;
        p = consign_asprintf(ctx, "%s/%s", in->versions, e->d_name);
        if (p && consign_extract_remove_tree(ctx, p)) {
            consign_log(ctx, CONSIGN_LOG_WARN, "could not remove %s: %s", p, consign_err_msg(ctx));
            consign_err_clear(ctx);
        }
        free(p);
    }
    closedir(d);
}

static void
service_start(struct consign_ctx *ctx, const char *name, int upgrade)
{
    char initd[CONSIGN_PATH_MAX];
    int st;

    if (systemd_running()) {
        const char *reload[] = {"systemctl", "daemon-reload", NULL};
        const char *enable[] = {"systemctl", "enable", "--quiet", name, NULL};
        const char *start[] = {"systemctl", upgrade ? "restart" : "start", name, NULL};
        run(ctx, reload);
        run(ctx, enable);
        if ((st = run(ctx, start)) != 0)
            consign_log(ctx, CONSIGN_LOG_WARN,
                        "systemctl %s %s failed (status %d); see journalctl -u %s", start[1], name,
                        st, name);
        return;
    }
    snprintf(initd, sizeof(initd), "/etc/init.d/%s", name);
    {
        const char *urc[] = {"update-rc.d", name, "defaults", NULL};
        const char *chk[] = {"chkconfig", "--add", name, NULL};
        const char *start[] = {initd, upgrade ? "restart" : "start", NULL};
        if (run(ctx, urc) != 0)
            run(ctx, chk);
        if (access("/bin/sh", X_OK) != 0) {
            consign_log(ctx, CONSIGN_LOG_WARN,
                        "no /bin/sh on this system: the service was not started");
            return;
        }
        if ((st = run(ctx, start)) != 0)
            consign_log(ctx, CONSIGN_LOG_WARN, "%s %s failed (status %d)", initd, start[1], st);
    }
}

static void
service_stop(struct consign_ctx *ctx, const char *name)
{
    char initd[CONSIGN_PATH_MAX];

    if (systemd_running()) {
        char timer[CONSIGN_NAME_MAX + 24];
        const char *dis[] = {"systemctl", "disable", "--now", "--quiet", name, NULL};
        const char *dist[] = {"systemctl", "disable", "--now", "--quiet", timer, NULL};
        snprintf(timer, sizeof(timer), "%s-update.timer", name);
        run(ctx, dist);
        run(ctx, dis);
        return;
    }
    snprintf(initd, sizeof(initd), "/etc/init.d/%s", name);
    if (access(initd, X_OK) == 0 && access("/bin/sh", X_OK) == 0) {
        const char *stop[] = {initd, "stop", NULL};
        const char *urc[] = {"update-rc.d", "-f", name, "remove", NULL};
        const char *chk[] = {"chkconfig", "--del", name, NULL};
        run(ctx, stop);
        if (run(ctx, urc) != 0)
            run(ctx, chk);
    }
}

/* The updater's timer runs only when auto-update is on (the setting, read
 * from conf): off means no check at all. Without systemd the init script's
 * own schedule reads the same setting. */
static void
update_timer(struct consign_ctx *ctx, const char *root, const char *name)
{
    struct consign_conf c = {0};
    char timer[CONSIGN_NAME_MAX + 24];
    char *confdir = NULL, *unit = NULL;
    const char *au;
    struct stat st;

    snprintf(timer, sizeof(timer), "%s-update.timer", name);
    if (!systemd_running() || !(unit = rooted(ctx, root, "/etc/systemd/system/", timer, "")) ||
        lstat(unit, &st) < 0 || !(confdir = rooted(ctx, root, "/var/opt/", name, "/conf")) ||
        consign_conf_load(ctx, confdir, &c))
        goto out;
    au = consign_conf_get(&c, "auto_update");
    {
        const char *on[] = {"systemctl", "enable", "--now", "--quiet", timer, NULL};
        const char *off[] = {"systemctl", "disable", "--now", "--quiet", timer, NULL};
        run(ctx, au && strcmp(au, "no") == 0 ? off : on);
    }
out:
    consign_err_clear(ctx);
    consign_conf_free(&c);
    free(confdir);
    free(unit);
}

void
consign_install_service_apply(struct consign_ctx *ctx, const char *root, const char *name)
{
    if (is_real_root(root))
        update_timer(ctx, root, name);
}

void
consign_install_restart(struct consign_ctx *ctx, const char *root, const char *name)
{
    if (is_real_root(root))
        service_start(ctx, name, 1);
}

int
consign_install_switch(struct consign_ctx *ctx, const char *root, const char *name,
                       const char *version, int no_service)
{
    char *optdir = NULL, *vdir = NULL, *cur = NULL, *target = NULL;
    struct stat st;
    int lockfd = -1, rc;

    if (!version_ok(version) || strchr(version, '/'))
        return consign_fail(ctx, CONSIGN_E_INVALID, "invalid version '%.64s'", version);
    if (!(optdir = rooted(ctx, root, "/opt/", name, ""))) {
        rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = lock_open(ctx, optdir, 0, &lockfd)))
        goto out;
    if (!(vdir = consign_asprintf(ctx, "%s/versions/%s", optdir, version)) ||
        !(cur = consign_asprintf(ctx, "%s/current", optdir)) ||
        !(target = consign_asprintf(ctx, "versions/%s", version))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (lstat(vdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "version %s is not installed (%s)", version,
                          vdir);
        goto out;
    }
    if ((rc = link_replace(ctx, target, cur)))
        goto out;
    fsync_path(optdir);
    if (!no_service && is_real_root(root))
        service_start(ctx, name, 1);
out:
    if (lockfd >= 0)
        close(lockfd);
    free(optdir);
    free(vdir);
    free(cur);
    free(target);
    return rc;
}

int
consign_install_commit(struct consign_ctx *ctx, struct consign_install *in,
                       const struct consign_conf *settings)
{
    char prev[CONSIGN_VERSION_MAX] = "";
    char *src = NULL, *vdir = NULL, *vname = NULL, *etc = NULL, *dst = NULL, *cur = NULL;
    char *target = NULL;
    struct stat st;
    int rc, had_current, n;

    if ((rc = finish_payload(ctx, in)) || (rc = check_tree(ctx, in)))
        goto out;
    had_current = current_version(in->optdir, prev, sizeof(prev), NULL, 0) == 0;
    if (!(src = consign_asprintf(ctx, "%s/opt/%s", in->stage, in->name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (lstat(src, &st) < 0 || !S_ISDIR(st.st_mode)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "payload: no opt/%s directory", in->name);
        goto out;
    }
    /* The version's record, then its directory: versions/V, or V~N when V is
     * the running one (a reinstall must not touch what `current` names). */
    {
        char *rec = consign_asprintf(ctx, "%s/.version", src);
        char line[CONSIGN_VERSION_MAX + 1];
        if (!rec) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        snprintf(line, sizeof(line), "%s\n", in->version);
        rc = consign_file_write_atomic(ctx, rec, line, strlen(line), 0644);
        free(rec);
        if (rc)
            goto out;
    }
    fsync_path(src);
    for (n = 0; n < 100; n++) {
        free(vname);
        vname =
            n ? consign_asprintf(ctx, "%s~%d", in->version, n) : consign_strdup(ctx, in->version);
        free(vdir);
        vdir = vname ? consign_asprintf(ctx, "%s/%s", in->versions, vname) : NULL;
        if (!vdir) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if (lstat(vdir, &st) < 0)
            break;
        if (had_current && strcmp(prev, vname) == 0)
            continue;
        if ((rc = consign_extract_remove_tree(ctx, vdir)))
            goto out;
        break;
    }
    if (rename(src, vdir) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", vdir);
        goto out;
    }
    fsync_path(in->versions);

    /* Configuration under /etc/opt/NAME: existing files win. */
    if (!(etc = consign_asprintf(ctx, "%s/etc/opt/%s", in->stage, in->name)) ||
        !(dst = rooted(ctx, in->root, "/etc/opt/", in->name, ""))) {
        rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
        goto out;
    }
    if (lstat(etc, &st) == 0) {
        if ((rc = mkdirs_at(ctx, in->root[0] ? in->root : "", "etc/opt")) ||
            (rc = place_config(ctx, etc, dst)))
            goto out;
    }
    if ((rc = write_settings(ctx, in, settings)) ||
        (rc = add_trusted(ctx, in->root, in->name, in->signer)) ||
        (rc = make_top_links(ctx, in, vdir)))
        goto out;

    /* The service files, before the switch: killed after it, the install
     * is complete, never without its unit or init script. They name only
     * the stable paths, so the version still current runs with them. */
    free(src);
    free(dst);
    src = consign_asprintf(ctx, "%s/lib/systemd/system/%s.service", in->stage, in->name);
    dst = rooted(ctx, in->root, "/etc/systemd/system/", in->name, ".service");
    if (!src || !dst) {
        rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = place_service_file(ctx, src, dst, 0644)))
        goto out;
    free(src);
    free(dst);
    src = consign_asprintf(ctx, "%s/etc/init.d/%s", in->stage, in->name);
    dst = rooted(ctx, in->root, "/etc/init.d/", in->name, "");
    if (!src || !dst) {
        rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = place_service_file(ctx, src, dst, 0755)))
        goto out;
    /* Log rotation: the admin's edits are kept, as for /etc/opt/NAME. */
    free(src);
    free(dst);
    src = consign_asprintf(ctx, "%s/etc/logrotate.d/%s", in->stage, in->name);
    dst = rooted(ctx, in->root, "/etc/logrotate.d/", in->name, "");
    if (!src || !dst) {
        rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
        goto out;
    }
    if (access(dst, F_OK) != 0 && (rc = place_service_file(ctx, src, dst, 0644)))
        goto out;
    {
        static const char *const sfx[] = {"-update.service", "-update.timer"};
        size_t i;
        for (i = 0; i < 2; i++) {
            char *u = consign_asprintf(ctx, "%s%s", in->name, sfx[i]);
            free(src);
            free(dst);
            src = u ? consign_asprintf(ctx, "%s/lib/systemd/system/%s", in->stage, u) : NULL;
            dst = u ? rooted(ctx, in->root, "/etc/systemd/system/", u, "") : NULL;
            free(u);
            if (!src || !dst) {
                rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
                goto out;
            }
            if ((rc = place_service_file(ctx, src, dst, 0644)))
                goto out;
        }
    }

    /* The switch: one rename. */
    if (!(cur = consign_asprintf(ctx, "%s/current", in->optdir)) ||
        !(target = consign_asprintf(ctx, "versions/%s", vname))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = link_replace(ctx, target, cur)))
        goto out;
    fsync_path(in->optdir);
    in->committed = 1;

    /* Then the service. */
    if (!in->o.no_service) {
        service_start(ctx, in->name, had_current);
        update_timer(ctx, in->root, in->name);
    }
    drop_old_versions(ctx, in, vname, had_current ? prev : NULL);
out:
    free(src);
    free(vdir);
    free(vname);
    free(etc);
    free(dst);
    free(cur);
    free(target);
    return rc;
}

void
consign_install_free(struct consign_install *in)
{
    struct consign_ctx quiet;
    size_t i;

    if (!in)
        return;
    consign_ctx_init(&quiet, NULL, NULL);
    consign_extract_free(in->x);
    if (in->stage)
        consign_extract_remove_tree(&quiet, in->stage);
    /* An upgrade that did not happen leaves versions/ with its old times
     * (its change time moves all the same). */
    if (!in->committed && in->have_times)
        utimensat(AT_FDCWD, in->versions, in->versions_times, AT_SYMLINK_NOFOLLOW);
    if (!in->committed && in->n_made) {
        /* A first install that did not happen: nothing of it stays. */
        char *lock = consign_asprintf(&quiet, "%s/.lock", in->optdir);
        if (lock)
            unlink(lock);
        free(lock);
        for (i = 0; i < in->n_made; i++)
            rmdir(in->made[i]);
    }
    for (i = 0; i < in->n_made; i++)
        free(in->made[i]);
    if (in->lockfd >= 0)
        close(in->lockfd);
    free(in->root);
    free(in->optdir);
    free(in->versions);
    free(in->stage);
    free(in->name);
    free(in->version);
    free(in->signer);
    free(in);
}

int
consign_uninstall(struct consign_ctx *ctx, const char *root, const char *name, int purge,
                  int no_service)
{
    struct consign_installed cur;
    char *optdir = NULL, *p = NULL;
    int lockfd = -1, rc;
    const char *files[][2] = {{"/etc/systemd/system/", ".service"},
                              {"/etc/systemd/system/", "-update.timer"},
                              {"/etc/systemd/system/", "-update.service"},
                              {"/etc/init.d/", ""},
                              {"/etc/logrotate.d/", ""}};
    const char *purged[] = {"/etc/opt/", "/var/opt/"};
    size_t i;

    if ((rc = consign_install_query(ctx, root, name, &cur)))
        return rc;
    if (cur.foreign)
        return consign_fail(ctx, CONSIGN_E_EXISTS,
                            "/opt/%s was installed by the system's package manager; remove it "
                            "with apt-get or yum",
                            name);
    if (!is_real_root(root))
        no_service = 1;
    if (!(optdir = rooted(ctx, root, "/opt/", name, ""))) {
        rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
        goto out;
    }
    if (cur.present && (rc = lock_open(ctx, optdir, 0, &lockfd)))
        goto out;
    if (!no_service)
        service_stop(ctx, name);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        free(p);
        if (!(p = rooted(ctx, root, files[i][0], name, files[i][1]))) {
            rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
            goto out;
        }
        if (unlink(p) < 0 && errno != ENOENT) {
            rc = consign_fail_errno(ctx, errno, "%s", p);
            goto out;
        }
    }
    if (!no_service && systemd_running()) {
        const char *reload[] = {"systemctl", "daemon-reload", NULL};
        run(ctx, reload);
    }
    if ((rc = consign_extract_remove_tree(ctx, optdir)))
        goto out;
    for (i = 0; purge && i < 2; i++) {
        free(p);
        if (!(p = rooted(ctx, root, purged[i], name, ""))) {
            rc = ctx->err_code ? ctx->err_code : CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = consign_extract_remove_tree(ctx, p)))
            goto out;
    }
out:
    if (lockfd >= 0)
        close(lockfd);
    free(optdir);
    free(p);
    return rc;
}
