/* consign-rpminfo: print a whole primary.xml, filelists.xml or other.xml for
 * the given packages, in argument order, for the tests (createrepo_c's
 * documents, uncompressed). The location href is the file's base name, the
 * file time its modification time.
 * Usage: consign-rpminfo primary|filelists|other FILE.rpm... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/rpminfo.h"

int
main(int argc, char **argv)
{
    struct consign_ctx ctx;
    struct consign_rpm_info *info = NULL;
    struct consign_buf out;
    enum consign_rpm_md kind;
    const char *base;
    struct stat st;
    int i, rc = 0;

    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1u << 30);
    if (argc < 2 || (strcmp(argv[1], "primary") != 0 && strcmp(argv[1], "filelists") != 0 &&
                     strcmp(argv[1], "other") != 0)) {
        fprintf(stderr, "usage: consign-rpminfo primary|filelists|other FILE.rpm...\n");
        rc = 2;
        goto out;
    }
    kind = argv[1][0] == 'p'   ? CONSIGN_RPM_PRIMARY
           : argv[1][0] == 'f' ? CONSIGN_RPM_FILELISTS
                               : CONSIGN_RPM_OTHER;
    if ((rc = consign_rpm_md_header(&ctx, kind, (size_t)(argc - 2), &out)))
        goto fail;
    fwrite(out.data, 1, out.len, stdout);
    consign_buf_reset(&out);
    for (i = 2; i < argc; i++) {
        base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        if (stat(argv[i], &st) != 0) {
            rc = consign_fail(&ctx, CONSIGN_E_IO, "%s: cannot stat", argv[i]);
            goto fail;
        }
        if ((rc = consign_rpm_info_read(&ctx, argv[i], &info)))
            goto fail;
        if (kind == CONSIGN_RPM_PRIMARY)
            rc = consign_rpm_info_primary_xml(&ctx, info, base, (long long)st.st_mtime, &out);
        else if (kind == CONSIGN_RPM_FILELISTS)
            rc = consign_rpm_info_filelists_xml(&ctx, info, &out);
        else
            rc = consign_rpm_info_other_xml(&ctx, info, &out);
        if (rc) {
            consign_err_context(&ctx, rc, "%s", argv[i]);
            goto fail;
        }
        consign_rpm_info_free(info);
        info = NULL;
        fwrite(out.data, 1, out.len, stdout);
        consign_buf_reset(&out);
    }
    fputs(consign_rpm_md_footer(kind), stdout);
    goto out;
fail:
    fprintf(stderr, "consign-rpminfo: %s\n", consign_err_msg(&ctx));
    rc = consign_exit_class(rc);
out:
    consign_rpm_info_free(info);
    consign_buf_free(&out);
    return rc;
}
