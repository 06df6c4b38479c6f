/* consign repo: a .deb's control fields, size and digests, and its Packages
 * stanza as apt-ftparchive writes it. The file is streamed once: every block
 * is hashed and fed to a push parser of the ar container, which keeps
 * control.tar (capped) and skips everything else; libarchive then finds the
 * control file in it. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/repo.h"

#define NHASH 4

struct field {
    char *name;
    char *value;
};

struct consign_deb_info {
    struct field *fields;
    size_t nfields;
    unsigned long long size;
    char hex[NHASH][2 * CONSIGN_HASH_MAX + 1];
};

static const enum consign_hash_alg algs[NHASH] = {CONSIGN_HASH_MD5, CONSIGN_HASH_SHA1,
                                                  CONSIGN_HASH_SHA256, CONSIGN_HASH_SHA512};

/* apt's TFRewritePackageOrder (apt-pkg/tagfile-order.c, apt 2.6): the order
 * and the spelling apt-ftparchive writes known fields in. */
static const char *const package_order[] = {"Package",
                                            "Package-Type",
                                            "Architecture",
                                            "Subarchitecture",
                                            "Version",
                                            "Kernel-Version",
                                            "Built-Using",
                                            "Static-Built-Using",
                                            "Built-For-Profiles",
                                            "Auto-Built-Package",
                                            "Multi-Arch",
                                            "Status",
                                            "Priority",
                                            "Build-Essential",
                                            "Protected",
                                            "Important",
                                            "Essential",
                                            "Installer-Menu-Item",
                                            "Section",
                                            "Source",
                                            "Origin",
                                            "Phased-Update-Percentage",
                                            "Maintainer",
                                            "Original-Maintainer",
                                            "Bugs",
                                            "Config-Version",
                                            "Conffiles",
                                            "Triggers-Awaited",
                                            "Triggers-Pending",
                                            "Installed-Size",
                                            "Provides",
                                            "Pre-Depends",
                                            "Depends",
                                            "Recommends",
                                            "Suggests",
                                            "Conflicts",
                                            "Breaks",
                                            "Replaces",
                                            "Enhances",
                                            "Filename",
                                            "MSDOS-Filename",
                                            "Size",
                                            "MD5sum",
                                            "SHA1",
                                            "SHA256",
                                            "SHA512",
                                            "Homepage",
                                            "Description",
                                            "Description-md5",
                                            "Tag",
                                            "Task",
                                            NULL};

/* --- the ar container, pushed block by block -------------------------------- */

enum ar_state { AR_MAGIC, AR_HEADER, AR_LONGNAME, AR_BODY, AR_PAD };

enum member_kind { M_OTHER, M_BINARY, M_CONTROL, M_DATA };

struct parser {
    const char *path;
    struct consign_hash *h[NHASH];
    unsigned long long fsize; /* from stat: no member may claim more */
    unsigned long long off;   /* bytes seen */
    enum ar_state state;
    unsigned char small[64]; /* the magic, a header or a BSD long name */
    size_t have, want;
    unsigned long long left; /* bytes of the current member body */
    int odd;
    enum member_kind kind;
    char name[257];
    int nmembers, seen_control, seen_data;
    char binary[16];
    size_t binary_len;
    struct consign_buf control_tar;
    int control_compress_ok;
};

/* Record a failure about the file: "<path>: <message>". */
static int bad(struct consign_ctx *ctx, const char *path, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bad(struct consign_ctx *ctx, const char *path, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    consign_failv(ctx, code, fmt, ap);
    va_end(ap);
    return consign_err_context(ctx, code, "%s", path);
}

/* A right-padded decimal ar field (size, or the length of a BSD name). */
static int
ar_number(const unsigned char *p, size_t n, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i = 0;

    if (n == 0 || p[0] < '0' || p[0] > '9')
        return -1;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (~0ULL - 9) / 10)
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    for (; i < n; i++)
        if (p[i] != ' ')
            return -1;
    *out = v;
    return 0;
}

