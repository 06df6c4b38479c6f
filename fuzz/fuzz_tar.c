/* Fuzz target: the tar reader and the extractor's entry policy, without disk
 * writes. The input is read twice, whole and in small uneven chunks; both
 * runs must agree, since the reader may not depend on how bytes arrive. A
 * third run reads a copy with every header checksum made right. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consign/extract.h"
#include "consign/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    unsigned long long entries, bytes, ends;
    int open; /* an entry is between entry and entry_end */
};

static int
on_entry(struct consign_ctx *ctx, void *user, const struct consign_tar_entry *e)
{
    struct seen *s = user;

    if (s->open || !e->path ||
        (e->link == NULL) != (e->type != CONSIGN_TAR_SYMLINK && e->type != CONSIGN_TAR_HARDLINK))
        abort();
    s->entries++;
    s->open = 1;
    return consign_extract_check_entry(ctx, e, NULL);
}

static int
on_data(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct seen *s = user;

    (void)ctx;
    (void)p;
    if (!s->open)
        abort();
    s->bytes += n;
    return 0;
}

static int
on_end(struct consign_ctx *ctx, void *user)
{
    struct seen *s = user;

    (void)ctx;
    if (!s->open)
        abort();
    s->open = 0;
    s->ends++;
    return 0;
}

/* Read the input whole (chunked 0) or in chunks of 1, 2, ... 61 bytes. */
static int
run(const uint8_t *data, size_t size, int chunked, struct seen *s)
{
    static const struct consign_tar_callbacks cb = {on_entry, on_data, on_end};
    struct consign_tar_limits lim = {1u << 24, 4096, 0};
    struct consign_tar_reader *r = NULL;
    struct consign_ctx ctx;
    size_t off = 0, step = 1, n;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    if ((rc = consign_tar_reader_new(&ctx, &lim, &cb, s, &r)))
        return rc;
    if (!chunked)
        rc = consign_tar_reader_feed(&ctx, r, data, size);
    while (chunked && off < size && !rc) {
        n = size - off < step ? size - off : step;
        rc = consign_tar_reader_feed(&ctx, r, data + off, n);
        off += n;
        step = step % 61 + 1;
    }
    if (!rc)
        rc = consign_tar_reader_finish(&ctx, r);
    if (!rc && s->open)
        abort(); /* finished inside an entry */
    consign_tar_reader_free(r);
    return rc;
}

/* Mutations almost never keep a header checksum right: walk the copy as
 * tar would (header, then its data blocks) and fix each header's checksum,
 * so the fuzzer also reaches what lies behind the checksum. */
static void
fix_checksums(uint8_t *p, size_t size)
{
    size_t off = 0, i;

    while (size - off >= 512) {
        uint8_t *h = p + off;
        unsigned long long len = 0;
        unsigned sum = 0;
        int zero = 1;

        for (i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        off += 512;
        if (zero)
            continue;
        memset(h + 148, ' ', 8);
        for (i = 0; i < 512; i++)
            sum += h[i];
        for (i = 0; i < 6; i++)
            h[148 + 5 - i] = (uint8_t)('0' + ((sum >> (3 * i)) & 7));
        h[154] = '\0';
        for (i = 124; i < 136 && h[i] >= '0' && h[i] <= '7'; i++)
            len = len * 8 + (unsigned long long)(h[i] - '0');
        len = (len + 511) / 512 * 512;
        if (len > size - off)
            break;
        off += (size_t)len;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seen a = {0, 0, 0, 0}, b = {0, 0, 0, 0}, c = {0, 0, 0, 0};
    int ra = run(data, size, 0, &a), rb = run(data, size, 1, &b);
    uint8_t *copy;

    if (ra != rb || a.entries != b.entries || a.bytes != b.bytes || a.ends != b.ends)
        abort();
    if (size && (copy = malloc(size))) {
        memcpy(copy, data, size);
        fix_checksums(copy, size);
        run(copy, size, 0, &c);
        free(copy);
    }
    return 0;
}
