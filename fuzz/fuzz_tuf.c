/* Fuzz target: TUF metadata parsing (tuf/src/tuf_meta.c). The input is
 * parsed as each of the four roles; whatever parses is then used the way
 * the client uses it: roles verified against the file's own keys (roots and
 * delegations), lookups, delegation path matching, expiry. Signatures in
 * fuzzed input are almost never valid; the point is that nothing reads out
 * of bounds or misbehaves on the way. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "consign/tuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {"a", "a/b", "registry.npmjs.org/keys.json", "trusted_root.json",
                                    "x/y/z.tgz"};

static void
exercise(struct consign_ctx *ctx, const struct consign_tuf_metadata *md)
{
    size_t i, j;

    consign_tuf_check_expiry(ctx, md, 1700000000, "fuzz");
    if (md->type == CONSIGN_TUF_ROOT)
        for (i = 0; i < CONSIGN_TUF_NTYPES; i++)
            consign_tuf_verify_role(ctx, md, md->keys, md->n_keys, &md->roles[i], "fuzz");
    for (i = 0; i < md->n_delegations; i++) {
        consign_tuf_verify_role(ctx, md, md->keys, md->n_keys, &md->delegations[i], "fuzz");
        for (j = 0; j < sizeof(paths) / sizeof(paths[0]); j++)
            consign_tuf_role_matches(&md->delegations[i], paths[j]);
    }
    for (i = 0; i < md->n_targets; i++)
        if (consign_tuf_find_target(md, md->targets[i].path) != &md->targets[i])
            abort(); /* targets are sorted and unique */
    for (i = 0; i < md->n_meta; i++)
        if (consign_tuf_find_meta(md, md->meta[i].name) != &md->meta[i])
            abort();
    for (i = 0; i < md->n_keys; i++)
        if (consign_tuf_find_key(md->keys, md->n_keys, md->keys[i].keyid) != &md->keys[i])
            abort();
    if (md->signed_len > 0 && !md->signed_bytes)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct consign_ctx ctx;
    int t;

    for (t = 0; t < CONSIGN_TUF_NTYPES; t++) {
        struct consign_tuf_metadata *md = NULL;
        consign_ctx_init(&ctx, NULL, NULL);
        if (consign_tuf_metadata_parse(&ctx, (const char *)data, size, (enum consign_tuf_type)t,
                                       &md) == 0) {
            if ((int)md->type != t || md->version < 1 || md->signed_len > size)
                abort();
            exercise(&ctx, md);
        }
        consign_tuf_metadata_free(md);
    }
    return 0;
}