/* The member's name is known: decide what its body is for. */
static int
ar_member(struct consign_ctx *ctx, struct parser *ps)
{
    const char *n = ps->name;
    int rc = 0;

    ps->nmembers++;
    ps->kind = M_OTHER;
    if (ps->nmembers == 1) {
        if (strcmp(n, "debian-binary") != 0) {
            rc = bad(ctx, ps->path, CONSIGN_E_SYNTAX,
                     "first ar member is '%s', not 'debian-binary'", n);
            goto out;
        }
        ps->kind = M_BINARY;
    } else if (strncmp(n, "control.tar", 11) == 0) {
        if (ps->seen_control) {
            rc = bad(ctx, ps->path, CONSIGN_E_SYNTAX, "more than one control member");
            goto out;
        }
        if (strcmp(n + 11, "") != 0 && strcmp(n + 11, ".gz") != 0 && strcmp(n + 11, ".xz") != 0 &&
            strcmp(n + 11, ".zst") != 0) {
            rc = bad(ctx, ps->path, CONSIGN_E_SYNTAX, "unsupported control member '%s'", n);
            goto out;
        }
        if (ps->left > CONSIGN_DEB_CONTROL_TAR_MAX) {
            rc = bad(ctx, ps->path, CONSIGN_E_TOOBIG, "%s: %llu bytes, more than %u", n, ps->left,
                     CONSIGN_DEB_CONTROL_TAR_MAX);
            goto out;
        }
        ps->seen_control = 1;
        ps->kind = M_CONTROL;
    } else if (strncmp(n, "data.tar", 8) == 0) {
        if (!ps->seen_control) {
            rc = bad(ctx, ps->path, CONSIGN_E_SYNTAX, "no control.tar member before '%s'", n);
            goto out;
        }
        if (ps->seen_data) {
            rc = bad(ctx, ps->path, CONSIGN_E_SYNTAX, "more than one data member");
            goto out;
        }
        ps->seen_data = 1;
        ps->kind = M_DATA;
    }
out:
    return rc;
}

/* A complete 60-byte member header is in ps->small. */
static int
ar_header(struct consign_ctx *ctx, struct parser *ps)
{
    const unsigned char *h = ps->small;
    unsigned long long size, namelen;
    size_t len = 16;
    int rc = 0;

    if (h[58] != '`' || h[59] != '\n') {
        rc =
            bad(ctx, ps->path, CONSIGN_E_SYNTAX, "bad ar member header at byte %llu", ps->off - 60);
        goto out;
    }
    if (ar_number(h + 48, 10, &size)) {
        rc = bad(ctx, ps->path, CONSIGN_E_SYNTAX, "bad ar member size at byte %llu", ps->off - 60);
        goto out;
    }
    if (size > ps->fsize - ps->off) {
        rc = bad(ctx, ps->path, CONSIGN_E_SYNTAX,
                 "ar member at byte %llu claims %llu bytes, the file has %llu left", ps->off - 60,
                 size, ps->fsize - ps->off);
        goto out;
    }
    ps->left = size;
    ps->odd = (int)(size & 1);
    if (memcmp(h, "#1/", 3) == 0) { /* BSD: the name follows the header */
        if (ar_number(h + 3, 13, &namelen) || namelen == 0 || namelen > 256 || namelen > size) {
            rc = bad(ctx, ps->path, CONSIGN_E_SYNTAX, "bad BSD ar member name at byte %llu",
                     ps->off - 60);
            goto out;
        }
        ps->left -= namelen;
        ps->want = (size_t)namelen;
        ps->have = 0;
        ps->state = AR_LONGNAME;
        goto out;
    }
    while (len > 0 && h[len - 1] == ' ')
        len--;
    if (len > 1 && h[len - 1] == '/') /* GNU; "/" and "//" are tables, kept as named */
        len--;
    memcpy(ps->name, h, len);
    ps->name[len] = '\0';
    ps->state = AR_BODY;
    rc = ar_member(ctx, ps);
out:
    return rc;
}

/* The current member's body is complete. */
static void
ar_body_done(struct parser *ps)
{
    ps->have = 0;
    if (ps->odd) {
        ps->state = AR_PAD;
        ps->want = 1;
    } else {
        ps->state = AR_HEADER;
        ps->want = 60;
    }
}

