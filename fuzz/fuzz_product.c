/* Fuzz target: the product file parser (YAML tree + schema). */
#include <stddef.h>
#include <stdint.h>

#include "consign/product.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
fixed_var(void *user, const char *name)
{
    (void)user;
    (void)name;
    return "/fuzz";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct consign_ctx ctx;
    struct consign_product *p = NULL;

    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_product_parse(&ctx, "fuzz.yaml", (const char *)data, size, fixed_var, NULL, &p) ==
        0)
        consign_product_free(p);
    return 0;
}
