/* Path checks shared by every component that writes under a root. */
#include <stdlib.h>
#include <string.h>

#include "consign/buf.h"
#include "consign/path.h"

/* Walk the components of p, appending the normal form to b. Refuses "..". */
static int
append_components(struct consign_ctx *ctx, struct consign_buf *b, const char *p, const char *orig)
{
    while (*p) {
        const char *end;
        size_t n;
        int rc;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        end = strchr(p, '/');
        n = end ? (size_t)(end - p) : strlen(p);
        if (n == 1 && p[0] == '.') {
            p += n;
            continue;
        }
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "%s: path contains '..'", orig);
        if ((rc = consign_buf_append(ctx, b, "/", 1)) || (rc = consign_buf_append(ctx, b, p, n)))
            return rc == CONSIGN_E_TOOBIG
                       ? consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "path is too long")
                       : rc;
        p += n;
    }
    return 0;
}

int
consign_path_normalize_abs(struct consign_ctx *ctx, const char *path, char **out)
{
    struct consign_buf b;
    int rc;

    *out = NULL;
    consign_buf_init(&b, CONSIGN_PATH_MAX);
    if (path[0] != '/') {
        rc = consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "%s: path is not absolute", path);
        goto out;
    }
    if ((rc = append_components(ctx, &b, path, path)))
        goto out;
    if (b.len == 0 && (rc = consign_buf_append(ctx, &b, "/", 1)))
        goto out;
    *out = consign_buf_steal(&b, NULL);
out:
    consign_buf_free(&b);
    return rc;
}

int
consign_path_check_rel(struct consign_ctx *ctx, const char *rel)
{
    struct consign_buf b;
    int rc;

    if (!rel[0])
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "empty path");
    if (rel[0] == '/')
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "%s: path is absolute", rel);
    consign_buf_init(&b, CONSIGN_PATH_MAX);
    rc = append_components(ctx, &b, rel, rel);
    consign_buf_free(&b);
    return rc;
}

int
consign_path_in_root(struct consign_ctx *ctx, const char *root, const char *path, char **out)
{
    struct consign_buf b;
    int rc;

    *out = NULL;
    consign_buf_init(&b, CONSIGN_PATH_MAX);
    if (root && root[0]) {
        if ((rc = consign_buf_puts(ctx, &b, root)))
            goto out;
        while (b.len > 1 && b.data[b.len - 1] == '/')
            b.data[--b.len] = '\0';
        if (b.len == 1 && b.data[0] == '/')
            consign_buf_reset(&b);
    }
    if ((rc = append_components(ctx, &b, path, path)))
        goto out;
    if (b.len == 0 && (rc = consign_buf_append(ctx, &b, "/", 1)))
        goto out;
    *out = consign_buf_steal(&b, NULL);
out:
    consign_buf_free(&b);
    return rc;
}

char *
consign_path_dirname_dup(struct consign_ctx *ctx, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return consign_strdup(ctx, ".");
    if (slash == path)
        return consign_strdup(ctx, "/");
    return consign_strndup(ctx, path, (size_t)(slash - path));
}

int
consign_path_resolve(struct consign_ctx *ctx, const char *base, const char *rel, char **out)
{
    *out = (rel[0] == '/' || !base || !base[0] || strcmp(base, ".") == 0)
               ? consign_strdup(ctx, rel)
               : consign_asprintf(ctx, "%s/%s", base, rel);
    return *out ? 0 : CONSIGN_E_NOMEM;
}