/* Feed n bytes to the ar parser. */
static int
ar_push(struct consign_ctx *ctx, struct parser *ps, const unsigned char *p, size_t n)
{
    size_t take, len;
    int rc = 0;

    while (n > 0) {
        if (ps->state == AR_BODY) {
            take = ps->left < n ? (size_t)ps->left : n;
            if (ps->kind == M_CONTROL) {
                if ((rc = consign_buf_append(ctx, &ps->control_tar, p, take)))
                    goto out;
            } else if (ps->kind == M_BINARY && ps->binary_len < sizeof(ps->binary)) {
                len = sizeof(ps->binary) - ps->binary_len;
                len = len < take ? len : take;
                memcpy(ps->binary + ps->binary_len, p, len);
                ps->binary_len += len;
            }
            ps->left -= take;
            ps->off += take;
            p += take;
            n -= take;
            if (ps->left == 0)
                ar_body_done(ps);
            continue;
        }
        take = ps->want - ps->have < n ? ps->want - ps->have : n;
        memcpy(ps->small + ps->have, p, take);
        ps->have += take;
        ps->off += take;
        p += take;
        n -= take;
        if (ps->have < ps->want)
            continue;
        switch (ps->state) {
        case AR_MAGIC:
            if (memcmp(ps->small, "!<arch>\n", 8) != 0) {
                rc = bad(ctx, ps->path, CONSIGN_E_SYNTAX, "not a .deb: no ar magic '!<arch>'");
                goto out;
            }
            ps->state = AR_HEADER;
            ps->want = 60;
            ps->have = 0;
            break;
        case AR_HEADER:
            if ((rc = ar_header(ctx, ps)))
                goto out;
            if (ps->state == AR_BODY && ps->left == 0)
                ar_body_done(ps);
            break;
        case AR_LONGNAME:
            len = ps->want;
            while (len > 0 && ps->small[len - 1] == '\0')
                len--;
            memcpy(ps->name, ps->small, len);
            ps->name[len] = '\0';
            ps->state = AR_BODY;
            if ((rc = ar_member(ctx, ps)))
                goto out;
            if (ps->left == 0)
                ar_body_done(ps);
            break;
        case AR_PAD:
            ps->state = AR_HEADER;
            ps->want = 60;
            ps->have = 0;
            break;
        case AR_BODY:
            break;
        }
    }
out:
    return rc;
}

/* consign_block_fn: hash the block, then parse it. */
static int
on_block(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct parser *ps = user;
    int rc = 0;

    for (int i = 0; i < NHASH; i++)
        if (ps->h[i] && (rc = consign_hash_update(ctx, ps->h[i], p, n)))
            goto out;
    rc = ar_push(ctx, ps, p, n);
out:
    return rc;
}

/* --- control.tar ------------------------------------------------------------ */

/* Find "./control" or "control" in control.tar (in memory) and copy it to out,
 * never decompressing more than CONSIGN_DEB_CONTROL_TAR_MAX bytes. */
static int
extract_control(struct consign_ctx *ctx, const char *path, const struct consign_buf *tar,
                struct consign_buf *out)
{
    struct archive *a = NULL;
    struct archive_entry *e;
    const void *blk;
    size_t blen;
    la_int64_t boff;
    const char *name;
    int r, rc = 0, found = 0, is_control;

    if (!(a = archive_read_new())) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
        archive_read_support_filter_xz(a) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
        archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_open_memory(a, tar->data ? tar->data : "", tar->len) != ARCHIVE_OK) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX, "control member: %s", archive_error_string(a));
        goto out;
    }
    while (!found) {
        r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "control member: %s", archive_error_string(a));
            goto out;
        }
        name = archive_entry_pathname(e);
        is_control = name && (strcmp(name, "./control") == 0 || strcmp(name, "control") == 0);
        if (is_control && archive_entry_filetype(e) != AE_IFREG) {
            rc = bad(ctx, path, CONSIGN_E_SYNTAX, "control member: '%s' is not a regular file",
                     name);
            goto out;
        }
        for (;;) {
            r = archive_read_data_block(a, &blk, &blen, &boff);
            if (r == ARCHIVE_EOF)
                break;
            if (r < ARCHIVE_WARN) {
                rc =
                    bad(ctx, path, CONSIGN_E_SYNTAX, "control member: %s", archive_error_string(a));
                goto out;
            }
            if (archive_filter_bytes(a, 0) > (la_int64_t)CONSIGN_DEB_CONTROL_TAR_MAX) {
                rc = bad(ctx, path, CONSIGN_E_TOOBIG,
                         "control member: more than %u bytes uncompressed",
                         CONSIGN_DEB_CONTROL_TAR_MAX);
                goto out;
            }
            if (!is_control)
                continue;
            if ((unsigned long long)boff != out->len || out->len + blen > CONSIGN_DEB_CONTROL_MAX) {
                rc = bad(ctx, path, CONSIGN_E_TOOBIG, "control: more than %u bytes (or sparse)",
                         CONSIGN_DEB_CONTROL_MAX);
                goto out;
            }
            if ((rc = consign_buf_append(ctx, out, blk, blen)))
                goto out;
        }
        if (archive_filter_bytes(a, 0) > (la_int64_t)CONSIGN_DEB_CONTROL_TAR_MAX) {
            rc = bad(ctx, path, CONSIGN_E_TOOBIG, "control member: more than %u bytes uncompressed",
                     CONSIGN_DEB_CONTROL_TAR_MAX);
            goto out;
        }
        found = is_control;
    }
    if (!found)
        rc = bad(ctx, path, CONSIGN_E_SYNTAX, "control member has no 'control' file");
