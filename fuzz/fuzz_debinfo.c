/* Fuzz target: the .deb reader (ar members, control.tar, control fields). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "consign/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct consign_ctx ctx;
    struct consign_deb_info *info = NULL;
    char path[64];
    int fd;

    /* The reader takes a path: give it an in-memory file. */
    fd = memfd_create("fuzz.deb", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size &&
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd) < (int)sizeof(path)) {
        consign_ctx_init(&ctx, NULL, NULL);
        if (consign_deb_info_read(&ctx, path, &info) == 0)
            consign_deb_info_free(info);
    }
    close(fd);
    return 0;
}
