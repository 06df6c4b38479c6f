/* Fuzz target: the .rpm reader (lead, both headers, the fields createrepo_c
 * reads) and the three metadata writers. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/rpminfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct consign_ctx ctx;
    struct consign_rpm_info *info = NULL;
    struct consign_buf out;
    char path[64];
    int fd;

    /* The reader takes a path: give it an in-memory file. */
    fd = memfd_create("fuzz.rpm", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    consign_buf_init(&out, 64u << 20);
    if (write(fd, data, size) == (ssize_t)size &&
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd) < (int)sizeof(path)) {
        consign_ctx_init(&ctx, NULL, NULL);
        if (consign_rpm_info_read(&ctx, path, &info) == 0) {
            (void)consign_rpm_info_primary_xml(&ctx, info, "Packages/x.rpm", 1700000000, &out);
            (void)consign_rpm_info_filelists_xml(&ctx, info, &out);
            (void)consign_rpm_info_other_xml(&ctx, info, &out);
            consign_rpm_info_free(info);
        }
    }
    consign_buf_free(&out);
    close(fd);
    return 0;
}