out:
    if (a)
        archive_read_free(a);
    return rc;
}

/* --- the control file --------------------------------------------------------- */

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const struct field *
find_field(const struct field *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(f[i].name, name) == 0)
            return &f[i];
    return NULL;
}

/* Close the field whose value runs from vstart to vend (exclusive): trim the
 * trailing white space as apt does and keep it. */
static int
end_field(struct consign_ctx *ctx, struct consign_deb_info *info, const char *vstart,
          const char *vend)
{
    struct field *f = &info->fields[info->nfields - 1];

    while (vend > vstart && is_space(vend[-1]))
        vend--;
    f->value = consign_strndup(ctx, vstart, (size_t)(vend - vstart));
    return f->value ? 0 : CONSIGN_E_NOMEM;
}

/* Parse one deb822 stanza (the control file) into info->fields. Errors are
 * "control: line N: ..." (the caller adds the path). */
static int
parse_control(struct consign_ctx *ctx, const char *text, size_t len, struct consign_deb_info *info)
{
    const char *p = text, *end = text + len, *nl, *colon, *vstart = NULL, *vend = NULL;
    size_t cap = 0, llen;
    unsigned line = 0;
    int rc = 0, ended = 0, started = 0;
    struct field *nf;

    if (memchr(text, '\0', len)) {
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "control: contains a NUL byte");
        goto out;
    }
    for (; p < end; p = nl + 1) {
        line++;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        llen = (size_t)(nl - p);
        if (llen > CONSIGN_DEB_LINE_MAX) {
            rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "control: line %u: longer than %u bytes", line,
                              CONSIGN_DEB_LINE_MAX);
            goto out;
        }
        if (llen == 0 || (llen == 1 && p[0] == '\r')) {
            ended = started;
            continue;
        }
        if (ended) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX,
                              "control: line %u: a second stanza (blank line above)", line);
            goto out;
        }
        if (is_blank(p[0])) {
            if (!started) {
                rc = consign_fail(ctx, CONSIGN_E_SYNTAX,
                                  "control: line %u: continuation line before any field", line);
                goto out;
            }
            vend = nl;
            continue;
        }
        if (p[0] == '#' || p[0] == '-') {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX,
                              "control: line %u: field name starts with '%c'", line, p[0]);
            goto out;
        }
        colon = memchr(p, ':', llen);
        if (!colon || colon == p) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "control: line %u: not a 'Field: value' line",
                              line);
            goto out;
        }
        if ((size_t)(colon - p) > CONSIGN_DEB_NAME_MAX) {
            rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "control: line %u: field name longer than %d",
                              line, CONSIGN_DEB_NAME_MAX);
            goto out;
        }
        for (const char *c = p; c < colon; c++) {
            if (*c <= ' ' || *c > '~') {
                rc = consign_fail(ctx, CONSIGN_E_SYNTAX,
                                  "control: line %u: bad character in field name", line);
                goto out;
            }
        }
        if (started && (rc = end_field(ctx, info, vstart, vend)))
            goto out;
        if (info->nfields == CONSIGN_DEB_FIELDS_MAX) {
            rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "control: line %u: more than %d fields", line,
                              CONSIGN_DEB_FIELDS_MAX);
            goto out;
        }
        if (info->nfields == cap) {
            cap = cap ? cap * 2 : 16;
            if (!(nf = consign_reallocarray(ctx, info->fields, cap, sizeof(*nf)))) {
                rc = CONSIGN_E_NOMEM;
                goto out;
            }
            info->fields = nf;
        }
        nf = &info->fields[info->nfields];
        nf->value = NULL;
        if (!(nf->name = consign_strndup(ctx, p, (size_t)(colon - p)))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        info->nfields++;
        if (find_field(info->fields, info->nfields - 1, nf->name)) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "control: line %u: duplicate field '%s'", line,
                              nf->name);
            goto out;
        }
        for (vstart = colon + 1; vstart < nl && is_blank(*vstart); vstart++)
            ;
        vend = nl;
        started = 1;
    }
    if (!started) {
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "control: empty");
        goto out;
    }
    if ((rc = end_field(ctx, info, vstart, vend)))
        goto out;
    for (const char *const *req = (const char *const[]){"Package", "Version", "Architecture", NULL};
         *req; req++) {
        const struct field *f = find_field(info->fields, info->nfields, *req);
        if (!f || !f->value[0]) {
            rc = consign_fail(ctx, CONSIGN_E_INVALID, "control: no %s field", *req);
            goto out;
        }
        if (strpbrk(f->value, "\n \t")) {
            rc = consign_fail(ctx, CONSIGN_E_INVALID, "control: %s '%s' has white space", *req,
                              f->value);
            goto out;
        }
    }
