/* Reading a .bin: signature over M first, then one hashing pass, then the
 * payload. Links into the static stub: libc, zstd, the core and pgpverify. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "consign/buf.h"
#include "consign/hash.h"
#include "consign/pgpverify.h"
#include "consign/sfx.h"
#include "sfx_private.h"

#define READ_BLOCK (1024 * 1024)

struct consign_sfx {
    int fd;
    unsigned long long size; /* of the file */
    struct consign_sfx_header h;
    char signer[41];
    long long signed_at;
    char *info_raw;
    size_t info_len;
    struct consign_sfx_info info;
    int verified;
};

static int
pread_all(struct consign_ctx *ctx, int fd, void *buf, size_t n, unsigned long long off)
{
    unsigned char *p = buf;

    while (n) {
        ssize_t got = pread(fd, p, n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return consign_fail_errno(ctx, errno, "read");
        if (got == 0)
            return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "file ends early");
        p += got;
        n -= (size_t)got;
        off += (unsigned long long)got;
    }
    return 0;
}

/* The embedded key: one public-key packet (tag 6), nothing after it. */
static int
key_bare(struct consign_ctx *ctx, const unsigned char *key, size_t n)
{
    size_t hdr, total;
    int tag;

    if (consign__sfx_pgp_packet(key, n, &tag, &hdr, &total) || tag != 6 || total != n)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "the embedded key is not one key packet");
    return 0;
}

/* The signature's unhashed subpackets are not signed: allow none, or only the
 * issuer key ID (which consign_pgp_verify compares with the key). Called
 * after consign_pgp_verify accepted the packet. */
static int
sig_unsigned_ok(struct consign_ctx *ctx, const unsigned char *sig, size_t n,
                const unsigned char fpr[20])
{
    size_t off, total, len;
    int tag;

    if (consign__sfx_pgp_packet(sig, n, &tag, &off, &total) || tag != 2 || total != n)
        goto bad;
    /* version, type, public-key algorithm, hash algorithm, hashed length */
    if (off + 6 > n || sig[off] != 4)
        goto bad;
    len = (size_t)sig[off + 4] << 8 | sig[off + 5];
    off += 6;
    if (len > n - off || n - off - len < 2)
        goto bad;
    off += len;
    len = (size_t)sig[off] << 8 | sig[off + 1];
    off += 2;
    if (len == 0 || (len == 10 && off + 10 <= n && sig[off] == 9 && sig[off + 1] == 16 &&
                     memcmp(sig + off + 2, fpr + 12, 8) == 0))
        return 0;
bad:
    return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                        "the signature holds unsigned data other than its issuer");
}

