/* Replays fuzz inputs without libFuzzer, so ctest runs every corpus on every
 * build (and under ASan+UBSan). Arguments are files or directories. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "consign/buf.h"
#include "consign/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path, size_t *count)
{
    struct consign_ctx ctx;
    char *buf = NULL;
    size_t len = 0;

    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_file_read(&ctx, path, 64u << 20, &buf, &len)) {
        fprintf(stderr, "replay: %s\n", consign_err_msg(&ctx));
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
    free(buf);
    (*count)++;
    return 0;
}

static int
replay_path(const char *path, size_t *count)
{
    struct dirent **ents = NULL;
    int n, i, rc = 0;

    if (!consign_is_dir(path))
        return replay_file(path, count);
    n = scandir(path, &ents, NULL, alphasort);
    if (n < 0) {
        perror(path);
        return 1;
    }
    for (i = 0; i < n; i++) {
        char sub[4096];
        if (ents[i]->d_name[0] != '.' &&
            snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name) < (int)sizeof(sub))
            rc |= replay_path(sub, count);
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int
main(int argc, char **argv)
{
    size_t count = 0;
    int i, rc = 0;

    for (i = 1; i < argc; i++)
        rc |= replay_path(argv[i], &count);
    printf("replayed %zu inputs\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    return rc;
}
