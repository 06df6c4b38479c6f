/* Bounded tar: a deterministic ustar/pax writer and a push reader that holds
 * one header and at most one bounded extended header. libc only. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/buf.h"
#include "consign/path.h"
#include "consign/tar.h"
#include "consign/x86filter.h"

#define BLOCK       CONSIGN_TAR_BLOCK
#define OCTAL11_MAX 077777777777ULL  /* 8 GiB - 1: what 11 octal digits hold */
#define FILTER_BUF  (64u << 10)      /* bytes run through the x86 filter at once */
#define FILTER_KEY  "CONSIGN.filter" /* pax keyword (vendor namespace) */

/* ustar header fields: offset and length. */
#define NAME_OFF     0
#define NAME_LEN     100
#define MODE_OFF     100
#define UID_OFF      108
#define GID_OFF      116
#define SIZE_OFF     124
#define MTIME_OFF    136
#define CHKSUM_OFF   148
#define TYPE_OFF     156
#define LINK_OFF     157
#define LINK_LEN     100
#define MAGIC_OFF    257
#define UNAME_OFF    265
#define GNAME_OFF    297
#define DEVMAJOR_OFF 329
#define DEVMINOR_OFF 337
#define PREFIX_OFF   345
#define PREFIX_LEN   155

static const unsigned char zero_block[BLOCK];

/* A file's bytes on their way through the x86 filter (writer: encode,
 * reader: decode). The filter needs up to 4 bytes of what comes next, so the
 * bytes it has not decided wait in buf for the next push or the flush. */
struct filter_pipe {
    struct consign_x86f xf;
    unsigned char *buf; /* FILTER_BUF + 4 bytes, made on first use */
    size_t keep;        /* bytes at buf's start the filter has not decided */
};

typedef int (*filter_out_fn)(struct consign_ctx *ctx, void *user, const void *p, size_t n);

static int
filter_start(struct consign_ctx *ctx, struct filter_pipe *f, int decode)
{
    if (!f->buf && !(f->buf = consign_calloc(ctx, 1, FILTER_BUF + 4)))
        return CONSIGN_E_NOMEM;
    f->keep = 0;
    consign_x86f_init(&f->xf, decode);
    return 0;
}

/* Copy p behind the undecided bytes, run the filter, pass on what it decided. */
static int
filter_push(struct consign_ctx *ctx, struct filter_pipe *f, const unsigned char *p, size_t n,
            filter_out_fn out, void *user)
{
    while (n) {
        size_t take = n < FILTER_BUF ? n : FILTER_BUF, have, done;
        int rc;
        memcpy(f->buf + f->keep, p, take);
        p += take;
        n -= take;
        have = f->keep + take;
        done = consign_x86f_run(&f->xf, f->buf, have);
        if (done && (rc = out(ctx, user, f->buf, done)))
            return rc;
        f->keep = have - done;
        memmove(f->buf, f->buf + done, f->keep);
    }
    return 0;
}

/* The end of the file: the last undecided bytes are final as they are. */
static int
filter_flush(struct consign_ctx *ctx, struct filter_pipe *f, filter_out_fn out, void *user)
{
    size_t n = f->keep;

    f->keep = 0;
    return n ? out(ctx, user, f->buf, n) : 0;
}

static size_t
pad_of(unsigned long long size)
{
    return (size_t)((BLOCK - size % BLOCK) % BLOCK);
}

/* Sum of the header bytes with the checksum field read as spaces: unsigned
 * (POSIX) and signed (what some old tars wrote, and GNU tar still accepts). */
static void
header_sums(const unsigned char *h, unsigned long long *usum, long long *ssum)
{
    unsigned long long u = 0;
    long long s = 0;
    size_t i;

    for (i = 0; i < BLOCK; i++) {
        unsigned char c = (i >= CHKSUM_OFF && i < CHKSUM_OFF + 8) ? ' ' : h[i];
        u += c;
        s += (signed char)c;
    }
    *usum = u;
    *ssum = s;
}

/* --- writer ------------------------------------------------------------------ */

struct consign_tar_writer {
    consign_block_fn sink;
    void *user;
    unsigned long long left; /* data bytes the open file still needs */
    unsigned long long size; /* the open file's declared size */
    int in_file;
    int failed; /* the stream is inconsistent: every call fails */
    int finished;
    int filtering; /* the open file goes through the x86 filter */
    struct filter_pipe fp;
};

int
consign_tar_writer_new(struct consign_ctx *ctx, consign_block_fn sink, void *user,
                       struct consign_tar_writer **out)
{
    struct consign_tar_writer *w;

    *out = NULL;
    if (!sink)
        return consign_fail(ctx, CONSIGN_E_USAGE, "tar: no sink");
    if (!(w = consign_calloc(ctx, 1, sizeof(*w))))
        return CONSIGN_E_NOMEM;
    w->sink = sink;
    w->user = user;
    *out = w;
    return 0;
}

void
consign_tar_writer_free(struct consign_tar_writer *w)
{
    if (!w)
        return;
    free(w->fp.buf);
    free(w);
}

static int
emit(struct consign_ctx *ctx, struct consign_tar_writer *w, const void *p, size_t n)
{
    int rc = w->sink(ctx, w->user, p, n);
    if (rc)
        w->failed = 1;
    return rc;
}