int
consign_sfx_open(struct consign_ctx *ctx, int fd, struct consign_sfx **out)
{
    unsigned char foot[CONSIGN_SFX_FOOTER_LEN], m[CONSIGN_SFX_M_LEN];
    unsigned char *sig = NULL, *key = NULL;
    struct consign_pgp_sig_info si;
    struct consign_pgp_key *k = NULL;
    struct consign_sfx *s = NULL;
    uint32_t mlen, siglen, keylen;
    unsigned long long tail;
    struct stat st;
    int rc = 0, i;

    *out = NULL;
    if (fstat(fd, &st) < 0)
        return consign_fail_errno(ctx, errno, "stat");
    if (!S_ISREG(st.st_mode))
        return consign_fail(ctx, CONSIGN_E_INVALID, "not a regular file");
    if ((unsigned long long)st.st_size < CONSIGN_SFX_FOOTER_LEN + CONSIGN_SFX_M_LEN)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "too short to be a consign installer");
    if ((rc = pread_all(ctx, fd, foot, sizeof(foot),
                        (unsigned long long)st.st_size - CONSIGN_SFX_FOOTER_LEN)))
        return rc;
    if (memcmp(foot, CONSIGN_SFX_FOOTER_MAGIC, 8) != 0)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                            "no consign installer trailer (damaged or truncated download?)");
    if (foot[28] | foot[29] | foot[30] | foot[31])
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "reserved trailer bytes set");
    mlen = consign__le32(foot + 8);
    siglen = consign__le32(foot + 12);
    keylen = consign__le32(foot + 16);
    if (mlen != CONSIGN_SFX_M_LEN || siglen == 0 || siglen > CONSIGN_SFX_SIG_MAX || keylen == 0 ||
        keylen > CONSIGN_SFX_KEY_MAX)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "trailer lengths out of range");
    tail = (unsigned long long)mlen + siglen + keylen + CONSIGN_SFX_FOOTER_LEN;
    if (tail > (unsigned long long)st.st_size ||
        consign__le64(foot + 20) != (unsigned long long)st.st_size)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                            "file size does not match the trailer (truncated or extended)");
    if (!(s = consign_calloc(ctx, 1, sizeof(*s))) || !(sig = malloc(siglen)) ||
        !(key = malloc(keylen))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    s->fd = fd;
    s->size = (unsigned long long)st.st_size;
    {
        unsigned long long moff = s->size - tail;
        if ((rc = pread_all(ctx, fd, m, mlen, moff)) ||
            (rc = pread_all(ctx, fd, sig, siglen, moff + mlen)) ||
            (rc = pread_all(ctx, fd, key, keylen, moff + mlen + siglen)))
            goto out;
        if ((rc = consign__sfx_m_decode(ctx, m, &s->h)))
            goto out;
        /* Verify before trusting a single field of M. The key must be the
         * bare key packet and the signature's unsigned part no more than the
         * issuer's key ID, so that no byte of the trailer goes unchecked. */
        if ((rc = key_bare(ctx, key, keylen)) ||
            (rc = consign_pgp_keyring_find(ctx, key, keylen, s->h.fpr, &k)) ||
            (rc = consign_pgp_verify(ctx, k, sig, siglen, m, mlen, &si)) ||
            (rc = sig_unsigned_ok(ctx, sig, siglen, s->h.fpr))) {
            rc = consign_err_context(ctx, rc, "signature");
            goto out;
        }
        if (s->h.hashed_end != moff || s->h.info_off + s->h.info_size != s->h.hashed_end ||
            s->h.payload_off != s->h.stub_size ||
            s->h.payload_off + s->h.payload_size != s->h.info_off ||
            s->h.info_size > CONSIGN_SFX_INFO_MAX) {
            rc =
                consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "signed layout does not match the file");
            goto out;
        }
    }
    for (i = 0; i < 20; i++)
        snprintf(s->signer + 2 * i, 3, "%02X", s->h.fpr[i]);
    s->signed_at = si.created;
    *out = s;
    s = NULL;
out:
    consign_pgp_key_free(k);
    free(sig);
    free(key);
    consign_sfx_free(s);
    return rc;
}

void
consign_sfx_free(struct consign_sfx *s)
{
    if (!s)
        return;
    free(s->info_raw);
    free(s);
}

const struct consign_sfx_header *
consign_sfx_header_get(const struct consign_sfx *s)
{
    return &s->h;
}

const char *
consign_sfx_signer(const struct consign_sfx *s)
{
    return s->signer;
}

long long
consign_sfx_signed_at(const struct consign_sfx *s)
{
    return s->signed_at;
}

const struct consign_sfx_info *
consign_sfx_info_get(const struct consign_sfx *s)
{
    return s->verified ? &s->info : NULL;
}

/* Hash [0, hashed_end) in blocks; each block also goes to fn (may be NULL)
 * with its file offset. */
typedef int (*block_at_fn)(struct consign_ctx *ctx, void *user, const unsigned char *p, size_t n,
                           unsigned long long off);

static int
hash_pass(struct consign_ctx *ctx, struct consign_sfx *s, block_at_fn fn, void *user)
{
    unsigned char digest[CONSIGN_HASH_MAX];
    struct consign_hash *h = NULL;
    unsigned char *buf = NULL;
    unsigned long long off = 0;
    int rc;

    if ((rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &h)))
        return rc;
    if (!(buf = malloc(READ_BLOCK))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    while (off < s->h.hashed_end) {
        unsigned long long left = s->h.hashed_end - off;
        size_t want = left < READ_BLOCK ? (size_t)left : READ_BLOCK;
        ssize_t got = pread(s->fd, buf, want, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = got < 0 ? consign_fail_errno(ctx, errno, "read")
                         : consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "file ends early");
            goto out;
        }
        if ((rc = consign_hash_update(ctx, h, buf, (size_t)got)))
            goto out;
        if (fn && (rc = fn(ctx, user, buf, (size_t)got, off)))
            goto out;
        off += (unsigned long long)got;
    }
    if ((rc = consign_hash_final(ctx, h, digest)))
        goto out;
    if (memcmp(digest, s->h.sha256, 32) != 0)
        rc = consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                          "SHA-256 of the installer does not match its signed value: the file "
                          "was altered or damaged");
