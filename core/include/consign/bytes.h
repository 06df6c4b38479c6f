/* consign core: big-endian integers, as the RPM and OpenPGP formats store
 * them, and hexadecimal digits (consign_hex in hash.h writes them). */
#ifndef CONSIGN_BYTES_H
#define CONSIGN_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* The value of one hex digit (either case), or -1. */
static inline int
consign_hexval(int c)
{
    if ('0' <= c && c <= '9')
        return c - '0';
    if ('a' <= c && c <= 'f')
        return c - 'a' + 10;
    if ('A' <= c && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly 2n hex digits (hexlen) into n bytes: 0, or -1 for anything else. */
static inline int
consign_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t n)
{
    size_t i;

    if (hexlen != 2 * n)
        return -1;
    for (i = 0; i < n; i++) {
        int hi = consign_hexval((unsigned char)hex[2 * i]);
        int lo = consign_hexval((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static inline void
consign_put_be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void
consign_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline uint32_t
consign_get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

#endif