/* Write v as width-1 zero-padded octal digits and a NUL; -1 if it does not fit. */
static int
put_octal(unsigned char *f, size_t width, unsigned long long v)
{
    size_t i = width - 1;

    f[i] = '\0';
    while (i > 0) {
        f[--i] = (unsigned char)('0' + (v & 7));
        v >>= 3;
    }
    return v ? -1 : 0;
}

/* The writer takes only normal relative paths, so what it writes reads back
 * unchanged and the same tree always gives the same bytes. */
static int
check_writer_path(struct consign_ctx *ctx, const char *path)
{
    const char *p = path;
    int rc;

    if ((rc = consign_path_check_rel(ctx, path)))
        return consign_err_context(ctx, rc, "tar");
    for (;;) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.'))
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "tar: '%s': not a normal relative path (empty or '.' component)",
                                path);
        if (!end)
            return 0;
        p = end + 1;
    }
}

static size_t
ndigits(size_t v)
{
    size_t d = 1;

    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Append the pax record "LEN key=value\n", where LEN counts its own digits. */
static int
pax_record(struct consign_ctx *ctx, struct consign_buf *b, const char *key, const char *val,
           size_t vlen)
{
    size_t base = 1 + strlen(key) + 1 + vlen + 1; /* ' ' key '=' value '\n' */
    size_t len = base + ndigits(base);
    int rc;

    if (ndigits(len) != ndigits(base)) /* the digits carried it over a power of ten */
        len = base + ndigits(len);
    if ((rc = consign_buf_printf(ctx, b, "%zu %s=", len, key)) ||
        (rc = consign_buf_append(ctx, b, val, vlen)) || (rc = consign_buf_append(ctx, b, "\n", 1)))
        return rc;
    return 0;
}

/* Split name ("dir/" for directories) into ustar prefix and name fields: the
 * shortest prefix ending before a '/' that leaves at most 100 bytes. */
static int
split_name(const char *name, size_t len, size_t *prefix_len)
{
    size_t p;

    if (len <= NAME_LEN) {
        *prefix_len = 0;
        return 0;
    }
    for (p = len - NAME_LEN - 1; p <= PREFIX_LEN && p + 1 < len; p++) {
        if (name[p] == '/' && p > 0 && len - p - 1 <= NAME_LEN && name[p + 1] != '\0') {
            *prefix_len = p;
            return 0;
        }
    }
    return -1;
}

/* Fill a ustar header block, all but the checksum. */
static void
fill_header(unsigned char *h, const char *name, size_t name_len, const char *prefix,
            size_t prefix_len, char type, unsigned mode, unsigned long long size, long long mtime,
            const char *link, size_t link_len)
{
    memset(h, 0, BLOCK);
    memcpy(h + NAME_OFF, name, name_len);
    put_octal(h + MODE_OFF, 8, mode & 07777);
    put_octal(h + UID_OFF, 8, 0);
    put_octal(h + GID_OFF, 8, 0);
    put_octal(h + SIZE_OFF, 12, size);
    put_octal(h + MTIME_OFF, 12, (unsigned long long)mtime);
    h[TYPE_OFF] = (unsigned char)type;
    if (link)
        memcpy(h + LINK_OFF, link, link_len);
    memcpy(h + MAGIC_OFF,
           "ustar\0"
           "00",
           8);
    memcpy(h + UNAME_OFF, "root", 4);
    memcpy(h + GNAME_OFF, "root", 4);
    put_octal(h + DEVMAJOR_OFF, 8, 0);
    put_octal(h + DEVMINOR_OFF, 8, 0);
    if (prefix_len)
        memcpy(h + PREFIX_OFF, prefix, prefix_len);
}

/* Compute and store the checksum once every other field is final. */
static void
seal_header(unsigned char *h)
{
    unsigned long long usum;
    long long ssum;

    header_sums(h, &usum, &ssum);
    put_octal(h + CHKSUM_OFF, 7, usum); /* six digits, NUL, then a space (GNU tar's form) */
    h[CHKSUM_OFF + 7] = ' ';
}

/* Write one entry's headers: a pax 'x' header first when ustar cannot hold
 * the path, the link target or the size. */
static int
write_entry(struct consign_ctx *ctx, struct consign_tar_writer *w, const char *path, char type,
            unsigned mode, unsigned long long size, long long mtime, const char *link, int filter)
{
    unsigned char h[BLOCK];
    struct consign_buf name, pax;
    size_t prefix_len = 0, link_len = link ? strlen(link) : 0;
    const char *base;
    int rc;

    consign_buf_init(&name, CONSIGN_PATH_MAX + 2);
    consign_buf_init(&pax, CONSIGN_TAR_PAX_MAX);
    if (w->failed || w->finished) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "tar: the writer %s",
                          w->failed ? "failed earlier" : "is finished");
        goto out;
    }
    if (w->in_file) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "tar: '%s': the previous file is not ended", path);
        goto out;
    }
    if ((rc = check_writer_path(ctx, path)))
        goto out;
    if (mtime < 0 || (unsigned long long)mtime > OCTAL11_MAX) {
        rc =
            consign_fail(ctx, CONSIGN_E_INVALID, "tar: '%s': mtime %lld out of range", path, mtime);
        goto out;
    }
    if ((rc = consign_buf_puts(ctx, &name, path)) ||
        (type == '5' && (rc = consign_buf_append(ctx, &name, "/", 1))))
        goto out;
    if (split_name(name.data, name.len, &prefix_len) &&
        (rc = pax_record(ctx, &pax, "path", name.data, name.len)))
        goto out;
    if (link_len > LINK_LEN && (rc = pax_record(ctx, &pax, "linkpath", link, link_len)))
        goto out;
    if (size > OCTAL11_MAX) {
        char num[24];
        int n = snprintf(num, sizeof(num), "%llu", size);
        if ((rc = pax_record(ctx, &pax, "size", num, (size_t)n)))
            goto out;
    }
    if (filter && (rc = pax_record(ctx, &pax, FILTER_KEY, "x86", 3)))
        goto out;
    if (pax.len) {
        /* Named like GNU tar's, after the entry's last component, for readers
         * that know no pax and extract it as a file. */
        char xname[NAME_LEN];
        size_t blen;
        base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        blen = strlen(base);
        if (blen > NAME_LEN - 11)
            blen = NAME_LEN - 11;
        memcpy(xname, "PaxHeaders/", 11);
        memcpy(xname + 11, base, blen);
        fill_header(h, xname, 11 + blen, NULL, 0, 'x', 0644, pax.len, mtime, NULL, 0);
        seal_header(h);
        if ((rc = emit(ctx, w, h, BLOCK)) || (rc = emit(ctx, w, pax.data, pax.len)) ||
            (rc = emit(ctx, w, zero_block, pad_of(pax.len))))
            goto out;
    }
    /* What ustar cannot hold went into the pax header: the fields keep a
     * truncated name, no link target and a zero size. */
    if (prefix_len)
        fill_header(h, name.data + prefix_len + 1, name.len - prefix_len - 1, name.data, prefix_len,
                    type, mode, 0, mtime, NULL, 0);
    else
        fill_header(h, name.data, name.len < NAME_LEN ? name.len : NAME_LEN, NULL, 0, type, mode, 0,
                    mtime, NULL, 0);
    if (size <= OCTAL11_MAX)
        put_octal(h + SIZE_OFF, 12, size);
    if (link && link_len <= LINK_LEN)
        memcpy(h + LINK_OFF, link, link_len);
    seal_header(h);
    rc = emit(ctx, w, h, BLOCK);
