/* Shared by the .bin reader (static stub) and writer (consign): the byte
 * layout of M and the info block. */
#ifndef CONSIGN_SFX_PRIVATE_H
#define CONSIGN_SFX_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "consign/buf.h"
#include "consign/sfx.h"

static inline uint32_t
consign__le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
consign__le64(const unsigned char *p)
{
    return (uint64_t)consign__le32(p) | (uint64_t)consign__le32(p + 4) << 32;
}

static inline void
consign__put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void
consign__put64(unsigned char *p, uint64_t v)
{
    consign__put32(p, (uint32_t)v);
    consign__put32(p + 4, (uint32_t)(v >> 32));
}

/* M <-> struct. decode checks the magic, version and reserved bytes. */
void consign__sfx_m_encode(const struct consign_sfx_header *h, unsigned char m[CONSIGN_SFX_M_LEN]);
int consign__sfx_m_decode(struct consign_ctx *ctx, const unsigned char m[CONSIGN_SFX_M_LEN],
                          struct consign_sfx_header *h);

/* The info block: "key=value" lines, an empty line, then eula_size bytes of
 * EULA. parse points the strings of out into buf (modified in place). */
int consign__sfx_info_parse(struct consign_ctx *ctx, char *buf, size_t len,
                            struct consign_sfx_info *out);
int consign__sfx_info_format(struct consign_ctx *ctx, const struct consign_sfx_info *in,
                             struct consign_buf *out);

/* The OpenPGP packet at p (n bytes there): its tag, the length of its
 * header and its total length. -1 when the header is malformed, a partial
 * length, or the packet runs past n. */
int consign__sfx_pgp_packet(const unsigned char *p, size_t n, int *tag, size_t *hdrlen,
                            size_t *total);

#endif
