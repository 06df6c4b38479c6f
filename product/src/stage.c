/* Launch file generation and sandbox staging of a product. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/path.h"
#include "consign/product.h"

int
consign_product_launch_conf(struct consign_ctx *ctx, const struct consign_product *p,
                            struct consign_buf *out)
{
    size_t i;
    int rc;

    if ((rc =
             consign_buf_printf(ctx, out,
                                "# consign launch file for %s %s-%s (generated; do not edit)\n"
                                "name=%s\noptions_file=%s\n",
                                p->name, p->version, p->release, p->name, p->service.options_file)))
        return rc;
    for (i = 0; i < p->service.nexec; i++) {
        if (strchr(p->service.exec[i], '\n'))
            return consign_fail(ctx, CONSIGN_E_INVALID, "service.exec[%zu]: contains a newline", i);
        if ((rc = consign_buf_printf(ctx, out, "arg=%s\n", p->service.exec[i])))
            return rc;
    }
    return 0;
}

static int
stage_spec(struct consign_ctx *ctx, const struct consign_package_spec *spec, const char *root)
{
    char *dst = NULL;
    size_t i;
    int rc = 0;

    for (i = 0; i < spec->nfiles; i++) {
        const struct consign_file_spec *f = &spec->files[i];
        free(dst);
        if ((rc = consign_path_in_root(ctx, root, f->dst, &dst)))
            goto out;
        if ((rc = consign_copy_tree(ctx, f->src, dst, f->mode < 0 ? (mode_t)-1 : (mode_t)f->mode)))
            goto out;
    }
out:
    free(dst);
    if (rc)
        consign_err_context(ctx, rc, "%s", spec->name);
    return rc;
}

/* Format an absolute target path and place it under root. */
__attribute__((format(printf, 4, 5))) static int
in_root(struct consign_ctx *ctx, const char *root, char **out, const char *fmt, ...)
{
    char rel[CONSIGN_PATH_MAX];
    va_list ap;
    int n;

    free(*out);
    *out = NULL;
    va_start(ap, fmt);
    n = vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(rel))
        return consign_fail(ctx, CONSIGN_E_UNSAFE_PATH, "path too long");
    return consign_path_in_root(ctx, root, rel, out);
}

int
consign_product_stage(struct consign_ctx *ctx, const struct consign_product *p, const char *root,
                      const char *launcher_path)
{
    static const char *const vardirs[] = {"conf", "logs"};
    struct consign_buf conf;
    char *path = NULL;
    size_t i;
    int rc;

    consign_buf_init(&conf, 1 << 16);
    if ((rc = consign_mkdirs(ctx, root, 0755)))
        goto out;
    if ((rc = stage_spec(ctx, &p->agent, root)))
        goto out;
    if (p->runtime.nfiles && (rc = stage_spec(ctx, &p->runtime, root)))
        goto out;
    if ((rc = consign_product_launch_conf(ctx, p, &conf)) ||
        (rc = in_root(ctx, root, &path, "/opt/%s/lib/consign", p->name)) ||
        (rc = consign_mkdirs(ctx, path, 0755)) ||
        (rc = in_root(ctx, root, &path, "/opt/%s/lib/consign/launch.conf", p->name)) ||
        (rc = consign_file_write_atomic(ctx, path, conf.data, conf.len, 0644)) ||
        (rc = in_root(ctx, root, &path, "/opt/%s/bin/%s-launch", p->name, p->name)) ||
        (rc = consign_copy_tree(ctx, launcher_path, path, 0755)))
        goto out;
    for (i = 0; i < sizeof(vardirs) / sizeof(vardirs[0]); i++)
        if ((rc = in_root(ctx, root, &path, "/var/opt/%s/%s", p->name, vardirs[i])) ||
            (rc = consign_mkdirs(ctx, path, 0750)))
            goto out;
out:
    free(path);
    consign_buf_free(&conf);
    return rc;
}