out:
    consign_buf_free(&name);
    consign_buf_free(&pax);
    return rc;
}

int
consign_tar_write_dir(struct consign_ctx *ctx, struct consign_tar_writer *w, const char *path,
                      unsigned mode, long long mtime)
{
    return write_entry(ctx, w, path, '5', mode, 0, mtime, NULL, 0);
}

int
consign_tar_write_symlink(struct consign_ctx *ctx, struct consign_tar_writer *w, const char *path,
                          const char *target, long long mtime)
{
    size_t n = strlen(target);

    if (n == 0 || n > CONSIGN_PATH_MAX)
        return consign_fail(ctx, CONSIGN_E_INVALID, "tar: '%s': symlink target %s", path,
                            n ? "too long" : "empty");
    return write_entry(ctx, w, path, '2', 0777, 0, mtime, target, 0);
}

int
consign_tar_write_file_begin_ext(struct consign_ctx *ctx, struct consign_tar_writer *w,
                                 const char *path, unsigned mode, unsigned long long size,
                                 long long mtime, unsigned flags)
{
    int filter = (flags & CONSIGN_TAR_X86) != 0, rc;

    if (flags & ~(unsigned)CONSIGN_TAR_X86)
        return consign_fail(ctx, CONSIGN_E_USAGE, "tar: '%s': unknown flags %#x", path, flags);
    if (filter && (rc = filter_start(ctx, &w->fp, 0)))
        return rc;
    if ((rc = write_entry(ctx, w, path, '0', mode, size, mtime, NULL, filter)))
        return rc;
    w->in_file = 1;
    w->size = w->left = size;
    w->filtering = filter;
    return 0;
}

int
consign_tar_write_file_begin(struct consign_ctx *ctx, struct consign_tar_writer *w,
                             const char *path, unsigned mode, unsigned long long size,
                             long long mtime)
{
    return consign_tar_write_file_begin_ext(ctx, w, path, mode, size, mtime, 0);
}

/* emit as a filter_out_fn. */
static int
emit_out(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return emit(ctx, user, p, n);
}

int
consign_tar_write_data(struct consign_ctx *ctx, struct consign_tar_writer *w, const void *p,
                       size_t n)
{
    if (w->failed || !w->in_file)
        return consign_fail(ctx, CONSIGN_E_USAGE, "tar: %s",
                            w->failed ? "the writer failed earlier" : "no file is open");
    if (n > w->left) {
        w->failed = 1;
        return consign_fail(ctx, CONSIGN_E_INVALID, "tar: file data longer than its size %llu",
                            w->size);
    }
    w->left -= n;
    if (!n)
        return 0;
    return w->filtering ? filter_push(ctx, &w->fp, p, n, emit_out, w) : emit(ctx, w, p, n);
}

int
consign_tar_write_file_end(struct consign_ctx *ctx, struct consign_tar_writer *w)
{
    if (w->failed || !w->in_file)
        return consign_fail(ctx, CONSIGN_E_USAGE, "tar: %s",
                            w->failed ? "the writer failed earlier" : "no file is open");
    if (w->left) {
        w->failed = 1;
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "tar: file data %llu bytes shorter than its size %llu", w->left,
                            w->size);
    }
    w->in_file = 0;
    /* The last bytes the filter left undecided are final as they are. */
    if (w->filtering) {
        int rc = filter_flush(ctx, &w->fp, emit_out, w);
        w->filtering = 0;
        if (rc)
            return rc;
    }
    return emit(ctx, w, zero_block, pad_of(w->size));
}

