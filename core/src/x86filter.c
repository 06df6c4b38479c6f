/* The x86 branch filter (see consign/x86filter.h). */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "consign/x86filter.h"

#define SPAN_BITS 25
#define SPAN_MASK ((1u << SPAN_BITS) - 1)
#define HIGH_BITS (~SPAN_MASK) /* bits 25..31 */

void
consign_x86f_init(struct consign_x86f *f, int decode)
{
    f->pos = 0;
    f->decode = decode;
}

static unsigned
get32(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8 | (unsigned)p[2] << 16 | (unsigned)p[3] << 24;
}

static void
put32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* The first offset in [i, limit) whose byte is E8 or E9, else limit. Most
 * bytes are not: 16 at a time where SSE2 is there (every x86-64). */
static size_t
next_op(const unsigned char *b, size_t i, size_t limit)
{
#if defined(__SSE2__)
    const __m128i keep = _mm_set1_epi8((char)0xFE), op = _mm_set1_epi8((char)0xE8);

    while (limit - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(v, keep), op));
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < limit && (b[i] & 0xFE) != 0xE8)
        i++;
    return i;
}

/* Encoder and decoder must take the same branches at the same offsets. A
 * decision at i reads the opcode buf[i] and the top byte buf[i + 4]; the
 * rewrite keeps that top byte 0x00 or 0xFF, and after an E8/E9 left alone
 * the next decision is at i + 4, so no rewrite at i + 1..i + 3 can change
 * the byte the decoder reads at i + 4. Bytes behind a decision point are
 * never changed again. Every offset below n - 4 gets a decision; the last 4
 * bytes wait for more data. */
size_t
consign_x86f_run(struct consign_x86f *f, unsigned char *buf, size_t n)
{
    size_t i = 0;

    if (n < 5)
        return 0;
    while (i < n - 4) {
        unsigned char top;
        i = next_op(buf, i, n - 4);
        if (i >= n - 4)
            break;
        top = buf[i + 4];
        if (top != 0x00 && top != 0xFF) {
            i += 4;
            continue;
        }
        {
            unsigned at = (unsigned)((f->pos + i) & SPAN_MASK);
            unsigned v = get32(buf + i + 1) & SPAN_MASK;
            v = (f->decode ? v - at : v + at) & SPAN_MASK;
            if (v >> (SPAN_BITS - 1))
                v |= HIGH_BITS;
            put32(buf + i + 1, v);
        }
        i += 5;
    }
    f->pos += i;
    return i;
}

int
consign_x86f_wanted(const unsigned char *h, size_t n)
{
    unsigned machine;

    if (n < 20 || memcmp(h, "\177ELF", 4) != 0)
        return 0;
    if (h[5] == 1) /* little-endian */
        machine = (unsigned)h[18] | (unsigned)h[19] << 8;
    else
        return 0;
    return machine == 3 /* EM_386 */ || machine == 62 /* EM_X86_64 */;
}
