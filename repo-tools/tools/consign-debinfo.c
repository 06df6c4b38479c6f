/* consign-debinfo: print the Packages stanza of each .deb, for the tests.
 * Usage: consign-debinfo [--no-sha512] [--base DIR] FILE...
 * Filename is FILE as given, or relative to DIR when FILE is under it. */
#include <stdio.h>
#include <string.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/repo.h"

/* The Filename of path: relative to base when path is under it. */
static const char *
relative(const char *base, const char *path)
{
    size_t n = base ? strlen(base) : 0;

    while (n > 1 && base[n - 1] == '/')
        n--;
    if (n && strncmp(path, base, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

int
main(int argc, char **argv)
{
    struct consign_ctx ctx;
    struct consign_deb_info *info = NULL;
    struct consign_buf out;
    const char *base = NULL;
    int i = 1, sha512 = 1, rc = 0;

    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1u << 24);
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--no-sha512") == 0) {
            sha512 = 0;
        } else if (strcmp(argv[i], "--base") == 0 && i + 1 < argc) {
            base = argv[++i];
        } else {
            fprintf(stderr, "usage: consign-debinfo [--no-sha512] [--base DIR] FILE...\n");
            rc = 2;
            goto out;
        }
    }
    for (; i < argc; i++) {
        consign_buf_reset(&out);
        if ((rc = consign_deb_info_read(&ctx, argv[i], &info)) ||
            (rc = consign_deb_info_stanza(&ctx, info, relative(base, argv[i]), sha512, &out))) {
            fprintf(stderr, "consign-debinfo: %s\n", consign_err_msg(&ctx));
            rc = consign_exit_class(rc);
            goto out;
        }
        fwrite(out.data, 1, out.len, stdout);
        fputs("\n", stdout);
        consign_deb_info_free(info);
        info = NULL;
    }
out:
    consign_deb_info_free(info);
    consign_buf_free(&out);
    return rc;
}