int
consign_tar_writer_finish(struct consign_ctx *ctx, struct consign_tar_writer *w)
{
    int rc;

    if (w->failed || w->finished || w->in_file)
        return consign_fail(ctx, CONSIGN_E_USAGE, "tar: %s",
                            w->failed     ? "the writer failed earlier"
                            : w->finished ? "the writer is finished"
                                          : "a file is not ended");
    if ((rc = emit(ctx, w, zero_block, BLOCK)) || (rc = emit(ctx, w, zero_block, BLOCK)))
        return rc;
    w->finished = 1;
    return 0;
}

/* --- reader ------------------------------------------------------------------ */

enum rstate { R_HEADER, R_DATA, R_PAD, R_END };

/* What the data of the current member is. */
enum dkind { D_FILE, D_SKIP, D_PAX, D_LONGNAME, D_LONGLINK };

struct consign_tar_reader {
    struct consign_tar_limits lim;
    struct consign_tar_callbacks cb;
    void *user;
    enum rstate state;
    enum dkind kind;
    unsigned char hdr[BLOCK];
    size_t have;                   /* bytes of hdr collected */
    unsigned long long left;       /* data bytes of the current member still to come */
    size_t pad;                    /* padding bytes still to skip */
    unsigned long long off;        /* bytes consumed, for messages */
    unsigned long long total;      /* entries' data bytes announced so far */
    unsigned long long meta_total; /* extended headers' bytes so far */
    unsigned long long entries;
    unsigned long long num; /* the entry being read, for messages */
    int zero_blocks;        /* consecutive zero blocks: two end the archive */
    int failed;             /* the code of the first failure */
    int in_entry;           /* an entry was delivered and its entry_end is due */
    /* Metadata for the next entry, from 'x', 'L' and 'K' members. */
    struct consign_buf meta; /* the member being collected */
    char *pax_path, *pax_link, *gnu_name, *gnu_link;
    int have_pax, have_pax_size, have_pax_mtime, pax_filter;
    unsigned long long pax_size;
    long long pax_mtime;
    /* The current file's x86 filter (a pax CONSIGN.filter=x86 record). */
    int filtering;
    struct filter_pipe fp;
    /* The current entry. */
    struct consign_buf raw, path, link;
    struct consign_tar_entry e;
};

/* Replace control characters in the recorded message: paths come from the
 * archive and the message may reach a terminal. */
