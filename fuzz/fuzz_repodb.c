/* Fuzz target: the repository database (ROOT/.consign/apt.db), which sits
 * on disk beside what is served and is parsed like outside input. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../repo-tools/src/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void
cleanup(void)
{
    char path[128];
    static const char *const files[] = {".consign/apt.db", ".consign/lock", ".consign", ""};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", root, files[i]);
        if (remove(path) != 0 && i < 2)
            continue;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct consign_ctx ctx;
    struct store *st = NULL;
    char path[128];
    int fd;

    if (!root[0]) {
        snprintf(root, sizeof(root), "/tmp/consign-fuzz-repodb.%ld", (long)getpid());
        mkdir(root, 0700);
        snprintf(path, sizeof(path), "%s/.consign", root);
        mkdir(path, 0700);
        atexit(cleanup);
    }
    snprintf(path, sizeof(path), "%s/.consign/apt.db", root);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    close(fd);
    consign_ctx_init(&ctx, NULL, NULL);
    if (store_open(&ctx, root, STORE_APT, 0, &st) == 0) {
        /* Use what was loaded the way publish does. */
        for (size_t i = 0; i < st->npkgs; i++) {
            volatile size_t sum = 0;
            for (int b = 0; b < STORE_BLOBS; b++)
                for (size_t k = 0; k < st->pkgs[i]->bloblen[b]; k++)
                    sum += (unsigned char)st->pkgs[i]->blob[b][k];
            (void)store_gen_keeps(st, st->pkgs[i]->path, st->pkgs[i]->name);
        }
        store_close(st);
    }
    return 0;
}
