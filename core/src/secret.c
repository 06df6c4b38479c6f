/* Secrets from files or the environment, wiped on free. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/secret.h"

static int
secret_new(struct consign_ctx *ctx, const char *p, size_t n, struct consign_secret **out)
{
    struct consign_secret *s;

    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    s = consign_calloc(ctx, 1, sizeof(*s));
    if (!s)
        return CONSIGN_E_NOMEM;
    s->data = malloc(n + 1);
    if (!s->data) {
        free(s);
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    }
    memcpy(s->data, p, n);
    s->data[n] = '\0';
    s->len = n;
    *out = s;
    return 0;
}

int
consign_secret_from_file(struct consign_ctx *ctx, const char *path, struct consign_secret **out)
{
    char buf[CONSIGN_SECRET_MAX + 1];
    struct stat st;
    size_t len = 0;
    int fd, rc = 0;
    char *nl;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & 077))
        consign_log(ctx, CONSIGN_LOG_WARN, "%s: secret file is readable by group or others", path);
    while (len < sizeof(buf)) {
        ssize_t n = consign_read(fd, buf + len, sizeof(buf) - len);
        if (n < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", path);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    nl = memchr(buf, '\n', len);
    if (nl)
        len = (size_t)(nl - buf);
    else if (len > CONSIGN_SECRET_MAX) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: secret longer than %d bytes", path,
                          CONSIGN_SECRET_MAX);
        goto out;
    }
    if (memchr(buf, '\0', len)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: secret contains a NUL byte", path);
        goto out;
    }
    rc = secret_new(ctx, buf, len, out);
out:
    explicit_bzero(buf, sizeof(buf));
    if (fd >= 0)
        close(fd);
    return rc;
}

int
consign_secret_from_env(struct consign_ctx *ctx, const char *var, struct consign_secret **out)
{
    const char *v = getenv(var);

    *out = NULL;
    if (!v)
        return consign_fail(ctx, CONSIGN_E_NOTFOUND, "environment variable %s is not set", var);
    if (strlen(v) > CONSIGN_SECRET_MAX)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: secret longer than %d bytes", var,
                            CONSIGN_SECRET_MAX);
    return secret_new(ctx, v, strlen(v), out);
}

void
consign_secret_free(struct consign_secret *s)
{
    if (!s)
        return;
    if (s->data) {
        explicit_bzero(s->data, s->len);
        free(s->data);
    }
    free(s);
}
