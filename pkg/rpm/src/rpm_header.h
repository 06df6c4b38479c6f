/* RPM v4 header structures: a tag store and its serialiser (private to pkg/rpm
 * and its unit test).
 *
 * A header is a 16-byte intro (magic 8E AD E8 01, 4 reserved bytes, the index
 * length il and the data length dl), il index entries of 16 bytes (tag, type,
 * offset, count) and dl bytes of data, all big-endian. The entries are written
 * sorted by tag behind one region entry (62 for the signature header, 63 for
 * the main header) whose 16-byte trailer closes the data; every value is
 * aligned to its type's size (rpm's lib/header.c checks all of this). */
#ifndef CONSIGN_RPM_HEADER_H
#define CONSIGN_RPM_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "consign/buf.h"
#include "consign/error.h"

enum consign__rpm_type {
    CONSIGN_RPM_INT16 = 3,
    CONSIGN_RPM_INT32 = 4,
    CONSIGN_RPM_INT64 = 5,
    CONSIGN_RPM_STRING = 6,
    CONSIGN_RPM_BIN = 7,
    CONSIGN_RPM_STRING_ARRAY = 8,
    CONSIGN_RPM_I18NSTRING = 9,
};

#define CONSIGN_RPM_REGION_SIGNATURES 62
#define CONSIGN_RPM_REGION_IMMUTABLE  63
#define CONSIGN_RPM_HDR_MAX_TAGS      4096        /* rpm allows 0xffff */
#define CONSIGN_RPM_HDR_MAX_DATA      0x00ffffffu /* rpm < 4.14 reads at most 16 MiB */
#define CONSIGN_RPM_SIG_MAX_TAGS      32          /* rpm's limit for signatures */

/* The values of one array tag, built element by element, already in the
 * header's encoding (big-endian numbers, NUL-terminated strings). */
struct consign__rpm_array {
    enum consign__rpm_type type;
    struct consign_buf data;
    uint32_t count;
};

struct consign__rpm_entry {
    uint32_t tag;
    enum consign__rpm_type type;
    uint32_t count;
    char *data; /* encoded value (owned) */
    size_t len;
};

struct consign__rpm_hdr {
    struct consign__rpm_entry *e;
    size_t n, cap;
};

void consign__rpm_hdr_init(struct consign__rpm_hdr *h);
void consign__rpm_hdr_free(struct consign__rpm_hdr *h);

/* Single values. A tag may be added once. */
int consign__rpm_hdr_string(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
                            const char *s);
int consign__rpm_hdr_i18n(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
                          const char *s);
int consign__rpm_hdr_u32(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
                         uint32_t v);
int consign__rpm_hdr_bin(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
                         const void *p, size_t n);
/* An array tag: takes the array's storage (a is emptied, even on failure). */
int consign__rpm_hdr_array(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
                           struct consign__rpm_array *a);

/* Arrays. type is INT16, INT32 or STRING_ARRAY. */
void consign__rpm_array_init(struct consign__rpm_array *a, enum consign__rpm_type type);
void consign__rpm_array_free(struct consign__rpm_array *a);
int consign__rpm_array_str(struct consign_ctx *ctx, struct consign__rpm_array *a, const char *s);
int consign__rpm_array_u16(struct consign_ctx *ctx, struct consign__rpm_array *a, uint16_t v);
int consign__rpm_array_u32(struct consign_ctx *ctx, struct consign__rpm_array *a, uint32_t v);

/* Serialise h with region tag `region` (62 or 63), appending to out. */
int consign__rpm_hdr_write(struct consign_ctx *ctx, const struct consign__rpm_hdr *h,
                           uint32_t region, struct consign_buf *out);

#endif
