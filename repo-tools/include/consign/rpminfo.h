/* consign repo: reading a binary .rpm the way a YUM repository indexer must,
 * and writing its metadata as createrepo_c does.
 *
 * consign_rpm_info_read streams the file once: every byte goes to SHA-256
 * (the package id) while the lead, the signature header and the main header
 * are parsed; the payload is only hashed. Both headers are checked as rpm
 * 4.18 checks them before it trusts them (the region and its trailer, each
 * index entry's tag, type, count, alignment and offset against the data
 * store, string termination, overlaps, the store's exact size, the types of
 * known tags), and capped. The header and payload size recorded in the
 * signature header, when there, must match the file (a truncated download).
 *
 * The three fragments are then written byte for byte as createrepo_c 0.17
 * (Debian 12's createrepo-c, libxml2 2.9) writes them with its default
 * options: the same dependency filtering (rpmlib() and self-provided
 * requires dropped, duplicates removed, pre="1", only the highest
 * libc.so.6 version), primary's file subset, the last
 * CONSIGN_RPM_CHANGELOG_LIMIT changelog entries with equal times made
 * distinct, libxml2's escaping, and createrepo_c's Latin-1 repair of text
 * that is not UTF-8.
 *
 * Refused: source packages (CONSIGN_E_INVALID), RPM v3 headers (no
 * immutable region, or an old-style file list) (CONSIGN_E_INVALID), headers
 * without NAME, VERSION, RELEASE or ARCH (CONSIGN_E_INVALID), a NAME,
 * VERSION, RELEASE or ARCH with white space, control or non-ASCII bytes
 * (CONSIGN_E_INVALID), text with control characters, which createrepo_c
 * refuses too (CONSIGN_E_INVALID), text that is UTF-8 by libxml2's loose
 * test but not valid (overlong forms, surrogates, beyond U+10FFFF, U+FFFE,
 * U+FFFF), which createrepo_c would write out as it is (CONSIGN_E_INVALID),
 * malformed structure (CONSIGN_E_SYNTAX), caps exceeded (CONSIGN_E_TOOBIG).
 * Every message starts with the path: "x.rpm: header: entry 12: offset out
 * of range". */
#ifndef CONSIGN_RPMINFO_H
#define CONSIGN_RPMINFO_H

#include <stddef.h>

#include "consign/buf.h"
#include "consign/error.h"

/* Caps of the reader: index and data store of each header. */
#define CONSIGN_RPM_SIGNATURE_MAX (1u << 20)  /* the signature header */
#define CONSIGN_RPM_HEADER_MAX    (32u << 20) /* the main header */
/* Changelog entries in other.xml: createrepo_c's default --changelog-limit. */
#define CONSIGN_RPM_CHANGELOG_LIMIT 10

struct consign_rpm_info;

/* Read the .rpm at path. *out is freed with consign_rpm_info_free. */
int consign_rpm_info_read(struct consign_ctx *ctx, const char *path, struct consign_rpm_info **out);
void consign_rpm_info_free(struct consign_rpm_info *info);

/* What the header says (borrowed strings). */
const char *consign_rpm_info_name(const struct consign_rpm_info *info);
const char *consign_rpm_info_version(const struct consign_rpm_info *info);
const char *consign_rpm_info_release(const struct consign_rpm_info *info);
const char *consign_rpm_info_arch(const struct consign_rpm_info *info);
/* The epoch, 0 when absent; *present (may be NULL) says whether the header has one. */
unsigned long long consign_rpm_info_epoch(const struct consign_rpm_info *info, int *present);
/* The file: its size in bytes, the lower-case hex SHA-256 of all of it, and
 * the byte range of the main header (createrepo_c's rpm:header-range). */
unsigned long long consign_rpm_info_size(const struct consign_rpm_info *info);
const char *consign_rpm_info_sha256(const struct consign_rpm_info *info);
unsigned long long consign_rpm_info_header_start(const struct consign_rpm_info *info);
unsigned long long consign_rpm_info_header_end(const struct consign_rpm_info *info);

/* rpm's version order (rpmvercmp): -1, 0 or 1. Runs of digits compare as
 * numbers, runs of letters as strings, digits beat letters, other
 * characters only separate; "~" sorts before anything, even the end
 * ("1.0~rc1" < "1.0"), "^" after the end but before anything else
 * ("1.0" < "1.0^git1" < "1.0.1"). NULL counts as "". */
int consign_rpm_vercmp(const char *a, const char *b);
/* Epoch, then version, then release; a NULL release matches any (as rpm's
 * rpmverCmp). -1, 0 or 1. */
int consign_rpm_evr_cmp(unsigned long long epoch_a, const char *ver_a, const char *rel_a,
                        unsigned long long epoch_b, const char *ver_b, const char *rel_b);

/* Append one package's element, ending with "</package>\n", as createrepo_c
 * writes it into primary.xml, filelists.xml and other.xml. location_href is
 * the package's path in the repository, file_mtime the file's modification
 * time (<time file=...>). A location_href with control characters or invalid
 * UTF-8 is CONSIGN_E_INVALID. On failure nothing is appended. An info may be
 * read by several threads at once. */
int consign_rpm_info_primary_xml(struct consign_ctx *ctx, const struct consign_rpm_info *info,
                                 const char *location_href, long long file_mtime,
                                 struct consign_buf *out);
int consign_rpm_info_filelists_xml(struct consign_ctx *ctx, const struct consign_rpm_info *info,
                                   struct consign_buf *out);
int consign_rpm_info_other_xml(struct consign_ctx *ctx, const struct consign_rpm_info *info,
                               struct consign_buf *out);

/* The documents around the elements: the XML declaration and the opening
 * root element with its package count (each ending with a newline), and the
 * closing root element (no newline, as createrepo_c ends its files). */
enum consign_rpm_md { CONSIGN_RPM_PRIMARY, CONSIGN_RPM_FILELISTS, CONSIGN_RPM_OTHER };

int consign_rpm_md_header(struct consign_ctx *ctx, enum consign_rpm_md kind, size_t npackages,
                          struct consign_buf *out);
const char *consign_rpm_md_footer(enum consign_rpm_md kind);

#endif
