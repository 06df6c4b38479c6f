/* consign compress: xz and zstd streams on every core, byte-for-byte the same
 * whatever the machine.
 *
 * xz goes through liblzma's multi-threaded encoder with a fixed block size
 * (8 MiB) and a CRC64 check (what xz, dpkg-deb and libarchive write; every
 * dpkg and rpm reads it); its output depends on the level and the input only,
 * not on the number of threads. zstd runs with nbWorkers >= 1 and a fixed job
 * size and overlap, whose output likewise does not depend on the number of
 * workers; its frames carry a content checksum, as dpkg-deb and rpm write them.
 *
 * Threads: the CPUs this process may run on, at most 8, and fewer when the
 * encoders would need more than a quarter of the physical memory; xz uses at
 * least 2. The environment variable CONSIGN_COMPRESS_THREADS (1 to 64)
 * overrides the count; it exists for tests, which check that the output stays
 * the same, and changes nothing but speed and memory. */
#ifndef CONSIGN_COMPRESS_H
#define CONSIGN_COMPRESS_H

#include <stddef.h>

#include "consign/error.h"
#include "consign/fileio.h"
#include "consign/pkg.h"

/* The uncompressed bytes of one xz block (the unit each thread compresses). */
#define CONSIGN_COMPRESS_XZ_BLOCK (8u << 20)
/* The uncompressed bytes of one zstd job (each a separate job of the workers). */
#define CONSIGN_COMPRESS_ZSTD_JOB (8u << 20)

struct consign_compressor;

/* Compress a stream into sink. alg: CONSIGN_COMPRESS_XZ (level 0-9) or
 * CONSIGN_COMPRESS_ZSTD (level 1-19). sink receives the compressed bytes in
 * blocks; an error it returns (recorded in ctx) is passed back unchanged and
 * ends the stream. */
int consign_compressor_new(struct consign_ctx *ctx, enum consign_pkg_compress alg, int level,
                           consign_block_fn sink, void *sink_user, struct consign_compressor **out);

/* Compress n more bytes (n may be 0). After a failure every call fails. */
int consign_compressor_write(struct consign_ctx *ctx, struct consign_compressor *c, const void *p,
                             size_t n);

/* End the stream: everything still held goes to the sink. Once only. */
int consign_compressor_finish(struct consign_ctx *ctx, struct consign_compressor *c);

/* Accepts NULL. Stops the worker threads; an unfinished stream is dropped. */
void consign_compressor_free(struct consign_compressor *c);

/* The number of threads a new compressor of alg would use here (>= 1), or 0
 * with ctx set when CONSIGN_COMPRESS_THREADS is invalid. For messages and tests. */
unsigned consign_compress_threads(struct consign_ctx *ctx, enum consign_pkg_compress alg,
                                  int level);

#endif