out:
    return rc;
}

/* --- public ----------------------------------------------------------------------- */

void
consign_deb_info_free(struct consign_deb_info *info)
{
    if (!info)
        return;
    for (size_t i = 0; i < info->nfields; i++) {
        free(info->fields[i].name);
        free(info->fields[i].value);
    }
    free(info->fields);
    free(info);
}

int
consign_deb_info_read(struct consign_ctx *ctx, const char *path, struct consign_deb_info **out)
{
    return consign_deb_info_read_ext(ctx, path, CONSIGN_DEB_HASH_ALL, out);
}

int
consign_deb_info_read_ext(struct consign_ctx *ctx, const char *path, unsigned hashes,
                          struct consign_deb_info **out)
{
    struct consign_deb_info *info = NULL;
    struct parser ps;
    struct consign_buf control;
    unsigned char md[CONSIGN_HASH_MAX];
    struct stat st;
    int rc = 0;

    *out = NULL;
    memset(&ps, 0, sizeof(ps));
    consign_buf_init(&ps.control_tar, CONSIGN_DEB_CONTROL_TAR_MAX);
    consign_buf_init(&control, CONSIGN_DEB_CONTROL_MAX);
    ps.path = path;
    ps.state = AR_MAGIC;
    ps.want = 8;
    if (stat(path, &st) != 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = bad(ctx, path, CONSIGN_E_INVALID, "not a regular file");
        goto out;
    }
    ps.fsize = (unsigned long long)st.st_size;
    if (!(info = consign_calloc(ctx, 1, sizeof(*info)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (int i = 0; i < NHASH; i++)
        if ((hashes & (1u << algs[i])) && (rc = consign_hash_new(ctx, algs[i], &ps.h[i])))
            goto out;
    if ((rc = consign_file_stream(ctx, path, on_block, &ps, &info->size)))
        goto out;
    /* A missing pad byte after the last member is tolerated, like dpkg-deb. */
    if (info->size != ps.fsize) {
        rc = bad(ctx, path, CONSIGN_E_IO, "changed while it was read");
        goto out;
    }
    if (!((ps.state == AR_HEADER && ps.have == 0) || (ps.state == AR_PAD && ps.have == 0))) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX, "truncated (%llu bytes, ends inside %s)", info->size,
                 ps.state == AR_MAGIC ? "the ar magic" : "an ar member");
        goto out;
    }
    if (ps.nmembers == 0 || ps.binary_len < 2 || memcmp(ps.binary, "2.", 2) != 0) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX, "no debian-binary member of format 2.x");
        goto out;
    }
    if (!ps.seen_control) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX, "no control.tar member");
        goto out;
    }
    if (!ps.seen_data) {
        rc = bad(ctx, path, CONSIGN_E_SYNTAX, "no data.tar member");
        goto out;
    }
    for (int i = 0; i < NHASH; i++) {
        if (!ps.h[i])
            continue;
        if ((rc = consign_hash_final(ctx, ps.h[i], md)))
            goto out;
        consign_hex(md, consign_hash_len(algs[i]), info->hex[i]);
    }
    if ((rc = extract_control(ctx, path, &ps.control_tar, &control)))
        goto out;
    if ((rc = parse_control(ctx, control.data ? control.data : "", control.len, info))) {
        rc = consign_err_context(ctx, rc, "%s", path);
        goto out;
    }
    *out = info;
    info = NULL;
