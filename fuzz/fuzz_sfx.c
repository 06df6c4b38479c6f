/* Fuzz target: what the .bin stub reads before and after the signature
 * check: the footer and trailer lengths, M, the signature and key packets
 * (consign_sfx_open on a memory file), and the info block parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../selfextract/src/sfx_private.h"
#include "consign/sfx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct consign_ctx ctx;
    struct consign_sfx *s = NULL;
    struct consign_sfx_header h;
    struct consign_sfx_info info;
    char *copy;
    int fd;

    consign_ctx_init(&ctx, NULL, NULL);
    if (size >= CONSIGN_SFX_M_LEN)
        (void)consign__sfx_m_decode(&ctx, data, &h);
    copy = malloc(size + 1);
    if (copy) {
        memcpy(copy, data, size);
        copy[size] = '\0';
        (void)consign__sfx_info_parse(&ctx, copy, size, &info);
        free(copy);
    }
    fd = memfd_create("fuzz-sfx", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size && consign_sfx_open(&ctx, fd, &s) == 0) {
        (void)consign_sfx_verify(&ctx, s);
        consign_sfx_free(s);
    }
    close(fd);
    return 0;
}