out:
    free(buf);
    consign_hash_free(h);
    return rc;
}

/* Copy the info block out of the blocks going by. */
static int
grab_info(struct consign_ctx *ctx, void *user, const unsigned char *p, size_t n,
          unsigned long long off)
{
    struct consign_sfx *s = user;
    unsigned long long a = off, b = off + n, lo = s->h.info_off, hi = s->h.hashed_end;

    (void)ctx;
    if (b <= lo || a >= hi)
        return 0;
    if (a < lo) {
        p += lo - a;
        a = lo;
    }
    if (b > hi)
        b = hi;
    memcpy(s->info_raw + (a - lo), p, (size_t)(b - a));
    return 0;
}

int
consign_sfx_verify(struct consign_ctx *ctx, struct consign_sfx *s)
{
    int rc;

    free(s->info_raw);
    s->verified = 0;
    if (!(s->info_raw = malloc((size_t)s->h.info_size + 1)))
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    s->info_len = (size_t)s->h.info_size;
    s->info_raw[s->info_len] = '\0';
    if ((rc = hash_pass(ctx, s, grab_info, s)))
        return rc;
    if ((rc = consign__sfx_info_parse(ctx, s->info_raw, s->info_len, &s->info)))
        return consign_err_context(ctx, rc, "info block");
    s->verified = 1;
    return 0;
}

struct unpack {
    struct consign_sfx *s;
    ZSTD_DStream *z;
    consign_block_fn sink;
    void *user;
    unsigned char *out;
    size_t outcap;
    unsigned long long produced;
    int frame_done;
};

static int
unpack_block(struct consign_ctx *ctx, void *user, const unsigned char *p, size_t n,
             unsigned long long off)
{
    struct unpack *u = user;
    unsigned long long a = off, b = off + n, lo = u->s->h.payload_off, hi = u->s->h.info_off;
    ZSTD_inBuffer in;
    int rc;

    if (b <= lo || a >= hi)
        return 0;
    if (a < lo) {
        p += lo - a;
        a = lo;
    }
    if (b > hi)
        b = hi;
    in.src = p;
    in.size = (size_t)(b - a);
    in.pos = 0;
    while (in.pos < in.size) {
        ZSTD_outBuffer o = {u->out, u->outcap, 0};
        size_t r = ZSTD_decompressStream(u->z, &o, &in);
        if (ZSTD_isError(r))
            return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "payload: zstd: %s",
                                ZSTD_getErrorName(r));
        u->frame_done = r == 0;
        if (o.pos) {
            if (o.pos > u->s->h.payload_raw - u->produced)
                return consign_fail(ctx, CONSIGN_E_TOOBIG,
                                    "payload: more data than its signed size");
            u->produced += o.pos;
            if ((rc = u->sink(ctx, u->user, u->out, o.pos)))
                return rc;
        }
    }
    return 0;
}

int
consign_sfx_payload(struct consign_ctx *ctx, struct consign_sfx *s, consign_block_fn sink,
                    void *user)
{
    struct unpack u;
    int rc;

    if (!s->verified)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "payload read before verification");
    memset(&u, 0, sizeof(u));
    u.s = s;
    u.sink = sink;
    u.user = user;
    u.outcap = ZSTD_DStreamOutSize();
    if (!(u.z = ZSTD_createDStream()) || !(u.out = malloc(u.outcap))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    if (ZSTD_isError(ZSTD_DCtx_setParameter(u.z, ZSTD_d_windowLogMax, CONSIGN_SFX_WINDOW_LOG))) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "zstd: window limit");
        goto out;
    }
    if ((rc = hash_pass(ctx, s, unpack_block, &u)))
        goto out;
    if (!u.frame_done || u.produced != s->h.payload_raw)
        rc = consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "payload: ends before its signed size");
out:
    ZSTD_freeDStream(u.z);
    free(u.out);
    return rc;
}
