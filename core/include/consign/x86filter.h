/* consign core: the x86 branch filter for machine code in payloads.
 *
 * In x86 and x86-64 code a call or jump (opcode E8 or E9) is followed by a
 * 32-bit displacement relative to the instruction. Every call of one
 * function has a different displacement, so the compressor sees noise. The
 * filter rewrites each displacement in [-2^24, 2^24) as an absolute position
 * modulo 2^25 (with bit 24 repeated up to bit 31, so the "small
 * displacement" test gives the same answer on both sides); repeated calls
 * then are repeated bytes. It keeps the size, is its own exact inverse
 * (decode after encode gives the input back for any bytes, code or not) and
 * works on a stream cut anywhere. zstd compresses a filtered libjvm.so about
 * 6% smaller. Bytes that are not code pass through unchanged or permuted
 * reversibly; only a wasted few percent of compression is at stake. */
#ifndef CONSIGN_X86FILTER_H
#define CONSIGN_X86FILTER_H

#include <stddef.h>

struct consign_x86f {
    unsigned long long pos; /* offset in the file of the next byte to run */
    int decode;             /* 0: encode (writer), 1: decode (reader) */
};

/* A filter for a new file. */
void consign_x86f_init(struct consign_x86f *f, int decode);

/* Transform buf[0, n) in place, buf[0] being the file's byte f->pos. Returns
 * how many leading bytes are final (f->pos advances by that many). The rest,
 * at most 4 bytes, could start an instruction cut by the end of buf: pass
 * them again at the start of the next call, or, at the end of the file, use
 * them as they are. */
size_t consign_x86f_run(struct consign_x86f *f, unsigned char *buf, size_t n);

/* 1 when the first bytes of a file (at least 20 of them) are the header of
 * an x86 or x86-64 ELF object: the files worth filtering. */
int consign_x86f_wanted(const unsigned char *head, size_t n);

#endif