static void
sanitize_msg(struct consign_ctx *ctx)
{
    char *c;

    if (!ctx)
        return;
    for (c = ctx->err_msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

/* Prefix the recorded failure with the entry: "tar: entry N 'path'". */
static int
entry_context(struct consign_ctx *ctx, struct consign_tar_reader *r, int rc)
{
    if (r->path.data && r->path.len)
        consign_err_context(ctx, rc, "tar: entry %llu '%s'", r->num, r->path.data);
    else
        consign_err_context(ctx, rc, "tar: entry %llu", r->num);
    sanitize_msg(ctx);
    return rc;
}

/* Record a failure about the current entry, with the entry as context. */
static int entry_fail(struct consign_ctx *ctx, struct consign_tar_reader *r, int code,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
entry_fail(struct consign_ctx *ctx, struct consign_tar_reader *r, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    consign_failv(ctx, code, fmt, ap);
    va_end(ap);
    return entry_context(ctx, r, code);
}

/* The caller's data callback as a filter_out_fn (it may be NULL). */
static int
data_out(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct consign_tar_reader *r = user;
    return r->cb.data ? r->cb.data(ctx, r->user, p, n) : 0;
}

/* Forget the extended headers: they applied to the entry just built. */
static void
clear_meta(struct consign_tar_reader *r)
{
    free(r->pax_path);
    free(r->pax_link);
    free(r->gnu_name);
    free(r->gnu_link);
    r->pax_path = r->pax_link = r->gnu_name = r->gnu_link = NULL;
    r->have_pax = r->have_pax_size = r->have_pax_mtime = r->pax_filter = 0;
    consign_buf_reset(&r->meta);
}

int
consign_tar_reader_new(struct consign_ctx *ctx, const struct consign_tar_limits *lim,
                       const struct consign_tar_callbacks *cb, void *user,
                       struct consign_tar_reader **out)
{
    struct consign_tar_reader *r;

    *out = NULL;
    if (!(r = consign_calloc(ctx, 1, sizeof(*r))))
        return CONSIGN_E_NOMEM;
    if (lim)
        r->lim = *lim;
    if (!r->lim.max_total)
        r->lim.max_total = CONSIGN_TAR_DEFAULT_MAX_TOTAL;
    if (!r->lim.max_entries)
        r->lim.max_entries = CONSIGN_TAR_DEFAULT_MAX_ENTRIES;
    if (!r->lim.max_path)
        r->lim.max_path = CONSIGN_PATH_MAX;
    if (cb)
        r->cb = *cb;
    r->user = user;
    consign_buf_init(&r->meta, r->lim.max_path < CONSIGN_TAR_PAX_MAX ? CONSIGN_TAR_PAX_MAX
                                                                     : r->lim.max_path + 1);
    consign_buf_init(&r->raw, r->lim.max_path);
    consign_buf_init(&r->path, r->lim.max_path);
    consign_buf_init(&r->link, r->lim.max_path);
    *out = r;
    return 0;
}

void
consign_tar_reader_free(struct consign_tar_reader *r)
{
    if (!r)
        return;
    clear_meta(r);
    consign_buf_free(&r->meta);
    consign_buf_free(&r->raw);
    consign_buf_free(&r->path);
    consign_buf_free(&r->link);
    free(r->fp.buf);
    free(r);
}

unsigned long long
consign_tar_reader_entries(const struct consign_tar_reader *r)
{
    return r->entries;
}

/* A numeric header field: octal digits, optionally led by spaces and ended
 * by NUL or space, after which only NULs and spaces may follow; or GNU
 * base-256 (first byte 0x80: positive only). -1 if malformed or over max. */
static int
parse_num(const unsigned char *f, size_t len, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i = 0;

    if (f[0] == 0x80) {
        for (i = 1; i < len; i++) {
            if (v > (max >> 8))
                return -1;
            v = v << 8 | f[i];
        }
        if (v > max)
            return -1;
        *out = v;
        return 0;
    }
    while (i < len && f[i] == ' ')
        i++;
    if (i == len || f[i] < '0' || f[i] > '7')
        return -1;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
        unsigned d = (unsigned)(f[i] - '0');
        if (v > (max - d) / 8)
            return -1;
        v = v * 8 + d;
    }
    for (; i < len; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return -1;
    *out = v;
    return 0;
}

/* A pax mtime: [-]digits[.digits], floored to whole seconds. */
static int
parse_pax_time(const char *s, size_t n, long long *out)
{
    unsigned long long v = 0;
    int neg = 0, frac = 0;
    size_t i = 0, start;

    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    start = i;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > ((unsigned long long)LLONG_MAX - 1 - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (i == start)
        return -1;
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (s[i] != '0')
                frac = 1;
    }
    if (i != n)
        return -1;
    *out = neg ? -(long long)v - (frac ? 1 : 0) : (long long)v;
    return 0;
}

/* Copy a pax value that must not hold NUL (paths) into a new string. */
static int
pax_string(struct consign_ctx *ctx, struct consign_tar_reader *r, const char *key, const char *v,
           size_t n, char **out)
{
    if (memchr(v, '\0', n))
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "pax record '%s' holds a NUL byte", key);
    free(*out);
    if (!(*out = consign_strndup(ctx, v, n)))
        return CONSIGN_E_NOMEM;
    return 0;
}

/* One pax record's key and value: path, linkpath, size and mtime are used,
 * sparse files refused (their data is a map, not the file), the rest ignored. */
static int
pax_apply(struct consign_ctx *ctx, struct consign_tar_reader *r, const char *k, size_t klen,
          const char *v, size_t vlen)
{
    char num[32];

#define KEY_IS(s) (klen == sizeof(s) - 1 && memcmp(k, s, klen) == 0)
    if (KEY_IS("path"))
        return pax_string(ctx, r, "path", v, vlen, &r->pax_path);
    if (KEY_IS("linkpath"))
        return pax_string(ctx, r, "linkpath", v, vlen, &r->pax_link);
    if (KEY_IS("size")) {
        if (vlen >= sizeof(num))
            return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "bad pax size");
        memcpy(num, v, vlen);
        num[vlen] = '\0';
        if (consign_parse_u64(num, ~0ULL, &r->pax_size))
            return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "bad pax size '%s'", num);
        r->have_pax_size = 1;
        return 0;
    }
    if (KEY_IS("mtime")) {
        if (parse_pax_time(v, vlen, &r->pax_mtime))
            return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "bad pax mtime");
        r->have_pax_mtime = 1;
        return 0;
    }
    if (KEY_IS(FILTER_KEY)) {
        if (!(vlen == 3 && memcmp(v, "x86", 3) == 0))
            return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "unknown %s value", FILTER_KEY);
        r->pax_filter = 1;
        return 0;
    }
    if (klen >= 11 && memcmp(k, "GNU.sparse.", 11) == 0)
        return entry_fail(ctx, r, CONSIGN_E_INVALID, "sparse files are not supported");
#undef KEY_IS
    return 0;
}

/* Parse the pax records of an 'x' member: "LEN key=value\n" each, LEN in
 * decimal without leading zeros and counting the whole record. */
static int
parse_pax(struct consign_ctx *ctx, struct consign_tar_reader *r, const char *p, size_t n)
{
    size_t pos = 0;
    int rc;

    while (pos < n) {
        size_t len = 0, i = pos, end;
        const char *key, *eq;

        if (p[i] < '1' || p[i] > '9')
            return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "pax record at %zu: bad length", pos);
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
            len = len * 10 + (size_t)(p[i] - '0'); /* len <= n before: no overflow */
            if (len > n - pos)
                return entry_fail(ctx, r, CONSIGN_E_SYNTAX,
                                  "pax record at %zu: length does not match", pos);
        }
        if (i >= n || p[i] != ' ' || len > n - pos || pos + len < i + 4 || p[pos + len - 1] != '\n')
            return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "pax record at %zu: length does not match",
                              pos);
        end = pos + len - 1; /* the newline */
        key = p + i + 1;
        eq = memchr(key, '=', (size_t)(p + end - key));
        if (!eq || eq == key)
            return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "pax record at %zu: no key", pos);
        if ((rc = pax_apply(ctx, r, key, (size_t)(eq - key), eq + 1, (size_t)(p + end - eq - 1))))
            return rc;
        pos += len;
    }
    return 0;
}