out:
    for (int i = 0; i < NHASH; i++)
        consign_hash_free(ps.h[i]);
    consign_buf_free(&ps.control_tar);
    consign_buf_free(&control);
    consign_deb_info_free(info);
    return rc;
}

const char *
consign_deb_info_get(const struct consign_deb_info *info, const char *field)
{
    const struct field *f = find_field(info->fields, info->nfields, field);
    return f ? f->value : NULL;
}

size_t
consign_deb_info_count(const struct consign_deb_info *info)
{
    return info->nfields;
}

const char *
consign_deb_info_name(const struct consign_deb_info *info, size_t i)
{
    return i < info->nfields ? info->fields[i].name : NULL;
}

const char *
consign_deb_info_value(const struct consign_deb_info *info, size_t i)
{
    return i < info->nfields ? info->fields[i].value : NULL;
}

unsigned long long
consign_deb_info_size(const struct consign_deb_info *info)
{
    return info->size;
}

const char *
consign_deb_info_digest(const struct consign_deb_info *info, enum consign_hash_alg alg)
{
    for (int i = 0; i < NHASH; i++)
        if (algs[i] == alg)
            return info->hex[i][0] ? info->hex[i] : NULL;
    return NULL;
}

/* apt's WriteTag: "Name: value", or "Name:value" when the value is empty or
 * starts with white space (a multi-line field with an empty first line). */
static int
put_field(struct consign_ctx *ctx, struct consign_buf *out, const char *name, const char *value)
{
    return consign_buf_printf(ctx, out, "%s:%s%s\n", name,
                              value[0] && !is_space(value[0]) ? " " : "", value);
}

struct rewrite {
    const char *name;
    const char *value; /* NULL: the field is dropped */
};

static const struct rewrite *
find_rewrite(const struct rewrite *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(r[i].name, name) == 0)
            return &r[i];
    return NULL;
}

static const char *
nonempty(const struct consign_deb_info *info, const char *name)
{
    const char *v = consign_deb_info_get(info, name);
    return v && v[0] ? v : NULL;
}

/* apt-ftparchive's PackagesWriter::DoPackage with no override file, then
 * pkgTagSection::Write with TFRewritePackageOrder: the ordered fields (its
 * rewrites first, else the control's), then the control's other fields in
 * their order. All of its rewrites name ordered fields but "Optional". */
int
consign_deb_info_stanza(struct consign_ctx *ctx, const struct consign_deb_info *info,
                        const char *filename, int with_sha512, struct consign_buf *out)
{
    char size[32];
    struct rewrite rw[] = {
        {"Size", size},
        {"MD5sum", info->hex[0][0] ? info->hex[0] : NULL},
        {"SHA1", info->hex[1][0] ? info->hex[1] : NULL},
        {"SHA256", info->hex[2][0] ? info->hex[2] : NULL},
        {"SHA512", info->hex[3][0] ? info->hex[3] : NULL},
        {"Filename", filename},
        {"Priority", nonempty(info, "Priority")},
        {"Status", NULL},
        {"Optional", NULL},
        {"Section", nonempty(info, "Section")},
    };
    size_t nrw = sizeof(rw) / sizeof(rw[0]);
    const struct rewrite *r;
    const struct field *f;
    int rc = 0, ordered;

    if (!filename || !filename[0] || strpbrk(filename, "\n\r")) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "Packages stanza: bad Filename");
        goto out;
    }
    if (!with_sha512)
        rw[4].name = "-"; /* matches no field */
    snprintf(size, sizeof(size), "%llu", info->size);
    for (size_t i = 0; package_order[i]; i++) {
        if ((r = find_rewrite(rw, nrw, package_order[i]))) {
            if (r->value && (rc = put_field(ctx, out, package_order[i], r->value)))
                goto out;
            continue;
        }
        if ((f = find_field(info->fields, info->nfields, package_order[i])) &&
            (rc = put_field(ctx, out, package_order[i], f->value)))
            goto out;
    }
    for (size_t i = 0; i < info->nfields; i++) {
        f = &info->fields[i];
        ordered = 0;
        for (size_t j = 0; package_order[j] && !ordered; j++)
            ordered = strcasecmp(f->name, package_order[j]) == 0;
        if (ordered)
            continue;
        if ((r = find_rewrite(rw, nrw, f->name))) {
            if (r->value && (rc = put_field(ctx, out, f->name, r->value)))
                goto out;
            continue;
        }
        if ((rc = put_field(ctx, out, f->name, f->value)))
            goto out;
    }
out:
    return rc;
}
