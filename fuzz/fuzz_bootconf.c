/* Fuzz target: the bootstrap's embedded configuration (bootstrap/src/bootconf.c).
 * What parse accepts must be written back by format and parse to the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consign/bootconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct consign_bootconf c, back;
    struct consign_ctx ctx;
    struct consign_buf b;
    size_t i;

    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_bootconf_parse(&ctx, (const char *)data, size, &c) == 0) {
        if (!c.name || !c.channel || !c.n_urls || !c.n_signers ||
            c.n_urls > CONSIGN_BOOTCONF_URLS || c.n_signers > CONSIGN_BOOTCONF_SIGNERS)
            abort();
        consign_buf_init(&b, CONSIGN_BOOTCONF_MAX);
        if (consign_bootconf_format(&ctx, &c, &b) ||
            consign_bootconf_parse(&ctx, b.data, b.len, &back))
            abort();
        if (strcmp(back.name, c.name) || strcmp(back.channel, c.channel) ||
            back.n_urls != c.n_urls || back.n_signers != c.n_signers)
            abort();
        for (i = 0; i < c.n_urls; i++)
            if (strcmp(back.urls[i], c.urls[i]))
                abort();
        consign_bootconf_free(&back);
        consign_buf_free(&b);
    } else if (!consign_err_msg(&ctx)[0])
        abort();
    consign_bootconf_free(&c);
    return 0;
}