/* A GNU 'L' or 'K' member: the name, NUL-terminated (trailing NULs dropped). */
static int
take_gnu_name(struct consign_ctx *ctx, struct consign_tar_reader *r, char **out)
{
    const char *d = r->meta.data ? r->meta.data : ""; /* NULL after an empty member */
    size_t n = r->meta.len;

    while (n && d[n - 1] == '\0')
        n--;
    if (memchr(d, '\0', n))
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "GNU long name holds a NUL byte");
    if (!(*out = consign_strndup(ctx, d, n)))
        return CONSIGN_E_NOMEM;
    return 0;
}

/* Bring the raw path of r->raw into normal form in r->path, after checking
 * it with consign_path_check_rel: absolute paths and ".." are refused. */
static int
normalize_path(struct consign_ctx *ctx, struct consign_tar_reader *r)
{
    const char *p = r->raw.data;
    int rc;

    consign_buf_reset(&r->path);
    if ((rc = consign_path_check_rel(ctx, p)))
        return entry_context(ctx, r, rc);
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n && !(n == 1 && p[0] == '.')) {
            if ((r->path.len && (rc = consign_buf_append(ctx, &r->path, "/", 1))) ||
                (rc = consign_buf_append(ctx, &r->path, p, n)))
                return entry_context(ctx, r, rc);
        }
        p += n;
        if (*p == '/')
            p++;
    }
    if (!r->path.len && (rc = consign_buf_append(ctx, &r->path, ".", 1)))
        return entry_context(ctx, r, rc);
    return 0;
}

/* The raw path of a header: pax path, GNU long name, or ustar prefix/name. */
static int
raw_path(struct consign_ctx *ctx, struct consign_tar_reader *r, int posix)
{
    const char *name = (const char *)r->hdr + NAME_OFF;
    const char *prefix = (const char *)r->hdr + PREFIX_OFF;
    size_t plen = posix ? strnlen(prefix, PREFIX_LEN) : 0;
    int rc = 0;

    consign_buf_reset(&r->raw);
    if (r->pax_path)
        rc = consign_buf_puts(ctx, &r->raw, r->pax_path);
    else if (r->gnu_name)
        rc = consign_buf_puts(ctx, &r->raw, r->gnu_name);
    else if (!(rc = consign_buf_append(ctx, &r->raw, prefix, plen)) &&
             !(plen && (rc = consign_buf_append(ctx, &r->raw, "/", 1))))
        rc = consign_buf_append(ctx, &r->raw, name, strnlen(name, NAME_LEN));
    if (rc == CONSIGN_E_TOOBIG)
        return entry_fail(ctx, r, rc, "path longer than %zu bytes", r->lim.max_path);
    return rc ? entry_context(ctx, r, rc) : 0;
}

/* The link target of a header: pax linkpath, GNU long link, or the field. */
static int
link_target(struct consign_ctx *ctx, struct consign_tar_reader *r)
{
    const char *field = (const char *)r->hdr + LINK_OFF;
    int rc;

    consign_buf_reset(&r->link);
    if (r->pax_link)
        rc = consign_buf_puts(ctx, &r->link, r->pax_link);
    else if (r->gnu_link)
        rc = consign_buf_puts(ctx, &r->link, r->gnu_link);
    else
        rc = consign_buf_append(ctx, &r->link, field, strnlen(field, LINK_LEN));
    if (rc == CONSIGN_E_TOOBIG)
        return entry_fail(ctx, r, rc, "link target longer than %zu bytes", r->lim.max_path);
    if (rc)
        return entry_context(ctx, r, rc);
    if (!r->link.len)
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "empty link target");
    return 0;
}

static enum consign_tar_type
type_of(char t)
{
    switch (t) {
    case '0':
    case '\0':
    case '7':
        return CONSIGN_TAR_FILE;
    case '5':
        return CONSIGN_TAR_DIR;
    case '2':
        return CONSIGN_TAR_SYMLINK;
    case '1':
        return CONSIGN_TAR_HARDLINK;
    default:
        return CONSIGN_TAR_OTHER;
    }
}

/* Start the data of a member of size bytes (and its padding). */
static int begin_member(struct consign_ctx *ctx, struct consign_tar_reader *r, enum dkind kind,
                        unsigned long long size);

/* A header block of a real entry: build the entry from it and the pending
 * extended headers, check it and hand it to the caller. */
static int
on_entry(struct consign_ctx *ctx, struct consign_tar_reader *r, int posix)
{
    struct consign_tar_entry *e = &r->e;
    unsigned long long size, mode, mtime;
    int rc;

    memset(e, 0, sizeof(*e));
    consign_buf_reset(&r->path);
    if (++r->entries > r->lim.max_entries)
        return entry_fail(ctx, r, CONSIGN_E_TOOBIG, "more than %llu entries", r->lim.max_entries);
    if ((rc = raw_path(ctx, r, posix)) || (rc = normalize_path(ctx, r)))
        return rc;
    e->path = r->path.data;
    e->index = r->entries;
    e->typeflag = (char)r->hdr[TYPE_OFF];
    e->type = type_of(e->typeflag);
    if (parse_num(r->hdr + MODE_OFF, 8, 07777777, &mode))
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "bad mode field");
    e->mode = (unsigned)(mode & 07777);
    if (r->have_pax_size)
        size = r->pax_size;
    else if (parse_num(r->hdr + SIZE_OFF, 12, ~0ULL, &size))
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "bad size field");
    e->size = size;
    if (r->have_pax_mtime)
        e->mtime = r->pax_mtime;
    else if (parse_num(r->hdr + MTIME_OFF, 12, (unsigned long long)LLONG_MAX, &mtime))
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "bad mtime field");
    else
        e->mtime = (long long)mtime;
    if (e->type == CONSIGN_TAR_SYMLINK || e->type == CONSIGN_TAR_HARDLINK) {
        if ((rc = link_target(ctx, r)))
            return rc;
        e->link = r->link.data;
    }
    if ((e->type == CONSIGN_TAR_DIR || e->type == CONSIGN_TAR_SYMLINK) && size)
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "%s with %llu data bytes",
                          e->type == CONSIGN_TAR_DIR ? "directory" : "symlink", size);
    if (e->type != CONSIGN_TAR_DIR && strcmp(e->path, ".") == 0)
        return entry_fail(ctx, r, CONSIGN_E_UNSAFE_PATH, "entry names the archive's root");
    if (size > r->lim.max_total - r->total)
        return entry_fail(ctx, r, CONSIGN_E_TOOBIG,
                          "%llu bytes: over the limit of %llu bytes in total", size,
                          r->lim.max_total);
    r->total += size;
    r->filtering = r->pax_filter;
    if (r->filtering && e->type != CONSIGN_TAR_FILE)
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "%s on an entry that is not a file",
                          FILTER_KEY);
    if (r->filtering && (rc = filter_start(ctx, &r->fp, 1)))
        return rc;
    clear_meta(r);
    if (r->cb.entry && (rc = r->cb.entry(ctx, r->user, e)))
        return entry_context(ctx, r, rc);
    r->in_entry = 1;
    return begin_member(ctx, r, e->type == CONSIGN_TAR_FILE ? D_FILE : D_SKIP, size);
}

/* The current member's data is complete. */
static int
end_member(struct consign_ctx *ctx, struct consign_tar_reader *r)
{
    int rc;

    switch (r->kind) {
    case D_PAX:
        r->have_pax = 1;
        return parse_pax(ctx, r, r->meta.data ? r->meta.data : "", r->meta.len);
    case D_LONGNAME:
        return take_gnu_name(ctx, r, &r->gnu_name);
    case D_LONGLINK:
        return take_gnu_name(ctx, r, &r->gnu_link);
    case D_FILE:
    case D_SKIP:
        if (!r->in_entry) /* a 'g' header */
            return 0;
        r->in_entry = 0;
        /* The last bytes the filter left undecided are final as they are. */
        if (r->filtering) {
            r->filtering = 0;
            if ((rc = filter_flush(ctx, &r->fp, data_out, r)))
                return entry_context(ctx, r, rc);
        }
        if (r->cb.entry_end && (rc = r->cb.entry_end(ctx, r->user)))
            return entry_context(ctx, r, rc);
        return 0;
    }
    return 0;
}

static int
begin_member(struct consign_ctx *ctx, struct consign_tar_reader *r, enum dkind kind,
             unsigned long long size)
{
    r->kind = kind;
    r->left = size;
    r->pad = pad_of(size);
    consign_buf_reset(&r->meta);
    if (size)
        r->state = R_DATA;
    else
        r->state = R_HEADER;
    return size ? 0 : end_member(ctx, r);
}

/* Size of an extended header member, checked against its bound. */
static int
meta_size(struct consign_ctx *ctx, struct consign_tar_reader *r, unsigned long long max,
          unsigned long long *size)
{
    if (parse_num(r->hdr + SIZE_OFF, 12, ~0ULL, size))
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "bad size field of a '%c' header",
                          r->hdr[TYPE_OFF]);
    if (*size > max)
        return entry_fail(ctx, r, CONSIGN_E_TOOBIG, "'%c' header of %llu bytes (at most %llu)",
                          r->hdr[TYPE_OFF], *size, max);
    if (*size > CONSIGN_TAR_META_MAX - r->meta_total)
        return entry_fail(ctx, r, CONSIGN_E_TOOBIG,
                          "over the limit of %llu bytes of extended headers in total",
                          (unsigned long long)CONSIGN_TAR_META_MAX);
    r->meta_total += *size;
    return 0;
}

/* A complete 512-byte block in r->hdr where a header is expected. */
static int
on_block(struct consign_ctx *ctx, struct consign_tar_reader *r)
{
    unsigned long long chk, usum, size;
    long long ssum;
    int posix, rc;
    char t;

    if (memcmp(r->hdr, zero_block, BLOCK) == 0) {
        if (r->have_pax || r->gnu_name || r->gnu_link)
            return consign_fail(ctx, CONSIGN_E_SYNTAX,
                                "tar: entry %llu: extended header without an entry", r->num);
        if (++r->zero_blocks == 2)
            r->state = R_END;
        return 0;
    }
    consign_buf_reset(&r->path);
    r->num = r->entries + 1;
    if (r->zero_blocks)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "tar: a lone zero block at byte %llu",
                            r->off - 2 * BLOCK);
    header_sums(r->hdr, &usum, &ssum);
    if (parse_num(r->hdr + CHKSUM_OFF, 8, ~0ULL, &chk) ||
        (chk != usum && (ssum < 0 || chk != (unsigned long long)ssum)))
        return consign_fail(ctx, CONSIGN_E_SYNTAX,
                            "tar: bad header checksum at byte %llu (entry %llu)", r->off - BLOCK,
                            r->num);
    if (memcmp(r->hdr + MAGIC_OFF,
               "ustar\0"
               "00",
               8) == 0)
        posix = 1;
    else if (memcmp(r->hdr + MAGIC_OFF, "ustar  \0", 8) == 0)
        posix = 0;
    else
        return consign_fail(ctx, CONSIGN_E_SYNTAX,
                            "tar: not a ustar header at byte %llu (entry %llu)", r->off - BLOCK,
                            r->num);
    t = (char)r->hdr[TYPE_OFF];
    switch (t) {
    case 'x':
        if (r->have_pax)
            return consign_fail(ctx, CONSIGN_E_SYNTAX,
                                "tar: entry %llu: two pax headers for one entry", r->num);
        if ((rc = meta_size(ctx, r, CONSIGN_TAR_PAX_MAX, &size)))
            return rc;
        return begin_member(ctx, r, D_PAX, size);
    case 'g':
        if ((rc = meta_size(ctx, r, CONSIGN_TAR_PAX_MAX, &size)))
            return rc;
        return begin_member(ctx, r, D_SKIP, size);
    case 'L':
    case 'K':
        if (t == 'L' ? r->gnu_name != NULL : r->gnu_link != NULL)
            return consign_fail(ctx, CONSIGN_E_SYNTAX,
                                "tar: entry %llu: two GNU long %s headers for one entry", r->num,
                                t == 'L' ? "name" : "link");
        if ((rc = meta_size(ctx, r, (unsigned long long)r->lim.max_path + 1, &size)))
            return rc;
        return begin_member(ctx, r, t == 'L' ? D_LONGNAME : D_LONGLINK, size);
    default:
        return on_entry(ctx, r, posix);
    }
}

/* Data bytes of the current member. */
static int
on_data(struct consign_ctx *ctx, struct consign_tar_reader *r, const unsigned char *p, size_t n)
{
    int rc;

    switch (r->kind) {
    case D_FILE:
        if (r->filtering) {
            if ((rc = filter_push(ctx, &r->fp, p, n, data_out, r)))
                return entry_context(ctx, r, rc);
            return 0;
        }
        if (r->cb.data && (rc = r->cb.data(ctx, r->user, p, n)))
            return entry_context(ctx, r, rc);
        return 0;
    case D_PAX:
    case D_LONGNAME:
    case D_LONGLINK:
        return consign_buf_append(ctx, &r->meta, p, n); /* sizes were checked */
    case D_SKIP:
        return 0;
    }
    return 0;
}

/* The state machine: collect a header block, pass or keep a member's data,
 * skip its padding; after the end marker only zero bytes. Input of any
 * chunking takes the same path, one byte at a time included. */
static int
push(struct consign_ctx *ctx, struct consign_tar_reader *r, const unsigned char *p, size_t n)
{
    size_t take, i;
    int rc;

    while (n) {
        switch (r->state) {
        case R_HEADER:
            take = BLOCK - r->have < n ? BLOCK - r->have : n;
            memcpy(r->hdr + r->have, p, take);
            r->have += take;
            r->off += take;
            p += take;
            n -= take;
            if (r->have == BLOCK) {
                r->have = 0;
                if ((rc = on_block(ctx, r)))
                    return rc;
            }
            break;
        case R_DATA:
            take = r->left < n ? (size_t)r->left : n;
            if ((rc = on_data(ctx, r, p, take)))
                return rc;
            r->left -= take;
            r->off += take;
            p += take;
            n -= take;
            if (r->left == 0) {
                r->state = r->pad ? R_PAD : R_HEADER;
                if ((rc = end_member(ctx, r)))
                    return rc;
            }
            break;
        case R_PAD:
            take = r->pad < n ? r->pad : n;
            r->pad -= take;
            r->off += take;
            p += take;
            n -= take;
            if (r->pad == 0)
                r->state = R_HEADER;
            break;
        case R_END:
            for (i = 0; i < n; i++)
                if (p[i])
                    return consign_fail(ctx, CONSIGN_E_SYNTAX,
                                        "tar: data after the end-of-archive marker at byte %llu",
                                        r->off + i);
            r->off += n;
            n = 0;
            break;
        }
    }
    return 0;
}

int
consign_tar_reader_feed(struct consign_ctx *ctx, struct consign_tar_reader *r, const void *p,
                        size_t n)
{
    int rc;

    if (r->failed)
        return consign_fail(ctx, r->failed, "tar: the reader failed earlier");
    if ((rc = push(ctx, r, p, n))) {
        sanitize_msg(ctx);
        r->failed = rc;
    }
    return rc;
}

int
consign_tar_reader_finish(struct consign_ctx *ctx, struct consign_tar_reader *r)
{
    if (r->failed)
        return consign_fail(ctx, r->failed, "tar: the reader failed earlier");
    if (r->state == R_END)
        return 0;
    r->failed = CONSIGN_E_SYNTAX;
    if (r->in_entry)
        return entry_fail(ctx, r, CONSIGN_E_SYNTAX, "archive truncated in the entry's data");
    return consign_fail(ctx, CONSIGN_E_SYNTAX,
                        "tar: archive truncated at byte %llu (no end-of-archive marker)", r->off);
}
